//! One client per backend and provider process, opened by its first use. Uses that arrive
//! while it opens wait for that attempt and share its outcome: a burst of first uses (ten
//! resources refreshed at once) resolves the admin credentials once, probes the server
//! once and builds one session budget, instead of one of each per use.

use std::future::Future;
use std::time::Instant;

use tokio::sync::{Mutex, OnceCell};

use super::BackendError;

/// A client opened on first use (see the module text).
pub struct Lazy<C> {
    cell: OnceCell<C>,
    /// Held while an attempt runs; the last failed attempt's error and when it ended.
    gate: Mutex<Option<(Instant, BackendError)>>,
}

impl<C> Default for Lazy<C> {
    fn default() -> Self {
        Lazy {
            cell: OnceCell::new(),
            gate: Mutex::new(None),
        }
    }
}

impl<C> Lazy<C> {
    /// The client, when one is open.
    pub fn get(&self) -> Option<&C> {
        self.cell.get()
    }

    /// The client, opened by `open` unless another use has opened it or is opening it.
    /// A caller that waited on a failed attempt gets that attempt's error (it asked
    /// before the answer came); a caller arriving after a failure tries again.
    pub async fn get_or_open<F, Fut>(&self, open: F) -> Result<&C, BackendError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<C, BackendError>>,
    {
        if let Some(c) = self.cell.get() {
            return Ok(c);
        }
        let asked = Instant::now();
        let mut last = self.gate.lock().await;
        if let Some(c) = self.cell.get() {
            return Ok(c);
        }
        if let Some(e) = shared_failure(last.as_ref(), asked) {
            return Err(e);
        }
        match open().await {
            Ok(client) => Ok(self.cell.get_or_init(|| async { client }).await),
            Err(e) => {
                *last = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }
}

/// The failure a caller that asked at `asked` shares: the last attempt's, when that
/// attempt ended after the caller asked (it waited for it); none when it ended before.
fn shared_failure(last: Option<&(Instant, BackendError)>, asked: Instant) -> Option<BackendError> {
    last.filter(|(ended, _)| *ended >= asked)
        .map(|(_, e)| e.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn failure() -> BackendError {
        BackendError::Secret {
            block: "postgres",
            message: "refused".into(),
        }
    }

    #[test]
    fn a_failure_is_shared_only_with_those_who_asked_before_it_ended() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(5);
        let ended = (t1, failure());
        // (asked, shared?)
        for (asked, shared, why) in [
            (t0, true, "waited for the attempt"),
            (t1, true, "asked as it ended"),
            (
                t1 + Duration::from_millis(1),
                false,
                "came after: tries again",
            ),
        ] {
            assert_eq!(
                shared_failure(Some(&ended), asked).is_some(),
                shared,
                "{why}"
            );
        }
        assert!(shared_failure(None, t0).is_none(), "no attempt yet");
    }

    #[tokio::test]
    async fn a_burst_of_first_uses_opens_once() {
        let lazy = std::sync::Arc::new(Lazy::<usize>::default());
        let opened = std::sync::Arc::new(AtomicUsize::new(0));
        let uses = (0..16).map(|_| {
            let (lazy, opened) = (lazy.clone(), opened.clone());
            tokio::spawn(async move {
                let got = lazy
                    .get_or_open(|| async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(opened.fetch_add(1, Ordering::SeqCst))
                    })
                    .await
                    .copied();
                got.map_err(|e| e.to_string())
            })
        });
        for u in futures_util::future::join_all(uses).await {
            assert_eq!(u.map_err(|e| e.to_string()).and_then(|r| r), Ok(0));
        }
        assert_eq!(opened.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn waiters_share_a_failure_and_a_later_use_tries_again() {
        let lazy = std::sync::Arc::new(Lazy::<usize>::default());
        let tries = std::sync::Arc::new(AtomicUsize::new(0));
        let uses = (0..8).map(|_| {
            let (lazy, tries) = (lazy.clone(), tries.clone());
            tokio::spawn(async move {
                lazy.get_or_open(|| async {
                    tries.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Err::<usize, _>(failure())
                })
                .await
                .is_err()
            })
        });
        for u in futures_util::future::join_all(uses).await {
            assert_eq!(u.ok(), Some(true));
        }
        assert_eq!(tries.load(Ordering::SeqCst), 1, "one attempt for the burst");
        let again = lazy.get_or_open(|| async { Ok(7) }).await.copied();
        assert_eq!(
            again.map_err(|e| e.to_string()),
            Ok(7),
            "a later use tries again"
        );
    }
}
