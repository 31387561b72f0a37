#!/usr/bin/env bash
# The exporter's cost per scrape on the benchmark's 20,000-socket table (scripts/bench/table.py,
# in a private network namespace), side by side with `ss -tuanp` (the same job: every socket,
# the listeners' owners) and `ss -tuan` (the table alone), alternating, as CPU time; then the
# exporter's peak memory. Needs root (ip netns), ss and python3.
# Usage: scripts/bench-exporter.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-30}
tools=(ss)
# shellcheck source=bench/table.sh
source scripts/bench/table.sh
log=$(mktemp)
# `ip netns exec` execs the exporter, so $! is its pid; fd 3 (what keeps the table) stays here.
ip netns exec "$ns" "$bin" exporter --listen 127.0.0.1:0 2>"$log" 3>&- &
exporter=$!
until grep -q 'serving metrics on' "$log"; do sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$log")
inns python3 scripts/bench/scrape.py "$rounds" "$exporter" "$url" \
    "ss -tuanp:ss -tuanp" "ss -tuan:ss -tuan"
echo "exporter peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$exporter/status")"
kill -TERM "$exporter"
wait "$exporter" || true
rm -f "$log"
