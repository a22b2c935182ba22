//! Issue 22: the connection's dedicated Vault admin login (PostgreSQL, MySQL) and the options
//! passed through to Vault. Decisions first (pure, table-tested in `tests.rs`), then the
//! thin steps that make, check and drop the login.

use rand::distributions::Alphanumeric;
use rand::Rng;
use tfplugin::{Error, OrDiag};

use super::Model;
use crate::enums::Engine;
use crate::resources::common::{Ctx, OrReach};
use crate::resources::postgres_schemas::{schema_verdict, SchemaVerdict};
use crate::resources::vault_role_rules::ttl_secs;
use crate::sql;

/// Vault's defaults for the pool options (what a null attribute stands for).
pub(super) const DEFAULT_MAX_OPEN: i64 = 4;
/// Vault's default `max_idle_connections`.
pub(super) const DEFAULT_MAX_IDLE: i64 = 0;
/// Vault's default `max_connection_lifetime` (seconds).
pub(super) const DEFAULT_LIFETIME: i64 = 0;

/// Whether a new connection gets a dedicated admin when the configuration does not say:
/// on PostgreSQL and MySQL, unless it gives its own URL or credentials (`given`).
pub(super) fn dedicated_by_default(engine: Engine, given: bool) -> bool {
    offers_dedicated(engine) && !given
}

/// Whether the provider makes dedicated Vault admins for `engine` (not Redis).
pub(super) fn offers_dedicated(engine: Engine) -> bool {
    matches!(engine, Engine::Postgres | Engine::Mysql)
}

/// The dedicated admin login of connection `<mount>/<name>` on `engine` (MySQL account
/// names hold at most 32 characters).
pub(super) fn dedicated_login(engine: Engine, mount: &str, name: &str) -> String {
    match engine {
        Engine::Mysql => sql::vault_admin_mysql_login(mount, name),
        _ => sql::vault_admin_login(mount, name),
    }
}

/// Why `dedicated_admin = true` cannot hold for this configuration, if it cannot:
/// `(summary, detail)` for a diagnostic at `dedicated_admin`. `password`: the
/// configuration gives a password (the dedicated login's is made by the provider and
/// rotated by Vault). A `username` is checked at plan, against the login's name.
pub(super) fn refuse_dedicated(engine: Option<Engine>, password: bool) -> Option<(String, String)> {
    if password {
        return Some((
            "dedicated_admin conflicts with a given password".into(),
            "A dedicated Vault admin's password is set by the provider and rotated by Vault at once, so no one holds it; remove `password` and `password_wo`, or set `dedicated_admin = false` to hand Vault the login you give.".into(),
        ));
    }
    match engine? {
        Engine::Postgres | Engine::Mysql => None,
        Engine::Redis => Some((
            "No dedicated Vault admin for Redis".into(),
            "Vault needs ACL SETUSER to make Redis logins, and a Redis user that may run ACL SETUSER can give itself every command, key and channel: a dedicated Redis admin would hold as much as the provider's admin. Set `dedicated_admin = false` (the default for Redis) or leave it unset.".into(),
        )),
    }
}

/// The `root_rotation_statements` planned when the configuration gives none: the
/// dedicated admin changes its own password (PostgreSQL: a login may; MySQL: through
/// `dbaas_vault.set_own_password`, as MariaDB refuses `ALTER USER CURRENT_USER()`
/// without CREATE USER); otherwise none (Vault's plugin default).
pub(super) fn root_rotation_default(dedicated: bool, engine: Engine) -> Vec<String> {
    match (dedicated, engine) {
        (true, Engine::Mysql) => vec![sql::VAULT_ADMIN_MYSQL_ROOT_ROTATION.to_string()],
        (true, _) => vec![sql::VAULT_ADMIN_ROOT_ROTATION.to_string()],
        (false, _) => Vec::new(),
    }
}

/// What a create or update does about the admin login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AdminStep {
    /// Vault gets the given (or the provider's) credentials; `drop_dedicated`: a
    /// dedicated login the connection had goes, after Vault stops using it.
    Given {
        /// The prior state had a dedicated login.
        drop_dedicated: bool,
    },
    /// A dedicated login is made, handed to Vault, and Vault rotates its password.
    NewLogin,
    /// The dedicated login stays: Vault keeps the password it rotated (the written body
    /// carries none, and Vault merges it into the stored connection).
    SameLogin,
}

