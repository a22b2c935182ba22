//! Table tests of the database's decisions, one row (or test) per branch, named after
//! the situation.

use std::collections::BTreeSet;

use tfplugin::{AttributePath, Error, Known};

use super::decide::*;
use super::{check_owner_name, Model, Spec};
use crate::backends::postgres::{
    DatabaseFacts, DatabaseSettings, ForeignDependency, RoleFacts, SchemaFacts,
};
use crate::resources::postgres_marks::Private;
use crate::sql::{self, TenantRoles};

// ---- fixtures -------------------------------------------------------------------------

fn role(name: &str) -> RoleFacts {
    RoleFacts {
        name: name.into(),
        can_login: false,
        superuser: false,
        comment: None,
        owns_objects: false,
    }
}

fn marked(name: &str, db: &str) -> RoleFacts {
    RoleFacts {
        comment: Some(sql::role_marker(db)),
        ..role(name)
    }
}

fn login(name: &str) -> RoleFacts {
    RoleFacts {
        can_login: true,
        ..role(name)
    }
}

fn database(owner: &str, open: bool, comment: Option<&str>) -> DatabaseFacts {
    DatabaseFacts {
        owner: owner.into(),
        allow_connections: open,
        comment: comment.map(str::to_string),
        is_template: false,
    }
}

/// A database a create of this provider left marked as being created.
fn creating(owner: &str) -> DatabaseFacts {
    database(owner, true, Some(sql::DATABASE_CREATING))
}

/// A database a create of this provider completed.
fn complete(owner: &str) -> DatabaseFacts {
    database(owner, true, Some(sql::DATABASE_MANAGED))
}

fn shop_roles() -> TenantRoles {
    TenantRoles::new("shop", "shop_owner")
}

const SHOP: [&str; 3] = ["shop_owner", "shop_readwrite", "shop_readonly"];

fn all_marked() -> Vec<RoleFacts> {
    SHOP.iter().map(|r| marked(r, "shop")).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn model() -> Model {
    Model {
        id: Known::Unknown,
        name: "shop".into(),
        owner: Known::Value("shop_owner".into()),
        extensions: Known::Null,
        connection_limit: -1,
        encoding: Known::Unknown,
        lc_collate: Known::Unknown,
        lc_ctype: Known::Unknown,
        template: Some("template0".into()),
        deletion_protection: true,
        pgbouncer_auth: true,
        host: Known::Unknown,
        port: Known::Unknown,
    }
}

fn settings(owner: &str, limit: i64) -> DatabaseSettings {
    DatabaseSettings {
        owner: owner.into(),
        connection_limit: limit,
        encoding: "UTF8".into(),
        lc_collate: "C".into(),
        lc_ctype: "C".into(),
    }
}

fn endpoint() -> Endpoint {
    ("pgbouncer.local".into(), 6432)
}

fn dependency(role: &str, database: &str, owned: bool) -> ForeignDependency {
    ForeignDependency {
        role: role.into(),
        database: database.into(),
        kind: "table".into(),
        object: "public.t".into(),
        owned,
    }
}

/// The error's only diagnostic: its attribute and its text (summary and detail).
fn rendered(e: &Error) -> (Option<AttributePath>, String) {
    let d = &e.diagnostics()[0];
    assert_eq!(e.diagnostics().len(), 1);
    (d.attribute.clone(), format!("{} {}", d.summary, d.detail))
}

fn on(attr: &str) -> Option<AttributePath> {
    Some(AttributePath::attr(attr))
}

// ---- owner name and template ------------------------------------------------------------

#[test]
fn owners_named_like_a_group_role_are_refused() {
    crate::resources::common::assert_verdicts(
        check_owner_name,
        &[
            "shop_owner",
            "legacy_app",
            "readwrite",
            "shop_readwriter",
            "x_readonly_owner",
        ],
        &["tv_readwrite", "tv_readonly", "_readwrite", "a_b_readonly"],
    );
    assert!(check_owner_name("tv_readwrite")
        .unwrap_err()
        .contains("database \"tv\""));
}

#[test]
fn template_rule_accepts_builtin_and_marked_templates_only() {
    let marked_template = DatabaseFacts {
        is_template: true,
        ..complete("admin")
    };
    let ordinary = complete("tenant");
    for (situation, template, found, refusal) in [
        ("template0 needs no catalog", "template0", None, None),
        ("template1 needs no catalog", "template1", None, None),
        ("a marked template", "golden", Some(&marked_template), None),
        (
            "an ordinary database",
            "other_shop",
            Some(&ordinary),
            Some("ordinary database"),
        ),
        (
            "a missing database",
            "nope",
            None,
            Some("No database \"nope\""),
        ),
    ] {
        let got = template_verdict(template, found);
        match (refusal, got) {
            (None, None) => {}
            (Some(want), Some(why)) => assert!(why.contains(want), "{situation}: {why}"),
            (want, got) => panic!("{situation}: want {want:?}, got {got:?}"),
        }
    }
    let (attr, text) = rendered(&template_refused("why".into()));
    assert_eq!(
        (attr, text.as_str()),
        (on("template"), "Template refused why")
    );
}

// ---- create -------------------------------------------------------------------------------

fn create(
    database: Option<DatabaseFacts>,
    roles: Vec<RoleFacts>,
) -> Result<CreateStep, CreateRefusal> {
    decide_create("shop", &shop_roles(), &CreateFacts { database, roles })
}

#[test]
fn fresh_database_creates_all_three_roles() {
    let step = create(None, vec![]).unwrap();
    assert_eq!(
        step,
        CreateStep {
            resume: false,
            missing: strings(&SHOP),
            reused: vec![],
        }
    );
    assert!(step.warnings("shop").is_empty());
}

#[test]
fn cut_off_create_resumes_from_its_marker() {
    let step = create(Some(creating("shop_owner")), all_marked()).unwrap();
    assert!(step.resume && step.missing.is_empty() && step.reused.is_empty());
    let warnings = step.warnings("shop");
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].0, "Resuming the create of \"shop\"");
}

