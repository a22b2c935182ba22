//! Connection settings per backend, as configured in the provider block.

use std::fmt;

use crate::domain::defaults;

/// A password: absent, given, or to be read from Vault KV v2 on first use.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Secret {
    /// Not configured.
    #[default]
    None,
    /// Given in configuration or environment.
    Plain(String),
    /// KV v2 path to read `password` (and `username`) from.
    VaultKv(String),
}

impl fmt::Debug for Secret {
    // Never print the secret itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::None => f.write_str("None"),
            Secret::Plain(_) => f.write_str("Plain(<redacted>)"),
            Secret::VaultKv(p) => write!(f, "VaultKv({p:?})"),
        }
    }
}

/// `postgres { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSettings {
    /// Primary host.
    pub host: String,
    /// Primary port.
    pub port: u16,
    /// Admin role.
    pub username: String,
    /// Admin password.
    pub password: Secret,
    /// Maintenance database.
    pub database: String,
    /// libpq sslmode.
    pub sslmode: crate::enums::SslMode,
    /// Connect timeout in seconds.
    pub connect_timeout: u64,
    /// Most sessions open at once, admin pool and tenant databases together (≥ 1).
    pub max_connections: u32,
    /// `sslrootcert`, `sslcert`, `sslkey`: CA and client certificate files.
    pub tls_files: TlsFiles,
}

/// `pgbouncer { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBouncerSettings {
    /// Host apps use.
    pub host: String,
    /// Port apps use.
    pub port: u16,
    /// Admin console user.
    pub admin_username: String,
    /// Admin console password.
    pub admin_password: Secret,
    /// Admin console of every replica.
    pub admin_hosts: Vec<(String, u16)>,
    /// PgBouncer's auth_user.
    pub auth_user: String,
    /// `admin_sslmode`: TLS mode of the admin console connections.
    pub admin_sslmode: crate::enums::SslMode,
    /// `admin_sslrootcert`: CA file the admin consoles' certificates are checked against.
    pub admin_sslrootcert: Option<String>,
    /// Connect timeout in seconds, per admin console.
    pub connect_timeout: u64,
}

/// `mysql { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlSettings {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Admin user.
    pub username: String,
    /// Admin password.
    pub password: Secret,
    /// TLS mode.
    pub tls: crate::enums::MysqlTls,
    /// `ca_cert_file`, `client_cert_file`, `client_key_file`.
    pub tls_files: TlsFiles,
    /// Connect timeout in seconds.
    pub connect_timeout: u64,
    /// Most admin sessions open at once (≥ 1).
    pub max_connections: u32,
}

/// `redis { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// ACL admin user.
    pub username: String,
    /// Its password.
    pub password: Secret,
    /// TLS mode.
    pub tls: crate::enums::RedisTls,
    /// `ca_cert_file`, `client_cert_file`, `client_key_file`.
    pub tls_files: TlsFiles,
    /// Connect timeout in seconds.
    pub connect_timeout: u64,
}

/// A block whose admin logs in with a username and a password (the password may name a
/// Vault KV path whose `username` then takes precedence).
pub trait AdminLogin {
    /// The configured password and username.
    fn admin_login(&self) -> (&Secret, &str);
}

impl AdminLogin for PostgresSettings {
    fn admin_login(&self) -> (&Secret, &str) {
        (&self.password, &self.username)
    }
}

impl AdminLogin for PgBouncerSettings {
    fn admin_login(&self) -> (&Secret, &str) {
        (&self.admin_password, &self.admin_username)
    }
}

impl AdminLogin for MysqlSettings {
    fn admin_login(&self) -> (&Secret, &str) {
        (&self.password, &self.username)
    }
}

impl AdminLogin for RedisSettings {
    fn admin_login(&self) -> (&Secret, &str) {
        (&self.password, &self.username)
    }
}

