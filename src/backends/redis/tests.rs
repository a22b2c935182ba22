//! Unit tests of the Redis admin client's pure parts: ACL rules and replies, overlap,
//! glob escaping, memory warnings.

#[test]
fn command_rules_sorted_only_within_same_sign_command_runs() {
    let a: Vec<String> = "+@all -@dangerous -pubsub|shardchannels -scan -randomkey -function|flush"
        .split(' ')
        .map(str::to_string)
        .collect();
    let b: Vec<String> = vec![
        "+@all -@dangerous -randomkey -function|flush -scan -pubsub|shardchannels".to_string(),
    ];
    assert_eq!(
        super::canonical_command_rules(&a),
        super::canonical_command_rules(&b)
    );
    // Order across signs and categories is meaning, and is kept.
    let c: Vec<String> = vec!["-pubsub +pubsub|channels".to_string()];
    let d: Vec<String> = vec!["+pubsub|channels -pubsub".to_string()];
    assert_ne!(
        super::canonical_command_rules(&c),
        super::canonical_command_rules(&d)
    );
    let e: Vec<String> = vec!["+@all -get +@read".to_string()];
    assert_eq!(
        super::canonical_command_rules(&e).join(" "),
        "+@all -get +@read"
    );
}

use super::*;

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn setuser_rules_reset_then_confine_to_the_prefix() {
    let spec = AclSpec {
        name: "app".into(),
        enabled: true,
        password: "pw".into(),
        key_prefix: "app:".into(),
        channels: vec!["app:*".into()],
        commands: vec!["+@all".into(), "-@admin".into(), "-@dangerous".into()],
    };
    let rules = spec.setuser_rules();
    assert_eq!(rules[0], "reset");
    assert_eq!(rules[1], "on");
    assert_eq!(rules[2], format!("#{}", password_hash("pw")));
    assert!(!rules
        .iter()
        .any(|r| r.contains("pw") && !r.starts_with('#')));
    assert_eq!(
        &rules[3..],
        [
            "~app:*",
            "resetchannels",
            "&app:*",
            "+@all",
            "-@admin",
            "-@dangerous"
        ]
    );
    let off = AclSpec {
        enabled: false,
        channels: vec![],
        ..spec
    };
    assert_eq!(off.setuser_rules()[1], "off");
    assert!(!off.setuser_rules().iter().any(|r| r.starts_with('&')));
}

#[test]
fn dryrun_verdicts() {
    assert!(dryrun_allowed(&Value::Okay));
    assert!(dryrun_allowed(&Value::SimpleString("OK".into())));
    assert!(!dryrun_allowed(&bulk(
        "This user has no permissions to run the 'eval' command"
    )));
    assert!(!dryrun_allowed(&Value::Nil));
}

#[test]
fn password_hash_is_redis_sha256_hex() {
    // `ACL SETUSER x >redis-dev` shows this hash in `ACL LIST`.
    assert_eq!(
        password_hash("redis-dev"),
        "013e4354d4ff572145e6fdf5813e855f4fe202c713f7e17cdc86513c6cf08b87"
    );
}

#[test]
fn glob_escaping() {
    assert_eq!(escape_glob("app:"), "app:");
    assert_eq!(escape_glob("a*b?c[d]e\\"), "a\\*b\\?c\\[d\\]e\\\\");
}

#[test]
fn getuser_reply_of_redis_7() {
    let reply = Value::Array(vec![
        bulk("flags"),
        Value::Array(vec![bulk("on"), bulk("sanitize-payload")]),
        bulk("passwords"),
        Value::Array(vec![bulk("abc")]),
        bulk("commands"),
        bulk("+@all -@dangerous"),
        bulk("keys"),
        bulk("~app:*"),
        bulk("channels"),
        bulk("&app:*"),
        bulk("selectors"),
        Value::Array(vec![]),
    ]);
    let u = AclUser::from_reply(&reply).unwrap_or_default();
    assert!(u.enabled());
    assert_eq!(u.password_hashes, ["abc"]);
    assert_eq!(u.commands, ["+@all", "-@dangerous"]);
    assert_eq!(
        u.rule_string(),
        "on sanitize-payload ~app:* resetchannels &app:* +@all -@dangerous"
    );
    assert_eq!(AclUser::from_reply(&Value::Nil), None);
}

#[test]
fn getuser_reply_of_redis_6_2_and_selectors() {
    let reply = Value::Array(vec![
        bulk("flags"),
        Value::Array(vec![bulk("off"), bulk("allchannels")]),
        bulk("passwords"),
        Value::Array(vec![]),
        bulk("commands"),
        bulk("-@all +get"),
        bulk("keys"),
        Value::Array(vec![bulk("app:*")]),
        bulk("channels"),
        Value::Array(vec![bulk("*")]),
        bulk("selectors"),
        Value::Array(vec![Value::Array(vec![
            bulk("commands"),
            bulk("+set"),
            bulk("keys"),
            bulk("~*"),
            bulk("channels"),
            bulk(""),
        ])]),
    ]);
    let u = AclUser::from_reply(&reply).unwrap_or_default();
    assert!(!u.enabled());
    assert_eq!(u.keys, ["~app:*"]);
    assert_eq!(u.channels, ["&*"]);
    assert_eq!(u.selectors, ["(+set ~*)"]);
    assert_eq!(
        u.rule_string(),
        "off allchannels ~app:* &* -@all +get (+set ~*)"
    );
}

#[test]
fn acl_list_key_patterns() {
    assert_eq!(
        key_patterns_of("user app on #ab ~app:* %R~shared:* resetchannels &app:* +@all"),
        Some(("app".into(), vec!["app:*".into(), "shared:*".into()]))
    );
    assert_eq!(
        key_patterns_of("user default on nopass allkeys &* +@all"),
        Some(("default".into(), vec!["*".into()]))
    );
    assert_eq!(key_patterns_of("garbage"), None);
}

#[test]
fn prefix_overlap() {
    assert!(pattern_overlaps("app:*", "app:"));
    assert!(pattern_overlaps("app:b:*", "app:"));
    assert!(pattern_overlaps("ap*", "app:"));
    assert!(pattern_overlaps("app:key", "app:"));
    assert!(!pattern_overlaps("apx:*", "app:"));
    assert!(!pattern_overlaps("app2:*", "app:"));
    assert!(
        !pattern_overlaps("*", "app:"),
        "admins reach everything by design"
    );
    assert!(!pattern_overlaps("other", "app:"));
}

#[test]
fn memory_warnings() {
    assert_eq!(
        memory_warning("r", 1, Some("268435456"), Some("allkeys-lru")),
        None
    );
    let w = memory_warning("r", 6379, Some("0"), Some("noeviction")).unwrap_or_default();
    assert!(
        w.contains("r:6379") && w.contains("maxmemory") && w.contains("noeviction"),
        "{w}"
    );
    assert!(memory_warning("r", 1, Some("100"), Some("noeviction")).is_some());
    assert!(memory_warning("r", 1, Some("0"), Some("volatile-lru")).is_some());
}
