//! MySQL/MariaDB admin client: one lazily opened pool per provider process (at most
//! `mysql.max_connections` sessions, default 4), the server dialect detected once on its first connection,
//! TLS per the provider block's `tls` mode, and retries for the errors concurrent DDL
//! raises on InnoDB Cluster. Catalog rows decode by column name into the structs of
//! `rows.rs`.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};
use tokio::sync::OnceCell;

use crate::backends::settings::{MysqlSettings, TlsFiles};
use crate::backends::BoxFut;
use crate::enums::MysqlTls;
use crate::sql::mysql::{MysqlAccount, MysqlGrant, MysqlGrantLevel, RoutineKind};
use crate::sql::{self, MysqlDialect};

mod rows;
mod vault_admin;

pub use vault_admin::VaultAdminAccount;

pub use rows::{
    AccountFootprint, AccountRow, GrantRow, Grantee, GranteePrivilege, GranteeSchema, NamedRow,
    SchemaInfo, Session,
};

/// How long an operation may wait for a pooled connection (20 parallel resources share
/// `max_connections`, 4 by default).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(90);

/// A MySQL failure, naming the server and provider block.
#[derive(Debug, Clone, thiserror::Error)]
#[error("MySQL at {host}:{port} (provider block `mysql`): {message}")]
pub struct MysqlError {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// What went wrong (never contains a password).
    pub message: String,
    /// The server's error number, when it sent one (e.g. 1007 database exists).
    pub code: Option<u16>,
}

/// Whether the server knows a character set, and whether a collation applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharsetCheck {
    /// The server has the character set.
    pub known: bool,
    /// The collation asked about exists and applies to it (true when none was asked).
    pub collation_applies: bool,
}

/// What the server says about the account a static MySQL role would rotate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MysqlLoginFacts {
    /// An account of that user name exists (any host).
    pub exists: bool,
    /// Whether it is the provider's admin user.
    pub is_admin: bool,
    /// Global privileges (`USER_PRIVILEGES`), `USAGE` left out.
    pub global_privileges: Vec<String>,
    /// Schemas other than the tenant's it holds privileges in.
    pub other_schemas: Vec<String>,
}

/// An account whose grants reach a database, and what else it holds (what decides
/// whether destroy may drop it or only revokes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DatabaseAccount {
    /// The account (or role).
    pub account: MysqlAccount,
    /// Its grant rows that may reach the database (database-level patterns matching its
    /// name, table and routine grants in it).
    pub grants: Vec<MysqlGrant>,
    /// Every database-level pattern it holds a grant on, this database's included.
    pub db_patterns: Vec<String>,
    /// It holds a global privilege (or a global GRANT OPTION).
    pub global: bool,
    /// Table and routine grants it holds on other databases.
    pub other_objects: u64,
    /// Proxy grants it holds (it may act as another account).
    pub proxies: u64,
    /// Roles granted to it.
    pub roles_held: u64,
    /// It is a role (MariaDB), or is granted to other accounts as one (MySQL 8).
    pub is_role: bool,
    /// Accounts that may proxy as it.
    pub proxied_by: Vec<MysqlAccount>,
}

/// Who may reach a database by its grants, as destroy needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DatabaseAccess {
    /// Every account with a grant row that may reach the database.
    pub accounts: Vec<DatabaseAccount>,
    /// Database-level grant patterns are read literally (MySQL 8 `partial_revokes`).
    pub literal_patterns: bool,
}

/// The pool and what the first connection learnt about the server.
struct Ready {
    pool: Pool,
    dialect: MysqlDialect,
}

