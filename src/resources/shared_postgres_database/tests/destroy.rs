//! Destroy: what it drops, revokes, keeps and warns about.

use super::*;

// ---- destroy ----------------------------------------------------------------------------

fn destroy(
    protected: bool,
    private: &Private,
    db: Option<DatabaseFacts>,
    roles: &[RoleFacts],
) -> Result<DestroyPlan, DestroyRefusal> {
    decide_destroy("shop", protected, private, db.as_ref(), roles)
}

#[test]
fn deletion_protection_keeps_a_complete_database() {
    let refusal = destroy(
        true,
        &settled(),
        Some(complete("shop_owner")),
        &all_marked(),
    )
    .unwrap_err();
    let (attr, text) = rendered(&refusal.error());
    assert_eq!(attr, on("deletion_protection"));
    assert!(text.contains("is protected by deletion_protection"));
    assert!(text.contains("terraform untaint"));
    let unmarked = SHOP.map(role);
    assert!(
        destroy(true, &Private::default(), None, &unmarked).is_err(),
        "roles without our marker prove no cut-off create"
    );
}

#[test]
fn a_cut_off_create_is_removed_despite_deletion_protection() {
    // A tainted replacement arrives without private state: the catalog decides.
    for (situation, db) in [
        ("marked as being created", Some(creating("shop_owner"))),
        (
            "closed before its comment",
            Some(database("shop_owner", false, None)),
        ),
        ("cut off before CREATE DATABASE", None),
    ] {
        let plan = destroy(true, &Private::default(), db, &all_marked()).unwrap();
        assert_eq!(plan.created, strings(&SHOP), "{situation}");
        assert!(plan.adopted.is_empty(), "{situation}");
    }
}

#[test]
fn destroy_drops_created_roles_and_leaves_adopted_ones() {
    let roles = [
        role("shop_owner"),
        role("shop_readwrite"),
        login("shop_readonly"),
    ];
    let private = created(&["shop_owner", "shop_readwrite"]);
    let plan = destroy(false, &private, Some(complete("shop_owner")), &roles).unwrap();
    assert_eq!(plan.created, strings(&["shop_owner", "shop_readwrite"]));
    assert_eq!(plan.adopted, strings(&["shop_readonly"]));
}

#[test]
fn imported_database_leaves_every_role() {
    let imported = Private {
        imported: true,
        ..Private::default()
    };
    let plan = destroy(
        false,
        &imported,
        Some(complete("shop_owner")),
        &all_marked(),
    )
    .unwrap();
    assert!(plan.created.is_empty());
    assert_eq!(plan.adopted, strings(&SHOP));
}

#[test]
fn a_replaced_complete_database_keeps_its_roles_for_the_replacement() {
    let plan = destroy(
        false,
        &Private::default(),
        Some(complete("shop_owner")),
        &all_marked(),
    )
    .unwrap();
    assert!(
        plan.created.is_empty(),
        "the replacement's create reuses them"
    );
}

#[test]
fn roles_owning_objects_elsewhere_stop_the_destroy() {
    assert_eq!(check_owned_elsewhere("shop", vec![]), Ok(()));
    let owned = vec![dependency("shop_owner", "other", true)];
    let refusal = check_owned_elsewhere("shop", owned).unwrap_err();
    let (attr, text) = rendered(&refusal.error());
    assert_eq!(attr, None);
    assert!(text.starts_with("Cannot drop database \"shop\": its roles own objects elsewhere"));
    assert!(text.contains("Nothing was dropped") && text.contains("in database other"));
}

#[test]
fn vault_logins_of_the_groups_are_dropped_and_other_members_kept() {
    let vault = "v-token-shop-AbCdEfGhIjKlMnOpQrSt-1700000000";
    let member = |login: &str, superuser| crate::backends::postgres::GroupMember {
        login: login.to_string(),
        superuser,
    };
    let (drop, keep) = sort_members(vec![
        member(vault, false),
        member(&vault.replace("shop", "admin"), true),
        member("app_login", false),
    ]);
    assert_eq!(drop, strings(&[vault]));
    assert_eq!(keep.len(), 2, "a superuser and a hand-made login stay");
}

#[test]
fn the_drop_loop_retries_only_a_late_grant_or_logins_left() {
    for (situation, last, dropped, logins_left, want) in [
        ("dropped, nothing left", false, Ok(()), false, Round::Done),
        ("logins left", false, Ok(()), true, Round::Again),
        (
            "logins left in the last round",
            true,
            Ok(()),
            true,
            Round::Done,
        ),
        (
            "a grant arrived (2BP01)",
            false,
            Err(Some("2BP01")),
            false,
            Round::Again,
        ),
        (
            "2BP01 in the last round",
            true,
            Err(Some("2BP01")),
            false,
            Round::Fail,
        ),
        (
            "another server error",
            false,
            Err(Some("42501")),
            false,
            Round::Fail,
        ),
        ("a lost connection", false, Err(None), false, Round::Fail),
    ] {
        assert_eq!(after_round(last, dropped, logins_left), want, "{situation}");
    }
}

