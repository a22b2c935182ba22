//! `dbaas_shared_mysql_database`: one tenant database on the shared MySQL (InnoDB
//! Cluster; MariaDB in tests) with its default character set and collation. Works on
//! MySQL 8 and MariaDB: the backend detects the server once and picks the dialect.
//! It warns when existing database-level grants (wildcards, stale grants of a dropped
//! namesake) would let other accounts reach the new database. Destroy takes the logins
//! Vault issued for the database with it and revokes what other accounts hold on it
//! (`mysql_accounts` decides which is which).

use crate::resources::common::{legacy_applied, legacy_done, legacy_read};
use serde::{Deserialize, Serialize};
use tfplugin::{Applied, Error};
use tfplugin::{Attribute, Block, ClientInfo, Diagnostics, Known, Plan, Schema, Validator, Value};

use crate::backends::mysql::{Mysql, MysqlError, SchemaInfo};
use crate::backends::Backends;
use crate::enums::Engine;
use crate::resources::common::{
    attribute_error, backend_error, check_no_nul, decode, import_name, merge, need, read_private,
    Ctx,
};
use crate::resources::mysql_accounts;
use crate::sql;

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

/// Records a name or value the SQL builders refused (a NUL byte): nothing was sent.
fn unquotable(diags: &mut Diagnostics, e: sql::BadIdentifier) {
    diags.error(
        "Invalid name or value",
        format!("{e}. Nothing was sent to MySQL."),
    );
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

/// Checks charset and collation against the server before any DDL, so a typo becomes a
/// diagnostic on the attribute instead of a server error. `false` when a diagnostic was
/// recorded: the check's own, or `fail`'s when the server could not be asked.
async fn server_knows(
    diags: &mut Diagnostics,
    mysql: &Mysql,
    charset: &str,
    collation: Option<&str>,
    fail: impl FnOnce(&mut Diagnostics, MysqlError),
) -> bool {
    let (known, applies) = match mysql.charset_check(charset, collation).await {
        Ok(verdict) => verdict,
        Err(e) => {
            fail(diags, e);
            return false;
        }
    };
    if !known {
        attribute_error(
            diags,
            "charset",
            "Unknown character set",
            format!("The server has no character set {charset:?}; `SHOW CHARACTER SET` lists those it has."),
        );
        return false;
    }
    if !applies {
        attribute_error(
            diags,
            "collation",
            "Unknown collation for this character set",
            format!("The server has no collation {:?} for character set {charset:?}; `SHOW COLLATION WHERE Charset = '{charset}'` lists them.", collation.unwrap_or_default()),
        );
        return false;
    }
    true
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

/// Names, after a destroy, the logins dropped or left locked and the accounts whose
/// grants were revoked or left.
fn warn_about_teardown(
    diags: &mut Diagnostics,
    name: &str,
    t: &mysql_accounts::Teardown,
    dropped: &[String],
    locked: &[String],
) {
    if !dropped.is_empty() {
        diags.warning(
            format!("Logins of database {name:?} dropped"),
            format!("These logins had been issued by Vault for this database alone; their sessions were ended and they were dropped (their Vault leases end without effect): {}.", dropped.join(", ")),
        );
    }
    if !locked.is_empty() {
        diags.warning(
            format!("Logins of database {name:?} locked but not dropped"),
            format!("Their sessions were ended and they are locked (ACCOUNT LOCK), but DROP USER failed: {}. Drop them by hand.", locked.join(", ")),
        );
    }
    if !t.unproxy.is_empty() {
        let list: Vec<String> = t
            .unproxy
            .iter()
            .map(|(login, proxy)| format!("{} on {}", proxy.display(), login.display()))
            .collect();
        diags.warning(
            format!("Proxy grants on the logins of {name:?} revoked"),
            format!(
                "These accounts could act as the dropped logins: {}.",
                list.join(", ")
            ),
        );
    }
    if !t.revoke.is_empty() {
        diags.warning(
            format!("Grants on database {name:?} revoked"),
            format!("These accounts and roles held privileges on the destroyed database; those were revoked (they keep everything else, and their sessions inside it were ended), so none of them reaches a later database of the same name: {}.", mysql_accounts::describe_grants(&t.revoke)),
        );
    }
    if !t.kept.is_empty() {
        let list: Vec<String> = t
            .kept
            .iter()
            .map(|(a, patterns)| format!("{} (`{}`.*)", a.display(), patterns.join("`.*, `")))
            .collect();
        diags.warning(
            format!("Wildcard grants still reach the name {name:?}"),
            format!("These grants use `_` or `%` as wildcards, so they are grants on other databases too and were left in place; a later database named {name:?} is open to them: {}. Revoke them, or escape the wildcards (`\\_`), if that is not meant.", list.join(", ")),
        );
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

/// A failed statement whose effect is unknown: the connection was cut (no server error,
/// or MariaDB's "connection was killed" / "query interrupted").
fn outcome_unknown(e: &MysqlError) -> bool {
    matches!(e.code, None | Some(1927 | 1317 | 2006 | 2013))
}

/// The steps after `CREATE DATABASE`: align charset/collation when resuming, clear the
/// marker, read the database back. A failure here returns the partial state with the
/// error, so Terraform records the instance as tainted and replaces it next time.
async fn finish_create(
    ctx: &mut Ctx<'_>,
    mysql: &Mysql,
    planned: &Model,
    resuming: bool,
) -> Option<Model> {
    let name = planned.name.clone();
    let charset = planned.charset.clone();
    let collation = planned.collation.as_option().cloned();
    let partial = |ctx: &mut Ctx<'_>| {
        ctx.private = CREATE_PENDING_PRIVATE.to_vec();
        let (host, port) = endpoint(ctx);
        let s = Model {
            id: Known::Value(name.clone()),
            host: Known::Value(host),
            port: Known::Value(port.into()),
            collation: match &planned.collation {
                Known::Unknown => Known::Null,
                c => c.clone(),
            },
            ..planned.clone()
        };
        Some(s)
    };
    let fail = |diags: &mut Diagnostics, e: MysqlError| {
        backend_error(
            diags,
            format!("Cannot finish creating database {name:?}"),
            format!("{e}. The database exists: Terraform marks it tainted and replaces it on the next apply."),
        )
    };
    let mut statements = Vec::new();
    if resuming {
        if !server_knows(&mut ctx.diags, mysql, &charset, collation.as_deref(), &fail).await {
            return partial(ctx);
        }
        match sql::mysql_alter_database(&name, &charset, collation.as_deref()) {
            Ok(s) => statements.push(s),
            Err(e) => {
                unquotable(&mut ctx.diags, e);
                return partial(ctx);
            }
        }
    }
    if !statements.is_empty() {
        if let Err(e) = mysql.exec(&statements).await {
            fail(&mut ctx.diags, e);
            return partial(ctx);
        }
    }
    let mut read = mysql.schema(&name).await;
    for _ in 0..20 {
        if read.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        read = mysql.schema(&name).await;
    }
    let info = match read {
        Ok(Some(info)) => info,
        Ok(None) => {
            ctx.diags.error(
                format!("Database {name:?} vanished right after creation"),
                "Something dropped it concurrently.",
            );
            return None;
        }
        Err(e) => {
            fail(&mut ctx.diags, e);
            return partial(ctx);
        }
    };
    // Last: clear the marker. Until then a cut-off create leaves it, so the next create
    // resumes and a destroy of the tainted instance knows the database is its own.
    if matches!(mysql.dialect().await, Ok(d) if d.schema_comments()) {
        let clear = match sql::mysql_set_database_comment(&name, "") {
            Ok(s) => [s],
            Err(e) => {
                unquotable(&mut ctx.diags, e);
                return partial(ctx);
            }
        };
        if let Err(mut e) = mysql.exec(&clear).await {
            // The clear may have run before the connection died: look again for a while
            // on fresh connections, rather than leaving a finished database tainted (its
            // replacement would then meet deletion_protection).
            let mut cleared = false;
            for _ in 0..20 {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                match mysql.schema_comment(&name).await {
                    Ok(Some(c)) if c == sql::MYSQL_CREATE_PENDING_MARKER => {
                        if let Err(again) = mysql.exec(&clear).await {
                            e = again;
                        } else {
                            cleared = true;
                            break;
                        }
                    }
                    Ok(_) => {
                        cleared = true;
                        break;
                    }
                    Err(again) => e = again,
                }
            }
            if !cleared {
                fail(&mut ctx.diags, e);
                return partial(ctx);
            }
        }
    }
    ctx.private = Vec::new();
    Some(state_from(planned, &info, endpoint(ctx)))
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
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("The database name."))
            .attr(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .description("Database name: letters, digits and `_`, at most 64 characters; not `mysql`, `sys`, `information_schema` or `performance_schema`. Changing it replaces the database.")
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
            .attr(Attribute::bool("deletion_protection").default(Value::Bool(true)).description("While `true`, destroy fails and the data is kept. Set `false` and apply before destroying."))
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

    async fn import(&self, ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
        if let Err(why) = check_name(id) {
            ctx.diags.error(
                "Invalid import id",
                format!("The import id is the database name. {why}"),
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
        let out = async {
            let planned = &planned;
            let name = planned.name.clone();
            let charset = planned.charset.clone();
            let collation = planned.collation.as_option().cloned();
            let mysql = need(&mut ctx.diags, "MySQL", ctx.client.mysql().await)?;
            let fail = |diags: &mut Diagnostics, e: MysqlError| {
                backend_error(diags, format!("Cannot create database {name:?}"), e)
            };
            let dialect = match mysql.dialect().await {
                Ok(d) => d,
                Err(e) => {
                    fail(&mut ctx.diags, e);
                    return None;
                }
            };
            match mysql.schema(&name).await {
                Ok(Some(_)) => match mysql.schema_comment(&name).await {
                    // Made by a create of this provider that never finished: resume it.
                    Ok(Some(c)) if c == sql::MYSQL_CREATE_PENDING_MARKER => {
                        tracing::info!(database = %name, "resuming a create that never finished");
                        return finish_create(ctx, mysql, planned, true).await;
                    }
                    Ok(_) => {
                        attribute_error(
                            &mut ctx.diags,
                            "name",
                            format!("Database {name:?} already exists"),
                            format!("A database named {name:?} exists but is not in this Terraform state. This provider never adopts it silently. To manage it here, import it:\n  terraform import <resource address> {name}"),
                        );
                        return None;
                    }
                    Err(e) => {
                        fail(&mut ctx.diags, e);
                        return None;
                    }
                },
                Ok(None) => {}
                Err(e) => {
                    fail(&mut ctx.diags, e);
                    return None;
                }
            }
            if !server_knows(&mut ctx.diags, mysql, &charset, collation.as_deref(), &fail).await {
                return None;
            }
            warn_about_grants(&mut ctx.diags, mysql, &name).await;
            // On MariaDB the marker is written by the CREATE itself: a database bearing it can
            // only come from a create of this provider.
            let marker = dialect
                .schema_comments()
                .then_some(sql::MYSQL_CREATE_PENDING_MARKER);
            let create = match sql::mysql_create_database(&name, &charset, collation.as_deref(), marker)
            {
                Ok(s) => [s],
                Err(e) => {
                    unquotable(&mut ctx.diags, e);
                    return None;
                }
            };
            if let Err(e) = mysql.exec(&create).await {
                if e.code == Some(1007) {
                    attribute_error(
                        &mut ctx.diags,
                        "name",
                        format!("Database {name:?} already exists"),
                        format!("It was created concurrently, outside this resource. To manage it here, import it:\n  terraform import <resource address> {name}"),
                    );
                    return None;
                }
                if !outcome_unknown(&e) {
                    fail(&mut ctx.diags, e);
                    return None;
                }
                // The connection died while CREATE DATABASE ran: it may have been executed.
                // Look again on a fresh connection; our marker tells whether it was.
                match mysql.schema_comment(&name).await {
                    Ok(Some(c)) if c == sql::MYSQL_CREATE_PENDING_MARKER => {}
                    Ok(_) => {
                        fail(&mut ctx.diags, e);
                        if !dialect.schema_comments() {
                            ctx.diags.warning(
                                format!("Whether database {name:?} was created is unknown"),
                                "MySQL 8 keeps no database comment, so a database created by a CREATE whose connection was cut cannot be told apart from a foreign one. If the next apply says it already exists, import it.",
                            );
                        }
                        return None;
                    }
                    Err(again) => {
                        fail(&mut ctx.diags, e);
                        tracing::debug!(error = %again, "cannot check whether CREATE DATABASE ran");
                        return None;
                    }
                }
            }
            finish_create(ctx, mysql, planned, false).await
        }
        .await;
        legacy_applied(&mut ctx.diags, out)
    }

    async fn read(&self, ctx: &mut Ctx<'_>, model: Model) -> Result<Option<Model>, Error> {
        let out = async {
            let name = model.name.clone();
            let mysql = need(&mut ctx.diags, "MySQL", ctx.client.mysql().await)?;
            match mysql.schema(&name).await {
                Ok(Some(info)) => Some(state_from(&model, &info, endpoint(ctx))),
                Ok(None) => None,
                Err(e) => {
                    backend_error(&mut ctx.diags, format!("Cannot read database {name:?}"), e);
                    Some(model)
                }
            }
        }
        .await;
        legacy_read(&mut ctx.diags, out)
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_>,
        prior: Model,
        planned: Model,
        _config: &Value,
    ) -> Applied<Model> {
        let out = async {
            let name = planned.name.clone();
            let charset = planned.charset.clone();
            let collation = planned.collation.as_option().cloned();
            let mysql = need(&mut ctx.diags, "MySQL", ctx.client.mysql().await)?;
            let fail = |diags: &mut Diagnostics, e: MysqlError| {
                backend_error(diags, format!("Cannot update database {name:?}"), e)
            };
            let changed = prior.charset != planned.charset || prior.collation != planned.collation;
            if changed {
                if !server_knows(&mut ctx.diags, mysql, &charset, collation.as_deref(), &fail).await
                {
                    return None;
                }
                let alter = match sql::mysql_alter_database(&name, &charset, collation.as_deref()) {
                    Ok(s) => [s],
                    Err(e) => {
                        unquotable(&mut ctx.diags, e);
                        return None;
                    }
                };
                if let Err(e) = mysql.exec(&alter).await {
                    fail(&mut ctx.diags, e);
                    return None;
                }
            }
            match mysql.schema(&name).await {
                Ok(Some(info)) => Some(state_from(&planned, &info, endpoint(ctx))),
                Ok(None) => {
                    ctx.diags.error(
                        format!("Database {name:?} disappeared during update"),
                        "Something dropped it concurrently; the next plan will create it again.",
                    );
                    None
                }
                Err(e) => {
                    fail(&mut ctx.diags, e);
                    None
                }
            }
        }
        .await;
        legacy_applied(&mut ctx.diags, out)
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let out = async {
            let name = prior.name;
            let protected = prior.deletion_protection.unwrap_or(true);
            // A create that never finished (its instance is tainted) made a database nobody
            // was handed: protection does not keep it. Known from the private state, or on
            // MariaDB from the marker that only a finished create clears.
            let mut pending = create_pending(&ctx.private);
            if protected && !pending {
                if let Ok(mysql) = ctx.client.mysql().await {
                    // A database that does not exist has nothing to protect (a tainted create
                    // cut off before CREATE DATABASE took effect): the delete is a no-op.
                    if let Ok(None) = mysql.schema(&name).await {
                        return;
                    }
                    pending = matches!(mysql.schema_comment(&name).await, Ok(Some(c)) if c == sql::MYSQL_CREATE_PENDING_MARKER);
                }
            }
            if pending && protected {
                ctx.diags.warning(
                    format!("Dropping database {name:?}, whose create never finished"),
                    "Its create was cut off, so Terraform marked it tainted; it was never handed out, so deletion_protection does not keep it.",
                );
            }
            if !pending && protected {
                attribute_error(
                    &mut ctx.diags,
                    "deletion_protection",
                    format!("Database {name:?} is protected by deletion_protection"),
                    "deletion_protection is true, so the database and its data are kept. To destroy it, set deletion_protection = false, run terraform apply, then destroy.",
                );
                return;
            }
            let Some(mysql) = need(&mut ctx.diags, "MySQL", ctx.client.mysql().await) else {
                return;
            };
            let cannot = format!("Cannot drop database {name:?}");
            // The logins Vault issued for this database must not outlive it, nor may other
            // accounts keep grants that reach a later database of the same name.
            let teardown = match mysql.database_access(&name).await {
                Ok(access) => mysql_accounts::teardown(&name, mysql.admin_user(), &access),
                Err(e) => {
                    backend_error(&mut ctx.diags, cannot, format!("{e}. Nothing was dropped: before the database, destroy ends the logins issued for it and revokes the grants other accounts hold on it, which needs SELECT on the `mysql` schema, CREATE USER and the right to end other sessions (CONNECTION_ADMIN or SUPER)."));
                    return;
                }
            };
            let (drop_database, drop_users) = match (
                sql::mysql_drop_database(&name),
                teardown
                    .drop
                    .iter()
                    .map(sql::mysql::mysql_drop_user)
                    .collect::<Result<Vec<_>, _>>(),
            ) {
                (Ok(d), Ok(u)) => (d, u),
                (Err(e), _) | (_, Err(e)) => {
                    unquotable(&mut ctx.diags, e);
                    return;
                }
            };
            let before = match mysql_accounts::teardown_statements(&teardown) {
                Ok(s) => s,
                Err(e) => {
                    unquotable(&mut ctx.diags, e);
                    return;
                }
            };
            let ended = async {
                mysql.exec(&before).await?;
                let sessions = mysql.sessions().await?;
                let ids = mysql_accounts::sessions_to_end(&sessions, &name, &teardown.drop);
                mysql.end_sessions(&ids).await?;
                mysql.exec(&[drop_database]).await
            }
            .await;
            if let Err(e) = ended {
                backend_error(&mut ctx.diags, cannot, e);
                return;
            }
            // After the database: MySQL 8 refuses to drop a user still named as the DEFINER of
            // a stored object, and the objects went with it. Locked until then.
            let mut dropped = Vec::new();
            let mut locked = Vec::new();
            for (login, statement) in teardown.drop.iter().zip(drop_users) {
                match mysql.exec(&[statement]).await {
                    Ok(()) => dropped.push(login.display()),
                    Err(e) => locked.push(format!("{} ({})", login.display(), e.message)),
                }
            }
            warn_about_teardown(&mut ctx.diags, &name, &teardown, &dropped, &locked);
        }
        .await;
        legacy_done(&mut ctx.diags, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::common::{assert_verdicts, test_plan};
    use tfplugin::ResourceType;

    #[test]
    fn names() {
        assert_verdicts(
            check_name,
            &["app", "App_1", "_x", "9lives", &"a".repeat(64)],
            &[
                "",
                "a-b",
                "a b",
                "a;drop",
                "a`b",
                "é",
                "mysql",
                "SYS",
                "information_schema",
                "Performance_Schema",
                &"a".repeat(65),
            ],
        );
    }

    #[test]
    fn charset_and_collation_names() {
        for ok in ["utf8mb4", "latin1", "utf8mb3", "binary"] {
            assert!(check_charset_name("character set", ok).is_ok(), "{ok}");
        }
        for bad in ["", "UTF8MB4", "utf8", "utf8_general_ci", "a b", "x'y"] {
            assert!(check_charset_name("collation", bad).is_err(), "{bad}");
        }
        assert!(collation_matches("utf8mb4", "utf8mb4_0900_ai_ci"));
        assert!(collation_matches("utf8mb4", "utf8mb4_uca1400_ai_ci"));
        assert!(collation_matches("binary", "binary"));
        assert!(!collation_matches("utf8mb4", "latin1_swedish_ci"));
        assert!(!collation_matches("utf8mb4", "uca1400_ai_ci"));
        assert!(!collation_matches("utf8", "utf8mb4_bin"));
    }

    use crate::resources::common::test_object as obj;

    fn collation(v: &Value) -> Known<String> {
        v.to_model::<CharsetPart>().unwrap().collation
    }

    #[tokio::test]
    async fn a_new_charset_plans_the_collation_unknown_unless_configured() {
        let r = SharedMysqlDatabase;
        let prior = obj(&[
            ("name", Value::string("app")),
            ("charset", Value::string("latin1")),
            ("collation", Value::string("latin1_swedish_ci")),
        ]);
        let no_collation = obj(&[("collation", Value::Null)]);
        let mut plan = test_plan(
            &prior,
            &no_collation,
            obj(&[
                ("name", Value::string("app")),
                ("charset", Value::string("utf8mb4")),
                ("collation", Value::string("latin1_swedish_ci")),
            ]),
        );
        r.modify_plan(&mut plan).await;
        assert!(collation(&plan.planned).is_unknown());

        let config = obj(&[("collation", Value::string("utf8mb4_bin"))]);
        let mut plan = test_plan(
            &prior,
            &config,
            obj(&[
                ("charset", Value::string("utf8mb4")),
                ("collation", Value::string("utf8mb4_bin")),
            ]),
        );
        r.modify_plan(&mut plan).await;
        assert_eq!(
            collation(&plan.planned).as_option().map(String::as_str),
            Some("utf8mb4_bin")
        );
    }

    #[tokio::test]
    async fn a_collation_of_another_charset_is_refused_on_the_attribute() {
        let mut diags = Diagnostics::default();
        let config = obj(&[
            ("charset", Value::string("latin1")),
            ("collation", Value::string("utf8mb4_bin")),
        ]);
        SharedMysqlDatabase
            .validate(&config, &ClientInfo::default(), &mut diags)
            .await;
        assert!(diags.has_errors());
        assert_eq!(
            diags.0[0].attribute,
            Some(tfplugin::AttributePath::attr("collation"))
        );
    }
}
