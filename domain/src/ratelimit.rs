//! Throttling of sign-ins, password changes and public forms: the rules here, pure (the caller
//! passes the time), the counters behind the [`AttemptStore`] port, so that every instance of
//! the server counts in the same place (SQLite on one machine, DynamoDB in the cloud): an
//! attacker spreading guesses over instances gets no more of them than against one.
//!
//! Failures are counted per account *and* per client address in a fixed window. An account that
//! does not exist is counted like one that does, so the limiter never reveals which emails have
//! accounts. An attempt is counted *before* the password is checked ([`Limiter::reserve`]) and
//! given back when it was not a failure: a check before an awaited password check and a count
//! after it let parallel attempts all pass — fifty guesses sent at once all ran.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::StoreError;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub window_secs: u64,
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    /// Bounds the in-memory store when an attacker sprays random emails: beyond this many keys
    /// the oldest windows are dropped first. (The shared stores expire windows instead.)
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

/// Failures counted under one key since `started_at` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub started_at: u64,
    pub failures: u32,
}

/// The new windows for some keys, given their current ones (`None`: no window; a `None` back
/// removes the key). Pure, and may be called more than once (a store that retries on a
/// conflicting write asks again with what it then reads).
pub type Decide<'a> = dyn Fn(&[Option<Window>]) -> Vec<Option<Window>> + Send + Sync + 'a;

/// Where the counters live.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Reads the windows of `keys`, stores what `decide` makes of them, and returns the windows
    /// it read — atomically with respect to every other `update` of any of those keys, from any
    /// instance. A window whose time is up may be stored or dropped; `expires_at` (Unix
    /// seconds, for each key) says when the store may forget it.
    async fn update(
        &self,
        keys: &[String],
        expires_at: u64,
        decide: &Decide<'_>,
    ) -> Result<Vec<Option<Window>>, StoreError>;
}

/// One limiter over a store: `namespace` keeps limiters that share a store apart (sign-in
/// failures and public-form posts are counted separately, so a flood of waitlist posts never
/// locks an address out of signing in).
#[derive(Clone)]
pub struct Limiter {
    store: Arc<dyn AttemptStore>,
    policy: Policy,
    namespace: &'static str,
}

/// What [`Limiter::reserve`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted; the failures the account or the address (whichever had more) already had in
    /// their windows: a first attempt is 0, one after failures is suspect.
    Counted { failures_before: u32 },
    /// Locked out: nothing was counted; retry after this many seconds.
    Wait(u64),
}

impl Limiter {
    pub fn new(store: Arc<dyn AttemptStore>, policy: Policy, namespace: &'static str) -> Self {
        Self {
            store,
            policy,
            namespace,
        }
    }

    fn keys(&self, account: &str, address: Option<IpAddr>) -> Vec<String> {
        let mut keys = vec![format!("{}:account:{account}", self.namespace)];
        if let Some(a) = address {
            keys.push(format!("{}:address:{a}", self.namespace));
        }
        keys
    }

    /// A live window's failures (0 when its time is up).
    fn live(&self, w: Option<Window>, now: u64) -> u32 {
        w.filter(|w| w.started_at + self.policy.window_secs > now)
            .map_or(0, |w| w.failures)
    }

    /// Seconds until the longest lockout among `windows` ends (0: none). The first window is
    /// the account's, the second the address's.
    fn wait(&self, windows: &[Option<Window>], now: u64) -> u64 {
        windows
            .iter()
            .zip([
                self.policy.max_failures_per_account,
                self.policy.max_failures_per_address,
            ])
            .filter_map(|(w, max)| {
                let w = (*w)?;
                (self.live(Some(w), now) >= max)
                    .then(|| (w.started_at + self.policy.window_secs).saturating_sub(now))
            })
            .max()
            .unwrap_or(0)
    }