#[test]
fn create_cut_off_before_its_comment_resumes() {
    // Closed and unmarked: cut off between CREATE DATABASE and COMMENT.
    let step = create(Some(database("shop_owner", false, None)), all_marked()).unwrap();
    assert!(step.resume);
}

#[test]
fn marked_roles_without_a_database_are_completed_silently() {
    // Cut off before CREATE DATABASE: the roles are ours, the build starts afresh.
    let step = create(None, all_marked()).unwrap();
    assert!(!step.resume && step.missing.is_empty());
    assert!(step.warnings("shop").is_empty());
}

#[test]
fn existing_databases_that_are_not_a_cut_off_create_are_refused() {
    let two_marked = all_marked().into_iter().take(2).collect::<Vec<_>>();
    for (situation, db, roles) in [
        (
            "a foreign database",
            database("someone", true, None),
            vec![],
        ),
        (
            "our complete database",
            complete("shop_owner"),
            all_marked(),
        ),
        (
            "unfinished, another owner",
            creating("intruder"),
            all_marked(),
        ),
        (
            "unfinished, two marked roles",
            creating("shop_owner"),
            two_marked,
        ),
        (
            "opened but unmarked",
            database("shop_owner", true, None),
            all_marked(),
        ),
    ] {
        let refusal = create(Some(db), roles).unwrap_err();
        assert_eq!(
            refusal,
            CreateRefusal::DatabaseExists {
                name: "shop".into()
            },
            "{situation}"
        );
        let (attr, text) = rendered(&refusal.error());
        assert_eq!(attr, on("name"), "{situation}");
        assert!(
            text.contains("already exists") && text.contains("terraform import"),
            "{situation}: {text}"
        );
    }
}

#[test]
fn leftover_roles_of_a_dropped_database_are_reused_with_a_warning() {
    let step = create(None, SHOP.iter().map(|r| role(r)).collect()).unwrap();
    assert_eq!(step.reused, strings(&SHOP));
    assert!(step.missing.is_empty() && !step.resume);
    let warnings = step.warnings("shop");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].0.starts_with("Reusing roles left"));
}

#[test]
fn marked_roles_and_a_leftover_complete_the_set_without_a_warning() {
    let mut roles = all_marked();
    roles[2] = role("shop_readonly");
    let step = create(None, roles).unwrap();
    assert!(step.reused.is_empty() && step.missing.is_empty());
    assert!(step.warnings("shop").is_empty());
}

