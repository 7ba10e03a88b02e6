//! Real exporters into `flowctl collect`: ulogd2 exporting Linux conntrack as IPFIX (peers.md
//! §4.4), in a network namespace of the test's own. Needs root (CI runs as root), ulogd2,
//! conntrack and nftables; the test says it skipped otherwise.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::netns::{Netns, have, is_root as root};
use crate::util::json_lines;

fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
}

fn ulogd_config(dir: &Path, port: u16) -> PathBuf {
    let plugins = std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("ulogd"))
        .find(|p| p.join("ulogd_output_IPFIX.so").exists())
        .expect("ulogd2's plugins");
    let conf = dir.join("ulogd.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]\nlogfile=\"{log}\"\nloglevel=1\nplugin=\"{p}/ulogd_inpflow_NFCT.so\"\n\
             plugin=\"{p}/ulogd_output_IPFIX.so\"\nstack=ct1:NFCT,ipfix1:IPFIX\n\
             [ct1]\nhash_enable=0\nevent_mask=0x00000004\n\
             [ipfix1]\noid=1\nhost=\"127.0.0.1\"\nport={port}\nproto=\"udp\"\nsend_template=\"always\"\n",
            log = dir.join("ulogd.log").display(),
            p = plugins.display(),
        ),
    )
    .unwrap();
    conf
}

#[test]
fn ulogd_exports_conntrack_into_flowctl_collect() {
    if !root() || !["ulogd", "conntrack", "nft", "ip"].iter().all(|t| have(t)) {
        eprintln!("ulogd_exports_conntrack_into_flowctl_collect: skipped: needs root, ulogd2, conntrack, nftables");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ns = Netns::new(format!("flowctl-ulogd-{}", std::process::id()));
    // Counters and timestamps in conntrack, and a rule so conntrack tracks local traffic.
    ns.sh("sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1 && \
         nft add table inet t && nft add chain inet t out '{ type filter hook output priority 0; }' && \
         nft add rule inet t out ct state new counter");
    let mut collect = ns
        .cmd(assert_cmd::cargo::cargo_bin("flowctl").to_str().unwrap())
        .args(["collect", "-l", "udp://127.0.0.1:4739", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ulogd = ns.cmd("ulogd").arg("-c").arg(ulogd_config(dir.path(), 4739)).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // Known traffic: 5 UDP datagrams of 100 bytes (128 with headers) from 40000 to 9, and 3
    // of 20 bytes from 40001 to 10; no replies.
    ns.sh("python3 -c '\nimport socket\nfor port, n, size, dst in ((40000, 5, 100, 9), (40001, 3, 20, 10)):\n    \
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    s.bind((\"127.0.0.1\", port))\n    \
         [s.sendto(b\"x\" * size, (\"127.0.0.1\", dst)) for _ in range(n)]\n'");
    let table = ns.sh("conntrack -L -p udp 2>/dev/null");
    // The flows end: ulogd sees their DESTROY events and exports them.
    ns.sh("conntrack -F 2>/dev/null");
    std::thread::sleep(Duration::from_millis(1500));
    stop(&mut ulogd);
    let _ = ulogd.wait();
    stop(&mut collect);
    let out = collect.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Value> = json_lines(&out.stdout)
        .into_iter()
        .filter(|r| {
            r["fields"]["protocolIdentifier"] == 17 && r["fields"]["destinationTransportPort"].as_u64() < Some(4739)
        })
        .collect();
    let mut flows: Vec<(u64, u64, u64, u64)> = records
        .iter()
        .map(|r| {
            let f = &r["fields"];
            let n = |k: &str| f[k].as_u64().unwrap();
            (n("sourceTransportPort"), n("destinationTransportPort"), n("packetTotalCount"), n("octetTotalCount"))
        })
        .collect();
    flows.sort();
    assert_eq!(flows, [(40000, 9, 5, 640), (40001, 10, 3, 144)], "conntrack said:\n{table}");
    // What conntrack itself counted for the same connections.
    assert!(table.contains("sport=40000 dport=9 packets=5 bytes=640"), "{table}");
    assert!(table.contains("sport=40001 dport=10 packets=3 bytes=144"), "{table}");
}
