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
/// read, or does not exist yet, is left to apply; at apply it is refused. An unreachable
/// server, or unreadable group roles, end the check.
/// `admin_database`: the database the provider's admin connects to.
pub fn verdicts(
    role: &Guarded,
    seen: &Observed,
    phase: Phase,
    admin_database: &str,
) -> Vec<Refusal> {
    let database = role.database.as_deref().unwrap_or_default();
    let user = role.username.as_deref();
    let forbidden_user =
        |forbidden: &ForbiddenLogins| user.is_some_and(|u| forbidden.iter().any(|(n, _)| n == u));
    let (mut out, owner) = match &seen.facts {
        EngineFacts::Unreachable(u) => return unverifiable(phase, u).into_iter().collect(),
        EngineFacts::Postgres {
            database: db,
            login,
            forbidden,
        } => {
            let (refusal, owner) =
                match postgres_database_verdict(database, db, phase, admin_database) {
                    Ok(verdict) => verdict,
                    Err(stop) => return stop.into_iter().collect(),
                };
            let groups = Scope::new(database, owner).groups;
            let login = user.zip(login.as_ref()).and_then(|(u, l)| {
                let judge = |f: &Option<PgLoginFacts>| {
                    postgres_static_login_refusal(u, f.as_ref(), &groups, forbidden)
                };
                login_verdict(l, phase, forbidden_user(forbidden), Option::is_some, judge)
            });
            (refusal.into_iter().chain(login).collect::<Vec<_>>(), owner)
        }
        EngineFacts::Mysql {
            exists,
            login,
            forbidden,
        } => {
            let refusal = match exists {
                Ok(false) if phase == Phase::Apply => Some(Refusal::Database(format!("MySQL database {database:?} does not exist. Create it with dbaas_shared_mysql_database and reference it, e.g. `database = dbaas_shared_mysql_database.<x>.name`."))),
                Ok(_) => None,
                Err(u) => unverifiable(phase, u),
            };
            let login = user.zip(login.as_ref()).and_then(|(u, l)| {
                let known = |f: &MysqlLoginFacts| f.exists || f.is_admin;
                let judge =
                    |f: &MysqlLoginFacts| mysql_static_login_refusal(u, f, database, forbidden);
                login_verdict(l, phase, forbidden_user(forbidden), known, judge)
            });
            (refusal.into_iter().chain(login).collect(), None)
        }
        EngineFacts::Redis { forbidden } => {
            let refusal = user.and_then(|u| {
                let (_, why) = forbidden.iter().find(|(n, _)| n == u)?;
                Some(Refusal::StaticLogin(format!(
                    "{u:?} is {why}: Vault would rotate its password and hand it out."
                )))
            });
            (refusal.into_iter().collect(), None)
        }
    };
    out.extend(statement_refusals(
        role,
        seen.engine,
        &Scope::new(database, owner),
    ));
    out
}

/// At apply, a fact that could not be read refuses the role; at plan it waits.
fn unverifiable(phase: Phase, u: &Unreadable) -> Option<Refusal> {
    (phase == Phase::Apply).then(|| Refusal::Unverifiable(u.clone()))
}

/// The PostgreSQL database's verdict and its owner (for the tenant's groups). A missing
/// database is judged at apply only; `Err`: the check ends here (the group roles could
/// not be read), with the refusal that says so at apply.
fn postgres_database_verdict<'a>(
    database: &str,
    db: &'a Read<PgDatabase>,
    phase: Phase,
    admin_database: &str,
) -> Result<(Option<Refusal>, Option<&'a str>), Option<Refusal>> {
    match db {
        Ok(d) if d.facts.is_some() || phase == Phase::Apply => {
            let roles = d.roles.as_ref().map_err(|u| unverifiable(phase, u))?;
            let why = postgres_database_refusal(database, d.facts.as_ref(), roles, admin_database);
            let owner = d.facts.as_ref().map(|f| f.owner.as_str());
            Ok((why.map(Refusal::Database), owner))
        }
        Ok(_) => Ok((None, None)),
        Err(u) => Ok((unverifiable(phase, u), None)),
    }
}

/// A static login's verdict: judged when it is `known` to the server, at apply, or when
/// it is a `forbidden` login (a platform login is refused even before it exists).
fn login_verdict<F>(
    login: &Read<F>,
    phase: Phase,
    forbidden: bool,
    known: impl Fn(&F) -> bool,
    judge: impl Fn(&F) -> Option<String>,
) -> Option<Refusal> {
    match login {
        Ok(f) if known(f) || phase == Phase::Apply || forbidden => {
            judge(f).map(Refusal::StaticLogin)
        }
        Ok(_) => None,
        Err(u) => unverifiable(phase, u),
    }
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
