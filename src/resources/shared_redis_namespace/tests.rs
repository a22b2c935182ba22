//! Unit tests of the Redis namespace resource: state upgrades, the ACL spec, planning,
//! validation and drift.

#[test]
fn state_from_v0_gains_allow_keyspace_scan_false_and_keeps_everything_else() {
    let v0 = serde_json::json!({"id": "app", "name": "app", "key_prefix": "app:", "acl": "user app on ~app:*"});
    let v1 = super::state_v0_to_v1(v0.clone()).expect("upgrades");
    assert_eq!(v1["allow_keyspace_scan"], serde_json::json!(false));
    for k in ["id", "name", "key_prefix", "acl"] {
        assert_eq!(v1[k], v0[k], "{k} kept");
    }
    // A value already there (never in v0, but harmless) is kept.
    let kept =
        super::state_v0_to_v1(serde_json::json!({"allow_keyspace_scan": true})).expect("upgrades");
    assert_eq!(kept["allow_keyspace_scan"], serde_json::json!(true));
    assert!(super::state_v0_to_v1(serde_json::json!([1])).is_err());
}

use super::*;
use tfplugin::ResourceType;

use crate::resources::common::test_object as obj;

/// The model of a (partial) plan or state.
fn m(v: &Value) -> Model {
    v.to_model().unwrap()
}

