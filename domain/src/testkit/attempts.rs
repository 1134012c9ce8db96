//! The attempt counters' suite: what the sign-in and public-form limiters rely on from any
//! `AttemptStore`, with two handles on one store standing for two server instances.

use std::net::IpAddr;
use std::sync::Arc;

use crate::ratelimit::{AttemptStore, Limiter, Policy, Reservation};

fn counted(n: u32) -> Reservation {
    Reservation::Counted { failures_before: n }
}

/// `first` and `second` must be two handles (two clients, two connection pools) on one empty
/// store.
pub async fn attempt_store(first: Arc<dyn AttemptStore>, second: Arc<dyn AttemptStore>) {
    let policy = Policy::default();
    let (a, b) = (
        Limiter::new(first.clone(), policy, "signin"),
        Limiter::new(second, policy, "signin"),
    );
    let ip = |last: u8| Some(IpAddr::from([192, 0, 2, last]));
    let now = 1_000_000;

    // Counted on one instance, seen by the other.
    for n in 0..3 {
        assert_eq!(
            a.reserve("one@x.com", ip(1), now).await.expect("store"),
            counted(n)
        );
    }
    for n in 3..5 {
        assert_eq!(
            b.reserve("one@x.com", ip(2), now).await.expect("store"),
            counted(n)
        );
    }
    assert_eq!(
        a.reserve("one@x.com", ip(3), now + 10)
            .await
            .expect("store"),
        Reservation::Wait(policy.window_secs - 10),
        "the fifth failure on the other instance locks the account here"
    );

    // A success on one instance frees the account on both; the address keeps its failures.
    b.record_success("one@x.com", ip(1), now + 20)
        .await
        .expect("store");
    assert_eq!(
        a.reserve("one@x.com", ip(1), now + 21)
            .await
            .expect("store"),
        counted(2),
        "ip 1's two earlier failures remain (its third was the success)"
    );
    a.refund("one@x.com", ip(1), now + 22).await.expect("store");
    assert_eq!(
        b.reserve("one@x.com", ip(1), now + 23)
            .await
            .expect("store"),
        counted(2)
    );

    // The window ends: the account starts afresh.
    for _ in 0..5 {
        let _ = a.reserve("two@x.com", None, now).await.expect("store");
    }
    assert!(matches!(
        b.reserve("two@x.com", None, now + 1).await.expect("store"),
        Reservation::Wait(_)
    ));
    assert_eq!(
        b.reserve("two@x.com", None, now + policy.window_secs)
            .await
            .expect("store"),
        counted(0)
    );

    // Twenty guesses at once, half through each instance: exactly five are let through.
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let l = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            l.reserve("three@x.com", ip(100 + i), now).await
        }));
    }
    let mut through = 0;
    for t in tasks {
        if let Reservation::Counted { .. } = t.await.expect("task").expect("store") {
            through += 1;
        }
    }
    assert_eq!(through, 5, "twenty guesses at once on two instances");

    // Another namespace on the same store counts apart.
    let public = Limiter::new(first, policy, "public");
    assert_eq!(
        public
            .reserve("three@x.com", ip(100), now)
            .await
            .expect("store"),
        counted(0)
    );
}
