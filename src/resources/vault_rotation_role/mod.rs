//! `dbaas_vault_rotation_role`: a Vault database role (`<mount>/roles/<name>`, dynamic)
//! or static role (`<mount>/static-roles/<name>`) whose statements are generated from
//! the engine, the tenant database and the access level, plus the policy HCL that
//! grants reading its credentials.
//!
//! This file: the model, the schema, validation and the plan hooks' entry points.
//! `plan.rs` plans the statements, `crud.rs` observes, decides and executes create,
//! read, update, delete and import, `decide.rs` holds their pure decisions, `guard.rs`
//! reads what the issue 19 rules (`resources::role_guard`) judge, `redis.rs` the Redis
//! namespace the rules come from, `lookup.rs` the catalog lookups (also used by the
//! ephemeral credentials).

use serde::{Deserialize, Serialize};
use tfplugin::{
    Attribute, AttributePath, Block, ClientInfo, Diagnostics, Known, Number, Plan, Schema, Type,
    Validator, Value,
};

use crate::backends::Backends;
use crate::enums::{Engine, RoleMode};
use crate::resources::common::{
    decode, no_nul_validator, vault_mount_validator, vault_name_validator, Ctx,
};
use crate::resources::role_guard::verdict::Refusal;
use crate::sql::Access;

mod crud;
mod decide;
mod guard;
mod limits;
mod login;
mod lookup;
mod plan;
mod redis;
mod schedule;
#[cfg(test)]
mod tests;

pub use lookup::{database_of_statements, databases_owned_by, static_login_database};

/// The resource type.
pub struct VaultRotationRole;

/// Plan and state of one role, attribute by attribute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    id: Known<String>,
    name: String,
    /// Null between an import and the read that follows it.
    connection: Option<String>,
    /// Null after the import of a role whose database cannot be recovered.
    database: Option<String>,
    mount: Known<String>,
    mode: RoleMode,
    access: Access,
    /// Null on static roles made since issue 21 (older states keep a default).
    default_ttl: Option<i64>,
    /// Null on static roles made since issue 21.
    max_ttl: Option<i64>,
    username: Option<String>,
    /// Null on dynamic roles made since issue 21.
    rotation_period: Option<i64>,
    creation_statements: Known<Vec<String>>,
    revocation_statements: Known<Vec<String>>,
    rotation_statements: Known<Vec<String>>,
    engine: Known<Engine>,
    creds_path: Known<String>,
    policy: Known<String>,
    database_owner: Known<String>,
    /// Issue 22: the connection limit of each issued login; null: none.
    connection_limit: Option<i64>,
    // Issue 22, static roles complete: null on roles made before (no change planned).
    /// Static: cron schedule of rotations (instead of `rotation_period`).
    rotation_schedule: Option<String>,
    /// Static: seconds after each scheduled time in which Vault may rotate.
    rotation_window: Option<i64>,
    /// Static: Vault does not rotate the login when the role is written.
    skip_import_rotation: Option<bool>,
    /// Static PostgreSQL: the provider makes (and drops) the login.
    create_login: Option<bool>,
    /// Static MySQL 8.0.14+: rotation keeps the previous password valid.
    retain_previous_password: Option<bool>,
}

impl Model {
    fn is_static(&self) -> bool {
        self.mode == RoleMode::Static
    }

    /// Whether the provider makes the static login (`create_login = true`).
    fn creates_login(&self) -> bool {
        self.is_static() && self.create_login == Some(true)
    }

    /// Whether rotations keep the previous MySQL password (`retain_previous_password`).
    fn retains_password(&self) -> bool {
        self.is_static() && self.retain_previous_password == Some(true)
    }
}

/// Where a planned role lives (either may be unknown, or null for the default mount).
#[derive(Debug, Deserialize)]
struct RoleName {
    name: Known<String>,
    mount: Known<String>,
}

/// Statements as planning sees them (elements may be unknown).
type PlannedStatements = Known<Vec<Known<String>>>;

/// What validation and planning look at in a configuration, prior state or plan. Words
/// stay strings: validation runs on configurations the schema may still refuse.
#[derive(Debug, Deserialize)]
struct PlanView {
    connection: Known<String>,
    database: Known<String>,
    mode: Known<String>,
    access: Known<String>,
    username: Known<String>,
    default_ttl: Known<Number>,
    max_ttl: Known<Number>,
    rotation_period: Known<Number>,
    creation_statements: PlannedStatements,
    revocation_statements: PlannedStatements,
    rotation_statements: PlannedStatements,
    engine: Known<String>,
    database_owner: Known<String>,
    /// Issue 22.
    connection_limit: Known<Number>,
    // Issue 22, static roles complete.
    rotation_schedule: Known<String>,
    rotation_window: Known<Number>,
    skip_import_rotation: Known<bool>,
    create_login: Known<bool>,
    retain_previous_password: Known<bool>,
}

