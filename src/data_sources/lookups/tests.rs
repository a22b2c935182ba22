//! The lookups' decisions, one row per situation.

use super::*;

fn facts(owner: &str, comment: Option<&str>) -> DatabaseFacts {
    DatabaseFacts {
        owner: owner.into(),
        allow_connections: true,
        comment: comment.map(str::to_string),
        is_template: false,
    }
}

fn role(name: &str, can_login: bool, superuser: bool) -> RoleFacts {
    RoleFacts {
        name: name.into(),
        can_login,
        superuser,
        comment: None,
        owns_objects: false,
    }
}

/// The summary of a refusal, or `ok`.
fn verdict<T>(r: Result<T, Error>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => {
            let d = &e.diagnostics()[0];
            assert_eq!(
                d.attribute.as_ref().map(ToString::to_string).as_deref(),
                Some("name"),
                "{}",
                d.summary
            );
            d.summary.clone()
        }
    }
}

/// (situation, name, facts, roles, verdict).
type DatabaseRow = (
    &'static str,
    &'static str,
    Option<DatabaseFacts>,
    Vec<RoleFacts>,
    &'static str,
);

#[test]
fn a_database_is_looked_up_only_when_it_is_a_tenant_database_of_this_provider() {
    let managed = Some(crate::sql::DATABASE_MANAGED);
    let tenant_roles = [
        role("app_owner", false, false),
        role("app_readwrite", false, false),
        role("app_readonly", false, false),
    ];
    let rows: Vec<DatabaseRow> = vec![
        (
            "missing",
            "app",
            None,
            vec![],
            "No PostgreSQL database \"app\"",
        ),
        (
            "marked by dbaas_shared_postgres_database",
            "app",
            Some(facts("app_owner", managed)),
            vec![],
            "ok",
        ),
        (
            "unmarked with a tenant's roles (v0.1.0, import)",
            "app",
            Some(facts("app_owner", None)),
            tenant_roles.to_vec(),
            "ok",
        ),
        (
            "unmarked, no tenant roles (made by hand)",
            "app",
            Some(facts("postgres", None)),
            vec![],
            "Not a tenant database: \"app\"",
        ),
        (
            "owned by a superuser even if marked",
            "app",
            Some(facts("root", managed)),
            vec![role("root", true, true)],
            "Not a tenant database: \"app\"",
        ),
        (
            "the provider's admin database",
            "postgres",
            Some(facts("postgres", None)),
            vec![],
            "Not a tenant database: \"postgres\"",
        ),
        (
            "a system database",
            "template1",
            Some(facts("postgres", None)),
            vec![],
            "Not a tenant database: \"template1\"",
        ),
    ];
    for (situation, name, f, roles, want) in rows {
        let got = verdict(database(name, f.as_ref(), &roles, "postgres", "pg:5432"));
        assert_eq!(got, want, "{situation}");
    }
    let e = database("app", None, &[], "postgres", "pg:5432").unwrap_err();
    assert!(
        e.diagnostics()[0].detail.contains("pg:5432"),
        "names the server"
    );
    assert_eq!(
        database(
            "app",
            Some(&facts("app_owner", managed)),
            &[],
            "postgres",
            "pg:5432"
        )
        .ok(),
        Some("app_owner".to_string())
    );
}

#[test]
fn a_redis_user_is_a_namespace_only_with_a_namespaces_shape() {
    let user = |keys: &[&str], channels: &[&str], selectors: &[&str]| AclUser {
        flags: vec!["on".into()],
        keys: keys.iter().map(|s| s.to_string()).collect(),
        channels: channels.iter().map(|s| s.to_string()).collect(),
        selectors: selectors.iter().map(|s| s.to_string()).collect(),
        ..AclUser::default()
    };
    let not_ours = "Redis user \"app\" is not a namespace this provider made";
    let rows = [
        ("missing", "app", None, "No Redis namespace \"app\""),
        (
            "one prefix, channels under it",
            "app",
            Some(user(&["~app:*"], &["&app:*"], &[])),
            "ok",
        ),
        (
            "every key",
            "app",
            Some(user(&["~*"], &["&app:*"], &[])),
            not_ours,
        ),
        (
            "two prefixes",
            "app",
            Some(user(&["~app:*", "~other:*"], &["&app:*"], &[])),
            not_ours,
        ),
        (
            "channels outside the prefix",
            "app",
            Some(user(&["~app:*"], &["&*"], &[])),
            not_ours,
        ),
        (
            "selectors",
            "app",
            Some(user(&["~app:*"], &["&app:*"], &["(~other:* +get)"])),
            not_ours,
        ),
        (
            "the provider's admin",
            "default",
            Some(user(&["~default:*"], &["&default:*"], &[])),
            "Redis user \"default\" is not a namespace this provider made",
        ),
    ];
    for (situation, name, u, want) in rows {
        assert_eq!(
            verdict(namespace(name, u.as_ref(), "default")),
            want,
            "{situation}"
        );
    }
}

#[test]
fn a_rotation_role_is_found_dynamic_or_static_and_must_name_its_tenant() {
    let body = serde_json::json!({"data": {}});
    let rows = [
        ("dynamic found", Some((body.clone(), false)), "ok"),
        ("static found", Some((body.clone(), true)), "ok"),
        ("neither", None, "No Vault role \"app\""),
    ];
    for (situation, found, want) in rows {
        assert_eq!(
            verdict(rotation_role("app", "database", found)),
            want,
            "{situation}"
        );
    }
    let e = rotation_role("app", "team/db", None).unwrap_err();
    let detail = &e.diagnostics()[0].detail;
    assert!(
        detail.contains("team/db/roles/app") && detail.contains("team/db/static-roles/app"),
        "{detail}"
    );

    let not_ours = "Vault role \"app\" is not one this provider made";
    let rows = [
        (
            "dynamic, generated statements name the tenant",
            false,
            "shop",
            "ok",
        ),
        (
            "dynamic, hand-written statements name none",
            false,
            "",
            not_ours,
        ),
        ("static: the login's tenant may be unknown", true, "", "ok"),
    ];
    for (situation, stat, database, want) in rows {
        assert_eq!(
            verdict(role_is_ours("app", stat, database)),
            want,
            "{situation}"
        );
    }
}

#[test]
fn a_postgres_roles_refused_tenant_is_said_of_the_role_on_name() {
    let why = database(
        "shop",
        Some(&facts("shop_o", None)),
        &[],
        "postgres",
        "pg:5432",
    )
    .expect_err("an unmarked database without a tenant's roles");
    let e = role_tenant_refused("app", "shop", why);
    let d = &e.diagnostics()[0];
    assert_eq!(
        d.summary,
        "Vault role \"app\" is not one this provider made"
    );
    assert_eq!(
        d.attribute.as_ref().map(ToString::to_string).as_deref(),
        Some("name")
    );
    assert!(d.detail.contains("database \"shop\""), "{}", d.detail);
    assert!(
        d.detail.contains("is not a database this provider manages"),
        "{}",
        d.detail
    );
}
