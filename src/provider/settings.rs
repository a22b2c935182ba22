//! From the provider block to [`Settings`]: the environment overlaid ([`super::env`]),
//! the model decoded ([`super::model`]), then each block's settings built with its
//! defaults and checks, every problem a diagnostic at its attribute. A block holding a
//! value not known yet (at plan, from something made in the same run) is left out and
//! listed in [`Settings::unknown`]: nothing reads or dials it until Terraform configures
//! the provider again with the values.

use tfplugin::{AttributePath, Block, Diagnostics, Known, Value};

use super::env::{env_var, overlay, FromEnv};
use super::files::{self, Pem};
use super::model::{
    MysqlBlock, PgBouncerBlock, PostgresBlock, ProviderModel, RedisBlock, VaultBlock,
};
use super::schema::{provider_schema, VAULT_AUTH_BLOCKS};
use crate::backends::settings::{
    parse_host_port, MysqlSettings, PgBouncerSettings, PostgresSettings, RedisSettings, Secret,
    Settings, TlsFiles, VaultSettings, VaultTls,
};
use crate::domain::checks::check_vault_mount;
use crate::domain::defaults;
use crate::enums::{MysqlTls, RedisTls, SslMode};

/// Whether a block of the configuration can be read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockState {
    /// Not configured (nor opened from the environment).
    Absent,
    /// Configured with a value known only later (at plan, from something made in the
    /// same run): left out until Terraform configures the provider again.
    NotKnownYet,
    /// Configured and known all the way down.
    Known,
}

/// The state of the block value `v` (after the environment overlay).
pub fn block_state(v: &Value) -> BlockState {
    if v.is_null() {
        BlockState::Absent
    } else if v.is_wholly_known() {
        BlockState::Known
    } else {
        BlockState::NotKnownYet
    }
}

/// Builds [`Settings`] from the provider configuration; `env` supplies the fallbacks the
/// schema names.
pub fn settings_from_config(
    config: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
) -> Settings {
    let schema = provider_schema().block;
    let (mut config, from_env) = overlay(config, &schema, env, diags);
    let mut settings = Settings::default();
    for name in ["postgres", "pgbouncer", "mysql", "redis", "vault"] {
        if block_state(config.get(name)) == BlockState::NotKnownYet {
            // Left out whole: the model below reads only what is known.
            settings.unknown.push(name);
            config.set(name, Value::Null);
        }
    }
    let Some(model) = tfplugin::typed::decode::<ProviderModel>(diags, &config) else {
        return settings;
    };
    let check = |name: &'static str| Check {
        name,
        path: AttributePath::attr(name),
        schema: schema.nested(name).map(|n| &n.block),
        from_env: &from_env,
        env,
    };
    if let Known::Value(mut b) = model.postgres {
        let c = check("postgres");
        let default_port = port(b.port.clone(), defaults::POSTGRES_PORT);
        let (host, ro_port) = (
            std::mem::take(&mut b.ro_host),
            std::mem::take(&mut b.ro_port),
        );
        settings.read_only.postgres = read_only(host, ro_port, default_port, &c, diags);
        settings.postgres = Some(postgres(b, &c, diags));
    }
    if let Known::Value(mut b) = model.pgbouncer {
        let c = check("pgbouncer");
        let default_port = port(b.port.clone(), defaults::PGBOUNCER_PORT);
        let (host, ro_port) = (
            std::mem::take(&mut b.ro_host),
            std::mem::take(&mut b.ro_port),
        );
        settings.read_only.pgbouncer = read_only(host, ro_port, default_port, &c, diags);
        settings.pgbouncer = Some(pgbouncer(b, &c, diags));
    }
    if let Known::Value(b) = model.mysql {
        settings.mysql = Some(mysql(b, &check("mysql"), diags));
    }
    if let Known::Value(b) = model.redis {
        settings.redis = Some(redis(b, &check("redis"), diags));
    }
    if let Known::Value(b) = model.vault {
        let raw = config.get("vault");
        settings.vault = Some(vault(b, raw, &check("vault"), diags));
    }
    settings
}

/// A port attribute: the configured one (the schema checks its range), else `default`.
fn port(v: Known<i64>, default: u16) -> u16 {
    v.into_option()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .unwrap_or(default)
}

fn postgres(b: PostgresBlock, c: &Check<'_>, diags: &mut Diagnostics) -> PostgresSettings {
    let host = c.required(diags, "host", b.host);
    let port = port(b.port, defaults::POSTGRES_PORT);
    let password = c.password(diags, "password", b.password, b.password_vault_path);
    let sslmode = c.word(
        diags,
        "sslmode",
        b.sslmode,
        defaults::SSLMODE,
        SslMode::parse,
        SslMode::NAMES,
    );
    let tls_files = c.tls_files(
        diags,
        [
            ("sslrootcert", b.sslrootcert),
            ("sslcert", b.sslcert),
            ("sslkey", b.sslkey),
        ],
    );
    PostgresSettings {
        host,
        port,
        username: or(b.username, defaults::POSTGRES_USERNAME),
        password,
        database: or(b.database, defaults::POSTGRES_DATABASE),
        sslmode,
        connect_timeout: seconds(b.connect_timeout),
        max_connections: sessions(b.max_connections),
        tls_files,
    }
}

