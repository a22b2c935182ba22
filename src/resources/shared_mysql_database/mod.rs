//! `dbaas_shared_mysql_database`: one tenant database on the shared MySQL (InnoDB
//! Cluster; MariaDB in tests) with its default character set and collation. Works on
//! MySQL 8 and MariaDB: the backend detects the server once and picks the dialect.
//! It warns when existing database-level grants (wildcards, stale grants of a dropped
//! namesake) would let other accounts reach the new database. Destroy takes the logins
//! Vault issued for the database with it and revokes what other accounts hold on it
//! (`mysql_accounts` decides which is which).
//! Each CRUD method observes (backend reads), hands the facts to a pure decision in
//! `decide.rs` (table-tested), then executes the step it returns.

use serde::{Deserialize, Serialize};
use tfplugin::{Applied, Cancel, Error, Failure, OrDiag, OrTaint};
use tfplugin::{Attribute, Block, ClientInfo, Diagnostics, Known, Plan, Schema, Validator, Value};

use crate::backends::mysql::{Mysql, MysqlError, SchemaInfo};
use crate::backends::Backends;
use crate::enums::Engine;
use crate::resources::common::OrReach;
use crate::resources::common::{
    attribute_error, check_no_nul, decode, import_name, merge, read_private, Ctx,
};
use crate::resources::mysql_accounts::{self, Teardown};
use crate::sql;

mod decide;
#[cfg(test)]
mod tests;

use decide::{CreateFailed, CreateStep, CutCreate, Found, Gate, Refusal, Seen};

/// The resource type.
pub struct SharedMysqlDatabase;

/// Plan and state of one database, attribute by attribute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    id: Known<String>,
    name: String,
    charset: String,
    collation: Known<String>,
    /// Null only in hand-made states; treated as protected.
    deletion_protection: Option<bool>,
    host: Known<String>,
    port: Known<i64>,
}

/// What the charset rules look at in a configuration or plan (any of it may be unknown).
#[derive(Debug, Deserialize)]
struct CharsetPart {
    charset: Known<String>,
    collation: Known<String>,
}

/// The one attribute `modify_plan` may change.
#[derive(Serialize)]
struct CollationEdit {
    collation: Known<String>,
}

/// `charset` when the configuration leaves it out.
const DEFAULT_CHARSET: &str = "utf8mb4";

/// Schemas the server itself owns (compared case-insensitively).
const RESERVED: &[&str] = &["mysql", "sys", "information_schema", "performance_schema"];
/// MySQL's identifier limit for databases.
const MAX_NAME: usize = 64;

/// Whether `s` is a tenant database name: `^[a-zA-Z0-9_]{1,64}$`, not a system schema.
pub fn check_name(s: &str) -> Result<(), String> {
    check_no_nul(s)?;
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("{s:?} may contain only letters a-z and A-Z, digits and `_` (so it never needs quoting in an app's connection string)"));
    }
    if s.len() > MAX_NAME {
        return Err(format!(
            "{s:?} is {} characters long; at most {MAX_NAME} are allowed",
            s.len()
        ));
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return Err(format!("{s:?} is a system schema of MySQL"));
    }
    Ok(())
}

/// Character set and collation names as the server reports them: lower-case letters,
/// digits and `_`. `utf8` and `utf8_*` are refused: they are aliases whose meaning
/// depends on the server (utf8mb3 today, utf8mb4 on some MariaDB settings), and the
/// server would report another name than the configured one on every plan.
fn check_charset_name(what: &str, s: &str) -> Result<(), String> {
    check_no_nul(s)?;
    if s.is_empty()
        || s.len() > 64
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "{s:?} is not a {what} name: lower-case letters, digits and `_`, as `SHOW {}` lists them",
            if what == "collation" { "COLLATION" } else { "CHARACTER SET" }
        ));
    }
    if s == "utf8" || s.starts_with("utf8_") {
        return Err(format!("{s:?} uses the alias `utf8`, which the server reports as `utf8mb3` (or `utf8mb4`); write `utf8mb4` (recommended) or `utf8mb3` explicitly"));
    }
    Ok(())
}

