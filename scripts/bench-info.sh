#!/usr/bin/env bash
# Side-by-side timing of `portscope ls -i` (tcp_info, memory, congestion control and timers)
# against `ss -tuani` (the same details, no processes) on the bench table of scripts/bench.sh:
# 20,000 loopback TCP sockets, 2,000 TIME_WAIT, 200 UDP, 300 idle processes. `ls -i` looks
# owners up as `ls` does; `--no-owners` is the like-for-like comparison with `ss -tuani`, and
# `ss -tuanpi` the one with owners. Then the CPU of `watch --rates` against plain `watch`.
# Needs root (ip netns), ss, GNU time, cc and script(1).
# Usage: scripts/bench-info.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
tools=(ss cc script)
# shellcheck source=bench/table.sh
source scripts/bench/table.sh
floor=$(mktemp)
trap 'rm -f "$floor"; cleanup' EXIT
cc -O2 -Wall -o "$floor" scripts/bench/watch_floor.c
inns python3 scripts/bench/timeit.py "$rounds" \
    "details, no owners:portscope-i:$bin ls -i --no-owners" \
    "details, no owners:ss-i:ss -tuani" \
    "details with owners:portscope-i-p:$bin ls -i" \
    "details with owners:ss-i-p:ss -tuanpi" \
    "table alone, for scale:portscope-no-owners:$bin ls --no-owners" \
    "table alone, for scale:ss:ss -tuan"

# The CPU `watch --rates` costs once the table is steady (TIME_WAIT expired), against watch
# without rates, each over WATCH_SECS seconds (default 60), one after the other; the event
# stream (--json) and the live screen. Then the floor (watch_floor.c): the same dumps once a
# second and the least a look can do with them, in C: what any sock_diag reader pays.
watch_secs=${WATCH_SECS:-60}
floor_cpu() {
    cpu_over "$watch_secs" "^$(literal "$floor") " inns "$floor" "$@" 1000000
}
echo
echo "waiting for the TIME_WAIT sockets to expire, so that the table is steady…"
while [ "$(inns ss -tan state time-wait | tail -n +2 | wc -l)" -gt 0 ]; do sleep 2; done
echo "CPU over ${watch_secs} s, one look a second:"
echo "  watch --json --rates:          $(watch_cpu "$watch_secs" --rates)"
echo "  watch --json (no rates):       $(watch_cpu "$watch_secs")"
echo "  watch --rates (screen):        $(screen_cpu "$watch_secs" --rates)"
echo "  watch (screen, no rates):      $(screen_cpu "$watch_secs")"
echo "  floor, dumps alone, --json --rates' ext:  $(floor_cpu dump 74)"
echo "  floor, lean diff, --json --rates' ext:    $(floor_cpu diff 74)"
echo "  floor, lean diff, the screen's ext:       $(floor_cpu diff 2)"
echo "  floor, lean diff, no rates:               $(floor_cpu diff 0)"
