//! The provider block read into settings: fallbacks, defaults, files, logins, checks.

use super::*;
use std::collections::HashMap;

use crate::backends::settings::{Secret, VaultLogin};
use crate::domain::checks::valid_kv2_path;
use crate::enums::{MysqlTls, SslMode};

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

/// A temp dir holding `ca.pem` (a certificate), `key.pem` (a key) and `junk.txt`.
fn pem_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("key.pem"),
        "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    std::fs::write(d.path().join("junk.txt"), "not pem").unwrap();
    d
}

fn path_in(d: &tempfile::TempDir, f: &str) -> String {
    d.path().join(f).display().to_string()
}

/// The attribute paths and details of the errors.
fn errors(diags: &Diagnostics) -> Vec<(String, String)> {
    diags
        .iter()
        .map(|d| {
            (
                d.attribute
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                d.detail.clone(),
            )
        })
        .collect()
}

#[test]
fn tls_files_are_read_into_the_settings() {
    let d = pem_dir();
    let (ca, key) = (path_in(&d, "ca.pem"), path_in(&d, "key.pem"));
    let env: HashMap<&str, String> = HashMap::from([
        ("PGHOST", "db".to_string()),
        ("PGSSLROOTCERT", ca.clone()),
        ("PGSSLCERT", ca.clone()),
        ("PGSSLKEY", key.clone()),
        ("VAULT_ADDR", "https://vault:8200".to_string()),
        ("VAULT_CACERT", ca.clone()),
        ("VAULT_CAPATH", d.path().display().to_string()),
        ("VAULT_SKIP_VERIFY", "TRUE".to_string()),
        ("VAULT_NAMESPACE", "/team-a/".to_string()),
    ]);
    let my = block(&[
        ("host", Value::string("m")),
        ("username", Value::string("root")),
        ("tls", Value::string("verify_identity")),
        ("ca_cert_file", Value::string(&ca)),
        ("client_cert_file", Value::string(&ca)),
        ("client_key_file", Value::string(&key)),
    ]);
    let pgb = block(&[
        ("host", Value::string("b")),
        ("admin_sslmode", Value::string("verify-full")),
        ("admin_sslrootcert", Value::string(&ca)),
    ]);
    let mut diags = Diagnostics::default();
    let s = settings_from_config(
        &config(&[("mysql", my), ("pgbouncer", pgb)]),
        &|k| env.get(k).cloned(),
        &mut diags,
    );
    assert!(!diags.has_errors(), "{diags:?}");
    let pg = s.postgres.unwrap();
    assert_eq!(pg.tls_files.ca_cert.as_deref(), Some(ca.as_str()));
    assert_eq!(
        pg.tls_files.client_pair(),
        Some((ca.as_str(), key.as_str()))
    );
    let m = s.mysql.unwrap();
    assert_eq!(m.tls, MysqlTls::VerifyIdentity);
    assert_eq!(m.tls_files.client_pair(), Some((ca.as_str(), key.as_str())));
    let b = s.pgbouncer.unwrap();
    assert_eq!(
        (b.admin_sslmode, b.admin_sslrootcert.as_deref()),
        (SslMode::VerifyFull, Some(ca.as_str()))
    );
    let v = s.vault.unwrap();
    assert_eq!(v.tls.ca_cert_file.as_deref(), Some(ca.as_str()));
    assert!(v.tls.ca_cert_dir.is_some() && v.tls.skip_verify);
    assert_eq!(v.namespace.as_deref(), Some("team-a"));
    // Defaults: admin console TLS `prefer`, no files, Vault verifies.
    let mut diags = Diagnostics::default();
    let s = settings_from_config(
        &config(&[
            ("pgbouncer", block(&[("host", Value::string("b"))])),
            (
                "vault",
                block(&[("address", Value::string("http://v:8200"))]),
            ),
        ]),
        &|_| None,
        &mut diags,
    );
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(s.pgbouncer.unwrap().admin_sslmode, SslMode::Prefer);
    let v = s.vault.unwrap();
    assert_eq!((v.tls, v.namespace), (Default::default(), None));
}

