#!/usr/bin/env bash
# Side-by-side timing of portscope against ss, netstat and lsof on one socket table.
#
# Inside a private network namespace it builds 20,000 TCP sockets (10,000 loopback pairs held
# by 20 processes), 2,000 TIME_WAIT, 200 UDP sockets and 300 idle processes, then runs every
# command ROUNDS times, alternating, output to /dev/null, and prints medians, peak memory and
# ratios. Then, once the TIME_WAIT sockets have expired and the table is steady, it measures the
# CPU that `portscope watch --json --interval 1` uses over WATCH_SECS seconds (default 60).
# Needs root (ip netns), ss, netstat, lsof and GNU time. Usage: scripts/bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
watch_secs=${WATCH_SECS:-60}
tools=(ss netstat lsof)
# shellcheck source=bench/table.sh
source scripts/bench/table.sh
echo "TIME_WAIT now: $(inns ss -tan state time-wait | tail -n +2 | wc -l); who target ports: $client_port (one socket), $listen_port (a listener and its 500 connections)"
inns python3 scripts/bench/timeit.py "$rounds" \
    "ls (all sockets, owners):portscope:$bin ls" \
    "ls (all sockets, owners):ss:ss -tuanp" \
    "ls (all sockets, owners):netstat:netstat -tuanp" \
    "who (a client port):portscope-who:$bin who $client_port" \
    "who (a client port):ss-sport:ss -tuanp 'sport = :$client_port'" \
    "who (a client port):lsof:lsof -nP -i :$client_port" \
    "who (a listener port):portscope-who-l:$bin who $listen_port" \
    "who (a listener port):ss-sport-l:ss -tuanp 'sport = :$listen_port'" \
    "who (a listener port):lsof-l:lsof -nP -i :$listen_port"
echo "TIME_WAIT at the end: $(inns ss -tan state time-wait | tail -n +2 | wc -l)"

echo
echo "waiting for the TIME_WAIT sockets to expire, so that the table is steady…"
while [ "$(inns ss -tan state time-wait | tail -n +2 | wc -l)" -gt 0 ]; do sleep 2; done
echo "watch --json --interval 1 for ${watch_secs} s on $(inns ss -tan | tail -n +2 | wc -l) TCP sockets:"
echo "  $(watch_cpu "$watch_secs") (target: 5 %)"
