#!/usr/bin/env python3
"""CPU per scrape of a running `portscope exporter` against the CPU of a peer command doing
the same job, side by side: ROUNDS rounds, each scraping /metrics once and running every
peer once (output to /dev/null), the order rotating each round. The exporter's CPU is the
growth of its threads' on-CPU time (/proc/PID/task/*/schedstat, nanoseconds) over the
scrape; a peer's is its user + system time from wait4. Prints medians and the ratios.

Usage: scrape.py ROUNDS PID URL NAME:COMMAND [...]   (run inside the exporter's namespace)
"""
import glob
import os
import shlex
import statistics
import subprocess
import sys
import time
import urllib.request


def exporter_cpu(pid):
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError):
            pass  # a thread that ended between glob and open
    return total / 1e9


def scrape(pid, url):
    before, start = exporter_cpu(pid), time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:
        body = answer.read()
    wall = time.perf_counter() - start
    return exporter_cpu(pid) - before, wall, len(body)


def run(argv):
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{shlex.join(argv)}: exit status {status}")
    return usage.ru_utime + usage.ru_stime, wall


def main():
    rounds, pid, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    peers = [(name, shlex.split(cmd)) for name, cmd in (s.split(":", 1) for s in sys.argv[4:])]
    subject = "exporter scrape"
    cpu = {subject: [], **{name: [] for name, _ in peers}}
    wall = {name: [] for name in cpu}
    _, _, size = scrape(pid, url)  # the first look reads every owner once: startup, untimed
    for _, argv in peers:
        run(argv)
    jobs = [(subject, None)] + peers
    for r in range(rounds):
        for name, argv in jobs[r % len(jobs):] + jobs[: r % len(jobs)]:
            c, w = scrape(pid, url)[:2] if argv is None else run(argv)
            cpu[name].append(c)
            wall[name].append(w)
    print(f"\n{rounds} rounds; the exposition is {size} bytes")
    print(f"  {'command':<44} {'CPU ms':>8} {'wall ms':>8}  ratio")
    base = statistics.median(cpu[subject])
    for name in cpu:
        c, w = statistics.median(cpu[name]) * 1000, statistics.median(wall[name]) * 1000
        line = f"  {name[:44]:<44} {c:>8.2f} {w:>8.2f}"
        if name != subject:
            line += f"  exporter/{name} CPU {base / statistics.median(cpu[name]):.2f}x"
        print(line)


if __name__ == "__main__":
    main()
