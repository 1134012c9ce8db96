//! Password hashing with Argon2id (OWASP's parameters: 19 MiB, 2 passes, 1 lane), always on the
//! blocking pool so a burst of sign-ins cannot stall the async workers, and never more at once
//! than the machine has cores: each costs 19 MiB, and the blocking pool would otherwise run 512
//! of them side by side (10 GB) under a flood of sign-ins.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// One permit per core: more at once would only queue for the CPU while holding memory.
fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
    })
}

/// Runs one Argon2 computation on the blocking pool once a permit is free.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let _permit = permits().acquire().await?;
    #[cfg(test)]
    let work = tests::counted(work);
    tokio::task::spawn_blocking(work).await?
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await
}

/// [`verify`] for an attempt after failures (on its account, or from its address): these pass
/// one at a time through a gate before taking a core's permit, so however many guesses queue up
/// they hold at most one permit, and a user's own sign-in waits for at most one of them.
pub async fn verify_suspect(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    static GATE: OnceLock<Semaphore> = OnceLock::new();
    let _turn = GATE.get_or_init(|| Semaphore::new(1)).acquire().await?;
    verify(password, stored).await
}

/// Checks `password` against a stored hash. With `None` it checks against a fixed dummy hash, so
/// an unknown account costs exactly as much time as a wrong password.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let is_real = stored.is_some();
    let stored = match stored {
        Some(s) => s,
        None => dummy_hash().to_owned(),
    };
    let matches = bounded(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
        Ok(argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await?;
    Ok(matches && is_real)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"no account has this password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Computes the dummy hash ahead of the first sign-in (which would otherwise pay for it twice and
/// so be measurably slower for an unknown account).
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static MOST: AtomicUsize = AtomicUsize::new(0);

    /// `work`, counting how many run at once.
    pub(super) fn counted<T>(
        work: impl FnOnce() -> anyhow::Result<T>,
    ) -> impl FnOnce() -> anyhow::Result<T> {
        move || {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            MOST.fetch_max(now, Ordering::SeqCst);
            let out = work();
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            out
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_clean_check_passes_a_queue_of_suspect_ones() {
        let stored = hash("a long enough passphrase".into()).await.expect("hash");
        let done = std::sync::Arc::new(AtomicUsize::new(0));
        let mut suspects = Vec::new();
        for _ in 0..12 {
            let (stored, done) = (stored.clone(), done.clone());
            suspects.push(tokio::spawn(async move {
                verify_suspect("a guess".into(), Some(stored))
                    .await
                    .expect("verify");
                done.fetch_add(1, Ordering::SeqCst)
            }));
        }
        // Let the guesses queue up, then the user's own attempt.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(verify("a long enough passphrase".into(), Some(stored))
            .await
            .expect("verify"));
        let before_mine = done.load(Ordering::SeqCst);
        for s in suspects {
            s.await.expect("join");
        }
        // Without the gate it would finish behind most of the twelve (two at a time).
        assert!(
            before_mine <= 3,
            "{before_mine} of 12 queued guesses were checked before the user's own attempt"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_flood_of_checks_never_runs_more_than_one_per_core() {
        let stored = hash("a long enough passphrase".into()).await.expect("hash");
        let checks: Vec<_> = (0..24)
            .map(|_| tokio::spawn(verify("a guess".into(), Some(stored.clone()))))
            .collect();
        for check in checks {
            assert!(!check.await.expect("join").expect("verify"));
        }
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let most = MOST.load(Ordering::SeqCst);
        assert!(most <= cores, "{most} Argon2 runs at once on {cores} cores");
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let h = hash("correct horse battery".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery".into(), Some(h.clone()))
            .await
            .expect("verify"));
        assert!(!verify("wrong".into(), Some(h)).await.expect("verify"));
        assert!(!verify("no account has this password".into(), None)
            .await
            .expect("verify"));
    }
}
