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
        connection_limit: None,
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

/// A table row: situation, attribute pairs, and what is expected.
type Row<'a, W> = (&'a str, Vec<(&'a str, Value)>, W);
/// A planning row: situation, configuration, plan, and the expected edit.
type PlanRow<'a, W> = (&'a str, Vec<(&'a str, Value)>, Vec<(&'a str, Value)>, W);
/// A Vault help row: situation, parameters used, parameters accepted, refused at.
type HelpRow<'a> = (
    &'a str,
    Vec<&'static str>,
    Option<&'a [String]>,
    Option<&'a str>,
);

// Issue 22: static roles complete (`schedule.rs`, and the schedule in `decide.rs` and
// `plan::ttl_edit`), one row per situation.

use super::schedule::{
    cron_problem, dual_password_support, login_at_destroy, login_to_create, newer_parameters,
    retaining_previous, static_problems, unsupported_parameter, LoginAtDestroy, StaticProblem,
};

#[test]
fn static_problems_by_situation() {
    let s = || Value::string("static");
    let t = || Value::Bool(true);
    let sched = || Value::string("0 3 * * *");
    let rows: Vec<Row<Vec<StaticProblem>>> = vec![
        (
            "static_role_with_period_only",
            vec![("mode", s()), ("rotation_period", Value::int(3600))],
            vec![],
        ),
        (
            "static_role_with_schedule_and_window",
            vec![
                ("mode", s()),
                ("rotation_schedule", sched()),
                ("rotation_window", Value::int(3600)),
            ],
            vec![],
        ),
        (
            "static_role_with_neither_defaults_to_a_period",
            vec![("mode", s())],
            vec![],
        ),
        (
            "period_and_schedule_conflict",
            vec![
                ("mode", s()),
                ("rotation_period", Value::int(3600)),
                ("rotation_schedule", sched()),
            ],
            vec![StaticProblem::PeriodAndSchedule],
        ),
        (
            "window_without_schedule",
            vec![("mode", s()), ("rotation_window", Value::int(7200))],
            vec![StaticProblem::WindowWithoutSchedule],
        ),
        (
            "schedule_of_four_fields",
            vec![
                ("mode", s()),
                ("rotation_schedule", Value::string("0 3 * *")),
            ],
            vec![StaticProblem::NotCron(
                "\"0 3 * *\" has 4 field(s); a schedule has five fields".into(),
            )],
        ),
        (
            "created_login_cannot_skip_its_first_rotation",
            vec![
                ("mode", s()),
                ("create_login", t()),
                ("skip_import_rotation", t()),
            ],
            vec![StaticProblem::SkipWithCreatedLogin],
        ),
        (
            "created_login_with_rotation",
            vec![("mode", s()), ("create_login", t())],
            vec![],
        ),
        (
            "dynamic_role_with_create_login",
            vec![("create_login", t())],
            vec![StaticProblem::DynamicRole("create_login")],
        ),
        (
            "dynamic_role_with_schedule_and_retain",
            vec![
                ("rotation_schedule", sched()),
                ("retain_previous_password", t()),
            ],
            vec![
                StaticProblem::DynamicRole("rotation_schedule"),
                StaticProblem::DynamicRole("retain_previous_password"),
            ],
        ),
        (
            "dynamic_role_with_flags_false_passes",
            vec![
                ("create_login", Value::Bool(false)),
                ("skip_import_rotation", Value::Bool(false)),
            ],
            vec![],
        ),
        (
            "dynamic_role_with_unknown_flag_is_refused",
            vec![("create_login", Value::unknown())],
            vec![StaticProblem::DynamicRole("create_login")],
        ),
        (
            "mode_unknown_still_refuses_period_and_schedule",
            vec![
                ("mode", Value::unknown()),
                ("rotation_period", Value::int(60)),
                ("rotation_schedule", sched()),
            ],
            vec![StaticProblem::PeriodAndSchedule],
        ),
    ];
    for (name, pairs, want) in rows {
        let v = view(&pairs);
        let mode = super::plan::mode_is_static(&v);
        assert_eq!(static_problems(&v, mode), want, "{name}");
    }
}

#[test]
fn static_problems_render_at_their_attribute() {
    for (p, attr) in [
        (StaticProblem::DynamicRole("create_login"), "create_login"),
        (StaticProblem::PeriodAndSchedule, "rotation_schedule"),
        (StaticProblem::WindowWithoutSchedule, "rotation_window"),
        (StaticProblem::NotCron("x".into()), "rotation_schedule"),
        (StaticProblem::SkipWithCreatedLogin, "skip_import_rotation"),
    ] {
        let mut diags = tfplugin::Diagnostics::default();
        p.report(&mut diags);
        let d = &diags.0[0];
        assert_eq!(d.attribute, Some(AttributePath::attr(attr)), "{p:?}");
        assert!(!d.detail.is_empty());
    }
}

