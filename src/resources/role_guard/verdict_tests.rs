//! The guard's verdicts, one situation per test: what the backends showed, the phase,
//! and the refusals (summary, attribute, a phrase of the detail) that follow.

use super::verdict::*;
use super::*;
use crate::enums::Engine;

/// A dynamic role on `database` with no custom statements.
fn role(database: &str) -> Guarded {
    Guarded {
        mount: "database".into(),
        connection: Some("pg".into()),
        database: Some(database.into()),
        ..Guarded::default()
    }
}

/// A static role on `database` rotating `user`.
fn static_role(database: &str, user: &str) -> Guarded {
    Guarded {
        username: Some(user.into()),
        ..role(database)
    }
}

/// `role` with custom creation statements.
fn with_creation(mut role: Guarded, statements: &[&str]) -> Guarded {
    role.custom[0].1 = Some(statements.iter().map(|s| s.to_string()).collect());
    role
}

fn group(name: &str) -> RoleFacts {
    RoleFacts {
        name: name.into(),
        can_login: false,
        superuser: false,
        comment: None,
        owns_objects: false,
    }
}

/// Database `shop` as dbaas_shared_postgres_database leaves it, owned by `owner`.
fn managed(owner: &str) -> PgDatabase {
    PgDatabase {
        facts: Some(DatabaseFacts {
            owner: owner.into(),
            allow_connections: true,
            comment: Some(DATABASE_MANAGED.into()),
            is_template: false,
        }),
        roles: Ok(vec![
            group(owner),
            group("shop_readwrite"),
            group("shop_readonly"),
        ]),
    }
}

fn unreadable(what: &str) -> Unreadable {
    Unreadable {
        what: what.into(),
        error: "host pg:5432: connection refused".into(),
    }
}

fn postgres(
    database: Read<PgDatabase>,
    login: Option<Read<Option<PgLoginFacts>>>,
    forbidden: ForbiddenLogins,
) -> Observed {
    Observed {
        engine: Engine::Postgres,
        facts: EngineFacts::Postgres {
            database,
            login,
            forbidden,
        },
    }
}

/// A plain tenant login of `shop` (a member of `shop_readwrite`).
fn plain_login() -> PgLoginFacts {
    PgLoginFacts {
        can_login: true,
        member_of: vec!["shop_readwrite".into()],
        ..PgLoginFacts::default()
    }
}

fn auth_user() -> ForbiddenLogins {
    vec![(
        "pgbouncer_auth".into(),
        "the PgBouncer auth user (its password opens every tenant's SCRAM verifier)".into(),
    )]
}

/// Each refusal as `(summary, attribute)`; the details must contain `says` in order.
fn assert_refusals(got: &[Refusal], expected: &[(&str, Option<&str>, &str)]) {
    let seen: Vec<(String, Option<&str>)> =
        got.iter().map(|r| (r.summary(), r.attribute())).collect();
    assert_eq!(got.len(), expected.len(), "{seen:?}");
    for (r, (summary, attribute, says)) in got.iter().zip(expected) {
        assert_eq!(r.summary(), *summary, "{r:?}");
        assert_eq!(r.attribute(), *attribute, "{r:?}");
        assert!(r.detail().contains(says), "{says:?} in {:?}", r.detail());
    }
}

#[test]
fn a_system_database_is_refused_before_anything_is_read() {
    let got = word_refusals(&role("Template1"), true);
    assert_refusals(
        &got,
        &[(
            "System database refused",
            Some("database"),
            "system database",
        )],
    );
    assert!(got[0].detail().ends_with("Nothing was written to Vault."));
    assert!(word_refusals(&role("shop"), false).is_empty());
}

#[test]
fn custom_statements_without_the_opt_in_are_refused_at_their_attribute() {
    let r = with_creation(role("shop"), &["CREATE ROLE \"{{name}}\""]);
    assert_refusals(
        &word_refusals(&r, false),
        &[(
            "Custom statements refused",
            Some("creation_statements"),
            "allow_custom_statements",
        )],
    );
    assert!(word_refusals(&r, true).is_empty());
}

