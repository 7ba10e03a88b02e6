#!/usr/bin/env bash
# Records/s through `flowctl run aggregator --mode proxy` (UDP in, TCP out) on one machine:
# `flowctl replay` sends Antrea agent records (43-element template, packed in 1400-byte
# messages) over UDP at fixed rates, the proxy re-encodes every one (proxy template, 50 IEs) and
# exports over TCP to `flowctl collect --stats`, which counts them. The sender is pinned to CPU 0,
# the proxy to CPU 1; the sink shares them. For each rate: records sent, records the sink
# received, loss, the proxy's CPU seconds per million records and its peak RSS. Then the proxy's
# RSS with 10 thousand and with 1 million distinct flows at the same rate (stateless: flat).
#
# Needs python3 and taskset. Usage:
#   bench/proxy.sh [SECONDS_PER_RUN] [RATES...]     # default 10 s; 0.5M 1M 1.5M 2M max
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(500000 1000000 1500000 2000000 max)
for tool in taskset python3; do
  command -v "$tool" >/dev/null || { echo "bench/proxy.sh needs $tool" >&2; exit 2; }
done
cargo build --release --quiet --bin flowctl --example agent_capture
flowctl=$PWD/target/release/flowctl
out=$PWD/bench/out
mkdir -p "$out"
[ -f "$out/agent-10k.pcap" ] || target/release/examples/agent_capture "$out/agent-10k.pcap" 2000000 10000
[ -f "$out/agent-1m.pcap" ] || target/release/examples/agent_capture "$out/agent-1m.pcap" 2000000 1000000
echo "machine: $(nproc) cores, $(uname -r); $secs s per run"

started=()
trap 'for p in "${started[@]}"; do kill "$p" 2>/dev/null; done' EXIT

# One run: capture $1 at rate $2 → prints "sent received loss_pct cpu_s_per_M rss_mib".
run() {
  local capture=$1 rate=$2 dir
  dir=$(mktemp -d)
  local in_port=$((20000 + RANDOM % 20000)) out_port=$((40000 + RANDOM % 20000)) api_port=$((30000 + RANDOM % 10000))
  "$flowctl" collect --stats -o json -l "tcp://127.0.0.1:$out_port" >"$dir/sink.json" 2>"$dir/sink.err" &
  local sink=$!
  started+=("$sink")
  sleep 0.5
  taskset -c 1 /usr/bin/time -o "$dir/time" -f "%U %S %M" "$flowctl" run aggregator --mode proxy \
    -l "udp://127.0.0.1:$in_port" --udp-sockets 1 --flow-collector "127.0.0.1:$out_port:tcp" \
    --metrics-addr "127.0.0.1:$api_port" --cluster-id bench 2>"$dir/proxy.err" &
  local proxy=$!
  started+=("$proxy")
  sleep 1
  local pace=(); [ "$rate" = max ] || pace=(--rate "$rate")
  taskset -c 0 timeout -s INT "$secs" "$flowctl" replay "$capture" --to "udp://127.0.0.1:$in_port" \
    --loop 0 --rewrite-sequence "${pace[@]}" -o json >"$dir/sent.json" 2>"$dir/replay.err" || true
  [ -s "$dir/sent.json" ] || { echo "replay failed:" >&2; tail -3 "$dir/replay.err" >&2; exit 1; }
  # Let the proxy forward what it holds, then stop it (it drains) and the sink.
  sleep 2
  kill -TERM "$(pgrep -P "$proxy" | head -1)"
  while kill -0 "$proxy" 2>/dev/null; do sleep 0.1; done
  sleep 0.5
  kill -TERM "$sink"
  wait "$sink" || true
  python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
sent = json.load(open(f"{d}/sent.json"))["records"]
t = json.load(open(f"{d}/sink.json"))["totals"]
recv = t["dataRecords"] + t["optionsRecords"]
user, sys_, rss = open(f"{d}/time").read().split()
cpu = (float(user) + float(sys_)) / max(recv, 1) * 1e6
print(f"{sent} {recv} {100 * (1 - recv / max(sent, 1)):.3f} {cpu:.3f} {int(rss) // 1024}")
PY
  rm -rf "$dir"
}

printf '%-10s %12s %12s %8s %12s %8s\n' rate sent received loss% "CPU s/M" "RSS MiB"
best=0
for rate in "${rates[@]}"; do
  read -r sent recv loss cpu rss < <(run "$out/agent-10k.pcap" "$rate")
  printf '%-10s %12s %12s %8s %12s %8s\n' "$rate" "$sent" "$recv" "$loss" "$cpu" "$rss"
  if python3 -c "import sys; sys.exit(0 if float('$loss') < 0.01 else 1)"; then
    best=$(python3 -c "print(max($best, $sent / $secs))")
  fi
done
printf '\nhighest loss-free rate through the proxy: %s records/s (target >= 1,000,000)\n' \
  "$(python3 -c "print(f'{$best:,.0f}')")"

mid=1000000
read -r _ _ loss10k _ rss10k < <(run "$out/agent-10k.pcap" $mid)
read -r _ _ loss1m _ rss1m < <(run "$out/agent-1m.pcap" $mid)
printf 'peak RSS at %s records/s: %s MiB with 10 thousand flows (loss %s%%), %s MiB with 1 million flows (loss %s%%)\n' \
  "$mid" "$rss10k" "$loss10k" "$rss1m" "$loss1m"
