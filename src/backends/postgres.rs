//! PostgreSQL admin client: one lazily opened pool to the primary's maintenance
//! database per provider process, short-lived connections into tenant databases,
//! and retries for the errors PostgreSQL raises under concurrent DDL.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::backends::interrupt::{unless_stopped, Interrupted, Stop};
use crate::backends::settings::PostgresSettings;
use crate::enums::SslMode;

/// Largest pool per provider process (the performance targets allow ≤ 10 connections).
const POOL_SIZE: u32 = 8;

/// Settings every admin session starts with, as start-up options (`-c name=value`), which
/// win over `ALTER DATABASE/ROLE ... SET`: a tenant owns its database and may set its
/// defaults, but never the admin's name resolution (`search_path`: no tenant schema, so no
/// planted operator or function is ever found), whom the admin acts as (`role`), which
/// libraries its session loads (`local_preload_libraries`: a missing one would refuse
/// the admin's connection) or whether it may write (`default_transaction_read_only`).
/// Values hold no spaces (the server splits the option string on whitespace).
pub const ADMIN_SESSION_SETTINGS: &[(&str, &str)] = &[
    ("search_path", "pg_catalog,pg_temp"),
    ("role", "none"),
    ("local_preload_libraries", ""),
    ("default_transaction_read_only", "off"),
];

/// Connect options for an admin session on `s` as `username`: TLS applied and
/// [`ADMIN_SESSION_SETTINGS`] pinned. The one place admin sessions are configured (the
/// pool in the maintenance database and every connection into a tenant database).
pub fn admin_options(s: &PostgresSettings, username: &str, password: &str) -> PgConnectOptions {
    let options = PgConnectOptions::new()
        .host(&s.host)
        .port(s.port)
        .username(username)
        .password(password)
        .database(&s.database)
        .application_name("terraform-provider-dbaas")
        .options(ADMIN_SESSION_SETTINGS.iter().copied())
        .disable_statement_logging();
    with_tls(options, s.sslmode, &s.tls_files)
}

/// Whether a session reports the pinned settings (`search_path`, `role`, as
/// `current_setting` shows them). `Err` says what differs: a server or pooler that drops
/// the `options` start-up parameter must not leave an admin session in a tenant's
/// namespace.
pub fn check_pinned(search_path: &str, role: &str) -> Result<(), String> {
    let path: Vec<&str> = search_path.split(',').map(str::trim).collect();
    if path != ["pg_catalog", "pg_temp"] {
        return Err(format!(
            "the admin session's search_path is {search_path:?}, not \"pg_catalog, pg_temp\""
        ));
    }
    if role != "none" {
        return Err(format!(
            "the admin session acts as role {role:?}, not as itself"
        ));
    }
    Ok(())
}

/// A PostgreSQL failure, naming the server and provider block.
#[derive(Debug, thiserror::Error)]
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
    options: PgConnectOptions,
    pool: PgPool,
    /// Ends every call's wait (pool acquire, connect, query, back-off) on Ctrl-C.
    stop: Stop,
}

/// The sslmode libpq applies: `require` with a root certificate file checks the chain
/// (libpq: "if a root CA file exists, sslmode=require behaves like verify-ca").
pub fn effective_sslmode(mode: SslMode, sslrootcert: Option<&str>) -> SslMode {
    match (mode, sslrootcert) {
        (SslMode::Require, Some(_)) => SslMode::VerifyCa,
        (mode, _) => mode,
    }
}

/// The sslmode and CA for error text: `verify-full against /ca.pem`.
pub fn tls_check_text(mode: SslMode, sslrootcert: Option<&str>) -> String {
    let mode = effective_sslmode(mode, sslrootcert);
    match (mode, sslrootcert) {
        (SslMode::VerifyCa | SslMode::VerifyFull, Some(ca)) => {
            format!("sslmode {mode} against {ca}")
        }
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            format!("sslmode {mode} against the built-in roots; set sslrootcert")
        }
        _ => format!("sslmode {mode}"),
    }
}

