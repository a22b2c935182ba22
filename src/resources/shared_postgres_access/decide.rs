//! The rules of a shared access grant, pure: which database and grantee may be linked,
//! what a read finds, and the refusals (each renders its own diagnostic at the attribute
//! it is about). Table-tested in `tests.rs`.

use tfplugin::Error;

use crate::backends::postgres::{DatabaseFacts, RoleFacts, RoleLinks};
use crate::sql;

/// What the grant is about, from the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The database being shared.
    pub database: String,
    /// The group role that gets access.
    pub grantee: String,
    /// `readonly` or `readwrite`.
    pub access: String,
}

impl Spec {
    /// The database's group the grantee joins: `<database>_<access>`.
    pub fn group(&self) -> String {
        format!("{}_{}", self.database, self.access)
    }
}

/// The database's group for `access` (`readonly`, `readwrite`).
pub fn group_of(database: &str, access: &str) -> String {
    format!("{database}_{access}")
}

/// The accesses a grant may give, in the order a read prefers them.
pub const ACCESSES: [&str; 2] = ["readonly", "readwrite"];

/// What create observes: the database, and the facts and links of the group and grantee.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The database, when it exists.
    pub database: Option<DatabaseFacts>,
    /// The group and the grantee, those that exist.
    pub roles: Vec<RoleFacts>,
    /// Their membership links, those that exist.
    pub links: Vec<RoleLinks>,
}

impl Facts {
    fn role(&self, name: &str) -> Option<&RoleFacts> {
        self.roles.iter().find(|r| r.name == name)
    }

    fn links(&self, name: &str) -> RoleLinks {
        self.links
            .iter()
            .find(|l| l.name == name)
            .cloned()
            .unwrap_or_default()
    }
}

/// Why a grant is refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The database does not exist.
    NoDatabase(String),
    /// The database exists but is not one this provider made completely.
    NotManaged(String),
    /// The database's group is missing or not marked as this provider's.
    NoGroup { database: String, group: String },
    /// The grantee does not exist.
    NoGrantee(String),
    /// The grantee is not a tenant group this provider made (why).
    NotTenantGroup { grantee: String, why: String },
    /// The grantee is a group of the shared database itself.
    OwnGroup { grantee: String, database: String },
    /// The grantee has groups as members: they would reach the database too.
    GranteeHasGroups {
        grantee: String,
        groups: Vec<String>,
    },
    /// The database's group is itself a member of other roles: the grantee would reach
    /// them too.
    GroupIsShared {
        group: String,
        member_of: Vec<String>,
    },
}

const MARKER_PREFIX: &str = "terraform-provider-dbaas: role of database ";

/// The database a role's comment marks it for, when it is this provider's marker.
pub fn marked_database(comment: Option<&str>) -> Option<&str> {
    comment?.strip_prefix(MARKER_PREFIX)
}

impl Refusal {
    /// The diagnostic, at the attribute it is about.
    pub fn error(&self) -> Error {
        match self {
            Refusal::NoDatabase(db) => Error::at_attr(
                "database",
                format!("Database {db:?} does not exist"),
                format!("Only a database made by dbaas_shared_postgres_database can be shared; there is no database {db:?}. Nothing was granted."),
            ),
            Refusal::NotManaged(db) => Error::at_attr(
                "database",
                format!("Database {db:?} is not a tenant database of this provider"),
                format!("Only a database that dbaas_shared_postgres_database made completely (its comment says so) can be shared; {db:?} is not one. Nothing was granted."),
            ),
            Refusal::NoGroup { database, group } => Error::at_attr(
                "database",
                format!("Database {database:?} has no group role {group:?} of this provider"),
                format!("The grant makes the grantee a member of {group:?}, which must be the group role dbaas_shared_postgres_database made for {database:?} (marked by its comment). Nothing was granted."),
            ),
            Refusal::NoGrantee(g) => Error::at_attr(
                "grantee",
                format!("Role {g:?} does not exist"),
                "The grantee must be a group role of another tenant database (`<database>_readonly`, `<database>_readwrite` or its owner). Nothing was granted.",
            ),
            Refusal::NotTenantGroup { grantee, why } => Error::at_attr(
                "grantee",
                format!("Role {grantee:?} is not a tenant group of this provider"),
                format!("{why} Only the group roles dbaas_shared_postgres_database made for another database can be given access, so that what the grant passes on is known. Nothing was granted."),
            ),
            Refusal::OwnGroup { grantee, database } => Error::at_attr(
                "grantee",
                format!("Role {grantee:?} is a group of database {database:?} itself"),
                format!("Sharing {database:?} with its own group role changes nothing it should not already have; the grantee must be a group role of another tenant database. Nothing was granted."),
            ),
            Refusal::GranteeHasGroups { grantee, groups } => Error::at_attr(
                "grantee",
                format!("Role {grantee:?} has other groups as members"),
                format!("{} are members of {grantee:?}, so their logins would reach the shared database too: grants would chain from one tenant to a third. Remove the dbaas_shared_postgres_access that granted {grantee:?} to them first (or revoke the membership), or grant a group without such members. Nothing was granted.", groups.join(", ")),
            ),
            Refusal::GroupIsShared { group, member_of } => Error::at_attr(
                "database",
                format!("Group {group:?} already has access elsewhere"),
                format!("{group:?} is a member of {}, so the grantee's logins would reach those too: grants would chain from one tenant to a third. Share directly with the database that holds the data instead. Nothing was granted.", member_of.join(", ")),
            ),
        }
    }
}

