//! The session budget (issue 23): at most `postgres.max_connections` sessions of one
//! provider process open to the primary at any moment, counting the admin sessions in the
//! maintenance database (kept idle for reuse) and the sessions opened into tenant
//! databases (closed when their work ends, never reused). Each piece of work holds one
//! permit of a fair semaphore while it holds a session, so work beyond the budget waits
//! in order (bounded by the acquire timeout and Ctrl-C) instead of failing; an idle admin
//! session is closed to make room when a tenant session needs the slot. No code path
//! holds two sessions at once (which could deadlock when every permit holder waited for
//! a second one).
//!
//! `&AdminPool` is a sqlx executor, as `&PgPool` was: a query on it takes a permit and an
//! admin session for its own length.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::stream::{self, BoxStream, StreamExt};
use sqlx::postgres::{PgConnectOptions, PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{ConnectOptions, Connection, Describe, Either, Executor, PgConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What a permit holder does to get a session of its own, given the sessions open now
/// (`live`, idle ones included), the idle admin sessions and the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Take an idle admin session (admin work only).
    Reuse,
    /// Open a new session: the budget has room.
    Open,
    /// Close an idle admin session first, then open in its place: the budget is spent,
    /// and the new session is for another database.
    Replace,
    /// Nothing to take or close now (a session is on its way back): look again shortly.
    Retry,
}

/// The decision behind every session a permit holder gets: `admin` work reuses an idle
/// admin session before opening one; a tenant session never reuses one, and closes an
/// idle one when the budget is spent, so that sessions never exceed `max`.
pub fn slot(admin: bool, live: usize, idle: usize, max: usize) -> Slot {
    match (admin && idle > 0, live < max, idle > 0) {
        (true, _, _) => Slot::Reuse,
        (false, true, _) => Slot::Open,
        (false, false, true) => Slot::Replace,
        (false, false, false) => Slot::Retry,
    }
}

/// An admin session waiting for reuse.
struct Idle {
    conn: PgConnection,
    since: Instant,
}

/// Sessions open now (`live`, idle ones included) and the idle admin sessions.
#[derive(Default)]
struct State {
    live: usize,
    idle: Vec<Idle>,
}

struct Inner {
    /// Admin session options (maintenance database); tenant sessions change the database.
    options: PgConnectOptions,
    max: usize,
    permits: Arc<Semaphore>,
    state: Mutex<State>,
    acquire_timeout: Duration,
    idle_timeout: Duration,
    /// Checks a new session (the pinned settings) before any work runs on it.
    verify: fn(&mut PgConnection) -> BoxFuture<'_, Result<(), sqlx::Error>>,
}

/// The budgeted sessions of one provider process to one PostgreSQL server. Cheap to
/// clone (shared).
#[derive(Clone)]
pub struct AdminPool(Arc<Inner>);

impl std::fmt::Debug for AdminPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.counts();
        f.debug_struct("AdminPool")
            .field("max", &self.0.max)
            .field("live", &c.live)
            .field("idle", &c.idle)
            .finish()
    }
}

/// Sessions of one [`AdminPool`] at this moment, for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Sessions open (idle admin sessions included).
    pub live: usize,
    /// Idle admin sessions.
    pub idle: usize,
}

impl AdminPool {
    /// A pool of at most `max` (≥ 1) sessions; opens nothing until first used. `verify`
    /// runs on every new session and refuses it on error.
    pub fn new(
        options: PgConnectOptions,
        max: u32,
        acquire_timeout: Duration,
        verify: fn(&mut PgConnection) -> BoxFuture<'_, Result<(), sqlx::Error>>,
    ) -> Self {
        let max = usize::try_from(max.max(1)).unwrap_or(1);
        AdminPool(Arc::new(Inner {
            options,
            max,
            permits: Arc::new(Semaphore::new(max)),
            state: Mutex::new(State::default()),
            acquire_timeout,
            idle_timeout: Duration::from_secs(60),
            verify,
        }))
    }