/// The admin side of MySQL/MariaDB.
pub struct Mysql {
    host: String,
    port: u16,
    user: String,
    password: String,
    tls: MysqlTls,
    tls_files: TlsFiles,
    /// `mysql.connect_timeout`: how long a new connection (TCP, TLS, handshake) may take
    /// before the server counts as unreachable.
    connect_timeout: Duration,
    /// Most sessions the pool opens at once (`mysql.max_connections`).
    max_connections: usize,
    // Built on first use; a failure is kept too, so 50 parallel resources against an
    // unreachable server fail at once instead of each waiting out its own timeout.
    ready: OnceCell<Result<Ready, MysqlError>>,
    /// Ends connects, acquires and retry back-offs on Ctrl-C.
    stop: crate::backends::interrupt::Stop,
}

/// MySQL's `tls` modes as the MySQL clients define them: `preferred` and `required` encrypt
/// without verifying the certificate, `verify_ca` checks the chain, `verify_identity`
/// also the host name. The trust anchors are `ca_cert_file` when set (alone, as
/// `--ssl-ca`), else the built-in (webpki) roots; a client certificate goes with any mode.
fn ssl_opts(mode: MysqlTls, files: &TlsFiles) -> Option<SslOpts> {
    let mut opts = match mode {
        MysqlTls::Disabled => return None,
        MysqlTls::VerifyIdentity => SslOpts::default(),
        MysqlTls::VerifyCa => SslOpts::default().with_danger_skip_domain_validation(true),
        MysqlTls::Preferred | MysqlTls::Required => SslOpts::default()
            .with_danger_accept_invalid_certs(true)
            .with_danger_skip_domain_validation(true),
    };
    if let Some(ca) = &files.ca_cert {
        opts = opts
            .with_root_certs(vec![std::path::PathBuf::from(ca).into()])
            .with_disable_built_in_roots(true);
    }
    if let Some((cert, key)) = files.client_pair() {
        opts = opts.with_client_identity(Some(mysql_async::ClientIdentity::new(
            std::path::PathBuf::from(cert).into(),
            std::path::PathBuf::from(key).into(),
        )));
    }
    Some(opts)
}

/// What was checked, for error text: `tls verify_identity against /ca.pem`.
fn tls_check_text(mode: MysqlTls, files: &TlsFiles) -> String {
    match mode {
        MysqlTls::VerifyCa | MysqlTls::VerifyIdentity => format!("tls {mode}{}", files.against()),
        _ => format!("tls {mode}"),
    }
}

/// The error of a connection that did not complete within `mysql.connect_timeout`.
fn no_answer(within: Duration) -> mysql_async::Error {
    mysql_async::Error::Other(
        format!(
            "no answer within {} s (mysql.connect_timeout); check mysql.host/port, mysql.tls and the network",
            within.as_secs()
        )
        .into(),
    )
}

/// Server error numbers worth retrying: deadlock, lock wait timeout, too many
/// connections, and InnoDB Cluster's group-replication rollbacks under conflicting DDL.
fn retryable(code: Option<u16>) -> bool {
    matches!(code, Some(1213 | 1205 | 1040 | 3100 | 3101))
}

impl Mysql {
    /// Connection settings for `s` with the resolved user and password. Opens nothing.
    pub fn new(s: &MysqlSettings, username: &str, password: &str) -> Self {
        crate::backends::install_crypto_provider();
        Mysql {
            stop: crate::backends::interrupt::Stop::new(),
            host: s.host.clone(),
            port: s.port,
            user: username.to_string(),
            password: password.to_string(),
            tls: s.tls,
            tls_files: s.tls_files.clone(),
            connect_timeout: Duration::from_secs(s.connect_timeout.max(1)),
            max_connections: usize::try_from(s.max_connections.max(1)).unwrap_or(1),
            ready: OnceCell::new(),
        }
    }

    /// This client, its waits ended by `stop` (Terraform's Ctrl-C).
    pub fn stopped_by(self, stop: crate::backends::interrupt::Stop) -> Self {
        Mysql { stop, ..self }
    }

    fn fail(&self, message: impl Into<String>, code: Option<u16>) -> MysqlError {
        MysqlError {
            host: self.host.clone(),
            port: self.port,
            message: message.into(),
            code,
        }
    }