impl PlanView {
    fn is_static(&self) -> bool {
        self.mode.as_option().map(String::as_str) == Some(RoleMode::Static.as_str())
    }

    fn engine(&self) -> Option<Engine> {
        self.engine.as_option().and_then(|e| Engine::parse(e))
    }

    fn access(&self) -> Option<Access> {
        self.access.as_option().and_then(|a| Access::parse(a))
    }

    /// The three statement lists, in the order of [`PlanEdit::statements`].
    fn statements(&self) -> [&PlannedStatements; 3] {
        [
            &self.creation_statements,
            &self.revocation_statements,
            &self.rotation_statements,
        ]
    }
}

/// The attributes planning may change; the others stay as Terraform planned them.
#[derive(Debug, Default, Serialize)]
struct PlanEdit {
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_statements: Option<PlannedStatements>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_statements: Option<PlannedStatements>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_statements: Option<PlannedStatements>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_owner: Option<Known<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_ttl: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_ttl: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_period: Option<Option<i64>>,
}

impl PlanEdit {
    /// The three statement lists, in the order of [`PlanView::statements`].
    fn statements(&mut self) -> [&mut Option<PlannedStatements>; 3] {
        [
            &mut self.creation_statements,
            &mut self.revocation_statements,
            &mut self.rotation_statements,
        ]
    }
}

/// Known statements as planning writes them.
fn planned_statements(v: Vec<String>) -> PlannedStatements {
    Known::Value(v.into_iter().map(Known::Value).collect())
}

/// What an import fills in; read does the rest.
#[derive(Serialize)]
struct Imported<'a> {
    mount: &'a str,
    name: &'a str,
    mode: RoleMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<Access>,
    /// Issue 22: read from the creation statements.
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_login: Option<bool>,
}

