//! The `provider "dbaas"` block's schema: one optional block per backend, each
//! attribute with its description, default (from [`defaults`]), validator and
//! environment fallback (`Attribute::env`, which the settings overlay reads too).

use tfplugin::{Attribute, Block, Schema, Type, Validator};

use crate::domain::checks::valid_kv2_path;
use crate::domain::defaults;
use crate::enums::{MysqlTls, RedisTls, SslMode};

/// The values `redis.tls` accepts: the mode words, and the deprecated boolean form
/// (`tls = true` arrives as the string `"true"`).
pub const REDIS_TLS_WORDS: &[&str] = &["disabled", "required", "verify_identity", "true", "false"];

/// A file-path attribute (a PEM certificate or key) read at configure: a missing or
/// unreadable file is a diagnostic on it, naming the path.
fn pem_file(name: &str, what: &str) -> Attribute {
    Attribute::string(name).optional().description(format!(
        "{what} Read when the provider is configured (a missing or unreadable file is an error naming it); never sent anywhere but the TLS handshake."
    ))
}

/// Appends "Required when the block is present" to an attribute's description: the
/// block is optional, so the schema cannot mark the attribute required. Without an
/// environment fallback `terraform validate` checks it (`super::checks`); with one, only
/// configure can (the variable may supply it), and the text says so.
fn required_in_block(a: Attribute) -> Attribute {
    let text = match a.env.first() {
        Some(var) => format!(
            "{} Required when the block is present, here or in `{var}` (checked when the provider is configured, since the variable may supply it).",
            a.description
        ),
        None => format!(
            "{} Required when the block is present (checked by `terraform validate`).",
            a.description
        ),
    };
    a.description(text)
}

/// `connect_timeout` of a backend block: how long to wait for a connection, as
/// `postgres.connect_timeout`.
fn connect_timeout(what: &str) -> Attribute {
    defaulted(
        Attribute::number("connect_timeout").optional().description(format!(
            "Seconds to wait for a connection to {what} (TCP connect and handshake); a server that never answers fails after this long, naming the block."
        )),
        defaults::CONNECT_TIMEOUT,
    )
    .validate(Validator::int_between(1, 3600))
}

