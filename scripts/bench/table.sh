# Sourced by the benchmark scripts (root): builds the benchmark's socket table (table.py) in a
# new private network namespace and holds it until the sourcing shell exits. Sets `ns`,
# `listen_port`, `client_port` and the function `inns` (run a command inside the namespace).
ns=portscope-bench-$$
fifo=$(mktemp -u)
mkfifo "$fifo"
cleanup() {
    exec 3>&- 2>/dev/null || true
    wait 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -f "$fifo"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
# The table lives as long as fd 3 (its stdin) stays open.
ip netns exec "$ns" python3 "$(dirname "${BASH_SOURCE[0]}")/table.py" <"$fifo" >"$fifo.out" &
exec 3>"$fifo"
until [ -s "$fifo.out" ]; do sleep 0.2; done
read -r _ listen_port client_port <"$fifo.out"
rm -f "$fifo.out"
inns() { ip netns exec "$ns" "$@"; }