#[test]
fn a_managed_database_passes() {
    let seen = postgres(Ok(managed("shop_owner")), None, vec![]);
    for phase in [Phase::Plan, Phase::Apply] {
        assert_eq!(verdicts(&role("shop"), &seen, phase, "postgres"), vec![]);
    }
}

#[test]
fn a_database_made_in_the_same_apply_is_left_to_apply_at_plan() {
    let missing = PgDatabase {
        facts: None,
        roles: Ok(vec![]),
    };
    let seen = postgres(Ok(missing), None, vec![]);
    assert_eq!(
        verdicts(&role("shop"), &seen, Phase::Plan, "postgres"),
        vec![]
    );
    assert_refusals(
        &verdicts(&role("shop"), &seen, Phase::Apply, "postgres"),
        &[("Database refused", Some("database"), "does not exist")],
    );
}

#[test]
fn an_unmarked_database_without_tenant_roles_is_refused() {
    let mut db = managed("shop_owner");
    if let Some(f) = db.facts.as_mut() {
        f.comment = None;
    }
    db.roles = Ok(vec![group("shop_owner")]);
    let seen = postgres(Ok(db), None, vec![]);
    assert_refusals(
        &verdicts(&role("shop"), &seen, Phase::Plan, "postgres"),
        &[(
            "Database refused",
            Some("database"),
            "not a database this provider manages",
        )],
    );
}

#[test]
fn a_database_owned_by_a_superuser_is_refused() {
    let mut db = managed("admin");
    db.roles = Ok(vec![RoleFacts {
        superuser: true,
        ..group("admin")
    }]);
    let seen = postgres(Ok(db), None, vec![]);
    assert_refusals(
        &verdicts(&role("shop"), &seen, Phase::Plan, "postgres"),
        &[("Database refused", Some("database"), "a superuser")],
    );
}

#[test]
fn the_admin_database_is_refused() {
    let seen = postgres(Ok(managed("shop_owner")), None, vec![]);
    assert_refusals(
        &verdicts(&role("shop"), &seen, Phase::Plan, "shop"),
        &[("Database refused", Some("database"), "provider's admin")],
    );
}

#[test]
fn an_unreachable_server_is_refused_at_apply_only() {
    let seen = Observed {
        engine: Engine::Postgres,
        facts: EngineFacts::Unreachable(unreadable("the role's database and login")),
    };
    let r = with_creation(role("shop"), &["GRANT SUPERUSER TO \"{{name}}\""]);
    assert_eq!(verdicts(&r, &seen, Phase::Plan, "postgres"), vec![]);
    let got = verdicts(&r, &seen, Phase::Apply, "postgres");
    assert_refusals(
        &got,
        &[(
            "Cannot check the role's database and login",
            None,
            "connection refused",
        )],
    );
    assert!(got[0].detail().ends_with("nothing was written to Vault."));
}

#[test]
fn unreadable_group_roles_stop_the_check() {
    let mut db = managed("shop_owner");
    db.roles = Err(unreadable("the roles of \"shop\""));
    let login = Some(Ok(Some(PgLoginFacts {
        superuser: true,
        ..plain_login()
    })));
    let seen = postgres(Ok(db), login, vec![]);
    let r = static_role("shop", "app");
    assert_eq!(verdicts(&r, &seen, Phase::Plan, "postgres"), vec![]);
    assert_refusals(
        &verdicts(&r, &seen, Phase::Apply, "postgres"),
        &[("Cannot check the roles of \"shop\"", None, "refused")],
    );
}

#[test]
fn an_unreadable_database_at_plan_still_checks_the_login() {
    let login = Some(Ok(Some(PgLoginFacts {
        createrole: true,
        ..plain_login()
    })));
    let seen = postgres(Err(unreadable("database \"shop\"")), login, vec![]);
    let r = static_role("shop", "app");
    assert_refusals(
        &verdicts(&r, &seen, Phase::Plan, "postgres"),
        &[("Static login refused", Some("username"), "CREATEROLE")],
    );
    assert_refusals(
        &verdicts(&r, &seen, Phase::Apply, "postgres"),
        &[
            ("Cannot check database \"shop\"", None, "refused"),
            ("Static login refused", Some("username"), "CREATEROLE"),
        ],
    );
}

