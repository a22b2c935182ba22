//! What a `dbaas_vault_rotation_role` may point Vault at (issue 19 item 2): never a system
//! database or one this provider does not manage, never a privileged or platform login for
//! a static role, and custom statements only with the provider's opt-in and never ones
//! that grant platform privileges or membership outside the tenant's groups. Pure: the
//! resource gathers the facts, these functions decide ([`verdict`] puts them together for
//! one role); table tests in `tests.rs` and `verdict_tests.rs`, custom statements in
//! [`statements`].

use crate::backends::postgres::{DatabaseFacts, RoleFacts};

/// PostgreSQL's system databases.
pub const POSTGRES_SYSTEM_DATABASES: &[&str] = &["postgres", "template0", "template1"];

/// MySQL/MariaDB's system schemas.
pub const MYSQL_SYSTEM_SCHEMAS: &[&str] =
    &["mysql", "sys", "information_schema", "performance_schema"];

/// The comment this provider writes on a PostgreSQL database it created completely.
pub use crate::sql::DATABASE_MANAGED;

/// Refuses a system database name of either engine, case-insensitively (a word rule:
/// needs neither the engine nor a backend, so validation applies it).
pub fn system_database(database: &str) -> Option<String> {
    let lower = database.trim().to_ascii_lowercase();
    let system = POSTGRES_SYSTEM_DATABASES
        .iter()
        .chain(MYSQL_SYSTEM_SCHEMAS)
        .any(|s| *s == lower);
    system.then(|| format!("{database:?} is a system database: its logins would reach the platform's own data and roles. A rotation role is for a tenant database made by dbaas_shared_postgres_database or dbaas_shared_mysql_database (PostgreSQL system databases: {}; MySQL system schemas: {}).", POSTGRES_SYSTEM_DATABASES.join(", "), MYSQL_SYSTEM_SCHEMAS.join(", ")))
}

/// Whether PostgreSQL database `database` is one this provider manages: it carries the
/// marker dbaas_shared_postgres_database writes, or (a database made by v0.1.0, which
/// wrote no marker, or adopted by import) it has a tenant's shape: its owner and
/// `<database>_readwrite`, `<database>_readonly` all exist, NOLOGIN and not superusers.
/// `roles` are the catalog's facts about those three (any order; missing ones absent).
pub fn managed_database(database: &str, facts: &DatabaseFacts, roles: &[RoleFacts]) -> bool {
    if facts.comment.as_deref() == Some(DATABASE_MANAGED) {
        return true;
    }
    let plain_group = |name: &str| {
        roles
            .iter()
            .any(|r| r.name == name && !r.can_login && !r.superuser)
    };
    plain_group(&facts.owner)
        && plain_group(&format!("{database}_readwrite"))
        && plain_group(&format!("{database}_readonly"))
}

/// Refuses a PostgreSQL database a rotation role may not serve: missing, not managed by
/// this provider ([`managed_database`]), a template, the provider's own admin database,
/// or owned by a superuser. `roles`: the facts of its owner and group roles.
pub fn postgres_database_refusal(
    database: &str,
    facts: Option<&DatabaseFacts>,
    roles: &[RoleFacts],
    admin_database: &str,
) -> Option<String> {
    if let Some(why) = system_database(database) {
        return Some(why);
    }
    if database == admin_database {
        return Some(format!(
            "{database:?} is the database the provider's admin connects to, not a tenant database."
        ));
    }
    let Some(f) = facts else {
        return Some(format!("Database {database:?} does not exist. Create it with dbaas_shared_postgres_database and reference it, e.g. `database = dbaas_shared_postgres_database.<x>.name`."));
    };
    if f.is_template {
        return Some(format!(
            "{database:?} is a template database, not a tenant database."
        ));
    }
    if roles.iter().any(|r| r.name == f.owner && r.superuser) {
        return Some(format!("{database:?} is owned by {:?}, a superuser: its `owner` logins would act as a superuser.", f.owner));
    }
    if !managed_database(database, f, roles) {
        return Some(format!("{database:?} is not a database this provider manages: it has neither the marker dbaas_shared_postgres_database writes (`COMMENT ON DATABASE {database} IS '{DATABASE_MANAGED}'`) nor a tenant's roles (a NOLOGIN owner, `{database}_readwrite` and `{database}_readonly`, none of them superusers). Create it with dbaas_shared_postgres_database, or import it there and give it the tenant's roles."));
    }
    None
}

/// What the catalog says about the login a static PostgreSQL role would rotate (a
/// backend row: backends know nothing of resources).
pub use crate::backends::postgres::PgLoginFacts;

/// Logins no static role may rotate, each with why: `(name, reason)`.
pub type ForbiddenLogins = Vec<(String, String)>;