/// A collation belongs to its character set when its name starts with `<charset>_`
/// (MariaDB's short `uca1400_*` names are stored under their full `utf8mb4_uca1400_*`).
fn collation_matches(charset: &str, collation: &str) -> bool {
    (charset == "binary" && collation == "binary")
        || collation
            .strip_prefix(charset)
            .is_some_and(|rest| rest.starts_with('_'))
}

/// A name or value the SQL builders refused (a NUL byte): nothing was sent.
fn unquotable(e: sql::BadIdentifier) -> Error {
    Error::new(
        "Invalid name or value",
        format!("{e}. Nothing was sent to MySQL."),
    )
}

fn state_from(base: &Model, info: &SchemaInfo, endpoint: (String, u16)) -> Model {
    Model {
        id: Known::Value(base.name.clone()),
        charset: info.charset.clone(),
        collation: Known::Value(info.collation.clone()),
        host: Known::Value(endpoint.0),
        port: Known::Value(endpoint.1.into()),
        ..base.clone()
    }
}

fn endpoint(ctx: &Ctx<'_>) -> (String, u16) {
    ctx.client.app_endpoint(Engine::Mysql).unwrap_or_default()
}

/// Warns when accounts already hold database-level grants that reach `name`.
async fn warn_about_grants(diags: &mut Diagnostics, mysql: &Mysql, name: &str) {
    match mysql.grants_reaching(name).await {
        Ok(grantees) if !grantees.is_empty() => {
            let list = grantees
                .iter()
                .map(|g| format!("'{}'@'{}' (grant on `{}`)", g.user, g.host, g.pattern))
                .collect::<Vec<_>>()
                .join(", ");
            diags.warning(
                format!("Other accounts can reach database {name:?}"),
                format!("Grants that existed before this database reach it, so these accounts can use it: {list}. In database-level grants `_` and `%` are wildcards (escape them as `\\_`), and database, table and routine grants outlive a dropped database (one dropped outside this provider: its destroy revokes them). Revoke the ones that are not meant for this tenant."),
            );
        }
        Ok(_) => {}
        // Reading mysql.db needs a privilege the admin may lack; the check is advisory.
        Err(e) => tracing::debug!(error = %e, "cannot check database-level grants"),
    }
}

/// Private state of an instance whose create made the database but did not finish:
/// Terraform keeps it tainted, and destroy may drop it despite `deletion_protection`
/// (it was never handed out).
const CREATE_PENDING_PRIVATE: &[u8] = br#"{"create_pending":true}"#;

/// The private state this resource reads (anything else in it is ignored).
#[derive(Default, Deserialize)]
struct Private {
    #[serde(default)]
    create_pending: bool,
}

/// Whether `private` says the create of this instance never finished.
fn create_pending(private: &[u8]) -> bool {
    read_private::<Private>(private).create_pending
}

/// The marker a create writes into the database comment (MariaDB) until it finishes.
const MARKER: &str = sql::MYSQL_CREATE_PENDING_MARKER;

/// How a create's read-back and marker clearing retry: attempts, and the pause between.
const RETRIES: usize = 20;
/// The pause between two retries.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// Waits between two retries; `false` when Terraform asked the provider to stop first.
async fn pause(cancel: &Cancel) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(RETRY_PAUSE) => true,
    }
}

/// The error of a step after `CREATE DATABASE`: the database exists, so the instance is
/// recorded tainted and replaced.
fn finish_failed(name: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        format!("Cannot finish creating database {name:?}"),
        format!("{e}. The database exists: Terraform marks it tainted and replaces it on the next apply."),
    )
}

