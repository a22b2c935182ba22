//! The guard's verdict on a rotation role about to be written: the resource observes
//! (backend reads only, into [`Observed`]), [`word_refusals`] and [`verdicts`] decide
//! (pure), and each [`Refusal`] renders its own diagnostic at the attribute it is about.

use tfplugin::Error;

use super::{
    custom_statements_refusal, mysql_static_login_refusal, postgres_database_refusal,
    postgres_static_login_refusal, statement_refusal, system_database, ForbiddenLogins,
    MysqlLoginFacts, PgLoginFacts, Scope,
};
use crate::backends::postgres::{DatabaseFacts, ForeignDependency, RoleFacts};
use crate::enums::Engine;

/// The three statement attributes, in the order of [`Guarded::custom`].
pub const STATEMENT_ATTRIBUTES: [&str; 3] = [
    "creation_statements",
    "revocation_statements",
    "rotation_statements",
];

/// When the guard runs: at plan, what cannot be read yet is checked again at apply; at
/// apply, everything must be known and readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `terraform plan` (and the plan before an apply).
    Plan,
    /// Create or update, just before anything is written to Vault.
    Apply,
}

/// What the guard looks at in a role about to be written: from a plan (at plan time) or
/// from the planned model (at create and update).
#[derive(Debug, Clone)]
pub struct Guarded {
    /// The secrets engine mount.
    pub mount: String,
    /// The Vault connection (unknown at plan: `None`).
    pub connection: Option<String>,
    /// The tenant database or namespace (unknown at plan: `None`).
    pub database: Option<String>,
    /// Static roles: the login Vault would rotate.
    pub username: Option<String>,
    /// The configured custom statements, per attribute (`None`: left to the provider;
    /// unknown elements are left out).
    pub custom: [(&'static str, Option<Vec<String>>); 3],
    /// The connection's engine when already known (apply).
    pub engine: Option<Engine>,
}

impl Default for Guarded {
    fn default() -> Self {
        Guarded {
            mount: String::new(),
            connection: None,
            database: None,
            username: None,
            custom: STATEMENT_ATTRIBUTES.map(|a| (a, None)),
            engine: None,
        }
    }
}

/// A fact the guard could not read: what, and the backend's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// What was to be checked, e.g. `database "shop"`.
    pub what: String,
    /// The backend's error text.
    pub error: String,
}

/// A fact as read: the value, or why it could not be read.
pub type Read<T> = Result<T, Unreadable>;

/// A PostgreSQL database as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgDatabase {
    /// `None`: no such database.
    pub facts: Option<DatabaseFacts>,
    /// The facts of its owner and group roles (empty for a missing database).
    pub roles: Read<Vec<RoleFacts>>,
}

/// What the backends say about the role's database and static login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineFacts {
    /// The engine's server could not be reached: nothing more was read.
    Unreachable(Unreadable),
    /// PostgreSQL: the database, and the static login (`None`: a dynamic role).
    Postgres {
        /// The database and its roles.
        database: Read<PgDatabase>,
        /// The static login, `None` when there is none.
        login: Option<Read<Option<PgLoginFacts>>>,
        /// Logins no static role may rotate (empty for a dynamic role).
        forbidden: ForbiddenLogins,
    },
    /// MySQL: whether the schema exists, and the static account.
    Mysql {
        /// The schema exists.
        exists: Read<bool>,
        /// The static account, `None` when there is none.
        login: Option<Read<MysqlLoginFacts>>,
        /// Logins no static role may rotate (empty for a dynamic role).
        forbidden: ForbiddenLogins,
    },
    /// Redis: only the forbidden logins matter (the namespace is read at apply).
    Redis {
        /// Logins no static role may rotate (empty for a dynamic role).
        forbidden: ForbiddenLogins,
    },
}

/// Everything the guard read for one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The connection's engine.
    pub engine: Engine,
    /// What its server says.
    pub facts: EngineFacts,
}