#[test]
fn cron_problem_by_situation() {
    let rows = [
        ("daily_at_three", "0 3 * * *", false),
        ("ranges_steps_and_lists", "*/15 1-5 1,15 JAN-MAR MON", false),
        ("extra_spaces_between_fields", " 0  3 * * * ", false),
        ("six_fields_with_seconds", "0 0 3 * * *", true),
        ("a_descriptor_is_not_five_fields", "@daily", true),
        ("a_quote_in_a_field", "0 3 * * '1'", true),
        ("empty", "", true),
    ];
    for (name, text, bad) in rows {
        assert_eq!(cron_problem(text).is_some(), bad, "{name}");
    }
}

#[test]
fn a_scheduled_static_role_plans_no_period() {
    let n = Value::int;
    let s = || Value::string("static");
    let rows: Vec<PlanRow<Option<Option<i64>>>> = vec![
        (
            "schedule_on_create_plans_null",
            vec![
                ("mode", s()),
                ("rotation_schedule", Value::string("0 3 * * *")),
            ],
            vec![("mode", s()), ("rotation_period", Value::unknown())],
            Some(None),
        ),
        (
            "schedule_replacing_a_period_plans_null",
            vec![
                ("mode", s()),
                ("rotation_schedule", Value::string("0 3 * * *")),
            ],
            vec![("mode", s()), ("rotation_period", n(86400))],
            Some(None),
        ),
        (
            "schedule_unchanged_keeps_null",
            vec![
                ("mode", s()),
                ("rotation_schedule", Value::string("0 3 * * *")),
            ],
            vec![("mode", s()), ("rotation_period", Value::Null)],
            None,
        ),
        (
            "no_schedule_defaults_the_period",
            vec![("mode", s())],
            vec![("mode", s()), ("rotation_period", Value::unknown())],
            Some(Some(DEFAULT_SECONDS)),
        ),
    ];
    for (name, config, planned, want) in rows {
        let Some(edit) = ttl_edit(&view(&config), &view(&planned)) else {
            panic!("{name}: an edit");
        };
        assert_eq!(edit.rotation_period, want, "{name}");
    }
}

#[test]
fn static_body_carries_a_schedule_or_a_period() {
    let mut m = planned(RoleMode::Static);
    let stmts = [vec![], vec![], strings(&["rotate"])];
    let b = role_body(&m, "pg", Engine::Postgres, &stmts);
    assert_eq!(b["rotation_period"], 600);
    assert!(b["rotation_schedule"].is_null() && b["skip_import_rotation"].is_null());
    assert_eq!(newer_parameters(&b), Vec::<&str>::new());
    m.rotation_schedule = Some("0 3 * * *".into());
    m.rotation_window = Some(3600);
    m.skip_import_rotation = Some(true);
    let b = role_body(&m, "pg", Engine::Postgres, &stmts);
    assert!(b["rotation_period"].is_null(), "{b}");
    assert_eq!(b["rotation_schedule"], "0 3 * * *");
    assert_eq!(b["rotation_window"], 3600);
    assert_eq!(b["skip_import_rotation"], true);
    assert_eq!(
        newer_parameters(&b),
        [
            "rotation_schedule",
            "rotation_window",
            "skip_import_rotation"
        ]
    );
}

#[test]
fn refresh_reads_the_schedule_only_from_a_vault_that_has_one() {
    let state = || {
        let mut m = planned(RoleMode::Static);
        m.rotation_schedule = Some("0 3 * * *".into());
        m.rotation_period = None;
        m
    };
    let rows: Vec<(&str, serde_json::Value, Option<&str>, Option<i64>)> = vec![
        (
            "vault_with_the_schedule",
            serde_json::json!({"rotation_schedule": "0 4 * * *", "rotation_period": 0}),
            Some("0 4 * * *"),
            None,
        ),
        (
            "vault_switched_to_a_period",
            serde_json::json!({"rotation_schedule": "", "rotation_period": 3600}),
            None,
            Some(3600),
        ),
        (
            "server_without_schedules_keeps_the_state",
            serde_json::json!({"rotation_period": 0}),
            Some("0 3 * * *"),
            None,
        ),
    ];
    for (name, data, schedule, period) in rows {
        let r = refreshed(state(), "database", VaultRole::from_data(&data));
        assert_eq!(r.rotation_schedule.as_deref(), schedule, "{name}");
        assert_eq!(r.rotation_period, period, "{name}");
    }
    // Vault's default `false` stays null in a state that never set it.
    let r = refreshed(
        state(),
        "database",
        VaultRole::from_data(&serde_json::json!({"skip_import_rotation": false})),
    );
    assert_eq!(r.skip_import_rotation, None);
    let r = refreshed(
        state(),
        "database",
        VaultRole::from_data(&serde_json::json!({"skip_import_rotation": true})),
    );
    assert_eq!(r.skip_import_rotation, Some(true));
}

