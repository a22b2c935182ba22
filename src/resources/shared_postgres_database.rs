//! `dbaas_shared_postgres_database`: one tenant database on the shared PostgreSQL,
//! complete with its NOLOGIN owner and `_readwrite` / `_readonly` group roles, default
//! privileges, isolation from other tenants, and PgBouncer's auth function.
//! Destroy drains PgBouncer on every replica before dropping anything.

use crate::resources::common::{legacy_applied, legacy_done, legacy_read};
use std::collections::BTreeSet;
use tfplugin::{Applied, Error};

use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, AttributePath, Block, Known, Plan, Schema, Type, Validator, Value};

use crate::backends::postgres::{DatabaseSettings, ForeignDependency, PgError, Postgres};
use crate::backends::Backends;
use crate::enums::PgBouncerVerb;
use crate::resources::common::{
    attribute_error, backend_error, decode, derived, merge, need, pg_name_validator, plan_views,
    Ctx,
};
use crate::resources::postgres_marks::{
    created_at_destroy, describe_dependencies, marked_for, settle_created, sort_elsewhere,
    unfinished, vault_made_login, Private,
};
use crate::resources::postgres_schemas::{schema_verdicts, SchemaVerdict};
use crate::sql::{self, TenantRoles};

/// The resource type.
pub struct SharedPostgresDatabase;

/// Plan and state of one database, attribute by attribute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    id: Known<String>,
    name: String,
    owner: Known<String>,
    /// A set; kept in the order Terraform sent it.
    extensions: Known<Vec<String>>,
    connection_limit: i64,
    encoding: Known<String>,
    lc_collate: Known<String>,
    lc_ctype: Known<String>,
    /// Null after an import (the catalog does not record it).
    template: Option<String>,
    deletion_protection: bool,
    pgbouncer_auth: bool,
    host: Known<String>,
    port: Known<i64>,
}

/// What planning looks at in a configuration, prior state or plan (any of it unknown).
#[derive(Debug, Deserialize)]
struct PlanView {
    name: Known<String>,
    owner: Known<String>,
    template: Known<String>,
}

/// The attributes planning may change; the others stay as Terraform planned them.
#[derive(Debug, Default, Serialize)]
struct PlanEdit {
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<Known<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<Known<String>>,
}

/// What an import fills in; read does the rest.
#[derive(Serialize)]
struct Imported<'a> {
    name: &'a str,
    /// Unknown for an existing database; adopted from configuration on the next plan.
    template: Option<String>,
    /// Read the installed extensions, so a configuration listing them plans no change.
    extensions: Vec<String>,
}

/// `template` when the configuration leaves it out.
const DEFAULT_TEMPLATE: &str = "template0";

/// Names PostgreSQL itself uses.
const RESERVED: &[&str] = &["postgres", "template0", "template1"];
/// The longest name whose `<name>_readwrite` role still fits PostgreSQL's 63 bytes.
const MAX_NAME: usize = 63 - "_readwrite".len();

/// The suffixes of the group roles every database gets (`<name>_readwrite`, ...).
const GROUP_SUFFIXES: [&str; 2] = ["_readwrite", "_readonly"];

/// Refuses an owner named like a group role (`shop_readwrite`): that role belongs to
/// database `shop`, and an owner taking the name first would squat that tenant's group
/// (its create would then refuse, or its logins join a role someone else owns).
fn check_owner_name(owner: &str) -> Result<(), String> {
    match GROUP_SUFFIXES.iter().find(|s| owner.ends_with(*s)) {
        Some(suffix) => Err(format!(
            "{owner:?} ends in `{suffix}`, the name of a group role of database {:?}; choose an owner name that does not end in `_readwrite` or `_readonly` (the default is `<name>_owner`)",
            &owner[..owner.len() - suffix.len()]
        )),
        None => Ok(()),
    }
}

/// The desired database, read from a planned state.
struct Spec {
    name: String,
    roles: TenantRoles,
    extensions: Option<BTreeSet<String>>,
    connection_limit: i64,
    encoding: Option<String>,
    lc_collate: Option<String>,
    lc_ctype: Option<String>,
    template: String,
    pgbouncer_auth: bool,
}

impl Spec {
    fn from(m: &Model) -> Spec {
        let name = m.name.clone();
        let owner = m
            .owner
            .as_option()
            .cloned()
            .unwrap_or_else(|| format!("{name}_owner"));
        let known = |v: &Known<String>| v.as_option().cloned();
        Spec {
            roles: TenantRoles::new(&name, &owner),
            extensions: m
                .extensions
                .as_option()
                .map(|l| l.iter().cloned().collect()),
            connection_limit: m.connection_limit,
            encoding: known(&m.encoding),
            lc_collate: known(&m.lc_collate),
            lc_ctype: known(&m.lc_ctype),
            template: m
                .template
                .clone()
                .unwrap_or_else(|| DEFAULT_TEMPLATE.into()),
            pgbouncer_auth: m.pgbouncer_auth,
            name,
        }
    }
}

fn auth_user(ctx: &Ctx<'_>) -> String {
    ctx.client.settings.pgbouncer_auth_user().to_string()
}

/// Builds the state from what the catalog says, keeping what only configuration knows.
fn state_from(
    ctx: &Ctx<'_>,
    base: &Model,
    cur: &DatabaseSettings,
    extensions: Option<BTreeSet<String>>,
) -> Model {
    let (host, port) = ctx.client.postgres_app_endpoint().unwrap_or_default();
    Model {
        id: Known::Value(base.name.clone()),
        owner: Known::Value(cur.owner.clone()),
        connection_limit: cur.connection_limit,
        encoding: Known::Value(cur.encoding.clone()),
        lc_collate: Known::Value(cur.lc_collate.clone()),
        lc_ctype: Known::Value(cur.lc_ctype.clone()),
        extensions: match extensions {
            Some(ext) => Known::Value(ext.into_iter().collect()),
            None => unknown_as_null(&base.extensions),
        },
        host: Known::Value(host),
        port: Known::Value(port.into()),
        ..base.clone()
    }
}