/// `vault { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultSettings {
    /// Base address without trailing slash.
    pub address: String,
    /// Token.
    pub token: Secret,
    /// Database secrets engine mount.
    pub mount: String,
    /// `ca_cert_file`, `ca_cert_dir`, `skip_tls_verify`.
    pub tls: VaultTls,
    /// `namespace`: sent as `X-Vault-Namespace` on every request.
    pub namespace: Option<String>,
    /// How to log in when no token is configured (`auth_login_*`).
    pub login: Option<VaultLogin>,
    /// `allow_custom_statements`: rotation roles may set their own statements.
    pub allow_custom_statements: bool,
    /// Connect timeout in seconds.
    pub connect_timeout: u64,
}

/// A Vault auth method the provider logs in with (`vault.auth_login_*`), on first use.
#[derive(Clone, PartialEq, Eq)]
pub enum VaultLogin {
    /// `auth_login_approle`: role ID and (when the role binds one) secret ID.
    AppRole {
        /// Auth mount path, e.g. `approle`.
        mount: String,
        /// The role's ID.
        role_id: String,
        /// The secret ID, if the role requires one.
        secret_id: Option<String>,
    },
    /// `auth_login_jwt`: a signed JWT (CI OIDC token) for a role of a `jwt` auth method.
    Jwt {
        /// Auth mount path, e.g. `jwt`.
        mount: String,
        /// Role name.
        role: String,
        /// The JWT itself.
        jwt: String,
    },
    /// `auth_login_kubernetes`: the pod's service-account token, read at login time.
    Kubernetes {
        /// Auth mount path, e.g. `kubernetes`.
        mount: String,
        /// Role name.
        role: String,
        /// File holding the service-account JWT.
        jwt_file: String,
    },
}

impl VaultLogin {
    /// The auth method's name, as Vault names its type.
    pub fn method(&self) -> &'static str {
        match self {
            VaultLogin::AppRole { .. } => "approle",
            VaultLogin::Jwt { .. } => "jwt",
            VaultLogin::Kubernetes { .. } => "kubernetes",
        }
    }

    /// The auth mount path (without `auth/`).
    pub fn mount(&self) -> &str {
        match self {
            VaultLogin::AppRole { mount, .. }
            | VaultLogin::Jwt { mount, .. }
            | VaultLogin::Kubernetes { mount, .. } => mount,
        }
    }
}

impl fmt::Debug for VaultLogin {
    // The secret ID and the JWT are credentials: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultLogin::AppRole { mount, role_id, .. } => {
                write!(
                    f,
                    "AppRole {{ mount: {mount:?}, role_id: {role_id:?}, secret_id: <redacted> }}"
                )
            }
            VaultLogin::Jwt { mount, role, .. } => {
                write!(
                    f,
                    "Jwt {{ mount: {mount:?}, role: {role:?}, jwt: <redacted> }}"
                )
            }
            VaultLogin::Kubernetes {
                mount,
                role,
                jwt_file,
            } => write!(
                f,
                "Kubernetes {{ mount: {mount:?}, role: {role:?}, jwt_file: {jwt_file:?} }}"
            ),
        }
    }
}

/// How the Vault HTTP client checks the server: a CA file and/or a directory of CA
/// files (replacing the built-in roots when either is set), or no check at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultTls {
    /// `ca_cert_file` [VAULT_CACERT].
    pub ca_cert_file: Option<String>,
    /// `ca_cert_dir` [VAULT_CAPATH].
    pub ca_cert_dir: Option<String>,
    /// `skip_tls_verify` [VAULT_SKIP_VERIFY].
    pub skip_verify: bool,
}

/// The certificate files of one backend connection, as paths checked readable at
/// configure: a CA to verify the server against, and an optional client certificate
/// with its key (both or neither).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM CA certificate(s); replaces the built-in roots when set (MySQL, Redis; the
    /// PostgreSQL driver keeps them beside it).
    pub ca_cert: Option<String>,
    /// PEM client certificate (chain).
    pub client_cert: Option<String>,
    /// PEM private key of the client certificate.
    pub client_key: Option<String>,
}