#[test]
fn a_missing_or_wrong_tls_file_is_an_error_on_its_attribute_naming_the_path() {
    let d = pem_dir();
    let missing = path_in(&d, "nope.pem");
    let junk = path_in(&d, "junk.txt");
    let ca = path_in(&d, "ca.pem");
    let rd = block(&[
        ("host", Value::string("r")),
        ("tls", Value::Bool(true)),
        ("ca_cert_file", Value::string(&missing)),
        ("client_key_file", Value::string(&ca)),
    ]);
    let vault = block(&[
        ("address", Value::string("https://v:8200")),
        (
            "ca_cert_dir",
            Value::string(d.path().join("nodir").display().to_string()),
        ),
    ]);
    let mut diags = Diagnostics::default();
    settings_from_config(
        &config(&[("redis", rd), ("vault", vault)]),
        &|k| match k {
            "PGHOST" => Some("db".into()),
            "PGSSLROOTCERT" => Some(junk.clone()),
            "VAULT_SKIP_VERIFY" => Some("maybe".into()),
            _ => None,
        },
        &mut diags,
    );
    let errs = errors(&diags);
    let at = |path: &str| {
        errs.iter()
            .find(|(p, _)| p == path)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("no error at {path}: {errs:?}"))
    };
    let pg = at("postgres.sslrootcert");
    assert!(
        pg.contains(&junk) && pg.contains("PGSSLROOTCERT") && pg.contains("no PEM certificate"),
        "{pg}"
    );
    let rca = at("redis.ca_cert_file");
    assert!(
        rca.contains(&missing) && rca.contains("cannot read"),
        "{rca}"
    );
    // A key that is a certificate, and a key without its certificate.
    assert!(at("redis.client_key_file").contains("no PEM private key"));
    assert!(at("redis.client_cert_file").contains("client_key_file"));
    assert!(at("vault.ca_cert_dir").contains("nodir"));
    assert!(at("vault.skip_tls_verify").contains("maybe"));
    assert_eq!(errs.len(), 6, "{errs:?}");
}

fn vault_with(blocks: &[(&str, Value)]) -> Value {
    let mut v = block(&[("address", Value::string("http://vault:8200"))]);
    for name in VAULT_AUTH_BLOCKS {
        v.set(name, Value::Null);
    }
    for (k, x) in blocks {
        v.set(k, x.clone());
    }
    config(&[("vault", v)])
}

#[test]
fn vault_token_order_is_attribute_env_login_then_token_file() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".vault-token"), "from-file\n").unwrap();
    let home_s = home.path().display().to_string();
    let read = |c: &Value, vault_token: Option<&str>| {
        let mut diags = Diagnostics::default();
        let s = settings_from_config(
            c,
            &|k| match k {
                "HOME" => Some(home_s.clone()),
                "VAULT_TOKEN" => vault_token.map(str::to_string),
                _ => None,
            },
            &mut diags,
        );
        assert!(!diags.has_errors(), "{diags:?}");
        s.vault.unwrap()
    };
    let with_attr = vault_with(&[("token", Value::string("attr"))]);
    assert_eq!(
        read(&with_attr, Some("env")).token,
        Secret::Plain("attr".into())
    );
    assert_eq!(
        read(&vault_with(&[]), Some("env")).token,
        Secret::Plain("env".into())
    );
    assert_eq!(
        read(&vault_with(&[]), None).token,
        Secret::Plain("from-file".into())
    );
    let approle = block(&[
        ("role_id", Value::string("r")),
        ("secret_id", Value::string("s")),
    ]);
    let v = read(
        &vault_with(&[("auth_login_approle", approle.clone())]),
        None,
    );
    assert_eq!(
        v.token,
        Secret::None,
        "a login block comes before the token file"
    );
    assert_eq!(
        v.login.as_ref().map(|l| (l.method(), l.mount())),
        Some(("approle", "approle"))
    );
    // A token from VAULT_TOKEN wins over the login block.
    let v = read(&vault_with(&[("auth_login_approle", approle)]), Some("env"));
    assert_eq!(v.token, Secret::Plain("env".into()));
}

#[test]
fn an_unreadable_token_file_is_an_error_naming_it_and_an_absent_one_is_none() {
    let home = tempfile::tempdir().unwrap();
    let home_s = home.path().display().to_string();
    let mut diags = Diagnostics::default();
    let s = settings_from_config(
        &vault_with(&[]),
        &|k| (k == "HOME").then(|| home_s.clone()),
        &mut diags,
    );
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(s.vault.unwrap().token, Secret::None);
    // A directory in the file's place cannot be read (as root, permissions would not stop us).
    std::fs::create_dir(home.path().join(".vault-token")).unwrap();
    let mut diags = Diagnostics::default();
    settings_from_config(
        &vault_with(&[]),
        &|k| (k == "HOME").then(|| home_s.clone()),
        &mut diags,
    );
    assert!(diags.has_errors());
    assert!(diags.0[0].detail.contains(".vault-token"), "{diags:?}");
    assert_eq!(diags.0[0].attribute, Some(AttributePath::attr("vault")));
}

