//! The `provider "dbaas"` block: its schema (one optional block per backend, with
//! environment fallbacks) and `configure`, which turns it into [`Backends`] without
//! dialling anything: connections open on first use.

use std::sync::Arc;

use tfplugin::{
    Attribute, AttributePath, Block, ClientInfo, Diagnostics, Schema, Type, Validator, Value,
};

use crate::backends::settings::{
    MysqlSettings, PgBouncerSettings, PostgresSettings, RedisSettings, Secret, Settings, TlsFiles,
    VaultLogin, VaultSettings, VaultTls,
};
use crate::backends::Backends;
use crate::enums::{MysqlTls, SslMode};

/// The dbaas provider.
pub struct DbaasProvider;

/// Defaults of the provider settings, each written once: the schema's descriptions and
/// [`settings_from_config`] (and resources, through [`Settings`]) all read them here.
pub mod defaults {
    use crate::enums::{MysqlTls, SslMode};

    /// `postgres.port`.
    pub const POSTGRES_PORT: u16 = 5432;
    /// `postgres.username`.
    pub const POSTGRES_USERNAME: &str = "postgres";
    /// `postgres.database`.
    pub const POSTGRES_DATABASE: &str = "postgres";
    /// `postgres.sslmode`.
    pub const SSLMODE: SslMode = SslMode::Prefer;
    /// `postgres.connect_timeout`, seconds.
    pub const CONNECT_TIMEOUT: u64 = 10;
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
    pub const REDIS_TLS: bool = false;
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
}

/// A file-path attribute (a PEM certificate or key) read at configure: a missing or
/// unreadable file is a diagnostic on it, naming the path.
fn pem_file(name: &str, what: &str) -> Attribute {
    Attribute::string(name).optional().description(format!(
        "{what} Read when the provider is configured (a missing or unreadable file is an error naming it); never sent anywhere but the TLS handshake."
    ))
}

/// Appends "Required when the block is present." to an attribute's description: the
/// block is optional, so the schema cannot mark the attribute required.
fn required_in_block(a: Attribute) -> Attribute {
    let text = format!("{} Required when the block is present.", a.description);
    a.description(text)
}

/// Appends "Default `<value>`." to an attribute's description.
fn defaulted(a: Attribute, default: impl std::fmt::Display) -> Attribute {
    let text = format!("{} Default `{default}`.", a.description);
    a.description(text)
}

fn port(name: &str, default: u16, what: &str) -> Attribute {
    Attribute::number(name)
        .optional()
        .description(format!("{what} Default `{default}`."))
        .validate(Validator::int_between(1, 65535))
}

fn vault_path_attr(what: &str, key: &str, example: &str) -> Attribute {
    Attribute::string("password_vault_path")
        .optional()
        .description(format!(
            "Read the {what} password (key `password`, and `username` if present) from this Vault KV v2 path, e.g. `{example}`, instead of `{key}`. Read on first use, so only runs that touch this backend need Vault."
        ))
        .validate(Validator::new("a KV v2 path `<mount>/data/<path>`", |v| match v.as_str() {
            Some(p) if valid_kv2_path(p) => Ok(()),
            Some(p) => Err(format!("{p:?} is not a KV v2 data path; expected `<mount>/data/<path>`, e.g. `secret/data/postgres/root`")),
            None => Ok(()),
        }))
}

/// Whether `p` looks like `<mount>/data/<path>` (no leading slash, no empty segments).
pub fn valid_kv2_path(p: &str) -> bool {
    let segments: Vec<&str> = p.split('/').collect();
    // No `.`/`..` segment, and nothing a layer could decode into a separator or read as
    // the end of the path (`%2F`, `?`, `#`), nor whitespace, backslashes or control
    // characters: the path names one secret, literally.
    let plain = |s: &&str| {
        !s.is_empty()
            && !matches!(*s, "." | "..")
            && !s
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '%' | '?' | '#' | '\\'))
    };
    segments.len() >= 3
        && segments.iter().all(plain)
        && segments[1..segments.len() - 1].contains(&"data")
}

fn host_port_list_validator() -> Validator {
    Validator::new("`host:port` entries", |v| {
        for item in v.string_list() {
            if crate::backends::settings::parse_host_port(&item).is_none() {
                return Err(format!(
                    "{item:?} is not `host:port` with a port from 1 to 65535"
                ));
            }
        }
        Ok(())
    })
}

/// The names of the `vault` block's login blocks, at most one of which may be set.
pub const VAULT_AUTH_BLOCKS: [&str; 3] = [
    "auth_login_approle",
    "auth_login_jwt",
    "auth_login_kubernetes",
];

/// `mount` of an `auth_login_*` block: the auth method's path without `auth/`.
fn auth_mount(method: &str) -> Attribute {
    Attribute::string("mount")
        .optional()
        .description(format!(
            "Path the auth method is mounted at, without `auth/`. Default `{method}`."
        ))
        .validate(trimmed_vault_mount_validator())
}

/// A Vault mount path in the provider block, where slashes at either end are dropped
/// before the check (`resources::common::vault_mount_validator` refuses them).
fn trimmed_vault_mount_validator() -> Validator {
    Validator::new(
        "`/`-separated segments of letters, digits, `-`, `_` and `.`, none empty, `.` or holding `..`",
        |v| match v.as_str() {
            Some(m) => crate::resources::common::check_vault_mount(m.trim_matches('/')),
            None => Ok(()),
        },
    )
}

/// Adds the `auth_login_*` blocks to the `vault` block.
fn vault_auth_blocks(vault: Block) -> Block {
    let login_note = "Used when neither `token` nor `VAULT_TOKEN` is set; at most one `auth_login_*` block. The login happens on the first Vault request of a run (never at validate or plan of unchanged resources); the token obtained is renewed while the run lasts and revoked when the provider exits.";
    let approle = Block::new(format!(
        "Log in with AppRole (`auth/<mount>/login`). {login_note}"
    ))
    .attr(auth_mount("approle"))
    .attr(required_in_block(
        Attribute::string("role_id")
            .optional()
            .description("The role's ID."),
    ))
    .attr(
        Attribute::string("secret_id")
            .optional()
            .sensitive()
            .description("A secret ID of the role (omit only when the role does not bind one)."),
    );
    let jwt = Block::new(format!("Log in with a JWT, e.g. a CI system's OIDC ID token, to a `jwt` auth method (`auth/<mount>/login`). {login_note}"))
        .attr(auth_mount("jwt"))
        .attr(required_in_block(Attribute::string("role").optional().description("The role of the auth method to log in as.")))
        .attr(required_in_block(Attribute::string("jwt").optional().sensitive().env(&["TERRAFORM_VAULT_AUTH_JWT"]).description("The signed JWT.")));
    let kubernetes = Block::new(format!("Log in with the pod's Kubernetes service-account token (`auth/<mount>/login`). {login_note}"))
        .attr(auth_mount("kubernetes"))
        .attr(required_in_block(Attribute::string("role").optional().description("The role of the auth method to log in as.")))
        .attr(defaulted(Attribute::string("jwt_file").optional().description("File holding the service-account JWT; read at login time (projected tokens rotate), and checked to be readable at plan time."), defaults::KUBERNETES_JWT_FILE));
    vault
        .single_block(VAULT_AUTH_BLOCKS[0], approle)
        .single_block(VAULT_AUTH_BLOCKS[1], jwt)
        .single_block(VAULT_AUTH_BLOCKS[2], kubernetes)
}

