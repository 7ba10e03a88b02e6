#!/bin/sh
# Rebuilds the seed corpus of the decode_message fuzz target (fuzz/corpus/decode_message, not
# committed) from real captures: every UDP or TCP payload of the pcap/pcapng files, each capture's
# payloads in order as one stream (templates before the data that uses them, cut at 16 KiB), and
# the messages of RFC 5655 .ipfix files alone and in runs. Needs tshark and python3.
set -eu

captures=${1:-$(dirname "$0")/../../shared/testdata/captures}
corpus=$(dirname "$0")/corpus/decode_message
mkdir -p "$corpus"

# Reads messages (hex lines from tshark, or one .ipfix file) and writes seeds named by their SHA-1.
seeder='
import hashlib, sys

corpus, source = sys.argv[1], sys.argv[2]
STREAM_LIMIT = 16 << 10

def seed(data):
    if data:
        with open(f"{corpus}/{hashlib.sha1(data).hexdigest()}", "wb") as f:
            f.write(data)

def ipfix_messages(data):
    while len(data) >= 16:
        length = int.from_bytes(data[2:4], "big")
        if length < 16:
            return
        yield data[:length]
        data = data[length:]

if source == "-":
    # A line is "udp.payload<TAB>tcp.payload"; a payload that carries a packet (RFC 7133
    # dataLinkFrameSection) adds the inner one after a comma.
    fields = (next((f for f in line.rstrip("\n").split("\t") if f), "") for line in sys.stdin)
    messages = [bytes.fromhex(f.split(",")[0]) for f in fields]
else:
    with open(source, "rb") as f:
        messages = list(ipfix_messages(f.read()))
run = b""
for message in messages:
    seed(message)
    if len(run) + len(message) > STREAM_LIMIT:
        seed(run)
        run = b""
    run += message
seed(run)
'

find "$captures" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort | while read -r capture; do
    tshark -r "$capture" -T fields -e udp.payload -e tcp.payload 2>/dev/null | python3 -c "$seeder" "$corpus" -
done
find "$captures" -type f -name '*.ipfix' | sort | while read -r file; do
    python3 -c "$seeder" "$corpus" "$file"
done
echo "$(ls "$corpus" | wc -l) seeds in $corpus"
