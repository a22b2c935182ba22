//! Issue 21: what `terraform validate` decides from the provider block alone
//! (`provider::checks`), one row per situation.

use super::*;
use crate::enums::RedisTls;
use crate::provider::checks::{redis_tls_word, validate_config, REQUIRED_IN_BLOCK};

/// One diagnostic as `(severity, path, summary)`.
type Verdict = (String, String, String);

/// The errors and warnings of `validate_config`.
fn verdicts(c: &Value) -> Vec<Verdict> {
    let mut diags = Diagnostics::default();
    validate_config(c, &mut diags);
    diags
        .iter()
        .map(|d| {
            (
                format!("{:?}", d.severity).to_lowercase(),
                d.attribute
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                d.summary.clone(),
            )
        })
        .collect()
}

fn err(path: &str, summary: &str) -> Verdict {
    ("error".into(), path.into(), summary.into())
}

#[test]
fn validate_by_situation() {
    let s = Value::string;
    let rows: Vec<(&str, Value, Vec<Verdict>)> = vec![
        ("no_block_needs_nothing", config(&[]), vec![]),
        (
            "mysql_block_without_host_or_username",
            config(&[("mysql", block(&[("password", s("pw"))]))]),
            vec![
                err("mysql.host", "Missing mysql.host"),
                err("mysql.username", "Missing mysql.username"),
            ],
        ),
        (
            "redis_block_without_host",
            config(&[("redis", block(&[("password", s("pw"))]))]),
            vec![err("redis.host", "Missing redis.host")],
        ),
        (
            "host_not_known_yet_counts_as_set",
            config(&[("redis", block(&[("host", Value::unknown())]))]),
            vec![],
        ),
        (
            "block_not_known_yet_is_left_to_configure",
            config(&[("mysql", Value::unknown())]),
            vec![],
        ),
        (
            "pgbouncer_without_host_or_admin_username",
            config(&[("pgbouncer", block(&[("admin_password", s("pw"))]))]),
            vec![
                err("pgbouncer.host", "Missing pgbouncer.host"),
                err(
                    "pgbouncer.admin_username",
                    "Missing pgbouncer.admin_username",
                ),
            ],
        ),
        (
            "pgbouncer_admin_username_may_come_from_the_vault_secret",
            config(&[(
                "pgbouncer",
                block(&[
                    ("host", s("pgb")),
                    ("password_vault_path", s("secret/data/pgbouncer/admin")),
                ]),
            )]),
            vec![],
        ),
        (
            "postgres_host_and_vault_address_may_come_from_the_environment",
            config(&[
                ("postgres", block(&[("port", Value::int(5432))])),
                ("vault", block(&[("token", s("t"))])),
            ]),
            vec![],
        ),
        (
            "login_block_without_its_role",
            config(&[(
                "vault",
                block(&[("auth_login_kubernetes", block(&[("mount", s("k8s"))]))]),
            )]),
            vec![err(
                "vault.auth_login_kubernetes.role",
                "Missing vault.auth_login_kubernetes.role",
            )],
        ),
        (
            "redis_tls_disabled_with_a_ca_file",
            config(&[(
                "redis",
                block(&[
                    ("host", s("r")),
                    ("tls", s("disabled")),
                    ("ca_cert_file", s("/ca.pem")),
                ]),
            )]),
            vec![err("redis.ca_cert_file", "redis.ca_cert_file without TLS")],
        ),
        (
            "redis_tls_unset_with_a_client_certificate",
            config(&[(
                "redis",
                block(&[("host", s("r")), ("client_cert_file", s("/c.pem"))]),
            )]),
            vec![err(
                "redis.client_cert_file",
                "redis.client_cert_file without TLS",
            )],
        ),
        (
            "redis_tls_false_with_a_ca_file_warns_and_refuses",
            config(&[(
                "redis",
                block(&[
                    ("host", s("r")),
                    ("tls", s("false")),
                    ("ca_cert_file", s("/ca.pem")),
                ]),
            )]),
            vec![
                (
                    "warning".into(),
                    "redis.tls".into(),
                    "Deprecated boolean redis.tls".into(),
                ),
                err("redis.ca_cert_file", "redis.ca_cert_file without TLS"),
            ],
        ),
        (
            "redis_tls_true_still_works_with_a_warning",
            config(&[(
                "redis",
                block(&[
                    ("host", s("r")),
                    ("tls", s("true")),
                    ("ca_cert_file", s("/ca.pem")),
                ]),
            )]),
            vec![(
                "warning".into(),
                "redis.tls".into(),
                "Deprecated boolean redis.tls".into(),
            )],
        ),
        (
            "redis_tls_word_with_a_ca_file",
            config(&[(
                "redis",
                block(&[
                    ("host", s("r")),
                    ("tls", s("verify_identity")),
                    ("ca_cert_file", s("/ca.pem")),
                ]),
            )]),
            vec![],
        ),
        (
            "redis_tls_not_known_yet",
            config(&[(
                "redis",
                block(&[
                    ("host", s("r")),
                    ("tls", Value::unknown()),
                    ("ca_cert_file", s("/ca.pem")),
                ]),
            )]),
            vec![],
        ),
    ];
    for (name, c, want) in rows {
        assert_eq!(verdicts(&c), want, "{name}");
    }
}