/// [`AdminStep`] from the prior state's choice (`None` on create), the planned one, and
/// whether Vault still connects as the planned login (`false`: the connection was
/// edited in Vault, so the login's password is set and rotated again).
pub(super) fn admin_step(prior: Option<bool>, planned: bool, same_login: bool) -> AdminStep {
    match (prior.unwrap_or(false), planned) {
        (true, true) if !same_login => AdminStep::NewLogin,
        (false, false) => AdminStep::Given {
            drop_dedicated: false,
        },
        (true, false) => AdminStep::Given {
            drop_dedicated: true,
        },
        (false, true) => AdminStep::NewLogin,
        (true, true) => AdminStep::SameLogin,
    }
}

/// The pass-through options as body fields: a null attribute sends Vault's default, so an
/// edit made in Vault is reverted. The pool options only for the SQL engines.
pub(super) fn option_fields(m: &Model) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    out.insert("password_policy".into(), text(&m.password_policy).into());
    out.insert("plugin_version".into(), text(&m.plugin_version).into());
    if let Some(statements) = m.root_rotation_statements.as_option() {
        out.insert("root_rotation_statements".into(), statements.clone().into());
    }
    if m.engine == Engine::Redis {
        if let Some(t) = &m.username_template {
            out.insert("username_template".into(), t.clone().into());
        }
        return out;
    }
    out.insert(
        "username_template".into(),
        text(&m.username_template).into(),
    );
    out.insert(
        "max_open_connections".into(),
        m.max_open_connections.unwrap_or(DEFAULT_MAX_OPEN).into(),
    );
    out.insert(
        "max_idle_connections".into(),
        m.max_idle_connections.unwrap_or(DEFAULT_MAX_IDLE).into(),
    );
    out.insert(
        "max_connection_lifetime".into(),
        format!("{}s", m.max_connection_lifetime.unwrap_or(DEFAULT_LIFETIME)).into(),
    );
    out
}

/// An option read back: what Vault holds, except that Vault's default reads as null
/// when the state had null (so an unset option plans no change); absent in Vault, the
/// state's value stays.
pub(super) fn read_option<T: PartialEq>(
    prior: Option<T>,
    vault: Option<T>,
    default: T,
) -> Option<T> {
    match vault {
        None => prior,
        Some(v) if prior.is_none() && v == default => None,
        Some(v) => Some(v),
    }
}

/// The state `s` with the options read back from the connection's `data`.
pub(super) fn refreshed_options(mut s: Model, data: &serde_json::Value) -> Model {
    let details = &data["connection_details"];
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    s.password_policy = read_option(
        s.password_policy,
        text(&data["password_policy"]),
        String::new(),
    );
    s.plugin_version = read_option(
        s.plugin_version,
        text(&data["plugin_version"]),
        String::new(),
    );
    s.username_template = read_option(
        s.username_template,
        text(&details["username_template"]),
        String::new(),
    );
    s.max_open_connections = read_option(
        s.max_open_connections,
        details["max_open_connections"].as_i64(),
        DEFAULT_MAX_OPEN,
    );
    s.max_idle_connections = read_option(
        s.max_idle_connections,
        details["max_idle_connections"].as_i64(),
        DEFAULT_MAX_IDLE,
    );
    s.max_connection_lifetime = read_option(
        s.max_connection_lifetime,
        ttl_secs(&details["max_connection_lifetime"]),
        DEFAULT_LIFETIME,
    );
    if let Some(list) = data["root_credentials_rotate_statements"].as_array() {
        s.root_rotation_statements = tfplugin::Known::Value(
            list.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
        );
    }
    if s.dedicated_admin.as_option().is_none() {
        // Import: a connection whose admin is named like a dedicated login is one.
        let user = s
            .username
            .as_option()
            .map(String::as_str)
            .unwrap_or_default();
        s.dedicated_admin =
            tfplugin::Known::Value(offers_dedicated(s.engine) && sql::is_vault_admin_login(user));
    }
    s
}

/// What to do with a login found where the dedicated login of `<mount>/<name>` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    /// No such role: create it.
    Absent,
    /// It carries this connection's marker: reset it.
    Ours,
    /// Someone else's role: refuse, never touch it.
    Foreign(String),
}