/// `max_connections` of a backend block: the sessions one provider process may hold open
/// to `what` at once.
fn max_connections(what: &str, counted: &str) -> Attribute {
    defaulted(
        Attribute::number("max_connections").optional().description(format!(
            "Most sessions one provider process holds open to {what} at any moment, {counted}; every resource shares them, and an operation waits for a free one (up to `connect_timeout` plus 20 seconds, or Ctrl-C) rather than failing. Terraform starts one provider process per command, so a server's `max_connections` bounds pipelines at once to about its value divided by this."
        )),
        defaults::MAX_CONNECTIONS,
    )
    .validate(Validator::int_between(1, 1000))
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

/// `ro_host` of the `postgres` or `pgbouncer` block: a read-only endpoint apps use.
fn ro_host(what: &str) -> Attribute {
    Attribute::string("ro_host").optional().description(what)
}

/// `ro_port`: the read-only endpoint's port, defaulting to the block's `port`.
fn ro_port(what: &str, default: &str) -> Attribute {
    Attribute::number("ro_port")
        .optional()
        .description(format!(
            "{what} Default the block's {default}. Needs `ro_host`."
        ))
        .validate(Validator::int_between(1, 65535))
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
/// before the check (`resources::common::vault_mount_validator` refuses them; both check with
/// `domain::checks::check_vault_mount`).
fn trimmed_vault_mount_validator() -> Validator {
    Validator::new(
        "`/`-separated segments of letters, digits, `-`, `_` and `.`, none empty, `.` or holding `..`",
        |v| match v.as_str() {
            Some(m) => crate::domain::checks::check_vault_mount(m.trim_matches('/')),
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
                .validate(Validator::one_of(SslMode::NAMES)),
        )
        .attr(pem_file("sslrootcert", "PEM file of the CA(s) the server certificate is checked against with `sslmode` `verify-ca` or `verify-full` (as libpq; `require` with it set checks the chain too, as libpq does). Unlike libpq, the built-in (webpki) roots stay trusted beside it: the PostgreSQL driver offers no way to drop them.").env(&["PGSSLROOTCERT"]))
        .attr(pem_file("sslcert", "PEM client certificate, for servers that authenticate clients by certificate. Needs `sslkey`.").env(&["PGSSLCERT"]))
        .attr(pem_file("sslkey", "PEM private key of `sslcert`.").env(&["PGSSLKEY"]))
        .attr(connect_timeout("the primary"))
        .attr(max_connections("the primary", "counting the admin sessions in the maintenance database and those opened into tenant databases (to install extensions, read schemas, revoke), which are closed when their work is done"))
        .attr(ro_host("A read-only PostgreSQL endpoint apps may use for `readonly` logins: the hot standbys, e.g. CloudNativePG's `<cluster>-ro` service (`pg-cluster-ro.dbaas.svc.cluster.local`). `dbaas_endpoints.postgres_ro_host` gives it when `pgbouncer.ro_host` is not set. The provider itself never connects there."))
        .attr(ro_port("`ro_host`'s port.", "`port`"));
    let pgbouncer = Block::new("PgBouncer: the endpoint apps use, and the admin console of every replica.")
        .attr(required_in_block(Attribute::string("host").optional().description("Host apps connect to, e.g. `pgbouncer.dbaas.svc.cluster.local`.")))
        .attr(port("port", defaults::PGBOUNCER_PORT, "Port apps connect to."))
        .attr(Attribute::string("admin_username").optional().description("A user listed in PgBouncer's `admin_users`; the `username` of the `password_vault_path` secret, when it has one, takes precedence. Required when the block is present, unless `password_vault_path` is set and its secret holds a `username` (checked by `terraform validate`, and at first use for the secret)."))
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
                .validate(Validator::one_of(SslMode::NAMES)),
        )
        .attr(pem_file("admin_sslrootcert", "PEM file of the CA(s) the admin consoles' certificates are checked against (`admin_sslmode` `verify-ca` or `verify-full`); the built-in (webpki) roots stay trusted beside it, as for `postgres.sslrootcert`. Not taken from `PGSSLROOTCERT`: without it the consoles are checked against the built-in roots only."))
        .attr(connect_timeout("each admin console"))
        .attr(ro_host("A PgBouncer in front of the hot standbys, e.g. a CloudNativePG `Pooler` of `type: ro` (`pgbouncer-ro.dbaas.svc.cluster.local`): the read-only endpoint `dbaas_endpoints.postgres_ro_host` and the lookups' `ro_host` give, taking precedence over `postgres.ro_host`. It runs the same `auth_query` (the auth function is replicated with each database). It need not be in `admin_hosts`: a standby ends its sessions in a database when it replays that database's drop. The provider itself never connects to `ro_host`."))
        .attr(ro_port("`ro_host`'s port.", "`port`"));
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
                .validate(Validator::one_of(MysqlTls::NAMES)),
        )
        .attr(pem_file("ca_cert_file", "PEM file of the CA(s) the server certificate is checked against (`tls` `verify_ca` or `verify_identity`). Replaces the built-in roots."))
        .attr(pem_file("client_cert_file", "PEM client certificate (X.509 authentication). Needs `client_key_file`."))
        .attr(pem_file("client_key_file", "PEM private key of `client_cert_file`."))
        .attr(connect_timeout("MySQL"))
        .attr(max_connections("MySQL", "all admin sessions"));
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
            Attribute::string("tls")
                .optional()
                .description(format!("TLS mode, as `mysql.tls`: {}; `required` encrypts without checking the certificate, `verify_identity` checks the chain (against `ca_cert_file` when set, else the system roots) and the host name. Redis has no `preferred` (a port speaks TLS or not) nor `verify_ca` (Vault's Redis connection, which gets the same mode, cannot check a chain without the host name). The boolean form is deprecated: `true` means `verify_identity`, `false` `disabled` (a warning says which word to write). Default `{}`.", RedisTls::or_list(), defaults::REDIS_TLS))
                .validate(Validator::one_of(REDIS_TLS_WORDS)),
        )
        .attr(pem_file("ca_cert_file", "PEM file of the CA(s) the server certificate is checked against (`tls` `verify_identity`). Replaces the system roots; also given to Vault's Redis connection. Refused with `tls` `disabled`, which would ignore it."))
        .attr(pem_file("client_cert_file", "PEM client certificate, for `tls-auth-clients`. Needs `client_key_file`."))
        .attr(pem_file("client_key_file", "PEM private key of `client_cert_file`."))
        .attr(connect_timeout("Redis"));
    let vault = Block::new("Vault (or OpenBao) with the database secrets engine. Falls back to `VAULT_ADDR` and `VAULT_TOKEN`.")
        .attr(
            Attribute::string("address")
                .optional()
                .env(&["VAULT_ADDR"])
                .description("Vault address, e.g. `https://vault.example:8200`. Required when the block is present, here or in `VAULT_ADDR` (checked when the provider is configured, since the variable may supply it).")
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
        .attr(Attribute::string("namespace").optional().env(&["VAULT_NAMESPACE"]).description("Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace` on every request; mounts and paths are relative to it."))
        .attr(connect_timeout("Vault"));
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
