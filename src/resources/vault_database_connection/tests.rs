//! Unit tests of the Vault connection: its URL, credentials, body, written and
//! refreshed state, one test per branch.

use super::*;
use crate::resources::common::test_plan;

use tfplugin::ResourceType;

#[test]
fn ids_and_plugins() {
    assert_eq!(
        Engine::of_vault_plugin(Engine::Mysql.vault_plugin()),
        Some(Engine::Mysql)
    );
    assert_eq!(
        Engine::of_vault_plugin("postgresql-database-plugin"),
        Some(Engine::Postgres)
    );
    assert_eq!(Engine::of_vault_plugin("mongodb-database-plugin"), None);
}

#[test]
fn admin_block_tls_reaches_the_vault_connection_url() {
    let files = crate::backends::settings::TlsFiles {
        ca_cert: Some("/etc/ssl/ca dir/ca.pem".into()),
        client_cert: Some("/c.pem".into()),
        client_key: Some("/k.pem".into()),
    };
    assert_eq!(
        postgres_tls_params(&files),
        "&sslrootcert=%2Fetc%2Fssl%2Fca%20dir%2Fca%2Epem&sslcert=%2Fc%2Epem&sslkey=%2Fk%2Epem"
    );
    assert_eq!(postgres_tls_params(&Default::default()), "");
    use crate::enums::MysqlTls;
    let none = Default::default();
    assert_eq!(mysql_tls_param(MysqlTls::Disabled, &none), "");
    assert_eq!(
        mysql_tls_param(MysqlTls::Required, &none),
        "?tls=skip-verify"
    );
    assert_eq!(
        mysql_tls_param(MysqlTls::VerifyIdentity, &none),
        "?tls=true"
    );
    assert_eq!(mysql_tls_param(MysqlTls::VerifyIdentity, &files), "");
}

/// The provider's admin PostgreSQL settings with `password` as the secret.
fn backends(password: Secret) -> Backends {
    Backends::new(crate::backends::settings::Settings {
        postgres: Some(crate::backends::settings::PostgresSettings {
            host: "pg".into(),
            port: 5432,
            username: "block_user".into(),
            password,
            database: "postgres".into(),
            sslmode: crate::enums::SslMode::Prefer,
            connect_timeout: 10,
            max_connections: 4,
            tls_files: Default::default(),
        }),
        ..Default::default()
    })
}

fn planned_username(client: &Backends) -> Value {
    use crate::resources::common::test_object as obj;
    let config = obj(&[
        ("name", Value::string("eph-conn")),
        ("engine", Value::string("postgres")),
    ]);
    let mut plan = test_plan(
        &Value::Null,
        &config,
        obj(&[
            ("name", Value::string("eph-conn")),
            ("engine", Value::string("postgres")),
            ("username", Value::unknown()),
        ]),
    );
    VaultDatabaseConnection.plan_with_client(client, &mut plan);
    plan.planned.get("username").clone()
}

#[test]
fn the_username_comes_from_the_kv_secret_when_the_admin_password_does() {
    // A plain password: the admin block's username is planned.
    let plain = backends(Secret::Plain("pw".into()));
    assert_eq!(planned_username(&plain).as_str(), Some("block_user"));
    // From Vault KV: the secret's username (read at apply) may replace it, so the
    // plan leaves it unknown instead of planning the block's.
    let kv = backends(Secret::VaultKv("secret/data/pg/admin".into()));
    assert!(planned_username(&kv).is_unknown());
}

/// A connection `pg` of `engine` as planned, nothing configured but the name.
fn planned(engine: Engine) -> Model {
    Model {
        id: Known::Unknown,
        name: "pg".into(),
        engine,
        mount: Known::Unknown,
        connection_url: Known::Unknown,
        username: Known::Unknown,
        password: None,
        password_wo: None,
        password_wo_version: None,
        allowed_roles: Known::Value(vec!["pg-*".into()]),
        verify_connection: Some(true),
        plugin_name: Known::Unknown,
        dedicated_admin: Known::Value(false),
        root_rotation_statements: Known::Value(Vec::new()),
        password_policy: None,
        username_template: None,
        max_open_connections: None,
        max_idle_connections: None,
        max_connection_lifetime: None,
        plugin_version: None,
    }
}

