//! The plan-time values and refusals, one row per situation.

use tfplugin::{Known, Value};

use super::*;
use crate::backends::settings::Settings;
use crate::resources::common::{test_object, test_plan};

/// A nested provider block: its name and attributes.
type Blk = (&'static str, &'static [(&'static str, &'static str)]);

/// A provider block (one attribute list per nested block; `?` values are unknown).
fn settings(blocks: &[Blk]) -> Settings {
    let mut config = Value::Map(Default::default());
    for name in ["postgres", "pgbouncer", "mysql", "redis", "vault"] {
        config.set(name, Value::Null);
    }
    for (name, attrs) in blocks {
        let mut b = Value::Map(Default::default());
        for (k, v) in *attrs {
            let v = match (*v, v.parse::<i64>()) {
                ("?", _) => Value::unknown(),
                (_, Ok(n)) => Value::int(n),
                (s, _) => Value::string(s),
            };
            b.set(k, v);
        }
        config.set(name, b);
    }
    let mut diags = Diagnostics::default();
    let s = crate::provider::settings_from_config(&config, &|_| None, &mut diags);
    assert!(!diags.has_errors(), "{diags:?}");
    s
}

const PG: Blk = (
    "postgres",
    &[("host", "primary"), ("port", "5432"), ("username", "admin")],
);
const PGB: Blk = (
    "pgbouncer",
    &[("host", "pgb"), ("port", "6432"), ("admin_username", "adm")],
);
const PGB_LATER: Blk = (
    "pgbouncer",
    &[("host", "?"), ("port", "6432"), ("admin_username", "adm")],
);
const PG_LATER: Blk = ("postgres", &[("host", "?"), ("username", "admin")]);
const MY: Blk = (
    "mysql",
    &[("host", "my"), ("port", "3306"), ("username", "root")],
);
const RD: Blk = ("redis", &[("host", "rd"), ("port", "6379")]);
const VAULT: Blk = ("vault", &[("address", "http://v:8200"), ("token", "t")]);
const VAULT_TEAM: Blk = (
    "vault",
    &[
        ("address", "http://v:8200"),
        ("token", "t"),
        ("mount", "team/db"),
    ],
);
const VAULT_LATER: Blk = ("vault", &[("address", "?"), ("token", "t")]);

fn at(host: &str, port: i64) -> PlannedEndpoint {
    PlannedEndpoint {
        host: Known::Value(host.into()),
        port: Known::Value(port),
    }
}

fn unknown() -> PlannedEndpoint {
    PlannedEndpoint {
        host: Known::Unknown,
        port: Known::Unknown,
    }
}

#[test]
fn the_endpoint_apps_use_is_planned_by_one_rule() {
    use crate::enums::Engine::{Mysql, Postgres, Redis};
    let rows: &[(&str, &[Blk], crate::enums::Engine, PlannedEndpoint)] = &[
        (
            "postgres through pgbouncer",
            &[PG, PGB],
            Postgres,
            at("pgb", 6432),
        ),
        (
            "postgres without pgbouncer: the primary",
            &[PG],
            Postgres,
            at("primary", 5432),
        ),
        (
            "pgbouncer not known yet: unknown, not the primary",
            &[PG, PGB_LATER],
            Postgres,
            unknown(),
        ),
        (
            "primary not known yet, no pgbouncer",
            &[PG_LATER],
            Postgres,
            unknown(),
        ),
        (
            "pgbouncer known, primary not known yet",
            &[PG_LATER, PGB],
            Postgres,
            at("pgb", 6432),
        ),
        ("mysql", &[MY], Mysql, at("my", 3306)),
        ("redis", &[RD], Redis, at("rd", 6379)),
        (
            "no block: unknown (refused beforehand)",
            &[],
            Redis,
            unknown(),
        ),
    ];
    for (situation, blocks, engine, want) in rows {
        assert_eq!(
            planned_endpoint(&settings(blocks), *engine),
            *want,
            "{situation}"
        );
    }
}

