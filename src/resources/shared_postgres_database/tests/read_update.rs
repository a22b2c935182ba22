//! Read (gone, drift, private state) and update (owner change, statements).

use super::*;

// ---- read -------------------------------------------------------------------------------

fn read(model: &Model, private: &Private, facts: ReadFacts) -> ReadOutcome {
    decide_read(model, private, facts, &endpoint())
}

fn facts(settings: Option<DatabaseSettings>) -> ReadFacts {
    ReadFacts {
        settings,
        extensions: None,
        config: None,
        roles: None,
    }
}

#[test]
fn a_dropped_database_reads_as_gone() {
    assert_eq!(read(&model(), &settled(), facts(None)), ReadOutcome::Gone);
}

#[test]
fn drift_in_owner_and_connection_limit_shows_in_the_state() {
    let ReadOutcome::Present { state, private } =
        read(&model(), &settled(), facts(Some(settings("intruder", 5))))
    else {
        panic!("gone");
    };
    assert_eq!(state.owner, Known::Value("intruder".into()));
    assert_eq!(state.connection_limit, 5);
    assert_eq!(state.encoding, Known::Value("UTF8".into()));
    assert_eq!(state.host, Known::Value("pgbouncer.local".into()));
    assert_eq!(
        state.extensions,
        Known::Null,
        "unmanaged extensions stay null"
    );
    assert_eq!(private, None, "settled private state is not rewritten");
}

#[test]
fn managed_extensions_are_read_back() {
    let mut f = facts(Some(settings("shop_owner", -1)));
    f.extensions = Some(BTreeSet::from(["pg_trgm".to_string()]));
    let ReadOutcome::Present { state, .. } = read(&model(), &settled(), f) else {
        panic!("gone");
    };
    assert_eq!(state.extensions, Known::Value(strings(&["pg_trgm"])));
}

#[test]
fn read_settles_the_private_state_once() {
    let v010 = Private {
        managed_owner: Some("shop_owner".into()),
        ..Private::default()
    };
    let imported = Private {
        imported: true,
        ..Private::default()
    };
    let found = vec![
        role("shop_owner"),
        marked("shop_readwrite", "shop"),
        login("legacy"),
    ];
    for (situation, private, roles, want) in [
        (
            "v0.1.0 state: NOLOGIN and marked roles count as created",
            v010.clone(),
            Some(found.clone()),
            Private {
                created_roles: Some(strings(&["shop_owner", "shop_readwrite"])),
                ..v010.clone()
            },
        ),
        (
            "imported database settles no created roles",
            imported,
            Some(found.clone()),
            Private {
                managed_owner: Some("shop_owner".into()),
                created_roles: Some(vec![]),
                imported: false,
            },
        ),
        (
            "roles unreadable: only the owner is adopted",
            Private::default(),
            None,
            Private {
                managed_owner: Some("shop_owner".into()),
                ..Private::default()
            },
        ),
    ] {
        let mut f = facts(Some(settings("shop_owner", -1)));
        f.roles = roles;
        let ReadOutcome::Present { private, .. } = read(&model(), &private, f) else {
            panic!("{situation}: gone");
        };
        assert_eq!(private, Some(want), "{situation}");
    }
}

// ---- update -----------------------------------------------------------------------------

#[test]
fn unchanged_owner_needs_no_step() {
    assert_eq!(
        decide_owner(&settled(), "shop_owner", "shop_owner", &[]),
        Ok(None)
    );
}

