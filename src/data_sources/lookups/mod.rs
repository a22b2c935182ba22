//! Lookups by name, for stacks that use a tenant's objects without owning them:
//! `data "dbaas_shared_postgres_database"`, `data "dbaas_shared_redis_namespace"` and
//! `data "dbaas_vault_rotation_role"` (one file each). They read, never write; each
//! refuses a name that does not exist, or an object this provider did not make, with an
//! error on `name`. The decisions below are pure and table-tested in `tests.rs`.

pub mod database;
pub mod namespace;
pub mod rotation_role;
#[cfg(test)]
mod tests;

use tfplugin::Error;

use crate::backends::postgres::{DatabaseFacts, RoleFacts};
use crate::backends::redis::AclUser;
use crate::resources::redis_acl::confined;
use crate::resources::role_guard::postgres_database_refusal;
use crate::resources::vault_role_rules::role_path;

/// The tenant groups of PostgreSQL database `name`: `(<name>_readwrite, <name>_readonly)`.
pub fn groups_of(name: &str) -> (String, String) {
    (format!("{name}_readwrite"), format!("{name}_readonly"))
}

/// Whether PostgreSQL database `name` may be looked up: it exists (`facts`) and is a
/// tenant database this provider manages (the rotation roles' rule,
/// `role_guard::postgres_database_refusal`: marked, or a tenant's shape; not a system,
/// template, admin or superuser-owned database). `roles`: the facts of its owner and
/// groups; `server` names where it was looked for. The owner role when it may.
pub fn database(
    name: &str,
    facts: Option<&DatabaseFacts>,
    roles: &[RoleFacts],
    admin_database: &str,
    server: &str,
) -> Result<String, Error> {
    let Some(f) = facts else {
        return Err(Error::at_attr(
            "name",
            format!("No PostgreSQL database {name:?}"),
            format!("The PostgreSQL server at {server} has no database of that name. Check the name, or create it with dbaas_shared_postgres_database in the stack that owns it (a lookup reads only what exists)."),
        ));
    };
    match postgres_database_refusal(name, Some(f), roles, admin_database) {
        Some(why) => Err(Error::at_attr(
            "name",
            format!("Not a tenant database: {name:?}"),
            why,
        )),
        None => Ok(f.owner.clone()),
    }
}

/// Whether Redis ACL user `name` (read back as `user`) may be looked up as a namespace:
/// it exists, is not the provider's admin, and has a namespace's shape (one `~<prefix>*`
/// key rule, channels under the prefix, no selectors), as `dbaas_shared_redis_namespace`
/// writes it.
pub fn namespace(name: &str, user: Option<&AclUser>, admin: &str) -> Result<(), Error> {
    let Some(user) = user else {
        return Err(Error::at_attr(
            "name",
            format!("No Redis namespace {name:?}"),
            "Redis has no ACL user of that name (a Redis restart without ACL persistence loses them until the owning stack applies again). Check the name, or create it with dbaas_shared_redis_namespace in the stack that owns it.",
        ));
    };
    let why = if name == admin {
        Some("it is the user the provider itself connects as".to_string())
    } else if !user.selectors.is_empty() {
        Some(format!(
            "it has selectors ({}), which a namespace never has",
            user.selectors.join(" ")
        ))
    } else {
        confined(&user.keys, &user.channels).err()
    };
    match why {
        Some(why) => Err(Error::at_attr(
            "name",
            format!("Redis user {name:?} is not a namespace this provider made"),
            format!("{why}. A namespace made by dbaas_shared_redis_namespace reaches only `<key_prefix>*` and channels under that prefix."),
        )),
        None => Ok(()),
    }
}

/// The role found at `<mount>/roles/<name>` (dynamic, looked up first) or
/// `<mount>/static-roles/<name>`, with whether it is static; none is an error on `name`.
pub fn rotation_role(
    name: &str,
    mount: &str,
    found: Option<(serde_json::Value, bool)>,
) -> Result<(serde_json::Value, bool), Error> {
    found.ok_or_else(|| {
        Error::at_attr(
            "name",
            format!("No Vault role {name:?}"),
            format!(
                "Neither {} nor {} exists. Check the name and `mount`, or create the role with dbaas_vault_rotation_role in the stack that owns it.",
                role_path(mount, name, false),
                role_path(mount, name, true)
            ),
        )
    })
}

/// Whether a dynamic role's statements are this provider's: they name the tenant
/// database (or namespace) the logins are for (`database`, recovered from them; empty
/// when hand-written statements name none). Static roles rotate an existing login, whose
/// tenant the catalog may not tell, so they pass.
pub fn role_is_ours(name: &str, stat: bool, database: &str) -> Result<(), Error> {
    if stat || !database.is_empty() {
        return Ok(());
    }
    Err(Error::at_attr(
        "name",
        format!("Vault role {name:?} is not one this provider made"),
        "Its creation statements join no tenant group (PostgreSQL `IN ROLE \"<database>_<access>\"`), grant on no tenant schema (MySQL) and confine to no key prefix (Redis), as the statements dbaas_vault_rotation_role generates do; a lookup cannot tell which tenant its logins are for.",
    ))
}

/// A PostgreSQL role whose tenant `database` is refused (`why`: the database lookup's
/// error): the same refusal, said of the role, still on `name`.
pub fn role_tenant_refused(name: &str, database: &str, why: Error) -> Error {
    let detail = why
        .diagnostics()
        .iter()
        .map(|d| format!("{} {}", d.summary, d.detail))
        .collect::<Vec<_>>()
        .join(" ");
    Error::at_attr(
        "name",
        format!("Vault role {name:?} is not one this provider made"),
        format!("Its logins join the groups of database {database:?}, which is not a tenant database of this provider: {detail}"),
    )
}
