//! `data "dbaas_endpoints"`: the hosts and ports apps and admins use, the TLS settings
//! apps need and the read-only PostgreSQL endpoint, from the provider configuration; the
//! replacement for hand-kept shared variables. Opens no connection.

use serde::{Deserialize, Serialize};
use tfplugin::typed::try_encode;
use tfplugin::{Attribute, Block, Error, Schema, Value};

use crate::backends::settings::Settings;
use crate::backends::Backends;
use crate::enums::Engine;
use crate::resources::common::Ctx;

/// The endpoints data source.
pub struct Endpoints;

/// The state: null where the provider block is not configured.
#[derive(Debug, Serialize, Deserialize)]
struct Model {
    id: String,
    postgres_host: Option<String>,
    postgres_port: Option<u16>,
    postgres_admin_host: Option<String>,
    mysql_host: Option<String>,
    mysql_port: Option<u16>,
    redis_host: Option<String>,
    redis_port: Option<u16>,
    vault_address: Option<String>,
    postgres_ro_host: Option<String>,
    postgres_ro_port: Option<u16>,
    postgres_sslmode: Option<String>,
    postgres_ca_bundle_path: Option<String>,
    mysql_tls: Option<String>,
    mysql_ca_bundle_path: Option<String>,
    redis_tls: Option<String>,
    redis_ca_bundle_path: Option<String>,
}

const STRINGS: [(&str, &str); 12] = [
    (
        "postgres_host",
        "Host apps use for PostgreSQL: the PgBouncer endpoint (`pgbouncer.host`), or the primary (`postgres.host`) when no `pgbouncer` block is configured, as the resources' `host`.",
    ),
    (
        "postgres_admin_host",
        "The PostgreSQL primary (`postgres.host`), for administration only.",
    ),
    ("mysql_host", "MySQL host (`mysql.host`)."),
    ("redis_host", "Redis host (`redis.host`)."),
    (
        "vault_address",
        "Vault address (`vault.address` or `VAULT_ADDR`).",
    ),
    (
        "postgres_ro_host",
        "Read-only PostgreSQL endpoint for `readonly` logins (hot standbys, so reads lag the primary slightly and writes fail): the replica pooler (`pgbouncer.ro_host`, e.g. a CloudNativePG `Pooler` of `type: ro`), else the standbys' service (`postgres.ro_host`, CloudNativePG's `<cluster>-ro`); null when neither is set.",
    ),
    (
        "postgres_sslmode",
        "libpq `sslmode` for `postgres_host`: the mode the provider itself reaches that endpoint with (`pgbouncer.admin_sslmode`, since PgBouncer serves apps and its console on one listener; `postgres.sslmode` without a `pgbouncer` block). Also holds for `postgres_ro_host` when the replica pooler is set up as the primary's.",
    ),
    (
        "postgres_ca_bundle_path",
        "Path of the CA bundle the provider checks `postgres_host`'s certificate against (`pgbouncer.admin_sslrootcert`, or `postgres.sslrootcert` without a `pgbouncer` block), for apps that mount the same bundle at the same path (libpq `sslrootcert`); null when none is set.",
    ),
    (
        "mysql_tls",
        "MySQL TLS mode (`mysql.tls`): `disabled`, `preferred`, `required`, `verify_ca` or `verify_identity`.",
    ),
    (
        "mysql_ca_bundle_path",
        "Path of the CA bundle for MySQL (`mysql.ca_cert_file`); null when none is set.",
    ),
    (
        "redis_tls",
        "Redis TLS mode (`redis.tls`): `disabled` (a `redis://` URL), `required` or `verify_identity` (`rediss://`; the latter also checks the host name).",
    ),
    (
        "redis_ca_bundle_path",
        "Path of the CA bundle for Redis (`redis.ca_cert_file`); null when none is set (the system roots).",
    ),
];

const NUMBERS: [(&str, &str); 4] = [
    (
        "postgres_port",
        "Port apps use for PostgreSQL: PgBouncer's (`pgbouncer.port`), or the primary's (`postgres.port`) when no `pgbouncer` block is configured.",
    ),
    ("mysql_port", "MySQL port."),
    ("redis_port", "Redis port."),
    (
        "postgres_ro_port",
        "Port of `postgres_ro_host` (`pgbouncer.ro_port` or `postgres.ro_port`, each defaulting to its block's `port`).",
    ),
];

#[async_trait::async_trait]
impl tfplugin::DataSource<Backends> for Endpoints {
    tfplugin::typed!("dbaas_endpoints", Model);