fn strings(v: &[&str]) -> Known<Vec<String>> {
    Known::Value(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn generated_passwords_are_long_and_distinct() {
    let (a, b) = (generate_password(), generate_password());
    assert_eq!(a.len(), GENERATED_PASSWORD_LEN);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a, b);
}

#[test]
fn spec_defaults_and_guard() {
    let planned = obj(&[
        ("name", Value::string("app")),
        ("key_prefix", Value::string("app:")),
        ("channels", Value::from_strings(["app:*"])),
        ("commands", Value::from_strings(["+@all"])),
        ("enabled", Value::Bool(true)),
    ]);
    let spec = spec_from(&m(&planned), "pw".into());
    assert_eq!(spec.key_prefix, "app:");
    assert_eq!(spec.channels, ["app:*"]);
    assert_eq!(spec.commands[0], "+@all");
    assert_eq!(
        spec.commands[1..],
        sql::redis_guard_rules(sql::RedisOptIns::default())
    );
    let rules = spec.setuser_rules();
    assert!(rules.contains(&"~app:*".to_string()));
    assert_eq!(rules.last().map(String::as_str), Some("-randomkey"));
    assert!(rules.iter().any(|r| r == "-function|flush"));

    // A configured `+scan` comes before the guards; only the attribute opts in.
    let mut scanning = m(&planned);
    scanning.commands = strings(&["+@all", "+scan"]);
    let spec = spec_from(&scanning, "pw".into());
    assert_eq!(spec.commands.last().map(String::as_str), Some("-randomkey"));
    scanning.allow_keyspace_scan = Some(true);
    let spec = spec_from(&scanning, "pw".into());
    assert!(!spec
        .commands
        .iter()
        .any(|c| c == "-scan" || c == "-randomkey"));
    assert_eq!(
        spec.commands.last().map(String::as_str),
        Some("-cluster|countkeysinslot")
    );

    // `allow_scripting = false` appends `-@scripting` after every configured rule.
    let mut quiet = m(&planned);
    quiet.commands = strings(&["+@all", "+eval"]);
    quiet.allow_scripting = Some(false);
    let spec = spec_from(&quiet, "pw".into());
    assert_eq!(
        spec.commands.last().map(String::as_str),
        Some("-@scripting")
    );
    assert!(spec.commands.iter().any(|c| c == "-client|tracking"));
}

#[test]
fn state_from_v2_keeps_channels_once_each_as_a_set() {
    let v2 =
        serde_json::json!({"name": "app", "channels": ["app:b", "app:*", "app:b"], "acl": "x"});
    let v3 = super::state_v2_to_v3(v2.clone()).expect("upgrades");
    assert_eq!(v3["channels"], serde_json::json!(["app:b", "app:*"]));
    for k in ["name", "acl"] {
        assert_eq!(v3[k], v2[k], "{k} kept");
    }
    let none = serde_json::json!({"name": "app", "channels": null});
    assert_eq!(super::state_v2_to_v3(none.clone()), Ok(none));
    assert!(super::state_v2_to_v3(serde_json::json!({"channels": "app:*"})).is_err());
    let schema = SharedRedisNamespace.schema();
    assert_eq!(schema.version, 3);
    assert_eq!(
        schema.block.attribute("channels").map(|a| a.ty.clone()),
        Some(tfplugin::Type::set_of(tfplugin::Type::String))
    );
}

#[test]
fn state_from_v1_gains_allow_scripting_true() {
    let v1 = serde_json::json!({"name": "app", "allow_keyspace_scan": true, "acl": "x"});
    let v2 = super::state_v1_to_v2(v1.clone()).expect("upgrades");
    assert_eq!(v2["allow_scripting"], serde_json::json!(true));
    for k in ["name", "allow_keyspace_scan", "acl"] {
        assert_eq!(v2[k], v1[k], "{k} kept");
    }
    assert!(super::state_v1_to_v2(serde_json::json!("x")).is_err());
}

#[test]
fn guards_applied_by_an_earlier_release_are_outdated() {
    let defaults = sql::RedisOptIns::default();
    let spec = spec_from(&m(&obj(&[("name", Value::string("app"))])), "pw".into());
    let current = record_applied(&spec, sql::redis_guard_rules(defaults));
    for (private, outdated) in [
        (&b""[..], true),
        (&record_prefix("app:")[..], true),
        (
            &record_applied(&spec, vec!["-@admin".into(), "-scan".into()])[..],
            true,
        ),
        (&current[..], false),
    ] {
        assert_eq!(guards_outdated(private, defaults), outdated, "{private:?}");
    }
    // Other opt-ins than those applied: outdated too (the attribute change plans it).
    let no_scripting = sql::RedisOptIns {
        scripting: false,
        ..defaults
    };
    assert!(guards_outdated(&current, no_scripting));
    assert_eq!(recorded_prefix(&current).as_deref(), Some("app:"));
}

#[tokio::test]
async fn outdated_guards_plan_an_in_place_acl_update() {
    let prior = obj(&[
        ("name", Value::string("app")),
        ("key_prefix", Value::string("app:")),
        ("allow_keyspace_scan", Value::Bool(false)),
        ("allow_scripting", Value::Bool(true)),
        ("acl", Value::string("on ~app:* +@all")),
    ]);
    let config = defaults_config();
    let spec = spec_from(&m(&prior), "pw".into());
    let current = record_applied(&spec, sql::redis_guard_rules(opt_ins(&m(&prior))));
    for (private, acl_unknown) in [(&b""[..], true), (&current[..], false)] {
        let mut plan = plan_for(&prior, &config, prior.clone());
        SharedRedisNamespace.plan_with_private(private, &mut plan);
        assert_eq!(m(&plan.planned).acl.is_unknown(), acl_unknown);
    }
    // A create has no prior: nothing to compare.
    let mut plan = plan_for(&Value::Null, &config, prior.clone());
    SharedRedisNamespace.plan_with_private(b"", &mut plan);
    assert!(!m(&plan.planned).acl.is_unknown());
}

#[test]
fn recorded_prefix_reads_old_and_new_private_state() {
    assert_eq!(recorded_prefix(b""), None, "v0.1.0 wrote no private state");
    assert_eq!(recorded_prefix(b"garbage"), None);
    assert_eq!(recorded_prefix(b"{}"), None);
    assert_eq!(
        recorded_prefix(&record_prefix("app:")).as_deref(),
        Some("app:")
    );
}

#[test]
fn write_only_password_wins_and_is_not_kept() {
    let name = || ("name", Value::string("app"));
    let planned = m(&obj(&[name(), ("password", Value::Null)]));
    let config = m(&obj(&[name(), ("password_wo", Value::string("wo-secret"))]));
    assert_eq!(password_for(&planned, &config), ("wo-secret".into(), false));
    let planned = m(&obj(&[name(), ("password", Value::string("given"))]));
    let config = m(&obj(&[name(), ("password_wo", Value::Null)]));
    assert_eq!(password_for(&planned, &config), ("given".into(), true));
    let planned = m(&obj(&[name(), ("password", Value::unknown())]));
    let (generated, keep) = password_for(&planned, &config);
    assert!(keep && generated.len() == GENERATED_PASSWORD_LEN);
}

use crate::resources::common::test_plan as plan_for;

/// A configuration of namespace `app` that leaves everything to the defaults.
fn defaults_config() -> Value {
    obj(&[
        ("name", Value::string("app")),
        ("key_prefix", Value::Null),
        ("channels", Value::Null),
        ("password", Value::Null),
        ("password_wo", Value::Null),
    ])
}

#[tokio::test]
async fn plan_fills_prefix_channels_and_password() {
    let config = defaults_config();
    let mut plan = plan_for(
        &Value::Null,
        &config,
        obj(&[
            ("name", Value::string("app")),
            ("key_prefix", Value::unknown()),
            ("channels", Value::unknown()),
            ("password", Value::unknown()),
            ("acl", Value::unknown()),
        ]),
    );
    SharedRedisNamespace.modify_plan(&mut plan).await;
    let planned = m(&plan.planned);
    assert_eq!(
        planned.key_prefix.as_option().map(String::as_str),
        Some("app:")
    );
    assert_eq!(planned.channels, strings(&["app:*"]));
    assert!(planned.password.is_unknown());
}

#[tokio::test]
async fn drifted_prefix_is_planned_back_and_acl_becomes_unknown() {
    let prior = obj(&[
        ("name", Value::string("app")),
        ("key_prefix", Value::string("~*")),
        ("channels", Value::from_strings(["app:*"])),
        ("password", Value::string("pw")),
        ("acl", Value::string("on ~* resetchannels &app:* +@all")),
    ]);
    let config = defaults_config();
    let mut plan = plan_for(&prior, &config, prior.clone());
    SharedRedisNamespace.modify_plan(&mut plan).await;
    let planned = m(&plan.planned);
    assert_eq!(
        planned.key_prefix.as_option().map(String::as_str),
        Some("app:")
    );
    assert_eq!(planned.password.as_option().map(String::as_str), Some("pw"));
    assert!(planned.acl.is_unknown());

    // Nothing drifted: nothing planned.
    let prior = obj(&[
        ("name", Value::string("app")),
        ("key_prefix", Value::string("app:")),
        ("channels", Value::from_strings(["app:*"])),
        ("password", Value::string("pw")),
        ("acl", Value::string("on ~app:* resetchannels &app:* +@all")),
    ]);
    let mut plan = plan_for(&prior, &config, prior.clone());
    SharedRedisNamespace.modify_plan(&mut plan).await;
    assert_eq!(plan.planned, prior);
}

#[tokio::test]
async fn write_only_password_keeps_password_out_of_the_plan() {
    let prior = obj(&[
        ("name", Value::string("app")),
        ("password", Value::string("old")),
    ]);
    let config = obj(&[
        ("name", Value::string("app")),
        ("password", Value::Null),
        ("password_wo", Value::string("new")),
    ]);
    let mut plan = plan_for(&prior, &config, prior.clone());
    SharedRedisNamespace.modify_plan(&mut plan).await;
    assert!(m(&plan.planned).password.is_null());
}

#[tokio::test]
async fn validate_conflicts_and_channels() {
    let mut diags = Diagnostics::default();
    let config = obj(&[
        ("name", Value::string("app")),
        ("key_prefix", Value::Null),
        ("channels", Value::from_strings(["app:x", "other:*"])),
        ("password", Value::string("a")),
        ("password_wo", Value::string("b")),
        ("password_wo_version", Value::Null),
    ]);
    SharedRedisNamespace
        .validate(&config, &ClientInfo::default(), &mut diags)
        .await;
    let paths: Vec<String> = diags
        .iter()
        .filter_map(|d| d.attribute.as_ref().map(|p| p.to_string()))
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].contains("password_wo"));
    assert!(paths[1].contains("channels"));
}