fn block(url: &str) -> AdminDefaults {
    AdminDefaults {
        url: url.into(),
        username: "block_user".into(),
        password: Secret::Plain("pw".into()),
        block: "postgres",
    }
}

#[test]
fn a_configured_url_wins_over_the_admin_block() {
    let mut m = planned(Engine::Postgres);
    let defaulted = connection_url(&m, Some(&block("postgresql://db")));
    assert_eq!(defaulted.ok().as_deref(), Some("postgresql://db"));
    m.connection_url = Known::Value("postgresql://mine".into());
    let given = connection_url(&m, Some(&block("postgresql://db")));
    assert_eq!(given.ok().as_deref(), Some("postgresql://mine"));
}

#[test]
fn no_url_and_no_admin_block_is_refused_at_connection_url() {
    let e = connection_url(&planned(Engine::Mysql), None).unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!(d.summary, "No connection settings");
    assert_eq!(
        d.attribute,
        Some(tfplugin::AttributePath::attr("connection_url"))
    );
    assert!(
        d.detail.contains("provider's `mysql` block"),
        "{}",
        d.detail
    );
}

#[test]
fn the_admin_secret_is_read_only_when_a_credential_is_missing() {
    let some = |s: &str| Some(s.to_string());
    for (username, password, needed) in [
        (some("u"), some("p"), false),
        (some("u"), None, true),
        (None, some("p"), true),
        (None, None, true),
    ] {
        let given = Given { username, password };
        assert_eq!(given.needs_admin(), needed, "{given:?}");
    }
}

#[test]
fn missing_credentials_come_from_the_admin_secret_then_the_block() {
    let kv = Credentials {
        username: Some("kv_user".into()),
        password: "kv_pw".into(),
    };
    let plain = Credentials {
        username: None,
        password: "block_pw".into(),
    };
    let b = block("x");
    let cases = [
        (Given::default(), Some(kv.clone()), ("kv_user", "kv_pw")),
        (Given::default(), Some(plain), ("block_user", "block_pw")),
        (
            Given {
                username: Some("mine".into()),
                password: None,
            },
            Some(kv),
            ("mine", "kv_pw"),
        ),
        (
            Given {
                username: None,
                password: Some("wo".into()),
            },
            None,
            ("block_user", "wo"),
        ),
    ];
    for (given, admin, (user, pw)) in cases {
        let got = given.clone().or_admin(admin, Some(&b));
        assert_eq!(got, (user.to_string(), pw.to_string()), "{given:?}");
    }
    assert_eq!(
        Given::default().or_admin(None, None),
        (String::new(), String::new())
    );
}

#[test]
fn a_redis_connection_is_written_as_host_port_and_tls() {
    let m = planned(Engine::Redis);
    let body = connection_body(&m, "10.0.0.5:6380", "admin", "pw", true);
    assert_eq!(
        (&body["host"], &body["port"], &body["tls"]),
        (&"10.0.0.5".into(), &6380.into(), &true.into())
    );
    assert!(body.get("connection_url").is_none(), "{body}");
    let no_port = connection_body(&m, "redis.internal", "admin", "pw", false);
    assert_eq!(no_port["host"], "redis.internal");
    assert_eq!(no_port["port"], 6379);
    let bad_port = connection_body(&m, "r:x", "admin", "pw", false);
    assert_eq!(
        (&bad_port["host"], &bad_port["port"]),
        (&"r".into(), &6379.into())
    );
}

