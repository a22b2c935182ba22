//! Table tests of the guard's rules: one row per situation.

use super::*;
use crate::enums::Engine;

/// A table row's verdict: `None` expects no refusal; `Some(says)` a refusal whose text
/// contains `says` (letter case ignored when `ignore_case`).
fn assert_verdict(got: Option<String>, expected: Option<&str>, ignore_case: bool, row: &str) {
    match (expected, got) {
        (None, got) => assert_eq!(got, None, "{row}"),
        (Some(says), Some(text)) if ignore_case => assert!(
            text.to_lowercase().contains(&says.to_lowercase()),
            "{row}: {text:?}"
        ),
        (Some(says), got) => assert!(
            got.as_deref().unwrap_or_default().contains(says),
            "{row}: {got:?}"
        ),
    }
}

fn scope() -> Scope {
    Scope::new("shop", Some("shop_owner"))
}

#[test]
fn system_databases_are_refused_in_any_case() {
    for (db, refused) in [
        ("postgres", true),
        ("Postgres", true),
        ("TEMPLATE0", true),
        ("template1", true),
        ("mysql", true),
        ("Sys", true),
        ("INFORMATION_SCHEMA", true),
        ("performance_schema", true),
        (" postgres", true),
        ("shop", false),
        ("postgres_app", false),
        ("mysql2", false),
    ] {
        assert_eq!(system_database(db).is_some(), refused, "{db}");
    }
}

