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
