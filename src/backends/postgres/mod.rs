//! PostgreSQL admin client: one lazily opened pool to the primary's maintenance
//! database per provider process and short-lived connections into tenant databases, all
//! within one session budget (`budget.rs`, `postgres.max_connections`), and retries for the errors PostgreSQL raises under concurrent DDL. Statements run as
//! units (`sql::Unit`): one statement alone, a `sql::Batch` in one transaction.
//! `session.rs` opens and checks admin sessions (pinned settings, TLS), `catalog.rs`
//! holds the catalog reads and the named rows they decode into.

use crate::backends::interrupt::{unless_stopped, Interrupted, Stop};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::backends::settings::PostgresSettings;
use crate::sql::Unit;

mod budget;
mod catalog;
mod coalesce;
mod session;
#[cfg(test)]
mod tests;
mod vault_admin;

pub use budget::{slot, AdminPool, Counts, Slot};
pub use catalog::{
    DatabaseFacts, DatabaseSettings, ForeignDependency, GroupMember, PgLoginFacts, RoleFacts,
    RoleLinks, SchemaFacts, SessionSettings,
};
pub use session::{
    admin_options, check_pinned, effective_sslmode, tls_check_text, verify_login, with_tls,
    ADMIN_SESSION_SETTINGS,
};

/// A PostgreSQL failure, naming the server and provider block.
#[derive(Debug, Clone, thiserror::Error)]
#[error("PostgreSQL at {host}:{port} (provider block `postgres`): {message}")]
pub struct PgError {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// What went wrong (never contains a password).
    pub message: String,
    /// SQLSTATE, when the server sent one.
    pub code: Option<String>,
}

/// The admin side of PostgreSQL.
pub struct Postgres {
    host: String,
    port: u16,
    /// How the server certificate is checked, for error text (`verify-full against /ca.pem`).
    tls_check: String,
    /// Every session of this process to the server, admin and tenant (the budget).
    pool: AdminPool,
    /// Ends every call's wait (pool acquire, connect, query, back-off) on Ctrl-C.
    stop: Stop,
    /// Catalog reads that arrive together share one query (issue 23).
    reads: catalog::Reads,
}

/// SQLSTATEs worth retrying: concurrent catalog updates (`tuple concurrently updated`
/// is XX000), objects in use (`being accessed by other users`, 55006), serialization
/// failures and deadlocks.
fn retryable(e: &PgError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("40001" | "40P01" | "55006" | "55P03")
    ) || (e.code.as_deref() == Some("XX000") && e.message.contains("concurrently"))
}

impl Postgres {
    /// Connection settings for `s` with the resolved user and password. Opens nothing:
    /// the pool connects on first use, and never holds more than `s.max_connections`
    /// sessions, tenant ones included.
    pub fn new(s: &PostgresSettings, username: &str, password: &str) -> Self {
        let options: PgConnectOptions = admin_options(s, username, password);
        let pool = AdminPool::new(
            options,
            s.max_connections,
            Duration::from_secs(s.connect_timeout.max(1) + 20),
            |conn| Box::pin(verify_pinned(conn)),
        );
        Postgres {
            host: s.host.clone(),
            port: s.port,
            tls_check: tls_check_text(s.sslmode, s.tls_files.ca_cert.as_deref()),
            pool,
            stop: Stop::new(),
            reads: catalog::Reads::default(),
        }
    }

    /// This client, every call's wait ended by `stop` (Terraform's Ctrl-C).
    pub fn stopped_by(self, stop: Stop) -> Self {
        Postgres { stop, ..self }
    }

