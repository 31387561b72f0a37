#!/usr/bin/env bash
# `portscope ls --all-netns` against a shell loop of `ip netns exec NS ss -tuanp` over the same
# namespaces: NAMESPACES private namespaces (default 20), each with SOCKETS loopback TCP sockets
# (default 1,000) held by a process of its own; ROUNDS alternating rounds (default 15); medians
# and the ratio. portscope also reads every other namespace on the host (the host's own, any
# others), the loop only the benchmark's: the comparison favours the loop.
# Needs root (ip netns), ss and GNU time. Usage: scripts/bench-netns.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
count=${NAMESPACES:-20}
sockets=${SOCKETS:-1000}
prefix=${NS_PREFIX:-psbench-netns}-$$
tools=(ss python3)
# shellcheck source=bench/preflight.sh
source scripts/bench/preflight.sh
names=()
cleanup() {
    exec 3>&- 2>/dev/null || true
    wait 2>/dev/null || true
    for ns in "${names[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
# Every table holder reads the same pipe: they all live until fd 3 closes.
fifo=$(mktemp -u)
mkfifo "$fifo"
for i in $(seq 1 "$count"); do
    ns=$prefix-$i
    names+=("$ns")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" python3 scripts/bench/netns_table.py "$sockets" <"$fifo" >"$fifo.$i" &
done
exec 3>"$fifo"
rm -f "$fifo"
for i in $(seq 1 "$count"); do
    until grep -q READY "$fifo.$i" 2>/dev/null; do sleep 0.2; done
    rm -f "$fifo.$i"
done
loop="for ns in ${names[*]}; do ip netns exec \$ns ss -tuanp; done"
echo "kernel $(uname -r); $(nproc) cores; $count namespaces × $sockets TCP sockets;" \
    "namespaces portscope sees: $("$bin" ls -s --all-netns -H 2>/dev/null | wc -l)"
python3 scripts/bench/timeit.py "$rounds" \
    "every namespace (sockets, owners):portscope:$bin ls --all-netns" \
    "every namespace (sockets, owners):ss-loop:sh -c '$loop'"
