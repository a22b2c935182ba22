//! Defaults of the provider settings, each written once: the schema's descriptions and
//! the settings read them here; resources ask the settings (`Settings::vault_mount`,
//! `Settings::pgbouncer_auth_user`, ...), never this module.

use super::enums::{MysqlTls, RedisTls, SslMode};

/// `postgres.port`.
pub const POSTGRES_PORT: u16 = 5432;
/// `postgres.username`.
pub const POSTGRES_USERNAME: &str = "postgres";
/// `postgres.database`.
pub const POSTGRES_DATABASE: &str = "postgres";
/// `postgres.sslmode`.
pub const SSLMODE: SslMode = SslMode::Prefer;
/// `connect_timeout` of every backend block, seconds.
pub const CONNECT_TIMEOUT: u64 = 10;
/// `max_connections` of the `postgres` and `mysql` blocks: sessions one provider process
/// may hold open to the server at once (issue 23).
pub const MAX_CONNECTIONS: u32 = 4;
/// `pgbouncer.port`.
pub const PGBOUNCER_PORT: u16 = 6432;
/// `pgbouncer.auth_user`.
pub const AUTH_USER: &str = "pgbouncer_auth";
/// `mysql.port`.
pub const MYSQL_PORT: u16 = 3306;
/// `mysql.tls`.
pub const MYSQL_TLS: MysqlTls = MysqlTls::Preferred;
/// `redis.port`.
pub const REDIS_PORT: u16 = 6379;
/// `redis.username`.
pub const REDIS_USERNAME: &str = "default";
/// `redis.tls`.
pub const REDIS_TLS: RedisTls = RedisTls::Disabled;
/// `vault.mount`.
pub const VAULT_MOUNT: &str = "database";
/// `pgbouncer.admin_sslmode`.
pub const PGBOUNCER_ADMIN_SSLMODE: SslMode = SslMode::Prefer;
/// `vault.skip_tls_verify`.
pub const VAULT_SKIP_TLS_VERIFY: bool = false;
/// `vault.auth_login_kubernetes.jwt_file`: where Kubernetes mounts the pod's token.
pub const KUBERNETES_JWT_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// The token file `vault login` writes, relative to `$HOME`.
pub const VAULT_TOKEN_FILE: &str = ".vault-token";