/// Why a role is not written, each rendering its own diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A system database (a word rule, no backend needed).
    SystemDatabase(String),
    /// Custom statements without the provider's opt-in, at their attribute.
    CustomStatementsOff {
        /// The statement attribute.
        attribute: &'static str,
        /// Why.
        why: String,
    },
    /// A database the role may not serve.
    Database(String),
    /// A static login the role may not rotate.
    StaticLogin(String),
    /// A custom statement that does more than manage the issued login.
    CustomStatement {
        /// The statement attribute.
        attribute: &'static str,
        /// Why.
        why: String,
        /// The statement.
        text: String,
        /// The tenant's groups the statement may use.
        groups: Vec<String>,
    },
    /// At apply, a fact the rules need could not be read.
    Unverifiable(Unreadable),
}

impl Refusal {
    /// The attribute the diagnostic points at, if any.
    pub fn attribute(&self) -> Option<&'static str> {
        match self {
            Refusal::SystemDatabase(_) | Refusal::Database(_) => Some("database"),
            Refusal::StaticLogin(_) => Some("username"),
            Refusal::CustomStatementsOff { attribute, .. }
            | Refusal::CustomStatement { attribute, .. } => Some(attribute),
            Refusal::Unverifiable(_) => None,
        }
    }

    /// The diagnostic's summary.
    pub fn summary(&self) -> String {
        match self {
            Refusal::SystemDatabase(_) => "System database refused".into(),
            Refusal::CustomStatementsOff { .. } => "Custom statements refused".into(),
            Refusal::Database(_) => "Database refused".into(),
            Refusal::StaticLogin(_) => "Static login refused".into(),
            Refusal::CustomStatement { .. } => "Custom statement refused".into(),
            Refusal::Unverifiable(u) => format!("Cannot check {}", u.what),
        }
    }

    /// The diagnostic's detail: why, and that Vault was left alone.
    pub fn detail(&self) -> String {
        let why = match self {
            Refusal::SystemDatabase(why)
            | Refusal::Database(why)
            | Refusal::StaticLogin(why)
            | Refusal::CustomStatementsOff { why, .. } => why.clone(),
            Refusal::CustomStatement { why, text, groups, .. } => format!("{why}: {text:?}. Custom statements may create, change and drop only the issued login, within the tenant database's groups ({}).", groups.join(", ")),
            Refusal::Unverifiable(u) => return format!("{}. The role is written only once the catalog shows it is allowed; nothing was written to Vault.", u.error),
        };
        format!("{why} Nothing was written to Vault.")
    }

    /// The diagnostic.
    pub fn error(&self) -> Error {
        match self.attribute() {
            Some(attr) => Error::at_attr(attr, self.summary(), self.detail()),
            None => Error::new(self.summary(), self.detail()),
        }
    }
}

/// All the refusals as one error; `Ok` when there are none.
pub fn refused(refusals: &[Refusal]) -> Result<(), Error> {
    refusals
        .iter()
        .map(Refusal::error)
        .reduce(Error::and)
        .map_or(Ok(()), Err)
}

/// The rules that need no backend: a system database, custom statements without the
/// opt-in (`allowed`). When any holds, nothing is read.
pub fn word_refusals(role: &Guarded, allowed: bool) -> Vec<Refusal> {
    let mut out: Vec<Refusal> = role
        .database
        .as_deref()
        .and_then(system_database)
        .map(Refusal::SystemDatabase)
        .into_iter()
        .collect();
    for (attribute, list) in &role.custom {
        if list.is_some() {
            if let Some(why) = custom_statements_refusal(allowed, attribute) {
                out.push(Refusal::CustomStatementsOff { attribute, why });
            }
        }
    }
    out
}

