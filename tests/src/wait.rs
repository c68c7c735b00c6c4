//! Waiting for a condition by polling, with a deadline: never sleep-and-hope.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// How often conditions are polled.
pub const POLL: Duration = Duration::from_millis(5);

/// Polls `check` every few milliseconds until it returns `Some`, or fails after `timeout`
/// with an error naming `what`.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_first_value_found() {
        let mut n = 0;
        let v = wait_until("n to reach 3", Duration::from_secs(1), || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(v.unwrap(), 3);
    }

    #[test]
    fn times_out_with_the_condition_named() {
        let err = wait_until("never", Duration::from_millis(20), || None::<()>).unwrap_err();
        assert!(err.to_string().contains("never"), "{err}");
    }
}
