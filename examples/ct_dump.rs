//! The conntrack source from the command line, in the current network namespace: what the
//! netns tests compare with `conntrack -L`, and what bench/conntrack.sh times.
//!
//!   ct_dump [--zone Z]... [--count]   one dump: a JSON line per entry, or only the stats
//!   ct_dump --events SECONDS          events as JSON lines for that long
//!   ct_dump --create N                N UDP entries 10.x.y.z:port -> 172.16.0.1:53, for benchmarks
//!
//! Stats (entries, restarts, seconds, peak RSS) go to stderr as one JSON line.

use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use flowctl::core::conntrack::{
    Connection, Conntrack, Counters, DEFAULT_RCVBUF, Event, EventKind, EventSocket, Status, Tuple, enable_accounting,
};
use serde_json::{Value, json};

fn tuple_json(t: &Tuple) -> Value {
    json!({
        "src": t.src.to_string(), "dst": t.dst.to_string(), "proto": t.proto,
        "sport": t.src_port, "dport": t.dst_port,
        "icmp_id": t.icmp_id, "icmp_type": t.icmp_type, "icmp_code": t.icmp_code, "zone": t.zone,
    })
}

fn counters_json(c: &Counters) -> Value {
    json!({ "packets": c.packets, "bytes": c.bytes })
}

fn conn_json(c: &Connection) -> Value {
    let labels: String = c.labels.iter().map(|b| format!("{b:02x}")).collect();
    json!({
        "id": c.id, "family": c.family, "orig": tuple_json(&c.orig), "reply": tuple_json(&c.reply),
        "orig_counters": counters_json(&c.orig_counters), "reply_counters": counters_json(&c.reply_counters),
        "start_ns": c.start_ns, "stop_ns": c.stop_ns, "status": c.status.0, "timeout": c.timeout,
        "zone": c.zone_id(), "mark": c.mark, "labels": labels, "use": c.use_count,
        "tcp_state": c.tcp_state.map(|s| s.name()),
    })
}

/// Peak resident set size of this process, in KiB (VmHWM).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("ct_dump: {e}");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut zones = Vec::new();
    let mut count_only = false;
    let mut events = None;
    let mut create = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| fail(format!("{a} N")));
        match a.as_str() {
            "--zone" => zones.push(u16::try_from(value()).unwrap_or_else(|_| fail("a zone is 0-65535"))),
            "--count" => count_only = true,
            "--events" => events = Some(value()),
            "--create" => create = Some(value()),
            _ => fail(format!("unknown argument {a}")),
        }
    }
    if let Err(e) = enable_accounting() {
        eprintln!("ct_dump: warning: {e}");
    }
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if let Some(n) = create {
        let mut ct = Conntrack::open(DEFAULT_RCVBUF).unwrap_or_else(|e| fail(e));
        let entries: Vec<Connection> = (0..n as u32).map(udp_entry).collect();
        let created = ct.create(&entries).unwrap_or_else(|e| fail(e));
        eprintln!("{}", json!({ "created": created, "seconds": started.elapsed().as_secs_f64() }));
    } else if let Some(secs) = events {
        let mut sock = EventSocket::subscribe(&EventKind::ALL, DEFAULT_RCVBUF).unwrap_or_else(|e| fail(e));
        sock.set_timeout(Some(Duration::from_millis(100))).unwrap_or_else(|e| fail(e));
        // Tells a test the subscription is in place before it makes traffic.
        eprintln!("{}", json!({ "subscribed": true }));
        while started.elapsed() < Duration::from_secs(secs) {
            match sock.recv().unwrap_or_else(|e| fail(e)) {
                Some(Event::Conn(kind, c)) => {
                    let mut v = conn_json(&c);
                    v["event"] = format!("{kind:?}").to_lowercase().into();
                    writeln!(out, "{v}").unwrap_or_else(|e| fail(e));
                    out.flush().unwrap_or_else(|e| fail(e));
                }
                Some(Event::Overflow) => eprintln!("ct_dump: events overflowed; a dump would resync"),
                Some(Event::Malformed(e)) => eprintln!("ct_dump: {e}"),
                None => {}
            }
        }
        let s = sock.stats();
        eprintln!("{}", json!({ "events": s.events, "overflows": s.overflows, "malformed": s.malformed }));
    } else {
        let mut ct = Conntrack::open(DEFAULT_RCVBUF).unwrap_or_else(|e| fail(e));
        let mut write_error = None;
        let stats = ct
            .dump(&zones, |c| {
                if !count_only && write_error.is_none() {
                    write_error = writeln!(out, "{}", conn_json(c)).err();
                }
            })
            .unwrap_or_else(|e| fail(e));
        if let Some(e) = write_error {
            fail(e);
        }
        out.flush().unwrap_or_else(|e| fail(e));
        eprintln!(
            "{}",
            json!({
                "entries": stats.entries, "delivered": stats.delivered, "filtered_out": stats.filtered_out,
                "malformed": stats.malformed, "first_error": stats.first_error.map(|e| e.to_string()),
                "interrupted_restarts": stats.interrupted_restarts, "enobufs_restarts": stats.enobufs_restarts,
                "seconds": started.elapsed().as_secs_f64(), "peak_rss_kib": peak_rss_kib(),
            })
        );
    }
}

/// The i-th of a set of distinct UDP entries, as `conntrack -I` would make them.
fn udp_entry(i: u32) -> Connection {
    let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i >> 8)));
    let server = IpAddr::V4(Ipv4Addr::new(172, 16, 0, 1));
    let port = 1024 + (i & 0xff) as u16;
    Connection {
        family: 2,
        orig: Tuple { src: client, dst: server, proto: 17, src_port: port, dst_port: 53, ..Tuple::default() },
        reply: Tuple { src: server, dst: client, proto: 17, src_port: 53, dst_port: port, ..Tuple::default() },
        timeout: 3600,
        status: Status(Status::SEEN_REPLY),
        ..Connection::default()
    }
}