    /// `work` boxed, ended with an "interrupted" error when the stop signal fires first:
    /// every call waits on the server somewhere (the pool's acquire and connect, a query,
    /// a tenant connection, a retry's back-off), and none of those has a timeout that
    /// knows about Ctrl-C.
    fn interruptible<'a, T: Send + 'a>(
        &'a self,
        work: impl std::future::Future<Output = Result<T, PgError>> + Send + 'a,
    ) -> crate::backends::BoxFut<'a, Result<T, PgError>> {
        Box::pin(async move {
            unless_stopped(&self.stop, "waiting for PostgreSQL", work)
                .await
                .unwrap_or_else(|i| Err(self.interrupted(i)))
        })
    }

    /// The error of a call the stop signal ended, in this server's error shape.
    fn interrupted(&self, i: Interrupted) -> PgError {
        PgError {
            host: self.host.clone(),
            port: self.port,
            message: i.to_string(),
            code: None,
        }
    }

    /// A refusal decided above the backend (nothing was sent), in this server's error
    /// shape.
    pub fn refusal(&self, message: String) -> PgError {
        PgError {
            host: self.host.clone(),
            port: self.port,
            message,
            code: None,
        }
    }

    /// Wraps a driver error with this server's address.
    pub fn error(&self, e: sqlx::Error) -> PgError {
        let code = e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.to_string());
        let text = crate::backends::error_chain(&e);
        let tls = (e.as_database_error().is_none())
            .then(|| crate::backends::tls_failure(&text, &self.tls_check))
            .flatten();
        if let Some(tls) = tls {
            return PgError {
                host: self.host.clone(),
                port: self.port,
                message: format!("{tls}; check postgres.sslrootcert, sslcert and sslkey"),
                code,
            };
        }
        let message = match &e {
            sqlx::Error::Io(io) => format!(
                "cannot connect: {io}; check postgres.host/port and that the server is running"
            ),
            sqlx::Error::PoolTimedOut => {
                "timed out waiting for a connection; is the server reachable?".to_string()
            }
            sqlx::Error::Tls(t) => format!(
                "TLS failed: {t} ({}); check postgres.sslmode and sslrootcert",
                self.tls_check
            ),
            sqlx::Error::Database(d) => match d.code().as_deref() {
                Some("28P01") | Some("28000") => {
                    format!("authentication failed for the admin user: {}", d.message())
                }
                _ => d.message().to_string(),
            },
            other => other.to_string(),
        };
        PgError {
            host: self.host.clone(),
            port: self.port,
            message,
            code,
        }
    }

    /// A fresh admin connection into database `db` (closed by the caller), with the
    /// pinned settings checked: the database may be a tenant's, with its own defaults.
    /// It takes one place of the session budget until closed.
    fn connect_to<'a>(
        &'a self,
        db: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<budget::TenantConn, PgError>> {
        self.interruptible(async move { self.pool.tenant(db).await.map_err(|e| self.error(e)) })
    }

    /// Sessions of this process open to the server now (idle admin ones included).
    pub fn sessions(&self) -> Counts {
        self.pool.counts()
    }

    /// Runs `units` in order on `conn`, stopping at the first failure.
    fn run_units<'a, U: Unit>(
        &'a self,
        conn: &'a mut PgConnection,
        units: &'a [U],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            for unit in units {
                run_unit(conn, unit.statements())
                    .await
                    .map_err(|e| self.error(e))?;
            }
            Ok(())
        })
    }

    fn exec_all_once<'a, U: Unit>(
        &'a self,
        units: &'a [U],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            let mut conn = self.pool.admin().await.map_err(|e| self.error(e))?;
            self.run_units(&mut conn, units).await
        })
    }

    fn exec_in_once<'a, U: Unit>(
        &'a self,
        db: &'a str,
        units: &'a [U],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            let mut conn = self.connect_to(db).await?;
            let result = self.run_units(&mut conn, units).await;
            conn.close().await;
            result
        })
    }

    /// Refuses statements holding a NUL byte (a name quoted without refusing it): sending
    /// them would fail at the protocol level, and stripping would name another object.
    fn refuse_nul<U: Unit>(&self, units: &[U]) -> Result<(), PgError> {
        for s in units.iter().flat_map(|u| u.statements()) {
            crate::sql::check_statement(s).map_err(|e| PgError {
                host: self.host.clone(),
                port: self.port,
                message: format!("{e}; nothing was sent"),
                code: None,
            })?;
        }
        Ok(())
    }

    /// Runs units one after another on the admin pool (simple protocol), retrying the
    /// whole list on concurrent-DDL errors with bounded, jittered backoff. A statement
    /// runs on its own; a `sql::Batch` runs in one transaction (all or nothing).
    pub fn exec_all<'a, U: Unit>(
        &'a self,
        units: &'a [U],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            self.refuse_nul(units)?;
            let mut backoff = Backoff::default();
            loop {
                match self.exec_all_once(units).await {
                    Err(e) if retryable(&e) && backoff.wait(&e).await => continue,
                    other => return other,
                }
            }
        })
    }

    /// Runs units inside database `db` on a short-lived connection, with retries (as
    /// [`Postgres::exec_all`]).
    pub fn exec_in<'a, U: Unit>(
        &'a self,
        db: &'a str,
        units: &'a [U],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            if units.iter().all(|u| u.statements().is_empty()) {
                return Ok(());
            }
            self.refuse_nul(units)?;
            let mut backoff = Backoff::default();
            loop {
                match self.exec_in_once(db, units).await {
                    Err(e) if retryable(&e) && backoff.wait(&e).await => continue,
                    other => return other,
                }
            }
        })
    }
}

/// Runs one unit's statements on `conn` (simple protocol): one as it is, several in one
/// transaction, rolled back at the first failure.
async fn run_unit(conn: &mut PgConnection, statements: &[String]) -> Result<(), sqlx::Error> {
    match statements {
        [] => Ok(()),
        [one] => sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(one))
            .await
            .map(|_| ()),
        several => {
            let mut tx = conn.begin().await?;
            for s in several {
                if let Err(e) = sqlx::Executor::execute(&mut *tx, sqlx::raw_sql(s)).await {
                    let _ = tx.rollback().await;
                    return Err(e);
                }
            }
            tx.commit().await
        }
    }
}