/// A value still unknown after apply becomes null (never unknown in state).
fn unknown_as_null<T: Clone>(v: &Known<T>) -> Known<T> {
    match v {
        Known::Unknown => Known::Null,
        other => other.clone(),
    }
}

/// Builds the database once its roles exist (marked): closed at first, then isolated,
/// granted, opened, set up inside, and marked complete. Every step may be repeated, so a
/// create that was cut off resumes here. `made_database` says whether anything of the
/// database may exist when this fails.
async fn build_database(
    pg: &Postgres,
    spec: &Spec,
    auth: Option<&str>,
    resume: bool,
    made_database: &mut bool,
) -> Result<(), PgError> {
    {
        if !resume {
            let create = sql::create_database(&sql::CreateDatabase {
                name: spec.name.clone(),
                owner: spec.roles.owner.clone(),
                template: Some(spec.template.clone()),
                encoding: spec.encoding.clone(),
                lc_collate: spec.lc_collate.clone(),
                lc_ctype: spec.lc_ctype.clone(),
                connection_limit: spec.connection_limit,
            });
            if let Err(e) = pg.exec_all(&[create]).await {
                // A server error means nothing was made (a same-named database created
                // concurrently is someone else's); a lost connection leaves it unknown.
                *made_database = e.code.is_none();
                return Err(e);
            }
        }
        *made_database = true;
        let mut admin = vec![sql::comment_on_database(&spec.name, sql::DATABASE_CREATING)];
        admin.extend(sql::database_grants(&spec.name, &spec.roles, auth));
        // PUBLIC has lost CONNECT: only now may anyone connect at all.
        admin.push(sql::open_database(&spec.name));
        pg.exec_all(&admin).await?;
        let added: Vec<&String> = spec.extensions.iter().flatten().collect();
        let (pgbouncer, extensions) = (auth.is_some(), !added.is_empty());
        let create = if fresh_from_template0(resume, &spec.template) {
            wanted_admin_schemas(pgbouncer, extensions)
        } else {
            match admin_schemas(pg, &spec.name, pgbouncer, extensions).await? {
                Ok(create) => create,
                Err((_, why)) => return Err(pg.refusal(why)),
            }
        };
        let mut inside = sql::Script::from(sql::schema_setup(&spec.roles));
        if let Some(a) = auth {
            inside.extend(sql::pgbouncer_auth_setup(
                a,
                &spec.roles,
                create.contains(sql::PGBOUNCER_SCHEMA),
            ));
        }
        inside.extend(
            extension_statements(pg, spec, &added, create.contains(sql::EXTENSION_SCHEMA)).await?,
        );
        pg.exec_in(&spec.name, &inside).await?;
        pg.exec_all(&[sql::comment_on_database(&spec.name, sql::DATABASE_MANAGED)])
            .await
    }
}

/// A database this very create copied from `template0` holds no schema of anyone's (no
/// session ever enters `template0`), so the admin schemas need no read-back in a second
/// session: each is made with a plain `CREATE SCHEMA`, which fails, refusing, if a tenant
/// got in first. A resumed create, or another template, reads them (`admin_schemas`).
fn fresh_from_template0(resume: bool, template: &str) -> bool {
    !resume && template == "template0"
}

/// The admin schemas a create installs into: `pgbouncer` for the auth function and/or
/// `extensions`.
fn wanted_admin_schemas(pgbouncer: bool, extensions: bool) -> BTreeSet<&'static str> {
    let mut v = BTreeSet::new();
    if pgbouncer {
        v.insert(sql::PGBOUNCER_SCHEMA);
    }
    if extensions {
        v.insert(sql::EXTENSION_SCHEMA);
    }
    v
}

/// The admin schemas about to be installed into in database `db` (`pgbouncer` and/or
/// `extensions`), checked before anything goes into them: `Ok(Ok(to_create))` with those
/// that are absent, or `Ok(Err((attribute, why)))` for one a tenant could plant in.
async fn admin_schemas(
    pg: &Postgres,
    db: &str,
    pgbouncer: bool,
    extensions: bool,
) -> Result<Result<BTreeSet<&'static str>, (&'static str, String)>, PgError> {
    let mut wanted: Vec<(&'static str, &'static str)> = Vec::new();
    if pgbouncer {
        wanted.push((sql::PGBOUNCER_SCHEMA, "pgbouncer_auth"));
    }
    if extensions {
        wanted.push((sql::EXTENSION_SCHEMA, "extensions"));
    }
    if wanted.is_empty() {
        return Ok(Ok(BTreeSet::new()));
    }
    let names: Vec<&str> = wanted.iter().map(|(s, _)| *s).collect();
    let found = pg.schema_facts(db, &names).await?;
    let mut create = BTreeSet::new();
    for ((schema, attr), verdict) in wanted.iter().zip(schema_verdicts(db, &names, &found)) {
        match verdict {
            SchemaVerdict::Create => {
                create.insert(*schema);
            }
            SchemaVerdict::Use => {}
            SchemaVerdict::Refuse(why) => return Ok(Err((attr, why))),
        }
    }
    Ok(Ok(create))
}

/// Statements that install `added` extensions safely: into the admin-owned extension
/// schema (created when `create_schema`, with the database's `search_path` extended to
/// it), never into the tenant-owned `public`, with `search_path` pinned while their
/// scripts run as superuser. Empty when nothing is added.
async fn extension_statements(
    pg: &Postgres,
    spec: &Spec,
    added: &[&String],
    create_schema: bool,
) -> Result<sql::Script, PgError> {
    if added.is_empty() {
        return Ok(sql::Script::default());
    }
    pg.exec_all(&[sql::database_search_path(&spec.name)])
        .await?;
    let mut v = sql::Script::from(sql::extension_schema_setup(&spec.roles, create_schema));
    for ext in added {
        v.push(sql::create_extension(ext, pg.extension_pinned(ext).await?));
    }
    Ok(v)
}

