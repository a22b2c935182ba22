//! Unit tests of the MySQL database resource: name and charset rules, planning.

use super::*;
use crate::resources::common::{assert_verdicts, test_plan};
use tfplugin::ResourceType;

#[test]
fn names() {
    assert_verdicts(
        check_name,
        &["app", "App_1", "_x", "9lives", &"a".repeat(64)],
        &[
            "",
            "a-b",
            "a b",
            "a;drop",
            "a`b",
            "é",
            "mysql",
            "SYS",
            "information_schema",
            "Performance_Schema",
            &"a".repeat(65),
        ],
    );
}

#[test]
fn charset_and_collation_names() {
    for ok in ["utf8mb4", "latin1", "utf8mb3", "binary"] {
        assert!(check_charset_name("character set", ok).is_ok(), "{ok}");
    }
    for bad in ["", "UTF8MB4", "utf8", "utf8_general_ci", "a b", "x'y"] {
        assert!(check_charset_name("collation", bad).is_err(), "{bad}");
    }
    assert!(collation_matches("utf8mb4", "utf8mb4_0900_ai_ci"));
    assert!(collation_matches("utf8mb4", "utf8mb4_uca1400_ai_ci"));
    assert!(collation_matches("binary", "binary"));
    assert!(!collation_matches("utf8mb4", "latin1_swedish_ci"));
    assert!(!collation_matches("utf8mb4", "uca1400_ai_ci"));
    assert!(!collation_matches("utf8", "utf8mb4_bin"));
}

use crate::resources::common::test_object as obj;

fn collation(v: &Value) -> Known<String> {
    v.to_model::<CharsetPart>().unwrap().collation
}

#[tokio::test]
async fn a_new_charset_plans_the_collation_unknown_unless_configured() {
    let r = SharedMysqlDatabase;
    let prior = obj(&[
        ("name", Value::string("app")),
        ("charset", Value::string("latin1")),
        ("collation", Value::string("latin1_swedish_ci")),
    ]);
    let no_collation = obj(&[("collation", Value::Null)]);
    let mut plan = test_plan(
        &prior,
        &no_collation,
        obj(&[
            ("name", Value::string("app")),
            ("charset", Value::string("utf8mb4")),
            ("collation", Value::string("latin1_swedish_ci")),
        ]),
    );
    r.modify_plan(&mut plan).await;
    assert!(collation(&plan.planned).is_unknown());

    let config = obj(&[("collation", Value::string("utf8mb4_bin"))]);
    let mut plan = test_plan(
        &prior,
        &config,
        obj(&[
            ("charset", Value::string("utf8mb4")),
            ("collation", Value::string("utf8mb4_bin")),
        ]),
    );
    r.modify_plan(&mut plan).await;
    assert_eq!(
        collation(&plan.planned).as_option().map(String::as_str),
        Some("utf8mb4_bin")
    );
}

#[tokio::test]
async fn a_collation_of_another_charset_is_refused_on_the_attribute() {
    let mut diags = Diagnostics::default();
    let config = obj(&[
        ("charset", Value::string("latin1")),
        ("collation", Value::string("utf8mb4_bin")),
    ]);
    SharedMysqlDatabase
        .validate(&config, &ClientInfo::default(), &mut diags)
        .await;
    assert!(diags.has_errors());
    assert_eq!(
        diags.0[0].attribute,
        Some(tfplugin::AttributePath::attr("collation"))
    );
}

fn planned(collation: Known<String>) -> Model {
    Model {
        id: Known::Unknown,
        name: "app".into(),
        charset: "utf8mb4".into(),
        collation,
        deletion_protection: Some(true),
        host: Known::Unknown,
        port: Known::Unknown,
    }
}

#[test]
fn an_unfinished_create_records_every_value_known() {
    let s = pending_state(&planned(Known::Unknown), ("db".into(), 3306));
    assert_eq!(s.id, Known::Value("app".into()));
    assert_eq!(s.host, Known::Value("db".into()));
    assert_eq!(s.port, Known::Value(3306));
    assert!(
        s.collation.is_null(),
        "an unknown collation is recorded null"
    );
    let configured = pending_state(
        &planned(Known::Value("utf8mb4_bin".into())),
        ("db".into(), 1),
    );
    assert_eq!(configured.collation, Known::Value("utf8mb4_bin".into()));
}

#[test]
fn a_read_database_takes_the_servers_charset_and_collation() {
    let info = SchemaInfo {
        charset: "latin1".into(),
        collation: "latin1_swedish_ci".into(),
    };
    let s = state_from(&planned(Known::Unknown), &info, ("db".into(), 3306));
    assert_eq!(s.charset, "latin1");
    assert_eq!(s.collation, Known::Value("latin1_swedish_ci".into()));
    assert_eq!(s.deletion_protection, Some(true), "the rest is kept");
}

#[test]
fn only_the_create_pending_private_state_reads_pending() {
    for (situation, private, want) in [
        (
            "written_by_an_unfinished_create",
            CREATE_PENDING_PRIVATE,
            true,
        ),
        ("empty_from_a_finished_create", &b""[..], false),
        ("unreadable_is_not_pending", &b"garbage"[..], false),
        (
            "explicitly_false",
            &br#"{"create_pending":false}"#[..],
            false,
        ),
    ] {
        assert_eq!(create_pending(private), want, "{situation}");
    }
}

#[tokio::test]
async fn a_retry_pause_ends_at_once_when_terraform_asks_to_stop() {
    let cancel = Cancel::new();
    assert!(pause(&cancel).await, "an uninterrupted pause runs out");
    cancel.cancel();
    let started = std::time::Instant::now();
    assert!(!pause(&cancel).await, "a stopped pause says so");
    assert!(started.elapsed() < RETRY_PAUSE);
}
