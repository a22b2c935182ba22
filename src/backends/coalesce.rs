//! Reads shared by concurrent callers (issue 23): many resources of one process asking the
//! same question at once (the Vault connection of 400 rotation roles, its database's
//! facts) send it once; the callers that arrive while it is on its way wait and take the
//! answer of the next one.
//!
//! An answer is never older than the call that takes it, beyond a window the owner
//! chooses: with [`Freshness::Strict`] only a read *started after* the caller asked is
//! shared, so a caller sees exactly what it would have seen reading alone (any write that
//! ended before it asked); with [`Freshness::Within`] a read started at most that long
//! before the ask is shared too. [`Coalesced::invalidate`] (a write of this process that
//! changes the answer) makes every earlier read unusable. Failed reads are never shared:
//! each waiting caller then reads for itself, so errors keep their own text and context.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::backends::postgres::{DatabaseFacts, RoleFacts};

/// How old a shared answer may be when a caller takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Only a read started after the caller asked.
    Strict,
    /// Also a read started at most this long before the caller asked.
    Within(Duration),
}

/// One stored answer: which read gave it, when that read started, under which generation.
#[derive(Debug, Clone)]
struct Answer<V> {
    seq: u64,
    started: Instant,
    generation: u64,
    value: V,
}

/// The answer a caller that asked when `asked` (reads started so far, the time, the
/// generation) may take from `stored`; `None`: it reads itself. Pure, for the tests.
fn usable<V>(
    stored: Option<&Answer<V>>,
    asked_seq: u64,
    asked_at: Instant,
    generation: u64,
    freshness: Freshness,
) -> Option<&V> {
    let a = stored?;
    if a.generation != generation {
        return None;
    }
    let fresh = a.seq > asked_seq
        || match freshness {
            Freshness::Strict => false,
            Freshness::Within(window) => a.started + window >= asked_at,
        };
    fresh.then_some(&a.value)
}

/// The reads of one key: one at a time, the last answer kept.
struct Cell<V> {
    /// Reads started so far (the `seq` of the next one is this + 1).
    started: AtomicU64,
    /// Held for the length of a read; FIFO, so waiters take turns in arrival order.
    turn: tokio::sync::Mutex<Option<Answer<V>>>,
}

/// Concurrent reads of the same key shared, per [`Freshness`].
pub struct Coalesced<K, V> {
    freshness: Freshness,
    generation: AtomicU64,
    cells: Mutex<HashMap<K, Arc<Cell<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Coalesced<K, V> {
    /// Nothing read yet.
    pub fn new(freshness: Freshness) -> Self {
        Coalesced {
            freshness,
            generation: AtomicU64::new(0),
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// Every answer read so far is unusable (a write of this process changed them).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn cell(&self, key: &K) -> Arc<Cell<V>> {
        // A poisoned map only means a thread panicked while inserting; the map is intact.
        let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        cells
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Cell {
                    started: AtomicU64::new(0),
                    turn: tokio::sync::Mutex::new(None),
                })
            })
            .clone()
    }

    /// The answer for `key`: a usable shared one, else `load`'s (kept for the callers
    /// waiting behind this one when it succeeds).
    pub async fn get<E, F, Fut>(&self, key: &K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = self.cell(key);
        let asked_seq = cell.started.load(Ordering::SeqCst);
        let asked_at = Instant::now();
        let generation = self.generation.load(Ordering::SeqCst);
        let mut turn = cell.turn.lock().await;
        if let Some(v) = usable(
            turn.as_ref(),
            asked_seq,
            asked_at,
            generation,
            self.freshness,
        ) {
            return Ok(v.clone());
        }
        let seq = cell.started.fetch_add(1, Ordering::SeqCst) + 1;
        let started = Instant::now();
        let generation = self.generation.load(Ordering::SeqCst);
        let value = load().await?;
        *turn = Some(Answer {
            seq,
            started,
            generation,
            value: value.clone(),
        });
        Ok(value)
    }
}

/// Catalog reads that many resources of one process make at once about the same
/// database (the issue 19 guard of every rotation role on it), shared only between
/// callers that asked before the query was sent ([`Freshness::Strict`]): each sees the
/// catalog as of its own call, so no write needs to invalidate them.
pub struct SharedCatalog {
    /// `Postgres::database_facts`, by database name.
    pub database_facts: Coalesced<String, Option<DatabaseFacts>>,
    /// `Postgres::role_facts`, by the names asked for.
    pub role_facts: Coalesced<Vec<String>, Vec<RoleFacts>>,
}