#[test]
fn the_endpoints_data_source_and_the_resources_agree() {
    use crate::backends::settings::AppEndpoint;
    let rows: &[(&str, &[Blk], AppEndpoint)] = &[
        ("pgbouncer", &[PG, PGB], AppEndpoint::At("pgb".into(), 6432)),
        ("primary", &[PG], AppEndpoint::At("primary".into(), 5432)),
        (
            "pgbouncer later",
            &[PG, PGB_LATER],
            AppEndpoint::NotKnownYet("pgbouncer"),
        ),
        (
            "primary later",
            &[PG_LATER],
            AppEndpoint::NotKnownYet("postgres"),
        ),
        ("neither", &[MY], AppEndpoint::NotConfigured("postgres")),
    ];
    for (situation, blocks, want) in rows {
        let s = settings(blocks);
        assert_eq!(s.app_endpoint(Engine::Postgres), *want, "{situation}");
    }
}

const NEEDS_REDIS: Needs = Needs {
    block: "redis",
    attr: "name",
    does: "creates its ACL user",
};

#[test]
fn a_resource_whose_block_is_absent_is_refused_and_one_not_known_yet_is_not() {
    let later = ("redis", &[("host", "?")] as &[(&str, &str)]);
    let rows: &[(&str, &[Blk], bool)] = &[
        ("configured", &[RD], false),
        ("configured from values not known yet", &[later], false),
        ("absent", &[PG, MY, VAULT], true),
    ];
    for (situation, blocks, refused) in rows {
        let missing = missing_blocks(
            &settings(blocks),
            "dbaas_shared_redis_namespace",
            &[NEEDS_REDIS],
        );
        assert_eq!(!missing.is_empty(), *refused, "{situation}");
    }
}

#[test]
fn the_refusal_names_the_resource_the_block_and_its_attribute() {
    let mut diags = Diagnostics::default();
    MissingBlock {
        resource: "dbaas_shared_redis_namespace",
        needs: NEEDS_REDIS,
    }
    .report(&mut diags);
    let d = diags.iter().next().expect("one diagnostic");
    assert_eq!(
        d.summary,
        "dbaas_shared_redis_namespace needs the provider's `redis` block"
    );
    assert!(
        d.detail
            .contains("add `redis { ... }` to provider \"dbaas\""),
        "{}",
        d.detail
    );
    assert_eq!(d.attribute, Some(AttributePath::attr("name")));
}

#[test]
fn a_store_plans_its_id_on_create_and_its_endpoint_on_every_change() {
    let s = settings(&[PG, PGB]);
    let name = Known::Value("shop".to_string());
    let created = store_edit(true, &name, &s, Engine::Postgres);
    assert_eq!(created.id, Some(Known::Value("shop".into())), "create");
    assert_eq!(created.endpoint, at("pgb", 6432));
    let updated = store_edit(false, &name, &s, Engine::Postgres);
    assert_eq!(updated.id, None, "update keeps the id");
    let unknown_name = store_edit(true, &Known::Unknown, &s, Engine::Postgres);
    assert_eq!(
        unknown_name.id,
        Some(Known::Unknown),
        "a name known only at apply"
    );
}