#[test]
fn unsupported_vault_parameters_are_refused_before_writing() {
    let openbao: Vec<String> = [
        "db_name",
        "rotation_period",
        "rotation_statements",
        "username",
    ]
    .map(String::from)
    .to_vec();
    let vault_118: Vec<String> = openbao
        .iter()
        .cloned()
        .chain(
            [
                "rotation_schedule",
                "rotation_window",
                "skip_import_rotation",
            ]
            .map(String::from),
        )
        .collect();
    let rows: Vec<HelpRow> = vec![
        (
            "openbao_schedule",
            vec!["rotation_schedule"],
            Some(&openbao),
            Some("rotation_schedule"),
        ),
        (
            "openbao_skip",
            vec!["skip_import_rotation"],
            Some(&openbao),
            Some("skip_import_rotation"),
        ),
        (
            "vault_118_all",
            vec![
                "rotation_schedule",
                "rotation_window",
                "skip_import_rotation",
            ],
            Some(&vault_118),
            None,
        ),
        (
            "help_unreadable_leaves_it_to_vault",
            vec!["rotation_schedule"],
            None,
            None,
        ),
        ("nothing_newer_used", vec![], Some(&openbao), None),
    ];
    for (name, used, accepted, refused_at) in rows {
        let got = unsupported_parameter(&used, accepted, "http://vault:8200").err();
        let at = got.as_ref().map(|e| only(e).1.cloned());
        assert_eq!(
            at,
            refused_at.map(|a| Some(AttributePath::attr(a))),
            "{name}"
        );
        if let Some(e) = &got {
            assert!(only(e).2.contains("Nothing was written to Vault"), "{name}");
        }
    }
}

#[test]
fn dual_passwords_by_server() {
    let rows = [
        ("mysql_8_0_14", Engine::Mysql, Some("8.0.14"), true),
        ("mysql_8_4", Engine::Mysql, Some("8.4.3-commercial"), true),
        ("mysql_8_0_13", Engine::Mysql, Some("8.0.13"), false),
        ("mysql_5_7", Engine::Mysql, Some("5.7.44-log"), false),
        (
            "mariadb_10_11",
            Engine::Mysql,
            Some("10.11.14-MariaDB-0+deb12u2"),
            false,
        ),
        (
            "mariadb_replication_prefix",
            Engine::Mysql,
            Some("5.5.5-10.11.6-MariaDB"),
            false,
        ),
        ("version_unreadable", Engine::Mysql, None, false),
        ("postgres_connection", Engine::Postgres, None, false),
    ];
    for (name, engine, version, ok) in rows {
        let got = dual_password_support(engine, version);
        assert_eq!(got.is_ok(), ok, "{name}");
        if let Err(e) = got {
            assert_eq!(
                only(&e).1,
                Some(&AttributePath::attr("retain_previous_password")),
                "{name}"
            );
        }
    }
    assert_eq!(
        retaining_previous(strings(&[
            "ALTER USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';",
            "SELECT 1;"
        ])),
        strings(&[
            "ALTER USER '{{name}}'@'%' IDENTIFIED BY '{{password}}' RETAIN CURRENT PASSWORD;",
            "SELECT 1;"
        ])
    );
}

#[test]
fn login_to_create_by_situation() {
    let forbidden = vec![(
        "postgres".to_string(),
        "the provider's PostgreSQL admin login".to_string(),
    )];
    let rows = [
        ("new_plain_name", "app_login", false, None),
        (
            "existing_login_is_never_adopted",
            "app_login",
            true,
            Some("Login \"app_login\" already exists"),
        ),
        (
            "existing_admin_is_refused_as_existing",
            "postgres",
            true,
            Some("Login \"postgres\" already exists"),
        ),
        (
            "absent_platform_login_is_refused",
            "postgres",
            false,
            Some("Static login refused"),
        ),
    ];
    for (name, user, exists, refused) in rows {
        let got = login_to_create(user, exists, &forbidden).err();
        assert_eq!(got.as_ref().map(|e| only(e).0), refused, "{name}");
        if let Some(e) = &got {
            assert_eq!(only(e).1, Some(&AttributePath::attr("username")), "{name}");
        }
    }
}