/// `options` with the TLS mode and certificate files of a connection applied. (The libpq
/// environment sqlx would read into `options` is out of the process: see `libpq_env`.)
pub fn with_tls(
    mut options: PgConnectOptions,
    mode: SslMode,
    files: &crate::backends::settings::TlsFiles,
) -> PgConnectOptions {
    let ca = files.ca_cert.as_deref();
    options = options.ssl_mode(ssl_mode(effective_sslmode(mode, ca)));
    if let Some(ca) = ca {
        options = options.ssl_root_cert(ca);
    }
    if let Some((cert, key)) = files.client_pair() {
        options = options.ssl_client_cert(cert).ssl_client_key(key);
    }
    options
}

fn ssl_mode(mode: SslMode) -> PgSslMode {
    match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Allow => PgSslMode::Allow,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require => PgSslMode::Require,
        SslMode::VerifyCa => PgSslMode::VerifyCa,
        SslMode::VerifyFull => PgSslMode::VerifyFull,
    }
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
    /// the pool connects on first use.
    pub fn new(s: &PostgresSettings, username: &str, password: &str) -> Self {
        let options = admin_options(s, username, password);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(s.connect_timeout.max(1) + 20))
            .idle_timeout(Duration::from_secs(60))
            .after_connect(|conn, _| Box::pin(async move { verify_pinned(conn).await }))
            .connect_lazy_with(options.clone());
        Postgres {
            host: s.host.clone(),
            port: s.port,
            tls_check: tls_check_text(s.sslmode, s.tls_files.ca_cert.as_deref()),
            options,
            pool,
            stop: Stop::new(),
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
    fn connect_to<'a>(
        &'a self,
        db: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<PgConnection, PgError>> {
        self.interruptible(async move {
            let mut conn = self
                .options
                .clone()
                .database(db)
                .connect()
                .await
                .map_err(|e| self.error(e))?;
            if let Err(e) = verify_pinned(&mut conn).await {
                let _ = conn.close().await;
                return Err(self.error(e));
            }
            Ok(conn)
        })
    }

    fn exec_all_once<'a>(
        &'a self,
        statements: &'a [String],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            let mut conn = self.pool.acquire().await.map_err(|e| self.error(e))?;
            for s in statements {
                sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(s))
                    .await
                    .map_err(|e| self.error(e))?;
            }
            Ok(())
        })
    }

    fn exec_in_once<'a>(
        &'a self,
        db: &'a str,
        statements: &'a [String],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            let mut conn = self.connect_to(db).await?;
            let mut result = Ok(());
            for s in statements {
                if let Err(e) = sqlx::Executor::execute(&mut conn, sqlx::raw_sql(s)).await {
                    result = Err(self.error(e));
                    break;
                }
            }
            let _ = conn.close().await;
            result
        })
    }

    /// Refuses statements holding a NUL byte (a name quoted without refusing it): sending
    /// them would fail at the protocol level, and stripping would name another object.
    fn refuse_nul(&self, statements: &[String]) -> Result<(), PgError> {
        for s in statements {
            crate::sql::check_statement(s).map_err(|e| PgError {
                host: self.host.clone(),
                port: self.port,
                message: format!("{e}; nothing was sent"),
                code: None,
            })?;
        }
        Ok(())
    }

    /// Runs statements one after another on the admin pool (simple protocol), retrying
    /// the whole batch on concurrent-DDL errors with bounded, jittered backoff.
    /// Each element is one simple-protocol query: an element holding several statements
    /// separated by `;` runs as one implicit transaction (all or nothing).
    pub fn exec_all<'a>(
        &'a self,
        statements: &'a [String],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            self.refuse_nul(statements)?;
            let mut backoff = Backoff::default();
            loop {
                match self.exec_all_once(statements).await {
                    Err(e) if retryable(&e) && backoff.wait(&e).await => continue,
                    other => return other,
                }
            }
        })
    }

    /// Runs statements inside database `db` on a short-lived connection, with retries.
    pub fn exec_in<'a>(
        &'a self,
        db: &'a str,
        statements: &'a [String],
    ) -> crate::backends::BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            if statements.is_empty() {
                return Ok(());
            }
            self.refuse_nul(statements)?;
            let mut backoff = Backoff::default();
            loop {
                match self.exec_in_once(db, statements).await {
                    Err(e) if retryable(&e) && backoff.wait(&e).await => continue,
                    other => return other,
                }
            }
        })
    }
}