/// A state for a create that did not finish: what planning left unknown is null.
fn partial_state(ctx: &Ctx<'_>, planned: &Model, spec: &Spec) -> Model {
    let (host, port) = ctx.client.postgres_app_endpoint().unwrap_or_default();
    Model {
        id: Known::Value(spec.name.clone()),
        owner: Known::Value(spec.roles.owner.clone()),
        host: Known::Value(host),
        port: Known::Value(port.into()),
        encoding: unknown_as_null(&planned.encoding),
        lc_collate: unknown_as_null(&planned.lc_collate),
        lc_ctype: unknown_as_null(&planned.lc_ctype),
        extensions: unknown_as_null(&planned.extensions),
        ..planned.clone()
    }
}

/// Template rule: only `template0`, `template1` or a database marked `datistemplate`, so
/// that no tenant's data can be cloned into another's database. `Ok(Some(reason))` is a
/// refusal.
async fn template_refusal(pg: &Postgres, template: &str) -> Result<Option<String>, PgError> {
    if template == "template0" || template == "template1" {
        return Ok(None);
    }
    Ok(match pg.database_facts(template).await? {
        Some(f) if f.is_template => None,
        Some(_) => Some(format!("{template:?} is an ordinary database, not a template: copying it would clone its data (another tenant's, perhaps) into the new database. Use template0, template1, or a database an administrator marked as a template (ALTER DATABASE ... IS_TEMPLATE true).")),
        None => Some(format!("No database {template:?} exists to serve as a template. Use template0, template1, or a database marked as a template (datistemplate).")),
    })
}

/// Revokes what others granted to `roles` outside database `db` (`DROP OWNED BY` in
/// each database holding a grant, where those roles own nothing; see `sort_elsewhere`),
/// adding what it revoked to `revoked`. Returns, without revoking anything, the objects
/// that roles among `created` own elsewhere: those stop a destroy.
async fn revoke_elsewhere(
    pg: &Postgres,
    roles: &[String],
    created: &[String],
    db: &str,
    revoked: &mut Vec<ForeignDependency>,
) -> Result<Vec<ForeignDependency>, PgError> {
    let elsewhere = sort_elsewhere(&pg.foreign_dependencies(roles, db).await?, created);
    if !elsewhere.owned.is_empty() {
        return Ok(elsewhere.owned);
    }
    for (database, in_roles) in &elsewhere.revoke_in {
        pg.drop_owned_in(database, in_roles).await?;
        revoked.extend(
            elsewhere
                .granted
                .iter()
                .filter(|d| {
                    in_roles.contains(&d.role) && (d.database == *database || d.database.is_empty())
                })
                .filter(|d| !revoked.contains(d))
                .cloned()
                .collect::<Vec<_>>(),
        );
    }
    Ok(Vec::new())
}

/// The warning naming what a destroy revoked, and where (nothing when nothing was).
fn revoked_warning(ctx: &mut Ctx<'_>, name: &str, revoked: &[ForeignDependency]) {
    if revoked.is_empty() {
        return;
    }
    ctx.diags.warning(
        format!("Revoked privileges others granted to the roles of {name:?}"),
        format!("Other databases granted privileges to the roles of {name:?} (its owner and group roles, or logins Vault issued into them). They were revoked (DROP OWNED BY in each of those databases, where these roles own nothing), so that the roles could be dropped:\n{}", describe_dependencies(revoked)),
    );
}

