//! What a running service tells its operator on stderr without `-v`: where it listens, where its
//! API and metrics are, which certificates it made, where it exports to, and on a terminal a
//! status line every few seconds.
//!
//! These are log events of their own target, [`TARGET`], which the default log filter lets
//! through at `info` while everything else waits for `-v`; `--quiet` (or a `RUST_LOG` that does
//! not name the target) turns them off. Going through the log keeps `--log-format json` whole:
//! a program reading the log gets the announcements as JSON lines too.

use std::io::IsTerminal;
use std::time::Duration;

/// The log target of announcements and status lines.
pub const TARGET: &str = "flowctl::announce";

/// How often a service prints its status line on a terminal by default.
pub const STATUS_EVERY: Duration = Duration::from_secs(10);

/// Says something the operator of a service needs to know at start-up (not a warning).
#[macro_export]
macro_rules! announce {
    ($($arg:tt)+) => {
        ::tracing::info!(target: $crate::core::announce::TARGET, $($arg)+)
    };
}

/// Prints `line()` every `every` while it lives, when stderr is a terminal and announcements are
/// on; `every` of zero prints nothing. Dropping it stops the line.
pub struct StatusLine(Option<tokio::task::JoinHandle<()>>);

impl StatusLine {
    /// Must be called inside a Tokio runtime.
    pub fn start(every: Duration, mut line: impl FnMut() -> String + Send + 'static) -> StatusLine {
        let wanted = !every.is_zero()
            && std::io::stderr().is_terminal()
            && tracing::enabled!(target: TARGET, tracing::Level::INFO);
        if !wanted {
            return StatusLine(None);
        }
        StatusLine(Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate; the first status comes one period in.
            tick.tick().await;
            loop {
                tick.tick().await;
                crate::announce!("{}", line());
            }
        })))
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}