/// Reads the session's settings and refuses a session where [`ADMIN_SESSION_SETTINGS`]
/// did not take (see [`check_pinned`]).
async fn verify_pinned(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let (path, role): (String, String) = sqlx::query_as(crate::sql::SESSION_SETTINGS)
        .fetch_one(&mut *conn)
        .await?;
    check_pinned(&path, &role).map_err(|e| {
        sqlx::Error::Configuration(
            format!("{e}; the admin connection must reach PostgreSQL itself, which applies the `options` start-up parameter (not a pooler that ignores it)").into(),
        )
    })
}

/// What the catalog says about a database, for create's resume and destroy's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseFacts {
    /// Owner role.
    pub owner: String,
    /// `datallowconn`: false while a create has not opened it yet.
    pub allow_connections: bool,
    /// The database's comment (this provider's marker, or anything else).
    pub comment: Option<String>,
    /// `datistemplate`: may serve as a template for anyone with CREATEDB.
    pub is_template: bool,
}

/// What the catalog says about a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFacts {
    /// Role name.
    pub name: String,
    /// LOGIN.
    pub can_login: bool,
    /// SUPERUSER.
    pub superuser: bool,
    /// The role's comment (this provider's marker, or anything else).
    pub comment: Option<String>,
    /// Owns any object (a database, or anything inside one).
    pub owns_objects: bool,
}

/// A database's settings as the catalog reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// Owner role.
    pub owner: String,
    /// `CONNECTION LIMIT` (-1: none).
    pub connection_limit: i64,
    /// Character encoding, e.g. `UTF8`.
    pub encoding: String,
    /// LC_COLLATE.
    pub lc_collate: String,
    /// LC_CTYPE.
    pub lc_ctype: String,
}

/// What the catalog of a tenant database says about one schema the admin installs into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaFacts {
    /// Schema name.
    pub name: String,
    /// Owner role.
    pub owner: String,
    /// The owner is a superuser or the admin itself.
    pub owner_is_admin: bool,
    /// Roles other than the owner that hold CREATE on it (`PUBLIC` for everyone).
    pub creators: Vec<String>,
}

/// A row of `sql::SCHEMA_FACTS`: name, owner, owner is admin, CREATE grantees.
type SchemaRow = (String, String, bool, Vec<String>);

