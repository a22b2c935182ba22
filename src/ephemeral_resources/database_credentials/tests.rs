//! Table tests of the credentials' decisions, one row per branch.

use super::decide::*;
use super::*;
use serde_json::json;

#[test]
fn a_role_not_written_yet_gives_unknown_credentials_and_no_error() {
    let config = Model {
        role: "eph-role".into(),
        ..Model::default()
    };
    let v = try_encode(&Model::after_apply(&config, "database".into(), true)).unwrap();
    for a in [
        "username",
        "password",
        "host",
        "port",
        "engine",
        "lease_id",
        "lease_duration",
        "database",
    ] {
        assert!(v.get(a).is_unknown(), "{a} must be unknown until apply");
    }
    assert_eq!(v.get("role").as_str(), Some("eph-role"));
    assert_eq!(v.get("mount").as_str(), Some("database"));
    assert_eq!(v.get("verify").as_bool(), Some(true));

    // What the configuration says stays as it says.
    let config = Model {
        role: "eph-role".into(),
        database: Known::Value("app".into()),
        ..Model::default()
    };
    let v = try_encode(&Model::after_apply(&config, "team/db".into(), false)).unwrap();
    assert_eq!(v.get("database").as_str(), Some("app"));
    assert_eq!(v.get("mount").as_str(), Some("team/db"));
    assert_eq!(v.get("verify").as_bool(), Some(false));
}

#[test]
fn role_lookup_issues_waits_for_apply_or_refuses_on_role() {
    let body = json!({"data": {"db_name": "pg"}});
    let rows = [
        (
            "dynamic_role_found",
            Some((body.clone(), false)),
            false,
            Ok(RoleStep::Issue {
                body: body.clone(),
                stat: false,
            }),
        ),
        (
            "static_role_found",
            Some((body.clone(), true)),
            false,
            Ok(RoleStep::Issue {
                body: body.clone(),
                stat: true,
            }),
        ),
        (
            "found_role_wins_over_plan",
            Some((body.clone(), false)),
            true,
            Ok(RoleStep::Issue {
                body: body.clone(),
                stat: false,
            }),
        ),
        (
            "role_planned_in_this_run_is_known_after_apply",
            None,
            true,
            Ok(RoleStep::KnownAfterApply),
        ),
        ("missing_role_is_refused", None, false, Err(())),
    ];
    for (situation, found, planned, want) in rows {
        let got = role_step(found, planned, "app", "database");
        assert_eq!(got.clone().map_err(drop), want, "{situation}");
        if let Err(refusal) = got {
            let e = refusal.error();
            let d = &e.diagnostics()[0];
            assert_eq!(d.summary, "No Vault role \"app\"", "{situation}");
            assert_eq!(d.attribute, Some(tfplugin::AttributePath::attr("role")));
            assert!(d.detail.contains("database/roles/app"), "{}", d.detail);
            assert!(
                d.detail.contains("database/static-roles/app"),
                "{}",
                d.detail
            );
        }
    }
}

#[test]
fn the_connection_names_the_engine_and_an_unreadable_one_is_postgres() {
    let plugin = |p: &str| json!({"data": {"plugin_name": p}});
    let rows = [
        (
            "postgres_plugin",
            Some(plugin("postgresql-database-plugin")),
            Engine::Postgres,
        ),
        (
            "mysql_plugin",
            Some(plugin("mysql-database-plugin")),
            Engine::Mysql,
        ),
        (
            "redis_plugin",
            Some(plugin("redis-database-plugin")),
            Engine::Redis,
        ),
        (
            "unknown_plugin",
            Some(plugin("oracle-database-plugin")),
            Engine::Postgres,
        ),
        ("connection_unreadable", None, Engine::Postgres),
    ];
    for (situation, connection, want) in rows {
        assert_eq!(engine_of(connection.as_ref()), want, "{situation}");
    }
}