    /// Wraps a driver error with this server's address.
    pub fn error(&self, e: mysql_async::Error) -> MysqlError {
        let text = crate::backends::error_chain(&e);
        if matches!(e, mysql_async::Error::Server(_)) {
            // The server answered: whatever it says is not about the TLS handshake.
        } else if let Some(tls) =
            crate::backends::tls_failure(&text, &tls_check_text(self.tls, &self.tls_files))
        {
            return self.fail(
                format!(
                    "{tls}; check mysql.tls, ca_cert_file, client_cert_file and client_key_file"
                ),
                None,
            );
        }
        match e {
            mysql_async::Error::Server(s) => {
                let message = match s.code {
                    // 1698: MariaDB's answer when an account that may also use unix_socket fails.
                    1045 | 1698 => format!("authentication failed for the admin user: {}", s.message),
                    1044 | 1142 | 1227 => format!(
                        "the admin user lacks a privilege: {}; it needs CREATE, ALTER and DROP on the tenant databases, SELECT on the mysql schema, CREATE USER, and PROCESS with CONNECTION_ADMIN (MariaDB: CONNECTION ADMIN or SUPER) to end tenant sessions on destroy",
                        s.message
                    ),
                    _ => s.message,
                };
                self.fail(message, Some(s.code))
            }
            mysql_async::Error::Io(io) => self.fail(
                format!("cannot connect: {io}; check mysql.host/port, mysql.tls and that the server is running"),
                None,
            ),
            mysql_async::Error::Driver(d) => self.fail(d.to_string(), None),
            other => self.fail(other.to_string(), None),
        }
    }