#[test]
fn created_owner_is_renamed() {
    let change = decide_owner(
        &settled(),
        "shop_owner",
        "shop_admin",
        &strings(&["shop_owner"]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        change.step,
        OwnerStep::Rename {
            from: "shop_owner".into()
        }
    );
    assert_eq!(change.private.managed_owner.as_deref(), Some("shop_admin"));
    assert_eq!(
        change.private.created_roles,
        Some(strings(&["shop_readwrite", "shop_readonly", "shop_admin"]))
    );
}

#[test]
fn imported_database_keeps_adopted_owner() {
    let adopted = created(&["shop_readwrite"]);
    let change = decide_owner(
        &adopted,
        "shop_owner",
        "shop_admin",
        &strings(&["shop_owner"]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        change.step,
        OwnerStep::Create {
            left: Some("shop_owner".into())
        }
    );
    assert_eq!(
        change.private.created_roles,
        Some(strings(&["shop_readwrite", "shop_admin"]))
    );
    let (summary, detail) = owner_left_warning("shop_owner", "shop_admin");
    assert_eq!(summary, "Role \"shop_owner\" is left in place");
    assert!(detail.contains("imported"));
}

#[test]
fn created_owner_dropped_out_of_band_is_created_again() {
    let change = decide_owner(&settled(), "shop_owner", "shop_admin", &[])
        .unwrap()
        .unwrap();
    assert_eq!(change.step, OwnerStep::Create { left: None });
}

#[test]
fn adopted_owner_back_to_a_created_name_is_recorded_once() {
    let private = created(&["shop_admin"]);
    let change = decide_owner(&private, "legacy", "shop_admin", &[])
        .unwrap()
        .unwrap();
    assert_eq!(change.private.created_roles, Some(strings(&["shop_admin"])));
}

#[test]
fn owner_rename_onto_an_existing_role_is_refused_on_owner() {
    let taken = decide_owner(
        &settled(),
        "shop_owner",
        "other_owner",
        &strings(&["other_owner", "shop_owner"]),
    )
    .unwrap_err();
    let (attr, text) = rendered(&taken.error());
    assert_eq!(attr, on("owner"));
    assert!(text.contains("Cannot rename the owner role \"shop_owner\" to \"other_owner\""));
}

fn update(prior: &Model, planned: &Model) -> (Vec<String>, Vec<String>) {
    let spec = Spec::from(planned);
    let (before, _) = extension_change(prior, &spec);
    let (admin, inside) = update_statements(prior, &spec, "pgbouncer", &BTreeSet::new(), &before);
    (admin, inside.statements().cloned().collect())
}

#[test]
fn update_runs_only_the_statements_of_what_changed() {
    let base = model();
    let limit = Model {
        connection_limit: 10,
        ..model()
    };
    let drifted = Model {
        owner: Known::Value("intruder".into()),
        ..model()
    };
    let auth_off = Model {
        pgbouncer_auth: false,
        ..model()
    };
    for (situation, prior, planned, admin, inside) in [
        ("nothing changed", &base, &base, vec![], vec![]),
        (
            "connection limit",
            &base,
            &limit,
            vec![sql::alter_connection_limit("shop", 10)],
            vec![],
        ),
        (
            "owner drifted: handed back",
            &drifted,
            &base,
            vec![sql::alter_database_owner("shop", "shop_owner")],
            sql::schema_setup(&shop_roles()),
        ),
        (
            "pgbouncer_auth turned off",
            &base,
            &auth_off,
            vec![sql::revoke_connect("shop", "pgbouncer")],
            sql::pgbouncer_auth_teardown(),
        ),
        (
            "pgbouncer_auth turned on",
            &auth_off,
            &base,
            sql::database_grants("shop", &shop_roles(), Some("pgbouncer")),
            sql::pgbouncer_auth_setup("pgbouncer", &shop_roles(), false),
        ),
    ] {
        assert_eq!(update(prior, planned), (admin, inside), "{situation}");
    }
}

#[test]
fn removed_extensions_are_dropped_and_added_ones_listed() {
    let prior = Model {
        extensions: Known::Value(strings(&["hstore", "pg_trgm"])),
        ..model()
    };
    let planned = Model {
        extensions: Known::Value(strings(&["pg_trgm", "citext"])),
        ..model()
    };
    let (before, added) = extension_change(&prior, &Spec::from(&planned));
    assert_eq!(added, strings(&["citext"]));
    assert_eq!(before.len(), 2);
    assert_eq!(
        update(&prior, &planned),
        (vec![], vec![sql::drop_extension("hstore")])
    );
    let unmanaged = Model {
        extensions: Known::Null,
        ..model()
    };
    assert_eq!(
        update(&prior, &unmanaged),
        (vec![], vec![]),
        "unmanaged: nothing dropped"
    );
}
