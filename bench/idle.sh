#!/usr/bin/env bash
# Idle footprint of the agent: starts `trimtab run --local` (host metrics, local API, a tick
# every 15 s), lets it settle, then reads its resident memory and CPU time from /proc.
#
#   bash bench/idle.sh [SECONDS]      # default 60; builds the release binary first
#
# Prints RSS (VmRSS, and the peak VmHWM) and the CPU time used over the window, as a share of
# one core. Linux only (reads /proc).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
cargo build --release --locked --quiet
bin=target/release/trimtab
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cfg=$(mktemp --suffix=.toml)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$cfg"' EXIT
printf '[agent]\nlisten = "127.0.0.1:%s"\n' "$port" >"$cfg"
"$bin" run --local --config "$cfg" 2>/dev/null &
pid=$!
sleep 3   # startup and the first tick
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }   # utime + stime, in clock ticks
hz=$(getconf CLK_TCK)
start=$(ticks)
sleep "$secs"
end=$(ticks)
curl -sf "http://127.0.0.1:$port/status" >/dev/null   # the API answers
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
cpu=$(awk -v a="$start" -v b="$end" -v hz="$hz" -v s="$secs" 'BEGIN {printf "%.3f", 100 * (b - a) / hz / s}')
echo "trimtab run --local, idle for ${secs}s (interval 15s):"
echo "  RSS ${rss} KiB (peak ${hwm} KiB), ${threads} threads, CPU ${cpu}% of one core"
