//! The `provider "dbaas"` block: its schema (one optional block per backend, with
//! environment fallbacks) and `configure`, which turns it into [`Backends`] without
//! dialling anything: connections open on first use.

use std::sync::Arc;

use tfplugin::{
    Attribute, AttributePath, Block, ClientInfo, Diagnostics, Schema, Type, Validator, Value,
};

use crate::backends::settings::{
    MysqlSettings, PgBouncerSettings, PostgresSettings, RedisSettings, Secret, Settings,
    VaultSettings,
};
use crate::backends::Backends;

/// The dbaas provider.
pub struct DbaasProvider;

fn port(name: &str, default: i64, what: &str) -> Attribute {
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
    segments.len() >= 3
        && segments.iter().all(|s| !s.is_empty())
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

/// The provider configuration schema.
pub fn provider_schema() -> Schema {
    let postgres = Block::new("Admin connection to the PostgreSQL primary (CloudNativePG `-rw` service). Falls back to the libpq environment variables.")
        .attr(Attribute::string("host").optional().env(&["PGHOST"]).description("Primary host, e.g. `pg-cluster-rw.dbaas.svc.cluster.local`."))
        .attr(port("port", 5432, "Primary port.").env(&["PGPORT"]))
        .attr(Attribute::string("username").optional().env(&["PGUSER"]).description("Admin role (needs CREATEDB and CREATEROLE)."))
        .attr(Attribute::string("password").optional().sensitive().env(&["PGPASSWORD"]).description("Admin password."))
        .attr(vault_path_attr("PostgreSQL admin", "password", "secret/data/postgres/root"))
        .attr(Attribute::string("database").optional().env(&["PGDATABASE"]).description("Maintenance database. Default `postgres`."))
        .attr(
            Attribute::string("sslmode")
                .optional()
                .env(&["PGSSLMODE"])
                .description("libpq sslmode. Default `prefer`.")
                .validate(Validator::one_of(&["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])),
        )
        .attr(Attribute::number("connect_timeout").optional().description("Seconds to wait for a connection. Default `10`.").validate(Validator::int_between(1, 3600)));
    let pgbouncer = Block::new("PgBouncer: the endpoint apps use, and the admin console of every replica.")
        .attr(Attribute::string("host").optional().description("Host apps connect to, e.g. `pgbouncer.dbaas.svc.cluster.local`."))
        .attr(port("port", 6432, "Port apps connect to."))
        .attr(Attribute::string("admin_username").optional().description("A user listed in PgBouncer's `admin_users`."))
        .attr(Attribute::string("admin_password").optional().sensitive().description("Its password."))
        .attr(vault_path_attr("PgBouncer admin", "admin_password", "secret/data/pgbouncer/admin"))
        .attr(
            Attribute::typed("admin_hosts", Type::list_of(Type::String))
                .optional()
                .description("Admin console of every PgBouncer replica as `host:port`. Default `[\"<host>:<port>\"]`.")
                .validate(host_port_list_validator()),
        )
        .attr(Attribute::string("auth_user").optional().description("PgBouncer's `auth_user`, granted the auth function and CONNECT. Default `pgbouncer_auth`."));
    let mysql = Block::new("Admin connection to MySQL (InnoDB Cluster) or MariaDB.")
        .attr(
            Attribute::string("host")
                .optional()
                .description("Host, e.g. `mysql.dbaas.svc.cluster.local`."),
        )
        .attr(port("port", 3306, "Port."))
        .attr(
            Attribute::string("username")
                .optional()
                .description("Admin user."),
        )
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
                .description("TLS mode. Default `preferred`.")
                .validate(Validator::one_of(&[
                    "disabled",
                    "preferred",
                    "required",
                    "verify_ca",
                    "verify_identity",
                ])),
        );
    let redis = Block::new("Admin connection to the shared Redis.")
        .attr(
            Attribute::string("host")
                .optional()
                .description("Host, e.g. `redis.redis.svc.cluster.local`."),
        )
        .attr(port("port", 6379, "Port."))
        .attr(
            Attribute::string("username")
                .optional()
                .description("ACL user with `+acl`. Default `default`."),
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
                .description("Use TLS. Default `false`."),
        );
    let vault = Block::new("Vault (or OpenBao) with the database secrets engine. Falls back to `VAULT_ADDR` and `VAULT_TOKEN`.")
        .attr(
            Attribute::string("address")
                .optional()
                .env(&["VAULT_ADDR"])
                .description("Vault address, e.g. `https://vault.example:8200`.")
                .validate(Validator::new("an http(s) URL", |v| match v.as_str() {
                    Some(a) if a.starts_with("http://") || a.starts_with("https://") => Ok(()),
                    Some(a) => Err(format!("{a:?} must start with http:// or https://")),
                    None => Ok(()),
                })),
        )
        .attr(Attribute::string("token").optional().sensitive().env(&["VAULT_TOKEN"]).description("Vault token."))
        .attr(Attribute::string("mount").optional().description("Mount path of the database secrets engine, e.g. `database` or `team/database` (slashes at either end are dropped). Default `database`.").validate(Validator::new("`/`-separated segments, none empty, `.` or `..`; no control characters", |v| match v.as_str() {
            Some(m) => crate::resources::common::check_vault_mount(m.trim_matches('/')),
            None => Ok(()),
        })));
    Schema::new(
        Block::new("Manages tenant databases on a shared PostgreSQL/PgBouncer, MySQL and Redis platform, and their credential rotation in Vault. Every block is optional; a resource that needs a missing one says so.")
            .single_block("postgres", postgres)
            .single_block("pgbouncer", pgbouncer)
            .single_block("mysql", mysql)
            .single_block("redis", redis)
            .single_block("vault", vault),
    )
}

/// Reads provider configuration with environment fallbacks, recording a diagnostic at
/// the attribute path for anything missing or malformed.
struct Reader<'a> {
    block: &'a Value,
    path: AttributePath,
    env: &'a dyn Fn(&str) -> Option<String>,
    diags: &'a mut Diagnostics,
}

impl Reader<'_> {
    fn string(&mut self, name: &str, env: Option<&str>) -> Option<String> {
        match self.block.get(name) {
            Value::String(s) => Some(s.clone()),
            Value::Unknown(_) => {
                self.diags.error_at(self.path.join(name), format!("{} is not known yet", self.path.join(name)), "Provider settings must be known at plan time; do not derive them from resources created in the same run.");
                None
            }
            _ => env.and_then(|e| (self.env)(e)).filter(|s| !s.is_empty()),
        }
    }

    fn required_string(&mut self, name: &str, env: Option<&str>, block: &str) -> String {
        match self.string(name, env) {
            Some(s) if !s.is_empty() => s,
            _ => {
                let hint = env
                    .map(|e| format!(" or the {e} environment variable"))
                    .unwrap_or_default();
                self.diags.error_at(
                    self.path.join(name),
                    format!("Missing {block}.{name}"),
                    format!("The {block} block needs `{name}`: set it{hint}."),
                );
                String::new()
            }
        }
    }

    fn port(&mut self, name: &str, env: Option<&str>, default: u16) -> u16 {
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

    fn password(&mut self, env: Option<&str>, key: &str, block: &str) -> Secret {
        let vault_path = self.string("password_vault_path", None);
        let plain = self.string(key, env);
        match (plain, vault_path) {
            (Some(_), Some(_)) if !self.block.get(key).is_null() => {
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
}

/// Builds [`Settings`] from the provider configuration; `env` supplies fallbacks.
pub fn settings_from_config(
    config: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
) -> Settings {
    let mut settings = Settings::default();

    let block = config.get("postgres");
    if !block.is_null() || env("PGHOST").is_some() {
        let mut r = Reader {
            block,
            path: AttributePath::attr("postgres"),
            env,
            diags,
        };
        let host = r.required_string("host", Some("PGHOST"), "postgres");
        let port = r.port("port", Some("PGPORT"), 5432);
        let password = r.password(Some("PGPASSWORD"), "password", "postgres");
        let username = r
            .string("username", Some("PGUSER"))
            .unwrap_or_else(|| "postgres".into());
        let database = r
            .string("database", Some("PGDATABASE"))
            .unwrap_or_else(|| "postgres".into());
        let sslmode = r
            .string("sslmode", Some("PGSSLMODE"))
            .unwrap_or_else(|| "prefer".into());
        if ![
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ]
        .contains(&sslmode.as_str())
        {
            r.diags.error_at(r.path.join("sslmode"), "Invalid sslmode", format!("{sslmode:?} (from PGSSLMODE) is not one of disable, allow, prefer, require, verify-ca, verify-full."));
        }
        let connect_timeout = block.get("connect_timeout").as_i64().unwrap_or(10).max(1) as u64;
        settings.postgres = Some(PostgresSettings {
            host,
            port,
            username,
            password,
            database,
            sslmode,
            connect_timeout,
        });
    }

    let block = config.get("pgbouncer");
    if !block.is_null() {
        let mut r = Reader {
            block,
            path: AttributePath::attr("pgbouncer"),
            env,
            diags,
        };
        let host = r.required_string("host", None, "pgbouncer");
        let port = r.port("port", None, 6432);
        let admin_username = r.string("admin_username", None).unwrap_or_default();
        let admin_password = r.password(None, "admin_password", "pgbouncer");
        let auth_user = r
            .string("auth_user", None)
            .unwrap_or_else(|| "pgbouncer_auth".into());
        let mut admin_hosts: Vec<(String, u16)> = block
            .get("admin_hosts")
            .string_list()
            .iter()
            .filter_map(|h| crate::backends::settings::parse_host_port(h))
            .collect();
        if admin_hosts.is_empty() {
            admin_hosts.push((host.clone(), port));
        }
        settings.pgbouncer = Some(PgBouncerSettings {
            host,
            port,
            admin_username,
            admin_password,
            admin_hosts,
            auth_user,
        });
    }

    let block = config.get("mysql");
    if !block.is_null() {
        let mut r = Reader {
            block,
            path: AttributePath::attr("mysql"),
            env,
            diags,
        };
        let host = r.required_string("host", None, "mysql");
        let port = r.port("port", None, 3306);
        let username = r.required_string("username", None, "mysql");
        let password = r.password(None, "password", "mysql");
        let tls = r.string("tls", None).unwrap_or_else(|| "preferred".into());
        settings.mysql = Some(MysqlSettings {
            host,
            port,
            username,
            password,
            tls,
        });
    }

    let block = config.get("redis");
    if !block.is_null() {
        let mut r = Reader {
            block,
            path: AttributePath::attr("redis"),
            env,
            diags,
        };
        let host = r.required_string("host", None, "redis");
        let port = r.port("port", None, 6379);
        let username = r
            .string("username", None)
            .unwrap_or_else(|| "default".into());
        let password = r.password(None, "password", "redis");
        let tls = block.get("tls").as_bool().unwrap_or(false);
        settings.redis = Some(RedisSettings {
            host,
            port,
            username,
            password,
            tls,
        });
    }

    let block = config.get("vault");
    if !block.is_null() || env("VAULT_ADDR").is_some() {
        let mut r = Reader {
            block,
            path: AttributePath::attr("vault"),
            env,
            diags,
        };
        let address = r.required_string("address", Some("VAULT_ADDR"), "vault");
        let token = r
            .string("token", Some("VAULT_TOKEN"))
            .map(Secret::Plain)
            .unwrap_or(Secret::None);
        let mount = r
            .string("mount", None)
            .unwrap_or_else(|| "database".into())
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
            r.diags.error_at(
                r.path.join("address"),
                "Invalid Vault address",
                format!("{address:?} (from VAULT_ADDR) must start with http:// or https://."),
            );
        }
        settings.vault = Some(VaultSettings {
            address: address.trim_end_matches('/').to_string(),
            token,
            mount,
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

    async fn configure(
        &self,
        config: &Value,
        _info: &ClientInfo,
        diags: &mut Diagnostics,
    ) -> Option<Backends> {
        let settings = settings_from_config(
            config,
            &|k| std::env::var(k).ok().filter(|v| !v.is_empty()),
            diags,
        );
        if diags.has_errors() {
            return None;
        }
        Some(Backends::new(settings))
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

    #[test]
    fn kv2_paths() {
        assert!(valid_kv2_path("secret/data/postgres/root"));
        assert!(valid_kv2_path("kv/team/data/x"));
        assert!(!valid_kv2_path("secret/postgres/root"));
        assert!(!valid_kv2_path("/secret/data/x"));
        assert!(!valid_kv2_path("secret/data/"));
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
