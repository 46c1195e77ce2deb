//! Time as the login rules see it, injected so that the rules can be tested with a clock the
//! test moves (no sleeping).
#![doc(hidden)]

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

/// 59s, 4m10s, 2h5m, 3d4h, 1h: as duration flags are written.
pub fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (d, h, m, s) = (
        seconds / 86400,
        seconds % 86400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    // Written as the duration flags take them (`1h30m`, humantime's syntax): the two largest
    // units, a zero second unit left out.
    let pair = |big: i64, big_unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => pair(m, "m", s, "s"),
        (0, _, _) => pair(h, "h", m, "m"),
        _ => pair(d, "d", h, "h"),
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

#[cfg(test)]
mod tests {
    #[test]
    fn durations_are_written_as_the_flags_take_them() {
        let written: Vec<String> = [0, 59, 600, 610, 3600, 5400, 90000]
            .into_iter()
            .map(super::human_duration)
            .collect();
        assert_eq!(
            written,
            ["0s", "59s", "10m", "10m10s", "1h", "1h30m", "1d1h"]
        );
    }
}