#[test]
fn a_sql_connection_is_written_with_its_url_and_allowed_roles() {
    let mut m = planned(Engine::Mysql);
    m.verify_connection = None;
    let body = connection_body(
        &m,
        "{{username}}:{{password}}@tcp(db:3306)/",
        "root",
        "pw",
        true,
    );
    assert_eq!(
        body,
        serde_json::json!({
            "plugin_name": Engine::Mysql.vault_plugin(),
            "allowed_roles": ["pg-*"],
            "verify_connection": true,
            "username": "root",
            "password": "pw",
            "connection_url": "{{username}}:{{password}}@tcp(db:3306)/",
        })
    );
}

#[test]
fn the_written_state_has_its_id_url_username_and_plugin() {
    let s = written(
        planned(Engine::Postgres),
        "team/db".into(),
        "postgresql://db".into(),
        "admin".into(),
    );
    assert_eq!(s.id, Known::Value("team/db/pg".into()));
    assert_eq!(s.connection_url, Known::Value("postgresql://db".into()));
    assert_eq!(s.username, Known::Value("admin".into()));
    assert_eq!(
        s.plugin_name,
        Known::Value(Engine::Postgres.vault_plugin().into())
    );
}

#[test]
fn a_connection_edited_in_vault_reads_back_as_drift() {
    let data = serde_json::json!({
        "plugin_name": "mysql-database-plugin",
        "connection_details": {"connection_url": "elsewhere", "username": "other"},
        "allowed_roles": ["*"],
    });
    let mut prior = planned(Engine::Postgres);
    prior.verify_connection = None;
    let s = refreshed(prior, "database".into(), &data);
    assert_eq!(s.engine, Engine::Mysql);
    assert_eq!(s.connection_url, Known::Value("elsewhere".into()));
    assert_eq!(s.username, Known::Value("other".into()));
    assert_eq!(s.allowed_roles, Known::Value(vec!["*".into()]));
    assert_eq!(s.verify_connection, Some(true));
    assert_eq!(s.id, Known::Value("database/pg".into()));
}

#[test]
fn a_redis_connection_reads_back_its_host_and_port_and_unknown_plugins_keep_the_engine() {
    let data = serde_json::json!({
        "plugin_name": "custom-plugin",
        "connection_details": {"host": "r", "port": 6380},
    });
    let s = refreshed(planned(Engine::Redis), "database".into(), &data);
    assert_eq!(s.connection_url, Known::Value("r:6380".into()));
    assert_eq!(s.engine, Engine::Redis);
    assert_eq!(s.plugin_name, Known::Value("custom-plugin".into()));
    assert_eq!(s.username, Known::Unknown, "not in Vault's answer: kept");
}

#[test]
fn state_from_v0_keeps_allowed_roles_once_each_as_a_set() {
    let v0 = serde_json::json!({"name": "pg", "allowed_roles": ["pg-*", "pg-app", "pg-*"], "engine": "postgres"});
    let v1 = state_v0_to_v1(v0.clone()).expect("upgrades");
    assert_eq!(v1["allowed_roles"], serde_json::json!(["pg-*", "pg-app"]));
    for k in ["name", "engine"] {
        assert_eq!(v1[k], v0[k], "{k} kept");
    }
    assert!(state_v0_to_v1(serde_json::json!([1])).is_err());
    let schema = VaultDatabaseConnection.schema();
    assert_eq!(schema.version, 2, "issue 22: version 2 (dedicated_admin)");
    assert_eq!(
        schema
            .block
            .attribute("allowed_roles")
            .map(|a| a.ty.clone()),
        Some(tfplugin::Type::set_of(tfplugin::Type::String))
    );
}

/// Issue 22: which admin a new connection gets when the configuration does not say.
#[test]
fn dedicated_admin_defaults() {
    let rows = [
        ("postgres_nothing_given", Engine::Postgres, false, true),
        ("postgres_credentials_given", Engine::Postgres, true, false),
        ("mysql_nothing_given", Engine::Mysql, false, true),
        ("mysql_credentials_given", Engine::Mysql, true, false),
        (
            "redis_keeps_the_provider_admin",
            Engine::Redis,
            false,
            false,
        ),
    ];
    for (name, engine, given, want) in rows {
        assert_eq!(admin::dedicated_by_default(engine, given), want, "{name}");
    }
}

