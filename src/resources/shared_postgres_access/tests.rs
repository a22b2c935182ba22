//! The grant's rules, one row per situation.

use super::decide::{self, Facts, Refusal, Spec};
use crate::backends::postgres::{DatabaseFacts, RoleFacts, RoleLinks};
use crate::sql;

fn spec(access: &str) -> Spec {
    Spec {
        database: "shop".into(),
        grantee: "bi_readonly".into(),
        access: access.into(),
    }
}

fn role(name: &str, login: bool, superuser: bool, marked_for: Option<&str>) -> RoleFacts {
    RoleFacts {
        name: name.into(),
        can_login: login,
        superuser,
        comment: marked_for.map(sql::role_marker),
        owns_objects: false,
    }
}

fn links(name: &str, member_of: &[&str], group_members: &[&str]) -> RoleLinks {
    RoleLinks {
        name: name.into(),
        member_of: member_of.iter().map(|s| s.to_string()).collect(),
        group_members: group_members.iter().map(|s| s.to_string()).collect(),
    }
}

fn database(comment: &str) -> Option<DatabaseFacts> {
    Some(DatabaseFacts {
        owner: "shop_owner".into(),
        allow_connections: true,
        comment: Some(comment.into()),
        is_template: false,
    })
}

/// The facts of a grant that may go ahead: shop's marked group, bi's marked group.
fn good() -> Facts {
    Facts {
        database: database(sql::DATABASE_MANAGED),
        roles: vec![
            role("shop_readonly", false, false, Some("shop")),
            role("bi_readonly", false, false, Some("bi")),
        ],
        links: vec![
            links("shop_readonly", &[], &[]),
            links("bi_readonly", &[], &[]),
        ],
    }
}

fn with(f: impl FnOnce(&mut Facts)) -> Facts {
    let mut facts = good();
    f(&mut facts);
    facts
}