/// Reads the session's settings and refuses a session where [`ADMIN_SESSION_SETTINGS`]
/// did not take (see [`check_pinned`]).
async fn verify_pinned(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let s: SessionSettings = sqlx::query_as(crate::sql::SESSION_SETTINGS)
        .fetch_one(&mut *conn)
        .await?;
    check_pinned(&s.search_path, &s.role).map_err(|e| {
        sqlx::Error::Configuration(
            format!("{e}; the admin connection must reach PostgreSQL itself, which applies the `options` start-up parameter (not a pooler that ignores it)").into(),
        )
    })
}

impl Postgres {
    /// Fails at once, naming host:port, when nothing listens there (a refused TCP
    /// connection), instead of letting the pool retry until its timeout; a silent host
    /// fails after `connect_timeout`. Opens no PostgreSQL session.
    pub async fn probe(&self, connect_timeout: Duration) -> Result<(), PgError> {
        let addr = format!("{}:{}", self.host, self.port);
        let fail = |message: String| PgError {
            host: self.host.clone(),
            port: self.port,
            message,
            code: None,
        };
        let connect = tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(&addr));
        let connected = unless_stopped(&self.stop, "connecting to PostgreSQL", connect);
        match connected.await.map_err(|i| self.interrupted(i))? {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(fail(format!(
                "cannot connect: {e}; check postgres.host/port and that the server is running"
            ))),
            Err(_) => Err(fail(format!(
                "no answer within {} s (postgres.connect_timeout); check postgres.host/port and the network",
                connect_timeout.as_secs()
            ))),
        }
    }

    /// `DROP OWNED BY roles` inside database `db` (on the admin's own database when `db`
    /// is empty: privileges on shared objects only). Run only where the roles own
    /// nothing, it revokes what was granted to them there; it goes through `exec_in`,
    /// the one way into a tenant's database.
    pub fn drop_owned_in<'a>(
        &'a self,
        db: &'a str,
        roles: &'a [String],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            if roles.is_empty() {
                return Ok(());
            }
            let statement = [crate::sql::drop_owned(roles)];
            if db.is_empty() {
                return self.exec_all(&statement).await;
            }
            match self.exec_in(db, &statement).await {
                // Its owner may close a database to every connection (from any database
                // it can reach), so that no one gets in to revoke what it granted: opened
                // for this one statement, closed again whatever happens.
                Err(e)
                    if e.code.as_deref() == Some("55000")
                        && self
                            .database_facts(db)
                            .await?
                            .is_some_and(|f| !f.allow_connections) =>
                {
                    self.exec_all(&[crate::sql::open_database(db)]).await?;
                    let revoked = self.exec_in(db, &statement).await;
                    let closed = self.exec_all(&[crate::sql::close_database(db)]).await;
                    revoked.and(closed)
                }
                other => other,
            }
        })
    }

    /// Drops `roles` one by one (never `DROP OWNED`: a role still holding something
    /// makes this fail).
    pub fn drop_roles<'a>(
        &'a self,
        roles: &'a [String],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            for role in roles {
                self.exec_all(&[crate::sql::drop_role(role)]).await?;
            }
            Ok(())
        })
    }

    /// Ends every session in database `db` (but the caller's).
    pub fn terminate_database_sessions<'a>(
        &'a self,
        db: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            sqlx::query(crate::sql::TERMINATE_DATABASE_SESSIONS)
                .bind(db)
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(|e| self.error(e))
        })
    }

    /// Ends every session of login `user`.
    pub fn terminate_user_sessions<'a>(
        &'a self,
        user: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            sqlx::query(crate::sql::TERMINATE_USER_SESSIONS)
                .bind(user)
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(|e| self.error(e))
        })
    }
}

/// Bounded retry schedule: up to 8 attempts, 25 ms doubling to 1.6 s, with jitter.
#[derive(Debug)]
pub struct Backoff {
    attempt: u32,
    delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempt: 1,
            delay: Duration::from_millis(25),
        }
    }
}

impl Backoff {
    /// Sleeps before the next attempt; `false` when attempts are used up.
    pub async fn wait(&mut self, e: &PgError) -> bool {
        if self.attempt >= 8 {
            return false;
        }
        let jitter = Duration::from_millis(rand::random::<u64>() % 25);
        tracing::debug!(attempt = self.attempt, code = ?e.code, "retrying after concurrent DDL error");
        tokio::time::sleep(self.delay + jitter).await;
        self.delay = (self.delay * 2).min(Duration::from_millis(1600));
        self.attempt += 1;
        true
    }
}
