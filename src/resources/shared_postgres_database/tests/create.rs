//! Create: the owner name, the template rule, what create finds, the admin schemas, a
//! failed create, and the read after create stopped by Ctrl-C.

use super::*;

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
        max_connections: 4,
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
    let read = read_back(&pg, "shop", &cancel).await;
    assert!(matches!(read, ReadBack::Stopped));
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