#[test]
fn redis_tls_words_and_the_deprecated_booleans() {
    assert_eq!(
        redis_tls_word("true"),
        Some((RedisTls::VerifyIdentity, true))
    );
    assert_eq!(redis_tls_word("false"), Some((RedisTls::Disabled, true)));
    assert_eq!(
        redis_tls_word("required"),
        Some((RedisTls::Required, false))
    );
    assert_eq!(redis_tls_word("preferred"), None);
    let mut words: Vec<&str> = RedisTls::NAMES.to_vec();
    words.extend(["true", "false"]);
    assert_eq!(crate::provider::schema::REDIS_TLS_WORDS, words.as_slice());
}

#[test]
fn configure_reads_the_redis_tls_mode_and_every_connect_timeout() {
    let mut diags = Diagnostics::default();
    let s = settings_from_config(
        &config(&[
            (
                "redis",
                block(&[
                    ("host", Value::string("r")),
                    ("tls", Value::string("true")),
                    ("connect_timeout", Value::int(3)),
                ]),
            ),
            (
                "mysql",
                block(&[
                    ("host", Value::string("m")),
                    ("username", Value::string("u")),
                ]),
            ),
        ]),
        &|_| None,
        &mut diags,
    );
    assert!(!diags.has_errors(), "{diags:?}");
    let (Some(r), Some(m)) = (s.redis, s.mysql) else {
        panic!("both blocks configured");
    };
    assert_eq!((r.tls, r.connect_timeout), (RedisTls::VerifyIdentity, 3));
    assert_eq!(m.connect_timeout, crate::domain::defaults::CONNECT_TIMEOUT);
}

#[test]
fn configure_requires_the_pgbouncer_admin_username_unless_vault_supplies_it() {
    let pgb = |extra: (&str, Value)| {
        config(&[("pgbouncer", block(&[("host", Value::string("pgb")), extra]))])
    };
    let mut diags = Diagnostics::default();
    settings_from_config(
        &pgb(("admin_password", Value::string("pw"))),
        &|_| None,
        &mut diags,
    );
    assert_eq!(
        diags.0.first().and_then(|d| d.attribute.clone()),
        Some(AttributePath::attr("pgbouncer").join("admin_username"))
    );
    let mut diags = Diagnostics::default();
    let vault_path = (
        "password_vault_path",
        Value::string("secret/data/pgbouncer/admin"),
    );
    settings_from_config(&pgb(vault_path), &|_| None, &mut diags);
    assert!(!diags.has_errors(), "{diags:?}");
}

/// The list validate checks and the schema's descriptions say the same: every attribute
/// described "checked by `terraform validate`" is in the list, and has no environment
/// fallback.
#[test]
fn the_required_list_matches_the_schema() {
    fn walk(b: &tfplugin::Block, path: Vec<String>, out: &mut Vec<(String, String, bool)>) {
        for a in &b.attributes {
            if a.description.contains("checked by `terraform validate`") {
                out.push((path.join("."), a.name.clone(), a.env.is_empty()));
            }
        }
        for n in &b.blocks {
            let mut p = path.clone();
            p.push(n.name.clone());
            walk(&n.block, p, out);
        }
    }
    let schema = provider_schema();
    let mut described = Vec::new();
    walk(&schema.block, vec![], &mut described);
    let mut listed: Vec<(String, String, bool)> = REQUIRED_IN_BLOCK
        .iter()
        .map(|r| (r.block.join("."), r.attr.to_string(), true))
        .collect();
    described.sort();
    listed.sort();
    assert_eq!(described, listed);
}