    /// Checks and counts an attempt in one step: [`Reservation::Wait`] when the account or the
    /// address is locked out; otherwise the attempt counts as a failure until
    /// [`Self::record_success`] or [`Self::refund`] says otherwise.
    pub async fn reserve(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: u64,
    ) -> Result<Reservation, StoreError> {
        let decide = |windows: &[Option<Window>]| {
            if self.wait(windows, now) > 0 {
                return windows.to_vec();
            }
            windows
                .iter()
                .map(|w| {
                    let open = w.filter(|w| w.started_at + self.policy.window_secs > now);
                    Some(match open {
                        Some(w) => Window {
                            failures: w.failures.saturating_add(1),
                            ..w
                        },
                        None => Window {
                            started_at: now,
                            failures: 1,
                        },
                    })
                })
                .collect()
        };
        let before = self.apply(account, address, now, &decide).await?;
        Ok(match self.wait(&before, now) {
            0 => Reservation::Counted {
                failures_before: before.iter().map(|w| self.live(*w, now)).max().unwrap_or(0),
            },
            secs => Reservation::Wait(secs),
        })
    }

    /// Takes back a reserved attempt that turned out not to be a failure (the service could not
    /// answer, say).
    pub async fn refund(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: u64,
    ) -> Result<(), StoreError> {
        let decide = |windows: &[Option<Window>]| windows.iter().map(|w| less_one(*w)).collect();
        self.apply(account, address, now, &decide).await.map(|_| ())
    }

    /// A successful sign-in clears the account's count and takes back the address's reserved
    /// attempt (but not the address's earlier failures: one right password must not reset a
    /// spray across many accounts).
    pub async fn record_success(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: u64,
    ) -> Result<(), StoreError> {
        let decide = |windows: &[Option<Window>]| {
            windows
                .iter()
                .enumerate()
                .map(|(i, w)| if i == 0 { None } else { less_one(*w) })
                .collect()
        };
        self.apply(account, address, now, &decide).await.map(|_| ())
    }

    /// One update of the account's and the address's windows; the windows as they were.
    async fn apply(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: u64,
        decide: &Decide<'_>,
    ) -> Result<Vec<Option<Window>>, StoreError> {
        self.store
            .update(
                &self.keys(account, address),
                now + self.policy.window_secs,
                decide,
            )
            .await
    }
}

fn less_one(w: Option<Window>) -> Option<Window> {
    w.map(|w| Window {
        failures: w.failures.saturating_sub(1),
        ..w
    })
}

/// The counters in this process's memory: for tests, and for a server whose store is not
/// shared anyway. Bounded by [`Policy::max_tracked_keys`].
pub struct MemoryAttempts {
    max_keys: usize,
    windows: Mutex<std::collections::HashMap<String, (Window, u64)>>,
}

impl MemoryAttempts {
    pub fn new(max_keys: usize) -> Self {
        Self {
            max_keys,
            windows: Mutex::default(),
        }
    }