impl TlsFiles {
    /// The client certificate and key, when both are set.
    pub fn client_pair(&self) -> Option<(&str, &str)> {
        Some((self.client_cert.as_deref()?, self.client_key.as_deref()?))
    }

    /// ` against <ca>` for error text, or `` when the built-in roots are used.
    pub fn against(&self) -> String {
        self.ca_cert
            .as_deref()
            .map(|ca| format!(" against {ca}"))
            .unwrap_or_else(|| " against the built-in roots".to_string())
    }
}

/// Everything the provider block configured; `None` where a block is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// PostgreSQL admin.
    pub postgres: Option<PostgresSettings>,
    /// PgBouncer.
    pub pgbouncer: Option<PgBouncerSettings>,
    /// MySQL admin.
    pub mysql: Option<MysqlSettings>,
    /// Redis admin.
    pub redis: Option<RedisSettings>,
    /// Vault.
    pub vault: Option<VaultSettings>,
    /// Blocks configured from values not known yet (at plan, from resources or ephemeral
    /// credentials made in the same run): left out above, dialled by nothing, until
    /// Terraform configures the provider again with the values.
    pub unknown: Vec<&'static str>,
    /// The read-only endpoints apps may use (`postgres.ro_host`, `pgbouncer.ro_host`);
    /// the provider never dials them.
    pub read_only: ReadOnlyEndpoints,
}

/// `ro_host`/`ro_port` of the `postgres` and `pgbouncer` blocks, with the ports resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOnlyEndpoints {
    /// The hot standbys (CloudNativePG's `<cluster>-ro` service).
    pub postgres: Option<(String, u16)>,
    /// A PgBouncer in front of them (a CloudNativePG `Pooler` of `type: ro`).
    pub pgbouncer: Option<(String, u16)>,
}

impl Settings {
    /// Whether block `name` is configured from values not known yet.
    pub fn is_unknown(&self, name: &str) -> bool {
        self.unknown.contains(&name)
    }

    /// `vault.mount`, or its default.
    pub fn vault_mount(&self) -> &str {
        self.vault
            .as_ref()
            .map_or(defaults::VAULT_MOUNT, |v| v.mount.as_str())
    }

    /// `pgbouncer.auth_user`, or its default (also without a `pgbouncer` block: the
    /// platform's PgBouncers use it all the same).
    pub fn pgbouncer_auth_user(&self) -> &str {
        self.pgbouncer
            .as_ref()
            .map_or(defaults::AUTH_USER, |b| b.auth_user.as_str())
    }

    /// Where apps send read-only PostgreSQL traffic: the replica pooler
    /// (`pgbouncer.ro_host`), else the standbys themselves (`postgres.ro_host`), else none.
    /// A `pgbouncer` block not known yet answers none rather than the fallback behind it,
    /// as [`Settings::app_endpoint`] does.
    pub fn read_only_endpoint(&self) -> Option<(String, u16)> {
        if let Some(at) = &self.read_only.pgbouncer {
            return Some(at.clone());
        }
        if self.is_unknown("pgbouncer") {
            return None;
        }
        self.read_only.postgres.clone()
    }

    /// Whether rotation roles may set their own statements (`vault.allow_custom_statements`).
    pub fn allow_custom_statements(&self) -> bool {
        self.vault
            .as_ref()
            .is_some_and(|v| v.allow_custom_statements)
    }
}

/// Parses `host:port` (IPv6 as `[::1]:6432`).
pub fn parse_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.trim().rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return None;
    }
    Some((host.to_string(), port))
}