#[async_trait::async_trait]
impl tfplugin::ResourceType<Backends> for SharedPostgresDatabase {
    fn type_name(&self) -> &'static str {
        "dbaas_shared_postgres_database"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "A tenant database on the shared PostgreSQL, reached by apps through PgBouncer. Creates the database, its NOLOGIN owner role and the NOLOGIN group roles `<name>_readwrite` and `<name>_readonly` (with default privileges so whatever the owner creates is usable by them), revokes CONNECT and TEMP from PUBLIC and CREATE on `public`, and installs the PgBouncer auth function. Destroy (when `deletion_protection = false`) drains PgBouncer on every admin host, terminates sessions, drops the database, the logins Vault issued into its group roles, and the roles this resource created. Only roles this resource created, as its private state records, are dropped: an imported database's roles (even ones another configuration of this provider created) are left in place with a warning. Privileges that others granted to the dropped roles in other databases (a tenant's `GRANT ... TO <name>_readonly`, default privileges, policy entries, CONNECT on a database) are revoked with `DROP OWNED BY` in those databases and named in a warning; a role it created that owns objects in another database stops the destroy before anything is dropped. No object outside the database is dropped.",
            )
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("The database name."))
            .attr(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .description(format!("Database name. At most {MAX_NAME} characters, so that the `<name>_readwrite` role fits PostgreSQL's 63-byte limit."))
                    .validate(pg_name_validator(MAX_NAME, RESERVED)),
            )
            .attr(
                Attribute::string("owner")
                    .optional()
                    .computed()
                    .description("NOLOGIN role created to own the database and its `public` schema. Default `<name>_owner`. Changing it renames the role (everything it owns follows). Names ending in `_readwrite` or `_readonly` are refused: they are the group roles of a database of that name (`<x>_readwrite`), which an owner would otherwise take before that database exists.")
                    .validate(pg_name_validator(63, RESERVED))
                    .validate(Validator::new(
                        "not ending in `_readwrite` or `_readonly`",
                        |v| v.as_str().map_or(Ok(()), check_owner_name),
                    )),
            )
            .attr(
                Attribute::typed("extensions", Type::set_of(Type::String))
                    .optional()
                    .computed()
                    .use_state_for_unknown()
                    .description("Extensions to install in the database (`CREATE EXTENSION`), into the schema `extensions`, which the provider's admin creates and owns; removing one drops it. An `extensions` schema owned by anyone else (a tenant may have created it first) or where others may create objects is refused, naming schema and owner, and nothing is installed. When unset, extensions are not managed (an imported database reports what it has).")
                    .validate(Validator::new("extension names", |v| {
                        for e in v.string_list() {
                            if e.is_empty() || !e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                                return Err(format!("{e:?} is not an extension name (letters, digits, `_`, `-`)"));
                            }
                        }
                        Ok(())
                    })),
            )
            .attr(Attribute::number("connection_limit").default(Value::int(-1)).description("Maximum concurrent connections; `-1` for no limit.").validate(Validator::int_between(-1, 100_000)))
            .attr(Attribute::string("encoding").optional().computed().requires_replace().use_state_for_unknown().description("Character encoding, e.g. `UTF8`. Default: the server's."))
            .attr(Attribute::string("lc_collate").optional().computed().requires_replace().use_state_for_unknown().description("LC_COLLATE. Default: the server's."))
            .attr(Attribute::string("lc_ctype").optional().computed().requires_replace().use_state_for_unknown().description("LC_CTYPE. Default: the server's."))
            .attr(
                Attribute::string("template")
                    .default(Value::string(DEFAULT_TEMPLATE))
                    .requires_replace()
                    .description("Template database: `template0` (the default: no session ever holds it, so concurrent creates never fail with `source database is being accessed by other users`, and any encoding or locale can be chosen), `template1`, or a database an administrator marked as a template (`datistemplate`). Any other database is refused, at plan time when the catalog can be read: copying it would clone its data, perhaps another tenant's, into the new database.")
                    .validate(pg_name_validator(63, &[])),
            )
            .attr(Attribute::bool("deletion_protection").default(Value::Bool(true)).description("While `true`, destroy fails and the data is kept. Set `false` and apply before destroying. A database whose create was cut off before it was complete (tainted, and marked unfinished in the catalog) can be replaced regardless: no tenant could have stored data in it."))
            .attr(Attribute::bool("pgbouncer_auth").default(Value::Bool(true)).description("Install `pgbouncer.get_auth(text)` (SECURITY DEFINER, unexpired roles only) and grant it and CONNECT to PgBouncer's `auth_user`, so logins work through PgBouncer's `auth_query`. The schema `pgbouncer` is created and owned by the provider's admin; one created by anyone else (a tenant, while this was `false`) is refused, naming schema and owner."))
            .attr(Attribute::string("host").computed().use_state_for_unknown().description("Host apps use: the PgBouncer endpoint (`pgbouncer.host`), or the primary when no `pgbouncer` block is configured."))
            .attr(Attribute::number("port").computed().use_state_for_unknown().description("Port apps use.")),
        )
    }

    async fn modify_plan(&self, plan: &mut Plan<'_>) {
        let Some((config, planned)) = plan_views::<PlanView>(plan) else {
            return;
        };
        let mut edit = PlanEdit::default();
        let mut owner = planned.owner;
        if config.owner.is_null() {
            owner = derived(&planned.name, |n| format!("{n}_owner"));
            edit.owner = Some(owner.clone());
        }
        // An imported database has no recorded template: adopt the configured one
        // instead of planning a replacement of a database that already exists.
        if !plan.prior.is_null() {
            let Some(prior) = decode::<PlanView>(&mut plan.diags, plan.prior) else {
                return;
            };
            if prior.template.is_null() {
                plan.requires_replace
                    .retain(|p| *p != AttributePath::attr("template"));
                if config.template.is_null() {
                    edit.template = Some(Known::Null);
                }
            }
        }
        merge(&mut plan.diags, &mut plan.planned, &edit);
        let name = planned.name.as_option().map_or("", String::as_str);
        if let Known::Value(owner) = owner {
            if owner == format!("{name}_readwrite") || owner == format!("{name}_readonly") {
                plan.diags.error_at(AttributePath::attr("owner"), "owner collides with a group role", format!("{owner:?} is the name of one of the group roles this resource creates; choose another owner."));
            }
        }
    }

    async fn check_plan(&self, client: &Backends, plan: &mut Plan<'_>) {
        // The template rule, at plan time for a new database when the catalog can be
        // read; create checks again (the catalog may have been out of reach here).
        if !plan.prior.is_null() {
            return;
        }
        let Some(planned) = decode::<PlanView>(&mut plan.diags, &plan.planned) else {
            return;
        };
        let Known::Value(template) = planned.template else {
            return;
        };
        if template == "template0" || template == "template1" {
            return;
        }
        let Ok(pg) = client.postgres().await else {
            return;
        };
        if let Ok(Some(why)) = template_refusal(pg, &template).await {
            plan.diags
                .error_at(AttributePath::attr("template"), "Template refused", why);
        }
    }

    async fn import(&self, ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
        if !crate::resources::common::is_pg_identifier(id, 63) {
            ctx.diags.error("Invalid import id", format!("{id:?} is not a database name this resource manages (lower-case letters, digits, `_`)."));
            return;
        }
        let imported = Imported {
            name: id,
            template: None,
            extensions: Vec::new(),
        };
        merge(&mut ctx.diags, state, &imported);
        // An imported database's roles were not made here: they are adopted, never dropped.
        ctx.private = Private {
            imported: true,
            ..Private::default()
        }
        .to_bytes();
    }
}

#[async_trait::async_trait]
impl tfplugin::TypedResource<Backends> for SharedPostgresDatabase {
    type Model = Model;

