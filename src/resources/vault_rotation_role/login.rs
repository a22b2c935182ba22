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
    if planned.creates_login() && engine != Engine::Postgres {
        return Err(Error::at_attr(
            "create_login",
            "create_login is not supported on this engine",
            format!("create_login makes PostgreSQL logins; this role's connection is {}. Create the user first (on Redis, a dbaas_shared_redis_namespace), or use a dynamic role. Nothing was written to Vault.", engine.as_str()),
        ));
    }
    Ok(())
}

/// Makes the login of a role with `create_login` (refused when it exists or is a
/// platform login): LOGIN without a password, in the tenant group of `access`,
/// running as `owner` for `owner` access, marked as this role's.
pub(super) async fn make(
    ctx: &Ctx<'_>,
    mount: &str,
    planned: &Model,
    database: &str,
    owner: Option<&str>,
    forbidden: &[(String, String)],
) -> Result<(), Error> {
    let username = planned.username.clone().unwrap_or_default();
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

/// Drops the login a role with `create_login` made, when it still carries the role's
/// marker: its sessions ended first; a login that owns objects makes this fail.
/// `Ok(Some(why))`: left in place.
pub(super) async fn drop(
    ctx: &Ctx<'_>,
    mount: &str,
    name: &str,
    username: &str,
) -> Result<Option<String>, Error> {
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
) -> Option<Option<bool>> {
    let pg = ctx.client.postgres().await.ok()?;
    let found = pg.role_facts(&[username]).await.ok()?;
    let marker = login_marker(mount, name);
    Some(
        found
            .first()
            .map(|f| f.comment.as_deref() == Some(marker.as_str())),
    )
}
