//! `dbaas_shared_postgres_database`: one tenant database on the shared PostgreSQL,
//! complete with its NOLOGIN owner and `_readwrite` / `_readonly` group roles, default
//! privileges, isolation from other tenants, and PgBouncer's auth function.
//! Destroy drains PgBouncer on every replica before dropping anything.

mod crud;
mod decide;
mod execute;
mod schemas;
mod settings;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tfplugin::{
    Attribute, AttributePath, Block, ClientInfo, Diagnostics, Known, Plan, Schema, Type, Validator,
    Value,
};

use crate::backends::Backends;
use crate::resources::common::{decode, derived, merge, pg_name_validator, plan_views, Ctx};
use crate::resources::postgres_marks::Private;
use crate::sql::TenantRoles;

/// The resource type.
pub struct SharedPostgresDatabase;

/// Plan and state of one database, attribute by attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Issue 22: `ALTER DATABASE ... SET` guardrails; null: not managed.
    settings: Known<BTreeMap<String, String>>,
    /// Issue 22: extra schemas (a set; `None`: not managed).
    schemas: Option<Vec<String>>,
}

/// What planning looks at in a configuration, prior state or plan (any of it unknown).
#[derive(Debug, Deserialize)]
struct PlanView {
    name: Known<String>,
    owner: Known<String>,
    template: Known<String>,
    /// Issue 22.
    settings: settings::ConfigSettings,
}

/// The prior state's `settings`, for planning.
#[derive(Debug, Deserialize)]
struct PriorSettings {
    settings: Known<BTreeMap<String, String>>,
}

/// The attributes planning may change; the others stay as Terraform planned them.
#[derive(Debug, Default, Serialize)]
struct PlanEdit {
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<Known<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<Known<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<Known<BTreeMap<String, String>>>,
}

/// What an import fills in; read does the rest.
#[derive(Serialize)]
struct Imported<'a> {
    name: &'a str,
    /// Unknown for an existing database; adopted from configuration on the next plan.
    template: Option<String>,
    /// Read the installed extensions, so a configuration listing them plans no change.
    extensions: Vec<String>,
    /// Read the settings too (issue 22).
    settings: BTreeMap<String, String>,
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
    /// Issue 22: set on the database before it opens.
    settings: BTreeMap<String, String>,
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
            settings: m.settings.as_option().cloned().unwrap_or_default(),
            name,
        }
    }
}

/// Where apps connect (the PgBouncer endpoint, or the primary).
fn endpoint(ctx: &Ctx<'_>) -> decide::Endpoint {
    ctx.client.postgres_app_endpoint().unwrap_or_default()
}