    async fn create(&self, ctx: &mut Ctx<'_>, planned: Model, _config: &Value) -> Applied<Model> {
        let out = async {
            let planned = &planned;
            let spec = Spec::from(planned);
            let pg = need(&mut ctx.diags, "PostgreSQL", ctx.client.postgres().await)?;
            let cannot = format!("Cannot create database {:?}", spec.name);
            match template_refusal(pg, &spec.template).await {
                Ok(None) => {}
                Ok(Some(why)) => {
                    attribute_error(&mut ctx.diags, "template", "Template refused", why);
                    return None;
                }
                Err(e) => {
                    backend_error(&mut ctx.diags, cannot, e);
                    return None;
                }
            }
            let (facts, found, marked) = match async {
                let facts = pg.database_facts(&spec.name).await?;
                let roles = pg.role_facts(&spec.roles.all()).await?;
                Ok::<_, PgError>((facts, roles))
            }
            .await
            {
                Ok((facts, roles)) => {
                    let marked: Vec<String> = roles
                        .iter()
                        .filter(|r| marked_for(r, &spec.name))
                        .map(|r| r.name.clone())
                        .collect();
                    (facts, roles, marked)
                }
                Err(e) => {
                    backend_error(&mut ctx.diags, cannot, e);
                    return None;
                }
            };
            // A database is resumed only when a create of this provider, for this name, was
            // cut off: all three roles carry the marker, and the database is still closed and
            // unmarked, or marked as being created.
            let all_marked = marked.len() == 3;
            let resume = match &facts {
                None => false,
                Some(f) => all_marked && f.owner == spec.roles.owner && unfinished(f),
            };
            if facts.is_some() && !resume {
                attribute_error(
                    &mut ctx.diags,
                    "name",
                    format!("Database {:?} already exists", spec.name),
                    format!("A database named {:?} exists but is not in this Terraform state. This provider never adopts it silently. To manage it here, import it:\n  terraform import <resource address> {}", spec.name, spec.name),
                );
                return None;
            }
            // Roles left behind by this database (dropped out of band, roles kept) are reused:
            // NOLOGIN and owning nothing, they can only be leftovers. Roles bearing this
            // provider's marker for this database are its own. Anything else is refused.
            let found: Vec<(String, bool)> = found
                .into_iter()
                .map(|r| {
                    let orphan = !r.can_login && !r.superuser && !r.owns_objects;
                    (r.name, orphan)
                })
                .collect();
            let foreign: Vec<String> = found
                .iter()
                .filter(|(n, orphan)| !orphan && !marked.contains(n))
                .map(|(n, _)| n.clone())
                .collect();
            // Refuses roles that exist and are not this database's, on `owner` when the owner
            // role is among them; `why` says what makes them someone else's.
            let refuse = |diags: &mut tfplugin::Diagnostics, roles: &[String], why: &str| {
                attribute_error(
                    diags,
                    if roles.contains(&spec.roles.owner) { "owner" } else { "name" },
                    "Role already exists",
                    format!("The role(s) {} already exist in PostgreSQL{why}. They may belong to another tenant or to a database created outside Terraform; this resource will not take them over. Choose another `owner`/`name`, or drop the stale roles.", roles.join(", ")),
                );
            };
            if !foreign.is_empty() {
                refuse(&mut ctx.diags, &foreign, " and can log in or own objects");
                return None;
            }
            let leftovers: Vec<String> = found
                .iter()
                .filter(|(n, _)| !marked.contains(n))
                .map(|(n, _)| n.clone())
                .collect();
            // Only the complete set of three is a recognisable leftover; a lone role
            // with one of these names may be someone else's.
            if !leftovers.is_empty() && leftovers.len() + marked.len() < 3 {
                refuse(&mut ctx.diags, &leftovers, "");
                return None;
            }
            if !leftovers.is_empty() && marked.is_empty() {
                ctx.diags.warning(
                    format!("Reusing roles left from a dropped database {:?}", spec.name),
                    format!("{} exist without a database, cannot log in and own nothing: they are reused for the new database.", leftovers.join(", ")),
                );
            }
            let missing: Vec<String> = spec
                .roles
                .all()
                .iter()
                .filter(|r| !found.iter().any(|(n, _)| n == *r))
                .map(|r| r.to_string())
                .collect();
            if resume {
                ctx.diags.warning(
                    format!("Resuming the create of {:?}", spec.name),
                    "An earlier create of this database was cut off (its roles and database carry this provider's marker): it is completed now.",
                );
            }
            let missing_refs: Vec<&str> = missing.iter().map(String::as_str).collect();
            // Roles and their markers in one transaction: a role never exists unmarked.
            if let Err(e) = pg
                .exec_all(&[sql::create_marked_roles(
                    &spec.name,
                    &missing_refs,
                    &spec.roles.all(),
                    &spec.roles.owner,
                )])
                .await
            {
                backend_error(&mut ctx.diags, cannot, e);
                return None;
            }
            let created: Vec<String> = spec.roles.all().iter().map(|r| r.to_string()).collect();
            let private = Private {
                managed_owner: Some(spec.roles.owner.clone()),
                created_roles: Some(created.clone()),
                ..Private::default()
            };
            let auth = spec.pgbouncer_auth.then(|| auth_user(ctx));
            let mut made_database = false;
            if let Err(e) = build_database(pg, &spec, auth.as_deref(), resume, &mut made_database).await
            {
                // Leave nothing half made: remove what this create made. When that fails too
                // (the server went away), return what exists so Terraform taints it and
                // replaces it next time.
                let cleaned = async {
                    if made_database {
                        // Only our own unfinished database: owned by our marked owner, still
                        // closed or marked as being created.
                        let ours = pg.database_facts(&spec.name).await?.is_some_and(|f| {
                            f.owner == spec.roles.owner
                                && (unfinished(&f)
                                    || f.comment.as_deref() == Some(sql::DATABASE_MANAGED))
                        });
                        if ours {
                            pg.exec_all(&[sql::drop_database(&spec.name)]).await?;
                        }
                    }
                    pg.drop_roles(&created).await
                }
                .await;
                backend_error(&mut ctx.diags, cannot, e);
                if cleaned.is_ok() {
                    return None;
                }
                ctx.private = private.to_bytes();
                ctx.diags.warning(
                    format!("Database {:?} is incomplete", spec.name),
                    "The create was cut off and what it made could not be removed. Terraform records it as tainted: the next apply removes it (deletion_protection does not apply to an unfinished database) and creates it again.",
                );
                let partial = partial_state(ctx, planned, &spec);
                return Some(partial);
            }
            ctx.private = private.to_bytes();
            // The database is complete; a read that fails now (the server restarting) is
            // retried for a while rather than leaving a finished database tainted.
            let mut read = pg.database_settings(&spec.name).await;
            for _ in 0..40 {
                if read.is_ok() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                read = pg.database_settings(&spec.name).await;
            }
            match read {
                Ok(Some(cur)) => {
                    let state = state_from(ctx, planned, &cur, None);
                    Some(state)
                }
                Ok(None) => {
                    ctx.diags.error(
                        format!("Database {:?} vanished right after creation", spec.name),
                        "Something dropped it concurrently.",
                    );
                    None
                }
                Err(e) => {
                    backend_error(
                        &mut ctx.diags,
                        format!("Cannot read database {:?} after creating it", spec.name),
                        e,
                    );
                    let partial = partial_state(ctx, planned, &spec);
                    Some(partial)
                }
            }
        }
        .await;
        legacy_applied(&mut ctx.diags, out)
    }