#[test]
fn login_blocks_default_their_mount_and_read_their_settings() {
    let jwt = block(&[("role", Value::string("ci"))]);
    let mut diags = Diagnostics::default();
    let s = settings_from_config(
        &vault_with(&[("auth_login_jwt", jwt)]),
        &|k| (k == "TERRAFORM_VAULT_AUTH_JWT").then(|| "eyJ.x.y".to_string()),
        &mut diags,
    );
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(
        s.vault.unwrap().login,
        Some(VaultLogin::Jwt {
            mount: "jwt".into(),
            role: "ci".into(),
            jwt: "eyJ.x.y".into()
        })
    );
    // The role is required; the JWT too when the environment has none.
    let mut diags = Diagnostics::default();
    settings_from_config(
        &vault_with(&[(
            "auth_login_jwt",
            block(&[("mount", Value::string("/gitlab/"))]),
        )]),
        &|_| None,
        &mut diags,
    );
    let paths: Vec<String> = diags
        .iter()
        .filter_map(|d| d.attribute.as_ref().map(|p| p.to_string()))
        .collect();
    assert_eq!(
        paths,
        vec!["vault.auth_login_jwt.role", "vault.auth_login_jwt.jwt"]
    );
    // Kubernetes: a missing token file is an error on jwt_file, naming it.
    let k8s = block(&[
        ("role", Value::string("r")),
        ("mount", Value::string("k8s")),
        ("jwt_file", Value::string("/nonexistent/token")),
    ]);
    let mut diags = Diagnostics::default();
    let s = settings_from_config(
        &vault_with(&[("auth_login_kubernetes", k8s)]),
        &|_| None,
        &mut diags,
    );
    assert_eq!(
        diags.0[0].attribute,
        Some(
            AttributePath::attr("vault")
                .join("auth_login_kubernetes")
                .join("jwt_file")
        )
    );
    assert!(diags.0[0].detail.contains("/nonexistent/token"));
    assert_eq!(
        s.vault.unwrap().login.map(|l| l.mount().to_string()),
        Some("k8s".into())
    );
    // With a token configured the login is unused, and its file is not checked.
    let k8s = block(&[
        ("role", Value::string("r")),
        ("jwt_file", Value::string("/nonexistent/token")),
    ]);
    let mut diags = Diagnostics::default();
    settings_from_config(
        &vault_with(&[
            ("auth_login_kubernetes", k8s),
            ("token", Value::string("t")),
        ]),
        &|_| None,
        &mut diags,
    );
    assert!(!diags.has_errors(), "{diags:?}");
}

#[test]
fn a_second_login_block_is_an_error_on_it() {
    let approle = block(&[("role_id", Value::string("r"))]);
    let jwt = block(&[("role", Value::string("ci")), ("jwt", Value::string("x"))]);
    let c = vault_with(&[("auth_login_approle", approle), ("auth_login_jwt", jwt)]);
    let mut diags = Diagnostics::default();
    settings_from_config(&c, &|_| None, &mut diags);
    assert_eq!(diags.0.len(), 1, "{diags:?}");
    assert_eq!(
        diags.0[0].attribute,
        Some(AttributePath::attr("vault").join("auth_login_jwt"))
    );
    let mut diags = Diagnostics::default();
    futures_lite_block_on(tfplugin::Provider::validate(&DbaasProvider, &c, &mut diags));
    assert_eq!(
        diags.0[0].attribute,
        Some(AttributePath::attr("vault").join("auth_login_jwt"))
    );
}

/// Runs a future that does no I/O to completion.
fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn kv2_paths() {
    assert!(valid_kv2_path("secret/data/postgres/root"));
    assert!(valid_kv2_path("kv/team/data/x"));
    assert!(!valid_kv2_path("secret/postgres/root"));
    assert!(!valid_kv2_path("/secret/data/x"));
    assert!(!valid_kv2_path("secret/data/"));
    for bad in [
        "secret/data/../sys/policy/x",
        "secret/data/./x",
        "secret/data/a%2F..%2Fb",
        "secret/data/x?version=1",
        "secret/data/x#y",
        "secret/data/a b",
        "secret/data/a\\b",
        "secret/data/a\tb",
    ] {
        assert!(!valid_kv2_path(bad), "{bad:?}");
    }
    assert!(valid_kv2_path("secret/data/team-a/pg.root_1"));
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
