//! Issue 22: `settings`, one row per situation: validation, planning when unset, the
//! statements an apply runs, the catalog read back, and read's drift.

use std::collections::BTreeMap;

use super::*;
use crate::resources::shared_postgres_database::settings::{
    apply_error, check_setting, check_settings, from_catalog, planned_when_unset,
    settings_statements, update_baseline, ConfigSettings, Settings,
};

fn map(pairs: &[(&str, &str)]) -> Settings {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn configured_settings_are_checked_against_the_allowlist() {
    for (situation, name, value, refused) in [
        (
            "allowlisted name and value",
            "statement_timeout",
            Some("30s"),
            None,
        ),
        ("value unknown until apply", "work_mem", None, None),
        ("temp_file_limit", "temp_file_limit", Some("1GB"), None),
        (
            "search_path changes name resolution",
            "search_path",
            Some("evil"),
            Some("is not a setting this provider manages"),
        ),
        (
            "role changes who the session is",
            "role",
            Some("postgres"),
            Some("is not a setting this provider manages"),
        ),
        (
            "upper case never reads back",
            "STATEMENT_TIMEOUT",
            Some("1s"),
            Some("is not a setting this provider manages"),
        ),
        (
            "empty value",
            "lock_timeout",
            Some(" "),
            Some("needs a value"),
        ),
        (
            "control character",
            "lock_timeout",
            Some("1s\n"),
            Some("needs a value"),
        ),
    ] {
        let got = check_setting(name, value);
        match refused {
            None => assert_eq!(got, None, "{situation}"),
            Some(says) => {
                let r = got.unwrap_or_else(|| panic!("{situation}: not refused"));
                assert!(r.summary.contains(says), "{situation}: {}", r.summary);
                assert_eq!(r.name, name, "{situation}");
                if says.contains("manages") {
                    assert!(
                        r.detail.contains("`statement_timeout`")
                            && r.detail.contains("`temp_file_limit`"),
                        "{situation}: the list: {}",
                        r.detail
                    );
                }
            }
        }
    }
}

#[test]
fn refusals_point_at_the_setting_and_unknown_maps_pass() {
    let config: ConfigSettings = Known::Value(BTreeMap::from([
        ("role".to_string(), Known::Value("postgres".to_string())),
        ("work_mem".to_string(), Known::Unknown),
    ]));
    let refused = check_settings(&config);
    assert_eq!(refused.len(), 1);
    let mut diags = tfplugin::Diagnostics::default();
    refused[0].report(&mut diags);
    let d = diags.iter().next().expect("one diagnostic");
    assert_eq!(
        d.attribute,
        Some(AttributePath::attr("settings").key("role"))
    );
    assert!(check_settings(&Known::Unknown).is_empty());
    assert!(check_settings(&Known::Null).is_empty());
}

#[test]
fn settings_left_out_of_the_configuration_manage_none() {
    for (situation, config_null, prior, want) in [
        (
            "configured: as configured",
            false,
            Known::Value(map(&[("work_mem", "8MB")])),
            None,
        ),
        (
            "create without settings",
            true,
            Known::Null,
            Some(Known::Null),
        ),
        (
            "state without settings (upgraded)",
            true,
            Known::Null,
            Some(Known::Null),
        ),
        (
            "import found none: kept, no change",
            true,
            Known::Value(Settings::new()),
            Some(Known::Value(Settings::new())),
        ),
        (
            "removed: reset what the state holds",
            true,
            Known::Value(map(&[("work_mem", "8MB")])),
            Some(Known::Null),
        ),
    ] {
        assert_eq!(planned_when_unset(config_null, &prior), want, "{situation}");
    }
}

#[test]
fn apply_sets_what_changed_and_resets_what_was_removed() {
    let before = Known::Value(map(&[("statement_timeout", "30s"), ("work_mem", "8MB")]));
    for (situation, prior, planned, want) in [
        ("unchanged", before.clone(), before.clone(), vec![]),
        ("unmanaged both sides", Known::Null, Known::Null, vec![]),
        (
            "created from nothing",
            Known::Null,
            Known::Value(map(&[("lock_timeout", "5s")])),
            vec![sql::alter_database_set("shop", "lock_timeout", "5s")],
        ),
        (
            "one changed, one removed",
            before.clone(),
            Known::Value(map(&[("statement_timeout", "1min")])),
            vec![
                sql::alter_database_reset("shop", "work_mem"),
                sql::alter_database_set("shop", "statement_timeout", "1min"),
            ],
        ),
        (
            "attribute removed: every one reset",
            before.clone(),
            Known::Null,
            vec![
                sql::alter_database_reset("shop", "statement_timeout"),
                sql::alter_database_reset("shop", "work_mem"),
            ],
        ),
        (
            "a name outside the allowlist in a prior state is never reset",
            Known::Value(map(&[("search_path", "x")])),
            Known::Null,
            vec![],
        ),
    ] {
        assert_eq!(
            settings_statements("shop", &prior, &planned),
            want,
            "{situation}"
        );
    }
}

#[test]
fn the_catalog_reads_back_only_allowlisted_settings() {
    let entries = strings(&[
        "application_name=kept",
        "search_path=\"$user\", public, extensions",
        "statement_timeout=30s",
        "work_mem=8MB",
        "garbage",
    ]);
    assert_eq!(
        from_catalog(&entries),
        map(&[("statement_timeout", "30s"), ("work_mem", "8MB")])
    );
}

#[test]
fn read_reports_settings_only_when_managed() {
    for (situation, state, config, want) in [
        (
            "unmanaged: not read, stays null",
            Known::Null,
            None,
            Known::Null,
        ),
        (
            "managed: drift shows",
            Known::Value(map(&[("work_mem", "8MB")])),
            Some(strings(&["work_mem=64MB", "lock_timeout=5s"])),
            Known::Value(map(&[("lock_timeout", "5s"), ("work_mem", "64MB")])),
        ),
        (
            "import starts from an empty map and reads what is there",
            Known::Value(Settings::new()),
            Some(strings(&["statement_timeout=30s"])),
            Known::Value(map(&[("statement_timeout", "30s")])),
        ),
    ] {
        let m = Model {
            settings: state,
            ..model()
        };
        let facts = ReadFacts {
            settings: Some(settings("shop_owner", -1)),
            extensions: None,
            config,
            roles: None,
        };
        let ReadOutcome::Present { state, .. } = decide_read(&m, &settled(), facts, &endpoint())
        else {
            panic!("{situation}: gone");
        };
        assert_eq!(state.settings, want, "{situation}");
    }
}

#[test]
fn an_update_starts_from_the_catalog_when_it_manages_settings() {
    let prior = Known::Value(map(&[("work_mem", "8MB")]));
    for (situation, catalog, want) in [
        (
            "managed: what the catalog holds (a tenant's lock_timeout too)",
            Some(map(&[("lock_timeout", "1ms"), ("work_mem", "8MB")])),
            Known::Value(map(&[("lock_timeout", "1ms"), ("work_mem", "8MB")])),
        ),
        ("not managed now: the prior state", None, prior.clone()),
    ] {
        assert_eq!(update_baseline(&prior, catalog), want, "{situation}");
    }
    let first_map = settings_statements(
        "shop",
        &update_baseline(&Known::Null, Some(map(&[("lock_timeout", "1ms")]))),
        &Known::Value(map(&[("statement_timeout", "30s")])),
    );
    assert_eq!(
        first_map,
        vec![
            sql::alter_database_reset("shop", "lock_timeout"),
            sql::alter_database_set("shop", "statement_timeout", "30s"),
        ],
        "the first apply of a map also resets what it leaves out"
    );
}

#[test]
fn a_value_the_server_refuses_is_reported_at_its_setting() {
    let configured = map(&[("work_mem", "lots"), ("statement_timeout", "30s")]);
    let refused = "invalid value for parameter \"work_mem\": \"lots\"";
    for (situation, code, message, at) in [
        (
            "invalid value of a configured setting",
            Some("22023"),
            refused,
            Some(AttributePath::attr("settings").key("work_mem")),
        ),
        ("another error", Some("42501"), "permission denied", None),
        ("no SQLSTATE (connection lost)", None, refused, None),
        (
            "a setting not configured",
            Some("22023"),
            "invalid value for parameter \"lock_timeout\": \"x\"",
            None,
        ),
    ] {
        let e = apply_error(
            &configured,
            "Cannot update database \"shop\"",
            code,
            message,
            message.to_string(),
        );
        let d = &e.diagnostics()[0];
        assert_eq!(d.attribute, at, "{situation}");
        assert_eq!(d.summary, "Cannot update database \"shop\"", "{situation}");
        assert!(d.detail.contains(message), "{situation}");
    }
}