/// The provider configuration schema.
pub fn provider_schema() -> Schema {
    let postgres = Block::new("Admin connection to the PostgreSQL primary (CloudNativePG `-rw` service). Falls back to the libpq environment variables.")
        .attr(required_in_block(Attribute::string("host").optional().env(&["PGHOST"]).description("Primary host, e.g. `pg-cluster-rw.dbaas.svc.cluster.local`.")))
        .attr(port("port", defaults::POSTGRES_PORT, "Primary port.").env(&["PGPORT"]))
        .attr(defaulted(Attribute::string("username").optional().env(&["PGUSER"]).description("Admin role (needs CREATEDB and CREATEROLE); the `username` of the `password_vault_path` secret, when it has one, takes precedence."), defaults::POSTGRES_USERNAME))
        .attr(Attribute::string("password").optional().sensitive().env(&["PGPASSWORD"]).description("Admin password."))
        .attr(vault_path_attr("PostgreSQL admin", "password", "secret/data/postgres/root"))
        .attr(defaulted(Attribute::string("database").optional().env(&["PGDATABASE"]).description("Maintenance database."), defaults::POSTGRES_DATABASE))
        .attr(
            Attribute::string("sslmode")
                .optional()
                .env(&["PGSSLMODE"])
                .description(format!("libpq sslmode. Default `{}`.", defaults::SSLMODE))
                .validate(SslMode::validator()),
        )
        .attr(pem_file("sslrootcert", "PEM file of the CA(s) the server certificate is checked against with `sslmode` `verify-ca` or `verify-full` (as libpq; `require` with it set checks the chain too, as libpq does). Unlike libpq, the built-in (webpki) roots stay trusted beside it: the PostgreSQL driver offers no way to drop them.").env(&["PGSSLROOTCERT"]))
        .attr(pem_file("sslcert", "PEM client certificate, for servers that authenticate clients by certificate. Needs `sslkey`.").env(&["PGSSLCERT"]))
        .attr(pem_file("sslkey", "PEM private key of `sslcert`.").env(&["PGSSLKEY"]))
        .attr(defaulted(Attribute::number("connect_timeout").optional().description("Seconds to wait for a connection."), defaults::CONNECT_TIMEOUT).validate(Validator::int_between(1, 3600)));
    let pgbouncer = Block::new("PgBouncer: the endpoint apps use, and the admin console of every replica.")
        .attr(required_in_block(Attribute::string("host").optional().description("Host apps connect to, e.g. `pgbouncer.dbaas.svc.cluster.local`.")))
        .attr(port("port", defaults::PGBOUNCER_PORT, "Port apps connect to."))
        .attr(Attribute::string("admin_username").optional().description("A user listed in PgBouncer's `admin_users`; the `username` of the `password_vault_path` secret, when it has one, takes precedence."))
        .attr(Attribute::string("admin_password").optional().sensitive().description("Its password."))
        .attr(vault_path_attr("PgBouncer admin", "admin_password", "secret/data/pgbouncer/admin"))
        .attr(
            Attribute::typed("admin_hosts", Type::list_of(Type::String))
                .optional()
                .description("Admin console of every PgBouncer replica as `host:port`. Default `[\"<host>:<port>\"]`.")
                .validate(host_port_list_validator()),
        )
        .attr(defaulted(Attribute::string("auth_user").optional().description("PgBouncer's `auth_user`, granted the auth function and CONNECT."), defaults::AUTH_USER))
        .attr(
            Attribute::string("admin_sslmode")
                .optional()
                .description(format!("libpq sslmode of the admin console connections ({}). Default `{}`.", SslMode::or_list(), defaults::PGBOUNCER_ADMIN_SSLMODE))
                .validate(SslMode::validator()),
        )
        .attr(pem_file("admin_sslrootcert", "PEM file of the CA(s) the admin consoles' certificates are checked against (`admin_sslmode` `verify-ca` or `verify-full`); the built-in (webpki) roots stay trusted beside it, as for `postgres.sslrootcert`. Not taken from `PGSSLROOTCERT`: without it the consoles are checked against the built-in roots only."));
    let mysql = Block::new("Admin connection to MySQL (InnoDB Cluster) or MariaDB.")
        .attr(required_in_block(
            Attribute::string("host")
                .optional()
                .description("Host, e.g. `mysql.dbaas.svc.cluster.local`."),
        ))
        .attr(port("port", defaults::MYSQL_PORT, "Port."))
        .attr(required_in_block(
            Attribute::string("username")
                .optional()
                .description("Admin user; the `username` of the `password_vault_path` secret, when it has one, takes precedence."),
        ))
        .attr(
            Attribute::string("password")
                .optional()
                .sensitive()
                .description("Admin password."),
        )
        .attr(vault_path_attr(
            "MySQL admin",
            "password",
            "secret/data/mysql/root",
        ))
        .attr(
            Attribute::string("tls")
                .optional()
                .description(format!("TLS mode: {}; `verify_ca` checks the chain against `ca_cert_file`, `verify_identity` also the host name. The Vault MySQL connection built from this block uses the same mode and files. Default `{}`.", MysqlTls::or_list(), defaults::MYSQL_TLS))
                .validate(MysqlTls::validator()),
        )
        .attr(pem_file("ca_cert_file", "PEM file of the CA(s) the server certificate is checked against (`tls` `verify_ca` or `verify_identity`). Replaces the built-in roots."))
        .attr(pem_file("client_cert_file", "PEM client certificate (X.509 authentication). Needs `client_key_file`."))
        .attr(pem_file("client_key_file", "PEM private key of `client_cert_file`."));
    let redis = Block::new("Admin connection to the shared Redis.")
        .attr(required_in_block(
            Attribute::string("host")
                .optional()
                .description("Host, e.g. `redis.redis.svc.cluster.local`."),
        ))
        .attr(port("port", defaults::REDIS_PORT, "Port."))
        .attr(
            Attribute::string("username")
                .optional()
                .description(format!(
                    "ACL user with `+acl`; the `username` of the `password_vault_path` secret, when it has one, takes precedence. Default `{}`.",
                    defaults::REDIS_USERNAME
                )),
        )
        .attr(
            Attribute::string("password")
                .optional()
                .sensitive()
                .description("Its password."),
        )
        .attr(vault_path_attr(
            "Redis admin",
            "password",
            "secret/data/redis/admin",
        ))
        .attr(
            Attribute::bool("tls")
                .optional()
                .description(format!("Use TLS, verifying the server certificate and host name (against `ca_cert_file` when set, else the system roots). Default `{}`.", defaults::REDIS_TLS)),
        )
        .attr(pem_file("ca_cert_file", "PEM file of the CA(s) the server certificate is checked against when `tls = true`. Replaces the system roots; also given to Vault's Redis connection."))
        .attr(pem_file("client_cert_file", "PEM client certificate, for `tls-auth-clients`. Needs `client_key_file`."))
        .attr(pem_file("client_key_file", "PEM private key of `client_cert_file`."));
    let vault = Block::new("Vault (or OpenBao) with the database secrets engine. Falls back to `VAULT_ADDR` and `VAULT_TOKEN`.")
        .attr(
            Attribute::string("address")
                .optional()
                .env(&["VAULT_ADDR"])
                .description("Vault address, e.g. `https://vault.example:8200`. Required when the block is present.")
                .validate(Validator::new("an http(s) URL", |v| match v.as_str() {
                    Some(a) if a.starts_with("http://") || a.starts_with("https://") => Ok(()),
                    Some(a) => Err(format!("{a:?} must start with http:// or https://")),
                    None => Ok(()),
                })),
        )
        .attr(Attribute::string("token").optional().sensitive().env(&["VAULT_TOKEN"]).description("Vault token. Taken, in order, from here, `VAULT_TOKEN`, an `auth_login_*` block (login on first use), then the token file `vault login` writes (`~/.vault-token`). A token given here or in `VAULT_TOKEN` is used as it is: never renewed, never revoked."))
        .attr(Attribute::string("mount").optional().description(format!("Mount path of the database secrets engine, e.g. `database` or `team/database` (slashes at either end are dropped). Default `{}`.", defaults::VAULT_MOUNT)).validate(trimmed_vault_mount_validator()))
        .attr(pem_file("ca_cert_file", "PEM file of the CA(s) Vault's certificate is checked against, as the Vault CLI's `VAULT_CACERT`. Replaces the built-in roots.").env(&["VAULT_CACERT"]))
        .attr(Attribute::string("ca_cert_dir").optional().env(&["VAULT_CAPATH"]).description("Directory of PEM CA files (every file in it is read, as the Vault CLI's `VAULT_CAPATH`) Vault's certificate is checked against. Replaces the built-in roots; combines with `ca_cert_file`."))
        .attr(Attribute::bool("skip_tls_verify").optional().env(&["VAULT_SKIP_VERIFY"]).description(format!("Do not check Vault's certificate at all (test setups only). Default `{}`.", defaults::VAULT_SKIP_TLS_VERIFY)))
        .attr(Attribute::bool("allow_custom_statements").optional().description("Let `dbaas_vault_rotation_role` set its own `creation_statements`, `revocation_statements` and `rotation_statements`. They run with the Vault connection's admin rights, so this is a platform decision, off by default: a role that sets them is refused at plan. Even when on, statements granting SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS, membership in a role outside the tenant's groups, MySQL privileges beyond the tenant database (`ON *.*`, `WITH GRANT OPTION`, system schemas), or anything the check cannot read with certainty are refused. Default `false`."))
        .attr(Attribute::string("namespace").optional().env(&["VAULT_NAMESPACE"]).description("Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace` on every request; mounts and paths are relative to it."));
    let vault = vault_auth_blocks(vault);
    Schema::new(
        Block::new("Manages tenant databases on a shared PostgreSQL/PgBouncer, MySQL and Redis platform, and their credential rotation in Vault. Every block is optional; a resource that needs a missing one says so.")
            .single_block("postgres", postgres)
            .single_block("pgbouncer", pgbouncer)
            .single_block("mysql", mysql)
            .single_block("redis", redis)
            .single_block("vault", vault),
    )
}