    fn pool_for(&self, tls: Option<SslOpts>) -> Pool {
        // The budget (issue 23): at most `max_connections` sessions, every operation
        // waiting for a free one; no operation holds two at once.
        let constraints = PoolConstraints::new(0, self.max_connections.max(1)).unwrap_or_default();
        let opts = OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.clone()))
            // Otherwise a loopback server is re-dialled through its unix socket, where
            // the same account may authenticate differently.
            .prefer_socket(false)
            .ssl_opts(tls)
            .pool_opts(
                PoolOpts::default()
                    .with_constraints(constraints)
                    .with_inactive_connection_ttl(Duration::from_secs(60)),
            );
        Pool::new(opts)
    }

    fn probe<'a>(&'a self, pool: &'a Pool) -> BoxFut<'a, Result<String, mysql_async::Error>> {
        Box::pin(async move {
            let connect = pool.get_conn();
            let mut conn = match tokio::time::timeout(self.connect_timeout, connect).await {
                Ok(c) => c?,
                Err(_) => return Err(no_answer(self.connect_timeout)),
            };
            let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
            Ok(version.unwrap_or_default())
        })
    }

    fn ready(&self) -> BoxFut<'_, Result<&Ready, MysqlError>> {
        Box::pin(async move {
            // Interrupted, the cell stays empty: the interruption is not kept as the outcome.
            let during = "connecting to MySQL";
            let r =
                crate::backends::interrupt::unless_stopped(&self.stop, during, self.ready_once())
                    .await
                    .map_err(|i| self.fail(i.to_string(), None))?;
            r.as_ref().map_err(Clone::clone)
        })
    }

    /// [`Self::ready`]'s work: the pool and its first connection, once per process.
    fn ready_once(&self) -> BoxFut<'_, &Result<Ready, MysqlError>> {
        Box::pin(async move {
            self
                .ready
                .get_or_init(|| async {
                    let mut pool = self.pool_for(ssl_opts(self.tls, &self.tls_files));
                    let mut probed = self.probe(&pool).await;
                    if self.tls == MysqlTls::Preferred
                        && matches!(
                            &probed,
                            Err(mysql_async::Error::Driver(
                                mysql_async::DriverError::NoClientSslFlagFromServer
                            ))
                        )
                    {
                        // `preferred`: the server offers no TLS, so speak plain.
                        tracing::debug!(host = %self.host, port = self.port, "MySQL server offers no TLS; tls = preferred falls back to plain");
                        let _ = pool.disconnect().await;
                        pool = self.pool_for(None);
                        probed = self.probe(&pool).await;
                    }
                    match probed {
                        Ok(version) => {
                            let dialect = MysqlDialect::from_version(&version);
                            tracing::debug!(host = %self.host, port = self.port, %version, ?dialect, "MySQL server detected");
                            Ok(Ready { pool, dialect })
                        }
                        Err(e) => Err(self.error(e)),
                    }
                })
                .await
        })
    }

    /// The admin user this client logs in as.
    pub fn admin_user(&self) -> &str {
        &self.user
    }

    /// The server's dialect (detected once, on the pool's first connection).
    pub fn dialect(&self) -> BoxFut<'_, Result<MysqlDialect, MysqlError>> {
        Box::pin(async move { Ok(self.ready().await?.dialect) })
    }

    fn conn(&self) -> BoxFut<'_, Result<Conn, MysqlError>> {
        Box::pin(async move {
            let ready = self.ready().await?;
            let acquire = tokio::time::timeout(ACQUIRE_TIMEOUT, ready.pool.get_conn());
            let during = "waiting for a MySQL connection";
            let acquired = crate::backends::interrupt::unless_stopped(&self.stop, during, acquire)
                .await
                .map_err(|i| self.fail(i.to_string(), None))?;
            match acquired {
                Ok(c) => c.map_err(|e| self.error(e)),
                Err(_) => Err(self.fail(
                    format!(
                        "timed out after {}s waiting for a connection",
                        ACQUIRE_TIMEOUT.as_secs()
                    ),
                    None,
                )),
            }
        })
    }

    /// The comment of database `name` (MariaDB 10.5+); `None` when absent or when the
    /// server keeps no database comments (MySQL 8).
    pub fn schema_comment<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFut<'a, Result<Option<String>, MysqlError>> {
        Box::pin(async move {
            if !self.dialect().await?.schema_comments() {
                return Ok(None);
            }
            let mut conn = self.conn().await?;
            conn.exec_first(sql::MARIADB_SCHEMA_COMMENT_QUERY, (name,))
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// The default character set and collation of database `name`; `None` when absent.
    pub fn schema<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFut<'a, Result<Option<SchemaInfo>, MysqlError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            conn.exec_first(sql::MYSQL_SCHEMA_QUERY, (name,))
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Whether the server knows `charset`, and (when given) whether `collation` applies to it.
    pub fn charset_check<'a>(
        &'a self,
        charset: &'a str,
        collation: Option<&'a str>,
    ) -> BoxFut<'a, Result<CharsetCheck, MysqlError>> {
        Box::pin(async move {
            let dialect = self.dialect().await?;
            let mut conn = self.conn().await?;
            let known: Option<i64> = conn
                .exec_first(sql::MYSQL_CHARSET_QUERY, (charset,))
                .await
                .map_err(|e| self.error(e))?;
            let applies = match collation {
                Some(c) if known.is_some() => conn
                    .exec_first::<i64, _, _>(dialect.collation_applies_query(), (charset, c))
                    .await
                    .map_err(|e| self.error(e))?
                    .is_some(),
                _ => true,
            };
            Ok(CharsetCheck {
                known: known.is_some(),
                collation_applies: applies,
            })
        })
    }

    /// Accounts whose grants (database, table or routine level) reach a database
    /// called `name`.
    pub fn grants_reaching<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFut<'a, Result<Vec<Grantee>, MysqlError>> {
        Box::pin(async move {
            let dialect = self.dialect().await?;
            let mut conn = self.conn().await?;
            conn.exec(dialect.grants_reaching_query(), (name, name, name, name))
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Every account whose grants may reach database `name` (database, table and
    /// routine level, roles included), with what else each holds.
    pub fn database_access<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFut<'a, Result<DatabaseAccess, MysqlError>> {
        Box::pin(async move {
            let dialect = self.dialect().await?;
            let mut conn = self.conn().await?;
            let fail = |e| self.error(e);
            let literal: Option<i64> = conn
                .query_first(dialect.literal_grant_patterns_query())
                .await
                .map_err(fail)?;
            let escaped = sql::mysql::mysql_grant_db_pattern(name);
            let rows: Vec<GrantRow> = conn
                .exec(
                    sql::mysql::MYSQL_GRANTS_ON_DATABASE_QUERY,
                    (name, name, escaped.as_str(), name, name),
                )
                .await
                .map_err(fail)?;
            let mut accounts: Vec<DatabaseAccount> = Vec::new();
            for row in rows {
                let level = match row.level.as_str() {
                    "database" => MysqlGrantLevel::Database,
                    "table" => MysqlGrantLevel::Table,
                    other => match RoutineKind::parse(other) {
                        Some(kind) => MysqlGrantLevel::Routine(kind),
                        None => {
                            return Err(self.fail(
                                format!("unknown routine type {other:?} in mysql.procs_priv"),
                                None,
                            ))
                        }
                    },
                };
                let grant = MysqlGrant {
                    level,
                    db: row.db,
                    object: row.object,
                    grant_option: row.grant_option != 0,
                };
                match accounts
                    .iter_mut()
                    .find(|a| a.account.user == row.user && a.account.host == row.host)
                {
                    Some(a) => a.grants.push(grant),
                    None => accounts.push(DatabaseAccount {
                        account: MysqlAccount {
                            user: row.user,
                            host: row.host,
                            mariadb_role: false,
                        },
                        grants: vec![grant],
                        ..DatabaseAccount::default()
                    }),
                }
            }
            for a in &mut accounts {
                let (user, host) = (a.account.user.as_str(), a.account.host.as_str());
                let counts: Option<AccountFootprint> = conn
                    .exec_first(
                        dialect.account_footprint_query(),
                        mysql_async::Params::Named(
                            [
                                ("u", user.to_string()),
                                ("h", host.to_string()),
                                ("g", a.account.grantee()),
                                ("d", name.to_string()),
                            ]
                            .into_iter()
                            .map(|(k, v)| (k.as_bytes().to_vec(), mysql_async::Value::from(v)))
                            .collect(),
                        ),
                    )
                    .await
                    .map_err(fail)?;
                let counts = counts.unwrap_or_default();
                a.global = counts.global_privileges > 0;
                a.other_objects = counts.other_objects.unsigned_abs();
                a.proxies = counts.proxies.unsigned_abs();
                a.roles_held = counts.roles_held.unsigned_abs();
                a.is_role = counts.is_role > 0;
                a.account.mariadb_role = a.is_role && dialect != MysqlDialect::Mysql8;
                a.db_patterns = conn
                    .exec(sql::mysql::MYSQL_ACCOUNT_DB_PATTERNS_QUERY, (user, host))
                    .await
                    .map_err(fail)?;
                let proxied: Vec<AccountRow> = conn
                    .exec(sql::mysql::MYSQL_PROXIES_OF_QUERY, (user, host))
                    .await
                    .map_err(fail)?;
                a.proxied_by = proxied
                    .into_iter()
                    .map(|p| MysqlAccount {
                        user: p.user,
                        host: p.host,
                        mariadb_role: false,
                    })
                    .collect();
            }
            accounts.sort_by(|a, b| a.account.cmp(&b.account));
            Ok(DatabaseAccess {
                accounts,
                literal_patterns: literal.unwrap_or(0) != 0,
            })
        })
    }

    /// What the server says about user `name` (a static rotation role's) with respect
    /// to tenant database `database`: whether it exists, is this client's admin, its
    /// global privileges and the other databases it holds privileges in.
    pub fn login_facts<'a>(
        &'a self,
        name: &'a str,
        database: &'a str,
    ) -> BoxFut<'a, Result<MysqlLoginFacts, MysqlError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let count: Option<i64> = conn
                .exec_first(sql::MYSQL_USER_EXISTS, (name,))
                .await
                .map_err(|e| self.error(e))?;
            let mine = |grantee: &str| sql::mysql_grantee_user(grantee).as_deref() == Some(name);
            let global: Vec<GranteePrivilege> = conn
                .query(sql::MYSQL_GLOBAL_PRIVILEGES)
                .await
                .map_err(|e| self.error(e))?;
            let schemas: Vec<GranteeSchema> = conn
                .query(sql::MYSQL_SCHEMA_PRIVILEGES)
                .await
                .map_err(|e| self.error(e))?;
            let tables: Vec<GranteeSchema> = conn
                .query(sql::MYSQL_TABLE_PRIVILEGES)
                .await
                .map_err(|e| self.error(e))?;
            let escaped = database.replace('_', "\\_").replace('%', "\\%");
            let mut other_schemas: Vec<String> = schemas
                .into_iter()
                .filter(|s| mine(&s.grantee) && s.schema_name != escaped)
                .chain(
                    tables
                        .into_iter()
                        .filter(|s| mine(&s.grantee) && s.schema_name != database),
                )
                .map(|s| s.schema_name)
                .collect();
            other_schemas.sort();
            other_schemas.dedup();
            Ok(MysqlLoginFacts {
                exists: count.unwrap_or(0) > 0,
                is_admin: name == self.user,
                global_privileges: global
                    .into_iter()
                    .filter(|p| mine(&p.grantee) && p.privilege != "USAGE")
                    .map(|p| p.privilege)
                    .collect(),
                other_schemas,
            })
        })
    }

    /// The server's sessions other than this one, without its own threads.
    pub fn sessions(&self) -> BoxFut<'_, Result<Vec<Session>, MysqlError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            conn.query(sql::mysql::MYSQL_SESSIONS_QUERY)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Ends the sessions `ids`; one that already ended is no error.
    pub fn end_sessions<'a>(&'a self, ids: &'a [u64]) -> BoxFut<'a, Result<(), MysqlError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            for id in ids {
                match conn
                    .query_drop(sql::mysql::mysql_kill_connection(*id))
                    .await
                {
                    Ok(()) => {}
                    Err(mysql_async::Error::Server(e))
                        if e.code == sql::mysql::MYSQL_UNKNOWN_THREAD => {}
                    Err(e) => return Err(self.error(e)),
                }
            }
            Ok(())
        })
    }

    /// Issue 22: the server's `SELECT VERSION()` (whether it keeps dual passwords).
    pub fn server_version(&self) -> BoxFut<'_, Result<Option<String>, MysqlError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            conn.query_first("SELECT VERSION()")
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Runs statements one after another on one pooled connection, retrying the whole
    /// batch on deadlocks and group-replication conflicts with bounded, jittered backoff.
    pub fn exec<'a>(&'a self, statements: &'a [String]) -> BoxFut<'a, Result<(), MysqlError>> {
        Box::pin(async move {
            for s in statements {
                sql::check_statement(s)
                    .map_err(|e| self.fail(format!("{e}; nothing was sent"), None))?;
            }
            let mut attempt = 1u32;
            let mut delay = Duration::from_millis(25);
            loop {
                let result = async {
                    let mut conn = self.conn().await?;
                    for s in statements {
                        conn.query_drop(s.as_str())
                            .await
                            .map_err(|e| self.error(e))?;
                    }
                    Ok::<(), MysqlError>(())
                }
                .await;
                match result {
                    Err(e) if retryable(e.code) && attempt < 8 => {
                        tracing::debug!(attempt, code = ?e.code, "retrying MySQL statement after a concurrency error");
                        let jitter = Duration::from_millis(rand::random::<u64>() % 25);
                        crate::backends::interrupt::pause(&self.stop, delay + jitter)
                            .await
                            .map_err(|i| self.fail(i.to_string(), e.code))?;
                        delay = (delay * 2).min(Duration::from_millis(1600));
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        })
    }
}

/// Logs in as a tenant through the endpoint apps use (`mysql.host:port`, with the
/// block's `tls` mode) into `database` (none when empty) and runs a trivial query: what
/// an app would do first. The error names the endpoint and the login, never the password.
pub fn verify_login<'a>(
    s: &'a MysqlSettings,
    database: &'a str,
    username: &'a str,
    password: &'a str,
) -> BoxFut<'a, Result<(), String>> {
    Box::pin(async move {
        crate::backends::install_crypto_provider();
        let (host, port) = (&s.host, s.port);
        let opts = |tls: Option<SslOpts>| {
            OptsBuilder::default()
                .ip_or_hostname(host.clone())
                .tcp_port(port)
                .user(Some(username))
                .pass(Some(password))
                .db_name((!database.is_empty()).then_some(database))
                .prefer_socket(false)
                .ssl_opts(tls)
        };
        let within = Duration::from_secs(s.connect_timeout.max(1));
        let connect = |tls| async move {
            match tokio::time::timeout(within, Conn::new(opts(tls))).await {
                Ok(r) => r,
                Err(_) => Err(no_answer(within)),
            }
        };
        // The same TLS files as the admin pool: the server's certificate is checked the
        // same way, and a server that wants client certificates gets one.
        let mut conn = connect(ssl_opts(s.tls, &s.tls_files)).await;
        if s.tls == MysqlTls::Preferred
            && matches!(
                &conn,
                Err(mysql_async::Error::Driver(
                    mysql_async::DriverError::NoClientSslFlagFromServer
                ))
            )
        {
            // `preferred`: the server offers no TLS, so speak plain, as the admin pool does.
            conn = connect(None).await;
        }
        let failed = |e: mysql_async::Error| {
            let why = match e {
                mysql_async::Error::Server(s) => s.message,
                other => other.to_string(),
            };
            format!("login to {host}:{port}/{database} as {username} failed: {why}")
        };
        let mut conn = conn.map_err(failed)?;
        let r = conn
            .query_drop(sql::MYSQL_LOGIN_CHECK)
            .await
            .map_err(|e| format!("query as {username} on {host}:{port}/{database} failed: {e}"));
        let _ = conn.disconnect().await;
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_modes() {
        assert!(ssl_opts(MysqlTls::Disabled, &TlsFiles::default()).is_none());
        let preferred = ssl_opts(MysqlTls::Preferred, &TlsFiles::default()).unwrap_or_default();
        assert!(preferred.accept_invalid_certs() && preferred.skip_domain_validation());
        let ca = ssl_opts(MysqlTls::VerifyCa, &TlsFiles::default()).unwrap_or_default();
        assert!(!ca.accept_invalid_certs() && ca.skip_domain_validation());
        let full = ssl_opts(MysqlTls::VerifyIdentity, &TlsFiles::default()).unwrap_or_default();
        assert!(!full.accept_invalid_certs() && !full.skip_domain_validation());
    }

    #[test]
    fn concurrency_errors_are_retried_and_others_are_not() {
        for code in [1213, 1205, 3101] {
            assert!(retryable(Some(code)), "{code}");
        }
        for code in [1007, 1045, 1115] {
            assert!(!retryable(Some(code)), "{code}");
        }
        assert!(!retryable(None));
    }

    #[test]
    fn errors_name_the_server_and_block() {
        let m = Mysql::new(
            &MysqlSettings {
                host: "db".into(),
                port: 3306,
                username: "root".into(),
                password: crate::backends::settings::Secret::Plain("hunter2".into()),
                tls: MysqlTls::Preferred,
                tls_files: TlsFiles::default(),
                connect_timeout: 10,
                max_connections: crate::domain::defaults::MAX_CONNECTIONS,
            },
            "root",
            "hunter2",
        );
        let text = m.fail("boom", None).to_string();
        assert_eq!(text, "MySQL at db:3306 (provider block `mysql`): boom");
        assert!(!text.contains("hunter2"));
    }
}