/// One thing a role owns or holds outside the database being dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignDependency {
    /// The role.
    pub role: String,
    /// The database holding the object ("" for shared objects such as databases).
    pub database: String,
    /// `owns`, `has privileges on`, ...
    pub kind: String,
    /// The object, e.g. `pg_class 16423` or `database billing`.
    pub object: String,
    /// Ownership (`owns`); otherwise a privilege, default privilege or policy entry,
    /// which `DROP OWNED` in that database revokes.
    pub owned: bool,
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

    /// Owner, `datallowconn`, comment and `datistemplate` of database `name`.
    pub fn database_facts<'a>(
        &'a self,
        name: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<Option<DatabaseFacts>, PgError>> {
        self.interruptible(async move {
            let row: Option<(String, bool, Option<String>, bool)> =
                sqlx::query_as(crate::sql::DATABASE_FACTS)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| self.error(e))?;
            Ok(row.map(
                |(owner, allow_connections, comment, is_template)| DatabaseFacts {
                    owner,
                    allow_connections,
                    comment,
                    is_template,
                },
            ))
        })
    }

    /// Login, superuser, comment and ownership of each existing role among `names`.
    pub fn role_facts<'a>(
        &'a self,
        names: &'a [&'a str],
    ) -> crate::backends::BoxFut<'a, Result<Vec<RoleFacts>, PgError>> {
        self.interruptible(async move {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            let rows: Vec<(String, bool, bool, Option<String>, bool)> =
                sqlx::query_as(crate::sql::ROLE_FACTS)
                    .bind(&names)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| self.error(e))?;
            Ok(rows
                .into_iter()
                .map(
                    |(name, can_login, superuser, comment, owns_objects)| RoleFacts {
                        name,
                        can_login,
                        superuser,
                        comment,
                        owns_objects,
                    },
                )
                .collect())
        })
    }

    /// What `roles` own or hold privileges on anywhere but in database `db`.
    pub fn foreign_dependencies<'a>(
        &'a self,
        roles: &'a [String],
        db: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<Vec<ForeignDependency>, PgError>> {
        self.interruptible(async move {
            let rows: Vec<(String, String, String, String, bool)> =
                sqlx::query_as(crate::sql::FOREIGN_DEPENDENCIES)
                    .bind(roles)
                    .bind(db)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| self.error(e))?;
            Ok(rows
                .into_iter()
                .map(|(role, database, kind, object, owned)| ForeignDependency {
                    role,
                    database,
                    kind,
                    object,
                    owned,
                })
                .collect())
        })
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

    /// Logins that are direct members of any of `groups`: `(login, superuser)`.
    pub fn group_members<'a>(
        &'a self,
        groups: &'a [String],
    ) -> crate::backends::BoxFut<'a, Result<Vec<(String, bool)>, PgError>> {
        self.interruptible(async move {
            sqlx::query_as(crate::sql::GROUP_MEMBERS)
                .bind(groups)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Owner, connection limit, encoding and locales of database `name`.
    pub fn database_settings<'a>(
        &'a self,
        name: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<Option<DatabaseSettings>, PgError>> {
        self.interruptible(async move {
            let row: Option<(String, i64, String, String, String)> =
                sqlx::query_as(crate::sql::DATABASE_SETTINGS)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| self.error(e))?;
            Ok(row.map(
                |(owner, connection_limit, encoding, lc_collate, lc_ctype)| DatabaseSettings {
                    owner,
                    connection_limit,
                    encoding,
                    lc_collate,
                    lc_ctype,
                },
            ))
        })
    }

    /// The roles among `names` that exist, sorted.
    pub fn existing_roles<'a>(
        &'a self,
        names: &'a [&'a str],
    ) -> crate::backends::BoxFut<'a, Result<Vec<String>, PgError>> {
        self.interruptible(async move {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            sqlx::query_scalar(crate::sql::EXISTING_ROLES)
                .bind(&names)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// The extensions installed in database `db` (but `plpgsql`).
    pub fn installed_extensions<'a>(
        &'a self,
        db: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<std::collections::BTreeSet<String>, PgError>> {
        self.interruptible(async move {
            let mut conn = self.connect_to(db).await?;
            let rows = sqlx::query_scalar::<_, String>(crate::sql::INSTALLED_EXTENSIONS)
                .fetch_all(&mut conn)
                .await
                .map_err(|e| self.error(e));
            let _ = conn.close().await;
            Ok(rows?.into_iter().collect())
        })
    }

    /// The schemas among `names` that exist in database `db`, with owner and CREATE
    /// grantees (read on a pinned session inside the database).
    pub fn schema_facts<'a>(
        &'a self,
        db: &'a str,
        names: &'a [&'a str],
    ) -> crate::backends::BoxFut<'a, Result<Vec<SchemaFacts>, PgError>> {
        self.interruptible(async move {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            let mut conn = self.connect_to(db).await?;
            let rows: Result<Vec<SchemaRow>, PgError> = sqlx::query_as(crate::sql::SCHEMA_FACTS)
                .bind(&names)
                .fetch_all(&mut conn)
                .await
                .map_err(|e| self.error(e));
            let _ = conn.close().await;
            Ok(rows?
                .into_iter()
                .map(|(name, owner, owner_is_admin, creators)| SchemaFacts {
                    name,
                    owner,
                    owner_is_admin,
                    creators,
                })
                .collect())
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

    /// The databases role `owner` owns, sorted.
    pub fn databases_owned_by<'a>(
        &'a self,
        owner: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<Vec<String>, PgError>> {
        self.interruptible(async move {
            sqlx::query_scalar(crate::sql::DATABASES_OWNED_BY)
                .bind(owner)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Expired logins named like `like` (a LIKE pattern) that belong to any of `groups`
    /// (at most 20): Vault logins whose revocation failed.
    pub fn expired_group_logins<'a>(
        &'a self,
        like: &'a str,
        groups: &'a [String],
    ) -> crate::backends::BoxFut<'a, Result<Vec<String>, PgError>> {
        self.interruptible(async move {
            sqlx::query_scalar(crate::sql::EXPIRED_GROUP_LOGINS)
                .bind(like)
                .bind(groups)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// The groups `login` is a direct member of, sorted.
    pub fn login_groups<'a>(
        &'a self,
        login: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<Vec<String>, PgError>> {
        self.interruptible(async move {
            sqlx::query_scalar(crate::sql::LOGIN_GROUPS)
                .bind(login)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// What the catalog says about login `name` (a static rotation role's), `None` when
    /// there is no such role.
    pub fn login_facts<'a>(
        &'a self,
        name: &'a str,
    ) -> crate::backends::BoxFut<
        'a,
        Result<Option<crate::resources::role_guard::PgLoginFacts>, PgError>,
    > {
        self.interruptible(async move {
            type Row = (bool, bool, bool, bool, bool, bool, bool, Vec<String>);
            let row: Option<Row> = sqlx::query_as(crate::sql::POSTGRES_LOGIN_FACTS)
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(row.map(
                |(
                    can_login,
                    superuser,
                    createrole,
                    createdb,
                    replication,
                    bypassrls,
                    is_admin,
                    member_of,
                )| {
                    crate::resources::role_guard::PgLoginFacts {
                        can_login,
                        superuser,
                        createrole,
                        createdb,
                        replication,
                        bypassrls,
                        is_admin,
                        member_of,
                        elsewhere: Vec::new(),
                    }
                },
            ))
        })
    }

    /// Whether extension `name`'s control file pins the schema it installs into.
    pub fn extension_pinned<'a>(
        &'a self,
        name: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<bool, PgError>> {
        self.interruptible(async move {
            let row: Option<(Option<String>,)> =
                sqlx::query_as(crate::sql::EXTENSION_PINNED_SCHEMA)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| self.error(e))?;
            Ok(matches!(row, Some((Some(_),))))
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

/// Logs in as a tenant through `host:port` (PgBouncer for apps), with TLS checked as
/// `mode` against `files` (see `Backends::postgres_app_tls`), and runs a trivial query:
/// what an app would do first. The error names the endpoint and the login, never
/// the password. Sends no startup parameter beyond user, database and application_name,
/// which PgBouncer may refuse.
pub async fn verify_login(
    (host, port): (&str, u16),
    (mode, files): (SslMode, &crate::backends::settings::TlsFiles),
    database: &str,
    username: &str,
    password: &str,
) -> Result<(), String> {
    let options = PgConnectOptions::new()
        .host(host)
        .port(port)
        .database(database)
        .username(username)
        .password(password)
        .extra_float_digits(None)
        .statement_cache_capacity(0)
        .disable_statement_logging();
    let options = with_tls(options, mode, files);
    let mut conn = tokio::time::timeout(Duration::from_secs(15), options.connect())
        .await
        .map_err(|_| format!("timed out logging in to {host}:{port}"))?
        .map_err(|e| {
            let text = crate::backends::error_chain(&e);
            let how = tls_check_text(mode, files.ca_cert.as_deref());
            match crate::backends::tls_failure(&text, &how) {
                Some(tls) => format!("login to {host}:{port}/{database} as {username}: {tls}"),
                None => format!("login to {host}:{port}/{database} as {username} failed: {e}"),
            }
        })?;
    let r = sqlx::Executor::execute(&mut conn, sqlx::raw_sql(crate::sql::LOGIN_CHECK))
        .await
        .map(|_| ())
        .map_err(|e| format!("query as {username} on {host}:{port}/{database} failed: {e}"));
    let _ = conn.close().await;
    r
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

#[cfg(test)]
mod tests {
    use super::*;

    fn e(code: &str, message: &str) -> PgError {
        PgError {
            host: "h".into(),
            port: 1,
            message: message.into(),
            code: Some(code.into()),
        }
    }

    #[test]
    fn admin_sessions_pin_search_path_and_role_at_start_up() {
        let s = PostgresSettings {
            host: "db".into(),
            port: 5432,
            username: "admin".into(),
            password: crate::backends::settings::Secret::default(),
            database: "postgres".into(),
            sslmode: SslMode::Disable,
            connect_timeout: 10,
            tls_files: Default::default(),
        };
        let options = admin_options(&s, "admin", "pw");
        let sent = options.get_options().unwrap_or_default();
        assert!(sent.contains("-c search_path=pg_catalog,pg_temp"), "{sent}");
        assert!(sent.contains("-c role=none"), "{sent}");
        assert!(sent.contains("-c local_preload_libraries= "), "{sent}");
        assert!(
            sent.contains("-c default_transaction_read_only=off"),
            "{sent}"
        );
        // No value holds whitespace: the server splits the option string on it.
        for (_, v) in ADMIN_SESSION_SETTINGS {
            assert!(!v.contains(char::is_whitespace), "{v}");
        }
        // Every connection into a tenant database is these options with another database.
        let tenant = options.clone().database("shop");
        assert_eq!(tenant.get_options(), options.get_options());
    }

    #[test]
    fn a_session_without_the_pinned_settings_is_refused() {
        assert_eq!(check_pinned("pg_catalog,pg_temp", "none"), Ok(()));
        assert_eq!(check_pinned("pg_catalog, pg_temp", "none"), Ok(()));
        for (path, role) in [
            ("public, pg_catalog", "none"),
            ("\"$user\", public", "none"),
            ("pg_catalog, public", "none"),
            ("pg_catalog,pg_temp", "shop_owner"),
        ] {
            assert!(check_pinned(path, role).is_err(), "{path} {role}");
        }
    }

    #[test]
    fn concurrent_ddl_errors_are_retried_and_others_are_not() {
        assert!(retryable(&e("XX000", "tuple concurrently updated")));
        assert!(retryable(&e(
            "55006",
            "source database \"template1\" is being accessed by other users"
        )));
        assert!(retryable(&e("40P01", "deadlock detected")));
        assert!(!retryable(&e("42P04", "database \"x\" already exists")));
        assert!(!retryable(&e("XX000", "some other internal error")));
    }

    /// The root certificate of `options` as sqlx keeps it (no getter exists; `Debug` shows it).
    fn root_cert_of(options: &PgConnectOptions) -> String {
        let debug = format!("{options:?}");
        let start = debug
            .find("ssl_root_cert: ")
            .expect("options show ssl_root_cert");
        let rest = &debug[start..];
        rest[..rest.find(", ssl_client_cert").unwrap_or(rest.len())].to_string()
    }

    #[test]
    fn with_tls_sets_the_mode_and_the_configured_ca() {
        let no_ca = crate::backends::settings::TlsFiles::default();
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            let options = with_tls(PgConnectOptions::new_without_pgpass(), mode, &no_ca);
            let want = format!("{:?}", ssl_mode(mode));
            assert_eq!(format!("{:?}", options.get_ssl_mode()), want);
        }
        let own = crate::backends::settings::TlsFiles {
            ca_cert: Some("/etc/pgbouncer-ca.pem".into()),
            ..Default::default()
        };
        let options = with_tls(
            PgConnectOptions::new_without_pgpass(),
            SslMode::VerifyFull,
            &own,
        );
        assert!(root_cert_of(&options).contains("/etc/pgbouncer-ca.pem"));
        assert_eq!(format!("{:?}", options.get_ssl_mode()), "VerifyFull");
    }
}
