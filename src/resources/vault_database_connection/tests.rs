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
    assert_eq!(schema.version, 1);
    assert_eq!(
        schema
            .block
            .attribute("allowed_roles")
            .map(|a| a.ty.clone()),
        Some(tfplugin::Type::set_of(tfplugin::Type::String))
    );
}