/// Checks charset and collation against the server before any DDL, so a typo becomes a
/// diagnostic on the attribute instead of a server error; `fail` words a server error.
async fn check_charset(
    mysql: &Mysql,
    charset: &str,
    collation: Option<&str>,
    fail: &(dyn Fn(MysqlError) -> Error + Sync),
) -> Result<(), Error> {
    let check = mysql
        .charset_check(charset, collation)
        .await
        .map_err(fail)?;
    let verdict = (check.known, check.collation_applies);
    Ok(decide::charset_verdict(charset, collation, verdict)?)
}

/// Observes what exists under the name a create wants.
async fn observe_name(mysql: &Mysql, name: &str) -> Result<Found, MysqlError> {
    if mysql.schema(name).await?.is_none() {
        return Ok(Found::Nothing);
    }
    let comment = mysql.schema_comment(name).await?;
    Ok(decide::found(true, comment.as_deref(), MARKER))
}

/// `CREATE DATABASE` (with the marker where the server keeps comments). A statement cut
/// off by a lost connection may have run: the marker, looked for again, tells.
async fn create_database(
    diags: &mut Diagnostics,
    mysql: &Mysql,
    planned: &Model,
    comments: bool,
    fail: &(dyn Fn(MysqlError) -> Error + Sync),
) -> Result<(), Error> {
    let name = &planned.name;
    let collation = planned.collation.as_option().map(String::as_str);
    let marker = comments.then_some(MARKER);
    let create = [
        sql::mysql_create_database(name, &planned.charset, collation, marker)
            .map_err(unquotable)?,
    ];
    let Err(e) = mysql.exec(&create).await else {
        return Ok(());
    };
    match decide::create_failed(e.code) {
        CreateFailed::Concurrent => Err(Refusal::CreatedConcurrently(name.clone()).into()),
        CreateFailed::Refused => Err(fail(e)),
        CreateFailed::LookAgain => {
            let seen = match mysql.schema_comment(name).await {
                Ok(c) => Some(c.as_deref() == Some(MARKER)),
                Err(again) => {
                    tracing::debug!(error = %again, "cannot check whether CREATE DATABASE ran");
                    None
                }
            };
            match decide::cut_create(seen, comments) {
                CutCreate::Ran => Ok(()),
                CutCreate::Failed { warn_unknown } => {
                    if warn_unknown {
                        diags.warning(
                            format!("Whether database {name:?} was created is unknown"),
                            "MySQL 8 keeps no database comment, so a database created by a CREATE whose connection was cut cannot be told apart from a foreign one. If the next apply says it already exists, import it.",
                        );
                    }
                    Err(fail(e))
                }
            }
        }
    }
}

/// The state of a create that made the database but did not finish (recorded tainted).
fn pending_state(planned: &Model, (host, port): (String, u16)) -> Model {
    Model {
        id: Known::Value(planned.name.clone()),
        host: Known::Value(host),
        port: Known::Value(port.into()),
        collation: match &planned.collation {
            Known::Unknown => Known::Null,
            c => c.clone(),
        },
        ..planned.clone()
    }
}

/// The steps after `CREATE DATABASE`: align charset/collation when resuming, read the
/// database back, clear the marker. A failure returns the partial state with the
/// error, so Terraform records the instance as tainted and replaces it next time.
async fn finish_create(
    ctx: &mut Ctx<'_>,
    mysql: &Mysql,
    planned: &Model,
    resuming: bool,
) -> Applied<Model> {
    match finish_steps(&ctx.cancel, mysql, planned, resuming).await {
        Ok(info) => {
            ctx.private = Vec::new();
            Ok(state_from(planned, &info, endpoint(ctx)))
        }
        Err(Failure::Tainted { error, .. }) => {
            ctx.private = CREATE_PENDING_PRIVATE.to_vec();
            Err(error.tainted(pending_state(planned, endpoint(ctx))))
        }
        Err(Failure::Error(e)) => Err(e.into()),
    }
}

