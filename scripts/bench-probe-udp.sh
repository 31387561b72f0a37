#!/usr/bin/env bash
# A UDP sweep over a veth between two private network namespaces (ports 20000-20300, nothing
# listening: every port closed): portscope probe --udp against nmap -sU when installed,
# alternating, ROUNDS rounds (default 1: each run waits on the target's ICMP rate limit).
# RATELIMIT_MS sets the target's net.ipv4.icmp_ratelimit (default 1000, the kernel's).
# Needs root (ip netns). Usage: scripts/bench-probe-udp.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}
ratelimit=${RATELIMIT_MS:-1000}
tools=()
# shellcheck source=bench/preflight.sh
source scripts/bench/preflight.sh
here=portscope-udp-here-$$ there=portscope-udp-there-$$
ip netns add "$here"; ip netns add "$there"
trap 'ip netns del "$here"; ip netns del "$there"' EXIT
ip -n "$here" link add psudpa type veth peer name psudpb netns "$there"
ip -n "$here" addr add 10.214.9.1/24 dev psudpa
ip -n "$there" addr add 10.214.9.2/24 dev psudpb
ip -n "$here" link set psudpa up; ip -n "$there" link set psudpb up
ip netns exec "$there" sysctl -qw net.ipv4.icmp_ratelimit="$ratelimit"
specs=("udp 20000-20300:portscope:$bin probe 10.214.9.2 20000-20300 --udp")
command -v nmap >/dev/null && specs+=("udp 20000-20300:nmap:nmap -sU -p20000-20300 -n -Pn 10.214.9.2")
echo "kernel $(uname -r); $(nproc) cores; target icmp_ratelimit $ratelimit ms over a veth"
echo "closed found, one run each:"
echo "  portscope: $(ip netns exec "$here" "$bin" probe 10.214.9.2 20000-20300 --udp 2>/dev/null | tail -1)"
if command -v nmap >/dev/null; then
  echo "  nmap: $(ip netns exec "$here" nmap -sU -p20000-20300 -n -Pn 10.214.9.2 | grep -E 'closed|Not shown|done')"
fi
ip netns exec "$here" python3 scripts/bench/timeit.py "$rounds" "${specs[@]}"