#[test]
fn login_at_destroy_by_situation() {
    let m = "terraform-provider-dbaas: static login of Vault role database/r";
    assert_eq!(login_at_destroy(None, m), LoginAtDestroy::Gone);
    assert_eq!(login_at_destroy(Some(Some(m)), m), LoginAtDestroy::Drop);
    assert!(matches!(
        login_at_destroy(Some(None), m),
        LoginAtDestroy::Keep(_)
    ));
    assert!(matches!(
        login_at_destroy(
            Some(Some(
                "terraform-provider-dbaas: static login of Vault role database/other"
            )),
            m
        ),
        LoginAtDestroy::Keep(_)
    ));
}

#[test]
fn created_login_statements_are_quoted_and_password_less() {
    let b = crate::sql::create_static_login("app\"x", "shop_owner", Some("shop_owner"), "it's");
    let all: Vec<&String> = crate::sql::Unit::statements(&b).iter().collect();
    assert_eq!(all.len(), 3);
    assert!(
        all[0].starts_with("CREATE ROLE \"app\"\"x\" LOGIN NOSUPERUSER"),
        "{}",
        all[0]
    );
    assert!(
        all[0].contains("PASSWORD NULL IN ROLE \"shop_owner\""),
        "{}",
        all[0]
    );
    assert_eq!(all[1], "ALTER ROLE \"app\"\"x\" SET role = 'shop_owner'");
    assert_eq!(all[2], "COMMENT ON ROLE \"app\"\"x\" IS 'it''s'");
    let b = crate::sql::create_static_login("a", "shop_readonly", None, "m");
    assert_eq!(crate::sql::Unit::statements(&b).len(), 2);
}

#[test]
fn created_mysql_user_gets_the_dynamic_grant_and_a_quoted_name() {
    let Ok(got) = crate::sql::create_static_user("o'hara", "shop_db", Access::ReadOnly, "Abc123")
    else {
        panic!("statements");
    };
    assert_eq!(
        got,
        strings(&[
            "CREATE USER 'o''hara'@'%' IDENTIFIED BY 'Abc123';",
            "GRANT SELECT ON `shop\\_db`.* TO 'o''hara'@'%';",
        ])
    );
}

#[test]
fn a_deleted_role_revokes_leases_only_when_it_holds_some_or_the_listing_failed() {
    assert_eq!(lease_listing("team/db"), "sys/leases/lookup/team/db/creds");
    let listed = strings(&["app-role/", "other/", "app-role-2/"]);
    // (listing, role, revoke?)
    let cases: [(Option<&[String]>, &str, bool); 6] = [
        (Some(&listed), "app-role", true),
        (Some(&listed), "other", true),
        // A name that only starts like a listed one holds no lease.
        (Some(&listed), "app", false),
        (Some(&listed), "app-role-3", false),
        (Some(&[]), "app-role", false),
        // Unreadable (no capability, Vault down): revoke-prefix looks for itself.
        (None, "app-role", true),
    ];
    for (listing, role, revoke) in cases {
        assert_eq!(must_revoke(listing, role), revoke, "{role} in {listing:?}");
    }
}

#[test]
fn the_guard_hands_back_the_owner_it_read_and_nothing_else() {
    use crate::backends::postgres::DatabaseFacts;
    use crate::resources::role_guard::verdict::{EngineFacts, Observed, PgDatabase, Unreadable};
    let pg = |database| Observed {
        engine: Engine::Postgres,
        facts: EngineFacts::Postgres {
            database,
            login: None,
            forbidden: Vec::new(),
        },
    };
    let facts = DatabaseFacts {
        owner: "shop_admins".into(),
        allow_connections: true,
        comment: None,
        is_template: false,
    };
    let read = pg(Ok(PgDatabase {
        facts: Some(facts),
        roles: Ok(Vec::new()),
    }));
    assert_eq!(guard::owner_seen(&read).as_deref(), Some("shop_admins"));
    let missing = pg(Ok(PgDatabase {
        facts: None,
        roles: Ok(Vec::new()),
    }));
    assert_eq!(guard::owner_seen(&missing), None);
    let unread = Unreadable {
        what: "database \"shop\"".into(),
        error: "down".into(),
    };
    assert_eq!(guard::owner_seen(&pg(Err(unread.clone()))), None);
    let redis = Observed {
        engine: Engine::Redis,
        facts: EngineFacts::Redis {
            forbidden: Vec::new(),
        },
    };
    assert_eq!(guard::owner_seen(&redis), None);
    let down = Observed {
        engine: Engine::Postgres,
        facts: EngineFacts::Unreachable(unread),
    };
    assert_eq!(guard::owner_seen(&down), None);
}