#[test]
fn a_privileged_static_login_is_refused_at_username() {
    let login = Some(Ok(Some(PgLoginFacts {
        superuser: true,
        bypassrls: true,
        ..plain_login()
    })));
    let seen = postgres(Ok(managed("shop_owner")), login, vec![]);
    assert_refusals(
        &verdicts(&static_role("shop", "app"), &seen, Phase::Plan, "postgres"),
        &[(
            "Static login refused",
            Some("username"),
            "SUPERUSER, BYPASSRLS",
        )],
    );
}

#[test]
fn a_plain_tenant_login_passes() {
    let seen = postgres(
        Ok(managed("shop_owner")),
        Some(Ok(Some(plain_login()))),
        auth_user(),
    );
    let got = verdicts(&static_role("shop", "app"), &seen, Phase::Apply, "postgres");
    assert_eq!(got, vec![]);
}

#[test]
fn a_missing_static_login_is_left_to_apply_at_plan() {
    let seen = postgres(Ok(managed("shop_owner")), Some(Ok(None)), auth_user());
    let r = static_role("shop", "app");
    assert_eq!(verdicts(&r, &seen, Phase::Plan, "postgres"), vec![]);
    assert_refusals(
        &verdicts(&r, &seen, Phase::Apply, "postgres"),
        &[("Static login refused", Some("username"), "does not exist")],
    );
}

#[test]
fn a_forbidden_login_is_refused_at_plan_even_when_it_does_not_exist() {
    let seen = postgres(Ok(managed("shop_owner")), Some(Ok(None)), auth_user());
    assert_refusals(
        &verdicts(
            &static_role("shop", "pgbouncer_auth"),
            &seen,
            Phase::Plan,
            "postgres",
        ),
        &[(
            "Static login refused",
            Some("username"),
            "PgBouncer auth user",
        )],
    );
}

#[test]
fn a_static_login_may_belong_to_a_custom_database_owner() {
    let login = PgLoginFacts {
        member_of: vec!["shop_admin".into()],
        ..plain_login()
    };
    let seen = postgres(Ok(managed("shop_admin")), Some(Ok(Some(login))), vec![]);
    let r = static_role("shop", "app");
    assert_eq!(verdicts(&r, &seen, Phase::Apply, "postgres"), vec![]);
    // Without the catalog's owner, `shop_admin` is outside the tenant's groups.
    let seen = postgres(
        Err(unreadable("database \"shop\"")),
        Some(Ok(Some(PgLoginFacts {
            member_of: vec!["shop_admin".into()],
            ..plain_login()
        }))),
        vec![],
    );
    assert_refusals(
        &verdicts(&r, &seen, Phase::Plan, "postgres"),
        &[(
            "Static login refused",
            Some("username"),
            "outside the tenant",
        )],
    );
}

fn mysql(exists: Read<bool>, login: Option<Read<MysqlLoginFacts>>) -> Observed {
    Observed {
        engine: Engine::Mysql,
        facts: EngineFacts::Mysql {
            exists,
            login,
            forbidden: vec![],
        },
    }
}

#[test]
fn a_missing_mysql_schema_is_refused_at_apply_only() {
    let seen = mysql(Ok(false), None);
    assert_eq!(verdicts(&role("shop"), &seen, Phase::Plan, ""), vec![]);
    assert_refusals(
        &verdicts(&role("shop"), &seen, Phase::Apply, ""),
        &[(
            "Database refused",
            Some("database"),
            "MySQL database \"shop\" does not exist",
        )],
    );
}

