//! Unit tests of the rotation role: private state, planning, and one test per branch of
//! each decision in `decide.rs` and `guard.rs`.

use super::redis::{record_namespace, recorded_namespace, RedisNamespace};
use super::*;
use crate::resources::common::test_plan;
use crate::sql::Access;

#[test]
fn private_state_of_earlier_releases_reads_as_no_record() {
    assert_eq!(recorded_namespace(b""), None);
    assert_eq!(recorded_namespace(b"not json"), None);
    assert_eq!(recorded_namespace(b"{}"), None);
    let ns = RedisNamespace {
        keys: vec!["~app:*".into()],
        channels: vec!["&app:*".into()],
        no_scripting: false,
    };
    assert_eq!(recorded_namespace(&record_namespace(&ns)), Some(ns.clone()));
    // A record without `no_scripting` (before issue 19) reads as scripting on.
    let old = br#"{"redis_namespace":{"keys":["~app:*"],"channels":["&app:*"]}}"#;
    assert_eq!(recorded_namespace(old), Some(ns));
}

#[test]
fn issued_logins_lose_scripting_with_the_namespace() {
    let ns = |no_scripting| RedisNamespace {
        keys: vec!["~app:*".into()],
        channels: vec![],
        no_scripting,
    };
    for access in [Access::Owner, Access::ReadWrite, Access::ReadOnly] {
        let rules = |n: RedisNamespace| -> Vec<String> {
            serde_json::from_str(&n.statements(access).creation[0]).unwrap_or_default()
        };
        let on = rules(ns(false));
        let off = rules(ns(true));
        assert!(!on.iter().any(|r| r == "-@scripting"), "{on:?}");
        assert_eq!(off.last().map(String::as_str), Some("-@scripting"));
        for rule in ["-client|tracking", "-script|kill", "-select", "-scan"] {
            assert!(on.iter().any(|r| r == rule) && off.iter().any(|r| r == rule));
        }
    }
}

use crate::resources::common::test_object as obj;

/// The planned creation statements (known ones only).
fn creation(plan: &Plan<'_>) -> Vec<String> {
    let view: PlanView = plan.planned.to_model().unwrap();
    view.creation_statements
        .into_option()
        .unwrap_or_default()
        .into_iter()
        .filter_map(Known::into_option)
        .collect()
}