fn facts(comment: Option<&str>, template: bool) -> DatabaseFacts {
    DatabaseFacts {
        owner: "shop_owner".into(),
        allow_connections: true,
        comment: comment.map(str::to_string),
        is_template: template,
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

#[test]
fn only_managed_tenant_databases_owned_by_a_plain_role_serve_roles() {
    let managed = facts(Some(DATABASE_MANAGED), false);
    let unmarked = facts(None, false);
    let tenant = vec![
        role("shop_owner", false, false),
        role("shop_readwrite", false, false),
        role("shop_readonly", false, false),
    ];
    let without = |name: &str| -> Vec<RoleFacts> {
        tenant.iter().filter(|r| r.name != name).cloned().collect()
    };
    let changed = |name: &str, login: bool, su: bool| -> Vec<RoleFacts> {
        tenant
            .iter()
            .map(|r| {
                if r.name == name {
                    role(name, login, su)
                } else {
                    r.clone()
                }
            })
            .collect()
    };
    type Case<'a> = (
        &'a str,
        Option<DatabaseFacts>,
        Vec<RoleFacts>,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        ("shop", Some(managed.clone()), tenant.clone(), None),
        ("shop", Some(managed.clone()), vec![], None),
        // v0.1.0 or imported: no marker, a tenant's shape.
        ("shop", Some(unmarked.clone()), tenant.clone(), None),
        ("shop", None, tenant.clone(), Some("does not exist")),
        (
            "shop",
            Some(unmarked.clone()),
            vec![],
            Some("not a database this provider manages"),
        ),
        (
            "shop",
            Some(unmarked.clone()),
            without("shop_readonly"),
            Some("not a database this provider manages"),
        ),
        (
            "shop",
            Some(unmarked.clone()),
            changed("shop_owner", true, false),
            Some("not a database this provider manages"),
        ),
        (
            "shop",
            Some(unmarked.clone()),
            changed("shop_readwrite", true, false),
            Some("not a database this provider manages"),
        ),
        (
            "shop",
            Some(facts(Some("terraform-provider-dbaas: creating"), false)),
            vec![],
            Some("not a database this provider manages"),
        ),
        (
            "shop",
            Some(facts(Some(DATABASE_MANAGED), true)),
            tenant.clone(),
            Some("template"),
        ),
        (
            "shop",
            Some(managed.clone()),
            changed("shop_owner", false, true),
            Some("superuser"),
        ),
        (
            "shop",
            Some(unmarked),
            changed("shop_owner", true, true),
            Some("superuser"),
        ),
        (
            "postgres",
            Some(managed.clone()),
            tenant.clone(),
            Some("system database"),
        ),
        ("admin_db", Some(managed), tenant, Some("admin connects to")),
    ];
    for (db, f, roles, expected) in cases {
        let got = postgres_database_refusal(db, f.as_ref(), &roles, "admin_db");
        assert_verdict(got, expected, false, &format!("{db} {roles:?}"));
    }
}

#[test]
fn static_logins_must_be_plain_tenant_logins() {
    let groups = scope().groups;
    let plain = PgLoginFacts {
        can_login: true,
        member_of: vec!["shop_readwrite".into(), "shop_readonly".into()],
        ..PgLoginFacts::default()
    };
    let forbidden = vec![(
        "pgbouncer_auth".to_string(),
        "the PgBouncer auth user".to_string(),
    )];
    let with = |f: fn(&mut PgLoginFacts)| {
        let mut p = plain.clone();
        f(&mut p);
        Some(p)
    };
    let cases: Vec<(&str, Option<PgLoginFacts>, Option<&str>)> = vec![
        ("app", Some(plain.clone()), None),
        (
            "pgbouncer_auth",
            Some(plain.clone()),
            Some("PgBouncer auth user"),
        ),
        ("app", None, Some("does not exist")),
        ("app", with(|p| p.is_admin = true), Some("admin")),
        ("app", with(|p| p.superuser = true), Some("SUPERUSER")),
        ("app", with(|p| p.createrole = true), Some("CREATEROLE")),
        ("app", with(|p| p.createdb = true), Some("CREATEDB")),
        ("app", with(|p| p.replication = true), Some("REPLICATION")),
        ("app", with(|p| p.bypassrls = true), Some("BYPASSRLS")),
        ("app", with(|p| p.can_login = false), Some("not a login")),
        (
            "app",
            with(|p| p.member_of.push("pg_read_all_data".into())),
            Some("pg_read_all_data"),
        ),
        (
            "app",
            with(|p| p.member_of.push("other_owner".into())),
            Some("other_owner"),
        ),
        (
            "app",
            with(|p| {
                p.elsewhere
                    .push("has privileges on database billing".into())
            }),
            Some("database billing"),
        ),
    ];
    for (user, f, expected) in cases {
        let got = postgres_static_login_refusal(user, f.as_ref(), &groups, &forbidden);
        assert_verdict(got, expected, false, user);
    }
}

#[test]
fn static_mysql_accounts_hold_grants_on_their_database_only() {
    let plain = MysqlLoginFacts {
        exists: true,
        ..MysqlLoginFacts::default()
    };
    let forbidden = vec![(
        "vault_admin".to_string(),
        "the admin of Vault connection my".to_string(),
    )];
    let cases = vec![
        ("app", plain.clone(), None),
        ("vault_admin", plain.clone(), Some("Vault connection")),
        (
            "app",
            MysqlLoginFacts {
                is_admin: true,
                ..plain.clone()
            },
            Some("admin"),
        ),
        (
            "app",
            MysqlLoginFacts {
                exists: false,
                ..plain.clone()
            },
            Some("does not exist"),
        ),
        (
            "app",
            MysqlLoginFacts {
                global_privileges: vec!["SELECT".into()],
                ..plain.clone()
            },
            Some("global"),
        ),
        (
            "app",
            MysqlLoginFacts {
                other_schemas: vec!["mysql".into()],
                ..plain.clone()
            },
            Some("mysql"),
        ),
    ];
    for (user, f, expected) in cases {
        let got = mysql_static_login_refusal(user, &f, "shop", &forbidden);
        assert_verdict(got, expected, false, user);
    }
}

#[test]
fn postgres_statements() {
    let generated = crate::sql::vault_postgres_statements(
        "shop_owner",
        "shop_owner",
        crate::sql::Access::Owner,
    )
    .unwrap_or_default();
    for s in generated
        .creation
        .iter()
        .chain(&generated.revocation)
        .chain(&generated.rotation)
    {
        assert_eq!(
            statement_refusal(Engine::Postgres, s, &scope()),
            None,
            "generated: {s}"
        );
    }
    let cases: &[(&str, Option<&str>)] = &[
        ("CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' IN ROLE \"shop_readonly\";", None),
        ("create role {{name}} login password '{{password}}' in group shop_readwrite, shop_readonly", None),
        ("GRANT \"shop_readonly\" TO \"{{name}}\";", None),
        ("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";", None),
        ("GRANT CONNECT ON DATABASE shop TO \"{{name}}\";", None),
        ("REVOKE ALL ON DATABASE shop FROM \"{{name}}\"; DROP ROLE IF EXISTS \"{{name}}\";", None),
        ("ALTER ROLE \"{{name}}\" SET role TO 'shop_owner'", None),
        ("ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}'", None),
        // Refused.
        ("CREATE ROLE \"{{name}}\" WITH LOGIN SUPERUSER PASSWORD '{{password}}';", Some("SUPERUSER")),
        ("create role \"{{name}}\" login /* hide */ superuser", Some("SUPERUSER")),
        ("CREATE ROLE \"{{name}}\" LOGIN\n-- comment\n\"SUPERUSER\"", Some("SUPERUSER")),
        ("CREATE ROLE \"{{name}}\" CreateRole", Some("CREATEROLE")),
        ("CREATE ROLE \"{{name}}\" CREATEDB", Some("CREATEDB")),
        ("CREATE ROLE \"{{name}}\" REPLICATION", Some("REPLICATION")),
        ("CREATE ROLE \"{{name}}\" BYPASSRLS", Some("BYPASSRLS")),
        ("CREATE ROLE \"{{name}}\" LOGIN IN ROLE \"postgres\"", Some("postgres")),
        ("CREATE ROLE \"{{name}}\" LOGIN IN ROLE shop_readonly, other_owner", Some("other_owner")),
        ("CREATE ROLE \"{{name}}\" LOGIN IN ROLE pg_read_server_files", Some("pg_read_server_files")),
        ("CREATE ROLE \"{{name}}\" LOGIN ROLE postgres", Some("ROLE")),
        ("CREATE ROLE \"{{name}}\" LOGIN ADMIN postgres", Some("ADMIN")),
        ("CREATE ROLE other LOGIN", Some("issued login")),
        ("GRANT postgres TO \"{{name}}\"", Some("postgres")),
        ("GRANT \"shop_owner\" TO \"{{name}}\" WITH ADMIN OPTION", Some("ADMIN")),
        ("GRANT shop_owner TO other_login", Some("issued login")),
        ("GRANT EXECUTE ON FUNCTION lo_export(oid, text) TO \"{{name}}\"", Some("function")),
        ("GRANT SET ON PARAMETER log_statement TO \"{{name}}\"", Some("PARAMETER")),
        ("GRANT CONNECT ON DATABASE other TO \"{{name}}\"", Some("tenant database")),
        ("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\" WITH GRANT OPTION", Some("GRANT OPTION")),
        ("ALTER ROLE \"{{name}}\" SET role = 'postgres'", Some("postgres")),
        ("ALTER ROLE \"{{name}}\" SET session_preload_libraries = 'x'", Some("session_preload_libraries")),
        ("ALTER ROLE postgres PASSWORD 'x'", Some("postgres")),
        ("ALTER ROLE \"{{name}}\" RENAME TO postgres", Some("RENAME")),
        ("ALTER USER \"{{name}}\" IN DATABASE shop SET role = 'postgres'", Some("IN DATABASE")),
        ("DROP ROLE \"{{name}}\", other_owner", Some("issued login")),
        ("DROP DATABASE shop", Some("DROP")),
        ("DO $$ BEGIN EXECUTE 'ALTER ROLE x SUPERUSER'; END $$", Some("dollar")),
        ("DO 'BEGIN NULL; END'", Some("DO")),
        ("SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = 'postgres'", Some("issued login")),
        ("SELECT lo_import('/etc/passwd')", Some("lo_import")),
        ("SELECT set_config('x', 'y', false)", Some("set_config")),
        ("COPY t FROM PROGRAM 'id'", Some("COPY")),
        ("ALTER SYSTEM SET x = 1", Some("ALTER")),
        ("CREATE ROLE \"{{name}}\" LOGIN PASSWORD E'x\\' SUPERUSER'", Some("prefixed")),
        ("CREATE ROLE \"{{name}}\" LOGIN PASSWORD 'x\\'", Some("backslash")),
        ("CREATE ROLE \"{{name}}\" LOGIN /* unterminated", Some("unterminated")),
        ("CREATE ROLE \"{{name}}\" LOGIN /* a /* nested */ SUPERUSER */ CREATEDB", Some("CREATEDB")),
        ("SET ROLE postgres", Some("SET")),
        ("RESET ROLE; SET SESSION AUTHORIZATION postgres", Some("RESET")),
    ];
    for (text, expected) in cases {
        let got = statement_refusal(Engine::Postgres, text, &scope());
        assert_verdict(got, *expected, true, text);
    }
}

#[test]
fn mysql_statements() {
    let s = Scope::new("shop_1", None);
    for access in [
        crate::sql::Access::Owner,
        crate::sql::Access::ReadWrite,
        crate::sql::Access::ReadOnly,
    ] {
        let generated = crate::sql::vault_mysql_statements("shop_1", access).unwrap_or_default();
        for st in generated
            .creation
            .iter()
            .chain(&generated.revocation)
            .chain(&generated.rotation)
        {
            assert_eq!(
                statement_refusal(Engine::Mysql, st, &s),
                None,
                "generated: {st}"
            );
        }
    }
    let cases: &[(&str, Option<&str>)] = &[
        ("CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON `shop\\_1`.* TO '{{name}}'@'%';", None),
        ("GRANT SELECT, INSERT ON `shop_1`.items TO '{{name}}'@'%'", None),
        ("REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{name}}'@'%'", None),
        ("GRANT SELECT ON *.* TO '{{name}}'@'%'", Some("*.*")),
        ("GRANT ALL ON * TO '{{name}}'@'%'", Some("ON *")),
        ("GRANT SELECT ON `mysql`.* TO '{{name}}'@'%'", Some("mysql")),
        ("GRANT SELECT ON MySQL.user TO '{{name}}'@'%'", Some("mysql")),
        ("UPDATE mysql.user SET x = 1", Some("mysql")),
        ("GRANT SELECT ON `shop\\_1`.* TO '{{name}}'@'%' WITH GRANT OPTION", Some("GRANT OPTION")),
        ("GRANT SELECT ON `shop_1`.* TO '{{name}}'@'%'", Some("wildcard")),
        ("GRANT SELECT ON `shop%`.* TO '{{name}}'@'%'", Some("tenant database")),
        ("GRANT SELECT ON `other`.* TO '{{name}}'@'%'", Some("tenant database")),
        ("GRANT PROXY ON 'root'@'%' TO '{{name}}'@'%'", Some("PROXY")),
        ("GRANT SUPER ON *.* TO '{{name}}'@'%'", Some("SUPER")),
        ("GRANT FILE ON `shop\\_1`.* TO '{{name}}'@'%'", Some("FILE")),
        ("GRANT CREATE USER ON `shop\\_1`.* TO '{{name}}'@'%'", Some("USER")),
        ("GRANT dba TO '{{name}}'@'%'", Some("roles")),
        ("GRANT SELECT ON `shop\\_1`.* TO '{{name}}'@'%', 'other'@'%'", Some("issued user")),
        ("CREATE USER 'root'@'%'", Some("issued user")),
        ("ALTER USER 'root'@'%' IDENTIFIED BY 'x'", Some("issued user")),
        ("CREATE USER '{{name}}'@'%' DEFAULT ROLE dba", Some("DEFAULT ROLE")),
        ("CREATE USER '{{name}}'@'%' /*!50000 SUPER */", Some("executable comment")),
        ("CREATE USER '{{name}}'@'%' # comment\n", None),
        ("GRANT SELECT ON `shop\\_1`.* TO '{{name}}'@'%' # x\n; GRANT ALL ON *.* TO '{{name}}'@'%'", Some("*.*")),
        ("CREATE USER '{{name}}'@'%' IDENTIFIED BY 'a\\'; GRANT ALL ON *.* TO x; --'", Some("backslash")),
        ("SET PASSWORD FOR 'root'@'%' = 'x'", Some("SET")),
        ("INSTALL PLUGIN x SONAME 'y'", Some("INSTALL")),
    ];
    for (text, expected) in cases {
        let got = statement_refusal(Engine::Mysql, text, &s);
        assert_verdict(got, *expected, true, text);
    }
}

#[test]
fn redis_rules() {
    let s = Scope::new("app", None);
    let generated = crate::sql::vault_redis_statements("app:", crate::sql::Access::Owner);
    assert_eq!(
        statement_refusal(Engine::Redis, &generated.creation[0], &s),
        None
    );
    let guards = crate::sql::redis_guard_rules(crate::sql::RedisOptIns::default());
    let with_guards = |rules: &[&str]| {
        let mut v: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        v.extend(guards.iter().cloned());
        serde_json::Value::from(v).to_string()
    };
    for (rules, refused) in [
        (with_guards(&["~app:*", "+@read"]), false),
        (with_guards(&["~*", "+@read"]), true),
        (with_guards(&["%R~other:*", "+@read"]), true),
        (with_guards(&["~app:*", "allchannels"]), true),
        (with_guards(&["~app:*", "+@admin"]), true),
        (with_guards(&["~app:*", "(~other:* +get)"]), true),
        (r#"["~app:*","+@all"]"#.to_string(), true),
        ("not json".to_string(), true),
    ] {
        assert_eq!(
            statement_refusal(Engine::Redis, &rules, &s).is_some(),
            refused,
            "{rules}"
        );
    }
}

#[test]
fn custom_statements_need_the_opt_in() {
    assert!(custom_statements_refusal(false, "creation_statements")
        .is_some_and(|m| m.contains("allow_custom_statements")));
    assert_eq!(custom_statements_refusal(true, "creation_statements"), None);
}
