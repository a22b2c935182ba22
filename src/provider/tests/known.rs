//! The configuration read as a model: the environment overlay, blocks whose values are
//! not known yet at plan, and each block's model against its schema.

use super::*;
use crate::backends::settings::Secret;

/// Settings read from `config` with environment `env`, and the diagnostics.
fn read_with(
    config: &Value,
    env: &[(&str, &str)],
) -> (crate::backends::settings::Settings, Diagnostics) {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut diags = Diagnostics::default();
    let s = settings_from_config(config, &|k| env.get(k).cloned(), &mut diags);
    (s, diags)
}

/// The attribute paths of the errors, in order.
fn error_paths(diags: &Diagnostics) -> Vec<String> {
    diags
        .iter()
        .map(|d| {
            d.attribute
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn a_block_configured_from_values_not_known_yet_is_left_out_without_an_error() {
    let pg = block(&[
        ("host", Value::unknown()),
        ("port", Value::unknown()),
        ("username", Value::unknown()),
        ("password", Value::unknown()),
        ("sslmode", Value::string("disable")),
    ]);
    let (s, diags) = read_with(&config(&[("postgres", pg)]), &[("PGHOST", "env-host")]);
    assert!(diags.0.is_empty(), "{diags:?}");
    assert_eq!(s.postgres, None, "nothing to dial until apply");
    assert_eq!(s.unknown, vec!["postgres"]);
    assert!(s.is_unknown("postgres") && !s.is_unknown("vault"));
}

#[test]
fn an_unknown_entry_of_a_list_leaves_its_block_out_and_the_others_are_read() {
    let pgb = block(&[
        ("host", Value::string("pgb")),
        (
            "admin_hosts",
            Value::List(vec![Value::string("a:1"), Value::unknown()]),
        ),
    ]);
    let my = block(&[
        ("host", Value::string("m")),
        ("username", Value::string("root")),
    ]);
    let (s, diags) = read_with(&config(&[("pgbouncer", pgb), ("mysql", my)]), &[]);
    assert!(diags.0.is_empty(), "{diags:?}");
    assert_eq!(s.unknown, vec!["pgbouncer"]);
    assert_eq!(s.mysql.map(|m| m.host), Some("m".into()));
}

#[test]
fn a_block_unknown_as_a_whole_is_not_known_yet() {
    let (s, diags) = read_with(&config(&[("redis", Value::unknown())]), &[]);
    assert!(diags.0.is_empty(), "{diags:?}");
    assert_eq!((s.redis, s.unknown), (None, vec!["redis"]));
}

#[test]
fn a_known_block_beside_one_not_known_yet_is_read_as_usual() {
    let vault = block(&[
        ("address", Value::string("http://vault:8200")),
        ("token", Value::string("t")),
        ("mount", Value::string("/team/db/")),
    ]);
    let pg = block(&[("host", Value::string("h")), ("password", Value::unknown())]);
    let (s, diags) = read_with(&config(&[("postgres", pg), ("vault", vault)]), &[]);
    assert!(diags.0.is_empty(), "{diags:?}");
    assert_eq!(s.unknown, vec!["postgres"]);
    assert_eq!(s.vault_mount(), "team/db");
}

#[test]
fn an_unknown_login_block_leaves_the_vault_block_out() {
    let login = block(&[("role_id", Value::unknown())]);
    let c = vault_with(&[("auth_login_approle", login)]);
    let (s, diags) = read_with(&c, &[]);
    assert!(diags.0.is_empty(), "{diags:?}");
    assert_eq!((s.vault, s.unknown), (None, vec!["vault"]));
}

#[test]
fn block_states() {
    use settings::{block_state, BlockState};
    let cases = [
        ("absent", Value::Null, BlockState::Absent),
        (
            "unknown as a whole",
            Value::unknown(),
            BlockState::NotKnownYet,
        ),
        (
            "one attribute unknown",
            block(&[("host", Value::unknown())]),
            BlockState::NotKnownYet,
        ),
        (
            "a nested block's attribute unknown",
            block(&[("auth_login_jwt", block(&[("jwt", Value::unknown())]))]),
            BlockState::NotKnownYet,
        ),
        (
            "known, nulls included",
            block(&[("host", Value::string("h")), ("port", Value::Null)]),
            BlockState::Known,
        ),
    ];
    for (situation, v, want) in cases {
        assert_eq!(block_state(&v), want, "{situation}");
    }
}

#[test]
fn an_absent_block_opens_from_its_key_variable_only() {
    // PGPORT alone opens nothing: the key of the postgres block is its host.
    let (s, _) = read_with(&config(&[]), &[("PGPORT", "5433"), ("VAULT_TOKEN", "t")]);
    assert_eq!((s.postgres, s.vault), (None, None));
    let (s, diags) = read_with(&config(&[]), &[("VAULT_ADDR", "http://v:8200")]);
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(s.vault.map(|v| v.address), Some("http://v:8200".into()));
}

#[test]
fn an_empty_variable_counts_as_unset() {
    let (s, _) = read_with(&config(&[]), &[("PGHOST", "")]);
    assert_eq!(s.postgres, None);
    let pg = block(&[("host", Value::string("h"))]);
    let (s, _) = read_with(&config(&[("postgres", pg)]), &[("PGUSER", "")]);
    assert_eq!(
        s.postgres.unwrap().username,
        "postgres",
        "the default, not \"\""
    );
}

#[test]
fn a_configured_value_wins_over_its_variable() {
    let pg = block(&[("host", Value::string("conf")), ("port", Value::int(6000))]);
    let (s, diags) = read_with(
        &config(&[("postgres", pg)]),
        &[("PGHOST", "env"), ("PGPORT", "not-a-port")],
    );
    assert!(
        !diags.has_errors(),
        "the variable is not even read: {diags:?}"
    );
    let pg = s.postgres.unwrap();
    assert_eq!((pg.host.as_str(), pg.port), ("conf", 6000));
}

#[test]
fn a_password_from_the_environment_gives_way_to_a_configured_vault_path() {
    let pg = block(&[
        ("host", Value::string("h")),
        ("password_vault_path", Value::string("secret/data/pg")),
    ]);
    let (s, diags) = read_with(&config(&[("postgres", pg)]), &[("PGPASSWORD", "pw")]);
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(
        s.postgres.unwrap().password,
        Secret::VaultKv("secret/data/pg".into())
    );
}

#[test]
fn a_word_from_the_environment_that_is_not_one_is_an_error_naming_the_variable() {
    let (_, diags) = read_with(&config(&[]), &[("PGHOST", "h"), ("PGSSLMODE", "sometimes")]);
    assert_eq!(error_paths(&diags), ["postgres.sslmode"]);
    let d = &diags.0[0];
    assert_eq!(d.summary, "Invalid sslmode");
    assert!(
        d.detail.contains("\"sometimes\" (from PGSSLMODE)") && d.detail.contains("verify-full"),
        "{}",
        d.detail
    );
}

#[test]
fn a_vault_address_from_the_environment_without_a_scheme_is_an_error_naming_it() {
    let (_, diags) = read_with(&config(&[]), &[("VAULT_ADDR", "vault:8200")]);
    assert_eq!(error_paths(&diags), ["vault.address"]);
    assert!(
        diags.0[0]
            .detail
            .contains("\"vault:8200\" (from VAULT_ADDR) must start with http"),
        "{}",
        diags.0[0].detail
    );
}

#[test]
fn a_vault_mount_keeps_no_slashes_and_a_bad_one_is_an_error_on_it() {
    let v = |mount: &str| {
        let b = block(&[
            ("address", Value::string("http://v:8200")),
            ("token", Value::string("t")),
            ("mount", Value::string(mount)),
        ]);
        read_with(&config(&[("vault", b)]), &[])
    };
    let (s, diags) = v("/team/database/");
    assert!(!diags.has_errors());
    assert_eq!(s.vault.unwrap().mount, "team/database");
    let (_, diags) = v("a//b");
    assert_eq!(error_paths(&diags), ["vault.mount"]);
    assert_eq!(diags.0[0].summary, "Invalid Vault mount");
}

#[test]
fn a_missing_required_attribute_names_its_variable_when_it_has_one() {
    let (_, diags) = read_with(&config(&[("postgres", block(&[]))]), &[]);
    assert_eq!(diags.0[0].summary, "Missing postgres.host");
    assert!(diags.0[0]
        .detail
        .contains("or the PGHOST environment variable"));
    let (_, diags) = read_with(&config(&[("redis", block(&[]))]), &[]);
    assert_eq!(diags.0[0].detail, "The redis block needs `host`: set it.");
}

#[test]
fn admin_hosts_are_the_configured_ones_or_the_app_endpoint() {
    let list =
        |hosts: &[&str]| tfplugin::Known::Value(hosts.iter().map(|h| h.to_string()).collect());
    let cases = [
        (
            "none configured",
            tfplugin::Known::Null,
            vec![("pgb", 6432)],
        ),
        ("an empty list", list(&[]), vec![("pgb", 6432)]),
        (
            "every replica",
            list(&["a:1", "[::1]:2"]),
            vec![("a", 1), ("::1", 2)],
        ),
    ];
    for (situation, configured, want) in cases {
        let got = settings::admin_hosts(configured, "pgb", 6432);
        let want: Vec<(String, u16)> = want.into_iter().map(|(h, p)| (h.to_string(), p)).collect();
        assert_eq!(got, want, "{situation}");
    }
}

#[test]
fn connect_timeout_defaults_to_ten_seconds_and_is_at_least_one() {
    let timeout = |t: Value| {
        let pg = block(&[("host", Value::string("h")), ("connect_timeout", t)]);
        read_with(&config(&[("postgres", pg)]), &[])
            .0
            .postgres
            .unwrap()
            .connect_timeout
    };
    assert_eq!(timeout(Value::Null), 10);
    assert_eq!(timeout(Value::int(3)), 3);
    assert_eq!(timeout(Value::int(0)), 1);
}

#[test]
fn environment_values_parse_as_their_attributes_type() {
    use tfplugin::Type;
    let ok = [
        (Type::Number, " 5433 ", Value::int(5433)),
        (Type::Bool, "TRUE", Value::Bool(true)),
        (Type::Bool, "t", Value::Bool(true)),
        (Type::Bool, "0", Value::Bool(false)),
        (Type::String, " kept as is ", Value::string(" kept as is ")),
    ];
    for (ty, text, want) in ok {
        assert_eq!(env::parse(&ty, text), Ok(want), "{text:?}");
    }
    for (ty, text) in [
        (Type::Number, "0"),
        (Type::Number, "65536"),
        (Type::Number, "x"),
        (Type::Bool, "yes"),
    ] {
        assert!(env::parse(&ty, text).is_err(), "{text:?}");
    }
}

#[test]
fn a_login_blocks_variable_is_read_only_when_the_block_is_present() {
    let (s, _) = read_with(
        &vault_with(&[("token", Value::string("t"))]),
        &[("TERRAFORM_VAULT_AUTH_JWT", "eyJ")],
    );
    assert_eq!(s.vault.unwrap().login, None);
}

#[test]
fn every_block_model_has_exactly_its_schemas_attributes() {
    use tfplugin::model::check_model;
    let schema = provider_schema().block;
    let nested = |name: &str| &schema.nested(name).unwrap().block;
    let vault = nested("vault");
    let login = |name: &str| &vault.nested(name).unwrap().block;
    let checks = [
        ("provider", check_model::<model::ProviderModel>(&schema)),
        (
            "postgres",
            check_model::<model::PostgresBlock>(nested("postgres")),
        ),
        (
            "pgbouncer",
            check_model::<model::PgBouncerBlock>(nested("pgbouncer")),
        ),
        ("mysql", check_model::<model::MysqlBlock>(nested("mysql"))),
        ("redis", check_model::<model::RedisBlock>(nested("redis"))),
        ("vault", check_model::<model::VaultBlock>(vault)),
        (
            "approle",
            check_model::<model::AppRoleBlock>(login("auth_login_approle")),
        ),
        (
            "jwt",
            check_model::<model::JwtBlock>(login("auth_login_jwt")),
        ),
        (
            "kubernetes",
            check_model::<model::KubernetesBlock>(login("auth_login_kubernetes")),
        ),
    ];
    for (block, result) in checks {
        assert_eq!(result, Ok(()), "{block}");
    }
}

#[test]
fn configure_with_values_not_known_yet_succeeds_and_dials_nothing() {
    let pg = block(&[("host", Value::unknown())]);
    let mut diags = Diagnostics::default();
    let backends = futures_lite_block_on(tfplugin::Provider::configure(
        &DbaasProvider,
        &config(&[("postgres", pg)]),
        &Default::default(),
        &mut diags,
    ));
    assert!(diags.0.is_empty(), "{diags:?}");
    let backends = backends.expect("configured");
    let err = futures_lite_block_on(backends.postgres())
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(
            |e| e.contains("`postgres` block is configured from values that are not known yet")
        ),
        "{err:?}"
    );
}

#[test]
fn max_connections_defaults_to_four_sessions_per_block_and_is_checked_from_one() {
    let read = |n: Value| {
        let pg = block(&[("host", Value::string("h")), ("max_connections", n.clone())]);
        let my = block(&[
            ("host", Value::string("m")),
            ("username", Value::string("root")),
            ("max_connections", n),
        ]);
        let s = read_with(&config(&[("postgres", pg), ("mysql", my)]), &[]).0;
        (
            s.postgres.map(|p| p.max_connections),
            s.mysql.map(|m| m.max_connections),
        )
    };
    let cases = [
        (Value::Null, 4, "unset: the default"),
        (Value::int(1), 1, "one session"),
        (Value::int(2), 2, "configured"),
        (
            Value::int(0),
            4,
            "below one (refused by the schema): never zero",
        ),
    ];
    for (value, want, why) in cases {
        assert_eq!(read(value), (Some(want), Some(want)), "{why}");
    }
    // The schema refuses anything below one, at the attribute (both blocks).
    let schema = provider_schema();
    for name in ["postgres", "mysql"] {
        let attr = schema
            .block
            .blocks
            .iter()
            .find(|b| b.name == name)
            .and_then(|b| {
                b.block
                    .attributes
                    .iter()
                    .find(|a| a.name == "max_connections")
            })
            .unwrap_or_else(|| panic!("{name}.max_connections in the schema"));
        let check = |v: i64| {
            attr.validators
                .iter()
                .all(|c| c.check(&Value::int(v)).is_ok())
        };
        assert!(check(1) && check(4), "{name}: 1 and 4 pass");
        assert!(!check(0) && !check(-1), "{name}: 0 and -1 are refused");
    }
}