/// Reads one block of the provider configuration with the environment fallbacks its
/// schema declares (`Attribute::env`), recording a diagnostic at the attribute path for
/// anything missing or malformed.
struct Reader<'a> {
    block: &'a Value,
    /// The block's schema: where the environment variable names come from.
    schema: &'a Block,
    /// The block's name, e.g. `postgres`.
    name: &'static str,
    path: AttributePath,
    env: &'a dyn Fn(&str) -> Option<String>,
    diags: &'a mut Diagnostics,
}

/// The environment variable an attribute of `schema` falls back to, if any.
fn env_var(schema: &Block, name: &str) -> Option<&'static str> {
    schema.attribute(name).and_then(|a| a.env.first().copied())
}

impl<'a> Reader<'a> {
    /// A reader for block `name`, or `None` when the block is absent and its `key`
    /// attribute has no environment fallback set either.
    fn open(
        config: &'a Value,
        schema: &'a Block,
        name: &'static str,
        key: &str,
        env: &'a dyn Fn(&str) -> Option<String>,
        diags: &'a mut Diagnostics,
    ) -> Option<Reader<'a>> {
        let block = config.get(name);
        let schema = &schema.nested(name)?.block;
        let from_env = env_var(schema, key).is_some_and(|e| env(e).is_some());
        (!block.is_null() || from_env).then(|| Reader {
            block,
            schema,
            name,
            path: AttributePath::attr(name),
            env,
            diags,
        })
    }

    fn env_of(&self, name: &str) -> Option<&'static str> {
        env_var(self.schema, name)
    }

    fn string(&mut self, name: &str) -> Option<String> {
        match self.block.get(name) {
            Value::String(s) => Some(s.clone()),
            Value::Unknown(_) => {
                self.diags.error_at(self.path.join(name), format!("{} is not known yet", self.path.join(name)), "Provider settings must be known at plan time; do not derive them from resources created in the same run.");
                None
            }
            _ => self
                .env_of(name)
                .and_then(|e| (self.env)(e))
                .filter(|s| !s.is_empty()),
        }
    }

    fn string_or(&mut self, name: &str, default: &str) -> String {
        self.string(name).unwrap_or_else(|| default.to_string())
    }

    fn required_string(&mut self, name: &str) -> String {
        match self.string(name) {
            Some(s) if !s.is_empty() => s,
            _ => {
                let hint = self
                    .env_of(name)
                    .map(|e| format!(" or the {e} environment variable"))
                    .unwrap_or_default();
                let block = self.name;
                self.diags.error_at(
                    self.path.join(name),
                    format!("Missing {block}.{name}"),
                    format!("The {block} block needs `{name}`: set it{hint}."),
                );
                String::new()
            }
        }
    }

    fn port(&mut self, name: &str, default: u16) -> u16 {
        let env = self.env_of(name);
        match self.block.get(name) {
            Value::Number(n) => n
                .as_i64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
                .unwrap_or(default),
            _ => match env.and_then(|e| (self.env)(e)) {
                Some(text) => match text.trim().parse::<u16>() {
                    Ok(p) if p > 0 => p,
                    _ => {
                        self.diags.error_at(
                            self.path.join(name),
                            format!("Invalid {} from the environment", env.unwrap_or(name)),
                            format!("{text:?} is not a port number from 1 to 65535."),
                        );
                        default
                    }
                },
                None => default,
            },
        }
    }

    /// A word of a closed set (`sslmode`, `tls`); a bad value from the environment is an
    /// error on the attribute (the schema's validator checks configured ones).
    fn word<T: Copy>(
        &mut self,
        name: &str,
        default: T,
        parse: fn(&str) -> Option<T>,
        allowed: &[&str],
    ) -> T {
        let Some(text) = self.string(name) else {
            return default;
        };
        match parse(&text) {
            Some(v) => v,
            None => {
                let from = self
                    .env_of(name)
                    .map(|e| format!(" (from {e})"))
                    .unwrap_or_default();
                self.diags.error_at(
                    self.path.join(name),
                    format!("Invalid {name}"),
                    format!("{text:?}{from} is not one of {}.", allowed.join(", ")),
                );
                default
            }
        }
    }

    fn password(&mut self, key: &str) -> Secret {
        let vault_path = self.string("password_vault_path");
        let plain = self.string(key);
        match (plain, vault_path) {
            (Some(_), Some(_)) if !self.block.get(key).is_null() => {
                let block = self.name;
                self.diags.error_at(
                    self.path.join("password_vault_path"),
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

    /// ` (from ENV)` when attribute `name` was not configured and came from its
    /// environment fallback.
    fn env_note(&self, name: &str) -> String {
        self.env_of(name)
            .filter(|_| self.block.get(name).is_null())
            .map(|e| format!(" (from {e})"))
            .unwrap_or_default()
    }

    /// A path attribute checked now by `check` (reading the file or directory), so a
    /// missing, unreadable or wrong one is a diagnostic on the attribute naming the path
    /// (never its contents).
    fn checked_path(
        &mut self,
        name: &str,
        check: impl FnOnce(&std::path::Path) -> Result<(), String>,
    ) -> Option<String> {
        let path = self.string(name)?;
        if let Err(why) = check(std::path::Path::new(&path)) {
            let (block, from) = (self.name, self.env_note(name));
            self.diags.error_at(
                self.path.join(name),
                format!("Cannot use {block}.{name}"),
                format!("{path:?}{from}: {why}."),
            );
        }
        Some(path)
    }

    /// A certificate or key file path (see [`Reader::checked_path`]).
    fn pem_file(&mut self, name: &str, kind: Pem) -> Option<String> {
        self.checked_path(name, |p| check_pem_file(p, kind))
    }

    /// The CA, client certificate and client key attributes `ca`, `cert`, `key`; a
    /// certificate without its key (or the reverse) is an error on the missing one.
    fn tls_files(&mut self, ca: &str, cert: &str, key: &str) -> TlsFiles {
        let files = TlsFiles {
            ca_cert: self.pem_file(ca, Pem::Certificate),
            client_cert: self.pem_file(cert, Pem::Certificate),
            client_key: self.pem_file(key, Pem::PrivateKey),
        };
        let missing = match (&files.client_cert, &files.client_key) {
            (Some(_), None) => Some((key, cert)),
            (None, Some(_)) => Some((cert, key)),
            _ => None,
        };
        if let Some((absent, present)) = missing {
            let block = self.name;
            self.diags.error_at(
                self.path.join(absent),
                format!("Missing {block}.{absent}"),
                format!("{block}.{present} is set: a client certificate needs both `{cert}` and `{key}`."),
            );
        }
        files
    }

    /// A bool with an environment fallback parsed as the Vault CLI does (`1`, `t`,
    /// `true`, `0`, `f`, `false`, any case); anything else from the environment is an error.
    fn flag(&mut self, name: &str, default: bool) -> bool {
        match self.block.get(name) {
            Value::Bool(b) => *b,
            _ => match self.env_of(name).and_then(|e| (self.env)(e)) {
                Some(text) => match text.trim().to_ascii_lowercase().as_str() {
                    "1" | "t" | "true" => true,
                    "0" | "f" | "false" => false,
                    _ => {
                        let from = self.env_note(name);
                        self.diags.error_at(
                            self.path.join(name),
                            format!("Invalid {}.{name}", self.name),
                            format!("{text:?}{from} is not a boolean (true or false)."),
                        );
                        default
                    }
                },
                None => default,
            },
        }
    }

    /// A directory of PEM CA files (see [`Reader::checked_path`]).
    fn ca_dir(&mut self, name: &str) -> Option<String> {
        self.checked_path(name, check_ca_dir)
    }
}

/// What a PEM file given to the provider must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pem {
    /// At least one `CERTIFICATE` block.
    Certificate,
    /// A private key block (PKCS#8, PKCS#1 or SEC1).
    PrivateKey,
}

/// Checks that `path` is readable and holds what `kind` says, without ever putting its
/// contents into the error.
fn check_pem_file(path: &std::path::Path, kind: Pem) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let ok = match kind {
        Pem::Certificate => text.contains("-----BEGIN CERTIFICATE-----"),
        Pem::PrivateKey => text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----"),
    };
    if ok {
        Ok(())
    } else {
        Err(match kind {
            Pem::Certificate => {
                "the file holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into()
            }
            Pem::PrivateKey => {
                "the file holds no PEM private key (`-----BEGIN ... PRIVATE KEY-----`)".into()
            }
        })
    }
}

/// Checks that directory `path` is readable and at least one file in it holds a PEM
/// certificate (others are ignored, as the Vault CLI does).
fn check_ca_dir(path: &std::path::Path) -> Result<(), String> {
    let entries = std::fs::read_dir(path).map_err(|e| format!("cannot read the directory: {e}"))?;
    let any = entries
        .filter_map(Result::ok)
        .any(|e| check_pem_file(&e.path(), Pem::Certificate).is_ok());
    if any {
        Ok(())
    } else {
        Err("the directory holds no PEM certificate file".into())
    }
}

/// The `auth_login_*` blocks set in the `vault` block `r` reads, in schema order; more
/// than one is an error on each one after the first.
fn auth_blocks_set(
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

/// The login method of the `vault` block, read from its `auth_login_*` block, if any;
/// `used` (no token configured) checks now that the files it will read are readable.
fn vault_login(r: &mut Reader<'_>, used: bool) -> Option<VaultLogin> {
    let name = *auth_blocks_set(r.block, &r.path, r.diags).first()?;
    let schema = &r.schema.nested(name)?.block;
    let mut b = Reader {
        block: r.block.get(name),
        schema,
        name,
        path: r.path.join(name),
        env: r.env,
        diags: r.diags,
    };
    let mount = b.string_or("mount", name.trim_start_matches("auth_login_"));
    let mount = mount.trim_matches('/').to_string();
    match name {
        "auth_login_approle" => Some(VaultLogin::AppRole {
            mount,
            role_id: b.required_string("role_id"),
            secret_id: b.string("secret_id"),
        }),
        "auth_login_jwt" => Some(VaultLogin::Jwt {
            mount,
            role: b.required_string("role"),
            jwt: b.required_string("jwt"),
        }),
        _ => {
            let role = b.required_string("role");
            let jwt_file = b.string_or("jwt_file", defaults::KUBERNETES_JWT_FILE);
            // Read now only to report a missing or unreadable file on the attribute at
            // plan time; the login reads it again (projected tokens rotate).
            let readable = if used {
                std::fs::read(&jwt_file).map(drop)
            } else {
                Ok(())
            };
            if let Err(e) = readable {
                b.diags.error_at(
                    b.path.join("jwt_file"),
                    "Cannot read the Kubernetes service-account token",
                    format!("{jwt_file}: {e}. Outside a pod, set `jwt_file` or use another auth method."),
                );
            }
            Some(VaultLogin::Kubernetes {
                mount,
                role,
                jwt_file,
            })
        }
    }
}

/// The token in `$HOME/.vault-token` (what `vault login` writes), when neither `token`,
/// `VAULT_TOKEN` nor a login block gives one. An absent file is no token; an unreadable
/// one is an error naming it.
fn vault_token_file(r: &mut Reader<'_>) -> Secret {
    let Some(home) = (r.env)("HOME") else {
        return Secret::None;
    };
    let path = std::path::Path::new(&home).join(defaults::VAULT_TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Secret::Plain(text.trim().to_string()),
        Ok(_) => Secret::None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Secret::None,
        Err(e) => {
            r.diags.error_at(
                r.path.clone(),
                "Cannot read the Vault token file",
                format!(
                    "{}: {e}. Fix its permissions, remove it, or set vault.token / VAULT_TOKEN.",
                    path.display()
                ),
            );
            Secret::None
        }
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
    let mut settings = Settings::default();

    if let Some(mut r) = Reader::open(config, &schema, "postgres", "host", env, diags) {
        let host = r.required_string("host");
        let port = r.port("port", defaults::POSTGRES_PORT);
        let password = r.password("password");
        let username = r.string_or("username", defaults::POSTGRES_USERNAME);
        let database = r.string_or("database", defaults::POSTGRES_DATABASE);
        let sslmode = r.word("sslmode", defaults::SSLMODE, SslMode::parse, SslMode::NAMES);
        let connect_timeout = r
            .block
            .get("connect_timeout")
            .as_i64()
            .map_or(defaults::CONNECT_TIMEOUT, |t| t.max(1) as u64);
        settings.postgres = Some(PostgresSettings {
            host,
            port,
            username,
            password,
            database,
            sslmode,
            connect_timeout,
            tls_files: r.tls_files("sslrootcert", "sslcert", "sslkey"),
        });
    }

    if let Some(mut r) = Reader::open(config, &schema, "pgbouncer", "host", env, diags) {
        let host = r.required_string("host");
        let port = r.port("port", defaults::PGBOUNCER_PORT);
        let admin_username = r.string("admin_username").unwrap_or_default();
        let admin_password = r.password("admin_password");
        let auth_user = r.string_or("auth_user", defaults::AUTH_USER);
        let mut admin_hosts: Vec<(String, u16)> = r
            .block
            .get("admin_hosts")
            .string_list()
            .iter()
            .filter_map(|h| crate::backends::settings::parse_host_port(h))
            .collect();
        if admin_hosts.is_empty() {
            admin_hosts.push((host.clone(), port));
        }
        let admin_sslmode = r.word(
            "admin_sslmode",
            defaults::PGBOUNCER_ADMIN_SSLMODE,
            SslMode::parse,
            SslMode::NAMES,
        );
        let admin_sslrootcert = r.pem_file("admin_sslrootcert", Pem::Certificate);
        settings.pgbouncer = Some(PgBouncerSettings {
            host,
            port,
            admin_username,
            admin_password,
            admin_hosts,
            auth_user,
            admin_sslmode,
            admin_sslrootcert,
        });
    }

    if let Some(mut r) = Reader::open(config, &schema, "mysql", "host", env, diags) {
        let host = r.required_string("host");
        let port = r.port("port", defaults::MYSQL_PORT);
        let username = r.required_string("username");
        let password = r.password("password");
        let tls = r.word("tls", defaults::MYSQL_TLS, MysqlTls::parse, MysqlTls::NAMES);
        settings.mysql = Some(MysqlSettings {
            host,
            port,
            username,
            password,
            tls,
            tls_files: r.tls_files("ca_cert_file", "client_cert_file", "client_key_file"),
        });
    }

    if let Some(mut r) = Reader::open(config, &schema, "redis", "host", env, diags) {
        let host = r.required_string("host");
        let port = r.port("port", defaults::REDIS_PORT);
        let username = r.string_or("username", defaults::REDIS_USERNAME);
        let password = r.password("password");
        let tls = r.block.get("tls").as_bool().unwrap_or(defaults::REDIS_TLS);
        settings.redis = Some(RedisSettings {
            host,
            port,
            username,
            password,
            tls,
            tls_files: r.tls_files("ca_cert_file", "client_cert_file", "client_key_file"),
        });
    }

    if let Some(mut r) = Reader::open(config, &schema, "vault", "address", env, diags) {
        let address = r.required_string("address");
        let token = r.string("token").map(Secret::Plain).unwrap_or(Secret::None);
        let mount = r
            .string_or("mount", defaults::VAULT_MOUNT)
            .trim_matches('/')
            .to_string();
        if let Err(why) = crate::resources::common::check_vault_mount(&mount) {
            r.diags
                .error_at(r.path.join("mount"), "Invalid Vault mount", why);
        }
        if !(address.is_empty()
            || address.starts_with("http://")
            || address.starts_with("https://"))
        {
            let from = r
                .env_of("address")
                .map(|e| format!(" (from {e})"))
                .unwrap_or_default();
            r.diags.error_at(
                r.path.join("address"),
                "Invalid Vault address",
                format!("{address:?}{from} must start with http:// or https://."),
            );
        }
        let tls = VaultTls {
            ca_cert_file: r.pem_file("ca_cert_file", Pem::Certificate),
            ca_cert_dir: r.ca_dir("ca_cert_dir"),
            skip_verify: r.flag("skip_tls_verify", defaults::VAULT_SKIP_TLS_VERIFY),
        };
        let namespace = r
            .string("namespace")
            .map(|n| n.trim_matches('/').to_string())
            .filter(|n| !n.is_empty());
        let allow_custom_statements = r.flag("allow_custom_statements", false);
        let login = vault_login(&mut r, token == Secret::None);
        let token = match (token, &login) {
            (Secret::None, None) => vault_token_file(&mut r),
            (token, _) => token,
        };
        settings.vault = Some(VaultSettings {
            address: address.trim_end_matches('/').to_string(),
            token,
            mount,
            tls,
            namespace,
            login,
            allow_custom_statements,
        });
    }
    settings
}

#[async_trait::async_trait]
impl tfplugin::Provider for DbaasProvider {
    type Client = Backends;

    fn schema(&self) -> Schema {
        provider_schema()
    }

    fn resources(&self) -> Vec<Arc<dyn tfplugin::Resource<Backends>>> {
        crate::resources::all()
    }

    fn data_sources(&self) -> Vec<Arc<dyn tfplugin::DataSource<Backends>>> {
        crate::data_sources::all()
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn tfplugin::EphemeralResource<Backends>>> {
        crate::ephemeral_resources::all()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let vault = config.get("vault");
        if !vault.is_null() {
            auth_blocks_set(vault, &AttributePath::attr("vault"), diags);
        }
    }

    async fn shutdown(&self, client: &Backends) {
        client.shutdown().await;
    }

    async fn configure(
        &self,
        config: &Value,
        info: &ClientInfo,
        diags: &mut Diagnostics,
    ) -> Option<Backends> {
        let settings = settings_from_config(config, &crate::libpq_env::var, diags);
        if diags.has_errors() {
            return None;
        }
        Some(Backends::new(settings).stopped_by(info.cancel.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn block(pairs: &[(&str, Value)]) -> Value {
        let mut v = Value::Map(Default::default());
        for (k, x) in pairs {
            v.set(k, x.clone());
        }
        v
    }

    fn config(blocks: &[(&str, Value)]) -> Value {
        let mut c = block(&[]);
        for name in ["postgres", "pgbouncer", "mysql", "redis", "vault"] {
            c.set(name, Value::Null);
        }
        for (k, v) in blocks {
            c.set(k, v.clone());
        }
        c
    }

    #[test]
    fn postgres_falls_back_to_libpq_env() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("PGHOST", "db"),
            ("PGPORT", "5433"),
            ("PGUSER", "admin"),
            ("PGPASSWORD", "pw"),
        ]);
        let mut diags = Diagnostics::default();
        let s = settings_from_config(
            &config(&[]),
            &|k| env.get(k).map(|v| v.to_string()),
            &mut diags,
        );
        assert!(!diags.has_errors(), "{diags:?}");
        let pg = s.postgres.unwrap();
        assert_eq!(
            (pg.host.as_str(), pg.port, pg.username.as_str()),
            ("db", 5433, "admin")
        );
        assert_eq!(pg.password, Secret::Plain("pw".into()));
        assert_eq!(
            (
                pg.database.as_str(),
                pg.sslmode.as_str(),
                pg.connect_timeout
            ),
            ("postgres", "prefer", 10)
        );
    }

    #[test]
    fn missing_host_is_reported_on_the_attribute() {
        let mut diags = Diagnostics::default();
        let s = settings_from_config(
            &config(&[("mysql", block(&[("username", Value::string("root"))]))]),
            &|_| None,
            &mut diags,
        );
        assert!(diags.has_errors());
        assert_eq!(
            diags.0[0].attribute,
            Some(AttributePath::attr("mysql").join("host"))
        );
        assert!(s.mysql.is_some());
    }

    #[test]
    fn bad_port_env_is_an_error_on_port() {
        let mut diags = Diagnostics::default();
        settings_from_config(
            &config(&[]),
            &|k| match k {
                "PGHOST" => Some("h".into()),
                "PGPORT" => Some("99999".into()),
                _ => None,
            },
            &mut diags,
        );
        assert_eq!(
            diags.0[0].attribute,
            Some(AttributePath::attr("postgres").join("port"))
        );
    }

    #[test]
    fn password_and_vault_path_conflict() {
        let mut diags = Diagnostics::default();
        let pg = block(&[
            ("host", Value::string("h")),
            ("password", Value::string("x")),
            ("password_vault_path", Value::string("secret/data/pg")),
        ]);
        settings_from_config(&config(&[("postgres", pg)]), &|_| None, &mut diags);
        assert!(diags.has_errors());
        assert_eq!(
            diags.0[0].attribute,
            Some(AttributePath::attr("postgres").join("password_vault_path"))
        );
    }

    #[test]
    fn pgbouncer_admin_hosts_default_to_the_app_endpoint() {
        let mut diags = Diagnostics::default();
        let pgb = block(&[("host", Value::string("pgb")), ("port", Value::int(6000))]);
        let s = settings_from_config(&config(&[("pgbouncer", pgb)]), &|_| None, &mut diags);
        assert_eq!(
            s.pgbouncer.unwrap().admin_hosts,
            vec![("pgb".to_string(), 6000)]
        );
    }

    /// A temp dir holding `ca.pem` (a certificate), `key.pem` (a key) and `junk.txt`.
    fn pem_dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("ca.pem"),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("key.pem"),
            "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        std::fs::write(d.path().join("junk.txt"), "not pem").unwrap();
        d
    }

    fn path_in(d: &tempfile::TempDir, f: &str) -> String {
        d.path().join(f).display().to_string()
    }

    /// The attribute paths and details of the errors.
    fn errors(diags: &Diagnostics) -> Vec<(String, String)> {
        diags
            .iter()
            .map(|d| {
                (
                    d.attribute
                        .as_ref()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    d.detail.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn tls_files_are_read_into_the_settings() {
        let d = pem_dir();
        let (ca, key) = (path_in(&d, "ca.pem"), path_in(&d, "key.pem"));
        let env: HashMap<&str, String> = HashMap::from([
            ("PGHOST", "db".to_string()),
            ("PGSSLROOTCERT", ca.clone()),
            ("PGSSLCERT", ca.clone()),
            ("PGSSLKEY", key.clone()),
            ("VAULT_ADDR", "https://vault:8200".to_string()),
            ("VAULT_CACERT", ca.clone()),
            ("VAULT_CAPATH", d.path().display().to_string()),
            ("VAULT_SKIP_VERIFY", "TRUE".to_string()),
            ("VAULT_NAMESPACE", "/team-a/".to_string()),
        ]);
        let my = block(&[
            ("host", Value::string("m")),
            ("username", Value::string("root")),
            ("tls", Value::string("verify_identity")),
            ("ca_cert_file", Value::string(&ca)),
            ("client_cert_file", Value::string(&ca)),
            ("client_key_file", Value::string(&key)),
        ]);
        let pgb = block(&[
            ("host", Value::string("b")),
            ("admin_sslmode", Value::string("verify-full")),
            ("admin_sslrootcert", Value::string(&ca)),
        ]);
        let mut diags = Diagnostics::default();
        let s = settings_from_config(
            &config(&[("mysql", my), ("pgbouncer", pgb)]),
            &|k| env.get(k).cloned(),
            &mut diags,
        );
        assert!(!diags.has_errors(), "{diags:?}");
        let pg = s.postgres.unwrap();
        assert_eq!(pg.tls_files.ca_cert.as_deref(), Some(ca.as_str()));
        assert_eq!(
            pg.tls_files.client_pair(),
            Some((ca.as_str(), key.as_str()))
        );
        let m = s.mysql.unwrap();
        assert_eq!(m.tls, MysqlTls::VerifyIdentity);
        assert_eq!(m.tls_files.client_pair(), Some((ca.as_str(), key.as_str())));
        let b = s.pgbouncer.unwrap();
        assert_eq!(
            (b.admin_sslmode, b.admin_sslrootcert.as_deref()),
            (SslMode::VerifyFull, Some(ca.as_str()))
        );
        let v = s.vault.unwrap();
        assert_eq!(v.tls.ca_cert_file.as_deref(), Some(ca.as_str()));
        assert!(v.tls.ca_cert_dir.is_some() && v.tls.skip_verify);
        assert_eq!(v.namespace.as_deref(), Some("team-a"));
        // Defaults: admin console TLS `prefer`, no files, Vault verifies.
        let mut diags = Diagnostics::default();
        let s = settings_from_config(
            &config(&[
                ("pgbouncer", block(&[("host", Value::string("b"))])),
                (
                    "vault",
                    block(&[("address", Value::string("http://v:8200"))]),
                ),
            ]),
            &|_| None,
            &mut diags,
        );
        assert!(!diags.has_errors(), "{diags:?}");
        assert_eq!(s.pgbouncer.unwrap().admin_sslmode, SslMode::Prefer);
        let v = s.vault.unwrap();
        assert_eq!((v.tls, v.namespace), (Default::default(), None));
    }

    #[test]
    fn a_missing_or_wrong_tls_file_is_an_error_on_its_attribute_naming_the_path() {
        let d = pem_dir();
        let missing = path_in(&d, "nope.pem");
        let junk = path_in(&d, "junk.txt");
        let ca = path_in(&d, "ca.pem");
        let rd = block(&[
            ("host", Value::string("r")),
            ("tls", Value::Bool(true)),
            ("ca_cert_file", Value::string(&missing)),
            ("client_key_file", Value::string(&ca)),
        ]);
        let vault = block(&[
            ("address", Value::string("https://v:8200")),
            (
                "ca_cert_dir",
                Value::string(d.path().join("nodir").display().to_string()),
            ),
        ]);
        let mut diags = Diagnostics::default();
        settings_from_config(
            &config(&[("redis", rd), ("vault", vault)]),
            &|k| match k {
                "PGHOST" => Some("db".into()),
                "PGSSLROOTCERT" => Some(junk.clone()),
                "VAULT_SKIP_VERIFY" => Some("maybe".into()),
                _ => None,
            },
            &mut diags,
        );
        let errs = errors(&diags);
        let at = |path: &str| {
            errs.iter()
                .find(|(p, _)| p == path)
                .map(|(_, d)| d.clone())
                .unwrap_or_else(|| panic!("no error at {path}: {errs:?}"))
        };
        let pg = at("postgres.sslrootcert");
        assert!(
            pg.contains(&junk) && pg.contains("PGSSLROOTCERT") && pg.contains("no PEM certificate"),
            "{pg}"
        );
        let rca = at("redis.ca_cert_file");
        assert!(
            rca.contains(&missing) && rca.contains("cannot read"),
            "{rca}"
        );
        // A key that is a certificate, and a key without its certificate.
        assert!(at("redis.client_key_file").contains("no PEM private key"));
        assert!(at("redis.client_cert_file").contains("client_key_file"));
        assert!(at("vault.ca_cert_dir").contains("nodir"));
        assert!(at("vault.skip_tls_verify").contains("maybe"));
        assert_eq!(errs.len(), 6, "{errs:?}");
    }

    fn vault_with(blocks: &[(&str, Value)]) -> Value {
        let mut v = block(&[("address", Value::string("http://vault:8200"))]);
        for name in VAULT_AUTH_BLOCKS {
            v.set(name, Value::Null);
        }
        for (k, x) in blocks {
            v.set(k, x.clone());
        }
        config(&[("vault", v)])
    }

    #[test]
    fn vault_token_order_is_attribute_env_login_then_token_file() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".vault-token"), "from-file\n").unwrap();
        let home_s = home.path().display().to_string();
        let read = |c: &Value, vault_token: Option<&str>| {
            let mut diags = Diagnostics::default();
            let s = settings_from_config(
                c,
                &|k| match k {
                    "HOME" => Some(home_s.clone()),
                    "VAULT_TOKEN" => vault_token.map(str::to_string),
                    _ => None,
                },
                &mut diags,
            );
            assert!(!diags.has_errors(), "{diags:?}");
            s.vault.unwrap()
        };
        let with_attr = vault_with(&[("token", Value::string("attr"))]);
        assert_eq!(
            read(&with_attr, Some("env")).token,
            Secret::Plain("attr".into())
        );
        assert_eq!(
            read(&vault_with(&[]), Some("env")).token,
            Secret::Plain("env".into())
        );
        assert_eq!(
            read(&vault_with(&[]), None).token,
            Secret::Plain("from-file".into())
        );
        let approle = block(&[
            ("role_id", Value::string("r")),
            ("secret_id", Value::string("s")),
        ]);
        let v = read(
            &vault_with(&[("auth_login_approle", approle.clone())]),
            None,
        );
        assert_eq!(
            v.token,
            Secret::None,
            "a login block comes before the token file"
        );
        assert_eq!(
            v.login.as_ref().map(|l| (l.method(), l.mount())),
            Some(("approle", "approle"))
        );
        // A token from VAULT_TOKEN wins over the login block.
        let v = read(&vault_with(&[("auth_login_approle", approle)]), Some("env"));
        assert_eq!(v.token, Secret::Plain("env".into()));
    }

    #[test]
    fn an_unreadable_token_file_is_an_error_naming_it_and_an_absent_one_is_none() {
        let home = tempfile::tempdir().unwrap();
        let home_s = home.path().display().to_string();
        let mut diags = Diagnostics::default();
        let s = settings_from_config(
            &vault_with(&[]),
            &|k| (k == "HOME").then(|| home_s.clone()),
            &mut diags,
        );
        assert!(!diags.has_errors(), "{diags:?}");
        assert_eq!(s.vault.unwrap().token, Secret::None);
        // A directory in the file's place cannot be read (as root, permissions would not stop us).
        std::fs::create_dir(home.path().join(".vault-token")).unwrap();
        let mut diags = Diagnostics::default();
        settings_from_config(
            &vault_with(&[]),
            &|k| (k == "HOME").then(|| home_s.clone()),
            &mut diags,
        );
        assert!(diags.has_errors());
        assert!(diags.0[0].detail.contains(".vault-token"), "{diags:?}");
        assert_eq!(diags.0[0].attribute, Some(AttributePath::attr("vault")));
    }

    #[test]
    fn login_blocks_default_their_mount_and_read_their_settings() {
        let jwt = block(&[("role", Value::string("ci"))]);
        let mut diags = Diagnostics::default();
        let s = settings_from_config(
            &vault_with(&[("auth_login_jwt", jwt)]),
            &|k| (k == "TERRAFORM_VAULT_AUTH_JWT").then(|| "eyJ.x.y".to_string()),
            &mut diags,
        );
        assert!(!diags.has_errors(), "{diags:?}");
        assert_eq!(
            s.vault.unwrap().login,
            Some(VaultLogin::Jwt {
                mount: "jwt".into(),
                role: "ci".into(),
                jwt: "eyJ.x.y".into()
            })
        );
        // The role is required; the JWT too when the environment has none.
        let mut diags = Diagnostics::default();
        settings_from_config(
            &vault_with(&[(
                "auth_login_jwt",
                block(&[("mount", Value::string("/gitlab/"))]),
            )]),
            &|_| None,
            &mut diags,
        );
        let paths: Vec<String> = diags
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(
            paths,
            vec!["vault.auth_login_jwt.role", "vault.auth_login_jwt.jwt"]
        );
        // Kubernetes: a missing token file is an error on jwt_file, naming it.
        let k8s = block(&[
            ("role", Value::string("r")),
            ("mount", Value::string("k8s")),
            ("jwt_file", Value::string("/nonexistent/token")),
        ]);
        let mut diags = Diagnostics::default();
        let s = settings_from_config(
            &vault_with(&[("auth_login_kubernetes", k8s)]),
            &|_| None,
            &mut diags,
        );
        assert_eq!(
            diags.0[0].attribute,
            Some(
                AttributePath::attr("vault")
                    .join("auth_login_kubernetes")
                    .join("jwt_file")
            )
        );
        assert!(diags.0[0].detail.contains("/nonexistent/token"));
        assert_eq!(
            s.vault.unwrap().login.map(|l| l.mount().to_string()),
            Some("k8s".into())
        );
        // With a token configured the login is unused, and its file is not checked.
        let k8s = block(&[
            ("role", Value::string("r")),
            ("jwt_file", Value::string("/nonexistent/token")),
        ]);
        let mut diags = Diagnostics::default();
        settings_from_config(
            &vault_with(&[
                ("auth_login_kubernetes", k8s),
                ("token", Value::string("t")),
            ]),
            &|_| None,
            &mut diags,
        );
        assert!(!diags.has_errors(), "{diags:?}");
    }

    #[test]
    fn a_second_login_block_is_an_error_on_it() {
        let approle = block(&[("role_id", Value::string("r"))]);
        let jwt = block(&[("role", Value::string("ci")), ("jwt", Value::string("x"))]);
        let c = vault_with(&[("auth_login_approle", approle), ("auth_login_jwt", jwt)]);
        let mut diags = Diagnostics::default();
        settings_from_config(&c, &|_| None, &mut diags);
        assert_eq!(diags.0.len(), 1, "{diags:?}");
        assert_eq!(
            diags.0[0].attribute,
            Some(AttributePath::attr("vault").join("auth_login_jwt"))
        );
        let mut diags = Diagnostics::default();
        futures_lite_block_on(tfplugin::Provider::validate(&DbaasProvider, &c, &mut diags));
        assert_eq!(
            diags.0[0].attribute,
            Some(AttributePath::attr("vault").join("auth_login_jwt"))
        );
    }

    /// Runs a future that does no I/O to completion.
    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn kv2_paths() {
        assert!(valid_kv2_path("secret/data/postgres/root"));
        assert!(valid_kv2_path("kv/team/data/x"));
        assert!(!valid_kv2_path("secret/postgres/root"));
        assert!(!valid_kv2_path("/secret/data/x"));
        assert!(!valid_kv2_path("secret/data/"));
        for bad in [
            "secret/data/../sys/policy/x",
            "secret/data/./x",
            "secret/data/a%2F..%2Fb",
            "secret/data/x?version=1",
            "secret/data/x#y",
            "secret/data/a b",
            "secret/data/a\\b",
            "secret/data/a\tb",
        ] {
            assert!(!valid_kv2_path(bad), "{bad:?}");
        }
        assert!(valid_kv2_path("secret/data/team-a/pg.root_1"));
    }

    #[test]
    fn schema_validators_flag_the_nested_attribute() {
        let s = provider_schema();
        let mut diags = Diagnostics::default();
        let pg = block(&[
            ("host", Value::string("h")),
            ("port", Value::int(70000)),
            ("sslmode", Value::string("sometimes")),
        ]);
        s.block.validate_value(
            &config(&[("postgres", pg)]),
            &AttributePath::default(),
            &mut diags,
        );
        let paths: Vec<String> = diags
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(paths, vec!["postgres.port", "postgres.sslmode"]);
    }
}