    /// Keys held (to test the bound).
    pub fn len(&self) -> usize {
        self.windows.lock().map_or(0, |w| w.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl AttemptStore for MemoryAttempts {
    async fn update(
        &self,
        keys: &[String],
        expires_at: u64,
        decide: &Decide<'_>,
    ) -> Result<Vec<Option<Window>>, StoreError> {
        let mut map = self
            .windows
            .lock()
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let before: Vec<Option<Window>> = keys.iter().map(|k| map.get(k).map(|e| e.0)).collect();
        let after = decide(&before);
        for (key, w) in keys.iter().zip(after) {
            match w {
                Some(w) => {
                    map.insert(key.clone(), (w, expires_at));
                }
                None => {
                    map.remove(key);
                }
            }
        }
        if map.len() > self.max_keys {
            // The windows that expire first go first: drop the older half rather than grow
            // without bound (a spray of random emails).
            let mut ends: Vec<u64> = map.values().map(|e| e.1).collect();
            ends.sort_unstable();
            let cutoff = ends[ends.len() / 2];
            map.retain(|_, e| e.1 > cutoff);
        }
        Ok(before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn limiter(policy: Policy) -> (Limiter, Arc<MemoryAttempts>) {
        let store = Arc::new(MemoryAttempts::new(policy.max_tracked_keys));
        (Limiter::new(store.clone(), policy, "signin"), store)
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        // The memory store never awaits: one poll finishes any of these futures.
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the memory store does not wait"),
        }
    }

    #[allow(clippy::unnecessary_wraps)] // compared with what `reserve` returns
    fn counted(n: u32) -> Result<Reservation, StoreError> {
        Ok(Reservation::Counted { failures_before: n })
    }

    #[test]
    fn locks_an_account_after_its_failures_and_releases_after_the_window() {
        let (l, _) = limiter(Policy::default());
        for t in 0..5 {
            assert_eq!(
                block_on(l.reserve("a@x.com", Some(ip(1)), t)),
                counted(u32::try_from(t).unwrap_or(0))
            );
        }
        assert_eq!(
            block_on(l.reserve("a@x.com", Some(ip(2)), 10)),
            Ok(Reservation::Wait(900 - 10)),
            "locked from any address"
        );
        assert_eq!(
            block_on(l.reserve("b@x.com", Some(ip(1)), 10)),
            counted(5),
            "other accounts unaffected (the address's five count as before)"
        );
        assert_eq!(
            block_on(l.reserve("a@x.com", Some(ip(3)), 900)),
            counted(0),
            "window over"
        );
    }

    #[test]
    fn locks_an_address_spraying_many_accounts() {
        let (l, _) = limiter(Policy {
            max_failures_per_address: 3,
            ..Policy::default()
        });
        for (t, who) in ["a", "b", "c"].iter().enumerate() {
            assert!(block_on(l.reserve(who, Some(ip(9)), t as u64)).is_ok());
        }
        assert!(matches!(
            block_on(l.reserve("d", Some(ip(9)), 5)),
            Ok(Reservation::Wait(_))
        ));
        assert_eq!(block_on(l.reserve("d", Some(ip(8)), 5)), counted(0));
        block_on(l.record_success("d", None, 5)).unwrap_or(());
        assert!(
            matches!(
                block_on(l.reserve("d", Some(ip(9)), 5)),
                Ok(Reservation::Wait(_))
            ),
            "success does not clear the address"
        );
    }

    #[test]
    fn reservations_count_before_the_answer_and_are_taken_back_when_not_failures() {
        let (l, _) = limiter(Policy::default());
        // Five attempts in flight at once (none answered yet) use up the account's budget.
        for n in 0..5 {
            assert_eq!(block_on(l.reserve("a@x.com", Some(ip(1)), 0)), counted(n));
        }
        assert_eq!(
            block_on(l.reserve("a@x.com", Some(ip(2)), 1)),
            Ok(Reservation::Wait(899))
        );
        // One of them was the right password: the account is free again; the address keeps
        // the other four.
        block_on(l.record_success("a@x.com", Some(ip(1)), 2)).unwrap_or(());
        assert_eq!(
            block_on(l.reserve("a@x.com", Some(ip(1)), 2)),
            counted(4),
            "the address's four remain"
        );
        block_on(l.refund("a@x.com", Some(ip(1)), 2)).unwrap_or(());
        assert_eq!(
            block_on(l.reserve("a@x.com", Some(ip(1)), 3)),
            counted(4),
            "the refund took the fifth back"
        );
    }

    #[test]
    fn limiters_on_one_store_count_apart() {
        let store = Arc::new(MemoryAttempts::new(1000));
        let policy = Policy {
            max_failures_per_address: 2,
            ..Policy::default()
        };
        let public = Limiter::new(store.clone(), policy, "public");
        let signin = Limiter::new(store, policy, "signin");
        for who in ["a", "b", "c"] {
            let _ = block_on(public.reserve(who, Some(ip(1)), 0));
        }
        assert_eq!(block_on(signin.reserve("a", Some(ip(1)), 0)), counted(0));
    }

    #[test]
    fn memory_stays_bounded() {
        let (l, store) = limiter(Policy {
            max_tracked_keys: 100,
            ..Policy::default()
        });
        for i in 0..10_000u64 {
            let _ = block_on(l.reserve(&format!("user{i}"), None, i));
        }
        assert!(store.len() <= 100, "{}", store.len());
    }
}