/// [`finish_create`]'s steps; a tainted failure (its partial object is made by the caller).
async fn finish_steps(
    cancel: &Cancel,
    mysql: &Mysql,
    planned: &Model,
    resuming: bool,
) -> Result<SchemaInfo, Failure<()>> {
    let name = &planned.name;
    let fail = |e: MysqlError| finish_failed(name, e);
    if resuming {
        let collation = planned.collation.as_option().map(String::as_str);
        check_charset(mysql, &planned.charset, collation, &fail)
            .await
            .or_taint(&())?;
        let alter = sql::mysql_alter_database(name, &planned.charset, collation)
            .map_err(unquotable)
            .or_taint(&())?;
        mysql.exec(&[alter]).await.map_err(fail).or_taint(&())?;
    }
    let info = match read_back(cancel, mysql, name).await.or_taint(&())? {
        Some(info) => info,
        None => {
            return Err(Error::new(
                format!("Database {name:?} vanished right after creation"),
                "Something dropped it concurrently.",
            )
            .into())
        }
    };
    // Last: clear the marker. Until then a cut-off create leaves it, so the next create
    // resumes and a destroy of the tainted instance knows the database is its own.
    if matches!(mysql.dialect().await, Ok(d) if d.schema_comments()) {
        let clear = [sql::mysql_set_database_comment(name, "")
            .map_err(unquotable)
            .or_taint(&())?];
        if let Err(e) = mysql.exec(&clear).await {
            clear_again(cancel, mysql, name, &clear, e)
                .await
                .map_err(fail)
                .or_taint(&())?;
        }
    }
    Ok(info)
}

/// Reads the database just made, retrying a failed read for a while (a connection cut
/// right after the create); ends early when Terraform asks the provider to stop.
async fn read_back(
    cancel: &Cancel,
    mysql: &Mysql,
    name: &str,
) -> Result<Option<SchemaInfo>, Error> {
    let mut read = mysql.schema(name).await;
    for _ in 0..RETRIES {
        if read.is_ok() {
            break;
        }
        if !pause(cancel).await {
            return Err(finish_failed(name, "Terraform asked the provider to stop"));
        }
        read = mysql.schema(name).await;
    }
    read.map_err(|e| finish_failed(name, e))
}

/// After a failed clear of the marker: the clear may have run before the connection
/// died, so look again for a while on fresh connections (clearing again while it is
/// there) rather than leaving a finished database tainted (its replacement would then
/// meet deletion_protection). The last error when it never got through.
async fn clear_again(
    cancel: &Cancel,
    mysql: &Mysql,
    name: &str,
    clear: &[String],
    mut e: MysqlError,
) -> Result<(), MysqlError> {
    for _ in 0..RETRIES {
        if !pause(cancel).await {
            return Err(e);
        }
        match mysql.schema_comment(name).await {
            Ok(Some(c)) if c == MARKER => match mysql.exec(clear).await {
                Ok(()) => return Ok(()),
                Err(again) => e = again,
            },
            Ok(_) => return Ok(()),
            Err(again) => e = again,
        }
    }
    Err(e)
}

/// What a protected destroy looks at: whether the database exists and bears the marker.
/// MySQL unreachable or unreadable reads as present (protection holds).
async fn look_before_destroy(client: &Backends, name: &str) -> Seen {
    let Ok(mysql) = client.mysql().await else {
        return Seen::NotLooked;
    };
    if let Ok(None) = mysql.schema(name).await {
        return Seen::Gone;
    }
    match mysql.schema_comment(name).await {
        Ok(Some(c)) if c == MARKER => Seen::Marked,
        _ => Seen::Present,
    }
}