#[async_trait::async_trait]
impl tfplugin::ResourceType<Backends> for VaultRotationRole {
    fn type_name(&self) -> &'static str {
        "dbaas_vault_rotation_role"
    }

    fn schema(&self) -> Schema {
        let strings = || Type::list_of(Type::String);
        Schema::new(
            Block::new("A Vault database role for one tenant: dynamic logins with a TTL (`<mount>/roles/<name>`), or a static login rotated on a schedule (`<mount>/static-roles/<name>`). Statements are generated from the connection's engine, the tenant `database` and `access`: a PostgreSQL login joins `<database>_<access>` and, for `owner`, joins and runs as the database's owner role (`<database>_owner`, or the database's custom `owner`, read from the catalog) so the objects it creates outlive it; MySQL users are limited to their schema; Redis users to the key and channel patterns read from the namespace's ACL user (an error when it cannot be read), followed by the namespace guard rules, `-scan -randomkey` always included. Generated Redis rules are planned from the namespace recorded at the last refresh, so rules edited in Vault show as a change and are reverted.")
                .attr(Attribute::string("id").computed().use_state_for_unknown().description("`<mount>/<name>`."))
                .attr(Attribute::string("name").required().requires_replace().description("Role name, e.g. `postgres-myapp-role`; must match the connection's `allowed_roles`.").validate(vault_name_validator()))
                .attr(Attribute::string("connection").required().description("Name of the Vault connection (`dbaas_vault_database_connection.<x>.name`).").validate(vault_name_validator()))
                .attr(Attribute::string("database").required().description("The shared database (or Redis namespace) the logins are for: a tenant database this provider manages (PostgreSQL: marked by dbaas_shared_postgres_database, or with a tenant's NOLOGIN owner and `<database>_readwrite`/`<database>_readonly` roles; MySQL: an existing schema). Never a system database (`postgres`, `template0`, `template1`, `mysql`, `sys`, `information_schema`, `performance_schema`, in any case: refused at validate), a template, the provider's admin database, or one owned by a superuser (refused at plan when the catalog can be read, else at apply; nothing is written to Vault).").validate(no_nul_validator()))
                .attr(Attribute::string("mount").optional().computed().requires_replace().use_state_for_unknown().description("Mount of the database secrets engine, e.g. `database` or `team/database`. Default: the provider's `vault.mount`.").validate(vault_mount_validator()))
                .attr(Attribute::string("mode").default(Value::string(RoleMode::Dynamic.as_str())).requires_replace().description("`dynamic` (a new login per lease) or `static` (one login rotated every `rotation_period` or on `rotation_schedule`: an existing one, or one made with `create_login`).").validate(RoleMode::validator()))
                .attr(Attribute::string("access").default(Value::string(Access::Owner.as_str())).description(format!("{}. Dynamic roles: the group their logins join. Static roles: changes nothing (the login keeps the grants it has); it records the login's tenant group, which import reads from PostgreSQL (`<database>_<access>`), so a configuration can state it and plan no change.", Access::or_list())).validate(Access::validator()))
                .attr(Attribute::number("default_ttl").optional().computed().use_state_for_unknown().description(format!("Dynamic only: lease TTL in seconds, at most `max_ttl` (checked at validate, or at plan when a value is known only then). Planned as `{}` on dynamic roles when unset; null on static roles, where setting it is refused.", plan::DEFAULT_SECONDS)).validate(Validator::int_between(1, 10 * 365 * 86400)))
                .attr(Attribute::number("max_ttl").optional().computed().use_state_for_unknown().description(format!("Dynamic only: maximum lease TTL in seconds. Planned as `{}` on dynamic roles when unset (so a `max_ttl` below it needs a `default_ttl` too); null on static roles, where setting it is refused.", plan::DEFAULT_SECONDS)).validate(Validator::int_between(1, 10 * 365 * 86400)))
                .attr(Attribute::string("username").optional().description("Static: the login Vault rotates (required for `mode = \"static\"`): an existing one, or the one `create_login` makes. A plain tenant login only: PostgreSQL LOGIN without SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS, a member of no role outside the database's groups; MySQL without global grants or grants on other databases; never the PgBouncer auth user, a provider admin or the admin of any Vault connection on the mount.").validate(no_nul_validator()))
                .attr(Attribute::number("rotation_period").optional().computed().use_state_for_unknown().description(format!("Static only: seconds between rotations. Planned as `{}` on static roles when neither it nor `rotation_schedule` is set (null with a schedule); null on dynamic roles, where setting it is refused.", plan::DEFAULT_SECONDS)).validate(Validator::int_between(5, 10 * 365 * 86400)))
                .attr(Attribute::typed("creation_statements", strings()).optional().computed().description("Dynamic: statements creating a login. Default: generated from engine, database and access. Setting it (or the other statement lists) needs the provider's `vault { allow_custom_statements = true }`; even then statements granting SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS, membership in a role outside the tenant's groups, MySQL privileges beyond the tenant database, or anything other than creating, changing and dropping the issued login are refused."))
                .attr(Attribute::typed("revocation_statements", strings()).optional().computed().description("Dynamic: statements removing a login. Default: generated (PostgreSQL: end its sessions, then DROP ROLE)."))
                .attr(Attribute::typed("rotation_statements", strings()).optional().computed().description("Static: statements changing the password. Default: generated."))
                .attr(Attribute::string("engine").computed().use_state_for_unknown().description(format!("Engine of the connection: {}.", Engine::or_list())))
                .attr(Attribute::string("creds_path").computed().use_state_for_unknown().description("Where apps read credentials: `<mount>/creds/<name>` or `<mount>/static-creds/<name>`."))
                .attr(Attribute::string("policy").computed().use_state_for_unknown().description("Vault policy HCL granting `read` on `creds_path`."))
                .attr(Attribute::string("database_owner").computed().use_state_for_unknown().description("PostgreSQL: the role that owns `database`, read from the catalog (`pg_database.datdba`; `<database>_owner` unless the database sets a custom `owner`). `owner` logins join it and run as it. Null for MySQL and Redis."))
                // Issue 22 (guardrails): kept together for the merge.
                .attr(Attribute::number(limits::ATTR).optional().description("Dynamic roles: the most sessions each login Vault issues may hold at once, written into the statement that creates it (PostgreSQL `CONNECTION LIMIT n`, MySQL/MariaDB `WITH MAX_USER_CONNECTIONS n`), so no login exists without it. Unset: no limit of its own (the database's `connection_limit` still applies). Changing it rewrites the role in place; logins already issued keep the limit they were made with until their lease ends. Refused on static roles, beside custom `creation_statements`, and on Redis (ACL users have no connection limit). Through PgBouncer the limit counts server connections, which PgBouncer shares between its clients.").validate(Validator::int_between(1, 100_000)))
                // Issue 22: static roles, complete (kept together).
                .attr(Attribute::string("rotation_schedule").optional().description("Static only: rotate on this cron schedule (five fields: minute hour day-of-month month day-of-week, in UTC, e.g. `0 3 * * *`) instead of every `rotation_period`; set exactly one of the two (neither: every 86400 seconds). Needs HashiCorp Vault 1.15 or later; OpenBao 2.x has no schedules, so apply refuses it there before writing anything.").validate(no_nul_validator()))
                .attr(Attribute::number("rotation_window").optional().description("Static only, with `rotation_schedule`: seconds after each scheduled time during which Vault may still rotate (at least 3600). Needs HashiCorp Vault 1.15 or later.").validate(Validator::int_between(3600, 10 * 365 * 86400)))
                .attr(Attribute::bool("skip_import_rotation").optional().description("Static only: when `true`, Vault does not rotate the login's password when the role is written (the app keeps the password it has until the first rotation). Refused with `create_login`, whose login has no password until Vault rotates it. Needs HashiCorp Vault 1.18 or later; OpenBao 2.x always rotates, so apply refuses it there before writing anything."))
                .attr(Attribute::bool("create_login").optional().requires_replace().description("Static only: the provider makes the login `username`, Vault gives it its first password when the role is written, and destroy drops it again. PostgreSQL: LOGIN with no password of its own, a member of `<database>_<access>` (for `owner`, running as the database's owner role), marked as this role's in its comment; dropped after its sessions are ended (an error, naming it, when it owns objects); import recovers the setting from the marker. MySQL: a user with a random password nobody is told (MySQL has no password-less account that refuses logins) and the grants a dynamic login of `access` gets on `database`; MySQL keeps no marker, so destroy drops the user the state says was made here and import cannot tell (set `create_login` after an import and the role is planned again). A login that already exists is refused, never adopted; one dropped out of band plans the role again. With it, a new `username` makes a new role and login (the old ones are removed). Refused on Redis (a namespace makes its user)."))
                .attr(Attribute::bool("retain_previous_password").optional().description("Static only, MySQL 8.0.14 or later: rotations run `ALTER USER ... RETAIN CURRENT PASSWORD`, so the previous password keeps working until the next rotation while apps pick up the new one (dual passwords; the connection's admin needs `CREATE USER` or `APPLICATION_PASSWORD_ADMIN`). Refused at apply, before anything is written, on MariaDB and MySQL before 8.0.14, which keep one password per account, and on other engines.")),
        )
    }

    async fn validate(&self, config: &Value, _info: &ClientInfo, diags: &mut Diagnostics) {
        let Some(config) = decode::<PlanView>(diags, config) else {
            return;
        };
        if let Some(why) = config
            .database
            .as_option()
            .and_then(|d| crate::resources::role_guard::system_database(d))
        {
            Refusal::SystemDatabase(why).error().report(diags);
        }
        if config.is_static() && config.username.is_null() {
            diags.error_at(
                AttributePath::attr("username"),
                "username is required for a static role",
                "A static role rotates an existing login: set `username`.",
            );
        }
        if !config.is_static() && !config.username.is_null() && !config.username.is_unknown() {
            diags.error_at(AttributePath::attr("username"), "username only applies to static roles", "Dynamic roles create a new login per lease; remove `username` or set `mode = \"static\"`.");
        }
        // Where the configuration alone decides (the mode known); else at plan.
        for problem in plan::ttl_problems(&config) {
            problem.report(diags);
        }
        limits::check(&config, diags);
        for problem in schedule::static_problems(&config, plan::mode_is_static(&config)) {
            problem.report(diags);
        }
    }

    async fn modify_plan(&self, plan: &mut Plan<'_>) {
        plan::ttls(plan);
        plan::statements(plan);
        plan::login_replacement(plan);
    }

    fn plan_with_client(&self, client: &Backends, plan: &mut Plan<'_>) {
        crate::resources::known_at_plan::plan_role(plan, &client.settings);
        plan::remember_role(client, plan);
    }

    async fn check_plan(&self, client: &Backends, plan: &mut Plan<'_>) {
        plan::check(client, plan).await;
    }

    fn plan_with_private(&self, prior_private: &[u8], plan: &mut Plan<'_>) {
        plan::redis_rules(prior_private, plan);
    }

    async fn import(&self, ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
        crud::import(ctx, id, state).await;
    }
}