    /// Sessions open and idle now.
    pub fn counts(&self) -> Counts {
        let s = self.0.state();
        Counts {
            live: s.live,
            idle: s.idle.len(),
        }
    }

    /// An admin session in the maintenance database for one piece of work, waiting for a
    /// permit when the budget is spent; returned for reuse when dropped.
    pub async fn admin(&self) -> Result<AdminConn, sqlx::Error> {
        let deadline = Instant::now() + self.0.acquire_timeout;
        let permit = self.0.permit(deadline).await?;
        let conn = self.0.session(None, deadline).await?;
        Ok(AdminConn {
            conn: Some(conn),
            pool: self.0.clone(),
            _permit: permit,
        })
    }

    /// A new session into database `db` for one piece of work, counted in the budget;
    /// closed (never reused) by [`TenantConn::close`] or when dropped.
    pub async fn tenant(&self, db: &str) -> Result<TenantConn, sqlx::Error> {
        let deadline = Instant::now() + self.0.acquire_timeout;
        let permit = self.0.permit(deadline).await?;
        let conn = self.0.session(Some(db), deadline).await?;
        Ok(TenantConn {
            conn: Some(conn),
            pool: self.0.clone(),
            _permit: permit,
        })
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held leaves counts that are still whole numbers.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn permit(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, sqlx::Error> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(sqlx::Error::PoolClosed),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// A session for the holder of a permit: an idle admin one (checked alive), or a new
    /// one in `db` (the maintenance database when `None`), counted before it is opened.
    async fn session(
        &self,
        db: Option<&str>,
        deadline: Instant,
    ) -> Result<PgConnection, sqlx::Error> {
        let (decision, idle) = loop {
            let taken = {
                let mut s = self.state();
                match slot(db.is_none(), s.live, s.idle.len(), self.max) {
                    d @ (Slot::Reuse | Slot::Replace) => s.idle.pop().map(|i| (d, Some(i))),
                    Slot::Open => {
                        s.live += 1;
                        Some((Slot::Open, None))
                    }
                    Slot::Retry => None,
                }
            };
            match taken {
                Some(t) => break t,
                None if Instant::now() >= deadline => return Err(sqlx::Error::PoolTimedOut),
                None => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        };
        // From here this holder owns one counted place: freed again if this future ends
        // (an error, a timeout, Ctrl-C) before a session is handed out.
        let place = Place(self);
        if let Some(mut idle) = idle {
            if decision == Slot::Reuse
                && idle.since.elapsed() < self.idle_timeout
                && idle.conn.ping().await.is_ok()
            {
                place.keep();
                return Ok(idle.conn);
            }
            // Stale, broken, or giving way to a tenant session: closed before the new
            // session opens, so the count never exceeds the budget.
            let _ = tokio::time::timeout(Duration::from_secs(1), idle.conn.close()).await;
        }
        let conn = self.open(db, deadline).await?;
        place.keep();
        Ok(conn)
    }

    async fn open(&self, db: Option<&str>, deadline: Instant) -> Result<PgConnection, sqlx::Error> {
        let options = match db {
            Some(db) => self.options.clone().database(db),
            None => self.options.clone(),
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        let mut conn = match tokio::time::timeout(wait, options.connect()).await {
            Ok(c) => c?,
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        };
        if let Err(e) = (self.verify)(&mut conn).await {
            let _ = conn.close().await;
            return Err(e);
        }
        Ok(conn)
    }

    /// An admin session back from work: kept idle for the next one.
    fn give_back(&self, conn: PgConnection) {
        self.state().idle.push(Idle {
            conn,
            since: Instant::now(),
        });
    }

    /// A session closed (or dropped): its place is free.
    fn gone(&self) {
        let mut s = self.state();
        s.live = s.live.saturating_sub(1);
    }
}

/// One counted place in the budget, freed when dropped unless kept (handed to a session).
struct Place<'a>(&'a Inner);

impl Place<'_> {
    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.gone();
    }
}

/// An admin session of an [`AdminPool`], with its permit; back to the idle list when
/// dropped (the permit after it, so the count stays exact).
pub struct AdminConn {
    conn: Option<PgConnection>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for AdminConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        // Present until drop.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl std::ops::DerefMut for AdminConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for AdminConn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn);
        }
    }
}

