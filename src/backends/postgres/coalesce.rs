//! Coalesced catalog reads (issue 23): the reads of one kind that arrive together share
//! one `= ANY($1)` query. A read that finds no batch gathering starts one and leads it; a
//! read that arrives while a batch is still gathering joins it. A batch gathers until its
//! leader may send (one query of a kind in flight at a time: while one is on the wire the
//! next batch fills), then closes, and later reads start the next batch. So no read ever
//! takes a row from a query sent before it arrived: nothing is cached, a write this process
//! finished before a read began is always seen by that read, and drift stays as visible as
//! with one query per read. When a leader is dropped (Ctrl-C, a cancelled call) its
//! joiners run their own query.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{watch, Semaphore};

use super::PgError;

/// Which batch a read belongs to, and what it is to do there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Arrival<T> {
    /// No batch was gathering: this read starts batch `id` and sends its query.
    Lead {
        /// The batch.
        id: u64,
    },
    /// Batch `id` was gathering: this read waits for its result (`T`, the way to it).
    Join {
        /// The batch.
        id: u64,
        /// What the leader left for joiners.
        wait: T,
    },
}

/// The batch gathering now: the pure bookkeeping of [`Coalescer`], without I/O.
#[derive(Debug)]
pub(super) struct Gather<T> {
    next: u64,
    open: Option<Open<T>>,
}

#[derive(Debug)]
struct Open<T> {
    id: u64,
    keys: BTreeSet<String>,
    wait: T,
}

impl<T> Default for Gather<T> {
    fn default() -> Self {
        Gather {
            next: 0,
            open: None,
        }
    }
}

impl<T> Gather<T> {
    /// Closes batch `id` as its query is about to be sent and returns its keys (sorted,
    /// each once); empty when `id` is not the batch gathering (closed already).
    pub(super) fn close(&mut self, id: u64) -> Vec<String> {
        match self.open.take() {
            Some(open) if open.id == id => open.keys.into_iter().collect(),
            other => {
                self.open = other;
                Vec::new()
            }
        }
    }
}

impl<T: Clone> Gather<T> {
    /// A read of `keys` arrives: it joins the gathering batch, or starts one (`wait` is
    /// made only then, and handed to every joiner).
    pub(super) fn arrive(&mut self, keys: &[&str], wait: impl FnOnce() -> T) -> Arrival<T> {
        let own = keys.iter().map(|k| k.to_string());
        if let Some(open) = &mut self.open {
            open.keys.extend(own);
            return Arrival::Join {
                id: open.id,
                wait: open.wait.clone(),
            };
        }
        let id = self.next;
        self.next += 1;
        self.open = Some(Open {
            id,
            keys: own.collect(),
            wait: wait(),
        });
        Arrival::Lead { id }
    }
}

/// A batch's outcome as its joiners see it (errors are shared, then copied).
type Outcome<V> = Option<Result<Arc<HashMap<String, V>>, Arc<PgError>>>;

/// The same error for another caller.
fn copy(e: &PgError) -> PgError {
    PgError {
        host: e.host.clone(),
        port: e.port,
        message: e.message.clone(),
        code: e.code.clone(),
    }
}

/// Coalesces one kind of catalog read keyed by name (see the module docs).
pub(super) struct Coalescer<V> {
    gather: Mutex<Gather<watch::Receiver<Outcome<V>>>>,
    /// One query of this kind on the wire at a time; the next batch gathers meanwhile.
    sending: Semaphore,
}

impl<V> Default for Coalescer<V> {
    fn default() -> Self {
        Coalescer {
            gather: Mutex::new(Gather::default()),
            sending: Semaphore::new(1),
        }
    }
}

/// Closes a leader's batch when the leader goes away before sending (dropped): later
/// reads then start a batch of their own rather than join one nobody sends.
struct CloseOnDrop<'a, V> {
    coalescer: &'a Coalescer<V>,
    id: u64,
}

impl<V> Drop for CloseOnDrop<'_, V> {
    fn drop(&mut self) {
        self.coalescer.lock().close(self.id);
    }
}