#[test]
fn destroy_warns_about_what_it_revoked_kept_and_left() {
    let revoked = [dependency("shop_readonly", "other", false)];
    let kept = strings(&["app_login"]);
    let adopted = strings(&["shop_owner"]);
    let summaries = |dropped| -> Vec<String> {
        destroy_warnings("shop", &revoked, &kept, &adopted, dropped)
            .into_iter()
            .map(|w| w.0)
            .collect()
    };
    assert_eq!(
        summaries(true),
        [
            "Revoked privileges others granted to the roles of \"shop\"",
            "Logins of \"shop\" kept",
            "Roles of \"shop\" left in place",
        ]
    );
    assert_eq!(
        summaries(false).len(),
        2,
        "adopted roles named only after a drop"
    );
    assert!(destroy_warnings("shop", &[], &[], &[], true).is_empty());
}

// ---- destroy and replacement at plan (issue 21) -------------------------------------------

#[test]
fn protection_refuses_at_plan_what_the_apply_would_refuse() {
    let protected_refusal = || {
        Err(DestroyRefusal::Protected {
            name: "shop".into(),
        })
    };
    let (done, creating_db) = (Some(complete("shop_owner")), Some(creating("shop_owner")));
    let (marked_roles, unmarked) = (all_marked(), SHOP.map(role).to_vec());
    // (situation, protected, private, seen: None when the catalog was out of reach, want)
    type Row<'a> = (
        &'a str,
        bool,
        Private,
        DestroySeen<'a>,
        Result<(), DestroyRefusal>,
    );
    let rows: [Row<'_>; 7] = [
        (
            "unprotected_plans_without_looking",
            false,
            settled(),
            None,
            Ok(()),
        ),
        (
            "protected_complete_is_refused",
            true,
            settled(),
            Some((done.as_ref(), &marked_roles)),
            protected_refusal(),
        ),
        (
            "protected_out_of_reach_is_refused",
            true,
            settled(),
            None,
            protected_refusal(),
        ),
        (
            "protected_import_is_refused",
            true,
            Private {
                imported: true,
                ..Private::default()
            },
            Some((done.as_ref(), &unmarked)),
            protected_refusal(),
        ),
        (
            "tainted_create_marked_creating_plans",
            true,
            settled(),
            Some((creating_db.as_ref(), &marked_roles)),
            Ok(()),
        ),
        (
            "tainted_create_cut_off_before_create_database_plans",
            true,
            settled(),
            Some((None, &marked_roles)),
            Ok(()),
        ),
        (
            "gone_with_foreign_roles_is_refused",
            true,
            settled(),
            Some((None, &unmarked)),
            protected_refusal(),
        ),
    ];
    for (situation, protected, private, seen, want) in rows {
        assert_eq!(
            decide_destroy_plan("shop", protected, &private, seen),
            want,
            "{situation}"
        );
    }
}

#[test]
fn a_protected_replacement_is_refused_at_plan_naming_what_forces_it() {
    let forced = |a: &[&str]| strings(a);
    for (situation, protected, forced_by, refused) in [
        (
            "unprotected_replacement_plans",
            false,
            forced(&["encoding"]),
            false,
        ),
        (
            "protected_replacement_is_refused",
            true,
            forced(&["encoding"]),
            true,
        ),
        (
            "protected_replacement_by_two_is_refused",
            true,
            forced(&["encoding", "template"]),
            true,
        ),
    ] {
        let got = decide_replacement("shop", protected, forced_by.clone());
        assert_eq!(got.is_err(), refused, "{situation}");
        if let Err(r) = got {
            let (attr, text) = rendered(&r.error());
            assert_eq!(attr, on("deletion_protection"), "{situation}");
            assert!(
                text.contains("Cannot replace dbaas_shared_postgres_database \"shop\""),
                "{situation}: {text}"
            );
            assert!(
                forced_by.iter().all(|f| text.contains(&format!("`{f}`"))),
                "{situation}: {text}"
            );
        }
    }
    assert_eq!(quoted_list(&forced(&["a", "b", "c"])), "`a`, `b` and `c`");
    let (_, text) = rendered(
        &DestroyRefusal::Protected {
            name: "shop".into(),
        }
        .error(),
    );
    assert!(
        text.starts_with("Cannot destroy dbaas_shared_postgres_database \"shop\""),
        "{text}"
    );
}