/// A block's read-only endpoint: `ro_host` with `ro_port`, else the block's own port;
/// `ro_port` without `ro_host` is an error on it.
fn read_only(
    host: Known<String>,
    ro_port: Known<i64>,
    default_port: u16,
    c: &Check<'_>,
    diags: &mut Diagnostics,
) -> Option<(String, u16)> {
    let host = host.into_option().filter(|h| !h.is_empty());
    if host.is_none() && !ro_port.is_null() {
        let block = c.name;
        diags.error_at(
            c.at("ro_port"),
            format!("{block}.ro_port without ro_host"),
            format!(
                "Set {block}.ro_host (the read-only endpoint's host) or remove {block}.ro_port."
            ),
        );
    }
    Some((host?, port(ro_port, default_port)))
}

/// A `connect_timeout`: the configured seconds (the schema checks the range), else the
/// default.
fn seconds(v: Known<i64>) -> u64 {
    v.into_option()
        .map_or(defaults::CONNECT_TIMEOUT, |t| t.max(1).unsigned_abs())
}

/// A `max_connections`: the configured count (the schema checks the range), else the
/// default.
fn sessions(v: Known<i64>) -> u32 {
    v.into_option()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n >= 1)
        .unwrap_or(defaults::MAX_CONNECTIONS)
}

fn pgbouncer(b: PgBouncerBlock, c: &Check<'_>, diags: &mut Diagnostics) -> PgBouncerSettings {
    let host = c.required(diags, "host", b.host);
    let port = port(b.port, defaults::PGBOUNCER_PORT);
    let admin_password = c.password(
        diags,
        "admin_password",
        b.admin_password,
        b.password_vault_path,
    );
    let admin_sslmode = c.word(
        diags,
        "admin_sslmode",
        b.admin_sslmode,
        defaults::PGBOUNCER_ADMIN_SSLMODE,
        SslMode::parse,
        SslMode::NAMES,
    );
    let admin_sslrootcert = c.pem(
        diags,
        "admin_sslrootcert",
        b.admin_sslrootcert,
        Pem::Certificate,
    );
    // An admin user may come from the `password_vault_path` secret instead.
    let admin_username = match admin_password {
        Secret::VaultKv(_) => b.admin_username.into_option().unwrap_or_default(),
        _ => c.required(diags, "admin_username", b.admin_username),
    };
    PgBouncerSettings {
        admin_hosts: admin_hosts(b.admin_hosts, &host, port),
        host,
        port,
        admin_username,
        connect_timeout: seconds(b.connect_timeout),
        admin_password,
        auth_user: or(b.auth_user, defaults::AUTH_USER),
        admin_sslmode,
        admin_sslrootcert,
    }
}

/// The admin consoles: the configured `host:port` entries (the schema checks them), or
/// the app endpoint alone.
pub fn admin_hosts(configured: Known<Vec<String>>, host: &str, port: u16) -> Vec<(String, u16)> {
    let hosts: Vec<(String, u16)> = configured
        .into_option()
        .unwrap_or_default()
        .iter()
        .filter_map(|h| parse_host_port(h))
        .collect();
    if hosts.is_empty() {
        vec![(host.to_string(), port)]
    } else {
        hosts
    }
}

fn mysql(b: MysqlBlock, c: &Check<'_>, diags: &mut Diagnostics) -> MysqlSettings {
    let host = c.required(diags, "host", b.host);
    let port = port(b.port, defaults::MYSQL_PORT);
    let username = c.required(diags, "username", b.username);
    let password = c.password(diags, "password", b.password, b.password_vault_path);
    let tls = c.word(
        diags,
        "tls",
        b.tls,
        defaults::MYSQL_TLS,
        MysqlTls::parse,
        MysqlTls::NAMES,
    );
    let tls_files = c.tls_files(
        diags,
        [
            ("ca_cert_file", b.ca_cert_file),
            ("client_cert_file", b.client_cert_file),
            ("client_key_file", b.client_key_file),
        ],
    );
    MysqlSettings {
        host,
        port,
        username,
        password,
        tls,
        tls_files,
        connect_timeout: seconds(b.connect_timeout),
        max_connections: sessions(b.max_connections),
    }
}

