//! How an admin session is opened and checked: the start-up settings every admin session
//! pins, TLS options by sslmode, the check that the pinned settings took, and a tenant
//! login's first query (`verify_login`).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection};

use crate::backends::settings::PostgresSettings;
use crate::enums::SslMode;

/// Settings every admin session starts with, as start-up options (`-c name=value`), which
/// win over `ALTER DATABASE/ROLE ... SET`: a tenant owns its database and may set its
/// defaults, but never the admin's name resolution (`search_path`: no tenant schema, so no
/// planted operator or function is ever found), whom the admin acts as (`role`), which
/// libraries its session loads (`local_preload_libraries`: a missing one would refuse
/// the admin's connection) or whether it may write (`default_transaction_read_only`).
/// Nor its time limits (issue 22): a tenant's own `ALTER DATABASE ... SET
/// statement_timeout = '1ms'` (or a configured `settings` guardrail) must not cancel the
/// admin's work inside that database (extensions, `DROP OWNED` for another tenant's
/// destroy). Values hold no spaces (the server splits the option string on whitespace).
pub const ADMIN_SESSION_SETTINGS: &[(&str, &str)] = &[
    ("search_path", "pg_catalog,pg_temp"),
    ("role", "none"),
    ("local_preload_libraries", ""),
    ("default_transaction_read_only", "off"),
    ("statement_timeout", "0"),
    ("lock_timeout", "0"),
    ("idle_in_transaction_session_timeout", "0"),
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

pub(super) fn ssl_mode(mode: SslMode) -> PgSslMode {
    match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Allow => PgSslMode::Allow,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require => PgSslMode::Require,
        SslMode::VerifyCa => PgSslMode::VerifyCa,
        SslMode::VerifyFull => PgSslMode::VerifyFull,
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