/// A session into a tenant database, with its permit; closed when its work ends.
pub struct TenantConn {
    conn: Option<PgConnection>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl TenantConn {
    /// Ends the session (politely) and frees its place.
    pub async fn close(mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.close()).await;
            self.pool.gone();
        }
    }
}

impl std::ops::Deref for TenantConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl std::ops::DerefMut for TenantConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for TenantConn {
    fn drop(&mut self) {
        // Dropped without `close` (an error path or Ctrl-C): the socket closes with it.
        if self.conn.take().is_some() {
            self.pool.gone();
        }
    }
}

impl<'p> Executor<'p> for &'_ AdminPool {
    type Database = sqlx::Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        E: 'q + sqlx::Execute<'q, Self::Database>,
    {
        let pool = self.clone();
        // The rows are read whole before the session goes back (catalog reads are small).
        let rows = async move {
            let mut conn = match pool.admin().await {
                Ok(c) => c,
                Err(e) => return vec![Err(e)],
            };
            let mut out = Vec::new();
            let mut s = (&mut *conn).fetch_many(query);
            while let Some(item) = s.next().await {
                let failed = item.is_err();
                out.push(item);
                if failed {
                    break;
                }
            }
            out
        };
        Box::pin(stream::once(rows).flat_map(stream::iter))
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        E: 'q + sqlx::Execute<'q, Self::Database>,
    {
        let pool = self.clone();
        Box::pin(async move { pool.admin().await?.fetch_optional(query).await })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move { pool.admin().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<sqlx::Postgres>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move { pool.admin().await?.describe(sql).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_session_stays_within_the_budget() {
        // (admin, live, idle, max) -> decision
        let cases = [
            ((true, 0, 0, 4), Slot::Open, "admin, nothing open: open"),
            ((true, 2, 1, 4), Slot::Reuse, "admin, one idle: reuse it"),
            (
                (true, 4, 1, 4),
                Slot::Reuse,
                "admin, budget spent, one idle: reuse it",
            ),
            ((true, 3, 0, 4), Slot::Open, "admin, room: open"),
            (
                (true, 4, 0, 4),
                Slot::Retry,
                "admin, spent, none idle: wait for one back",
            ),
            ((false, 0, 0, 4), Slot::Open, "tenant, nothing open: open"),
            (
                (false, 2, 2, 4),
                Slot::Open,
                "tenant, room: open beside the idle ones",
            ),
            (
                (false, 4, 1, 4),
                Slot::Replace,
                "tenant, spent: close an idle admin session",
            ),
            (
                (false, 4, 0, 4),
                Slot::Retry,
                "tenant, spent, none idle: wait",
            ),
            (
                (false, 1, 1, 1),
                Slot::Replace,
                "budget of one: the idle admin session gives way",
            ),
            ((true, 0, 0, 1), Slot::Open, "budget of one, admin: open"),
        ];
        for ((admin, live, idle, max), want, why) in cases {
            assert_eq!(slot(admin, live, idle, max), want, "{why}");
        }
    }

    #[test]
    fn no_decision_opens_past_the_budget() {
        for max in 1..6 {
            for live in 0..=max {
                for idle in 0..=live {
                    for admin in [true, false] {
                        let after = match slot(admin, live, idle, max) {
                            Slot::Open => live + 1,
                            Slot::Reuse | Slot::Replace | Slot::Retry => live,
                        };
                        assert!(after <= max, "{admin} {live} {idle} {max}");
                    }
                }
            }
        }
    }
}