/// Whether a grant of `spec` may be made (or, after making it, may stay), from `facts`:
/// the database is the provider's and complete, the group is its marked group, the
/// grantee a marked NOLOGIN non-superuser group role of another database, and neither
/// side links on to a third tenant. The same rule holds after the grant is made (its own
/// link is neither of the two checked), which is how a concurrent grant that closed a
/// chain is caught.
pub fn grant_verdict(spec: &Spec, facts: &Facts) -> Result<(), Refusal> {
    let db = &spec.database;
    let group = spec.group();
    match &facts.database {
        None => return Err(Refusal::NoDatabase(db.clone())),
        Some(d) if d.comment.as_deref() != Some(sql::DATABASE_MANAGED) => {
            return Err(Refusal::NotManaged(db.clone()))
        }
        Some(_) => {}
    }
    let marked_group = facts
        .role(&group)
        .is_some_and(|r| marked_database(r.comment.as_deref()) == Some(db.as_str()));
    if !marked_group {
        return Err(Refusal::NoGroup {
            database: db.clone(),
            group,
        });
    }
    let Some(grantee) = facts.role(&spec.grantee) else {
        return Err(Refusal::NoGrantee(spec.grantee.clone()));
    };
    let not_group = |why: String| Refusal::NotTenantGroup {
        grantee: spec.grantee.clone(),
        why,
    };
    if grantee.superuser {
        return Err(not_group(format!("{:?} is a superuser.", spec.grantee)));
    }
    if grantee.can_login {
        return Err(not_group(format!(
            "{:?} can log in: it is a login, not a group; grant the group it belongs to.",
            spec.grantee
        )));
    }
    match marked_database(grantee.comment.as_deref()) {
        None => {
            return Err(not_group(format!(
                "{:?} carries no marker of this provider.",
                spec.grantee
            )))
        }
        Some(d) if d == db => {
            return Err(Refusal::OwnGroup {
                grantee: spec.grantee.clone(),
                database: db.clone(),
            })
        }
        Some(_) => {}
    }
    let grantee_links = facts.links(&spec.grantee);
    if !grantee_links.group_members.is_empty() {
        return Err(Refusal::GranteeHasGroups {
            grantee: spec.grantee.clone(),
            groups: grantee_links.group_members,
        });
    }
    let group_links = facts.links(&group);
    if !group_links.member_of.is_empty() {
        return Err(Refusal::GroupIsShared {
            group,
            member_of: group_links.member_of,
        });
    }
    Ok(())
}

/// What a read finds: the access the grantee holds on the database (the state's when it
/// still holds it, else `readonly` before `readwrite`), or `None` when the grant is gone
/// (the grantee or the membership; a dropped database takes its groups with it).
pub fn read_access(
    database: &str,
    state_access: Option<&str>,
    grantee: Option<&RoleLinks>,
) -> Option<String> {
    let member_of = &grantee?.member_of;
    let holds = |access: &str| member_of.contains(&group_of(database, access));
    if let Some(a) = state_access.filter(|a| holds(a)) {
        return Some(a.to_string());
    }
    ACCESSES.iter().find(|a| holds(a)).map(|a| a.to_string())
}

/// The import id `<database>/<grantee>` split, or why it is not one.
pub fn parse_import_id(id: &str) -> Result<(String, String), String> {
    let Some((db, grantee)) = id.split_once('/') else {
        return Err(format!("{id:?} is not `<database>/<grantee>`: the id is the shared database's name and the grantee role's, joined by `/`"));
    };
    if db.is_empty() || grantee.is_empty() || grantee.contains('/') {
        return Err(format!(
            "{id:?} is not `<database>/<grantee>`: both parts are needed, joined by one `/`"
        ));
    }
    Ok((db.to_string(), grantee.to_string()))
}

/// The grantee a configuration names that is one of the shared database's own groups
/// (known at plan), as a refusal.
pub fn own_group_at_plan(database: &str, grantee: &str) -> Option<Refusal> {
    let own = ["owner", "readwrite", "readonly"]
        .iter()
        .any(|s| grantee == format!("{database}_{s}"));
    own.then(|| Refusal::OwnGroup {
        grantee: grantee.to_string(),
        database: database.to_string(),
    })
}
