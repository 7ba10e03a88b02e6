#!/usr/bin/env bash
# UDP ingest on 127.0.0.1: flowctl collect against nfcapd and nfacctd, all with a 4 MiB receive
# buffer, fed by `flowctl replay` at fixed rates of IPFIX records (25 records of 55 bytes per
# 1395-byte message, as peers.md §5.b). The sender is pinned to CPU 0 and the collector to CPU 1.
# For each rate and collector it prints records sent and received, loss, the kernel's socket
# drops, the collector's CPU seconds per million records received, and its peak RSS; then each
# collector's highest loss-free rate (loss < 0.01 %) and the ratios the issue asks for.
#
# Needs: nfdump (nfcapd), pmacct (nfacctd), python3, taskset (all in Debian). Usage:
#   bench/ingest.sh [SECONDS_PER_RUN] [RATES...]     # default 10 s; 0.5M 1M 1.5M 2M 2.5M 3M max
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(500000 1000000 1500000 2000000 2500000 3000000 max)
for tool in nfcapd nfacctd taskset python3; do
  command -v "$tool" >/dev/null || { echo "bench/ingest.sh needs $tool (apt-get install nfdump pmacct util-linux python3)" >&2; exit 2; }
done
cargo build --release --quiet --bin flowctl
flowctl=$PWD/target/release/flowctl
out=$PWD/bench/out
mkdir -p "$out"
[ -f "$out/ingest.pcap" ] || python3 ../shared/tools/make_ipfix_pcap.py "$out/ingest.pcap" 4000 --port 4739 >/dev/null
rcvbuf=$((4 << 20))
# replay counts every record sent, options records included; nfcapd and nfacctd count only
# flows (packets, one per data record). Their counts are scaled by the capture's share of data
# records so every column speaks of all records.
share=$("$flowctl" decode --stats -o json "$out/ingest.pcap" 2>/dev/null |
  python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print(t["dataRecords"]/(t["dataRecords"]+t["optionsRecords"]))')
echo "machine: $(nproc) cores, $(uname -r), net.core.rmem_max=$(cat /proc/sys/net/core/rmem_max); $secs s per run"

# Starts collector $1 on port $2 in directory $3, pinned to CPU 1, under /usr/bin/time.
start() {
  local name=$1 port=$2 dir=$3
  case $name in
    flowctl-count)
      taskset -c 1 /usr/bin/time -o "$dir/time" -f "%U %S %M" "$flowctl" collect --stats -o json \
        -l "udp://127.0.0.1:$port" --rcvbuf $rcvbuf --udp-sockets 1 >"$dir/out" 2>"$dir/err" &;;
    flowctl-json)
      taskset -c 1 /usr/bin/time -o "$dir/time" -f "%U %S %M" "$flowctl" collect -o json \
        -l "udp://127.0.0.1:$port" --rcvbuf $rcvbuf --udp-sockets 1 >/dev/null 2>"$dir/err" &;;
    nfcapd)
      taskset -c 1 /usr/bin/time -o "$dir/time" -f "%U %S %M" nfcapd -b 127.0.0.1 -p "$port" -w "$dir" -t 3600 \
        -B $rcvbuf >"$dir/err" 2>&1 &;;
    nfacctd)
      cat >"$dir/nfacctd.conf" <<EOF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $port
nfacctd_pipe_size: $rcvbuf
aggregate: proto
plugins: print
print_output: csv
print_output_file: $dir/out.csv
print_refresh_time: 3600
plugin_pipe_size: 104857600
plugin_buffer_size: 102400
logfile: $dir/err
EOF
      taskset -c 1 /usr/bin/time -o "$dir/time" -f "%U %S %M" nfacctd -f "$dir/nfacctd.conf" >/dev/null 2>&1 &;;
  esac
  echo $!
}

# Records the collector accepted (every record carries packetDeltaCount=1).
received() {
  local name=$1 dir=$2
  case $name in
    flowctl-count) python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print(t["dataRecords"]+t["optionsRecords"])' "$dir/out";;
    nfcapd) grep -o 'Packets: [0-9]*' "$dir/err" | awk -v k="$share" '{s+=$2} END{printf "%d\n", s/k}';;
    nfacctd) awk -F, -v k="$share" 'NR>1 {s+=$(NF-1)} END{printf "%d\n", s/k}' "$dir/out.csv" 2>/dev/null || echo 0;;
  esac
}