/// Drops the database with what [`mysql_accounts::teardown`] decided: locks, unproxies
/// and revokes first, ends the sessions, drops the database, then the logins (after it:
/// MySQL 8 refuses to drop a user still named as the DEFINER of a stored object). Returns
/// the logins dropped, and those left locked with the reason.
async fn drop_with_accounts(
    mysql: &Mysql,
    name: &str,
    t: &Teardown,
    cannot: &str,
) -> Result<(Vec<String>, Vec<String>), Error> {
    let drop_database = sql::mysql_drop_database(name).map_err(unquotable)?;
    let drop_users = t
        .drop
        .iter()
        .map(sql::mysql::mysql_drop_user)
        .collect::<Result<Vec<_>, _>>()
        .map_err(unquotable)?;
    let before = mysql_accounts::teardown_statements(t).map_err(unquotable)?;
    mysql.exec(&before).await.or_diag(cannot)?;
    let sessions = mysql.sessions().await.or_diag(cannot)?;
    let ids = mysql_accounts::sessions_to_end(&sessions, name, &t.drop);
    mysql.end_sessions(&ids).await.or_diag(cannot)?;
    mysql.exec(&[drop_database]).await.or_diag(cannot)?;
    let (mut dropped, mut locked) = (Vec::new(), Vec::new());
    for (login, statement) in t.drop.iter().zip(drop_users) {
        match mysql.exec(&[statement]).await {
            Ok(()) => dropped.push(login.display()),
            Err(e) => locked.push(format!("{} ({})", login.display(), e.message)),
        }
    }
    Ok((dropped, locked))
}