/// Issue 22: `dedicated_admin = true` where it cannot hold is refused, saying why.
#[test]
fn dedicated_admin_refusals() {
    let rows: [(&str, Option<Engine>, bool, Option<&str>); 6] = [
        ("postgres_ok", Some(Engine::Postgres), false, None),
        ("engine_unknown_yet", None, false, None),
        (
            "with_a_password",
            Some(Engine::Postgres),
            true,
            Some("given password"),
        ),
        (
            "redis_acl_setuser",
            Some(Engine::Redis),
            false,
            Some("ACL SETUSER"),
        ),
        ("mysql_ok", Some(Engine::Mysql), false, None),
        (
            "mysql_with_a_password",
            Some(Engine::Mysql),
            true,
            Some("given password"),
        ),
    ];
    for (name, engine, given, says) in rows {
        let got = admin::refuse_dedicated(engine, given);
        match says {
            None => assert!(got.is_none(), "{name}: {got:?}"),
            Some(word) => {
                let (summary, detail) = got.unwrap_or_default();
                assert!(
                    summary.contains(word) || detail.contains(word),
                    "{name}: {summary} / {detail}"
                );
            }
        }
    }
}

/// Issue 22: what create and update do with the admin login.
#[test]
fn admin_steps() {
    use admin::AdminStep::*;
    let rows = [
        (
            "create_with_the_provider_admin",
            None,
            false,
            false,
            Given {
                drop_dedicated: false,
            },
        ),
        ("create_dedicated", None, true, false, NewLogin),
        (
            "update_keeps_the_provider_admin",
            Some(false),
            false,
            true,
            Given {
                drop_dedicated: false,
            },
        ),
        (
            "update_switches_to_dedicated",
            Some(false),
            true,
            false,
            NewLogin,
        ),
        (
            "update_keeps_the_dedicated_login",
            Some(true),
            true,
            true,
            SameLogin,
        ),
        (
            "vault_edited_to_another_login_resets_it",
            Some(true),
            true,
            false,
            NewLogin,
        ),
        (
            "update_switches_back",
            Some(true),
            false,
            false,
            Given {
                drop_dedicated: true,
            },
        ),
    ];
    for (name, prior, planned, same, want) in rows {
        assert_eq!(admin::admin_step(prior, planned, same), want, "{name}");
    }
    assert_eq!(
        admin::root_rotation_default(true, Engine::Postgres),
        ["ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}';"]
    );
    assert_eq!(
        admin::root_rotation_default(true, Engine::Mysql),
        ["CALL dbaas_vault.set_own_password('{{password}}');"]
    );
    assert!(admin::root_rotation_default(false, Engine::Postgres).is_empty());
    assert!(admin::root_rotation_default(false, Engine::Mysql).is_empty());
}

/// Issue 22: what a MySQL account found where the dedicated one goes is, and which
/// `dbaas_vault` schema the procedures may go into.
#[test]
fn mysql_accounts_found() {
    let m = "terraform-provider-dbaas: Vault admin of database/mysql";
    let rows = [
        ("absent", false, None, admin::Found::Absent),
        ("recorded_as_ours", true, Some(m), admin::Found::Ours),
    ];
    for (name, exists, recorded, want) in rows {
        assert_eq!(admin::found_mysql("a", exists, recorded, m), want, "{name}");
    }
    for (name, exists, recorded) in [
        ("not_recorded", true, None),
        ("another_connections", true, Some("x")),
    ] {
        assert!(
            matches!(
                admin::found_mysql("a", exists, recorded, m),
                admin::Found::Foreign(_)
            ),
            "{name}"
        );
    }
    for (name, grants, refused) in [
        ("no_schema", None, false),
        ("only_the_admins_grants", Some(0), false),
        ("planted_or_opened", Some(2), true),
    ] {
        assert_eq!(
            admin::mysql_schema_refusal(grants).is_some(),
            refused,
            "{name}"
        );
    }
}