#[test]
fn the_database_comes_from_the_configuration_the_statements_or_the_login() {
    let pg_statements = json!(["CREATE ROLE \"{{name}}\" IN ROLE \"app_owner\""]);
    let my_statements = json!([
        "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'",
        "GRANT SELECT ON `shop`.* TO '{{name}}'@'%'"
    ]);
    let dynamic = |s: &serde_json::Value| json!({ "creation_statements": s });
    let configured = Known::Value("given".to_string());
    let rows = [
        (
            "configured_database_wins",
            configured.clone(),
            Engine::Postgres,
            false,
            dynamic(&pg_statements),
            DatabaseSource::Known("given".into()),
        ),
        (
            "configured_database_wins_for_redis",
            configured,
            Engine::Redis,
            false,
            json!({}),
            DatabaseSource::Known("given".into()),
        ),
        (
            "postgres_dynamic_role_joins_a_group",
            Known::Null,
            Engine::Postgres,
            false,
            dynamic(&pg_statements),
            DatabaseSource::GroupOfStatements(pg_statements.clone()),
        ),
        (
            "postgres_static_login_is_in_a_group",
            Known::Null,
            Engine::Postgres,
            true,
            json!({"username": "app_login"}),
            DatabaseSource::GroupOfLogin("app_login".into()),
        ),
        (
            "postgres_static_role_without_username",
            Known::Null,
            Engine::Postgres,
            true,
            json!({}),
            DatabaseSource::Known(String::new()),
        ),
        (
            "mysql_dynamic_role_grants_on_a_schema",
            Known::Unknown,
            Engine::Mysql,
            false,
            dynamic(&my_statements),
            DatabaseSource::Known("shop".into()),
        ),
        (
            "mysql_static_role_selects_no_schema",
            Known::Null,
            Engine::Mysql,
            true,
            json!({"username": "x"}),
            DatabaseSource::Known(String::new()),
        ),
        (
            "redis_has_no_database",
            Known::Null,
            Engine::Redis,
            false,
            dynamic(&json!(["~app:*"])),
            DatabaseSource::Known(String::new()),
        ),
    ];
    for (situation, configured, engine, stat, role, want) in rows {
        assert_eq!(
            database_source(&configured, engine, stat, &role),
            want,
            "{situation}"
        );
    }
}

#[test]
fn issued_credentials_are_read_from_the_reply_or_refused() {
    let dynamic = json!({"lease_id": "database/creds/app/x1", "lease_duration": 3600, "data": {"username": "v-app", "password": "pw"}});
    let stat =
        json!({"lease_id": "", "data": {"username": "app_login", "password": "pw2", "ttl": 86400}});
    let rows = [
        (
            "dynamic_credentials_carry_a_lease",
            Some(dynamic),
            Ok(Issued {
                username: "v-app".into(),
                password: "pw".into(),
                lease_id: "database/creds/app/x1".into(),
                lease_duration: 3600,
            }),
        ),
        (
            "static_credentials_last_until_rotation",
            Some(stat),
            Ok(Issued {
                username: "app_login".into(),
                password: "pw2".into(),
                lease_id: String::new(),
                lease_duration: 86400,
            }),
        ),
        (
            "empty_reply_has_empty_fields",
            Some(json!({})),
            Ok(Issued::default()),
        ),
        (
            "no_reply_is_refused",
            None,
            Err(Refusal::NoCredentials {
                path: "database/creds/app".into(),
            }),
        ),
    ];
    for (situation, reply, want) in rows {
        assert_eq!(issued(reply, "database/creds/app"), want, "{situation}");
    }
    let e = Refusal::NoCredentials {
        path: "database/creds/app".into(),
    }
    .error();
    assert_eq!(
        e.diagnostics()[0].summary,
        "No credentials at database/creds/app"
    );
}

