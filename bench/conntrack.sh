#!/usr/bin/env bash
# One full conntrack dump, ours (examples/ct_dump.rs) against `conntrack -L`, in a network
# namespace of the script's own holding N entries (made with ct_dump --create: one netlink
# batch per 256 entries, where `conntrack -I` takes a process per entry). For each N it prints
# the best of 3 runs' wall time and peak RSS of: ct_dump --count (dump + parse), ct_dump as
# JSON lines to /dev/null, conntrack -L to /dev/null; and conntrack's time over ours.
#
# Needs root, ip, nft, conntrack, /usr/bin/time. Usage:
#   bench/conntrack.sh [N...]            # default 100000 500000
#   PROFILE=debug bench/conntrack.sh     # time a debug build (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 500000)
for tool in ip nft conntrack /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/conntrack.sh needs $tool (apt-get install iproute2 nftables conntrack time)" >&2; exit 2; }
done
profile=${PROFILE:-release}
target=${CARGO_TARGET_DIR:-$PWD/target}
if [ "$profile" = debug ]; then
  cargo build --quiet --example ct_dump
else
  cargo build --quiet --profile "$profile" --example ct_dump
fi
ct_dump=$target/$profile/examples/ct_dump

ns=fctl-ct-bench-$$
max_file=/proc/sys/net/netfilter/nf_conntrack_max
old_max=$(cat "$max_file")
times=$(mktemp)
cleanup() {
  rm -f "$times"
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9
  ip netns del "$ns" 2>/dev/null || true
  # The table limit is global (read-only inside a namespace): put it back as it was.
  [ "$(cat "$max_file")" = "$old_max" ] || echo "$old_max" > "$max_file"
}
trap cleanup EXIT
ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns nft add table inet fctl
in_ns nft add chain inet fctl out '{ type filter hook output priority 0; }'
in_ns nft add rule inet fctl out ct state new counter

# Best of 3: "seconds peak_rss_kib" of a command whose output goes to /dev/null.
best() {
  local best_s="" best_m=""
  for _ in 1 2 3; do
    /usr/bin/time -f '%e %M' -o "$times" "$@" >/dev/null 2>/dev/null
    read -r s m < "$times"
    if [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN{exit !(a<b)}'; then best_s=$s best_m=$m; fi
  done
  echo "$best_s $best_m"
}

printf '%-9s %-28s %9s %12s\n' entries tool seconds 'peak RSS KiB'
have=0
for n in "${sizes[@]}"; do
  [ "$n" -lt "$(cat "$max_file")" ] || echo $((n + n / 10)) > "$max_file"
  in_ns conntrack -F 2>/dev/null
  in_ns "$ct_dump" --create "$n" 2>/dev/null
  have=$(in_ns conntrack -C)
  [ "$have" -ge "$n" ] || { echo "only $have of $n entries were made" >&2; exit 1; }
  read -r ours_s ours_m < <(best ip netns exec "$ns" "$ct_dump" --count)
  read -r json_s json_m < <(best ip netns exec "$ns" "$ct_dump")
  read -r cli_s cli_m < <(best ip netns exec "$ns" conntrack -L)
  printf '%-9s %-28s %9s %12s\n' "$n" "ct_dump --count ($profile)" "$ours_s" "$ours_m"
  printf '%-9s %-28s %9s %12s\n' "$n" "ct_dump json ($profile)" "$json_s" "$json_m"
  printf '%-9s %-28s %9s %12s\n' "$n" "conntrack -L" "$cli_s" "$cli_m"
  awk -v c="$cli_s" -v o="$ours_s" -v j="$json_s" 'BEGIN{
    printf "          conntrack -L / ct_dump --count = %.1fx, / ct_dump json = %.1fx\n", c/(o>0?o:0.01), c/(j>0?j:0.01)}'
done
