#!/usr/bin/env bash
# A hostile neighbourhood for `flowctl collect` (issue #20), on 127.0.0.1, while one well-behaved
# exporter (127.0.0.3) replays a real capture over TCP:
#   - a template-size flood: 400 templates of 16,370 fields each over UDP (26 MB);
#   - a domain flood: 90,000 16-byte IPFIX headers over UDP, each a new observation domain;
#   - 1,100 TCP connections that never send a byte;
#   - 200 TLS connections that never finish their handshake.
# Prints the good exporter's records received / expected (they must be equal), the collector's
# peak RSS, the size and time of one /metrics scrape under the flood, and the counters of what
# the bounds refused, dropped or closed.
#
# Needs python3, curl and /usr/bin/time. Usage: bench/hostile.sh [CAPTURE]
#   CAPTURE defaults to ../shared/testdata/captures/ipfixcol2/example_flows.ipfix
set -euo pipefail
cd "$(dirname "$0")/.."
capture=${1:-../shared/testdata/captures/ipfixcol2/example_flows.ipfix}
[ -f "$capture" ] || { echo "bench/hostile.sh: no capture at $capture" >&2; exit 2; }
for tool in python3 curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/hostile.sh needs $tool" >&2; exit 2; }
done
cargo build --release --quiet --bin flowctl
flowctl=$PWD/target/release/flowctl
dir=$(mktemp -d)
started=()
trap 'for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
echo "machine: $(nproc) cores, $(uname -r); capture: $capture"

"$flowctl" certs create --out "$dir/pki" --server 127.0.0.1 >/dev/null
udp=$((20000 + RANDOM % 10000)); tcp=$((udp + 1)); tls=$((udp + 2)); metrics=$((udp + 3))
/usr/bin/time -o "$dir/time" -f "%M" "$flowctl" collect --stats -o json \
  -l "udp://127.0.0.1:$udp" -l "tcp://127.0.0.1:$tcp" -l "tls://127.0.0.1:$tls" \
  --tls-cert "$dir/pki/server.crt" --tls-key "$dir/pki/server.key" \
  --metrics-addr "127.0.0.1:$metrics" >"$dir/summary.json" 2>"$dir/collect.err" &
collector=$!
started+=("$collector")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$metrics/metrics" >/dev/null && break; sleep 0.1; done

# The attackers: floods first, then the idle and stalled sockets, held until told to stop.
python3 - "$udp" "$tcp" "$tls" "$dir/attack.ready" "$dir/attack.stop" <<'PY' 2>"$dir/attack.err" &
import os, resource, socket, struct, sys, time
udp, tcp, tls = (int(p) for p in sys.argv[1:4])
ready, stop = sys.argv[4:6]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
fields = 16370
specs = b"".join(struct.pack("!HH", 1 + f % 400, 1) for f in range(fields))
for i in range(400):
    body = struct.pack("!HH", 256 + i, fields) + specs
    tset = struct.pack("!HH", 2, 4 + len(body)) + body
    s.sendto(struct.pack("!HHIII", 10, 16 + len(tset), int(time.time()), 0, 1) + tset, ("127.0.0.1", udp))
    time.sleep(0.002)
for d in range(90000):
    s.sendto(struct.pack("!HHIII", 10, 16, int(time.time()), 0, 1000 + d), ("127.0.0.1", udp))
    if d % 1000 == 0:
        time.sleep(0.001)
held = []
for _ in range(1100):
    held.append(socket.create_connection(("127.0.0.1", tcp)))
for _ in range(200):
    held.append(socket.create_connection(("127.0.0.1", tls)))
open(ready, "w").close()
while not os.path.exists(stop):
    time.sleep(0.1)
PY
attacker=$!
started+=("$attacker")
for _ in $(seq 600); do [ -f "$dir/attack.ready" ] && break; sleep 0.1; done
[ -f "$dir/attack.ready" ] || { echo "the attacker did not get ready:" >&2; cat "$dir/attack.err" >&2; exit 1; }

# One scrape under the flood, then the good exporter while every socket is still held.
scrape=$(curl -s -o "$dir/metrics.txt" -w "%{time_total}" "http://127.0.0.1:$metrics/metrics")
"$flowctl" -o json replay "$capture" --to "tcp://127.0.0.1:$tcp" --source-ip 127.0.0.3 --no-progress \
  >"$dir/sent.json" 2>"$dir/replay.err" || { echo "replay failed:" >&2; tail -3 "$dir/replay.err" >&2; }
sleep 1
touch "$dir/attack.stop"
wait "$attacker" || true
kill -TERM "$(pgrep -P "$collector" | head -1)"
wait "$collector" || true
python3 - "$dir" "$scrape" <<'PY'
import json, os, sys
d, scrape = sys.argv[1], float(sys.argv[2])
sent = json.load(open(os.path.join(d, "sent.json")))
summary = json.load(open(os.path.join(d, "summary.json")))
good = sum(r["dataRecords"] for r in summary["domains"] if (r.get("exporter") or "").startswith("127.0.0.3:"))
t, c = summary["totals"], summary["connections"]
rss = int(open(os.path.join(d, "time")).read().split()[-1]) / 1024
size = os.path.getsize(os.path.join(d, "metrics.txt"))
print(f"good exporter: {good} records received / {sent['records']} expected"
      f" ({'equal' if good == sent['records'] else 'NOT EQUAL'})")
print(f"collector peak RSS: {rss:.0f} MiB")
print(f"/metrics under the flood: {size / 1e6:.2f} MB, scraped in {scrape:.3f} s")
print(f"templates refused: {t['templatesRefused']}; malformed messages: {t['malformed']}")
print(f"connections: {c['accepted']} accepted, {c['refused']} refused at the session bound, "
      f"{c['closedSilent']} closed silent, {c['closedIdle']} closed idle, {c['evicted']} evicted; "
      f"TLS: {c['handshakesRefused']} handshakes refused per source, {c['handshakesDropped']} dropped, "
      f"{c['handshakeFailures']} failed; {c['undrainedBytes']} bytes undrained")
PY