/// Refuses a static PostgreSQL role's `username` unless it is a plain tenant login:
/// it exists and can log in, holds none of SUPERUSER, CREATEROLE, CREATEDB, REPLICATION,
/// BYPASSRLS, is a member of no role outside `groups`, and is none of `forbidden` (the
/// PgBouncer auth user, the admins of the provider and of the Vault connections).
pub fn postgres_static_login_refusal(
    username: &str,
    facts: Option<&PgLoginFacts>,
    groups: &[String],
    forbidden: &[(String, String)],
) -> Option<String> {
    if let Some((_, why)) = forbidden.iter().find(|(n, _)| n == username) {
        return Some(format!("{username:?} is {why}: Vault would rotate its password and hand it out. A static role rotates a plain tenant login."));
    }
    let Some(f) = facts else {
        return Some(format!("Login {username:?} does not exist. A static role rotates an existing login: create it first (a LOGIN role in one of the database's groups)."));
    };
    if f.is_admin {
        return Some(format!("{username:?} is the provider's PostgreSQL admin login: Vault would rotate its password and hand it out."));
    }
    let attributes: Vec<&str> = [
        (f.superuser, "SUPERUSER"),
        (f.createrole, "CREATEROLE"),
        (f.createdb, "CREATEDB"),
        (f.replication, "REPLICATION"),
        (f.bypassrls, "BYPASSRLS"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, a)| *a)
    .collect();
    if !attributes.is_empty() {
        return Some(format!("{username:?} has {}: a static role rotates a plain tenant login, and Vault would hand these out.", attributes.join(", ")));
    }
    if !f.can_login {
        return Some(format!(
            "{username:?} is not a login (NOLOGIN): a static role rotates a tenant's login."
        ));
    }
    if !f.elsewhere.is_empty() {
        return Some(format!("{username:?} owns or holds privileges outside the tenant database: {}. Vault would hand those out with the login.", f.elsewhere.join("; ")));
    }
    let outside: Vec<&str> = f
        .member_of
        .iter()
        .filter(|r| !groups.contains(r))
        .map(String::as_str)
        .collect();
    if !outside.is_empty() {
        return Some(format!("{username:?} is a member of {}, outside the tenant database's groups ({}): Vault would hand out what those roles hold.", outside.join(", "), groups.join(", ")));
    }
    None
}

/// What the server says about the account a static MySQL role would rotate (from the
/// backend).
pub use crate::backends::mysql::MysqlLoginFacts;

/// Refuses a static MySQL role's `username` unless it is a plain account of the tenant:
/// not the provider's admin nor a Vault connection's, no global privileges, no privileges
/// outside database `database`.
pub fn mysql_static_login_refusal(
    username: &str,
    facts: &MysqlLoginFacts,
    database: &str,
    forbidden: &[(String, String)],
) -> Option<String> {
    if let Some((_, why)) = forbidden.iter().find(|(n, _)| n == username) {
        return Some(format!("{username:?} is {why}: Vault would rotate its password and hand it out. A static role rotates a plain tenant account."));
    }
    if facts.is_admin {
        return Some(format!("{username:?} is the provider's MySQL admin user: Vault would rotate its password and hand it out."));
    }
    if !facts.exists {
        return Some(format!("MySQL user {username:?} does not exist. A static role rotates an existing account: create it first, with grants on `{database}` only."));
    }
    if !facts.global_privileges.is_empty() {
        return Some(format!("{username:?} holds global privileges ({}, ON *.*): a static role rotates an account with grants on its tenant database only.", facts.global_privileges.join(", ")));
    }
    if !facts.other_schemas.is_empty() {
        return Some(format!("{username:?} holds privileges in {} besides {database:?}: a static role rotates an account with grants on its tenant database only.", facts.other_schemas.join(", ")));
    }
    None
}

/// The names a statement of a role on `database` may use: the tenant's group roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The tenant database (or Redis namespace).
    pub database: String,
    /// Its group roles (PostgreSQL): the owner role, `<db>_readwrite`, `<db>_readonly`.
    pub groups: Vec<String>,
}

impl Scope {
    /// The scope of `database` whose owner role is `owner` (`<db>_owner` by default).
    pub fn new(database: &str, owner: Option<&str>) -> Scope {
        let mut groups = vec![
            format!("{database}_owner"),
            format!("{database}_readwrite"),
            format!("{database}_readonly"),
        ];
        if let Some(o) = owner {
            if !groups.iter().any(|g| g == o) {
                groups.push(o.to_string());
            }
        }
        Scope {
            database: database.to_string(),
            groups,
        }
    }
}

pub mod statements;
pub mod verdict;
pub use statements::{custom_statements_refusal, statement_refusal};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod verdict_tests;