#[test]
fn a_lone_leftover_role_is_refused_as_perhaps_someone_elses() {
    let refusal = create(None, vec![role("shop_readonly")]).unwrap_err();
    assert_eq!(
        refusal,
        CreateRefusal::RolesTaken {
            roles: strings(&["shop_readonly"]),
            owner: false,
            why: "",
        }
    );
    let (attr, text) = rendered(&refusal.error());
    assert_eq!(attr, on("name"));
    assert!(text.starts_with("Role already exists"), "{text}");
}

#[test]
fn tenant_owned_roles_are_refused_on_the_attribute_that_names_them() {
    let owning = RoleFacts {
        owns_objects: true,
        ..role("shop_readwrite")
    };
    let superuser = RoleFacts {
        superuser: true,
        ..role("shop_readonly")
    };
    for (situation, roles, want, attr) in [
        (
            "a login named like the owner",
            vec![login("shop_owner")],
            vec!["shop_owner"],
            "owner",
        ),
        (
            "a group role owning objects",
            vec![owning],
            vec!["shop_readwrite"],
            "name",
        ),
        (
            "a superuser named like a group role",
            vec![superuser],
            vec!["shop_readonly"],
            "name",
        ),
        (
            "a login beside our marked roles",
            vec![
                marked("shop_readwrite", "shop"),
                marked("shop_readonly", "shop"),
                login("shop_owner"),
            ],
            vec!["shop_owner"],
            "owner",
        ),
    ] {
        let refusal = create(None, roles).unwrap_err();
        let CreateRefusal::RolesTaken { roles, why, .. } = &refusal else {
            panic!("{situation}: {refusal:?}");
        };
        assert_eq!(roles, &strings(&want), "{situation}");
        assert_eq!(*why, " and can log in or own objects", "{situation}");
        let (got, text) = rendered(&refusal.error());
        assert_eq!(got, on(attr), "{situation}");
        assert!(text.contains("can log in or own objects"), "{situation}");
    }
}

#[test]
fn only_a_fresh_copy_of_template0_skips_reading_its_schemas() {
    for (resume, template, skip) in [
        (false, "template0", true),
        (true, "template0", false),
        (false, "template1", false),
        (false, "golden", false),
        (true, "template1", false),
    ] {
        assert_eq!(
            fresh_from_template0(resume, template),
            skip,
            "{resume} {template}"
        );
    }
    assert!(wanted_admin_schemas(false, false).is_empty());
    assert_eq!(
        wanted_admin_schemas(true, true),
        [
            (sql::PGBOUNCER_SCHEMA, "pgbouncer_auth"),
            (sql::EXTENSION_SCHEMA, "extensions")
        ]
    );
}

fn schema(name: &str, owner: &str, admin: bool, creators: &[&str]) -> SchemaFacts {
    SchemaFacts {
        name: name.into(),
        owner: owner.into(),
        owner_is_admin: admin,
        creators: strings(creators),
    }
}

#[test]
fn admin_schemas_are_created_used_or_refused_on_their_attribute() {
    let both = wanted_admin_schemas(true, true);
    let admin_pgb = schema(sql::PGBOUNCER_SCHEMA, "postgres", true, &[]);
    let tenant_pgb = schema(sql::PGBOUNCER_SCHEMA, "shop_owner", false, &[]);
    let open_ext = schema(sql::EXTENSION_SCHEMA, "postgres", true, &["shop_owner"]);
    for (situation, found, want) in [
        (
            "both absent",
            vec![],
            Ok(vec![sql::EXTENSION_SCHEMA, sql::PGBOUNCER_SCHEMA]),
        ),
        (
            "pgbouncer the admin's",
            vec![admin_pgb],
            Ok(vec![sql::EXTENSION_SCHEMA]),
        ),
        (
            "pgbouncer a tenant's",
            vec![tenant_pgb],
            Err("pgbouncer_auth"),
        ),
        (
            "extensions open to a tenant",
            vec![open_ext],
            Err("extensions"),
        ),
    ] {
        match (admin_schema_plan("shop", &both, &found), want) {
            (Ok(create), Ok(want)) => {
                assert_eq!(create.into_iter().collect::<Vec<_>>(), want, "{situation}")
            }
            (Err(refusal), Err(attr)) => {
                assert_eq!(refusal.attr, attr, "{situation}");
                assert!(refusal.why.contains("Nothing was installed"), "{situation}");
            }
            (got, want) => panic!("{situation}: {got:?} vs {want:?}"),
        }
    }
    assert!(admin_schema_plan("shop", &[], &[]).unwrap().is_empty());
}