#[test]
fn a_mysql_account_with_global_grants_is_refused() {
    let facts = MysqlLoginFacts {
        exists: true,
        global_privileges: vec!["PROCESS".into()],
        ..MysqlLoginFacts::default()
    };
    let seen = mysql(Ok(true), Some(Ok(facts)));
    assert_refusals(
        &verdicts(&static_role("shop", "app"), &seen, Phase::Plan, ""),
        &[(
            "Static login refused",
            Some("username"),
            "global privileges",
        )],
    );
}

#[test]
fn the_mysql_admin_is_refused_at_plan_whatever_else_is_known() {
    let facts = MysqlLoginFacts {
        is_admin: true,
        ..MysqlLoginFacts::default()
    };
    let seen = mysql(Ok(true), Some(Ok(facts)));
    assert_refusals(
        &verdicts(&static_role("shop", "root"), &seen, Phase::Plan, ""),
        &[("Static login refused", Some("username"), "MySQL admin")],
    );
    // An account not there yet, at plan: left to apply.
    let seen = mysql(Ok(true), Some(Ok(MysqlLoginFacts::default())));
    let r = static_role("shop", "app");
    assert_eq!(verdicts(&r, &seen, Phase::Plan, ""), vec![]);
    assert_eq!(verdicts(&r, &seen, Phase::Apply, "").len(), 1);
}

#[test]
fn a_redis_static_role_on_a_platform_login_is_refused() {
    let seen = Observed {
        engine: Engine::Redis,
        facts: EngineFacts::Redis {
            forbidden: vec![("default".into(), "the provider's Redis admin user".into())],
        },
    };
    assert_refusals(
        &verdicts(&static_role("app", "default"), &seen, Phase::Plan, ""),
        &[(
            "Static login refused",
            Some("username"),
            "\"default\" is the provider's Redis admin user: Vault would rotate",
        )],
    );
    assert_eq!(
        verdicts(&static_role("app", "app"), &seen, Phase::Apply, ""),
        vec![]
    );
}

#[test]
fn an_opted_in_statement_that_grants_the_platform_is_refused_once_per_attribute() {
    let r = with_creation(
        role("shop"),
        &[
            "CREATE ROLE \"{{name}}\" SUPERUSER",
            "GRANT pg_read_all_data TO \"{{name}}\"",
        ],
    );
    let seen = postgres(Ok(managed("shop_owner")), None, vec![]);
    let got = verdicts(&r, &seen, Phase::Plan, "postgres");
    assert_refusals(
        &got,
        &[(
            "Custom statement refused",
            Some("creation_statements"),
            "SUPERUSER",
        )],
    );
    assert!(
        got[0]
            .detail()
            .contains("groups (shop_owner, shop_readwrite, shop_readonly)"),
        "{}",
        got[0].detail()
    );
}

#[test]
fn refusals_become_one_error_with_a_diagnostic_each() {
    assert!(refused(&[]).is_ok());
    let Err(e) = refused(&[
        Refusal::Database("no".into()),
        Refusal::Unverifiable(unreadable("x")),
    ]) else {
        panic!("two refusals are an error");
    };
    let d = e.diagnostics();
    assert_eq!(d.len(), 2);
    assert_eq!(
        d[0].attribute,
        Some(tfplugin::AttributePath::attr("database"))
    );
    assert_eq!(d[0].detail, "no Nothing was written to Vault.");
    assert_eq!(d[1].attribute, None);
}

#[test]
fn a_login_carries_what_it_holds_in_other_databases() {
    let dep = |database: &str| crate::backends::postgres::ForeignDependency {
        role: "app".into(),
        database: database.into(),
        kind: "owns".into(),
        object: "table t".into(),
        owned: true,
    };
    let got = login_with_elsewhere(Ok(Some(plain_login())), Ok(vec![dep("billing"), dep("")]));
    let elsewhere = got.ok().flatten().map(|f| f.elsewhere).unwrap_or_default();
    assert_eq!(
        elsewhere,
        ["owns table t in database billing", "owns table t"]
    );
    assert_eq!(login_with_elsewhere(Ok(None), Ok(vec![dep("x")])), Ok(None));
    let err = login_with_elsewhere(Ok(Some(plain_login())), Err(unreadable("login")));
    assert!(err.is_err());
}
