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
        ("admin_username", Value::string("admin")),
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
            (
                "pgbouncer",
                block(&[
                    ("host", Value::string("b")),
                    ("admin_username", Value::string("admin")),
                ]),
            ),
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
        ("tls", Value::string("verify_identity")),
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

mod checks;
mod known;
