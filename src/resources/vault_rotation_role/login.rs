//! Issue 22 effects of a static role: what the Vault and database servers support
//! (checked before anything is written), and the login `create_login` makes and drops.
//! The decisions are `schedule.rs`'s.

use tfplugin::{Error, OrDiag};

use super::schedule::{
    dual_password_support, login_at_destroy, login_marker, login_to_create, newer_parameters,
    unsupported_parameter, LoginAtDestroy,
};
use super::Model;
use crate::enums::Engine;
use crate::resources::common::{Ctx, OrReach};
use crate::sql::{postgres_group, Access};

/// Refuses, before anything is made or written, what the servers cannot keep: a static
/// body parameter this Vault does not take, `retain_previous_password` where the MySQL
/// server holds one password per account, `create_login` on other engines than PostgreSQL.
pub(super) async fn check_support(
    ctx: &Ctx<'_>,
    planned: &Model,
    engine: Engine,
    path: &str,
    body: &serde_json::Value,
) -> Result<(), Error> {
    if !planned.is_static() {
        return Ok(());
    }
    let used = newer_parameters(body);
    if !used.is_empty() {
        let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
        // Unreadable help: Vault's answer to the write stands.
        let accepted = vault.write_parameters(path).await.ok().flatten();
        unsupported_parameter(&used, accepted.as_deref(), vault.address())?;
    }
    if planned.retains_password() {
        let version = match engine {
            Engine::Mysql => {
                let my = ctx.client.mysql().await.or_reach("MySQL")?;
                my.server_version().await.ok().flatten()
            }
            _ => None,
        };
        dual_password_support(engine, version.as_deref())?;
    }
    if planned.creates_login() && engine == Engine::Redis {
        return Err(Error::at_attr(
            "create_login",
            "create_login is not supported on Redis",
            "create_login makes PostgreSQL logins and MySQL users; a Redis static role rotates a namespace's user (dbaas_shared_redis_namespace makes it). Nothing was written to Vault.",
        ));
    }
    Ok(())
}

/// Makes the login of a role with `create_login` (refused when it exists or is a
/// platform login): LOGIN without a password, in the tenant group of `access`,
/// running as `owner` for `owner` access, marked as this role's.
pub(super) async fn make(
    ctx: &Ctx<'_>,
    engine: Engine,
    mount: &str,
    planned: &Model,
    database: &str,
    owner: Option<&str>,
    forbidden: &[(String, String)],
) -> Result<(), Error> {
    let username = planned.username.clone().unwrap_or_default();
    if engine == Engine::Mysql {
        return make_mysql(ctx, planned, &username, database, forbidden).await;
    }
    let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
    let found = pg
        .role_facts(&[username.as_str()])
        .await
        .or_diag(format!("Cannot read login {username:?}"))?;
    login_to_create(&username, !found.is_empty(), forbidden)?;
    let owner = owner.map_or_else(|| format!("{database}_owner"), str::to_string);
    let group = postgres_group(database, &owner, planned.access);
    let run_as = (planned.access == Access::Owner).then_some(owner.as_str());
    let marker = login_marker(mount, &planned.name);
    let batch = crate::sql::create_static_login(&username, &group, run_as, &marker);
    pg.exec_all(&[batch])
        .await
        .or_diag(format!("Cannot create login {username:?}"))
}

/// MySQL: the user with a throwaway password (never stored or shown; Vault rotates it
/// when the role is written) and the GRANT a Vault-issued login of `access` gets.
async fn make_mysql(
    ctx: &Ctx<'_>,
    planned: &Model,
    username: &str,
    database: &str,
    forbidden: &[(String, String)],
) -> Result<(), Error> {
    use rand::Rng;
    let my = ctx.client.mysql().await.or_reach("MySQL")?;
    let facts = my
        .login_facts(username, database)
        .await
        .or_diag(format!("Cannot read user {username:?}"))?;
    login_to_create(username, facts.exists || facts.is_admin, forbidden)?;
    let throwaway: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    let statements = crate::sql::create_static_user(username, database, planned.access, &throwaway)
        .map_err(|e| Error::at_attr("username", "Invalid user name", e.to_string()))?;
    my.exec(&statements)
        .await
        .or_diag(format!("Cannot create user {username:?}"))
}

/// Drops the login a role with `create_login` made, when it still carries the role's
/// marker: its sessions ended first; a login that owns objects makes this fail.
/// `Ok(Some(why))`: left in place.
pub(super) async fn drop(
    ctx: &Ctx<'_>,
    mount: &str,
    name: &str,
    username: &str,
    engine: Engine,
) -> Result<Option<String>, Error> {
    if engine == Engine::Mysql {
        // MySQL keeps no comment on a user on every server: the state says it was made here.
        let my = ctx.client.mysql().await.or_reach("MySQL")?;
        let account = crate::sql::MysqlAccount {
            user: username.to_string(),
            host: "%".into(),
            mariadb_role: false,
        };
        let drop = crate::sql::mysql_drop_user(&account)
            .map_err(|e| Error::at_attr("username", "Invalid user name", e.to_string()))?;
        my.exec(&[drop]).await.or_diag(format!(
            "Cannot drop user {username:?} (made by create_login)"
        ))?;
        return Ok(None);
    }
    let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
    let cannot = format!("Cannot drop login {username:?} (made by create_login)");
    let found = pg.role_facts(&[username]).await.or_diag(&cannot)?;
    let comment = found.first().map(|f| f.comment.as_deref());
    match login_at_destroy(comment, &login_marker(mount, name)) {
        LoginAtDestroy::Gone => Ok(None),
        LoginAtDestroy::Keep(why) => Ok(Some(why)),
        LoginAtDestroy::Drop => {
            pg.terminate_user_sessions(username)
                .await
                .or_diag(&cannot)?;
            pg.exec_all(&[crate::sql::drop_role(username)])
                .await
                .or_diag(&cannot)?;
            Ok(None)
        }
    }
}

/// The login of a role with `create_login` as the catalog has it: `Some(None)` when it
/// does not exist, `Some(Some(marked))` whether it carries the role's marker; `None`
/// when PostgreSQL cannot be read (the prior state stands).
pub(super) async fn found(
    ctx: &Ctx<'_>,
    mount: &str,
    name: &str,
    username: &str,
    engine: Engine,
) -> Option<Option<bool>> {
    if engine == Engine::Mysql {
        let database = String::new();
        let my = ctx.client.mysql().await.ok()?;
        let facts = my.login_facts(username, &database).await.ok()?;
        // No marker on MySQL: an existing user reads as not marked.
        return Some(facts.exists.then_some(false));
    }
    let pg = ctx.client.postgres().await.ok()?;
    let found = pg.role_facts(&[username]).await.ok()?;
    let marker = login_marker(mount, name);
    Some(
        found
            .first()
            .map(|f| f.comment.as_deref() == Some(marker.as_str())),
    )
}