drops() { awk -v p="$(printf ':%04X' "$1")" 'NR>1 && $2 ~ p"$" {s+=$NF} END{print s+0}' /proc/net/udp; }

# A run that fails half-way must not leave a collector holding its port.
started=()
trap 'for p in "${started[@]}"; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done' EXIT

results=$out/ingest.tsv
printf 'collector\trate\tsent\treceived\tloss_pct\tsock_drops\tcpu_s_per_M\trss_mib\n' >"$results"
port=19990
for rate in "${rates[@]}"; do
  for name in flowctl-count flowctl-json nfcapd nfacctd; do
    port=$((port + 1))
    dir=$(mktemp -d)
    pid=$(start "$name" $port "$dir")
    started+=("$pid")
    sleep 1.5
    d0=$(drops $port)
    pace=(); [ "$rate" = max ] || pace=(--rate "$rate")
    taskset -c 0 timeout -s INT "$secs" "$flowctl" replay "$out/ingest.pcap" --to "udp://127.0.0.1:$port" \
      --loop 0 --rewrite-sequence "${pace[@]}" -o json >"$dir/sent.json" 2>"$dir/replay.err" || true
    [ -s "$dir/sent.json" ] || { echo "replay failed for $name at $rate:" >&2; tail -3 "$dir/replay.err" >&2; exit 1; }
    sleep 2
    d1=$(drops $port)
    # Each collector's own way to stop and write its counts.
    child=$(pgrep -P "$pid" | head -1)
    case $name in nfacctd) kill -INT "$child";; *) kill -TERM "$child";; esac
    # The collector was started in a subshell, so it is not ours to wait for: watch it go.
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$dir/sent.json")
    if [ "$name" = flowctl-json ]; then
      # Its summary goes to stderr as a table; DATA and OPT-DATA are columns 7 and 8.
      recv=$(awk '/^127\.0\.0\.1/ {r+=$7+$8} END{print r+0}' "$dir/err")
    else
      recv=$(received "$name" "$dir")
    fi
    read -r user sys rss <"$dir/time"
    python3 - "$name" "$rate" "$sent" "$recv" "$((d1 - d0))" "$user" "$sys" "$rss" >>"$results" <<'EOF'
import sys
name, rate, sent, recv, drops, user, sys_, rss = sys.argv[1:]
sent, recv = int(sent), int(recv)
loss = 100 * (1 - recv / max(1, sent))
cpu = (float(user) + float(sys_)) / max(recv, 1) * 1e6
print(f"{name}\t{rate}\t{sent}\t{recv}\t{loss:.3f}\t{drops}\t{cpu:.3f}\t{int(rss) // 1024}")
EOF
    tail -1 "$results"
    rm -rf "$dir"
  done
done

python3 - "$results" "$secs" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
secs = float(sys.argv[2])
best, cpu = {}, {}
for r in rows:
    sent = int(r["sent"])
    if float(r["loss_pct"]) < 0.01:
        best[r["collector"]] = max(best.get(r["collector"], 0), sent / secs)
    cpu.setdefault(r["collector"], []).append(float(r["cpu_s_per_M"]))
print()
print(f"{'collector':<15} {'highest loss-free records/s':>28} {'median CPU s per M records':>28}")
for name in ["flowctl-count", "flowctl-json", "nfcapd", "nfacctd"]:
    c = sorted(cpu.get(name, [0]))
    print(f"{name:<15} {best.get(name, 0):>28,.0f} {c[len(c) // 2]:>28.3f}")
peer_best = max(best.get("nfcapd", 0), best.get("nfacctd", 0))
peer_cpu = min(sorted(cpu.get(n, [1e9]))[len(cpu.get(n, [1e9])) // 2] for n in ["nfcapd", "nfacctd"])
ours = sorted(cpu["flowctl-count"])[len(cpu["flowctl-count"]) // 2]
print(f"\nloss-free rate, flowctl / best peer: {best.get('flowctl-count', 0) / max(peer_best, 1):.2f}x (target >= 1.5x)")
print(f"CPU per million records, flowctl / best peer: {ours / peer_cpu:.2f}x (target <= 0.5x)")
EOF
