//! What the issue 19 guard reads before a rotation role is written (or planned): the
//! backends' facts about its database and static login, gathered into
//! [`Observed`] for [`verdicts`] to judge.

use tfplugin::Error;

use crate::backends::settings::Settings;
use crate::backends::Backends;
use crate::enums::Engine;
use crate::resources::role_guard::verdict::{
    login_with_elsewhere, refused, verdicts, word_refusals, EngineFacts, Guarded, Observed,
    PgDatabase, Phase, Unreadable,
};
use crate::resources::role_guard::ForbiddenLogins;

/// Applies the issue 19 rules to a role about to be written: the word rules first (no
/// backend), then the facts read now. At plan, what cannot be read (no backend, a
/// connection or database created in the same apply) is left to apply; at apply it is
/// refused. Every refusal is a diagnostic at the attribute it is about. Passed, it
/// gives back the PostgreSQL database's owner it read (issue 23: create and update
/// take it rather than reading the catalog again).
pub(super) async fn check(
    client: &Backends,
    g: &Guarded,
    phase: Phase,
) -> Result<Option<String>, Error> {
    let s = &client.settings;
    let allowed = s.vault.as_ref().is_some_and(|v| v.allow_custom_statements);
    refused(&word_refusals(g, allowed))?;
    let Some(seen) = observe(client, g).await else {
        return Ok(None);
    };
    let admin_database = s.postgres.as_ref().map_or("", |p| p.database.as_str());
    refused(&verdicts(g, &seen, phase, admin_database))?;
    Ok(owner_seen(&seen))
}

/// The owner of the PostgreSQL database the guard read, when it read one.
pub(super) fn owner_seen(seen: &Observed) -> Option<String> {
    match &seen.facts {
        EngineFacts::Postgres {
            database: Ok(PgDatabase { facts: Some(f), .. }),
            ..
        } => Some(f.owner.clone()),
        _ => None,
    }
}

/// Reads what the rules judge; `None` when there is nothing to judge yet (database or
/// connection unknown, or at plan an engine that cannot be read).
async fn observe(client: &Backends, g: &Guarded) -> Option<Observed> {
    let (Some(database), Some(connection)) = (g.database.as_deref(), g.connection.as_deref())
    else {
        return None;
    };
    let engine = match g.engine {
        Some(e) => e,
        None => engine_at_plan(client, &g.mount, connection).await?,
    };
    let facts = match engine {
        Engine::Postgres => observe_postgres(client, g, database, connection).await,
        Engine::Mysql => observe_mysql(client, g, database, connection).await,
        Engine::Redis => EngineFacts::Redis {
            forbidden: forbidden_for(client, g, connection).await,
        },
    };
    Some(Observed { engine, facts })
}

/// The connection's engine at plan: `None` when Vault, the connection or its plugin
/// cannot be read (apply reads it again and refuses then).
pub(super) async fn engine_at_plan(
    client: &Backends,
    mount: &str,
    connection: &str,
) -> Option<Engine> {
    let vault = client.vault().await.ok()?;
    let body = vault
        .read_shared(&format!("{mount}/config/{connection}"))
        .await
        .ok()??;
    body["data"]["plugin_name"]
        .as_str()
        .and_then(Engine::of_vault_plugin)
}

fn unreadable(what: impl Into<String>, e: impl std::fmt::Display) -> Unreadable {
    Unreadable {
        what: what.into(),
        error: e.to_string(),
    }
}

async fn observe_postgres(
    client: &Backends,
    g: &Guarded,
    database: &str,
    connection: &str,
) -> EngineFacts {
    let pg = match client.postgres().await {
        Ok(pg) => pg,
        Err(e) => return EngineFacts::Unreachable(unreadable("the role's database and login", e)),
    };
    // Issue 23: shared with the other roles of this process checked at the same moment.
    let shared = &client.shared_catalog;
    let key = database.to_string();
    let facts = shared
        .database_facts
        .get(&key, || pg.database_facts(database));
    let db = match facts.await {
        Ok(facts) => {
            // The owner's and the group roles' facts: superuser owner, tenant shape.
            let roles = match &facts {
                Some(f) => {
                    let names = [
                        f.owner.clone(),
                        format!("{database}_readwrite"),
                        format!("{database}_readonly"),
                    ];
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    let key: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                    let roles = shared.role_facts.get(&key, || pg.role_facts(&names)).await;
                    roles.map_err(|e| unreadable(format!("the roles of {database:?}"), e))
                }
                None => Ok(Vec::new()),
            };
            Ok(PgDatabase { facts, roles })
        }
        Err(e) => Err(unreadable(format!("database {database:?}"), e)),
    };
    // Unreadable roles end the check: the login is not read.
    let stopped = matches!(&db, Ok(PgDatabase { roles: Err(_), .. }));
    let Some(user) = g.username.as_ref().filter(|_| !stopped) else {
        return EngineFacts::Postgres {
            database: db,
            login: None,
            forbidden: Vec::new(),
        };
    };
    let forbidden = forbidden_for(client, g, connection).await;
    let what = || format!("login {user:?}");
    let facts = pg
        .login_facts(user)
        .await
        .map_err(|e| unreadable(what(), e));
    // What it owns or may use in other databases goes with its password.
    let deps = pg
        .foreign_dependencies(std::slice::from_ref(user), database)
        .await
        .map_err(|e| unreadable(what(), e));
    EngineFacts::Postgres {
        database: db,
        login: Some(login_with_elsewhere(facts, deps)),
        forbidden,
    }
}

