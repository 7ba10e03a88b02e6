//! Receive rate of the UDP transport on loopback. Sender threads push datagrams (1400 bytes by
//! default) with `UdpSender::send_batch` as fast as they can while one thread drives a
//! `UdpReceiver`; at the end it prints datagrams/s received, datagrams per `recvmmsg`, what the
//! kernel dropped, and the receiving thread's CPU time, so the rate per busy core is known even
//! when the senders are the bottleneck. On loopback the kernel delivers in the senders' threads;
//! the receiver's core does the copies out of the socket and the loop. Usage:
//!   cargo run --release --example udp_recv_rate -- [SECONDS] [SENDERS] [SIZE] [BATCH]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flowctl::core::transport::{UdpConfig, UdpListener, UdpSender};

/// CPU seconds (user + system) of the calling thread, from /proc/thread-self/stat.
fn thread_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum();
    ticks as f64 / 100.0
}

fn arg(n: usize, default: usize) -> usize {
    std::env::args().nth(n).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn main() {
    let secs = arg(1, 5) as u64;
    let senders = arg(2, 1);
    let size = arg(3, 1400);
    let batch = arg(4, 64);
    let cfg = UdpConfig { batch, ..UdpConfig::default() };
    let listener = UdpListener::bind("127.0.0.1:0".parse().unwrap(), &cfg).expect("bind");
    let addr = listener.local_addr();
    let mut rx = listener.into_receivers().pop().expect("one receiver");
    let stop = Arc::new(AtomicBool::new(false));

    let sending: Vec<_> = (0..senders)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut tx = UdpSender::bind("127.0.0.1:0".parse().unwrap(), addr, 4 << 20).expect("sender");
                let msg = vec![0xa5u8; size];
                let msgs: Vec<&[u8]> = vec![&msg; 64];
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    sent += tx.send_batch(&msgs).expect("send") as u64;
                }
                sent
            })
        })
        .collect();

    let receiving = std::thread::spawn(move || {
        let (mut datagrams, mut calls, mut bytes) = (0u64, 0u64, 0u64);
        let cpu0 = thread_cpu_secs();
        let start = Instant::now();
        let deadline = start + Duration::from_secs(secs);
        while Instant::now() < deadline {
            let batch = rx.recv(Duration::from_millis(100)).expect("recv");
            if batch.is_empty() {
                continue;
            }
            calls += 1;
            for d in &batch {
                datagrams += 1;
                bytes += d.bytes.len() as u64 + u64::from(d.bytes[0]);
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        (datagrams, calls, bytes, elapsed, thread_cpu_secs() - cpu0, rx.kernel_drops())
    });

    let (datagrams, calls, _, elapsed, cpu, drops) = receiving.join().expect("receiver");
    stop.store(true, Ordering::Relaxed);
    let sent: u64 = sending.into_iter().map(|s| s.join().expect("sender")).sum();
    println!(
        "{size}-byte datagrams, {senders} sender(s), batch {batch}: received {datagrams} in {elapsed:.2}s = {:.0}/s \
         ({:.1} Gbit/s); {:.1} per recvmmsg; receiver thread CPU {cpu:.2}s = {:.0} datagrams per CPU-second; \
         sent {sent}, kernel drops {drops}",
        datagrams as f64 / elapsed,
        datagrams as f64 * size as f64 * 8.0 / elapsed / 1e9,
        datagrams as f64 / calls.max(1) as f64,
        datagrams as f64 / cpu.max(0.01),
    );
}
