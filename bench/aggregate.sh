#!/usr/bin/env bash
# Records/s and memory of `flowctl run aggregator` in aggregate mode on one machine. For each
# flow count N, `examples/aggregate_capture` writes the agent records of two Nodes: the
# source-Node and destination-Node halves of N inter-Node connections (half of them source half
# first), two rounds (the second a later report of every connection). `flowctl replay` sends them
# over TCP as fast as the aggregator takes them (TCP: nothing is lost, the sender waits), and the
# aggregator correlates them and exports the correlated records over TCP to
# `flowctl collect --stats`. The sender is pinned to CPU 0, the aggregator to CPU 1; the sink
# shares them.
#
# Printed per N: records, wall seconds until the aggregator had received them all, records/s,
# the aggregator's CPU seconds per million records, the flows it then held, its RSS before and
# after, and the bytes per tracked flow ((after - before) / flows).
#
# Needs python3, curl and taskset. Usage:
#   bench/aggregate.sh [N...]     # default 100000 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(100000 1000000)
for tool in taskset python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench/aggregate.sh needs $tool" >&2; exit 2; }
done
cargo build --release --quiet --bin flowctl --example aggregate_capture
flowctl=$PWD/target/release/flowctl
out=$PWD/bench/out
mkdir -p "$out"
echo "machine: $(nproc) cores, $(uname -r)"

started=()
trap 'for p in "${started[@]}"; do kill "$p" 2>/dev/null; done' EXIT

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
received() { curl -s "http://127.0.0.1:$1/recordmetrics" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m.get("numRecordsReceived",0), m.get("numFlows",0))'; }

printf '%-9s %10s %8s %12s %10s %9s %9s %9s %8s\n' flows records wall_s records/s "CPU s/M" held "RSS0 MiB" "RSS MiB" "B/flow"
for n in "${counts[@]}"; do
  capture="$out/aggregate-$n.pcap"
  [ -f "$capture" ] || target/release/examples/aggregate_capture "$capture" "$n" 2 >/dev/null
  total=$((4 * n))
  dir=$(mktemp -d)
  in_port=$((20000 + RANDOM % 20000)) out_port=$((40000 + RANDOM % 20000)) api_port=$((30000 + RANDOM % 10000))
  "$flowctl" collect --stats -o json -l "tcp://127.0.0.1:$out_port" >"$dir/sink.json" 2>"$dir/sink.err" &
  sink=$!
  started+=("$sink")
  sleep 0.5
  ${AGG_PIN:-taskset -c 1} "$flowctl" run aggregator -l "tcp://127.0.0.1:$in_port" --flow-collector "127.0.0.1:$out_port:tcp" \
    --metrics-addr "127.0.0.1:$api_port" --cluster-id bench --active-timeout 10m --inactive-timeout 10m \
    2>"$dir/aggregator.err" &
  agg=$!
  started+=("$agg")
  until curl -s "http://127.0.0.1:$api_port/recordmetrics" >/dev/null; do sleep 0.1; done
  rss0=$(rss_kib "$agg")
  ticks0=$(cpu_ticks "$agg")
  t0=$(date +%s.%N)
  taskset -c 0 "$flowctl" replay "$capture" --to "tcp://127.0.0.1:$in_port" -o json >"$dir/sent.json" 2>"$dir/replay.err" &
  replay=$!
  started+=("$replay")
  while :; do
    read -r got held < <(received "$api_port")
    [ "$got" -ge "$total" ] && break
    kill -0 "$replay" 2>/dev/null || [ "$got" -ge "$total" ] || { sleep 1; read -r got held < <(received "$api_port"); [ "$got" -ge "$total" ] && break; echo "replay ended with $got of $total received" >&2; tail -3 "$dir/replay.err" >&2; exit 1; }
    sleep 0.02
  done
  t1=$(date +%s.%N)
  ticks1=$(cpu_ticks "$agg")
  sleep 2
  rss1=$(rss_kib "$agg")
  read -r _ held < <(received "$api_port")
  wait "$replay" || true
  kill -TERM "$agg"
  wait "$agg" || true
  kill -TERM "$sink"
  wait "$sink" || true
  python3 - "$n" "$total" "$t0" "$t1" "$ticks0" "$ticks1" "$(getconf CLK_TCK)" "$held" "$rss0" "$rss1" <<'PY'
import sys
n, total, t0, t1, k0, k1, hz, held, rss0, rss1 = sys.argv[1:]
wall = float(t1) - float(t0)
cpu = (int(k1) - int(k0)) / int(hz)
per_flow = (int(rss1) - int(rss0)) * 1024 / max(int(held), 1)
print(f"{int(n):<9} {int(total):>10} {wall:>8.2f} {int(total) / wall:>12,.0f} {cpu / int(total) * 1e6:>10.3f} "
      f"{int(held):>9} {int(rss0) / 1024:>9.1f} {int(rss1) / 1024:>9.1f} {per_flow:>8.0f}")
PY
  rm -rf "$dir"
done
echo "targets: >= 500,000 records/s; <= 300 B per tracked flow"
