//! What every command that runs a service (or waits on the network) shares: its async runtime
//! and the future that says when to stop.

use std::time::Duration;

use anyhow::Context;
use tokio::runtime::Runtime;

/// One worker thread per core, at most `max`.
pub fn workers_per_core(max: usize) -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, max.max(1))
}

/// A runtime with `workers` worker threads, for a service.
pub fn multi_thread(workers: usize) -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A runtime on the calling thread, for a command that waits on one thing at a time.
pub fn current_thread() -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}

/// Completes on Ctrl-C, SIGTERM, or after `duration`.
pub async fn shutdown_signal(duration: Option<Duration>) {
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let sigterm = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sigterm => {}
        _ = timer => {}
    }
}