/// [`Found`] from the comment of the role of that name (`None`: no role).
pub(super) fn found(login: &str, comment: Option<Option<&str>>, marker: &str) -> Found {
    match comment {
        None => Found::Absent,
        Some(Some(c)) if c == marker => Found::Ours,
        Some(c) => Found::Foreign(format!(
            "A role named {login:?} exists and is not this connection's Vault admin (its comment is {:?}, not {marker:?}). The provider neither uses nor changes it: drop or rename it, or give the connection another name.",
            c.unwrap_or("")
        )),
    }
}

/// A fresh password for the login, known to the provider only until Vault rotates it.
fn fresh_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect()
}

/// Installs the functions (refusing a schema someone else could have planted) and makes
/// the dedicated login of `<mount>/<name>`; returns its password.
pub(super) async fn prepare_login(
    ctx: &Ctx<'_>,
    engine: Engine,
    mount: &str,
    name: &str,
    login: &str,
) -> Result<String, Error> {
    if engine == Engine::Mysql {
        return prepare_mysql_account(ctx, mount, name, login).await;
    }
    let cannot = "Cannot make the Vault admin login";
    let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
    check_schema(ctx).await?;
    let marker = sql::vault_admin_marker(mount, name);
    let facts = pg.role_facts(&[login]).await.or_diag(cannot)?;
    let comment = facts.first().map(|f| f.comment.as_deref());
    let exists = match found(login, comment, &marker) {
        Found::Absent => false,
        Found::Ours => true,
        Found::Foreign(why) => return Err(Error::at_attr("name", cannot, why)),
    };
    let password = fresh_password();
    pg.setup_vault_admin_login(login, &password, &marker, exists)
        .await
        .or_diag(cannot)?;
    Ok(password)
}

/// The functions' schema checked: absent, or the admin's and closed to others (else
/// refused, naming its owner).
async fn check_schema(ctx: &Ctx<'_>) -> Result<(), Error> {
    let cannot = "Cannot install the Vault admin's functions";
    let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
    let facts = pg.vault_admin_schema().await.or_diag(cannot)?;
    let db = ctx
        .client
        .settings
        .postgres
        .as_ref()
        .map(|p| p.database.clone())
        .unwrap_or_default();
    match schema_verdict(&db, sql::VAULT_ADMIN_SCHEMA, facts.as_ref()) {
        SchemaVerdict::Create | SchemaVerdict::Use => Ok(()),
        SchemaVerdict::Refuse(why) => Err(Error::at_attr("dedicated_admin", cannot, why)),
    }
}

/// The functions' schema checked, then the functions (re)defined.
pub(super) async fn install_functions(ctx: &Ctx<'_>, engine: Engine) -> Result<(), Error> {
    if engine == Engine::Mysql {
        check_mysql_schema(ctx).await?;
        let my = ctx.client.mysql().await.or_reach("MySQL")?;
        return my
            .install_vault_admin_procedures()
            .await
            .or_diag("Cannot install the Vault admin's procedures");
    }
    check_schema(ctx).await?;
    let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
    pg.install_vault_admin_functions()
        .await
        .or_diag("Cannot install the Vault admin's functions")
}

/// Drops the dedicated login `login` of `<mount>/<name>` if it carries that connection's
/// marker (and the functions with the last such login); a role without it is left, with
/// a warning.
pub(super) async fn drop_login(
    ctx: &mut Ctx<'_>,
    engine: Engine,
    mount: &str,
    name: &str,
    login: &str,
) -> Result<(), Error> {
    if engine == Engine::Mysql {
        return drop_mysql_account(ctx, mount, name, login).await;
    }
    let cannot = format!("Cannot drop the Vault admin login {login:?}");
    let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
    let facts = pg.role_facts(&[login]).await.or_diag(&cannot)?;
    let comment = facts.first().map(|f| f.comment.as_deref());
    match found(login, comment, &sql::vault_admin_marker(mount, name)) {
        Found::Absent => Ok(()),
        Found::Ours => pg.drop_vault_admin_login(login).await.or_diag(&cannot),
        Found::Foreign(why) => {
            ctx.diags
                .warning(format!("Left role {login:?} in place"), why);
            Ok(())
        }
    }
}