#[test]
fn drift_is_reflected_only_when_the_rules_changed() {
    let settings = crate::backends::settings::RedisSettings {
        host: "r".into(),
        port: 6379,
        username: "default".into(),
        password: Default::default(),
        tls: crate::enums::RedisTls::Disabled,
        tls_files: Default::default(),
        connect_timeout: 10,
    };
    let redis = Redis::new(&settings, "default", "");
    let user = AclUser {
        flags: vec!["on".into(), "sanitize-payload".into()],
        password_hashes: vec![password_hash("pw")],
        keys: vec!["~app:*".into()],
        channels: vec!["&app:*".into()],
        commands: vec!["+@all".into(), "-@dangerous".into()],
        selectors: vec![],
    };
    let state = obj(&[
        ("name", Value::string("app")),
        ("key_prefix", Value::string("app:")),
        ("channels", Value::from_strings(["app:*"])),
        (
            "commands",
            Value::from_strings(DEFAULT_COMMANDS.iter().copied()),
        ),
        ("enabled", Value::Bool(true)),
        ("password", Value::string("pw")),
        ("acl", Value::string(user.rule_string())),
    ]);
    let state = m(&state);
    let same = state_from(&redis, &state, &user);
    assert_eq!(same.commands, state.commands);
    assert_eq!(same.password.as_option().map(String::as_str), Some("pw"));

    let drifted = AclUser {
        keys: vec!["~*".into()],
        flags: vec!["on".into(), "nopass".into()],
        ..user.clone()
    };
    let s = state_from(&redis, &state, &drifted);
    let key_prefix = s.key_prefix.as_option().map(String::as_str);
    assert_eq!(key_prefix, Some("~*"));
    assert!(check_prefix(key_prefix.unwrap_or_default()).is_err());
    assert!(s
        .commands
        .as_option()
        .is_some_and(|c| c.contains(&"nopass".to_string())));
    assert!(
        s.password.is_null(),
        "nopass: the password no longer guards the user"
    );

    let other_password = AclUser {
        password_hashes: vec![password_hash("changed")],
        ..user
    };
    assert!(state_from(&redis, &state, &other_password)
        .password
        .is_null());
}

