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