/// The refusals the observed facts lead to, in the order the rules run: database, static
/// login, then custom statements (with the tenant's groups). At plan, what could not be
/// read, or does not exist yet, is left to apply; at apply it is refused.
/// `admin_database`: the database the provider's admin connects to.
pub fn verdicts(
    role: &Guarded,
    seen: &Observed,
    phase: Phase,
    admin_database: &str,
) -> Vec<Refusal> {
    let database = role.database.as_deref().unwrap_or_default();
    let user = role.username.as_deref();
    let mut out = Vec::new();
    let unverifiable = |out: &mut Vec<Refusal>, u: &Unreadable| {
        if phase == Phase::Apply {
            out.push(Refusal::Unverifiable(u.clone()));
        }
    };
    let forbidden_user =
        |forbidden: &ForbiddenLogins, u: &str| forbidden.iter().any(|(n, _)| n == u);
    let mut owner = None;
    match &seen.facts {
        EngineFacts::Unreachable(u) => {
            unverifiable(&mut out, u);
            return out;
        }
        EngineFacts::Postgres {
            database: db,
            login,
            forbidden,
        } => {
            match db {
                Ok(d) if d.facts.is_some() || phase == Phase::Apply => {
                    let roles = match &d.roles {
                        Ok(r) => r,
                        Err(u) => {
                            unverifiable(&mut out, u);
                            return out;
                        }
                    };
                    let why = postgres_database_refusal(
                        database,
                        d.facts.as_ref(),
                        roles,
                        admin_database,
                    );
                    out.extend(why.map(Refusal::Database));
                    owner = d.facts.as_ref().map(|f| f.owner.as_str());
                }
                Ok(_) => {}
                Err(u) => unverifiable(&mut out, u),
            }
            if let (Some(user), Some(login)) = (user, login) {
                let groups = Scope::new(database, owner).groups;
                match login {
                    Ok(facts)
                        if facts.is_some()
                            || phase == Phase::Apply
                            || forbidden_user(forbidden, user) =>
                    {
                        let why =
                            postgres_static_login_refusal(user, facts.as_ref(), &groups, forbidden);
                        out.extend(why.map(Refusal::StaticLogin));
                    }
                    Ok(_) => {}
                    Err(u) => unverifiable(&mut out, u),
                }
            }
        }
        EngineFacts::Mysql {
            exists,
            login,
            forbidden,
        } => {
            match exists {
                Ok(false) if phase == Phase::Apply => out.push(Refusal::Database(format!("MySQL database {database:?} does not exist. Create it with dbaas_shared_mysql_database and reference it, e.g. `database = dbaas_shared_mysql_database.<x>.name`."))),
                Ok(_) => {}
                Err(u) => unverifiable(&mut out, u),
            }
            if let (Some(user), Some(login)) = (user, login) {
                match login {
                    Ok(facts)
                        if facts.exists
                            || phase == Phase::Apply
                            || facts.is_admin
                            || forbidden_user(forbidden, user) =>
                    {
                        let why = mysql_static_login_refusal(user, facts, database, forbidden);
                        out.extend(why.map(Refusal::StaticLogin));
                    }
                    Ok(_) => {}
                    Err(u) => unverifiable(&mut out, u),
                }
            }
        }
        EngineFacts::Redis { forbidden } => {
            if let Some((_, why)) = user.and_then(|u| forbidden.iter().find(|(n, _)| n == u)) {
                out.push(Refusal::StaticLogin(format!(
                    "{:?} is {why}: Vault would rotate its password and hand it out.",
                    user.unwrap_or_default()
                )));
            }
        }
    }
    out.extend(statement_refusals(
        role,
        seen.engine,
        &Scope::new(database, owner),
    ));
    out
}

/// The first refused custom statement of each attribute (the provider opted in).
fn statement_refusals(role: &Guarded, engine: Engine, scope: &Scope) -> Vec<Refusal> {
    role.custom
        .iter()
        .filter_map(|(attribute, list)| {
            list.iter().flatten().find_map(|text| {
                statement_refusal(engine, text, scope).map(|why| Refusal::CustomStatement {
                    attribute,
                    why,
                    text: text.clone(),
                    groups: scope.groups.clone(),
                })
            })
        })
        .collect()
}

/// A static PostgreSQL login's facts with what it owns or may use in other databases
/// (which Vault would hand out with its password), as lines.
pub fn login_with_elsewhere(
    facts: Read<Option<PgLoginFacts>>,
    dependencies: Read<Vec<ForeignDependency>>,
) -> Read<Option<PgLoginFacts>> {
    match (facts, dependencies) {
        (Ok(Some(mut f)), Ok(deps)) => {
            f.elsewhere = deps
                .iter()
                .map(|d| {
                    if d.database.is_empty() {
                        format!("{} {}", d.kind, d.object)
                    } else {
                        format!("{} {} in database {}", d.kind, d.object, d.database)
                    }
                })
                .collect();
            Ok(Some(f))
        }
        (Ok(_), Err(e)) | (Err(e), _) => Err(e),
        (Ok(None), Ok(_)) => Ok(None),
    }
}