async fn observe_mysql(
    client: &Backends,
    g: &Guarded,
    database: &str,
    connection: &str,
) -> EngineFacts {
    let my = match client.mysql().await {
        Ok(m) => m,
        Err(e) => return EngineFacts::Unreachable(unreadable("the role's database and user", e)),
    };
    let exists = my
        .schema(database)
        .await
        .map(|s| s.is_some())
        .map_err(|e| unreadable(format!("database {database:?}"), e));
    let Some(user) = &g.username else {
        return EngineFacts::Mysql {
            exists,
            login: None,
            forbidden: Vec::new(),
        };
    };
    let forbidden = forbidden_for(client, g, connection).await;
    let login = my
        .login_facts(user, database)
        .await
        .map_err(|e| unreadable(format!("user {user:?}"), e));
    EngineFacts::Mysql {
        exists,
        login: Some(login),
        forbidden,
    }
}

/// [`forbidden_logins`] for a static role; none for a dynamic one (nothing is read).
async fn forbidden_for(client: &Backends, g: &Guarded, connection: &str) -> ForbiddenLogins {
    match g.username {
        Some(_) => forbidden_logins(client, &g.mount, Some(connection)).await,
        None => Vec::new(),
    }
}

/// Logins no static role may rotate: the PgBouncer auth user, the provider's admins,
/// and the admin of every Vault connection on the mount (or, when the mount cannot be
/// listed, of the role's own connection).
pub(super) async fn forbidden_logins(
    client: &Backends,
    mount: &str,
    connection: Option<&str>,
) -> ForbiddenLogins {
    let mut out = platform_logins(&client.settings);
    let Ok(vault) = client.vault().await else {
        return out;
    };
    let names = match vault.list_fresh(&format!("{mount}/config")).await {
        Ok(names) => names,
        Err(_) => connection.map(|c| vec![c.to_string()]).unwrap_or_default(),
    };
    for name in names {
        if let Ok(Some(body)) = vault.read_shared(&format!("{mount}/config/{name}")).await {
            out.extend(connection_admin(&name, &body));
        }
    }
    out
}

/// The provider's own logins, each with what it is: the PgBouncer auth user (the
/// default one when there is no `pgbouncer` block) and every admin block's user.
pub(super) fn platform_logins(s: &Settings) -> ForbiddenLogins {
    let auth_user = s.pgbouncer_auth_user().to_string();
    let mut out: ForbiddenLogins = vec![(
        auth_user,
        "the PgBouncer auth user (its password opens every tenant's SCRAM verifier)".to_string(),
    )];
    let admins = [
        (
            s.postgres.as_ref().map(|p| &p.username),
            "the provider's PostgreSQL admin login",
        ),
        (
            s.pgbouncer.as_ref().map(|p| &p.admin_username),
            "the PgBouncer admin user",
        ),
        (
            s.mysql.as_ref().map(|m| &m.username),
            "the provider's MySQL admin user",
        ),
        (
            s.redis.as_ref().map(|r| &r.username),
            "the provider's Redis admin user",
        ),
    ];
    out.extend(
        admins
            .into_iter()
            .filter_map(|(user, what)| user.map(|u| (u.clone(), what.to_string()))),
    );
    out
}

/// The admin login of Vault connection `name` from its body, if it names one.
pub(super) fn connection_admin(name: &str, body: &serde_json::Value) -> Option<(String, String)> {
    let d = &body["data"];
    let user = d["connection_details"]["username"]
        .as_str()
        .or_else(|| d["username"].as_str());
    user.filter(|u| !u.is_empty()).map(|u| {
        (
            u.to_string(),
            format!("the admin of Vault connection {name:?}"),
        )
    })
}
