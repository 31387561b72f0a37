# Sourced by every benchmark script (from the repository's root), with the tools it needs
# besides `ip` in `tools` (may be empty): checks for root and the tools, builds the release
# binary and sets `bin` to it.
me=$(basename "$0")
[ "$(id -u)" = 0 ] || { echo "$me: needs root for ip netns" >&2; exit 2; }
for tool in ip "${tools[@]}"; do
    command -v "$tool" >/dev/null || { echo "$me: $tool is missing" >&2; exit 2; }
done
cargo build --release --quiet
bin=$PWD/target/release/portscope
