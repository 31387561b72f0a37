#!/usr/bin/env bash
# A full TCP sweep of loopback (ports 1-65535) inside a private network namespace with one
# listener: portscope probe against nmap -sT and nc -z when they are installed, alternating,
# ROUNDS rounds (default 5). Needs root (ip netns). Usage: scripts/bench-probe.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
tools=()
# shellcheck source=bench/preflight.sh
source scripts/bench/preflight.sh
ns=portscope-probe-$$
ip netns add "$ns"
trap 'kill %1 2>/dev/null || true; wait 2>/dev/null || true; ip netns del "$ns"' EXIT
ip -n "$ns" link set lo up
ip netns exec "$ns" "$bin" tcp listen 127.0.0.1:8080 -q </dev/null &
until ip netns exec "$ns" "$bin" who 8080 >/dev/null 2>&1; do sleep 0.1; done
specs=("sweep 1-65535/tcp:portscope:$bin probe 127.0.0.1 1-65535 --open")
command -v nmap >/dev/null && specs+=("sweep 1-65535/tcp:nmap:nmap -sT -p1-65535 -T5 -n -Pn 127.0.0.1")
command -v nc >/dev/null && specs+=("sweep 1-65535/tcp:nc:nc -z -w1 127.0.0.1 1-65535")
echo "kernel $(uname -r); $(nproc) cores; one listener on 127.0.0.1:8080 in netns $ns"
ip netns exec "$ns" python3 scripts/bench/timeit.py "$rounds" "${specs[@]}"