#[test]
fn grant_verdicts() {
    type Row = (&'static str, Facts, Result<(), fn(&Refusal) -> bool>);
    let rows: Vec<Row> = vec![
        ("another_tenants_group_may_be_granted", good(), Ok(())),
        (
            "a_grantee_already_holding_other_databases_may_be_granted",
            with(|f| f.links[1] = links("bi_readonly", &["crm_readonly"], &[])),
            Ok(()),
        ),
        (
            "a_group_already_shared_with_others_may_be_granted_again",
            with(|f| f.links[0] = links("shop_readonly", &[], &["crm_readonly"])),
            Ok(()),
        ),
        (
            "a_missing_database_is_refused",
            with(|f| f.database = None),
            Err(|r| matches!(r, Refusal::NoDatabase(_))),
        ),
        (
            "a_database_of_someone_else_is_refused",
            with(|f| f.database = database("hand made")),
            Err(|r| matches!(r, Refusal::NotManaged(_))),
        ),
        (
            "an_unfinished_database_is_refused",
            with(|f| f.database = database(sql::DATABASE_CREATING)),
            Err(|r| matches!(r, Refusal::NotManaged(_))),
        ),
        (
            "a_group_not_marked_for_the_database_is_refused",
            with(|f| f.roles[0] = role("shop_readonly", false, false, Some("other"))),
            Err(|r| matches!(r, Refusal::NoGroup { .. })),
        ),
        (
            "a_missing_grantee_is_refused",
            with(|f| f.roles.truncate(1)),
            Err(|r| matches!(r, Refusal::NoGrantee(_))),
        ),
        (
            "a_login_as_grantee_is_refused",
            with(|f| f.roles[1] = role("bi_readonly", true, false, Some("bi"))),
            Err(|r| matches!(r, Refusal::NotTenantGroup { .. })),
        ),
        (
            "a_superuser_as_grantee_is_refused",
            with(|f| f.roles[1] = role("bi_readonly", false, true, Some("bi"))),
            Err(|r| matches!(r, Refusal::NotTenantGroup { .. })),
        ),
        (
            "an_unmarked_group_as_grantee_is_refused",
            with(|f| f.roles[1] = role("bi_readonly", false, false, None)),
            Err(|r| matches!(r, Refusal::NotTenantGroup { .. })),
        ),
        (
            "the_databases_own_group_as_grantee_is_refused",
            with(|f| f.roles[1] = role("bi_readonly", false, false, Some("shop"))),
            Err(|r| matches!(r, Refusal::OwnGroup { .. })),
        ),
        (
            "a_grantee_with_groups_as_members_is_refused_as_a_chain",
            with(|f| f.links[1] = links("bi_readonly", &[], &["crm_readonly"])),
            Err(|r| matches!(r, Refusal::GranteeHasGroups { .. })),
        ),
        (
            "a_group_that_is_a_member_elsewhere_is_refused_as_a_chain",
            with(|f| f.links[0] = links("shop_readonly", &["crm_readonly"], &[])),
            Err(|r| matches!(r, Refusal::GroupIsShared { .. })),
        ),
        (
            "after_the_grant_its_own_link_is_no_chain",
            with(|f| {
                f.links[0] = links("shop_readonly", &[], &["bi_readonly"]);
                f.links[1] = links("bi_readonly", &["shop_readonly"], &[]);
            }),
            Ok(()),
        ),
    ];
    for (name, facts, want) in rows {
        let got = decide::grant_verdict(&spec("readonly"), &facts);
        match (&got, want) {
            (Ok(()), Ok(())) => {}
            (Err(r), Err(is)) => assert!(is(r), "{name}: wrong refusal {r:?}"),
            _ => panic!("{name}: got {got:?}"),
        }
    }
}

#[test]
fn every_refusal_points_at_its_attribute_and_says_nothing_was_granted() {
    let rows = [
        (Refusal::NoDatabase("shop".into()), "database"),
        (Refusal::NotManaged("shop".into()), "database"),
        (
            Refusal::NoGroup {
                database: "shop".into(),
                group: "shop_readonly".into(),
            },
            "database",
        ),
        (Refusal::NoGrantee("bi_readonly".into()), "grantee"),
        (
            Refusal::NotTenantGroup {
                grantee: "x".into(),
                why: "It can log in.".into(),
            },
            "grantee",
        ),
        (
            Refusal::OwnGroup {
                grantee: "shop_readonly".into(),
                database: "shop".into(),
            },
            "grantee",
        ),
        (
            Refusal::GranteeHasGroups {
                grantee: "bi_readonly".into(),
                groups: vec!["crm_readonly".into()],
            },
            "grantee",
        ),
        (
            Refusal::GroupIsShared {
                group: "shop_readonly".into(),
                member_of: vec!["crm_readonly".into()],
            },
            "database",
        ),
    ];
    for (r, attr) in rows {
        let e = r.error();
        let d = &e.diagnostics()[0];
        assert_eq!(
            d.attribute,
            Some(tfplugin::AttributePath::attr(attr)),
            "{r:?}"
        );
        assert!(
            d.detail.contains("Nothing was granted"),
            "{r:?}: {}",
            d.detail
        );
        assert!(!d.summary.contains('\n'), "{r:?}");
    }
}

/// A read situation: name, the state's access, the grantee's links, the access found.
type ReadRow = (
    &'static str,
    Option<&'static str>,
    Option<RoleLinks>,
    Option<&'static str>,
);

#[test]
fn read_finds_the_access_held() {
    let rows: [ReadRow; 6] = [
        (
            "grant_in_place",
            Some("readonly"),
            Some(links("bi_readonly", &["shop_readonly"], &[])),
            Some("readonly"),
        ),
        (
            "grant_revoked_out_of_band",
            Some("readonly"),
            Some(links("bi_readonly", &["crm_readonly"], &[])),
            None,
        ),
        ("grantee_dropped", Some("readonly"), None, None),
        (
            "access_changed_out_of_band",
            Some("readonly"),
            Some(links("bi_readonly", &["shop_readwrite"], &[])),
            Some("readwrite"),
        ),
        (
            "both_held_keeps_the_states",
            Some("readwrite"),
            Some(links(
                "bi_readonly",
                &["shop_readonly", "shop_readwrite"],
                &[],
            )),
            Some("readwrite"),
        ),
        (
            "imported_finds_the_access",
            None,
            Some(links("bi_readonly", &["shop_readwrite"], &[])),
            Some("readwrite"),
        ),
    ];
    for (name, state, grantee, want) in rows {
        assert_eq!(
            decide::read_access("shop", state, grantee.as_ref()).as_deref(),
            want,
            "{name}"
        );
    }
}

#[test]
fn import_ids() {
    assert_eq!(
        decide::parse_import_id("shop/bi_readonly"),
        Ok(("shop".into(), "bi_readonly".into()))
    );
    for bad in ["shop", "/bi_readonly", "shop/", "shop/bi/x", ""] {
        assert!(decide::parse_import_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn the_databases_own_groups_are_refused_at_plan() {
    for own in ["shop_owner", "shop_readwrite", "shop_readonly"] {
        assert!(decide::own_group_at_plan("shop", own).is_some(), "{own}");
    }
    assert!(decide::own_group_at_plan("shop", "bi_readonly").is_none());
    assert!(decide::own_group_at_plan("shop", "shopping_readonly").is_none());
}

#[test]
fn markers_name_the_database() {
    assert_eq!(
        decide::marked_database(Some(&sql::role_marker("bi"))),
        Some("bi")
    );
    assert_eq!(decide::marked_database(Some("something else")), None);
    assert_eq!(decide::marked_database(None), None);
}
