//! One typed client per backend system, opened lazily on first use and shared by every
//! resource of the provider process.

pub mod coalesce;
#[cfg(test)]
mod connect_timeouts;
pub mod interrupt;
pub mod lazy;
pub mod mysql;
pub mod pgbouncer;
pub mod postgres;
pub mod redis;
pub mod settings;
pub mod vault;

use lazy::Lazy;
use tokio::sync::OnceCell;

use self::redis::{Redis, RedisError};
use mysql::{Mysql, MysqlError};
use pgbouncer::PgBouncerAdmin;
use postgres::{PgError, Postgres};
use settings::{AdminLogin, Secret, Settings};
use vault::VaultClient;

/// A boxed `Send` future: backend calls return these so the futures of resource
/// operations stay provably `Send` (sqlx's executor lifetimes defeat inference otherwise).
pub type BoxFut<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A backend failure, naming where it happened so the user can act on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// The provider block a resource needs is absent.
    #[error("the provider's `{block}` block is not configured; add `{block} {{ ... }}` to provider \"dbaas\"{hint}")]
    NotConfigured {
        /// Block name.
        block: &'static str,
        /// Extra hint (environment fallbacks).
        hint: &'static str,
    },
    /// The provider block a resource needs is configured from values not known yet (at
    /// plan, from something made in the same run).
    #[error("the provider's `{block}` block is configured from values that are not known yet (resources or ephemeral credentials made in the same run); Terraform configures the provider with them at apply, so whatever reads through this provider must wait for them (reference them, or `depends_on` what makes them)")]
    NotKnownYet {
        /// Block name.
        block: &'static str,
    },
    /// A Vault request failed.
    #[error("Vault at {address} (provider block `vault`): {message}")]
    Vault {
        /// Vault address.
        address: String,
        /// What went wrong.
        message: String,
    },
    /// A PostgreSQL request failed.
    #[error(transparent)]
    Postgres(#[from] PgError),
    /// A MySQL request failed.
    #[error(transparent)]
    Mysql(#[from] MysqlError),
    /// A Redis request failed.
    #[error(transparent)]
    Redis(#[from] RedisError),
    /// A block's admin password is read from Vault KV (`password_vault_path`) and Vault
    /// failed: not configured, unreachable, its login refused, or the secret unreadable.
    #[error("the `{block}` admin password is read from Vault KV at {path} (`{block}.password_vault_path`), and that failed: {source}")]
    AdminSecret {
        /// Block name.
        block: &'static str,
        /// The KV v2 path.
        path: String,
        /// The Vault failure (its text names the address and, for a login, the method and mount).
        source: Box<BackendError>,
    },
    /// A secret could not be resolved.
    #[error("{block}: {message}")]
    Secret {
        /// Block name.
        block: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl BackendError {
    /// The one-sentence summary of this failure for the backend `what` (e.g.
    /// "PostgreSQL"): "Cannot reach <what>", except when reading its admin password from
    /// Vault failed, which says so (PostgreSQL was never tried).
    pub fn summary(&self, what: &str) -> String {
        match self {
            BackendError::AdminSecret { .. } => {
                format!("Cannot read the {what} admin password from Vault")
            }
            _ => format!("Cannot reach {what}"),
        }
    }
}

/// Credentials resolved for a backend.
#[derive(Clone)]
pub struct Credentials {
    /// Username override from Vault KV, if present.
    pub username: Option<String>,
    /// Password (empty when none configured).
    pub password: String,
}

/// The configured backends of one provider process.
pub struct Backends {
    /// What the provider block said.
    pub settings: Settings,
    vault: OnceCell<VaultClient>,
    postgres: Lazy<Postgres>,
    pgbouncer: Lazy<PgBouncerAdmin>,
    mysql: Lazy<Mysql>,
    redis: Lazy<Redis>,
    /// Rotation roles (`<mount>/<name>`) this process planned to write: an ephemeral
    /// resource opened at plan time for one of them, before it exists, answers "known
    /// after apply" instead of "no such role".
    planned_roles: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// Issue 23: catalog reads shared by the resources asking at once.
    pub shared_catalog: coalesce::SharedCatalog,
    /// Ends every client's waits when Terraform asks the provider to stop.
    stop: interrupt::Stop,
}

impl Backends {
    /// Backends for `settings`; nothing is dialled yet.
    pub fn new(settings: Settings) -> Self {
        Backends {
            settings,
            vault: OnceCell::new(),
            postgres: Lazy::default(),
            pgbouncer: Lazy::default(),
            mysql: Lazy::default(),
            redis: Lazy::default(),
            planned_roles: std::sync::Mutex::default(),
            shared_catalog: coalesce::SharedCatalog::default(),
            stop: interrupt::Stop::new(),
        }
    }

    /// These backends, with every client's connects, retries and waits ended by `stop`.
    pub fn stopped_by(self, stop: interrupt::Stop) -> Self {
        Backends { stop, ..self }
    }

    /// Records that this process planned to write the rotation role `<mount>/<name>`.
    pub fn note_planned_role(&self, mount: &str, name: &str) {
        // A poisoned lock only means another thread panicked while holding it; the
        // set itself is still a valid set of names.
        let mut roles = self
            .planned_roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        roles.insert(format!("{mount}/{name}"));
    }

    /// Whether this process planned to write the rotation role `<mount>/<name>`.
    pub fn role_is_planned(&self, mount: &str, name: &str) -> bool {
        self.planned_roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&format!("{mount}/{name}"))
    }

    /// The Vault client, built on first use.
    pub async fn vault(&self) -> Result<&VaultClient, BackendError> {
        if let Some(v) = self.vault.get() {
            return Ok(v);
        }
        let v = self
            .settings
            .vault
            .as_ref()
            .ok_or_else(|| self.absent("vault", " or set VAULT_ADDR and VAULT_TOKEN"))?;
        let token = match &v.token {
            Secret::Plain(t) => t.clone(),
            _ => String::new(),
        };
        let mut client = VaultClient::with_tls(
            &v.address,
            &token,
            &v.tls,
            v.namespace.as_deref(),
            v.connect_timeout,
        )?
        .stopped_by(self.stop.clone());
        if let (true, Some(login)) = (token.is_empty(), &v.login) {
            client = client.with_login(login.clone());
        }
        // A concurrent first use may have won the race; either client is fine.
        let _ = self.vault.set(client);
        self.vault.get().ok_or(BackendError::NotConfigured {
            block: "vault",
            hint: "",
        })
    }

    /// The settings, when every configured block is known: what a reader of the whole
    /// configuration (the endpoints data source) needs; else the first block configured
    /// from values not known yet.
    pub fn known_settings(&self) -> Result<&Settings, BackendError> {
        match self.settings.unknown.first() {
            Some(&block) => Err(BackendError::NotKnownYet { block }),
            None => Ok(&self.settings),
        }
    }

    /// Why block `block` cannot be used: configured from values not known yet, or not
    /// configured at all (`hint`: its environment fallbacks).
    fn absent(&self, block: &'static str, hint: &'static str) -> BackendError {
        if self.settings.is_unknown(block) {
            BackendError::NotKnownYet { block }
        } else {
            BackendError::NotConfigured { block, hint }
        }
    }

    /// Gives back what the process holds at exit: revokes a Vault token obtained by login.
    pub async fn shutdown(&self) {
        if let Some(v) = self.vault.get() {
            v.revoke_login().await;
        }
    }

    /// Resolves a configured password, reading Vault KV v2 when it names a path.
    pub async fn resolve(
        &self,
        secret: &Secret,
        block: &'static str,
    ) -> Result<Credentials, BackendError> {
        match secret {
            Secret::None => Ok(Credentials {
                username: None,
                password: String::new(),
            }),
            Secret::Plain(p) => Ok(Credentials {
                username: None,
                password: p.clone(),
            }),
            Secret::VaultKv(path) => {
                let in_vault = |e: BackendError| BackendError::AdminSecret {
                    block,
                    path: path.clone(),
                    source: Box::new(e),
                };
                let data = self
                    .vault()
                    .await
                    .map_err(in_vault)?
                    .kv2(path)
                    .await
                    .map_err(in_vault)?;
                let password = data
                    .get("password")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| BackendError::Secret {
                        block,
                        message: format!("the Vault secret at {path} has no string key `password`"),
                    })?
                    .to_string();
                let username = data
                    .get("username")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                Ok(Credentials { username, password })
            }
        }
    }

    /// A backend's admin client, opened once per process: the block's settings (else
    /// [`BackendError::NotConfigured`] with `hint`), its password resolved (a Vault KV
    /// `username` overrides the configured one), then `open` with the user and password.
    /// A failed open is tried again on the next use.
    async fn open_once<'a, S: AdminLogin, C, F>(
        &'a self,
        lazy: &'a Lazy<C>,
        (block, hint): (&'static str, &'static str),
        settings: Option<&'a S>,
        open: impl FnOnce(&'a S, String, String) -> F,
    ) -> Result<&'a C, BackendError>
    where
        F: std::future::Future<Output = Result<C, BackendError>>,
    {
        if let Some(c) = lazy.get() {
            return Ok(c);
        }
        let s = settings.ok_or_else(|| self.absent(block, hint))?;
        // Concurrent first uses wait for one attempt (one credential read, one probe).
        lazy.get_or_open(|| async move {
            let (password, username) = s.admin_login();
            let creds = self.resolve(password, block).await?;
            let user = creds.username.unwrap_or_else(|| username.to_string());
            open(s, user, creds.password).await
        })
        .await
    }

    /// The PostgreSQL admin client (pool opens on first query).
    pub async fn postgres(&self) -> Result<&Postgres, BackendError> {
        let s = self.settings.postgres.as_ref();
        self.open_once(
            &self.postgres,
            ("postgres", " or set PGHOST"),
            s,
            |s, user, password| async move {
                let pg = Postgres::new(s, &user, &password).stopped_by(self.stop.clone());
                // A refused port fails here at once; the pool alone would retry until its
                // timeout.
                pg.probe(std::time::Duration::from_secs(s.connect_timeout.max(1)))
                    .await?;
                Ok(pg)
            },
        )
        .await
    }

    /// The PgBouncer admin consoles, or `None` when no `pgbouncer` block is configured.
    pub async fn pgbouncer(&self) -> Result<Option<&PgBouncerAdmin>, BackendError> {
        let Some(s) = self.settings.pgbouncer.as_ref() else {
            return match self.absent("pgbouncer", "") {
                e @ BackendError::NotKnownYet { .. } => Err(e),
                _ => Ok(None),
            };
        };
        self.open_once(
            &self.pgbouncer,
            ("pgbouncer", ""),
            Some(s),
            |s, user, password| {
                if user.is_empty() {
                    // Only possible with `password_vault_path` (validate requires the
                    // attribute otherwise): never log in with an empty user name.
                    return std::future::ready(Err(BackendError::Secret {
                        block: "pgbouncer",
                        message: "no admin user: the `password_vault_path` secret has no `username` and `pgbouncer.admin_username` is unset; set one of them".into(),
                    }));
                }
                std::future::ready(Ok(PgBouncerAdmin::new(
                    s.admin_hosts.clone(),
                    &user,
                    &password,
                    s.admin_sslmode,
                    s.admin_sslrootcert.clone(),
                )
                .connect_timeout(s.connect_timeout)
                .stopped_by(self.stop.clone())))
            },
        )
        .await
        .map(Some)
    }

    /// The MySQL admin client (pool opens on first query).
    pub async fn mysql(&self) -> Result<&Mysql, BackendError> {
        let s = self.settings.mysql.as_ref();
        self.open_once(&self.mysql, ("mysql", ""), s, |s, user, password| {
            std::future::ready(Ok(
                Mysql::new(s, &user, &password).stopped_by(self.stop.clone())
            ))
        })
        .await
    }

    /// The Redis admin client (connects on first command).
    pub async fn redis(&self) -> Result<&Redis, BackendError> {
        let s = self.settings.redis.as_ref();
        self.open_once(&self.redis, ("redis", ""), s, |s, user, password| {
            std::future::ready(Ok(
                Redis::new(s, &user, &password).stopped_by(self.stop.clone())
            ))
        })
        .await
    }

    /// The host and port apps use for PostgreSQL: PgBouncer when configured, else the primary.
    pub fn postgres_app_endpoint(&self) -> Option<(String, u16)> {
        self.app_endpoint(crate::enums::Engine::Postgres)
    }

    /// The host and port apps use for `engine` (`Settings::app_endpoint`), when known.
    pub fn app_endpoint(&self, engine: crate::enums::Engine) -> Option<(String, u16)> {
        self.settings.app_endpoint(engine).known()
    }

    /// How a tenant login through [`Self::postgres_app_endpoint`] checks the server: through
    /// PgBouncer, the `pgbouncer` block's `admin_sslmode` / `admin_sslrootcert` (the same
    /// listener and certificate); directly, the `postgres` block's `sslmode` /
    /// `sslrootcert`. Never the admin's client certificate: the login is the tenant's.
    pub fn postgres_app_tls(&self) -> (crate::enums::SslMode, settings::TlsFiles) {
        let ca = |ca: &Option<String>| settings::TlsFiles {
            ca_cert: ca.clone(),
            ..Default::default()
        };
        match (&self.settings.pgbouncer, &self.settings.postgres) {
            (Some(b), _) => (b.admin_sslmode, ca(&b.admin_sslrootcert)),
            (None, Some(p)) => (p.sslmode, ca(&p.tls_files.ca_cert)),
            _ => (crate::enums::SslMode::Prefer, Default::default()),
        }
    }

    /// The Vault mount a resource uses: its own `mount` when set, else the provider's
    /// (`Settings::vault_mount`: `vault.mount` or its default).
    pub fn vault_mount(&self, configured: Option<&str>) -> String {
        configured
            .unwrap_or_else(|| self.settings.vault_mount())
            .to_string()
    }
}

/// Makes aws-lc-rs the process's rustls crypto provider (once; later calls are no-ops).
/// reqwest (Vault), mysql_async and redis build their TLS configs from the process
/// default; reqwest is built without a provider of its own (no ring in the binary).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The certificate problem a TLS failure's text names, in words a user acts on
/// (rustls reports `invalid peer certificate: UnknownIssuer` and the like), or `None`
/// when the text is not about a certificate.
pub fn certificate_problem(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    // "password has expired" and the like are not about certificates.
    if !["certificate", "tls", "ssl", "alert", "handshake"]
        .iter()
        .any(|w| t.contains(w))
    {
        return None;
    }
    let problems: &[(&[&str], &str)] = &[
        (
            &["unknownissuer", "unknown authority"],
            "certificate signed by unknown authority",
        ),
        (
            &["notvalidforname", "not valid for name"],
            "certificate is not valid for this host name",
        ),
        (&["expired"], "certificate has expired"),
        (&["notvalidyet"], "certificate is not valid yet"),
        (&["revoked"], "certificate has been revoked"),
        (
            &["badsignature", "bad signature"],
            "certificate signature is invalid",
        ),
        (
            &["certificaterequired", "certificate required"],
            "the server requires a client certificate",
        ),
        (
            &["unknownca", "unknown ca"],
            "the server does not trust the client certificate (unknown CA)",
        ),
        (
            &["badcertificate", "bad certificate", "decrypterror"],
            "the server refused the client certificate",
        ),
        (
            &["invalid peer certificate", "invalidcertificate"],
            "the server's certificate was refused",
        ),
    ];
    problems
        .iter()
        .find(|(needles, _)| needles.iter().any(|n| t.contains(n)))
        .map(|(_, what)| *what)
}

/// An error and its sources as one line (`a: b: c`): drivers wrap the TLS error that
/// says what was wrong with the certificate several layers down.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// `TLS: <certificate problem> (<how verified>; <driver text>)` when `text` is about a
/// certificate, else `None`. `how` says what was checked, e.g. `verify-full against /ca.pem`.
pub fn tls_failure(text: &str, how: &str) -> Option<String> {
    certificate_problem(text).map(|problem| format!("TLS: {problem} ({how}; {text})"))
}

#[cfg(test)]
mod tls_tests {
    use super::*;

    #[test]
    fn tenant_login_checks_use_the_endpoints_tls_never_the_admin_client_cert() {
        use crate::enums::SslMode;
        let pgbouncer = settings::PgBouncerSettings {
            host: "pgb".into(),
            port: 6432,
            admin_username: "a".into(),
            admin_password: Secret::None,
            admin_hosts: vec![],
            auth_user: "auth".into(),
            admin_sslmode: SslMode::VerifyFull,
            admin_sslrootcert: Some("/ca/pgb.pem".into()),
            connect_timeout: 10,
        };
        let mut s = Settings::default();
        assert_eq!(
            Backends::new(s.clone()).postgres_app_tls(),
            (SslMode::Prefer, Default::default())
        );
        s.pgbouncer = Some(pgbouncer);
        let (mode, files) = Backends::new(s).postgres_app_tls();
        assert_eq!(mode, SslMode::VerifyFull);
        assert_eq!(files.ca_cert.as_deref(), Some("/ca/pgb.pem"));
        assert_eq!(files.client_pair(), None);
    }

    #[test]
    fn certificate_problems_are_named() {
        assert_eq!(
            certificate_problem(
                "error communicating with database: invalid peer certificate: UnknownIssuer"
            ),
            Some("certificate signed by unknown authority")
        );
        assert_eq!(
            certificate_problem("invalid peer certificate: NotValidForName"),
            Some("certificate is not valid for this host name")
        );
        assert_eq!(
            certificate_problem("Connection refused (os error 111)"),
            None
        );
        assert_eq!(certificate_problem("Your password has expired"), None);
        assert_eq!(
            certificate_problem("received fatal alert: UnknownCA"),
            Some("the server does not trust the client certificate (unknown CA)")
        );
        let t = tls_failure(
            "invalid peer certificate: UnknownIssuer",
            "verify-full against /ca.pem",
        )
        .unwrap();
        assert!(
            t.starts_with(
                "TLS: certificate signed by unknown authority (verify-full against /ca.pem;"
            ),
            "{t}"
        );
    }

    #[test]
    fn error_chains_keep_the_innermost_cause() {
        let inner = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        let outer = std::io::Error::other(inner);
        assert!(error_chain(&outer).contains("UnknownIssuer"));
    }

    /// Runs a future that does no I/O to completion.
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
            .block_on(f)
    }

    #[test]
    fn a_block_not_known_yet_is_its_own_error_not_a_missing_block() {
        let b = Backends::new(Settings {
            unknown: vec!["postgres", "pgbouncer", "vault"],
            ..Default::default()
        });
        let not_known =
            |r: Result<(), BackendError>| matches!(r, Err(BackendError::NotKnownYet { .. }));
        assert!(not_known(block_on(b.postgres()).map(drop)));
        assert!(not_known(block_on(b.pgbouncer()).map(drop)));
        assert!(not_known(block_on(b.vault()).map(drop)));
        // A block that is simply absent stays "not configured" (PgBouncer: optional).
        assert!(matches!(
            block_on(b.mysql()).map(drop),
            Err(BackendError::NotConfigured { block: "mysql", .. })
        ));
        assert!(matches!(
            b.known_settings(),
            Err(BackendError::NotKnownYet { block: "postgres" })
        ));
        let b = Backends::new(Settings::default());
        assert!(matches!(block_on(b.pgbouncer()), Ok(None)));
        assert!(b.known_settings().is_ok());
    }

    #[test]
    fn a_resources_own_mount_wins_over_the_providers() {
        let b = Backends::new(Settings::default());
        assert_eq!(b.vault_mount(None), "database");
        assert_eq!(b.vault_mount(Some("team/db")), "team/db");
    }
}
