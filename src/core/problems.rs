//! Logging problems with bad input without flooding the log: every problem is counted, but
//! only a few of each cause are written at their level, the rest at debug level.
//!
//! Damage (a malformed message, a corrupt block, a cut TCP stream) is a warning; things handled
//! by the rules (an ignored UDP withdrawal, non-zero padding, data whose template never came) are
//! notes, shown with `-v`. A batch run (decode) writes the first few of each cause and a count
//! at the end; a long-running one (collect) writes at most one line per cause per interval, with
//! how many it held back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

/// How many of each cause are written.
#[derive(Clone, Copy, Debug)]
pub enum Policy {
    /// The first `n` of each cause.
    First(u64),
    /// One per cause per interval.
    Every(Duration),
}

struct Cause {
    count: u64,
    damage: bool,
    /// Held back since the last line written (Every).
    held: u64,
    last: Option<Instant>,
}

pub struct ProblemLog {
    policy: Policy,
    causes: HashMap<&'static str, Cause>,
}

impl ProblemLog {
    pub fn new(policy: Policy) -> Self {
        ProblemLog { policy, causes: HashMap::new() }
    }

    /// Counts one problem of `cause`, and writes `message` if the policy lets it through.
    pub fn report(&mut self, cause: &'static str, damage: bool, message: impl FnOnce() -> String) {
        let c = self.causes.entry(cause).or_insert(Cause { count: 0, damage, held: 0, last: None });
        c.count += 1;
        let write = match self.policy {
            Policy::First(n) => c.count <= n,
            Policy::Every(interval) => c.last.is_none_or(|t| t.elapsed() >= interval),
        };
        if !write {
            c.held += 1;
            debug!("{}", message());
            return;
        }
        let held = std::mem::take(&mut c.held);
        c.last = Some(Instant::now());
        let text =
            if held > 0 { format!("{} ({held} more of these since the last one)", message()) } else { message() };
        if damage {
            warn!("{text}");
        } else {
            info!("{text}");
        }
    }

    /// How many problems of each cause, for summaries.
    pub fn counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.causes.iter().map(|(k, c)| (*k, c.count))
    }

    /// Says how many were not written (the batch policy's closing words).
    pub fn summarize(&self) {
        let Policy::First(n) = self.policy else { return };
        let mut causes: Vec<_> = self.causes.iter().filter(|(_, c)| c.count > n).collect();
        causes.sort_by_key(|(k, _)| *k);
        for (cause, c) in causes {
            let more = c.count - n;
            if c.damage {
                warn!("{more} more {cause} problems not shown (-vv shows them all)");
            } else {
                info!("{more} more {cause} notes not shown (-vv shows them all)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_everything_and_writes_within_the_policy() {
        let mut log = ProblemLog::new(Policy::First(2));
        for _ in 0..5 {
            log.report("bad-set-length", true, || String::from("x"));
        }
        assert_eq!(log.counts().collect::<Vec<_>>(), [("bad-set-length", 5)]);
        let mut live = ProblemLog::new(Policy::Every(Duration::from_secs(3600)));
        live.report("tcp-cut", true, String::new);
        live.report("tcp-cut", true, String::new);
        assert_eq!(live.causes["tcp-cut"].held, 1);
    }
}