impl<V> Coalescer<V> {
    fn lock(&self) -> MutexGuard<'_, Gather<watch::Receiver<Outcome<V>>>> {
        // The bookkeeping stays consistent whatever panicked while holding it.
        self.gather.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<V: Clone + Send + Sync + 'static> Coalescer<V> {
    /// The rows for `keys` (those that exist), from a batch sent after this call began.
    /// `fetch` runs one query for the names it is given and returns `(key, row)` pairs.
    pub(super) async fn load<F, Fut>(
        &self,
        keys: &[&str],
        fetch: F,
    ) -> Result<HashMap<String, V>, PgError>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<Vec<(String, V)>, PgError>>,
    {
        let mut sender = None;
        let arrival = self.lock().arrive(keys, || {
            let (tx, rx) = watch::channel(None);
            sender = Some(tx);
            rx
        });
        match (arrival, sender) {
            (Arrival::Lead { id }, Some(tx)) => {
                let guard = CloseOnDrop {
                    coalescer: self,
                    id,
                };
                // Closed only by dropping the coalescer, which outlives every call.
                let permit = self.sending.acquire().await.ok();
                // Reads already on their way (woken with this one) join before it closes.
                tokio::task::yield_now().await;
                let batch = self.lock().close(id);
                drop(guard);
                let result = fetch(batch).await;
                drop(permit);
                let shared = match result {
                    Ok(rows) => Ok(Arc::new(rows.into_iter().collect::<HashMap<_, _>>())),
                    Err(e) => Err(Arc::new(e)),
                };
                let mine = pick(&shared, keys);
                // Nobody waiting is fine.
                let _ = tx.send(Some(shared));
                mine
            }
            (Arrival::Join { wait: mut rx, .. }, _) => {
                let shared = match rx.wait_for(Option::is_some).await {
                    Ok(done) => done.clone(),
                    Err(_) => None,
                };
                match shared {
                    Some(shared) => pick(&shared, keys),
                    // The leader was dropped before it answered: this read asks alone.
                    None => {
                        let own = keys.iter().map(|k| k.to_string()).collect();
                        Ok(fetch(own).await?.into_iter().collect())
                    }
                }
            }
            // `arrive` makes the sender exactly when it answers Lead.
            (Arrival::Lead { .. }, None) => {
                let own = keys.iter().map(|k| k.to_string()).collect();
                Ok(fetch(own).await?.into_iter().collect())
            }
        }
    }
}