#[test]
fn a_partial_namespace_is_recorded_with_every_value_known() {
    let settings = crate::backends::settings::RedisSettings {
        host: "r".into(),
        port: 6379,
        username: "default".into(),
        password: Default::default(),
        tls: crate::enums::RedisTls::Disabled,
        tls_files: Default::default(),
        connect_timeout: 10,
    };
    let redis = Redis::new(&settings, "default", "");
    let planned = m(&obj(&[
        ("name", Value::string("app")),
        ("password", Value::unknown()),
        ("acl", Value::unknown()),
    ]));
    let kept = partial_state(&redis, &planned, Some("pw".into()));
    assert_eq!(kept.id, Known::Value("app".into()));
    assert_eq!(kept.host, Known::Value("r".into()));
    assert_eq!(kept.port, Known::Value(6379));
    assert!(kept.acl.is_null(), "unknown rules are recorded null");
    assert_eq!(kept.password, Known::Value("pw".into()));
    let write_only = partial_state(&redis, &planned, None);
    assert!(
        write_only.password.is_null(),
        "a write-only password is never kept"
    );
}

#[tokio::test]
async fn a_stopped_key_deletion_ends_before_the_next_batch() {
    // A server nobody listens on: a batch that ran would fail to connect instead.
    let settings = crate::backends::settings::RedisSettings {
        host: "127.0.0.1".into(),
        port: 9,
        username: "default".into(),
        password: Default::default(),
        tls: crate::enums::RedisTls::Disabled,
        tls_files: Default::default(),
        connect_timeout: 10,
    };
    let redis = Redis::new(&settings, "default", "");
    let cancel = tfplugin::Cancel::new();
    cancel.cancel();
    let e = delete_keys(&cancel, &redis, "app", "app:")
        .await
        .unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!(
        d.summary,
        "Deleted Redis user \"app\", but not all keys under \"app:\""
    );
    assert!(
        d.detail.starts_with("Stopped when Terraform asked"),
        "{}",
        d.detail
    );
    assert!(d.detail.contains("0 keys deleted"), "{}", d.detail);
}
