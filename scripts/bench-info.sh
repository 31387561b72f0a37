#!/usr/bin/env bash
# Side-by-side timing of `portscope ls -i` (tcp_info, memory, congestion control and timers)
# against `ss -tuani` (the same details, no processes) on the bench table of scripts/bench.sh:
# 20,000 loopback TCP sockets, 2,000 TIME_WAIT, 200 UDP, 300 idle processes. `ls -i` looks
# owners up as `ls` does; `--no-owners` is the like-for-like comparison with `ss -tuani`, and
# `ss -tuanpi` the one with owners. Needs root (ip netns), ss and GNU time.
# Usage: scripts/bench-info.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
tools=(ss)
# shellcheck source=bench/table.sh
source scripts/bench/table.sh
inns python3 scripts/bench/timeit.py "$rounds" \
    "details, no owners:portscope-i:$bin ls -i --no-owners" \
    "details, no owners:ss-i:ss -tuani" \
    "details with owners:portscope-i-p:$bin ls -i" \
    "details with owners:ss-i-p:ss -tuanpi" \
    "table alone, for scale:portscope-no-owners:$bin ls --no-owners" \
    "table alone, for scale:ss:ss -tuan"