/// Where apps connect for an engine, as far as the provider configuration tells now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppEndpoint {
    /// Host and port.
    At(String, u16),
    /// The block it comes from holds values known only at apply (named).
    NotKnownYet(&'static str),
    /// No block gives it; the one to add is named.
    NotConfigured(&'static str),
}

impl AppEndpoint {
    /// Host and port when known.
    pub fn known(self) -> Option<(String, u16)> {
        match self {
            AppEndpoint::At(host, port) => Some((host, port)),
            _ => None,
        }
    }
}

impl Settings {
    /// The host and port apps use for `engine`, one rule for every reader (resources,
    /// their plans, `dbaas_endpoints`): PostgreSQL through PgBouncer when a `pgbouncer`
    /// block is configured, else the primary (`postgres`); MySQL and Redis their own
    /// block's. A block configured from values not known yet answers
    /// [`AppEndpoint::NotKnownYet`], never the fallback behind it.
    pub fn app_endpoint(&self, engine: crate::enums::Engine) -> AppEndpoint {
        use crate::enums::Engine;
        let known = |block: &'static str, at: Option<(String, u16)>| match at {
            Some((host, port)) => AppEndpoint::At(host, port),
            None if self.is_unknown(block) => AppEndpoint::NotKnownYet(block),
            None => AppEndpoint::NotConfigured(block),
        };
        match engine {
            Engine::Postgres => {
                if let Some(b) = &self.pgbouncer {
                    AppEndpoint::At(b.host.clone(), b.port)
                } else if self.is_unknown("pgbouncer") {
                    AppEndpoint::NotKnownYet("pgbouncer")
                } else {
                    known(
                        "postgres",
                        self.postgres.as_ref().map(|p| (p.host.clone(), p.port)),
                    )
                }
            }
            Engine::Mysql => known(
                "mysql",
                self.mysql.as_ref().map(|m| (m.host.clone(), m.port)),
            ),
            Engine::Redis => known(
                "redis",
                self.redis.as_ref().map(|r| (r.host.clone(), r.port)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_parsing() {
        assert_eq!(parse_host_port("pgb-0:6432"), Some(("pgb-0".into(), 6432)));
        assert_eq!(parse_host_port("[::1]:6432"), Some(("::1".into(), 6432)));
        for bad in ["pgb", ":6432", "pgb:0", "pgb:70000", "pgb:x", "a b:1"] {
            assert_eq!(parse_host_port(bad), None, "{bad}");
        }
    }

    #[test]
    fn secrets_are_never_printed() {
        let s = format!("{:?}", Secret::Plain("hunter2".into()));
        assert!(!s.contains("hunter2"));
        let approle = VaultLogin::AppRole {
            mount: "approle".into(),
            role_id: "rid".into(),
            secret_id: Some("hunter2".into()),
        };
        let jwt = VaultLogin::Jwt {
            mount: "jwt".into(),
            role: "ci".into(),
            jwt: "hunter2".into(),
        };
        for login in [approle, jwt] {
            let s = format!("{login:?}");
            assert!(!s.contains("hunter2") && s.contains("redacted"), "{s}");
        }
    }

    #[test]
    fn settings_answer_resolved_values_defaults_included() {
        let mut s = Settings::default();
        assert_eq!(
            (
                s.vault_mount(),
                s.pgbouncer_auth_user(),
                s.allow_custom_statements()
            ),
            ("database", "pgbouncer_auth", false),
            "no block: the defaults"
        );
        s.vault = Some(VaultSettings {
            address: "http://v:8200".into(),
            token: Secret::None,
            mount: "team/db".into(),
            tls: VaultTls::default(),
            namespace: None,
            login: None,
            allow_custom_statements: true,
            connect_timeout: 10,
        });
        s.pgbouncer = Some(PgBouncerSettings {
            host: "pgb".into(),
            port: 6432,
            admin_username: "admin".into(),
            admin_password: Secret::None,
            admin_hosts: vec![],
            auth_user: "auth_query_user".into(),
            admin_sslmode: crate::enums::SslMode::Prefer,
            admin_sslrootcert: None,
            connect_timeout: 10,
        });
        assert_eq!(
            (
                s.vault_mount(),
                s.pgbouncer_auth_user(),
                s.allow_custom_statements()
            ),
            ("team/db", "auth_query_user", true),
            "configured: the configured values"
        );
    }
}
