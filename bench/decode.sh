#!/usr/bin/env bash
# Decode throughput of flowctl against tshark and libfixbuf's ipfixDump, on the same records.
#
# Builds (once) a capture of at least a million records: the IPFIX messages of every real
# capture in ../shared/testdata re-sequenced and repeated, plus the Antrea agent's 43-element
# template (see examples/bench_capture.rs); the same messages as an RFC 5655 file for ipfixDump.
# Then times, in one run, each decoder over the same records and prints records/s, the ratio to
# tshark and to ipfixDump, and peak RSS. Memory must stay flat in the file size, so flowctl is
# also run on a capture four times smaller. A three-field decode (`--fields`, as JSON and as CSV)
# is timed against the full `-o json` of the same capture: it must be at least 3x faster.
#
# Needs: tshark, ipfixDump (libfixbuf-tools), hyperfine (all in Debian). Usage:
#   bench/decode.sh [RUNS]        # default 5 runs per command; the median is reported
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
out=bench/out
mkdir -p "$out"
for tool in tshark ipfixDump hyperfine; do
  command -v "$tool" >/dev/null || { echo "bench/decode.sh needs $tool (apt-get install tshark libfixbuf-tools hyperfine)" >&2; exit 2; }
done

cargo build --release --quiet --bin flowctl --example bench_capture
release=${CARGO_TARGET_DIR:-target}/release
flowctl=$release/flowctl
[ -f "$out/decode.pcap" ] || "$release/examples/bench_capture" "$out/decode" 1000000
[ -f "$out/decode-quarter.pcap" ] || "$release/examples/bench_capture" "$out/decode-quarter" 250000
three=sourceIPv4Address,destinationIPv4Address,octetDeltaCount

records=$("$flowctl" decode --stats -o json "$out/decode.pcap" 2>/dev/null |
  python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print(t["dataRecords"]+t["optionsRecords"])')
echo "machine: $(nproc) cores, $(uname -r); records in the capture: $records"

tshark_cmd="tshark -n -r $out/decode.pcap -d udp.port==4739,cflow -T fields -E occurrence=a -e cflow.srcaddr -e cflow.dstaddr -e cflow.srcport -e cflow.dstport -e cflow.protocol -e cflow.packets -e cflow.octets"
hyperfine --style basic --runs "$runs" --export-json "$out/decode.json" \
  -n "flowctl -o json" "$flowctl decode -o json $out/decode.pcap > /dev/null 2>&1" \
  -n "flowctl --fields" "$flowctl decode -o json --fields $three $out/decode.pcap > /dev/null 2>&1" \
  -n "flowctl csv --fields" "$flowctl decode -o csv --fields $three $out/decode.pcap > /dev/null 2>&1" \
  -n "flowctl --stats" "$flowctl decode --stats -o json $out/decode.pcap > /dev/null 2>&1" \
  -n "tshark -T fields" "$tshark_cmd > /dev/null 2>&1" \
  -n "ipfixDump" "ipfixDump -i $out/decode.ipfix -o /dev/null 2>/dev/null" \
  -n "ipfixDump -s" "ipfixDump -i $out/decode.ipfix -s > /dev/null 2>&1" >/dev/null

peak_rss() { /usr/bin/time -f %M bash -c "$1 > /dev/null 2>&1" 2>&1 | tail -1; }
rss_json=$(peak_rss "$flowctl decode -o json $out/decode.pcap")
rss_json_quarter=$(peak_rss "$flowctl decode -o json $out/decode-quarter.pcap")
rss_stats=$(peak_rss "$flowctl decode --stats $out/decode.pcap")
rss_tshark=$(peak_rss "$tshark_cmd")
rss_ipfixdump=$(peak_rss "ipfixDump -i $out/decode.ipfix -o /dev/null")

python3 - "$out/decode.json" "$records" "$rss_json" "$rss_stats" "$rss_tshark" "$rss_ipfixdump" "$rss_json_quarter" <<'EOF'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
records = int(sys.argv[2])
rss = dict(zip(["flowctl -o json", "flowctl --stats", "tshark -T fields", "ipfixDump"], sys.argv[3:7]))
median = {name: r["median"] for name, r in results.items()}
print(f"{'command':<20} {'median s':>9} {'records/s':>12} {'vs tshark':>10} {'vs ipfixDump':>13} {'peak RSS':>10}")
for name, t in median.items():
    vs_t = median["tshark -T fields"] / t
    vs_i = median["ipfixDump"] / t
    mem = f"{int(rss[name]) // 1024} MiB" if name in rss else ""
    print(f"{name:<20} {t:>9.3f} {records / t:>12,.0f} {vs_t:>9.1f}x {vs_i:>12.1f}x {mem:>10}")
full = median["flowctl -o json"]
for name in ["flowctl --fields", "flowctl csv --fields"]:
    print(f"{name}: {full / median[name]:.1f}x faster than the full -o json")
print(f"targets: json >= 30x tshark, --stats >= 100x tshark, json >= 10x ipfixDump, three fields >= 3x full json")
print(f"flowctl -o json peak RSS: {int(sys.argv[7]) // 1024} MiB on a capture 4x smaller, "
      f"{int(sys.argv[3]) // 1024} MiB on this one (flat in the file size)")
EOF