#[async_trait::async_trait]
impl tfplugin::ResourceType<Backends> for SharedMysqlDatabase {
    fn type_name(&self) -> &'static str {
        "dbaas_shared_mysql_database"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "A tenant database on the shared MySQL (InnoDB Cluster, MySQL 8; MariaDB works too), with its default character set and collation. Only accounts granted on it can use it: new accounts have no access to any database, and the provider warns when existing grants (wildcards such as `app_%`, or stale grants of a dropped database of the same name) would reach it. Destroy (when `deletion_protection = false`) drops the database and leaves no way into a later database of the same name: the logins Vault issued for it (named as Vault names them, holding grants on this database only) are locked, their sessions ended, and dropped; every other account and role (`PUBLIC` too) loses its grants on the database (database, table with its columns, and routine level) and keeps the rest; every session inside the database is ended; each is named in a warning. Grants whose `_`/`%` wildcards also match other databases are left in place and named.",
            )
            .timeouts(tfplugin::timeouts::Op::ALL)
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("The database name."))
            .attr(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .description("Database name: letters, digits and `_`, at most 64 characters; not `mysql`, `sys`, `information_schema` or `performance_schema`.")
                    .validate(Validator::new("letters, digits and `_`, 1 to 64 characters, not a system schema", |v| check_name(v.as_str().unwrap_or_default()))),
            )
            .attr(
                Attribute::string("charset")
                    .default(Value::string(DEFAULT_CHARSET))
                    .description("Default character set, e.g. `utf8mb4` (the default) or `latin1`. Changing it runs `ALTER DATABASE` in place: new tables get it, existing tables keep theirs.")
                    .validate(Validator::new("a character set name", |v| check_charset_name("character set", v.as_str().unwrap_or_default()))),
            )
            .attr(
                Attribute::string("collation")
                    .optional()
                    .computed()
                    .use_state_for_unknown()
                    .description("Default collation, e.g. `utf8mb4_unicode_ci`; must belong to `charset`. Default: the server's default for the character set (`utf8mb4_0900_ai_ci` on MySQL 8, `utf8mb4_general_ci` on MariaDB 10.11). Changing it runs `ALTER DATABASE` in place.")
                    .validate(Validator::new("a collation name", |v| check_charset_name("collation", v.as_str().unwrap_or_default()))),
            )
            .attr(Attribute::bool("deletion_protection").default(Value::Bool(true)).description("While `true`, the database and its data are kept: a change that forces a replacement is refused at plan, and a destroy too (at plan on Terraform 1.3 and later, at apply on older ones). Set `false` and apply before destroying. A database whose create never finished (tainted) can be destroyed or replaced regardless."))
            .attr(Attribute::string("host").computed().use_state_for_unknown().description("Host apps use (`mysql.host`)."))
            .attr(Attribute::number("port").computed().use_state_for_unknown().description("Port apps use (`mysql.port`).")),
        )
    }

    async fn validate(&self, config: &Value, _info: &ClientInfo, diags: &mut Diagnostics) {
        let Some(c) = decode::<CharsetPart>(diags, config) else {
            return;
        };
        let charset = c
            .charset
            .as_option()
            .map_or(DEFAULT_CHARSET, String::as_str);
        if let (Some(collation), false) = (c.collation.as_option(), c.charset.is_unknown()) {
            if !collation_matches(charset, collation) {
                attribute_error(
                    diags,
                    "collation",
                    "Collation does not belong to the character set",
                    format!("{collation:?} is not a collation of {charset:?}: its name must start with `{charset}_` (for MariaDB's `uca1400` collations write the full name, e.g. `{charset}_uca1400_ai_ci`)."),
                );
            }
        }
    }

    async fn modify_plan(&self, plan: &mut Plan<'_>) {
        // A new character set brings its own default collation, chosen by the server.
        if plan.prior.is_null() {
            return;
        }
        let (Some(prior), Some(config), Some(planned)) = (
            decode::<CharsetPart>(&mut plan.diags, plan.prior),
            decode::<CharsetPart>(&mut plan.diags, plan.config),
            decode::<CharsetPart>(&mut plan.diags, &plan.planned),
        ) else {
            return;
        };
        if config.collation.is_null() && planned.charset != prior.charset {
            // Only the collation is written back: the rest of the plan stays as it was.
            merge(
                &mut plan.diags,
                &mut plan.planned,
                &CollationEdit {
                    collation: Known::Unknown,
                },
            );
        }
    }

    fn plan_with_client(&self, client: &Backends, plan: &mut Plan<'_>) {
        // Issue 21: id, host and port planned known; an absent `mysql` block refused.
        let needs = crate::resources::known_at_plan::Needs {
            block: "mysql",
            attr: "name",
            does: "creates and manages the database through the provider's MySQL admin login",
        };
        crate::resources::known_at_plan::plan_store(
            plan,
            &client.settings,
            "dbaas_shared_mysql_database",
            crate::enums::Engine::Mysql,
            needs,
        );
    }

    fn plan_replace(&self, prior_private: &[u8], plan: &mut Plan<'_>) {
        let Some(prior) = decode::<Model>(&mut plan.diags, plan.prior) else {
            return;
        };
        let protected = prior.deletion_protection.unwrap_or(true);
        let forced_by = plan
            .requires_replace
            .iter()
            .map(|p| p.to_string())
            .collect();
        let pending = create_pending(prior_private);
        if let Err(r) = decide::replacement_gate(&prior.name, protected, pending, forced_by) {
            r.error().report(&mut plan.diags);
        }
    }

    async fn plan_destroy(
        &self,
        client: &Backends,
        prior: &Value,
        prior_private: &[u8],
        diags: &mut Diagnostics,
    ) {
        let Some(prior) = decode::<Model>(diags, prior) else {
            return;
        };
        // The destroy gate on what the apply would see, so the plan refuses what it would.
        let (name, protected) = (&prior.name, prior.deletion_protection.unwrap_or(true));
        let pending = create_pending(prior_private);
        let seen = if protected && !pending {
            look_before_destroy(client, name).await
        } else {
            Seen::NotLooked
        };
        if let Err(r) = decide::destroy_gate(name, protected, pending, seen) {
            r.error().report(diags);
        }
    }

    async fn import(&self, ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
        if let Err(why) = check_name(id) {
            let why = format!("the id is the database name, and {why}");
            crate::resources::common::refuse_import_id(
                &mut ctx.diags,
                "dbaas_shared_mysql_database",
                &why,
                "app_db",
            );
            return;
        }
        import_name(&mut ctx.diags, state, id);
    }
}

#[async_trait::async_trait]
impl tfplugin::TypedResource<Backends> for SharedMysqlDatabase {
    type Model = Model;