#[test]
fn a_failed_create_drops_only_its_own_database() {
    let opened_unmarked = database("shop_owner", true, None);
    for (situation, made, found, drop) in [
        ("nothing made", false, Some(creating("shop_owner")), false),
        (
            "our unfinished database",
            true,
            Some(creating("shop_owner")),
            true,
        ),
        (
            "closed, before its comment",
            true,
            Some(database("shop_owner", false, None)),
            true,
        ),
        (
            "our complete database",
            true,
            Some(complete("shop_owner")),
            true,
        ),
        (
            "another owner's database",
            true,
            Some(creating("intruder")),
            false,
        ),
        ("opened and unmarked", true, Some(opened_unmarked), false),
        ("already gone", true, None, false),
    ] {
        assert_eq!(
            drop_after_failure(made, found.as_ref(), "shop_owner"),
            drop,
            "{situation}"
        );
    }
}

#[test]
fn a_create_records_all_three_roles_as_its_own() {
    let private = created_private(&shop_roles());
    assert_eq!(private.managed_owner.as_deref(), Some("shop_owner"));
    assert_eq!(private.created_roles, Some(strings(&SHOP)));
    assert!(!private.imported);
}

#[test]
fn a_partial_state_nulls_what_planning_left_unknown() {
    let spec = Spec::from(&model());
    let partial = partial_state(&endpoint(), &model(), &spec);
    assert_eq!(partial.id, Known::Value("shop".into()));
    assert_eq!(partial.owner, Known::Value("shop_owner".into()));
    assert_eq!(partial.encoding, Known::Null);
    assert_eq!(partial.port, Known::Value(6432));
    assert!(incomplete_warning("shop").1.contains("tainted"));
}

// ---- read -------------------------------------------------------------------------------

fn read(model: &Model, private: &Private, facts: ReadFacts) -> ReadOutcome {
    decide_read(model, private, facts, &endpoint())
}

fn facts(settings: Option<DatabaseSettings>) -> ReadFacts {
    ReadFacts {
        settings,
        extensions: None,
        roles: None,
    }
}

fn settled() -> Private {
    created_private(&shop_roles())
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

fn created(roles: &[&str]) -> Private {
    Private {
        managed_owner: Some("shop_owner".into()),
        created_roles: Some(strings(roles)),
        imported: false,
    }
}

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
    update_statements(prior, &spec, "pgbouncer", &BTreeSet::new(), &before)
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
    let (drop, keep) = sort_members(vec![
        (vault.to_string(), false),
        (vault.replace("shop", "admin"), true),
        ("app_login".to_string(), false),
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

// ---- the read after create, stopped -----------------------------------------------------

fn unreachable_postgres(port: u16) -> crate::backends::postgres::Postgres {
    let s = crate::backends::settings::PostgresSettings {
        host: "127.0.0.1".into(),
        port,
        username: "admin".into(),
        password: crate::backends::settings::Secret::default(),
        database: "postgres".into(),
        sslmode: crate::enums::SslMode::Disable,
        connect_timeout: 10,
        tls_files: Default::default(),
    };
    crate::backends::postgres::Postgres::new(&s, "admin", "pw")
}

/// Ctrl-C while the read-back waits ends it at once (not after 40 x 500 ms or a connect
/// timeout): the create then returns its partial state tainted.
async fn read_back_stops_on_cancel(pg: crate::backends::postgres::Postgres) {
    let cancel = tfplugin::Cancel::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        stop.cancel();
    });
    let started = std::time::Instant::now();
    let read = super::execute::read_back(&pg, "shop", &cancel).await;
    assert!(matches!(read, super::execute::ReadBack::Stopped));
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[tokio::test]
async fn read_after_create_on_a_hung_server_ends_on_cancel() {
    // Accepts TCP, never answers (a stopped process).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    read_back_stops_on_cancel(unreachable_postgres(port)).await;
}

#[tokio::test]
async fn read_after_create_retrying_a_refused_server_ends_on_cancel() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    read_back_stops_on_cancel(unreachable_postgres(port)).await;
}