#[test]
fn a_role_plans_its_paths_from_its_name_mount_and_mode() {
    let name = Known::Value("app".to_string());
    let null = Known::Null;
    let team = Known::Value("team/db".to_string());
    type Row<'a> = (
        &'a str,
        &'a [Blk],
        &'a Known<String>,
        Known<bool>,
        Known<String>,
        Known<String>,
    );
    let rows: &[Row] = &[
        (
            "default mount, dynamic",
            &[VAULT],
            &null,
            Known::Value(false),
            Known::Value("database/app".into()),
            Known::Value("database/creds/app".into()),
        ),
        (
            "provider mount, static",
            &[VAULT_TEAM],
            &null,
            Known::Value(true),
            Known::Value("team/db/app".into()),
            Known::Value("team/db/static-creds/app".into()),
        ),
        (
            "own mount",
            &[VAULT],
            &team,
            Known::Value(false),
            Known::Value("team/db/app".into()),
            Known::Value("team/db/creds/app".into()),
        ),
        (
            "vault block not known yet",
            &[VAULT_LATER],
            &null,
            Known::Value(false),
            Known::Unknown,
            Known::Unknown,
        ),
        (
            "own mount while vault is not known yet",
            &[VAULT_LATER],
            &team,
            Known::Value(false),
            Known::Value("team/db/app".into()),
            Known::Value("team/db/creds/app".into()),
        ),
        (
            "mode not known yet",
            &[VAULT],
            &null,
            Known::Unknown,
            Known::Value("database/app".into()),
            Known::Unknown,
        ),
    ];
    for (situation, blocks, mount, stat, id, creds) in rows {
        let p = role_paths(&name, mount, stat.clone(), &settings(blocks));
        assert_eq!(p.id, *id, "{situation}: id");
        assert_eq!(p.creds_path, *creds, "{situation}: creds_path");
        match creds {
            Known::Value(c) => assert_eq!(p.policy, Known::Value(policy_for(c)), "{situation}"),
            _ => assert_eq!(p.policy, Known::Unknown, "{situation}: policy"),
        }
    }
}

#[test]
fn a_connection_plans_its_id_mount_and_plugin() {
    let p = connection_paths(
        &Known::Value("pg".into()),
        &Known::Null,
        Some(Engine::Postgres),
        &settings(&[VAULT]),
    );
    assert_eq!(p.id, Known::Value("database/pg".into()));
    assert_eq!(p.mount, Known::Value("database".into()));
    assert_eq!(
        p.plugin_name,
        Known::Value(Engine::Postgres.vault_plugin().into())
    );
}

/// A plan of a store through [`plan_store`]: its planned `host`, `port` and `id`, and
/// the errors' summaries.
fn planned_store(prior: &Value, planned: Value, s: &Settings) -> (Value, Vec<String>) {
    let config = test_object(&[("name", Value::string("shop"))]);
    let mut plan = test_plan(prior, &config, planned);
    let needs = Needs {
        block: "postgres",
        attr: "name",
        does: "creates the database",
    };
    plan_store(
        &mut plan,
        s,
        "dbaas_shared_postgres_database",
        Engine::Postgres,
        needs,
    );
    let errors = plan.diags.iter().map(|d| d.summary.clone()).collect();
    (plan.planned, errors)
}

#[test]
fn plan_store_fills_a_create_and_a_change_and_leaves_an_unchanged_object() {
    let s = settings(&[PG, PGB]);
    let unknowns = || {
        test_object(&[
            ("name", Value::string("shop")),
            ("id", Value::unknown()),
            ("host", Value::unknown()),
            ("port", Value::unknown()),
            ("connection_limit", Value::int(-1)),
        ])
    };
    let (created, errors) = planned_store(&Value::Null, unknowns(), &s);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(created.get("id").as_str(), Some("shop"));
    assert_eq!(created.get("host").as_str(), Some("pgb"));
    assert_eq!(created.get("port").as_i64(), Some(6432));

    // A state from before PgBouncer was configured, changed: the new endpoint, as apply
    // returns it.
    let mut prior = created.clone();
    prior.set("host", Value::string("primary"));
    prior.set("port", Value::int(5432));
    let mut changed = prior.clone();
    changed.set("connection_limit", Value::int(5));
    let (updated, _) = planned_store(&prior, changed, &s);
    assert_eq!(updated.get("host").as_str(), Some("pgb"), "change");
    // Unchanged: left as it is (no diff made up at plan).
    let (same, _) = planned_store(&prior, prior.clone(), &s);
    assert_eq!(same.get("host").as_str(), Some("primary"), "unchanged");

    let (_, errors) = planned_store(&Value::Null, unknowns(), &settings(&[MY]));
    assert_eq!(
        errors,
        vec!["dbaas_shared_postgres_database needs the provider's `postgres` block"]
    );
}
