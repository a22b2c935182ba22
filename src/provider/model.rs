//! The provider configuration as a model, as every resource reads its own: one struct
//! per block, one field per attribute (`tfplugin::Known`: a value, null, or unknown at
//! plan when it comes from something made in the same run). Decoded after the
//! environment overlay; `tests.rs` checks each struct against the schema.

use serde::Deserialize;
use tfplugin::Known;

/// `provider "dbaas" { ... }`.
#[derive(Debug, Default, Deserialize)]
pub struct ProviderModel {
    /// `postgres { ... }`.
    pub postgres: Known<PostgresBlock>,
    /// `pgbouncer { ... }`.
    pub pgbouncer: Known<PgBouncerBlock>,
    /// `mysql { ... }`.
    pub mysql: Known<MysqlBlock>,
    /// `redis { ... }`.
    pub redis: Known<RedisBlock>,
    /// `vault { ... }`.
    pub vault: Known<VaultBlock>,
}

/// `postgres { ... }`.
#[derive(Debug, Default, Deserialize)]
pub struct PostgresBlock {
    /// Primary host.
    pub host: Known<String>,
    /// Primary port.
    pub port: Known<i64>,
    /// Admin role.
    pub username: Known<String>,
    /// Admin password.
    pub password: Known<String>,
    /// Vault KV v2 path of the admin password.
    pub password_vault_path: Known<String>,
    /// Maintenance database.
    pub database: Known<String>,
    /// libpq sslmode.
    pub sslmode: Known<String>,
    /// CA file.
    pub sslrootcert: Known<String>,
    /// Client certificate file.
    pub sslcert: Known<String>,
    /// Client key file.
    pub sslkey: Known<String>,
    /// Seconds to wait for a connection.
    pub connect_timeout: Known<i64>,
    /// Most sessions open at once.
    pub max_connections: Known<i64>,
    /// Read-only endpoint host (the `-ro` service).
    pub ro_host: Known<String>,
    /// Its port.
    pub ro_port: Known<i64>,
}

/// `pgbouncer { ... }`.
#[derive(Debug, Default, Deserialize)]
pub struct PgBouncerBlock {
    /// Host apps connect to.
    pub host: Known<String>,
    /// Port apps connect to.
    pub port: Known<i64>,
    /// Admin console user.
    pub admin_username: Known<String>,
    /// Its password.
    pub admin_password: Known<String>,
    /// Vault KV v2 path of the admin password.
    pub password_vault_path: Known<String>,
    /// Admin console of every replica, `host:port`.
    pub admin_hosts: Known<Vec<String>>,
    /// PgBouncer's `auth_user`.
    pub auth_user: Known<String>,
    /// TLS mode of the admin console connections.
    pub admin_sslmode: Known<String>,
    /// CA file of the admin consoles.
    pub admin_sslrootcert: Known<String>,
    /// Seconds to wait for a connection.
    pub connect_timeout: Known<i64>,
    /// Read-only pooler host.
    pub ro_host: Known<String>,
    /// Its port.
    pub ro_port: Known<i64>,
}

/// `mysql { ... }`.
#[derive(Debug, Default, Deserialize)]
pub struct MysqlBlock {
    /// Host.
    pub host: Known<String>,
    /// Port.
    pub port: Known<i64>,
    /// Admin user.
    pub username: Known<String>,
    /// Admin password.
    pub password: Known<String>,
    /// Vault KV v2 path of the admin password.
    pub password_vault_path: Known<String>,
    /// TLS mode.
    pub tls: Known<String>,
    /// CA file.
    pub ca_cert_file: Known<String>,
    /// Client certificate file.
    pub client_cert_file: Known<String>,
    /// Client key file.
    pub client_key_file: Known<String>,
    /// Seconds to wait for a connection.
    pub connect_timeout: Known<i64>,
    /// Most sessions open at once.
    pub max_connections: Known<i64>,
}

/// `redis { ... }`.
#[derive(Debug, Default, Deserialize)]
pub struct RedisBlock {
    /// Host.
    pub host: Known<String>,
    /// Port.
    pub port: Known<i64>,
    /// ACL admin user.
    pub username: Known<String>,
    /// Its password.
    pub password: Known<String>,
    /// Vault KV v2 path of the admin password.
    pub password_vault_path: Known<String>,
    /// TLS mode (or the deprecated `true`/`false`).
    pub tls: Known<String>,
    /// CA file.
    pub ca_cert_file: Known<String>,
    /// Client certificate file.
    pub client_cert_file: Known<String>,
    /// Client key file.
    pub client_key_file: Known<String>,
    /// Seconds to wait for a connection.
    pub connect_timeout: Known<i64>,
}

/// `vault { ... }`.
#[derive(Debug, Default, Deserialize)]
pub struct VaultBlock {
    /// Vault address.
    pub address: Known<String>,
    /// Vault token.
    pub token: Known<String>,
    /// Database secrets engine mount.
    pub mount: Known<String>,
    /// CA file.
    pub ca_cert_file: Known<String>,
    /// Directory of CA files.
    pub ca_cert_dir: Known<String>,
    /// Do not check Vault's certificate.
    pub skip_tls_verify: Known<bool>,
    /// Rotation roles may set their own statements.
    pub allow_custom_statements: Known<bool>,
    /// `X-Vault-Namespace`.
    pub namespace: Known<String>,
    /// Seconds to wait for a connection.
    pub connect_timeout: Known<i64>,
    /// AppRole login.
    pub auth_login_approle: Known<AppRoleBlock>,
    /// JWT login.
    pub auth_login_jwt: Known<JwtBlock>,
    /// Kubernetes login.
    pub auth_login_kubernetes: Known<KubernetesBlock>,
}

/// `vault { auth_login_approle { ... } }`.
#[derive(Debug, Default, Deserialize)]
pub struct AppRoleBlock {
    /// Auth mount path.
    pub mount: Known<String>,
    /// The role's ID.
    pub role_id: Known<String>,
    /// A secret ID of the role.
    pub secret_id: Known<String>,
}

/// `vault { auth_login_jwt { ... } }`.
#[derive(Debug, Default, Deserialize)]
pub struct JwtBlock {
    /// Auth mount path.
    pub mount: Known<String>,
    /// Role to log in as.
    pub role: Known<String>,
    /// The signed JWT.
    pub jwt: Known<String>,
}

/// `vault { auth_login_kubernetes { ... } }`.
#[derive(Debug, Default, Deserialize)]
pub struct KubernetesBlock {
    /// Auth mount path.
    pub mount: Known<String>,
    /// Role to log in as.
    pub role: Known<String>,
    /// File holding the service-account JWT.
    pub jwt_file: Known<String>,
}
