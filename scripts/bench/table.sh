# Sourced by the benchmark scripts, with the tools they compare against in `tools`: checks for
# root and the tools, builds the release binary (`bin`), builds the benchmark's socket table
# (table.py) in a new private network namespace and holds it until the sourcing shell exits.
# Sets `bin`, `ns`, `listen_port`, `client_port` and the functions `inns` (run a command inside
# the namespace), `cpu_over SECS PATTERN COMMAND…` (the CPU a command takes over SECS seconds
# after its first 3, as `% of one core` on stdout), `watch_cpu SECS [FLAGS…]` (that of
# `portscope watch --json --interval 1 FLAGS`) and `screen_cpu SECS [FLAGS…]` (the live
# screen's, on a 50×200 terminal), and prints the table's summary.
tools+=(python3)
# shellcheck source=preflight.sh
source "$(dirname "${BASH_SOURCE[0]}")/preflight.sh"
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
echo "kernel $(uname -r); $(nproc) cores; table in netns $ns:"
inns ss -s | sed -n '1p;/^TCP:/p'
# The CPU a command takes over SECS seconds after its first 3 (for watch, the first look's
# full owner scan is startup, not the steady cost), as "% of one core": user + system time of
# the newest process matching PATTERN (pgrep -f), which is then stopped with SIGINT.
cpu_over() {
    local secs=$1 pattern=$2 runner pid start end
    shift 2
    "$@" >/dev/null 2>&1 </dev/null &
    runner=$!
    sleep 3
    pid=$(pgrep -n -f "$pattern") || {
        echo "no process matches $pattern" >&2
        kill "$runner" 2>/dev/null
        return 1
    }
    ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
    start=$(ticks)
    sleep "$secs"
    end=$(ticks)
    kill -INT "$pid" 2>/dev/null || true
    wait "$runner" 2>/dev/null || true
    python3 -c "t=($end-$start)/$(getconf CLK_TCK); print(f'{t:.2f} s of CPU over $secs s = {100*t/$secs:.2f} % of one core')"
}
# `portscope watch --json --interval 1 FLAGS…`.
watch_cpu() {
    local secs=$1
    shift
    cpu_over "$secs" "^$(literal "$bin") watch" inns "$bin" watch --json --interval 1 "$@"
}
# The live screen, `portscope watch --interval 1 FLAGS…` on a terminal (script(1)'s pty, set
# to 50 rows of 200 columns: with stdin not a terminal it would have none).
screen_cpu() {
    local secs=$1
    shift
    cpu_over "$secs" "^$(literal "$bin") watch" script -qec \
        "stty rows 50 cols 200; exec ip netns exec $ns '$bin' watch --interval 1 $*" /dev/null
}
# A path as a pgrep pattern that matches it literally.
literal() {
    printf '%s' "$1" | sed 's/[][\\.*^$+?(){}|]/\\&/g'
}
