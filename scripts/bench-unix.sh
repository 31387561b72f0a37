#!/usr/bin/env bash
# Side-by-side timing of `portscope ls -x` against `ss -xp` on 10,040 Unix sockets.
#
# Inside a private network namespace (unix_diag lists the sockets of the reader's namespace)
# it builds 10,040 Unix sockets held by 20 processes (scripts/bench/unix_table.py), then runs
# every command ROUNDS times, alternating, output to /dev/null, and prints medians, peak memory
# and ratios. `ss -xp` leaves listening sockets out, `ss -xap` lists them too, as
# `portscope ls -x` does; both are compared. Needs root (ip netns), ss, python3 and GNU time.
# Usage: scripts/bench-unix.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
tools=(ss python3)
# shellcheck source=bench/preflight.sh
source scripts/bench/preflight.sh
ns=portscope-bench-unix-$$
dir=$(mktemp -d)
fifo=$dir/fifo
mkfifo "$fifo"
cleanup() {
    exec 3>&- 2>/dev/null || true
    wait 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$ns"
# The table lives as long as fd 3 (its stdin) stays open.
ip netns exec "$ns" python3 scripts/bench/unix_table.py "$dir" <"$fifo" >"$dir/ready" &
exec 3>"$fifo"
until [ -s "$dir/ready" ]; do sleep 0.2; done
inns() { ip netns exec "$ns" "$@"; }
echo "kernel $(uname -r); $(nproc) cores; $(ls /proc | grep -c '^[0-9]') processes; table in netns $ns:"
echo "Unix sockets: $(inns ss -xa | tail -n +2 | wc -l) ($(inns ss -x | tail -n +2 | wc -l) not listening)"
inns python3 scripts/bench/timeit.py "$rounds" \
    "Unix sockets with owners and peers:portscope:$bin ls -x" \
    "Unix sockets with owners and peers:ss-xap:ss -xap" \
    "Unix sockets with owners and peers:ss-xp:ss -xp" \
    "who a Unix socket path (listener and 200 clients):portscope-who:$bin who $dir/server-10.sock" \
    "who a Unix socket path (listener and 200 clients):ss-src:ss -xap src $dir/server-10.sock"