    fn schema(&self) -> Schema {
        let mut block = Block::new("Endpoints of the shared database platform and the TLS settings apps need to reach them, including a read-only PostgreSQL endpoint, from the provider configuration. Null where the provider block is not configured.")
            .attr(Attribute::string("id").computed().description("Always `dbaas`."));
        for (name, d) in STRINGS {
            block = block.attr(Attribute::string(name).computed().description(d));
        }
        for (name, d) in NUMBERS {
            block = block.attr(Attribute::number(name).computed().description(d));
        }
        Schema::new(block)
    }

    async fn read(&self, ctx: &mut Ctx<'_>, _config: &Value) -> Result<Value, Error> {
        try_encode(&Model::of(&ctx.client.settings))
    }
}

impl Model {
    /// The endpoints the provider block configures; null where a block is absent.
    fn of(s: &Settings) -> Model {
        // The rule the resources' `host` and `port` follow (PgBouncer, else the primary).
        let (postgres_host, postgres_port) = s.app_endpoint(Engine::Postgres).known().unzip();
        let (postgres_ro_host, postgres_ro_port) = s.read_only_endpoint().unzip();
        // The TLS apps meet at `postgres_host`: PgBouncer's listener, else the primary's.
        let (postgres_sslmode, postgres_ca_bundle_path) = match (&s.pgbouncer, &s.postgres) {
            (Some(b), _) => (Some(b.admin_sslmode), b.admin_sslrootcert.clone()),
            (None, Some(p)) if !s.is_unknown("pgbouncer") => {
                (Some(p.sslmode), p.tls_files.ca_cert.clone())
            }
            _ => (None, None),
        };
        Model {
            id: "dbaas".into(),
            postgres_host,
            postgres_port,
            postgres_admin_host: s.postgres.as_ref().map(|p| p.host.clone()),
            mysql_host: s.mysql.as_ref().map(|m| m.host.clone()),
            mysql_port: s.mysql.as_ref().map(|m| m.port),
            redis_host: s.redis.as_ref().map(|r| r.host.clone()),
            redis_port: s.redis.as_ref().map(|r| r.port),
            vault_address: s.vault.as_ref().map(|v| v.address.clone()),
            postgres_ro_host,
            postgres_ro_port,
            postgres_sslmode: postgres_sslmode.map(|m| m.as_str().to_string()),
            postgres_ca_bundle_path,
            mysql_tls: s.mysql.as_ref().map(|m| m.tls.as_str().to_string()),
            mysql_ca_bundle_path: s.mysql.as_ref().and_then(|m| m.tls_files.ca_cert.clone()),
            redis_tls: s.redis.as_ref().map(|r| r.tls.as_str().to_string()),
            redis_ca_bundle_path: s.redis.as_ref().and_then(|r| r.tls_files.ca_cert.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_null_where_no_block_is_configured() {
        let none = Model::of(&Settings::default());
        assert_eq!(none.id, "dbaas");
        assert_eq!((none.postgres_host, none.postgres_port), (None, None));
        assert_eq!(
            (none.mysql_host, none.redis_port, none.vault_address),
            (None, None, None)
        );
        let v = try_encode(&Model::of(&Settings::default())).unwrap();
        assert!(v.get("postgres_host").is_null());
    }

    #[test]
    fn postgres_host_is_pgbouncer_else_the_primary_as_for_the_resources() {
        let block = |pairs: &[(&str, Value)]| Value::object(pairs);
        let pg = block(&[
            ("host", Value::string("primary")),
            ("port", Value::int(5432)),
        ]);
        let pgb = block(&[
            ("host", Value::string("pgb")),
            ("port", Value::int(6432)),
            ("admin_username", Value::string("adm")),
        ]);
        let rows = [
            ("pgbouncer configured", Some(pgb), ("pgb", 6432)),
            ("no pgbouncer block: the primary", None, ("primary", 5432)),
        ];
        for (situation, pgbouncer, (host, port)) in rows {
            let mut config = Value::object(&[("postgres", pg.clone())]);
            config.set("pgbouncer", pgbouncer.unwrap_or(Value::Null));
            let mut diags = tfplugin::Diagnostics::default();
            let s = crate::provider::settings_from_config(&config, &|_| None, &mut diags);
            let m = Model::of(&s);
            assert_eq!(m.postgres_host.as_deref(), Some(host), "{situation}");
            assert_eq!(m.postgres_port, Some(port), "{situation}");
            assert_eq!(
                m.postgres_admin_host.as_deref(),
                Some("primary"),
                "{situation}"
            );
        }
    }

    /// Settings from a provider block with these `postgres` and `pgbouncer` extra lines
    /// (attribute, value), and the diagnostics.
    fn configured(
        pg: &[(&str, Value)],
        pgb: Option<&[(&str, Value)]>,
    ) -> (Settings, tfplugin::Diagnostics) {
        let mut pg_block = vec![
            ("host", Value::string("primary")),
            ("port", Value::int(5432)),
        ];
        pg_block.extend(pg.iter().cloned());
        let mut config = Value::object(&[("postgres", Value::object(&pg_block))]);
        if let Some(extra) = pgb {
            let mut b = vec![
                ("host", Value::string("pgb")),
                ("port", Value::int(6432)),
                ("admin_username", Value::string("adm")),
            ];
            b.extend(extra.iter().cloned());
            config.set("pgbouncer", Value::object(&b));
        }
        let mut diags = tfplugin::Diagnostics::default();
        let s = crate::provider::settings_from_config(&config, &|_| None, &mut diags);
        (s, diags)
    }

    #[test]
    fn the_read_only_endpoint_is_the_replica_pooler_else_the_ro_service_else_null() {
        let ro = |h: &str| ("ro_host", Value::string(h));
        let port = |p: i64| ("ro_port", Value::int(p));
        type Row<'a> = (
            &'a str,
            Vec<(&'a str, Value)>,
            Option<Vec<(&'a str, Value)>>,
            Option<(&'a str, u16)>,
        );
        let rows: Vec<Row> = vec![
            (
                "neither block sets ro_host: null",
                vec![],
                Some(vec![]),
                None,
            ),
            (
                "the -ro service alone, its port defaulting to postgres.port",
                vec![ro("pg-ro")],
                None,
                Some(("pg-ro", 5432)),
            ),
            (
                "the -ro service with its own port",
                vec![ro("pg-ro"), port(5433)],
                None,
                Some(("pg-ro", 5433)),
            ),
            (
                "a pgbouncer block without ro_host: the -ro service",
                vec![ro("pg-ro")],
                Some(vec![]),
                Some(("pg-ro", 5432)),
            ),
            (
                "the replica pooler wins over the -ro service",
                vec![ro("pg-ro")],
                Some(vec![ro("pgb-ro")]),
                Some(("pgb-ro", 6432)),
            ),
            (
                "the replica pooler with its own port",
                vec![],
                Some(vec![ro("pgb-ro"), port(6435)]),
                Some(("pgb-ro", 6435)),
            ),
        ];
        for (situation, pg, pgb, want) in rows {
            let (s, diags) = configured(&pg, pgb.as_deref());
            assert!(!diags.has_errors(), "{situation}: {diags:?}");
            let m = Model::of(&s);
            let got = m.postgres_ro_host.as_deref().zip(m.postgres_ro_port);
            assert_eq!(got, want, "{situation}");
        }
    }

    #[test]
    fn ro_port_without_ro_host_is_refused_on_it() {
        for (situation, pg, pgb, at) in [
            (
                "postgres",
                vec![("ro_port", Value::int(5433))],
                None,
                "postgres",
            ),
            (
                "pgbouncer",
                vec![],
                Some(vec![("ro_port", Value::int(6435))]),
                "pgbouncer",
            ),
        ] {
            let (_, diags) = configured(&pg, pgb.as_deref());
            let e = diags
                .iter()
                .find(|d| d.summary.contains("ro_port without ro_host"));
            let e = e.unwrap_or_else(|| panic!("{situation}: {diags:?}"));
            assert_eq!(
                e.attribute.as_ref().map(ToString::to_string),
                Some(format!("{at}.ro_port")),
                "{situation}"
            );
        }
    }

    #[test]
    fn tls_settings_are_those_the_provider_meets_at_each_endpoint() {
        let rows = [
            (
                "pgbouncer: its listener's mode (admin_sslmode's default)",
                Some(vec![]),
                "prefer",
            ),
            (
                "pgbouncer with admin_sslmode require",
                Some(vec![("admin_sslmode", Value::string("require"))]),
                "require",
            ),
            ("no pgbouncer: the primary's sslmode", None, "disable"),
        ];
        for (situation, pgb, sslmode) in rows {
            let (s, diags) = configured(&[("sslmode", Value::string("disable"))], pgb.as_deref());
            assert!(!diags.has_errors(), "{situation}: {diags:?}");
            let m = Model::of(&s);
            assert_eq!(m.postgres_sslmode.as_deref(), Some(sslmode), "{situation}");
            assert_eq!(m.postgres_ca_bundle_path, None, "{situation}");
        }
        let none = Model::of(&Settings::default());
        assert_eq!(
            (none.postgres_sslmode, none.mysql_tls, none.redis_tls),
            (None, None, None)
        );
    }
}