/// [`Found`] for a MySQL account: whether `<login>`@`%` exists, and the marker
/// `dbaas_vault.admins` records for it. An account the provider did not record is
/// someone else's.
pub(super) fn found_mysql(
    login: &str,
    exists: bool,
    recorded: Option<&str>,
    marker: &str,
) -> Found {
    match (exists, recorded) {
        (false, _) => Found::Absent,
        (true, Some(m)) if m == marker => Found::Ours,
        (true, other) => Found::Foreign(format!(
            "A MySQL account named '{login}'@'%' exists and is not this connection's Vault admin (dbaas_vault.admins records {:?} for it, not {marker:?}). The provider neither uses nor changes it: drop it, or give the connection another name.",
            other.unwrap_or("nothing")
        )),
    }
}

/// Refuses a `dbaas_vault` schema that others hold grants on (one the provider did not
/// make, or was changed by hand): a procedure planted or altered there would run as the
/// provider's admin.
pub(super) fn mysql_schema_refusal(foreign_grants: Option<i64>) -> Option<String> {
    match foreign_grants {
        Some(n) if n > 0 => Some(format!("Schema dbaas_vault exists and {n} grant(s) on it are not the Vault admins' EXECUTE on its procedures: someone else could define or change what runs there as the provider's admin. Drop the schema (or those grants) and apply again.")),
        _ => None,
    }
}

/// The MySQL procedures' schema checked (absent, or with no grant but the admins').
async fn check_mysql_schema(ctx: &Ctx<'_>) -> Result<(), Error> {
    let cannot = "Cannot install the Vault admin's procedures";
    let my = ctx.client.mysql().await.or_reach("MySQL")?;
    let grants = my
        .vault_admin_schema_foreign_grants()
        .await
        .or_diag(cannot)?;
    match mysql_schema_refusal(grants) {
        Some(why) => Err(Error::at_attr("dedicated_admin", cannot, why)),
        None => Ok(()),
    }
}

/// MySQL: the procedures installed and the dedicated account of `<mount>/<name>` made
/// (or its password reset, when it is ours); returns its password.
async fn prepare_mysql_account(
    ctx: &Ctx<'_>,
    mount: &str,
    name: &str,
    login: &str,
) -> Result<String, Error> {
    let cannot = "Cannot make the Vault admin account";
    check_mysql_schema(ctx).await?;
    let my = ctx.client.mysql().await.or_reach("MySQL")?;
    let marker = sql::vault_admin_marker(mount, name);
    let account = my.vault_admin_account(login).await.or_diag(cannot)?;
    let exists = match found_mysql(login, account.exists, account.marker.as_deref(), &marker) {
        Found::Absent => false,
        Found::Ours => true,
        Found::Foreign(why) => return Err(Error::at_attr("name", cannot, why)),
    };
    let password = fresh_password();
    my.setup_vault_admin_account(login, &password, &marker, exists)
        .await
        .or_diag(cannot)?;
    Ok(password)
}

/// MySQL: drops the dedicated account of `<mount>/<name>` when it is recorded as that
/// connection's (and the schema with the last one); another account is left, with a
/// warning.
async fn drop_mysql_account(
    ctx: &mut Ctx<'_>,
    mount: &str,
    name: &str,
    login: &str,
) -> Result<(), Error> {
    let cannot = format!("Cannot drop the Vault admin account {login:?}");
    let my = ctx.client.mysql().await.or_reach("MySQL")?;
    let account = my.vault_admin_account(login).await.or_diag(&cannot)?;
    let marker = sql::vault_admin_marker(mount, name);
    match found_mysql(login, account.exists, account.marker.as_deref(), &marker) {
        Found::Absent => Ok(()),
        Found::Ours => my.drop_vault_admin_account(login).await.or_diag(&cannot),
        Found::Foreign(why) => {
            ctx.diags
                .warning(format!("Left MySQL account {login:?} in place"), why);
            Ok(())
        }
    }
}

/// Whether the dedicated login `login` of an `engine` connection is gone (`None`: could
/// not tell).
pub(super) async fn login_gone(ctx: &Ctx<'_>, engine: Engine, login: &str) -> Option<bool> {
    match engine {
        Engine::Mysql => {
            let my = ctx.client.mysql().await.ok()?;
            my.vault_admin_account(login).await.ok().map(|a| !a.exists)
        }
        _ => {
            let pg = ctx.client.postgres().await.ok()?;
            pg.role_facts(&[login]).await.ok().map(|f| f.is_empty())
        }
    }
}