impl Default for SharedCatalog {
    fn default() -> Self {
        SharedCatalog {
            database_facts: Coalesced::new(Freshness::Strict),
            role_facts: Coalesced::new(Freshness::Strict),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(seq: u64, started: Instant, generation: u64) -> Answer<&'static str> {
        Answer {
            seq,
            started,
            generation,
            value: "v",
        }
    }

    #[test]
    fn usable_answers_are_never_older_than_the_freshness_allows() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let within = Freshness::Within(ms(100));
        // (stored answer, reads started when asked, asked at, generation now, freshness, shared?)
        let cases = [
            (None, 0, t0, 0, Freshness::Strict, false),
            // A read started after the ask: shared under either rule.
            (
                Some(answer(3, t0, 0)),
                2,
                t0 + ms(50),
                0,
                Freshness::Strict,
                true,
            ),
            (Some(answer(3, t0, 0)), 2, t0 + ms(500), 0, within, true),
            // The read that was already done (or on its way) when the caller asked.
            (Some(answer(2, t0, 0)), 2, t0, 0, Freshness::Strict, false),
            (Some(answer(2, t0, 0)), 2, t0 + ms(100), 0, within, true),
            (Some(answer(2, t0, 0)), 2, t0 + ms(101), 0, within, false),
            // A write of this process since the read: never shared.
            (Some(answer(3, t0, 0)), 2, t0, 1, Freshness::Strict, false),
            (Some(answer(2, t0, 0)), 2, t0, 1, within, false),
        ];
        for (i, (stored, seq, at, generation, freshness, shared)) in cases.iter().enumerate() {
            let got = usable(stored.as_ref(), *seq, *at, *generation, *freshness);
            assert_eq!(got.is_some(), *shared, "case {i}");
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_read_and_a_later_caller_reads_again() {
        let reads = Arc::new(AtomicU64::new(0));
        let c: Arc<Coalesced<&str, u64>> = Arc::new(Coalesced::new(Freshness::Strict));
        let (release, wait) = tokio::sync::watch::channel(false);
        // The first caller's read is held open while 5 more callers arrive.
        let first = {
            let (c, reads, mut wait) = (c.clone(), reads.clone(), wait.clone());
            tokio::spawn(async move {
                c.get(&"k", || async move {
                    let _ = wait.wait_for(|go| *go).await;
                    Ok::<_, ()>(reads.fetch_add(1, Ordering::SeqCst) + 1)
                })
                .await
            })
        };
        tokio::task::yield_now().await;
        while c.cell(&"k").started.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let mut waiters = Vec::new();
        for _ in 0..5 {
            let (c, reads) = (c.clone(), reads.clone());
            waiters.push(tokio::spawn(async move {
                c.get(&"k", || async move {
                    Ok::<_, ()>(reads.fetch_add(1, Ordering::SeqCst) + 1)
                })
                .await
            }));
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let _ = release.send(true);
        assert_eq!(first.await.ok(), Some(Ok(1)));
        for w in waiters {
            // Asked while read 1 was on its way: all take read 2, started after they asked.
            assert_eq!(w.await.ok(), Some(Ok(2)));
        }
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        // Nobody waiting: a new caller reads for itself (strict).
        let got = c.get(&"k", || async { Ok::<_, ()>(99) }).await;
        assert_eq!(got, Ok(99));
        drop(wait);
    }

    #[tokio::test]
    async fn failures_are_not_shared_and_invalidate_forgets() {
        let c: Coalesced<&str, u64> = Coalesced::new(Freshness::Within(Duration::from_secs(60)));
        assert_eq!(
            c.get(&"k", || async { Err::<u64, _>("down") }).await,
            Err("down")
        );
        assert_eq!(c.get(&"k", || async { Ok::<_, &str>(1) }).await, Ok(1));
        // Within the window: shared.
        assert_eq!(c.get(&"k", || async { Ok::<_, &str>(2) }).await, Ok(1));
        c.invalidate();
        assert_eq!(c.get(&"k", || async { Ok::<_, &str>(3) }).await, Ok(3));
        // Another key reads for itself.
        assert_eq!(c.get(&"j", || async { Ok::<_, &str>(4) }).await, Ok(4));
    }
}