fn redis(b: RedisBlock, c: &Check<'_>, diags: &mut Diagnostics) -> RedisSettings {
    let host = c.required(diags, "host", b.host);
    let port = port(b.port, defaults::REDIS_PORT);
    let password = c.password(diags, "password", b.password, b.password_vault_path);
    let tls_files = c.tls_files(
        diags,
        [
            ("ca_cert_file", b.ca_cert_file),
            ("client_cert_file", b.client_cert_file),
            ("client_key_file", b.client_key_file),
        ],
    );
    RedisSettings {
        host,
        port,
        username: or(b.username, defaults::REDIS_USERNAME),
        password,
        tls: redis_tls(b.tls, c, diags),
        tls_files,
        connect_timeout: seconds(b.connect_timeout),
    }
}

fn vault(b: VaultBlock, raw: &Value, c: &Check<'_>, diags: &mut Diagnostics) -> VaultSettings {
    let address = c.required(diags, "address", b.address);
    let token = b.token.into_option().map_or(Secret::None, Secret::Plain);
    let mount = or(b.mount, defaults::VAULT_MOUNT)
        .trim_matches('/')
        .to_string();
    if let Err(why) = check_vault_mount(&mount) {
        diags.error_at(c.at("mount"), "Invalid Vault mount", why);
    }
    if !vault_address_ok(&address) {
        let from = c.from_env.note(&c.at("address"));
        diags.error_at(
            c.at("address"),
            "Invalid Vault address",
            format!("{address:?}{from} must start with http:// or https://."),
        );
    }
    let tls = VaultTls {
        ca_cert_file: c.pem(diags, "ca_cert_file", b.ca_cert_file, Pem::Certificate),
        ca_cert_dir: c.ca_dir(diags, "ca_cert_dir", b.ca_cert_dir),
        skip_verify: b
            .skip_tls_verify
            .into_option()
            .unwrap_or(defaults::VAULT_SKIP_TLS_VERIFY),
    };
    let namespace = b
        .namespace
        .into_option()
        .map(|n| n.trim_matches('/').to_string())
        .filter(|n| !n.is_empty());
    let login = super::vault_login::login(
        b.auth_login_approle,
        b.auth_login_jwt,
        b.auth_login_kubernetes,
        raw,
        c,
        diags,
        token == Secret::None,
    );
    let token = match (token, &login) {
        (Secret::None, None) => super::vault_login::token_file(c, diags),
        (token, _) => token,
    };
    VaultSettings {
        address: address.trim_end_matches('/').to_string(),
        token,
        mount,
        tls,
        namespace,
        login,
        allow_custom_statements: b.allow_custom_statements.into_option().unwrap_or(false),
        connect_timeout: seconds(b.connect_timeout),
    }
}

/// `redis.tls`: a mode word or the deprecated `true`/`false` (validate warns about
/// those), else the default.
fn redis_tls(v: Known<String>, c: &Check<'_>, diags: &mut Diagnostics) -> RedisTls {
    c.word(
        diags,
        "tls",
        v,
        defaults::REDIS_TLS,
        |w| super::checks::redis_tls_word(w).map(|(mode, _)| mode),
        RedisTls::NAMES,
    )
}

/// Whether a Vault address is empty (reported as missing) or an http(s) URL.
pub fn vault_address_ok(address: &str) -> bool {
    address.is_empty() || address.starts_with("http://") || address.starts_with("https://")
}

/// The value, or `default` when null.
fn or(v: Known<String>, default: &str) -> String {
    v.into_option().unwrap_or_else(|| default.to_string())
}

/// The `auth_login_*` blocks set in the `vault` block value, in schema order; more than
/// one is an error on each one after the first.
pub fn auth_blocks_set(
    vault: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) -> Vec<&'static str> {
    let set: Vec<&'static str> = VAULT_AUTH_BLOCKS
        .into_iter()
        .filter(|name| !vault.get(name).is_null())
        .collect();
    for extra in set.iter().skip(1) {
        diags.error_at(
            path.join(extra),
            "Only one Vault auth method",
            format!(
                "`{}` and `{extra}` are both set; keep one `auth_login_*` block.",
                set[0]
            ),
        );
    }
    set
}