    async fn create(&self, ctx: &mut Ctx<'_>, planned: Model, _config: &Value) -> Applied<Model> {
        let name = &planned.name;
        let mysql = ctx.client.mysql().await.or_reach("MySQL")?;
        let fail =
            |e: MysqlError| Error::new(format!("Cannot create database {name:?}"), e.to_string());
        let dialect = mysql.dialect().await.map_err(fail)?;
        let found = observe_name(mysql, name).await.map_err(fail)?;
        if decide::create_step(found, name)? == CreateStep::Resume {
            tracing::info!(database = %name, "resuming a create that never finished");
            return finish_create(ctx, mysql, &planned, true).await;
        }
        let collation = planned.collation.as_option().map(String::as_str);
        check_charset(mysql, &planned.charset, collation, &fail).await?;
        warn_about_grants(&mut ctx.diags, mysql, name).await;
        // On MariaDB the marker is written by the CREATE itself: a database bearing it can
        // only come from a create of this provider.
        let comments = dialect.schema_comments();
        create_database(&mut ctx.diags, mysql, &planned, comments, &fail).await?;
        finish_create(ctx, mysql, &planned, false).await
    }

    async fn read(&self, ctx: &mut Ctx<'_>, model: Model) -> Result<Option<Model>, Error> {
        let mysql = ctx.client.mysql().await.or_reach("MySQL")?;
        let found = mysql
            .schema(&model.name)
            .await
            .or_diag(format!("Cannot read database {:?}", model.name))?;
        Ok(found.map(|info| state_from(&model, &info, endpoint(ctx))))
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_>,
        prior: Model,
        planned: Model,
        _config: &Value,
    ) -> Applied<Model> {
        let name = &planned.name;
        let mysql = ctx.client.mysql().await.or_reach("MySQL")?;
        let fail =
            |e: MysqlError| Error::new(format!("Cannot update database {name:?}"), e.to_string());
        if prior.charset != planned.charset || prior.collation != planned.collation {
            let collation = planned.collation.as_option().map(String::as_str);
            check_charset(mysql, &planned.charset, collation, &fail).await?;
            let alter =
                sql::mysql_alter_database(name, &planned.charset, collation).map_err(unquotable)?;
            mysql.exec(&[alter]).await.map_err(fail)?;
        }
        match mysql.schema(name).await.map_err(fail)? {
            Some(info) => Ok(state_from(&planned, &info, endpoint(ctx))),
            None => Err(Error::new(
                format!("Database {name:?} disappeared during update"),
                "Something dropped it concurrently; the next plan will create it again.",
            )
            .into()),
        }
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let name = &prior.name;
        let protected = prior.deletion_protection.unwrap_or(true);
        // A create that never finished (its instance is tainted) made a database nobody
        // was handed: protection does not keep it. Known from the private state, or on
        // MariaDB from the marker that only a finished create clears.
        let pending = create_pending(&ctx.private);
        let seen = if protected && !pending {
            look_before_destroy(ctx.client, name).await
        } else {
            Seen::NotLooked
        };
        match decide::destroy_gate(name, protected, pending, seen)? {
            Gate::Nothing => return Ok(()),
            Gate::Drop { warn_unfinished } if warn_unfinished => {
                let (summary, detail) = decide::unfinished_warning(name);
                ctx.diags.warning(summary, detail);
            }
            Gate::Drop { .. } => {}
        }
        let mysql = ctx.client.mysql().await.or_reach("MySQL")?;
        let cannot = format!("Cannot drop database {name:?}");
        // The logins Vault issued for this database must not outlive it, nor may other
        // accounts keep grants that reach a later database of the same name.
        let access = mysql
            .database_access(name)
            .await
            .map_err(|e| Error::new(&cannot, decide::access_unreadable(e)))?;
        let teardown = mysql_accounts::teardown(name, mysql.admin_user(), &access);
        let (dropped, locked) = drop_with_accounts(mysql, name, &teardown, &cannot).await?;
        for (summary, detail) in decide::teardown_warnings(name, &teardown, &dropped, &locked) {
            ctx.diags.warning(summary, detail);
        }
        Ok(())
    }
}