#[test]
fn logins_go_through_the_engines_endpoint_or_say_there_is_none() {
    let rows = [
        (
            "postgres_always_has_the_apps_endpoint",
            Engine::Postgres,
            false,
            false,
            LoginRoute::Postgres,
        ),
        (
            "mysql_with_its_block",
            Engine::Mysql,
            true,
            false,
            LoginRoute::Mysql,
        ),
        (
            "mysql_without_its_block",
            Engine::Mysql,
            false,
            true,
            LoginRoute::NoEndpoint("mysql"),
        ),
        (
            "redis_with_its_block",
            Engine::Redis,
            false,
            true,
            LoginRoute::Redis,
        ),
        (
            "redis_without_its_block",
            Engine::Redis,
            true,
            false,
            LoginRoute::NoEndpoint("redis"),
        ),
    ];
    for (situation, engine, has_mysql, has_redis, want) in rows {
        assert_eq!(
            login_route(engine, has_mysql, has_redis),
            want,
            "{situation}"
        );
    }
    let (why, hint) = login_failure(LoginRoute::NoEndpoint("mysql"), String::new());
    assert!(why.contains("no `mysql` block"), "{why}");
    assert!(hint.contains("verify = false"), "{hint}");
    let (why, hint) = login_failure(LoginRoute::Postgres, "refused".into());
    assert_eq!(why, "refused");
    assert!(hint.contains("auth_query"), "{hint}");
    let e = Refusal::LoginFailed {
        role: "app".into(),
        host: "127.0.0.1".into(),
        port: 9,
        why: "refused".into(),
        hint,
    }
    .error();
    let d = &e.diagnostics()[0];
    assert_eq!(
        d.summary,
        "Credentials of \"app\" do not work through 127.0.0.1:9"
    );
    assert!(
        d.detail.ends_with("The lease has been revoked."),
        "{}",
        d.detail
    );
}

#[test]
fn renewal_comes_at_two_thirds_of_a_lease_and_never_without_one() {
    let now = SystemTime::UNIX_EPOCH;
    let at = |s: u64| Some(now + std::time::Duration::from_secs(s));
    let rows = [
        ("a_lease_renews_at_two_thirds", "l1", 3600, at(2400)),
        ("no_lease_no_renewal", "", 3600, None),
        ("no_duration_no_renewal", "l1", 0, None),
        ("negative_duration_no_renewal", "l1", -5, None),
    ];
    for (situation, lease, duration, want) in rows {
        assert_eq!(renew_at(lease, duration, now), want, "{situation}");
    }
}

#[test]
fn renew_and_close_act_only_on_a_kept_lease() {
    assert_eq!(
        lease_step(""),
        LeaseStep::Nothing,
        "static_role_keeps_no_lease"
    );
    assert_eq!(
        lease_step("l1"),
        LeaseStep::Lease("l1".into()),
        "dynamic_role_keeps_its_lease"
    );
    let now = SystemTime::UNIX_EPOCH;
    let rows = [
        (
            "renewed_lease_renews_again",
            Ok(Some(json!({"lease_duration": 300}))),
            Some(now + std::time::Duration::from_secs(200)),
            false,
        ),
        (
            "renewal_without_answer_stops_renewing",
            Ok(None),
            None,
            false,
        ),
        (
            "failed_renewal_warns_and_stops",
            Err("HTTP 400".to_string()),
            None,
            true,
        ),
    ];
    for (situation, answer, want, warns) in rows {
        let (next, warning) = next_renewal("l1", answer, now);
        assert_eq!(next, want, "{situation}");
        assert_eq!(warning.is_some(), warns, "{situation}");
    }
    let (summary, detail) = revoke_warning("l1", "Vault unreachable");
    assert_eq!(summary, "Could not revoke the credentials' lease");
    assert!(detail.ends_with("vault lease revoke l1"), "{detail}");
    assert_eq!(
        lease_path("revoke", "database/creds/a/b"),
        "sys/leases/revoke/database/creds/a/b"
    );
}