/// The checks of one block: where its attributes are, which came from the environment,
/// and the words of the diagnostics.
pub struct Check<'a> {
    /// The block's name, e.g. `postgres`.
    pub name: &'static str,
    /// Its attribute path.
    pub path: AttributePath,
    /// Its schema: the environment variable names of the hints.
    pub schema: Option<&'a Block>,
    /// What came from the environment.
    pub from_env: &'a FromEnv,
    /// The environment (`HOME` for the Vault token file).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Check<'_> {
    /// The path of attribute `attr` of the block.
    pub fn at(&self, attr: &str) -> AttributePath {
        self.path.join(attr)
    }

    /// A required string: empty or null is an error naming the attribute and its
    /// environment variable.
    pub fn required(&self, diags: &mut Diagnostics, attr: &str, v: Known<String>) -> String {
        match v.into_option() {
            Some(s) if !s.is_empty() => s,
            _ => {
                let hint = self
                    .schema
                    .and_then(|s| env_var(s, attr))
                    .map(|e| format!(" or the {e} environment variable"))
                    .unwrap_or_default();
                let (summary, detail) = super::checks::missing(self.name, attr, &hint);
                diags.error_at(self.at(attr), summary, detail);
                String::new()
            }
        }
    }

    /// A word of a closed set (`sslmode`, `tls`); a bad value from the environment is an
    /// error on the attribute (the schema's validator checks configured ones).
    pub fn word<T: Copy>(
        &self,
        diags: &mut Diagnostics,
        attr: &str,
        v: Known<String>,
        default: T,
        parse: fn(&str) -> Option<T>,
        allowed: &[&str],
    ) -> T {
        let Some(text) = v.into_option() else {
            return default;
        };
        parse(&text).unwrap_or_else(|| {
            let from = self.from_env.note(&self.at(attr));
            diags.error_at(
                self.at(attr),
                format!("Invalid {attr}"),
                format!("{text:?}{from} is not one of {}.", allowed.join(", ")),
            );
            default
        })
    }

    /// The admin password: `key`, or read from Vault KV at `password_vault_path`; both
    /// configured (not one from the environment) is an error.
    pub fn password(
        &self,
        diags: &mut Diagnostics,
        key: &str,
        plain: Known<String>,
        vault_path: Known<String>,
    ) -> Secret {
        let configured = self.from_env.var(&self.at(key)).is_none();
        match (plain.into_option(), vault_path.into_option()) {
            (Some(_), Some(_)) if configured => {
                let block = self.name;
                diags.error_at(
                    self.at("password_vault_path"),
                    "Conflicting password settings",
                    format!("Set either {block}.{key} or {block}.password_vault_path, not both."),
                );
                Secret::None
            }
            (_, Some(p)) => Secret::VaultKv(p),
            (Some(p), None) => Secret::Plain(p),
            (None, None) => Secret::None,
        }
    }

    /// A path attribute checked now by `check`, so a missing, unreadable or wrong one is
    /// a diagnostic on the attribute naming the path (never its contents).
    fn checked_path(
        &self,
        diags: &mut Diagnostics,
        attr: &str,
        v: Known<String>,
        check: impl FnOnce(&std::path::Path) -> Result<(), String>,
    ) -> Option<String> {
        let path = v.into_option()?;
        if let Err(why) = check(std::path::Path::new(&path)) {
            let (block, from) = (self.name, self.from_env.note(&self.at(attr)));
            diags.error_at(
                self.at(attr),
                format!("Cannot use {block}.{attr}"),
                format!("{path:?}{from}: {why}."),
            );
        }
        Some(path)
    }

    /// A certificate or key file path.
    pub fn pem(
        &self,
        diags: &mut Diagnostics,
        attr: &str,
        v: Known<String>,
        kind: Pem,
    ) -> Option<String> {
        self.checked_path(diags, attr, v, |p| files::check_pem_file(p, kind))
    }

    /// A directory of PEM CA files.
    pub fn ca_dir(&self, diags: &mut Diagnostics, attr: &str, v: Known<String>) -> Option<String> {
        self.checked_path(diags, attr, v, files::check_ca_dir)
    }

    /// The CA, client certificate and client key attributes, in that order; a
    /// certificate without its key (or the reverse) is an error on the missing one.
    pub fn tls_files(
        &self,
        diags: &mut Diagnostics,
        [ca, cert, key]: [(&str, Known<String>); 3],
    ) -> TlsFiles {
        let files = TlsFiles {
            ca_cert: self.pem(diags, ca.0, ca.1, Pem::Certificate),
            client_cert: self.pem(diags, cert.0, cert.1, Pem::Certificate),
            client_key: self.pem(diags, key.0, key.1, Pem::PrivateKey),
        };
        let (cert, key) = (cert.0, key.0);
        let missing = match (&files.client_cert, &files.client_key) {
            (Some(_), None) => Some((key, cert)),
            (None, Some(_)) => Some((cert, key)),
            _ => None,
        };
        if let Some((absent, present)) = missing {
            let block = self.name;
            diags.error_at(
                self.at(absent),
                format!("Missing {block}.{absent}"),
                format!("{block}.{present} is set: a client certificate needs both `{cert}` and `{key}`."),
            );
        }
        files
    }

    /// The checks of nested block `name` (an `auth_login_*` block).
    pub fn nested(&self, name: &'static str) -> Check<'_> {
        Check {
            name,
            path: self.at(name),
            schema: self.schema.and_then(|s| s.nested(name)).map(|n| &n.block),
            from_env: self.from_env,
            env: self.env,
        }
    }
}
