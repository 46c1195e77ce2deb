//! Time as the login rules see it, injected so that the rules can be tested with a clock the
//! test moves (no sleeping).

use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        unix_now()
    }
}

/// Seconds since the epoch by the system's clock (0 before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A clock that moves only when told: for tests of expiry and refresh rules.
#[derive(Debug, Default)]
pub struct FakeClock(AtomicI64);

impl FakeClock {
    pub fn at(now: i64) -> FakeClock {
        FakeClock(AtomicI64::new(now))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// 59s, 4m 10s, 2h 5m, 3d 4h.
pub fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (d, h, m, s) = (
        seconds / 86400,
        seconds % 86400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// "in 59m", "3m ago", seen from `now`.
pub fn relative(at: i64, now: i64) -> String {
    let delta = at.saturating_sub(now);
    if delta >= 0 {
        format!("in {}", human_duration(delta))
    } else {
        format!("{} ago", human_duration(delta.saturating_neg()))
    }
}

/// "expires in 59m", "expired 3m ago", "has no stated expiry".
pub fn expiry_phrase(expires_at: Option<i64>, now: i64) -> String {
    match expires_at {
        Some(at) if at > now => format!("expires {}", relative(at, now)),
        Some(at) => format!("expired {}", relative(at, now)),
        None => "has no stated expiry".into(),
    }
}
