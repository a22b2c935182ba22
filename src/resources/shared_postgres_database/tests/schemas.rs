//! `schemas = [...]`: what an apply changes and what a read reports, one row per situation.

use super::super::schemas::{change, check_name, read, Change};
use crate::backends::postgres::SchemaFacts;

fn found(name: &str, owner: &str) -> SchemaFacts {
    SchemaFacts {
        name: name.into(),
        owner: owner.into(),
        owner_is_admin: false,
        creators: vec![],
    }
}

fn list(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn schema_changes() {
    let o = "shop_owner";
    type Row = (
        &'static str,
        Option<Vec<String>>,
        Option<Vec<String>>,
        Vec<SchemaFacts>,
        Result<Change, ()>,
    );
    let rows: Vec<Row> = vec![
        (
            "a_new_schema_is_created_and_set_up",
            None,
            Some(list(&["reports"])),
            vec![],
            Ok(Change {
                setup: vec![("reports".into(), true)],
                drop: vec![],
            }),
        ),
        (
            "a_schema_of_the_owner_added_to_the_list_is_set_up_not_created",
            Some(list(&[])),
            Some(list(&["reports"])),
            vec![found("reports", o)],
            Ok(Change {
                setup: vec![("reports".into(), false)],
                drop: vec![],
            }),
        ),
        (
            "an_unchanged_list_does_nothing",
            Some(list(&["reports"])),
            Some(list(&["reports"])),
            vec![found("reports", o)],
            Ok(Change::default()),
        ),
        (
            "a_dropped_schema_still_listed_is_created_again",
            Some(list(&["reports"])),
            Some(list(&["reports"])),
            vec![],
            Ok(Change {
                setup: vec![("reports".into(), true)],
                drop: vec![],
            }),
        ),
        (
            "a_removed_schema_is_dropped",
            Some(list(&["reports", "staging"])),
            Some(list(&["reports"])),
            vec![found("reports", o), found("staging", o)],
            Ok(Change {
                setup: vec![],
                drop: vec!["staging".into()],
            }),
        ),
        (
            "a_removed_schema_already_gone_is_left",
            Some(list(&["staging"])),
            Some(list(&[])),
            vec![],
            Ok(Change::default()),
        ),
        (
            "unsetting_the_list_stops_managing_and_drops_nothing",
            Some(list(&["reports"])),
            None,
            vec![found("reports", o)],
            Ok(Change::default()),
        ),
        (
            "a_schema_owned_by_someone_else_is_refused",
            None,
            Some(list(&["reports"])),
            vec![found("reports", "other_owner")],
            Err(()),
        ),
    ];
    for (name, prior, planned, facts, want) in rows {
        let got = change(prior.as_deref(), planned.as_deref(), &facts, o).map_err(|_| ());
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn read_reports_the_listed_schemas_that_are_the_owners() {
    let o = "shop_owner";
    let state = list(&["reports", "staging", "taken"]);
    let facts = [found("reports", o), found("taken", "someone")];
    assert_eq!(read(Some(&state), &facts, o), Some(list(&["reports"])));
    assert_eq!(read(None, &facts, o), None);
}

#[test]
fn schema_names() {
    crate::resources::common::assert_verdicts(
        check_name,
        &["reports", "_staging", "cdc2"],
        &[
            "public",
            "extensions",
            "pgbouncer",
            "information_schema",
            "pg_temp_1",
            "Reports",
            "a-b",
            "",
        ],
    );
}