/// This caller's rows out of a batch's result.
fn pick<V: Clone>(
    shared: &Result<Arc<HashMap<String, V>>, Arc<PgError>>,
    keys: &[&str],
) -> Result<HashMap<String, V>, PgError> {
    match shared {
        Ok(rows) => Ok(keys
            .iter()
            .filter_map(|k| rows.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect()),
        Err(e) => Err(copy(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step of a table: a read arrives with keys, or a leader closes its batch.
    enum Step {
        Arrive(&'static [&'static str]),
        Close(u64),
    }
    use Step::{Arrive, Close};

    /// What each step gives: the arrival (Lead/Join with batch id) or the closed keys.
    #[derive(Debug, PartialEq)]
    enum Seen {
        Lead(u64),
        Join(u64),
        Sent(Vec<&'static str>),
    }

    fn run(steps: &[Step]) -> Vec<Seen> {
        let mut g = Gather::<u64>::default();
        let mut made = 0;
        steps
            .iter()
            .map(|s| match s {
                Arrive(keys) => match g.arrive(keys, || {
                    made += 1;
                    made
                }) {
                    Arrival::Lead { id } => Seen::Lead(id),
                    Arrival::Join { id, .. } => Seen::Join(id),
                },
                Close(id) => {
                    let keys = g.close(*id);
                    Seen::Sent(
                        keys.iter()
                            .map(|k| &*Box::leak(k.clone().into_boxed_str()))
                            .collect(),
                    )
                }
            })
            .collect()
    }

    #[test]
    fn batches_gather_until_sent_and_never_take_later_arrivals_back() {
        let cases: &[(&str, &[Step], &[Seen])] = &[
            (
                "one read alone leads and sends its own key",
                &[Arrive(&["a"]), Close(0)],
                &[Seen::Lead(0), Seen::Sent(vec!["a"])],
            ),
            (
                "reads before the send join, keys merged, sorted, once each",
                &[
                    Arrive(&["b"]),
                    Arrive(&["a", "b"]),
                    Arrive(&["c"]),
                    Close(0),
                ],
                &[
                    Seen::Lead(0),
                    Seen::Join(0),
                    Seen::Join(0),
                    Seen::Sent(vec!["a", "b", "c"]),
                ],
            ),
            (
                "a read after the send starts the next batch, even for the same key",
                &[
                    Arrive(&["a"]),
                    Close(0),
                    Arrive(&["a"]),
                    Arrive(&["b"]),
                    Close(1),
                ],
                &[
                    Seen::Lead(0),
                    Seen::Sent(vec!["a"]),
                    Seen::Lead(1),
                    Seen::Join(1),
                    Seen::Sent(vec!["a", "b"]),
                ],
            ),
            (
                "closing a batch twice (a dropped leader's guard) sends nothing and keeps the next",
                &[Arrive(&["a"]), Close(0), Arrive(&["b"]), Close(0), Close(1)],
                &[
                    Seen::Lead(0),
                    Seen::Sent(vec!["a"]),
                    Seen::Lead(1),
                    Seen::Sent(vec![]),
                    Seen::Sent(vec!["b"]),
                ],
            ),
            (
                "a read with no keys still leads a batch (its query asks for nothing)",
                &[Arrive(&[]), Close(0)],
                &[Seen::Lead(0), Seen::Sent(vec![])],
            ),
        ];
        for (name, steps, want) in cases {
            assert_eq!(&run(steps), want, "{name}");
        }
    }

    #[test]
    fn joiners_get_the_leaders_wait_handle() {
        let mut g = Gather::<&str>::default();
        assert_eq!(g.arrive(&["a"], || "first"), Arrival::Lead { id: 0 });
        assert_eq!(
            g.arrive(&["b"], || "unused"),
            Arrival::Join {
                id: 0,
                wait: "first"
            }
        );
    }

    fn err(message: &str) -> PgError {
        PgError {
            host: "h".into(),
            port: 1,
            message: message.into(),
            code: Some("XX000".into()),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("runtime: {e}"),
        }
    }

    #[test]
    fn concurrent_reads_share_one_query_and_each_gets_its_own_rows() {
        rt().block_on(async {
            let c = Coalescer::<u32>::default();
            let sent = Mutex::new(Vec::<Vec<String>>::new());
            let fetch = |keys: Vec<String>| {
                sent.lock().unwrap().push(keys.clone());
                async move {
                    Ok(keys
                        .into_iter()
                        .filter(|k| k != "missing")
                        .map(|k| (k.clone(), k.len() as u32))
                        .collect())
                }
            };
            let (a, b, m) = tokio::join!(
                c.load(&["a"], fetch),
                c.load(&["bb", "a"], fetch),
                c.load(&["missing"], fetch)
            );
            assert_eq!(a.unwrap(), HashMap::from([("a".to_string(), 1)]));
            assert_eq!(
                b.unwrap(),
                HashMap::from([("bb".to_string(), 2), ("a".to_string(), 1)])
            );
            assert!(m.unwrap().is_empty());
            assert_eq!(
                *sent.lock().unwrap(),
                vec![vec!["a".to_string(), "bb".into(), "missing".into()]]
            );
            // Later reads never reuse that result: a new query.
            c.load(&["a"], fetch).await.unwrap();
            assert_eq!(sent.lock().unwrap().len(), 2);
        });
    }

    #[test]
    fn a_failed_batch_fails_every_read_in_it_with_the_same_error() {
        rt().block_on(async {
            let c = Coalescer::<u32>::default();
            let fetch = |_: Vec<String>| async { Err::<Vec<(String, u32)>, _>(err("boom")) };
            let (a, b) = tokio::join!(c.load(&["a"], fetch), c.load(&["b"], fetch));
            for r in [a, b] {
                let e = r.unwrap_err();
                assert_eq!(
                    (e.message.as_str(), e.code.as_deref()),
                    ("boom", Some("XX000"))
                );
            }
        });
    }

    #[test]
    fn reads_after_a_dropped_leader_still_get_their_rows() {
        rt().block_on(async {
            let c = Arc::new(Coalescer::<u32>::default());
            let own = |keys: Vec<String>| async move {
                Ok(keys.into_iter().map(|k| (k, 7)).collect::<Vec<_>>())
            };
            let c1 = c.clone();
            let leader = tokio::spawn(async move {
                let never = |_: Vec<String>| std::future::pending();
                c1.load(&["a"], never).await
            });
            tokio::task::yield_now().await;
            let c2 = c.clone();
            // Whether "b" joins the leader's batch or leads the next one (waiting for the
            // leader's query), dropping the leader must not leave it waiting.
            let joiner = tokio::spawn(async move { c2.load(&["b"], own).await });
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            leader.abort();
            let got = joiner.await.unwrap().unwrap();
            assert_eq!(got, HashMap::from([("b".to_string(), 7)]));
            // And the next read is answered too.
            let next = c.load(&["c"], own).await.unwrap();
            assert_eq!(next, HashMap::from([("c".to_string(), 7)]));
        });
    }
}
