#!/usr/bin/env bash
# `flowctl run agent` on a conntrack table of N entries, in a network namespace of the script's
# own (made with ct_dump --create). The agent polls every second and exports every connection
# on each active timeout (5 s) to `flowctl collect --stats` over TCP in the same namespace, for
# SECONDS. Printed per N: records the collector received, records per agent CPU second, the
# mean poll (dump + store update) time, the agent's peak RSS, and bytes per tracked connection.
#
# Antrea's agent exports at most 64 records per wake-up of a store (about 640/s when
# backlogged, reference antrea-flow-visibility.md §1.3); the same table would take it N/640 s.
#
# Needs root, ip, nft, conntrack, curl. Usage:
#   bench/agent.sh [SECONDS] [N...]      # default 20 s, 10000 100000
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
for tool in ip nft conntrack curl; do
  command -v "$tool" >/dev/null || { echo "bench/agent.sh needs $tool" >&2; exit 2; }
done
cargo build --quiet --release --bin flowctl --example ct_dump
target=${CARGO_TARGET_DIR:-$PWD/target}
flowctl=$target/release/flowctl
ct_dump=$target/release/examples/ct_dump

ns=fctl-agent-bench-$$
max_file=/proc/sys/net/netfilter/nf_conntrack_max
old_max=$(cat "$max_file")
work=$(mktemp -d)
cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9
  ip netns del "$ns" 2>/dev/null || true
  [ "$(cat "$max_file")" = "$old_max" ] || echo "$old_max" > "$max_file"
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

# utime + stime of a process, in seconds.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

printf '%-8s %10s %14s %12s %10s %12s\n' entries records 'records/CPU-s' 'poll ms' 'RSS MiB' 'B/connection'
for n in "${sizes[@]}"; do
  [ "$n" -lt "$(cat "$max_file")" ] || echo $((n + n / 10)) > "$max_file"
  in_ns conntrack -F 2>/dev/null || true
  in_ns "$ct_dump" --create "$n" 2>/dev/null
  ip netns exec "$ns" "$flowctl" collect -l tcp://127.0.0.1:4739 --stats > "$work/collect.txt" 2>&1 &
  collector=$!
  sleep 0.5
  ip netns exec "$ns" "$flowctl" run agent --no-kubernetes --collector 127.0.0.1:4739:tcp --poll-interval 1s \
    --active-timeout 5s --idle-timeout 60s --metrics-addr 127.0.0.1:9101 2> "$work/agent.log" &
  agent=$!
  sleep 1
  sleep "$seconds"
  metrics=$(in_ns curl -s 127.0.0.1:9101/metrics)
  agent_cpu=$(cpu "$agent")
  rss_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$agent/status")
  kill -TERM "$agent" 2>/dev/null || { echo "the agent died:" >&2; cat "$work/agent.log" >&2; exit 1; }
  wait "$agent" || true
  sleep 0.5
  kill -TERM "$collector"; wait "$collector" || true
  records=$(echo "$metrics" | awk '/^flowctl_exporter_records_exported_total/ { print $2 }')
  poll_sum=$(echo "$metrics" | awk '/^flowctl_agent_conntrack_poll_cycle_duration_seconds_sum/ { print $2 }')
  poll_count=$(echo "$metrics" | awk '/^flowctl_agent_conntrack_poll_cycle_duration_seconds_count/ { print $2 }')
  awk -v n="$n" -v r="$records" -v c="$agent_cpu" -v ps="$poll_sum" -v pc="$poll_count" -v m="$rss_kib" 'BEGIN {
    printf "%-8d %10d %14.0f %12.1f %10.1f %12.0f\n", n, r, r / (c > 0 ? c : 0.01), 1000 * ps / (pc > 0 ? pc : 1), m / 1024, m * 1024 / n }'
done
echo "(B/connection is the agent's whole peak RSS over the entries: an upper bound)"
