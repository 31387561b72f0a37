#!/usr/bin/env python3
"""Times commands side by side: ROUNDS rounds, each running every command once with output to
/dev/null, the order rotating each round. Prints the median wall time, the peak RSS (from
GNU time, in separate untimed runs) and the ratios against the group's first command.

Usage: timeit.py ROUNDS GROUP:NAME:COMMAND [...]   (the first command of a group is the subject;
the others are its peers, and ratios read subject / peer)
"""
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def run_once(argv):
    start = time.perf_counter()
    code = subprocess.call(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, code


def peak_rss_kib(argv):
    """Through GNU time: a child forked from this Python would inherit Python's own peak."""
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.call(["/usr/bin/time", "-f", "%M", "-o", out.name] + argv,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return int(out.read().split()[-1])


def main():
    rounds = int(sys.argv[1])
    specs = []
    for spec in sys.argv[2:]:
        group, name, command = spec.split(":", 2)
        specs.append((group, name, shlex.split(command)))
    times = {name: [] for _, name, _ in specs}
    rss = {name: 0 for _, name, _ in specs}
    for _, name, argv in specs:  # warm caches and measure memory, untimed
        _, code = run_once(argv)
        if code not in (0, 1):
            sys.exit(f"{name}: exit status {code}: {shlex.join(argv)}")
        rss[name] = max(peak_rss_kib(argv) for _ in range(3))
    for r in range(rounds):
        order = specs[r % len(specs):] + specs[: r % len(specs)]
        for _, name, argv in order:
            elapsed, _ = run_once(argv)
            times[name].append(elapsed)
    groups = {}
    for group, name, argv in specs:
        groups.setdefault(group, []).append((name, argv))
    for group, members in groups.items():
        subject = members[0][0]
        print(f"\n{group}")
        print(f"  {'command':<44} {'median ms':>10} {'peak RSS KiB':>13}  ratio")
        for name, argv in members:
            median = statistics.median(times[name]) * 1000
            line = f"  {shlex.join(argv)[:44]:<44} {median:>10.2f} {rss[name]:>13}"
            if name != subject:
                ratio = statistics.median(times[subject]) / statistics.median(times[name])
                mem = rss[subject] / rss[name]
                line += f"  {subject}/{name} time {ratio:.2f}x, memory {mem:.2f}x"
            print(line)


if __name__ == "__main__":
    main()
