//! Sign-in throttling, as pure logic: the caller supplies the time, so tests need no clock and the
//! same limiter serves every `AuthProvider`.
//!
//! Failures are counted per account *and* per client address in a fixed window. An account that
//! does not exist is counted like one that does, so the limiter never reveals which emails have
//! accounts.

use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub window_secs: u64,
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    /// Bounds memory when an attacker sprays random emails: beyond this many tracked keys the
    /// oldest windows are dropped first.
    pub max_tracked_keys: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            window_secs: 15 * 60,
            max_failures_per_account: 5,
            max_failures_per_address: 30,
            max_tracked_keys: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started_at: u64,
    failures: u32,
}

#[derive(Debug, Default)]
pub struct SignInLimiter {
    policy: Policy,
    windows: HashMap<Key, Window>,
}

impl SignInLimiter {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            windows: HashMap::new(),
        }
    }

    /// `Err(seconds)` to wait when either the account or the address is locked out.
    pub fn check(&self, account: &str, address: Option<IpAddr>, now: u64) -> Result<(), u64> {
        let account_wait = self.wait(
            &Key::Account(account.to_owned()),
            self.policy.max_failures_per_account,
            now,
        );
        let address_wait = address.map_or(0, |a| {
            self.wait(&Key::Address(a), self.policy.max_failures_per_address, now)
        });
        match account_wait.max(address_wait) {
            0 => Ok(()),
            secs => Err(secs),
        }
    }

    pub fn record_failure(&mut self, account: &str, address: Option<IpAddr>, now: u64) {
        self.bump(Key::Account(account.to_owned()), now);
        if let Some(a) = address {
            self.bump(Key::Address(a), now);
        }
    }

    /// Checks and counts an attempt in one step: `Err(seconds)` to wait when locked out,
    /// otherwise the attempt counts as a failure until [`Self::record_success`] or
    /// [`Self::refund`] says otherwise. A check before an awaited password check and a count
    /// after it let parallel attempts all pass the check: fifty guesses sent at once all ran.
    ///
    /// `Ok` carries how many failures the account or the address (whichever has more) already
    /// had in their windows: a first attempt is 0, one after failures is suspect.
    pub fn reserve(
        &mut self,
        account: &str,
        address: Option<IpAddr>,
        now: u64,
    ) -> Result<u32, u64> {
        self.check(account, address, now)?;
        let failures = |key: &Key| {
            self.windows
                .get(key)
                .filter(|w| w.started_at + self.policy.window_secs > now)
                .map_or(0, |w| w.failures)
        };
        let before = failures(&Key::Account(account.to_owned()))
            .max(address.map_or(0, |a| failures(&Key::Address(a))));
        self.record_failure(account, address, now);
        Ok(before)
    }

    /// Takes back a reserved attempt that turned out not to be a failure (the service could not
    /// answer, say).
    pub fn refund(&mut self, account: &str, address: Option<IpAddr>) {
        self.unbump(&Key::Account(account.to_owned()));
        if let Some(a) = address {
            self.unbump(&Key::Address(a));
        }
    }

    /// A successful sign-in clears the account's count and takes back the address's reserved
    /// attempt (but not the address's earlier failures: one right password must not reset a
    /// spray across many accounts).
    pub fn record_success(&mut self, account: &str, address: Option<IpAddr>) {
        self.windows.remove(&Key::Account(account.to_owned()));
        if let Some(a) = address {
            self.unbump(&Key::Address(a));
        }
    }

    fn unbump(&mut self, key: &Key) {
        if let Some(w) = self.windows.get_mut(key) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    fn wait(&self, key: &Key, max: u32, now: u64) -> u64 {
        match self.windows.get(key) {
            Some(w) if w.failures >= max => {
                (w.started_at + self.policy.window_secs).saturating_sub(now)
            }
            _ => 0,
        }
    }

    fn bump(&mut self, key: Key, now: u64) {
        let window_secs = self.policy.window_secs;
        if self.windows.len() >= self.policy.max_tracked_keys {
            self.windows.retain(|_, w| w.started_at + window_secs > now);
            if self.windows.len() >= self.policy.max_tracked_keys {
                // Still full of live windows: drop the oldest half rather than grow without bound.
                let mut starts: Vec<u64> = self.windows.values().map(|w| w.started_at).collect();
                starts.sort_unstable();
                let cutoff = starts[starts.len() / 2];
                self.windows.retain(|_, w| w.started_at > cutoff);
            }
        }
        let w = self.windows.entry(key).or_insert(Window {
            started_at: now,
            failures: 0,
        });
        if w.started_at + window_secs <= now {
            *w = Window {
                started_at: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn locks_an_account_after_its_failures_and_releases_after_the_window() {
        let mut l = SignInLimiter::new(Policy::default());
        for t in 0..5 {
            assert_eq!(l.check("a@x.com", Some(ip(1)), t), Ok(()));
            l.record_failure("a@x.com", Some(ip(1)), t);
        }
        assert_eq!(
            l.check("a@x.com", Some(ip(2)), 10),
            Err(900 - 10),
            "locked from any address"
        );
        assert_eq!(
            l.check("b@x.com", Some(ip(1)), 10),
            Ok(()),
            "other accounts unaffected"
        );
        assert_eq!(l.check("a@x.com", Some(ip(1)), 900), Ok(()), "window over");
    }

    #[test]
    fn locks_an_address_spraying_many_accounts() {
        let policy = Policy {
            max_failures_per_address: 3,
            ..Policy::default()
        };
        let mut l = SignInLimiter::new(policy);
        for (i, who) in ["a", "b", "c"].iter().enumerate() {
            l.record_failure(who, Some(ip(9)), i as u64);
        }
        assert!(l.check("d", Some(ip(9)), 5).is_err());
        assert!(l.check("d", Some(ip(8)), 5).is_ok());
        l.record_success("d", None);
        assert!(
            l.check("d", Some(ip(9)), 5).is_err(),
            "success does not clear the address"
        );
    }

    #[test]
    fn reservations_count_before_the_answer_and_are_taken_back_when_not_failures() {
        let mut l = SignInLimiter::new(Policy::default());
        // Five attempts in flight at once (none answered yet) use up the account's budget.
        for n in 0..5 {
            assert_eq!(
                l.reserve("a@x.com", Some(ip(1)), 0),
                Ok(n),
                "failures before"
            );
        }
        assert_eq!(l.reserve("a@x.com", Some(ip(2)), 1), Err(899));
        // One of them was the right password: the account is free again; the address keeps
        // the other four.
        l.record_success("a@x.com", Some(ip(1)));
        assert_eq!(
            l.reserve("a@x.com", Some(ip(1)), 2),
            Ok(4),
            "the address's four remain"
        );
        l.refund("a@x.com", Some(ip(1)));
        assert_eq!(l.windows[&Key::Address(ip(1))].failures, 4);
        assert_eq!(
            l.windows
                .get(&Key::Account("a@x.com".into()))
                .map(|w| w.failures),
            Some(0)
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let policy = Policy {
            max_tracked_keys: 100,
            ..Policy::default()
        };
        let mut l = SignInLimiter::new(policy);
        for i in 0..10_000u64 {
            l.record_failure(&format!("user{i}"), None, i);
        }
        assert!(l.windows.len() <= 100);
    }
}