    async fn read(&self, ctx: &mut Ctx<'_>, model: Model) -> Result<Option<Model>, Error> {
        let out = async {
            let name = model.name.clone();
            let pg = need(&mut ctx.diags, "PostgreSQL", ctx.client.postgres().await)?;
            let cur = match pg.database_settings(&name).await {
                Ok(Some(c)) => c,
                Ok(None) => return None,
                Err(e) => {
                    backend_error(&mut ctx.diags, format!("Cannot read database {name:?}"), e);
                    return Some(model);
                }
            };
            // Extensions are read only when managed: it needs a connection into the database.
            let extensions = if model.extensions.is_null() {
                None
            } else {
                match pg.installed_extensions(&name).await {
                    Ok(e) => Some(e),
                    Err(e) => {
                        backend_error(
                            &mut ctx.diags,
                            format!("Cannot read extensions of {name:?}"),
                            e,
                        );
                        return Some(model);
                    }
                }
            };
            let mut private = Private::parse(&ctx.private);
            if private.managed_owner.is_none() {
                private.managed_owner = Some(cur.owner.clone());
                ctx.private = private.to_bytes();
            }
            if private.created_roles.is_none() {
                // State from v0.1.0: settle once which roles count as created.
                let owner = private.managed_owner.clone().unwrap_or_default();
                let groups = TenantRoles::new(&name, &owner);
                if let Ok(found) = pg.role_facts(&groups.all()).await {
                    private.created_roles = Some(settle_created(&private, &name, &found));
                    private.imported = false;
                    ctx.private = private.to_bytes();
                }
            }
            let fresh = state_from(ctx, &model, &cur, extensions);
            Some(fresh)
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
            let prior_owner = prior.owner.as_option().cloned().unwrap_or_default();
            let spec = Spec::from(&planned);
            let pg = need(&mut ctx.diags, "PostgreSQL", ctx.client.postgres().await)?;
            let fail = |ctx: &mut Ctx<'_>, e: PgError| {
                backend_error(
                    &mut ctx.diags,
                    format!("Cannot update database {:?}", spec.name),
                    e,
                );
            };
            let auth = auth_user(ctx);
            let auth_before = prior.pgbouncer_auth;
            let before: BTreeSet<String> = prior
                .extensions
                .as_option()
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let added: Vec<&String> = spec
                .extensions
                .iter()
                .flat_map(|after| after.difference(&before))
                .collect();
            // The schemas about to be installed into, checked before anything changes.
            let pgbouncer_on = spec.pgbouncer_auth && !auth_before;
            let create = match admin_schemas(pg, &spec.name, pgbouncer_on, !added.is_empty()).await {
                Ok(Ok(create)) => create,
                Ok(Err((attr, why))) => {
                    attribute_error(&mut ctx.diags, attr, "Schema open to the tenant", why);
                    return None;
                }
                Err(e) => {
                    fail(ctx, e);
                    return None;
                }
            };
            let mut private = Private::parse(&ctx.private);
            if private.created_roles.is_none() {
                let owner = private
                    .managed_owner
                    .clone()
                    .unwrap_or_else(|| prior_owner.clone());
                let groups = TenantRoles::new(&spec.name, &owner);
                match pg.role_facts(&groups.all()).await {
                    Ok(found) => {
                        private.created_roles = Some(settle_created(&private, &spec.name, &found));
                        private.imported = false;
                    }
                    Err(e) => {
                        fail(ctx, e);
                        return None;
                    }
                }
            }
            let managed = private
                .managed_owner
                .clone()
                .unwrap_or_else(|| prior_owner.clone());
            if managed != spec.roles.owner {
                // Only a role this resource created is renamed; an adopted one stays as it is.
                // (created_roles was settled just above.)
                let managed_is_ours = private.created(&managed);
                match pg.existing_roles(&[&spec.roles.owner, &managed]).await {
                    Ok(roles) if roles.contains(&spec.roles.owner) => {
                        attribute_error(&mut ctx.diags, "owner", "Role already exists", format!("Cannot rename the owner role {managed:?} to {:?}: a role with that name exists.", spec.roles.owner));
                        return None;
                    }
                    Ok(roles) if roles.contains(&managed) && managed_is_ours => {
                        if let Err(e) = pg
                            .exec_all(&[sql::rename_role(&managed, &spec.roles.owner)])
                            .await
                        {
                            fail(ctx, e);
                            return None;
                        }
                    }
                    Ok(_) => {
                        if let Err(e) = pg
                            .exec_all(&[sql::create_marked_roles(
                                &spec.name,
                                &[spec.roles.owner.as_str()],
                                &[spec.roles.owner.as_str()],
                                &spec.roles.owner,
                            )])
                            .await
                        {
                            fail(ctx, e);
                            return None;
                        }
                        if !managed_is_ours {
                            ctx.diags.warning(
                                format!("Role {managed:?} is left in place"),
                                format!("{managed:?} was not created by this provider (the database was imported): a new owner role {:?} was created and takes over the database; {managed:?} keeps everything else it owns.", spec.roles.owner),
                            );
                        }
                    }
                    Err(e) => {
                        fail(ctx, e);
                        return None;
                    }
                }
                let mut created = private.created_roles.clone().unwrap_or_default();
                created.retain(|r| r != &managed);
                if managed_is_ours || !created.contains(&spec.roles.owner) {
                    created.push(spec.roles.owner.clone());
                }
                private.created_roles = Some(created);
                private.managed_owner = Some(spec.roles.owner.clone());
                ctx.private = private.to_bytes();
            }
            let mut admin = Vec::new();
            if prior_owner != spec.roles.owner {
                // Ownership drifted (or the role was just renamed): hand it back to the owner.
                admin.push(sql::alter_database_owner(&spec.name, &spec.roles.owner));
            }
            if prior.connection_limit != spec.connection_limit {
                admin.push(sql::alter_connection_limit(
                    &spec.name,
                    spec.connection_limit,
                ));
            }
            if auth_before != spec.pgbouncer_auth {
                if spec.pgbouncer_auth {
                    admin.extend(sql::database_grants(&spec.name, &spec.roles, Some(&auth)));
                } else {
                    admin.push(sql::revoke_connect(&spec.name, &auth));
                }
            }
            if let Err(e) = pg.exec_all(&admin).await {
                fail(ctx, e);
                return None;
            }
            let mut inside = sql::Script::default();
            if prior_owner != spec.roles.owner {
                inside.extend(sql::schema_setup(&spec.roles));
            }
            if auth_before != spec.pgbouncer_auth {
                inside.extend(if spec.pgbouncer_auth {
                    sql::pgbouncer_auth_setup(
                        &auth,
                        &spec.roles,
                        create.contains(sql::PGBOUNCER_SCHEMA),
                    )
                } else {
                    sql::pgbouncer_auth_teardown()
                });
            }
            if let Some(after) = &spec.extensions {
                inside.extend(before.difference(after).map(|e| sql::drop_extension(e)));
                let create_schema = create.contains(sql::EXTENSION_SCHEMA);
                match extension_statements(pg, &spec, &added, create_schema).await {
                    Ok(v) => inside.extend(v),
                    Err(e) => {
                        fail(ctx, e);
                        return None;
                    }
                }
            }
            if let Err(e) = pg.exec_in(&spec.name, &inside).await {
                fail(ctx, e);
                return None;
            }
            match pg.database_settings(&spec.name).await {
                Ok(Some(cur)) => {
                    let state = state_from(ctx, &planned, &cur, spec.extensions.clone());
                    Some(state)
                }
                Ok(None) => {
                    ctx.diags.error(
                        format!("Database {:?} disappeared during update", spec.name),
                        "Something dropped it concurrently.",
                    );
                    None
                }
                Err(e) => {
                    fail(ctx, e);
                    None
                }
            }
        }
        .await;
        legacy_applied(&mut ctx.diags, out)
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let out = async {
            let spec = Spec::from(&prior);
            let private = Private::parse(&ctx.private);
            let protected = prior.deletion_protection;
            let refuse_protected = |ctx: &mut Ctx<'_>| {
                attribute_error(
                    &mut ctx.diags,
                    "deletion_protection",
                    format!("Database {:?} is protected by deletion_protection", spec.name),
                    "deletion_protection is true, so the database and its data are kept. To destroy it, set deletion_protection = false, run terraform apply, then destroy. If Terraform wants to replace it because an earlier apply was cut off after the database was complete (the instance is tainted), keep it with `terraform untaint <address>` instead.",
                );
            };
            let pg = match ctx.client.postgres().await {
                Ok(pg) => pg,
                // Protected: say so first, whatever else is wrong.
                Err(_) if protected => return refuse_protected(ctx),
                Err(e) => return backend_error(&mut ctx.diags, "Cannot reach PostgreSQL", e),
            };
            let cannot = format!("Cannot drop database {:?}", spec.name);
            let owner = private
                .managed_owner
                .clone()
                .unwrap_or_else(|| spec.roles.owner.clone());
            let tenant_roles = [
                owner.as_str(),
                spec.roles.readwrite.as_str(),
                spec.roles.readonly.as_str(),
            ];
            let facts = match async {
                Ok::<_, PgError>((
                    pg.database_facts(&spec.name).await?,
                    pg.role_facts(&tenant_roles).await?,
                ))
            }
            .await
            {
                Ok(f) => f,
                Err(e) => {
                    backend_error(&mut ctx.diags, cannot, e);
                    return;
                }
            };
            let (db_facts, role_facts) = facts;
            // An unfinished create (tainted, and replaced next apply) may go despite
            // deletion_protection: its roles carry this provider's marker and the database is
            // absent, still closed, or still marked as being created, so no tenant ever had a
            // login into it. Terraform plans the replacement of a tainted object without its
            // private state, so the catalog decides.
            let cut_off = role_facts.iter().any(|r| marked_for(r, &spec.name))
                && db_facts.as_ref().is_none_or(unfinished);
            if protected && !cut_off {
                refuse_protected(ctx);
                return;
            }
            let created = created_at_destroy(&private, &spec.name, &role_facts, cut_off);
            let adopted: Vec<String> = role_facts
                .iter()
                .filter(|r| !created.contains(&r.name))
                .map(|r| r.name.clone())
                .collect();
            // Objects another database holds are never dropped: a role this resource made
            // that owns something elsewhere stops the destroy before anything is dropped.
            // Privileges others granted to these roles (another tenant's GRANT, say) are
            // theirs to lose: revoked once the database is gone (DROP OWNED also revokes the
            // roles' CONNECT on their own database, which must last while this may fail).
            let mut revoked = Vec::new();
            let owned = pg
                .foreign_dependencies(&created, &spec.name)
                .await
                .map(|deps| sort_elsewhere(&deps, &created).owned);
            match owned {
                Ok(owned) if !owned.is_empty() => {
                    ctx.diags.error(
                        format!("{cannot}: its roles own objects elsewhere"),
                        format!("Nothing was dropped. These roles, created for {:?}, own objects outside it:\n{}\nMove those objects to another owner or drop them (e.g. REASSIGN OWNED BY ... TO ... in that database), then destroy again. Privileges that others granted to these roles do not stop a destroy: it revokes them.", spec.name, describe_dependencies(&owned)),
                    );
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    backend_error(&mut ctx.diags, cannot, e);
                    return;
                }
            }
            let pgb = match ctx.client.pgbouncer().await {
                Ok(p) => p,
                Err(e) => {
                    backend_error(&mut ctx.diags, "Cannot reach PgBouncer", e);
                    return;
                }
            };
            // Pooled server connections would block DROP DATABASE and reconnect at once:
            // pause and drop them on every replica first.
            if let Some(pgb) = pgb {
                if let Err(errors) = pgb.each(PgBouncerVerb::Kill, &spec.name).await {
                    for e in errors {
                        backend_error(
                            &mut ctx.diags,
                            format!("Cannot drain {:?} on PgBouncer", spec.name),
                            e,
                        );
                    }
                    let _ = pgb.each(PgBouncerVerb::Resume, &spec.name).await;
                    return;
                }
            }
            let mut kept_members = Vec::new();
            let dropped = async {
                pg.terminate_database_sessions(&spec.name).await?;
                pg.exec_all(&[sql::drop_database(&spec.name)]).await?;
                // Logins Vault issued into this tenant's groups must not outlive it (their
                // role may be gone from Vault already); other members are only named.
                let mut logins = Vec::new();
                for member in pg.group_members(&created).await? {
                    let (login, superuser) = (member.login, member.superuser);
                    if superuser || !vault_made_login(&login) {
                        kept_members.push(login);
                        continue;
                    }
                    pg.terminate_user_sessions(&login).await?;
                    logins.push(login);
                }
                // Grants to the logins are revoked too. A grant made to one of the roles
                // between the revocation and its DROP ROLE (2BP01) is revoked in another
                // round; three rounds at most.
                let mut round = 0;
                loop {
                    round += 1;
                    let last = round == 3;
                    let mut roles = logins.clone();
                    roles.extend(created.iter().cloned());
                    revoke_elsewhere(pg, &roles, &created, &spec.name, &mut revoked).await?;
                    let mut failed = Vec::new();
                    for login in std::mem::take(&mut logins) {
                        if let Err(e) = pg.exec_all(&[sql::drop_role(&login)]).await {
                            if last {
                                kept_members.push(format!("{login} ({})", e.message));
                            } else {
                                failed.push(login);
                            }
                        }
                    }
                    logins = failed;
                    match pg.drop_roles(&created).await {
                        Err(e) if !last && e.code.as_deref() == Some("2BP01") => continue,
                        Err(e) => return Err(e),
                        Ok(()) if !logins.is_empty() && !last => continue,
                        Ok(()) => return Ok(()),
                    }
                }
            }
            .await;
            if let Some(pgb) = pgb {
                if let Err(errors) = pgb.each(PgBouncerVerb::Resume, &spec.name).await {
                    for e in errors {
                        ctx.diags.warning(
                            format!("Cannot resume {:?} on PgBouncer", spec.name),
                            e.to_string(),
                        );
                    }
                }
            }
            revoked_warning(ctx, &spec.name, &revoked);
            if !kept_members.is_empty() {
                ctx.diags.warning(
                    format!("Logins of {:?} kept", spec.name),
                    format!("These logins were members of the database's group roles but were not issued by Vault (or could not be dropped); they are left in place, without the memberships: {}", kept_members.join(", ")),
                );
            }
            if !adopted.is_empty() && dropped.is_ok() {
                ctx.diags.warning(
                    format!("Roles of {:?} left in place", spec.name),
                    format!("{} were not created by this resource (it imported the database; its private state records no roles as created here), so destroy leaves them as they are. The configuration that created them, or an administrator, drops them.", adopted.join(", ")),
                );
            }
            if let Err(e) = dropped {
                backend_error(&mut ctx.diags, cannot, e);
            }
        }
        .await;
        legacy_done(&mut ctx.diags, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_named_like_a_group_role_are_refused() {
        crate::resources::common::assert_verdicts(
            check_owner_name,
            &[
                "shop_owner",
                "legacy_app",
                "readwrite",
                "shop_readwriter",
                "x_readonly_owner",
            ],
            &["tv_readwrite", "tv_readonly", "_readwrite", "a_b_readonly"],
        );
        assert!(check_owner_name("tv_readwrite")
            .unwrap_err()
            .contains("database \"tv\""));
    }

    #[test]
    fn only_a_fresh_copy_of_template0_skips_reading_its_schemas() {
        for (resume, template, skip) in [
            (false, "template0", true),
            (true, "template0", false),
            (false, "template1", false),
            (false, "golden", false),
            (true, "template1", false),
        ] {
            assert_eq!(
                fresh_from_template0(resume, template),
                skip,
                "{resume} {template}"
            );
        }
        assert!(wanted_admin_schemas(false, false).is_empty());
        assert_eq!(
            wanted_admin_schemas(true, true)
                .into_iter()
                .collect::<Vec<_>>(),
            [sql::EXTENSION_SCHEMA, sql::PGBOUNCER_SCHEMA]
        );
    }
}