/// PgBouncer's `auth_user`, granted the auth function.
fn auth_user(ctx: &Ctx<'_>) -> String {
    ctx.client.settings.pgbouncer_auth_user().to_string()
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
            .timeouts(tfplugin::timeouts::Op::ALL)
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
                Attribute::typed("schemas", Type::set_of(Type::String))
                    .optional()
                    .description("Extra schemas (issue 22), besides `public`: each owned by the database's owner, with the same privileges and default privileges for `<name>_readwrite` and `<name>_readonly` as `public` (so whatever the owner creates there is theirs to use, and a `dbaas_shared_postgres_access` grant covers it too). A schema removed from the list is dropped without CASCADE: refused, naming it, while it holds objects. A listed schema that exists owned by someone else is refused. Not `public`, `extensions`, `pgbouncer`, `information_schema` or `pg_*`. When unset, schemas are not managed.")
                    .validate(Validator::new("schema names", |v| {
                        for s in v.string_list() {
                            schemas::check_name(&s)?;
                        }
                        Ok(())
                    })),
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
            .attr(Attribute::bool("deletion_protection").default(Value::Bool(true)).description("While `true`, the database and its data are kept: a change that forces a replacement is refused at plan, and a destroy too (at plan on Terraform 1.3 and later, at apply on older ones). Set `false` and apply before destroying. A database whose create was cut off before it was complete (tainted, and marked unfinished in the catalog) can be replaced regardless: no tenant could have stored data in it."))
            .attr(Attribute::bool("pgbouncer_auth").default(Value::Bool(true)).description("Install `pgbouncer.get_auth(text)` (SECURITY DEFINER, unexpired roles only) and grant it and CONNECT to PgBouncer's `auth_user`, so logins work through PgBouncer's `auth_query`. The schema `pgbouncer` is created and owned by the provider's admin; one created by anyone else (a tenant, while this was `false`) is refused, naming schema and owner."))
            .attr(Attribute::string("host").computed().use_state_for_unknown().description("Host apps use: the PgBouncer endpoint (`pgbouncer.host`), or the primary when no `pgbouncer` block is configured."))
            .attr(Attribute::number("port").computed().use_state_for_unknown().description("Port apps use."))
            .attr(
                Attribute::typed("settings", Type::map_of(Type::String))
                    .optional()
                    .computed()
                    .description(format!("Noisy-neighbour guardrails: PostgreSQL settings applied to the database with `ALTER DATABASE ... SET`, so every session in it starts with them (through PgBouncer too), e.g. `{{ statement_timeout = \"30s\", work_mem = \"16MB\" }}`. Only these names are accepted (anything else is refused at plan, with this list): {}. Values are written as PostgreSQL takes them and checked by the server at apply. Read back for drift (a change made out of band, or by the tenant's owner, shows and is reverted); removing a name resets it (`ALTER DATABASE ... RESET`), removing the attribute resets every one it set; settings outside the list are left alone. `temp_file_limit` is superuser-only, so a tenant cannot lift it; the others are defaults that a session may still change with `SET` (`statement_timeout` bounds what an app runs, not what a hostile login chooses). The provider's own sessions in the database ignore the time limits. Per-database PgBouncer pool sizes are not set here: see the platform prerequisites guide.", settings::allowed_list())),
            ),
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
        // Issue 22: `settings` left out manages none (resets what the state holds).
        let prior_settings = match plan.prior.is_null() {
            true => Known::Null,
            false => match decode::<PriorSettings>(&mut plan.diags, plan.prior) {
                Some(p) => p.settings,
                None => return,
            },
        };
        edit.settings = settings::planned_when_unset(config.settings.is_null(), &prior_settings);
        merge(&mut plan.diags, &mut plan.planned, &edit);
        let name = planned.name.as_option().map_or("", String::as_str);
        if let Known::Value(owner) = owner {
            if owner == format!("{name}_readwrite") || owner == format!("{name}_readonly") {
                plan.diags.error_at(AttributePath::attr("owner"), "owner collides with a group role", format!("{owner:?} is the name of one of the group roles this resource creates; choose another owner."));
            }
        }
    }

    async fn validate(&self, config: &Value, _info: &ClientInfo, diags: &mut Diagnostics) {
        let Some(config) = decode::<PlanView>(diags, config) else {
            return;
        };
        for refusal in settings::check_settings(&config.settings) {
            refusal.report(diags);
        }
    }

    fn plan_with_client(&self, client: &Backends, plan: &mut Plan<'_>) {
        // Issue 21: id, host and port planned known; an absent `postgres` block refused.
        let needs = crate::resources::known_at_plan::Needs {
            block: "postgres",
            attr: "name",
            does: "creates and manages the database through the provider's PostgreSQL admin login",
        };
        crate::resources::known_at_plan::plan_store(
            plan,
            &client.settings,
            "dbaas_shared_postgres_database",
            crate::enums::Engine::Postgres,
            needs,
        );
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
        if decide::is_builtin_template(&template) {
            return;
        }
        let Ok(pg) = client.postgres().await else {
            return;
        };
        if let Ok(Some(why)) = execute::template_refusal(pg, &template).await {
            plan.diags
                .error_at(AttributePath::attr("template"), "Template refused", why);
        }
    }

    fn plan_replace(&self, _prior_private: &[u8], plan: &mut Plan<'_>) {
        let Some(prior) = decode::<Model>(&mut plan.diags, plan.prior) else {
            return;
        };
        let forced_by = plan
            .requires_replace
            .iter()
            .map(|p| p.to_string())
            .collect();
        if let Err(r) =
            decide::decide_replacement(&prior.name, prior.deletion_protection, forced_by)
        {
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
        if !prior.deletion_protection {
            return;
        }
        // Protected: only a create that never finished may go, as the catalog tells.
        let (spec, private) = (Spec::from(&prior), Private::parse(prior_private));
        let seen = match client.postgres().await {
            Ok(pg) => execute::destroy_facts(pg, &spec, &private).await.ok(),
            Err(_) => None,
        };
        let seen = seen
            .as_ref()
            .map(|(db, roles)| (db.as_ref(), roles.as_slice()));
        if let Err(r) = decide::decide_destroy_plan(&spec.name, true, &private, seen) {
            r.error().report(diags);
        }
    }

    async fn import(&self, ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
        if !crate::resources::common::is_pg_identifier(id, 63) {
            let why = format!("{id:?} is not a database name this resource manages: the id is the database name, lower-case letters, digits and `_`, starting with a letter or `_`");
            crate::resources::common::refuse_import_id(
                &mut ctx.diags,
                "dbaas_shared_postgres_database",
                &why,
                "app_db",
            );
            return;
        }
        let imported = Imported {
            name: id,
            template: None,
            extensions: Vec::new(),
            settings: BTreeMap::new(),
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

#[cfg(test)]
mod tests;