#[test]
fn edited_rules_are_planned_back_from_the_recorded_namespace() {
    let ns = RedisNamespace {
        keys: vec!["~app:*".into()],
        channels: vec!["&app:*".into()],
        no_scripting: false,
    };
    let edited = Value::from_strings([r#"["~*","+@all"]"#]);
    let prior = obj(&[
        ("engine", Value::string("redis")),
        ("connection", Value::string("rd")),
        ("database", Value::string("app")),
        ("access", Value::string("owner")),
        ("mode", Value::string("dynamic")),
        ("creation_statements", edited.clone()),
    ]);
    let config = obj(&[("creation_statements", Value::Null)]);
    let mut plan = test_plan(&prior, &config, prior.clone());
    tfplugin::ResourceType::<Backends>::plan_with_private(
        &VaultRotationRole,
        &record_namespace(&ns),
        &mut plan,
    );
    let planned = creation(&plan);
    let rules: Vec<String> = serde_json::from_str(&planned[0]).unwrap_or_default();
    assert_eq!(rules[..2], ["~app:*".to_string(), "&app:*".to_string()]);
    assert!(rules.ends_with(&["-scan".to_string(), "-randomkey".to_string()]));

    // No record (state of an earlier release): the plan keeps what it had.
    let mut plan = test_plan(&prior, &config, prior.clone());
    tfplugin::ResourceType::<Backends>::plan_with_private(&VaultRotationRole, b"", &mut plan);
    assert_eq!(creation(&plan), edited.string_list());
}

#[test]
fn a_planned_role_is_remembered_for_the_ephemeral_credentials() {
    let client = Backends::new(Default::default());
    let config = obj(&[("name", Value::string("eph-role"))]);
    let planned = obj(&[
        ("name", Value::string("eph-role")),
        ("mount", Value::unknown()),
    ]);
    let mut plan = test_plan(&Value::Null, &config, planned);
    assert!(!client.role_is_planned("database", "eph-role"));
    tfplugin::ResourceType::<Backends>::plan_with_client(&VaultRotationRole, &client, &mut plan);
    assert!(
        client.role_is_planned("database", "eph-role"),
        "mount defaults to the provider's"
    );
    assert!(!client.role_is_planned("team/database", "eph-role"));
    assert!(!client.role_is_planned("database", "other"));

    // A destroy plans nothing to read credentials from.
    let client = Backends::new(Default::default());
    let mut plan = test_plan(&config, &Value::Null, Value::Null);
    tfplugin::ResourceType::<Backends>::plan_with_client(&VaultRotationRole, &client, &mut plan);
    assert!(!client.role_is_planned("database", "eph-role"));
}

// Decisions of create, update, read and delete (`decide.rs`), one test per branch.

use super::decide::*;
use crate::sql::VaultStatements;

/// A dynamic `owner` role `app-role` on connection `pg`, database `shop`, as planned.
fn planned(mode: RoleMode) -> Model {
    Model {
        id: Known::Unknown,
        name: "app-role".into(),
        connection: Some("pg".into()),
        database: Some("shop".into()),
        mount: Known::Unknown,
        mode,
        access: Access::Owner,
        default_ttl: Some(3600),
        max_ttl: Some(7200),
        username: (mode == RoleMode::Static).then(|| "app".to_string()),
        rotation_period: Some(600),
        creation_statements: Known::Unknown,
        revocation_statements: Known::Unknown,
        rotation_statements: Known::Unknown,
        engine: Known::Unknown,
        creds_path: Known::Unknown,
        policy: Known::Unknown,
        database_owner: Known::Unknown,
        rotation_schedule: None,
        rotation_window: None,
        skip_import_rotation: None,
        create_login: None,
        retain_previous_password: None,
    }
}

fn generated() -> VaultStatements {
    VaultStatements {
        creation: vec!["create".into()],
        revocation: vec!["revoke".into()],
        rotation: vec!["rotate".into()],
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The single diagnostic of `e`: summary, attribute, detail.
fn only(e: &tfplugin::Error) -> (&str, Option<&AttributePath>, &str) {
    let d = e.diagnostics();
    assert_eq!(d.len(), 1, "{d:?}");
    (&d[0].summary, d[0].attribute.as_ref(), &d[0].detail)
}

#[test]
fn a_missing_connection_is_refused_at_connection() {
    let e = engine_of_connection("database", "pg", None).unwrap_err();
    let (summary, attr, detail) = only(&e);
    assert_eq!(summary, "Vault connection \"pg\" not found");
    assert_eq!(attr, Some(&AttributePath::attr("connection")));
    assert!(
        detail.starts_with("database/config/pg does not exist."),
        "{detail}"
    );
}

#[test]
fn a_connection_of_another_plugin_is_refused_at_connection() {
    let body = serde_json::json!({"data": {"plugin_name": "mongodb-database-plugin"}});
    let e = engine_of_connection("database", "mongo", Some(&body)).unwrap_err();
    let (summary, attr, detail) = only(&e);
    assert_eq!(summary, "Unsupported connection plugin");
    assert_eq!(attr, Some(&AttributePath::attr("connection")));
    assert!(
        detail.contains("String(\"mongodb-database-plugin\")"),
        "{detail}"
    );
}

#[test]
fn each_supported_plugin_gives_its_engine() {
    for &engine in Engine::ALL {
        let body = serde_json::json!({"data": {"plugin_name": engine.vault_plugin()}});
        assert_eq!(
            engine_of_connection("database", "c", Some(&body)).ok(),
            Some(engine)
        );
    }
}

#[test]
fn the_owner_comes_from_the_plan_when_known_else_from_the_catalog() {
    let known = Known::Value("shop_admin".to_string());
    for (engine, planned, expected) in [
        (
            Engine::Postgres,
            &known,
            OwnerSource::Planned("shop_admin".into()),
        ),
        (Engine::Postgres, &Known::Unknown, OwnerSource::Catalog),
        (Engine::Postgres, &Known::Null, OwnerSource::Catalog),
        (Engine::Mysql, &known, OwnerSource::None),
        (Engine::Redis, &Known::Unknown, OwnerSource::None),
    ] {
        assert_eq!(
            owner_source(engine, planned),
            expected,
            "{engine} {planned:?}"
        );
    }
}

#[test]
fn a_database_missing_from_the_catalog_gets_the_default_owner() {
    assert_eq!(owner_or_default("shop", None), "shop_owner");
    assert_eq!(owner_or_default("shop", Some("boss".into())), "boss");
}

#[test]
fn redis_rules_come_from_the_namespace_only_when_the_plan_left_them_unknown() {
    for (engine, stat, unknown, expected) in [
        (Engine::Redis, false, true, RedisRules::FromNamespace),
        (Engine::Redis, false, false, RedisRules::RecordOnly),
        (Engine::Redis, true, true, RedisRules::NotRedis),
        (Engine::Postgres, false, true, RedisRules::NotRedis),
        (Engine::Mysql, false, false, RedisRules::NotRedis),
    ] {
        assert_eq!(
            redis_rules(engine, stat, unknown),
            expected,
            "{engine} {stat} {unknown}"
        );
    }
}

#[test]
fn planned_statements_win_over_generated_ones() {
    let mut m = planned(RoleMode::Dynamic);
    m.creation_statements = Known::Value(strings(&["mine"]));
    let [c, r, rot] = chosen_statements(&m, generated());
    assert_eq!(
        (c, r, rot),
        (strings(&["mine"]), strings(&["revoke"]), vec![])
    );
}

#[test]
fn a_static_role_keeps_only_its_rotation_statements() {
    let m = planned(RoleMode::Static);
    let chosen = chosen_statements(&m, generated());
    assert_eq!(chosen, [vec![], vec![], strings(&["rotate"])]);
}

#[test]
fn a_dynamic_role_is_written_with_its_ttls_and_statements() {
    let m = planned(RoleMode::Dynamic);
    let chosen = chosen_statements(&m, generated());
    let body = role_body(&m, "pg", Engine::Postgres, &chosen);
    assert_eq!(
        body,
        serde_json::json!({
            "db_name": "pg",
            "creation_statements": ["create"],
            "revocation_statements": ["revoke"],
            "default_ttl": 3600,
            "max_ttl": 7200,
        })
    );
}

#[test]
fn a_static_role_is_written_with_its_login_and_period_and_redis_without_statements() {
    let m = planned(RoleMode::Static);
    let chosen = chosen_statements(&m, generated());
    let pg = role_body(&m, "pg", Engine::Postgres, &chosen);
    assert_eq!(
        pg,
        serde_json::json!({
            "db_name": "pg",
            "username": "app",
            "rotation_period": 600,
            "rotation_statements": ["rotate"],
        })
    );
    let redis = role_body(&m, "rd", Engine::Redis, &chosen);
    assert!(redis.get("rotation_statements").is_none(), "{redis}");
}

#[test]
fn the_written_state_has_its_paths_policy_and_owner() {
    let m = planned(RoleMode::Static);
    let chosen = chosen_statements(&m, generated());
    let s = written(
        m,
        "team/db".into(),
        Engine::Postgres,
        chosen,
        Some("shop_owner".into()),
    );
    assert_eq!(s.id, Known::Value("team/db/app-role".into()));
    assert_eq!(
        s.creds_path,
        Known::Value("team/db/static-creds/app-role".into())
    );
    assert!(s
        .policy
        .as_option()
        .is_some_and(|p| p.contains("team/db/static-creds/app-role")));
    assert_eq!(s.database_owner, Known::Value("shop_owner".into()));
    assert_eq!(s.engine, Known::Value(Engine::Postgres));
    assert_eq!(s.creation_statements, Known::Value(vec![]));
    let s = written(
        planned(RoleMode::Dynamic),
        "database".into(),
        Engine::Redis,
        [vec![], vec![], vec![]],
        None,
    );
    assert_eq!(s.database_owner, Known::Null);
}

/// A role in state, as the last apply wrote it.
fn in_state(mode: RoleMode) -> Model {
    let chosen = chosen_statements(&planned(mode), generated());
    written(
        planned(mode),
        "database".into(),
        Engine::Postgres,
        chosen,
        None,
    )
}

#[test]
fn a_dynamic_role_edited_in_vault_reads_back_as_drift() {
    let data = serde_json::json!({
        "db_name": "other",
        "creation_statements": ["CREATE ROLE \"{{name}}\" SUPERUSER"],
        "revocation_statements": [],
        "default_ttl": "60s",
        "max_ttl": 120,
        "username": "ignored",
    });
    let s = refreshed(
        in_state(RoleMode::Dynamic),
        "database",
        VaultRole::from_data(&data),
    );
    assert_eq!(s.connection.as_deref(), Some("other"));
    assert_eq!(
        s.creation_statements,
        Known::Value(strings(&["CREATE ROLE \"{{name}}\" SUPERUSER"]))
    );
    assert_eq!(s.revocation_statements, Known::Value(vec![]));
    assert_eq!((s.default_ttl, s.max_ttl), (Some(60), Some(120)));
    assert_eq!(s.username, None, "a dynamic role has no login");
}

#[test]
fn a_static_role_reads_only_its_own_fields() {
    let data = serde_json::json!({
        "db_name": "pg",
        "username": "app2",
        "rotation_period": 900,
        "rotation_statements": ["ALTER ROLE x"],
        "creation_statements": ["never read"],
        "default_ttl": 1,
    });
    let s = refreshed(
        in_state(RoleMode::Static),
        "database",
        VaultRole::from_data(&data),
    );
    assert_eq!(s.username.as_deref(), Some("app2"));
    assert_eq!(s.rotation_period, Some(900));
    assert_eq!(
        s.rotation_statements,
        Known::Value(strings(&["ALTER ROLE x"]))
    );
    assert_eq!(s.creation_statements, Known::Value(vec![]));
    assert_eq!(s.default_ttl, Some(3600));
}

#[test]
fn what_vault_does_not_say_keeps_the_state() {
    let s = refreshed(
        in_state(RoleMode::Static),
        "database",
        VaultRole::from_data(&serde_json::json!({})),
    );
    assert_eq!(s.connection.as_deref(), Some("pg"));
    assert_eq!(s.username.as_deref(), Some("app"));
    assert_eq!(s.rotation_period, Some(600));
    assert_eq!(s.rotation_statements, Known::Value(vec![]));
    assert_eq!(s.id, Known::Value("database/app-role".into()));
}

#[test]
fn an_imported_role_gets_its_paths_from_the_mount() {
    let mut s = planned(RoleMode::Dynamic);
    s.mount = Known::Null;
    let s = refreshed(s, "team/db", VaultRole::default());
    assert_eq!(s.mount, Known::Value("team/db".into()));
    assert_eq!(s.creds_path, Known::Value("team/db/creds/app-role".into()));
}

#[test]
fn read_asks_each_backend_only_what_the_role_needs() {
    let checks = |namespace, owner, stale_logins| ReadChecks {
        namespace,
        owner,
        stale_logins,
    };
    for (engine, stat, expected) in [
        (Some(Engine::Postgres), false, checks(false, true, true)),
        (Some(Engine::Postgres), true, checks(false, true, false)),
        (Some(Engine::Redis), false, checks(true, false, false)),
        (Some(Engine::Redis), true, checks(false, false, false)),
        (Some(Engine::Mysql), false, checks(false, false, false)),
        (None, false, checks(false, false, false)),
    ] {
        assert_eq!(
            ReadChecks::for_role(engine, stat),
            expected,
            "{engine:?} {stat}"
        );
    }
}

#[test]
fn stale_logins_are_named_with_the_command_that_revokes_them() {
    assert_eq!(stale_logins_warning("app-role", "database", &[]), None);
    let (summary, detail) =
        stale_logins_warning("app-role", "database", &strings(&["v-app-1", "v-app-2"]))
            .unwrap_or_default();
    assert_eq!(
        summary,
        "Expired logins of Vault role \"app-role\" still exist in PostgreSQL"
    );
    assert!(detail.contains("v-app-1, v-app-2"), "{detail}");
    assert!(
        detail.contains("vault lease revoke -prefix database/creds/app-role"),
        "{detail}"
    );
}

#[test]
fn a_dynamic_role_revokes_its_leases_before_it_goes_and_a_static_one_has_none() {
    assert_eq!(
        leases_to_revoke("team/db", "app-role", false).as_deref(),
        Some("team/db/creds/app-role")
    );
    assert_eq!(leases_to_revoke("team/db", "app-role", true), None);
}

#[test]
fn configured_statements_keep_their_known_elements() {
    let config = obj(&[
        ("creation_statements", Value::from_strings(["a", "b"])),
        ("revocation_statements", Value::Null),
        ("rotation_statements", Value::unknown()),
    ]);
    let Ok(view) = config.to_model::<PlanView>() else {
        panic!("the view decodes");
    };
    let got = configured(&view);
    assert_eq!(got[0], ("creation_statements", Some(strings(&["a", "b"]))));
    assert_eq!(got[1], ("revocation_statements", None));
    assert_eq!(got[2], ("rotation_statements", Some(vec![])));
}

#[test]
fn platform_logins_name_the_default_auth_user_and_each_admin_block() {
    let settings = crate::backends::settings::Settings {
        redis: Some(crate::backends::settings::RedisSettings {
            host: "r".into(),
            port: 6379,
            username: "redis_admin".into(),
            password: crate::backends::settings::Secret::Plain("pw".into()),
            tls: crate::enums::RedisTls::Disabled,
            tls_files: Default::default(),
            connect_timeout: 10,
        }),
        ..Default::default()
    };
    let got = super::guard::platform_logins(&settings);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["pgbouncer_auth", "redis_admin"]);
    assert!(got[1].1.contains("Redis admin"));
}

#[test]
fn a_vault_connection_admin_is_read_from_either_field() {
    use super::guard::connection_admin;
    let nested = serde_json::json!({"data": {"connection_details": {"username": "vault_pg"}}});
    let flat = serde_json::json!({"data": {"username": "vault_rd"}});
    let empty = serde_json::json!({"data": {"username": ""}});
    assert_eq!(
        connection_admin("pg", &nested),
        Some((
            "vault_pg".into(),
            "the admin of Vault connection \"pg\"".into()
        ))
    );
    assert_eq!(
        connection_admin("rd", &flat).map(|a| a.0),
        Some("vault_rd".into())
    );
    assert_eq!(connection_admin("x", &empty), None);
}

// Planning an update (`plan::statements_edit`), one test per branch.

use super::plan::statements_edit;
use crate::resources::vault_role_rules::generated_statements;

fn view(pairs: &[(&str, Value)]) -> PlanView {
    let Ok(v) = obj(pairs).to_model::<PlanView>() else {
        panic!("the view decodes: {pairs:?}");
    };
    v
}

/// A PostgreSQL role on `database` as refreshed (owner `shop_admin`), in `mode`.
fn role_view(engine: &str, database: &str, mode: &str, creation: Value) -> PlanView {
    view(&[
        ("engine", Value::string(engine)),
        ("connection", Value::string("c")),
        ("database", Value::string(database)),
        ("access", Value::string("owner")),
        ("mode", Value::string(mode)),
        ("database_owner", Value::string("shop_admin")),
        ("creation_statements", creation),
    ])
}

fn unset() -> PlanView {
    view(&[])
}

fn edited() -> Value {
    Value::from_strings(["CREATE ROLE \"{{name}}\" SUPERUSER"])
}

#[test]
fn an_update_plans_the_statements_the_provider_would_generate_now() {
    let prior = role_view("postgres", "shop", "dynamic", edited());
    let Some(edit) = statements_edit(&prior, &unset(), &prior) else {
        panic!("an edit");
    };
    let Ok(expected) =
        generated_statements(Engine::Postgres, "shop", Some("shop_admin"), Access::Owner)
    else {
        panic!("statements");
    };
    assert_eq!(
        edit.creation_statements,
        Some(planned_statements(expected.creation))
    );
    assert_eq!(edit.rotation_statements, Some(planned_statements(vec![])));
    assert_eq!(edit.database_owner, None);
}

#[test]
fn configured_statements_stay_as_planned() {
    let prior = role_view("postgres", "shop", "dynamic", edited());
    let config = view(&[("creation_statements", edited())]);
    let edit = statements_edit(&prior, &config, &prior).unwrap_or_default();
    assert_eq!(edit.creation_statements, None);
    assert!(edit.revocation_statements.is_some());
}

#[test]
fn a_static_role_plans_only_rotation_statements() {
    let prior = role_view("mysql", "shop", "static", Value::Null);
    let edit = statements_edit(&prior, &unset(), &prior).unwrap_or_default();
    assert_eq!(edit.creation_statements, Some(planned_statements(vec![])));
    assert!(edit
        .rotation_statements
        .and_then(Known::into_option)
        .is_some_and(|r| !r.is_empty()));
}

#[test]
fn another_postgres_database_plans_owner_and_statements_unknown() {
    let prior = role_view("postgres", "shop", "dynamic", edited());
    let planned = role_view("postgres", "shop2", "dynamic", edited());
    let edit = statements_edit(&prior, &unset(), &planned).unwrap_or_default();
    assert_eq!(edit.database_owner, Some(Known::Unknown));
    assert_eq!(edit.creation_statements, Some(Known::Unknown));
    assert_eq!(edit.rotation_statements, Some(Known::Unknown));
}

#[test]
fn redis_rules_are_kept_while_their_namespace_is_the_same_and_recomputed_when_not() {
    let rules = Value::from_strings([r#"["~app:*"]"#]);
    let prior = role_view("redis", "app", "dynamic", rules.clone());
    let edit = statements_edit(&prior, &unset(), &prior).unwrap_or_default();
    let kept = prior.creation_statements.clone();
    assert_eq!(edit.creation_statements, Some(kept));
    let moved = role_view("redis", "app2", "dynamic", rules);
    let edit = statements_edit(&prior, &unset(), &moved).unwrap_or_default();
    assert_eq!(edit.creation_statements, Some(Known::Unknown));
    assert_eq!(edit.database_owner, None);
}

#[test]
fn an_unknown_engine_database_or_name_the_validators_refuse_leaves_the_plan() {
    let prior = role_view("postgres", "shop", "dynamic", Value::Null);
    let no_engine = view(&[("database", Value::string("shop"))]);
    assert!(statements_edit(&no_engine, &unset(), &prior).is_none());
    let unknown_db = view(&[
        ("database", Value::unknown()),
        ("access", Value::string("owner")),
    ]);
    assert!(statements_edit(&prior, &unset(), &unknown_db).is_none());
    let nul = role_view("mysql", "a\0b", "dynamic", Value::Null);
    assert!(statements_edit(&nul, &unset(), &nul).is_none());
}

/// One row per situation an import meets: which mode the id named and which roles of
/// that name exist in Vault.
#[test]
fn import_mode_rows() {
    use super::decide::import_mode;
    use crate::enums::RoleMode;
    // situation, mode named by the id, dynamic exists, static exists, outcome
    type Row<'a> = (&'a str, Option<bool>, bool, bool, Result<RoleMode, &'a str>);
    let rows: &[Row] = &[
        (
            "roles_path_names_dynamic",
            Some(false),
            false,
            true,
            Ok(RoleMode::Dynamic),
        ),
        (
            "static_roles_path_names_static",
            Some(true),
            true,
            false,
            Ok(RoleMode::Static),
        ),
        (
            "named_mode_missing_kept_for_read_to_report",
            Some(true),
            false,
            false,
            Ok(RoleMode::Static),
        ),
        (
            "short_id_only_dynamic_exists",
            None,
            true,
            false,
            Ok(RoleMode::Dynamic),
        ),
        (
            "short_id_only_static_exists",
            None,
            false,
            true,
            Ok(RoleMode::Static),
        ),
        (
            "short_id_neither_exists",
            None,
            false,
            false,
            Ok(RoleMode::Dynamic),
        ),
        (
            "short_id_both_exist_is_ambiguous",
            None,
            true,
            true,
            Err("`database/static-roles/app` exist"),
        ),
    ];
    for (situation, named, dynamic, stat, want) in rows {
        match (
            import_mode("database", "app", *named, *dynamic, *stat),
            want,
        ) {
            (Ok(got), Ok(w)) => assert_eq!(got, *w, "{situation}"),
            (Err(e), Err(w)) => {
                assert!(e.contains(w), "{situation}: {e}");
                assert!(e.contains("write the Vault path"), "{situation}: {e}");
            }
            (got, _) => panic!("{situation}: {got:?}"),
        }
    }
}

// Issue 21: TTLs and period by mode (`plan::ttl_problems`, `plan::ttl_edit`), one row
// per situation.

use super::plan::{ttl_edit, ttl_problems, TtlProblem, DEFAULT_SECONDS};

/// Attribute values of a configuration or plan, by name.
type Pairs = Vec<(&'static str, Value)>;

#[test]
fn ttl_problems_by_situation() {
    let n = Value::int;
    let u = Value::unknown;
    let st = || ("mode", Value::string("static"));
    let rows: Vec<(&str, Pairs, Vec<TtlProblem>)> = vec![
        ("dynamic_role_with_every_default", vec![], vec![]),
        (
            "max_ttl_alone_below_the_defaulted_default_ttl",
            vec![("max_ttl", n(3600))],
            vec![TtlProblem::AboveMax {
                default_ttl: DEFAULT_SECONDS,
                max_ttl: 3600,
                defaulted: Some("default_ttl"),
            }],
        ),
        (
            "default_ttl_alone_above_the_defaulted_max_ttl",
            vec![("default_ttl", n(100_000))],
            vec![TtlProblem::AboveMax {
                default_ttl: 100_000,
                max_ttl: DEFAULT_SECONDS,
                defaulted: Some("max_ttl"),
            }],
        ),
        (
            "both_set_default_above_max",
            vec![("default_ttl", n(7200)), ("max_ttl", n(3600))],
            vec![TtlProblem::AboveMax {
                default_ttl: 7200,
                max_ttl: 3600,
                defaulted: None,
            }],
        ),
        (
            "both_set_in_order",
            vec![("default_ttl", n(600)), ("max_ttl", n(3600))],
            vec![],
        ),
        (
            "max_ttl_not_known_yet_waits_for_plan",
            vec![("max_ttl", u())],
            vec![],
        ),
        (
            "rotation_period_on_a_dynamic_role",
            vec![("rotation_period", n(600))],
            vec![TtlProblem::OtherMode {
                attr: "rotation_period",
                is_static: false,
            }],
        ),
        (
            "ttls_on_a_static_role_unknown_counts_as_set",
            vec![st(), ("default_ttl", n(60)), ("max_ttl", u())],
            vec![
                TtlProblem::OtherMode {
                    attr: "default_ttl",
                    is_static: true,
                },
                TtlProblem::OtherMode {
                    attr: "max_ttl",
                    is_static: true,
                },
            ],
        ),
        (
            "static_role_with_its_period",
            vec![st(), ("rotation_period", n(600))],
            vec![],
        ),
        (
            "mode_not_known_yet_decides_nothing",
            vec![
                ("mode", u()),
                ("rotation_period", n(600)),
                ("max_ttl", n(1)),
            ],
            vec![],
        ),
    ];
    for (name, pairs, want) in rows {
        assert_eq!(ttl_problems(&view(&pairs)), want, "{name}");
    }
}

#[test]
fn ttl_problems_render_at_the_attribute_to_change() {
    let mut diags = Diagnostics::default();
    for p in ttl_problems(&view(&[("max_ttl", Value::int(3600))])) {
        p.report(&mut diags);
    }
    let d = &diags.0[0];
    assert_eq!(d.attribute, Some(AttributePath::attr("max_ttl")));
    assert!(
        d.detail.contains("set `default_ttl` to at most 3600"),
        "{}",
        d.detail
    );
}

#[test]
fn ttl_plan_by_situation() {
    let n = Value::int;
    let u = Value::unknown;
    let unknown_all = || {
        vec![
            ("default_ttl", u()),
            ("max_ttl", u()),
            ("rotation_period", u()),
        ]
    };
    let with = |mut v: Vec<(&'static str, Value)>, extra: Vec<(&'static str, Value)>| {
        v.extend(extra);
        v
    };
    type Planned = (
        Option<Option<i64>>,
        Option<Option<i64>>,
        Option<Option<i64>>,
    );
    let d = Some(Some(DEFAULT_SECONDS));
    let rows: Vec<(&str, Pairs, Pairs, Planned)> = vec![
        (
            "create_dynamic_plans_its_ttls_and_no_period",
            vec![],
            unknown_all(),
            (d, d, Some(None)),
        ),
        (
            "create_static_plans_its_period_and_no_ttls",
            vec![("mode", Value::string("static"))],
            with(unknown_all(), vec![("mode", Value::string("static"))]),
            (Some(None), Some(None), d),
        ),
        (
            "configured_values_stand",
            vec![("default_ttl", n(60)), ("max_ttl", n(120))],
            with(
                vec![("default_ttl", n(60)), ("max_ttl", n(120))],
                vec![("rotation_period", u())],
            ),
            (None, None, Some(None)),
        ),
        (
            "static_role_from_an_older_release_keeps_its_defaulted_ttls",
            vec![("mode", Value::string("static"))],
            vec![
                ("mode", Value::string("static")),
                ("default_ttl", n(86400)),
                ("max_ttl", n(86400)),
                ("rotation_period", n(600)),
            ],
            (None, None, None),
        ),
        (
            "dynamic_role_from_an_older_release_keeps_its_defaulted_period",
            vec![],
            vec![
                ("default_ttl", n(3600)),
                ("max_ttl", n(7200)),
                ("rotation_period", n(86400)),
            ],
            (None, None, None),
        ),
        (
            "imported_dynamic_role_without_ttls_gets_the_defaults",
            vec![],
            vec![("rotation_period", Value::Null)],
            (d, d, None),
        ),
    ];
    for (name, config, planned, want) in rows {
        let Some(edit) = ttl_edit(&view(&config), &view(&planned)) else {
            panic!("{name}: an edit");
        };
        assert_eq!(
            (edit.default_ttl, edit.max_ttl, edit.rotation_period),
            want,
            "{name}"
        );
    }
    let mode_unknown = view(&[("mode", u())]);
    assert!(
        ttl_edit(&unset(), &mode_unknown).is_none(),
        "mode not known yet"
    );
}

/// A static role in a state written before issue 21 (every TTL defaulted): with the
/// configuration unchanged, the whole plan (framework + `modify_plan`) equals the prior
/// state, so upgrading plans no diff and no error.
#[test]
fn an_older_static_role_in_state_plans_no_change() {
    let schema =
        <VaultRotationRole as tfplugin::ResourceType<Backends>>::schema(&VaultRotationRole);
    let mut prior = Value::Map(Default::default());
    for a in &schema.block.attributes {
        prior.set(&a.name, Value::Null);
    }
    for (k, v) in [
        ("id", Value::string("database/r")),
        ("name", Value::string("r")),
        ("connection", Value::string("c")),
        ("database", Value::string("shop")),
        ("mount", Value::string("database")),
        ("mode", Value::string("static")),
        ("access", Value::string("owner")),
        ("username", Value::string("app")),
        ("default_ttl", Value::int(86400)),
        ("max_ttl", Value::int(86400)),
        ("rotation_period", Value::int(86400)),
        (
            "creation_statements",
            Value::from_strings(Vec::<String>::new()),
        ),
        (
            "revocation_statements",
            Value::from_strings(Vec::<String>::new()),
        ),
        ("rotation_statements", Value::from_strings(["ALTER ROLE x"])),
        ("engine", Value::string("postgres")),
        ("creds_path", Value::string("database/static-creds/r")),
        ("policy", Value::string("p")),
        ("database_owner", Value::string("shop_owner")),
    ] {
        prior.set(k, v);
    }
    let mut config = prior.clone();
    for k in [
        "id",
        "mount",
        "access",
        "default_ttl",
        "max_ttl",
        "rotation_period",
        "creation_statements",
        "revocation_statements",
        "rotation_statements",
        "engine",
        "creds_path",
        "policy",
        "database_owner",
    ] {
        config.set(k, Value::Null);
    }
    config.set("rotation_period", Value::Null);
    // Terraform's proposed new state: the prior value where the configuration is null
    // on an optional+computed attribute.
    let mut proposed = config.clone();
    for a in &schema.block.attributes {
        if a.computed && config.get(&a.name).is_null() {
            proposed.set(&a.name, prior.get(&a.name).clone());
        }
    }
    let (planned, replace) = tfplugin::server::plan_attributes(&schema, &prior, &proposed, &config);
    assert!(replace.is_empty());
    let mut plan = test_plan(&prior, &config, planned);
    super::plan::ttls(&mut plan);
    assert!(!plan.diags.has_errors(), "{:?}", plan.diags);
    for k in ["default_ttl", "max_ttl", "rotation_period"] {
        assert_eq!(plan.planned.get(k), prior.get(k), "{k}");
    }
    let Some(config_view) = config.to_model::<PlanView>().ok() else {
        panic!("config decodes");
    };
    assert!(
        ttl_problems(&config_view).is_empty(),
        "validate refuses nothing"
    );
}