/// Issue 22: a pass-through option reads back as null when unset and Vault holds its
/// default, and as Vault's value otherwise (drift).
#[test]
fn options_read_back() {
    let rows = [
        ("unset_and_default_stays_null", None, Some(4), None),
        ("unset_but_edited_in_vault_shows", None, Some(9), Some(9)),
        ("set_to_the_default_stays_set", Some(4), Some(4), Some(4)),
        ("set_and_edited_in_vault_shows", Some(3), Some(5), Some(5)),
        ("absent_in_vault_keeps_the_state", Some(3), None, Some(3)),
    ];
    for (name, prior, vault, want) in rows {
        assert_eq!(admin::read_option(prior, vault, 4), want, "{name}");
    }
    let data = serde_json::json!({
        "password_policy": "",
        "plugin_version": "",
        "root_credentials_rotate_statements": ["ALTER ROLE x"],
        "connection_details": {
            "username": "dbaas_vault_pg_0000abcd",
            "max_open_connections": 4,
            "max_idle_connections": 2,
            "max_connection_lifetime": "30s",
            "username_template": "v-{{.RoleName}}",
        },
    });
    let mut imported = planned(Engine::Postgres);
    imported.dedicated_admin = Known::Null;
    imported.username = Known::Value("dbaas_vault_pg_0000abcd".into());
    let s = admin::refreshed_options(imported, &data);
    assert_eq!(s.password_policy, None);
    assert_eq!(s.max_open_connections, None);
    assert_eq!(s.max_idle_connections, Some(2));
    assert_eq!(s.max_connection_lifetime, Some(30));
    assert_eq!(s.username_template.as_deref(), Some("v-{{.RoleName}}"));
    assert_eq!(
        s.root_rotation_statements,
        Known::Value(vec!["ALTER ROLE x".to_string()])
    );
    assert_eq!(
        s.dedicated_admin,
        Known::Value(true),
        "import recognises a dedicated login"
    );
}

/// Issue 22: null options send Vault's defaults (an edit in Vault is reverted); Redis
/// gets no pool options.
#[test]
fn options_sent() {
    let mut m = planned(Engine::Postgres);
    m.max_open_connections = Some(3);
    let f = admin::option_fields(&m);
    assert_eq!(f["max_open_connections"], 3);
    assert_eq!(f["max_idle_connections"], 0);
    assert_eq!(f["max_connection_lifetime"], "0s");
    assert_eq!(f["password_policy"], "");
    assert_eq!(f["username_template"], "");
    assert_eq!(f["root_rotation_statements"], serde_json::json!([]));
    let r = admin::option_fields(&planned(Engine::Redis));
    assert!(!r.contains_key("max_open_connections") && !r.contains_key("username_template"));
}

/// Issue 22: the login found where the dedicated login goes.
#[test]
fn dedicated_login_found() {
    let marker = "terraform-provider-dbaas: Vault admin of database/pg";
    assert_eq!(admin::found("l", None, marker), admin::Found::Absent);
    assert_eq!(
        admin::found("l", Some(Some(marker)), marker),
        admin::Found::Ours
    );
    assert!(matches!(
        admin::found("l", Some(None), marker),
        admin::Found::Foreign(_)
    ));
    assert!(matches!(
        admin::found(
            "l",
            Some(Some("terraform-provider-dbaas: Vault admin of team/pg")),
            marker
        ),
        admin::Found::Foreign(_)
    ));
}

/// Issue 22: states written before `dedicated_admin` keep the admin they have.
#[test]
fn upgrade_v1_keeps_the_admin() {
    let v1 = serde_json::json!({"name": "pg", "engine": "postgres", "username": "postgres"});
    let v2 = state_v1_to_v2(v1).unwrap_or_default();
    assert_eq!(v2["dedicated_admin"], false);
    assert_eq!(v2["root_rotation_statements"], serde_json::json!([]));
    let again = state_v1_to_v2(v2.clone()).unwrap_or_default();
    assert_eq!(again, v2);
    assert!(state_v1_to_v2(serde_json::json!([])).is_err());
}
