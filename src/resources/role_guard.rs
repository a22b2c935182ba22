//! What a `dbaas_vault_rotation_role` may point Vault at (issue 19 item 2): never a system
//! database or one this provider does not manage, never a privileged or platform login for
//! a static role, and custom statements only with the provider's opt-in and never ones
//! that grant platform privileges or membership outside the tenant's groups. Pure: the
//! resource gathers the facts, these functions decide, with table tests below.

use crate::backends::postgres::{DatabaseFacts, RoleFacts};
use crate::enums::Engine;

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

/// One lexical token of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word, lower-cased (`{{name}}` included).
    Word(String),
    /// A quoted identifier (`"..."` or `` `...` ``), as written inside the quotes.
    Quoted(String),
    /// A string literal's content.
    Lit(String),
    /// Any other character.
    Punct(char),
}

impl Tok {
    /// The name the token stands for: a word, quoted identifier or literal.
    fn name(&self) -> Option<&str> {
        match self {
            Tok::Word(s) | Tok::Quoted(s) | Tok::Lit(s) => Some(s),
            Tok::Punct(_) => None,
        }
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self, Tok::Word(s) if s == w)
    }

    fn is_punct(&self, c: char) -> bool {
        matches!(self, Tok::Punct(p) if *p == c)
    }

    /// Whether it stands for Vault's `{{name}}`, the issued login.
    fn is_login(&self) -> bool {
        self.name() == Some("{{name}}")
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '$' | '{' | '}')
}

/// Splits `text` into tokens. Comments go; what cannot be read with certainty (an
/// unterminated quote or comment, dollar quoting, MySQL's executable `/*! */` comments,
/// prefixed string literals) is an error: refuse when unsure.
fn tokens(engine: Engine, text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let unclosed = |what: &str| Err(format!("an unterminated {what}"));
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') || (c == '#' && engine == Engine::Mysql) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            if engine == Engine::Mysql && matches!(chars.get(i + 2), Some('!' | '+')) {
                return Err("a MySQL executable comment (`/*!` or `/*+`)".into());
            }
            let mut depth = 0;
            loop {
                if i >= chars.len() {
                    return unclosed("comment");
                }
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 || engine == Engine::Mysql {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if matches!(c, '\'' | '"' | '`') {
            if c == '\'' && i > 0 && is_word_char(chars[i - 1]) {
                return Err("a prefixed string literal (E'', U&'', N'', X'')".into());
            }
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&d) = chars.get(i) else {
                    return unclosed("quote");
                };
                if d == '\\' && (c == '\'' || (engine == Engine::Mysql && c == '"')) {
                    return Err("a backslash in a string literal (whether it escapes the quote depends on server settings)".into());
                } else if d == c && chars.get(i + 1) == Some(&c) {
                    s.push(c);
                    i += 2;
                } else if d == c {
                    i += 1;
                    break;
                } else {
                    s.push(d);
                    i += 1;
                }
            }
            out.push(if c == '\'' {
                Tok::Lit(s)
            } else {
                Tok::Quoted(s)
            });
        } else if c == '$'
            && engine == Engine::Postgres
            && !next.is_some_and(|n| n.is_ascii_digit())
        {
            return Err("dollar quoting ($$)".into());
        } else if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Tok::Word(
                chars[start..i].iter().collect::<String>().to_lowercase(),
            ));
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    Ok(out)
}

/// Role attributes and privileges no statement may grant, as named in refusals.
const PLATFORM_PRIVILEGES: &[&str] = &[
    "superuser",
    "createrole",
    "createdb",
    "replication",
    "bypassrls",
];

/// MySQL privileges that reach beyond one database (or administer the server).
const MYSQL_PLATFORM_PRIVILEGES: &[&str] = &[
    "super",
    "file",
    "process",
    "shutdown",
    "reload",
    "proxy",
    "replication",
    "binlog",
    "slave",
    "user",
    "role",
    "grant",
    "admin",
    "connection",
    "federated",
    "read_only",
    "set_user_id",
    "system_user",
];

/// Refuses one custom statement list entry for a role of `engine` on `scope`, with why.
/// Allowed: PostgreSQL `CREATE|ALTER|DROP ROLE|USER` of `{{name}}` (joining only the
/// tenant's groups, `SET role` only to one of them), `GRANT`/`REVOKE` to/from `{{name}}`
/// (roles: the tenant's groups; privileges: on the tenant database, schemas, tables,
/// sequences), `SELECT pg_terminate_backend(...)`; MySQL `CREATE|ALTER|DROP USER` of
/// `{{name}}` and `GRANT`/`REVOKE` of database-level privileges on the tenant database
/// (its `_` and `%` escaped); Redis ACL rules under the namespace's prefix ending with
/// the guard rules. Everything else, and anything that cannot be read with certainty, is
/// refused.
pub fn statement_refusal(engine: Engine, text: &str, scope: &Scope) -> Option<String> {
    if engine == Engine::Redis {
        return redis_rules_refusal(text, scope);
    }
    let toks = match tokens(engine, text) {
        Ok(t) => t,
        Err(why) => {
            return Some(format!(
                "it contains {why}, which this check cannot read with certainty"
            ))
        }
    };
    for t in &toks {
        let Some(n) = t.name() else { continue };
        let lower = n.to_lowercase();
        if matches!(t, Tok::Lit(_)) {
            continue;
        }
        if PLATFORM_PRIVILEGES.contains(&lower.as_str()) {
            return Some(format!("it grants {}", lower.to_uppercase()));
        }
        if lower.starts_with("pg_")
            && !matches!(
                lower.as_str(),
                "pg_catalog" | "pg_terminate_backend" | "pg_stat_activity"
            )
        {
            return Some(format!("it names {n:?}, a platform role or function"));
        }
        if engine == Engine::Mysql && MYSQL_SYSTEM_SCHEMAS.contains(&lower.as_str()) {
            return Some(format!("it names the system schema `{lower}`"));
        }
    }
    for stmt in toks.split(|t| t.is_punct(';')) {
        if stmt.is_empty() {
            continue;
        }
        let why = match engine {
            Engine::Postgres => postgres_statement_refusal(stmt, scope),
            _ => mysql_statement_refusal(stmt, scope),
        };
        if why.is_some() {
            return why;
        }
    }
    None
}

/// The statement's first word, upper-cased, for messages.
fn kind(stmt: &[Tok]) -> String {
    stmt.first()
        .and_then(Tok::name)
        .unwrap_or("?")
        .to_uppercase()
}

/// Position of the first word `w`.
fn find_word(stmt: &[Tok], w: &str) -> Option<usize> {
    stmt.iter().position(|t| t.is_word(w))
}

/// The names in a comma-separated list starting at `i`, and where it ends.
fn name_list(stmt: &[Tok], mut i: usize) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    while let Some(n) = stmt.get(i).and_then(Tok::name) {
        names.push(n.to_string());
        if stmt.get(i + 1).is_some_and(|t| t.is_punct(',')) {
            i += 2;
        } else {
            return (names, i + 1);
        }
    }
    (names, i)
}

fn outside_groups(names: &[String], scope: &Scope, what: &str) -> Option<String> {
    let outside: Vec<&String> = names.iter().filter(|n| !scope.groups.contains(n)).collect();
    (!outside.is_empty()).then(|| {
        format!(
            "{what} {}, outside the tenant's groups ({})",
            outside
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            scope.groups.join(", ")
        )
    })
}

/// Whether every recipient after word `to_or_from` (up to `WITH`/`GRANTED`/end) is `{{name}}`.
fn recipients_are_login(stmt: &[Tok], at: usize) -> bool {
    let rest = &stmt[at + 1..];
    let mut any = false;
    let mut i = 0;
    while i < rest.len() {
        let t = &rest[i];
        if t.is_word("with") || t.is_word("granted") {
            break;
        }
        if t.is_punct(',') || t.is_punct('@') {
            i += 1;
            continue;
        }
        if t.is_login() {
            any = true;
            // MySQL: `'{{name}}'@'host'`: skip the host.
            if rest.get(i + 1).is_some_and(|t| t.is_punct('@')) {
                i += 3;
                continue;
            }
            i += 1;
            continue;
        }
        if t.is_word("group") || t.is_word("role") {
            i += 1;
            continue;
        }
        return false;
    }
    any
}

fn postgres_statement_refusal(stmt: &[Tok], scope: &Scope) -> Option<String> {
    let head = kind(stmt);
    let second_is_role = stmt
        .get(1)
        .is_some_and(|t| t.is_word("role") || t.is_word("user"));
    match head.as_str() {
        "CREATE" | "ALTER" | "DROP" if !second_is_role => Some(format!(
            "`{head}` may only create, alter or drop the issued login (`{head} ROLE \"{{{{name}}}}\"`)"
        )),
        "CREATE" => {
            if !stmt.get(2).is_some_and(Tok::is_login) {
                return Some("`CREATE ROLE` may only create the issued login \"{{name}}\"".into());
            }
            let mut i = 3;
            while i < stmt.len() {
                let t = &stmt[i];
                if t.is_word("in") && stmt.get(i + 1).is_some_and(|n| n.is_word("role") || n.is_word("group")) {
                    let (names, end) = name_list(stmt, i + 2);
                    if let Some(why) = outside_groups(&names, scope, "`IN ROLE` names") {
                        return Some(why);
                    }
                    i = end;
                    continue;
                }
                if ["role", "admin", "user", "sysid", "group"].iter().any(|w| t.is_word(w)) {
                    return Some(format!(
                        "`CREATE ROLE ... {}` is not allowed: only `IN ROLE` with the tenant's groups",
                        t.name().unwrap_or_default().to_uppercase()
                    ));
                }
                i += 1;
            }
            None
        }
        "ALTER" => {
            let target = stmt.get(2);
            if !target.is_some_and(Tok::is_login) {
                return Some(format!(
                    "`ALTER ROLE` may only change the issued login \"{{{{name}}}}\", not {:?}",
                    target.and_then(Tok::name).unwrap_or_default()
                ));
            }
            if stmt.iter().any(|t| t.is_word("rename") || t.is_word("in") || t.is_word("all")) {
                return Some("`ALTER ROLE ... RENAME` / `IN DATABASE` is not allowed".into());
            }
            if let Some(s) = find_word(stmt, "set") {
                if !stmt.get(s + 1).is_some_and(|t| t.is_word("role")) {
                    return Some(format!(
                        "`ALTER ROLE ... SET {}` is not allowed: only `SET role` to one of the tenant's groups",
                        stmt.get(s + 1).and_then(Tok::name).unwrap_or_default()
                    ));
                }
                let mut v = s + 2;
                if stmt.get(v).is_some_and(|t| t.is_punct('=') || t.is_word("to")) {
                    v += 1;
                }
                let value = stmt.get(v).and_then(Tok::name).unwrap_or_default();
                return outside_groups(&[value.to_string()], scope, "`SET role` names");
            }
            None
        }
        "DROP" => {
            let mut i = 2;
            if stmt.get(2).is_some_and(|t| t.is_word("if")) {
                i = 4;
            }
            let (names, end) = name_list(stmt, i);
            if names.is_empty() || names.iter().any(|n| n != "{{name}}") || end != stmt.len() {
                return Some("`DROP ROLE` may only drop the issued login \"{{name}}\"".into());
            }
            None
        }
        "GRANT" | "REVOKE" => {
            let to = if head == "GRANT" { "to" } else { "from" };
            let Some(at) = find_word(stmt, to) else {
                return Some(format!("`{head}` without {}", to.to_uppercase()));
            };
            if !recipients_are_login(stmt, at) {
                return Some(format!("`{head}` may only {} the issued login \"{{{{name}}}}\"", if head == "GRANT" { "grant to" } else { "revoke from" }));
            }
            if stmt[at..].iter().any(|t| t.is_word("with") || t.is_word("granted")) {
                return Some(format!("`{head} ... WITH ADMIN|GRANT OPTION` / `GRANTED BY` is not allowed"));
            }
            match find_word(&stmt[..at], "on") {
                None => {
                    let start = if head == "REVOKE" && stmt.get(1).is_some_and(|t| t.is_word("admin") || t.is_word("inherit") || t.is_word("set")) { 4 } else { 1 };
                    let (names, _) = name_list(stmt, start);
                    outside_groups(&names, scope, &format!("`{head}` names"))
                }
                Some(on) => {
                    let object = &stmt[on + 1..at];
                    let allowed = ["table", "tables", "sequence", "sequences", "schema", "database", "all", "in"];
                    if let Some(k) = object.first().and_then(|t| match t {
                        Tok::Word(w) if !allowed.contains(&w.as_str()) && object.len() > 1 && !object[1].is_punct(',') && !object[1].is_punct('.') => Some(w.clone()),
                        _ => None,
                    }) {
                        return Some(format!("`{head} ... ON {}` is not allowed: only tables, sequences, schemas and the tenant database", k.to_uppercase()));
                    }
                    if object.iter().any(|t| ["function", "functions", "procedure", "procedures", "routine", "routines", "language", "large", "foreign", "parameter", "tablespace", "type", "domain", "information_schema"].iter().any(|w| t.is_word(w))) {
                        return Some(format!("`{head}` on functions, languages, types, parameters, tablespaces or foreign objects is not allowed"));
                    }
                    if object.first().is_some_and(|t| t.is_word("database")) {
                        let (names, _) = name_list(object, 1);
                        if names.iter().any(|n| *n != scope.database) {
                            return Some(format!("`{head} ... ON DATABASE` may only name the tenant database {:?}", scope.database));
                        }
                    }
                    None
                }
            }
        }
        "SELECT" => {
            for (i, t) in stmt.iter().enumerate() {
                if stmt.get(i + 1).is_some_and(|n| n.is_punct('(')) && t.name().is_some() && !t.is_word("pg_terminate_backend") {
                    return Some(format!("`SELECT` may only call pg_terminate_backend, not {:?}", t.name().unwrap_or_default()));
                }
                if let Tok::Lit(l) = t {
                    if l != "{{name}}" {
                        return Some("`SELECT` may only end the sessions of the issued login '{{name}}'".into());
                    }
                }
            }
            None
        }
        other => Some(format!("`{other}` statements are not allowed: only CREATE/ALTER/DROP ROLE of the issued login, GRANT, REVOKE and SELECT pg_terminate_backend(...)")),
    }
}

/// The tenant database as a MySQL grant names it: `_` and `%` escaped (wildcards there).
fn mysql_escaped(db: &str) -> String {
    db.replace('_', "\\_").replace('%', "\\%")
}

fn mysql_statement_refusal(stmt: &[Tok], scope: &Scope) -> Option<String> {
    let head = kind(stmt);
    let second_is_user = stmt.get(1).is_some_and(|t| t.is_word("user"));
    match head.as_str() {
        "CREATE" | "ALTER" | "DROP" if !second_is_user => Some(format!(
            "`{head}` may only create, alter or drop the issued user (`{head} USER '{{{{name}}}}'@'%'`)"
        )),
        "CREATE" | "ALTER" | "DROP" => {
            let mut i = 2;
            if stmt.get(2).is_some_and(|t| t.is_word("if")) {
                i = if head == "CREATE" { 5 } else { 4 };
            }
            if !stmt.get(i).is_some_and(Tok::is_login) {
                return Some(format!("`{head} USER` may only name the issued user '{{{{name}}}}'"));
            }
            if stmt.iter().any(|t| t.is_word("default") || t.is_word("role")) {
                return Some(format!("`{head} USER ... DEFAULT ROLE` is not allowed"));
            }
            if head == "DROP" && stmt[i + 1..].iter().any(|t| t.is_punct(',')) {
                return Some("`DROP USER` may only drop the issued user '{{name}}'".into());
            }
            None
        }
        "GRANT" | "REVOKE" => {
            let to = if head == "GRANT" { "to" } else { "from" };
            let Some(at) = find_word(stmt, to) else {
                return Some(format!("`{head}` without {}", to.to_uppercase()));
            };
            if !recipients_are_login(stmt, at) {
                return Some(format!("`{head}` may only {} the issued user '{{{{name}}}}'", if head == "GRANT" { "grant to" } else { "revoke from" }));
            }
            if stmt[at..].iter().any(|t| t.is_word("with")) {
                return Some(format!("`{head} ... WITH GRANT OPTION` (or any WITH) is not allowed"));
            }
            let Some(on) = find_word(&stmt[..at], "on") else {
                if head == "REVOKE" {
                    return None;
                }
                return Some("`GRANT` of roles is not allowed: only database-level privileges on the tenant database".into());
            };
            if head == "GRANT" {
                for t in &stmt[1..on] {
                    if let Tok::Word(w) = t {
                        if MYSQL_PLATFORM_PRIVILEGES.contains(&w.as_str()) || w.ends_with("_admin") {
                            return Some(format!("it grants {}, a server-wide privilege", w.to_uppercase()));
                        }
                    }
                }
            }
            let mut object = &stmt[on + 1..at];
            if object.first().is_some_and(|t| t.is_word("table") || t.is_word("function") || t.is_word("procedure")) {
                object = &object[1..];
            }
            match object {
                [Tok::Punct('*'), Tok::Punct('.'), Tok::Punct('*')] => Some(format!("`{head} ... ON *.*` reaches every database")),
                [Tok::Punct('*')] => Some(format!("`{head} ... ON *` reaches whatever database is current")),
                [db, Tok::Punct('.'), rest] => {
                    let raw = db.name().unwrap_or_default();
                    let every_table = rest.is_punct('*');
                    let unescaped = raw.replace("\\_", "_").replace("\\%", "%").replace("\\\\", "\\");
                    if unescaped != scope.database {
                        return Some(format!("`{head}` may only name the tenant database `{}`, not `{raw}`", mysql_escaped(&scope.database)));
                    }
                    if every_table && raw != mysql_escaped(&scope.database) {
                        return Some(format!("`{raw}` in a database-level grant has an unescaped `_` or `%`: a wildcard there reaches other databases; write `{}`", mysql_escaped(&scope.database)));
                    }
                    None
                }
                _ => Some(format!("`{head}` may only name the tenant database as `{}`.* or one of its tables", mysql_escaped(&scope.database))),
            }
        }
        other => Some(format!("`{other}` statements are not allowed: only CREATE/ALTER/DROP USER of the issued user, GRANT and REVOKE on the tenant database")),
    }
}

/// Redis: the entry is a JSON list of ACL rules; keys and channels only under
/// `<namespace>:`, no `allkeys`/`allchannels`/selectors/password rules, and the list
/// ends with the guard rules every tenant login gets.
fn redis_rules_refusal(text: &str, scope: &Scope) -> Option<String> {
    let Ok(rules) = serde_json::from_str::<Vec<String>>(text) else {
        return Some(
            "a Redis statement is a JSON list of ACL rules, e.g. [\"~app:*\", \"+@read\"]".into(),
        );
    };
    let prefix = format!("{}:", scope.database);
    for r in &rules {
        let lower = r.to_ascii_lowercase();
        let pattern = ["%rw~", "%r~", "%w~", "~", "&"]
            .iter()
            .find_map(|p| lower.strip_prefix(p).map(|_| &r[p.len()..]));
        if let Some(p) = pattern {
            if !p.starts_with(&prefix) || p[prefix.len()..].contains(['[', '\\']) {
                return Some(format!("ACL rule {r:?} reaches keys or channels outside the namespace's prefix `{prefix}`"));
            }
            continue;
        }
        if matches!(
            lower.as_str(),
            "allkeys"
                | "allchannels"
                | "allcommands"
                | "nopass"
                | "reset"
                | "resetchannels"
                | "+@admin"
                | "+@dangerous"
        ) || lower.starts_with(['>', '<', '#', '!', '('])
        {
            return Some(format!("ACL rule {r:?} is not allowed in a tenant login"));
        }
    }
    // The guards of a namespace without keyspace scan, with or without scripting.
    let guards = crate::sql::redis_guard_rules(crate::sql::RedisOptIns::default());
    let without_scripting = crate::sql::redis_guard_rules(crate::sql::RedisOptIns {
        scripting: false,
        ..crate::sql::RedisOptIns::default()
    });
    if !rules.ends_with(&guards) && !rules.ends_with(&without_scripting) {
        return Some(format!(
            "custom Redis rules must end with the guard rules every tenant login gets: {}",
            guards.join(" ")
        ));
    }
    None
}

/// Which custom statement attributes are set, among `(attribute, statements)`.
pub fn custom_statements_refusal(allowed: bool, attribute: &str) -> Option<String> {
    (!allowed).then(|| format!("Custom `{attribute}` run with the Vault connection's admin rights, so they could hand out anything. They are refused unless the platform opts in with `vault {{ allow_custom_statements = true }}` in the provider block; leave `{attribute}` unset to use the generated statements."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table row's verdict: `None` expects no refusal; `Some(says)` a refusal whose text
    /// contains `says` (letter case ignored when `ignore_case`).
    fn assert_verdict(got: Option<String>, expected: Option<&str>, ignore_case: bool, row: &str) {
        match (expected, got) {
            (None, got) => assert_eq!(got, None, "{row}"),
            (Some(says), Some(text)) if ignore_case => assert!(
                text.to_lowercase().contains(&says.to_lowercase()),
                "{row}: {text:?}"
            ),
            (Some(says), got) => assert!(
                got.as_deref().unwrap_or_default().contains(says),
                "{row}: {got:?}"
            ),
        }
    }

    fn scope() -> Scope {
        Scope::new("shop", Some("shop_owner"))
    }

    #[test]
    fn system_databases_are_refused_in_any_case() {
        for (db, refused) in [
            ("postgres", true),
            ("Postgres", true),
            ("TEMPLATE0", true),
            ("template1", true),
            ("mysql", true),
            ("Sys", true),
            ("INFORMATION_SCHEMA", true),
            ("performance_schema", true),
            (" postgres", true),
            ("shop", false),
            ("postgres_app", false),
            ("mysql2", false),
        ] {
            assert_eq!(system_database(db).is_some(), refused, "{db}");
        }
    }

    fn facts(comment: Option<&str>, template: bool) -> DatabaseFacts {
        DatabaseFacts {
            owner: "shop_owner".into(),
            allow_connections: true,
            comment: comment.map(str::to_string),
            is_template: template,
        }
    }

    fn role(name: &str, can_login: bool, superuser: bool) -> RoleFacts {
        RoleFacts {
            name: name.into(),
            can_login,
            superuser,
            comment: None,
            owns_objects: false,
        }
    }

    #[test]
    fn only_managed_tenant_databases_owned_by_a_plain_role_serve_roles() {
        let managed = facts(Some(DATABASE_MANAGED), false);
        let unmarked = facts(None, false);
        let tenant = vec![
            role("shop_owner", false, false),
            role("shop_readwrite", false, false),
            role("shop_readonly", false, false),
        ];
        let without = |name: &str| -> Vec<RoleFacts> {
            tenant.iter().filter(|r| r.name != name).cloned().collect()
        };
        let changed = |name: &str, login: bool, su: bool| -> Vec<RoleFacts> {
            tenant
                .iter()
                .map(|r| {
                    if r.name == name {
                        role(name, login, su)
                    } else {
                        r.clone()
                    }
                })
                .collect()
        };
        type Case<'a> = (
            &'a str,
            Option<DatabaseFacts>,
            Vec<RoleFacts>,
            Option<&'a str>,
        );
        let cases: Vec<Case> = vec![
            ("shop", Some(managed.clone()), tenant.clone(), None),
            ("shop", Some(managed.clone()), vec![], None),
            // v0.1.0 or imported: no marker, a tenant's shape.
            ("shop", Some(unmarked.clone()), tenant.clone(), None),
            ("shop", None, tenant.clone(), Some("does not exist")),
            (
                "shop",
                Some(unmarked.clone()),
                vec![],
                Some("not a database this provider manages"),
            ),
            (
                "shop",
                Some(unmarked.clone()),
                without("shop_readonly"),
                Some("not a database this provider manages"),
            ),
            (
                "shop",
                Some(unmarked.clone()),
                changed("shop_owner", true, false),
                Some("not a database this provider manages"),
            ),
            (
                "shop",
                Some(unmarked.clone()),
                changed("shop_readwrite", true, false),
                Some("not a database this provider manages"),
            ),
            (
                "shop",
                Some(facts(Some("terraform-provider-dbaas: creating"), false)),
                vec![],
                Some("not a database this provider manages"),
            ),
            (
                "shop",
                Some(facts(Some(DATABASE_MANAGED), true)),
                tenant.clone(),
                Some("template"),
            ),
            (
                "shop",
                Some(managed.clone()),
                changed("shop_owner", false, true),
                Some("superuser"),
            ),
            (
                "shop",
                Some(unmarked),
                changed("shop_owner", true, true),
                Some("superuser"),
            ),
            (
                "postgres",
                Some(managed.clone()),
                tenant.clone(),
                Some("system database"),
            ),
            ("admin_db", Some(managed), tenant, Some("admin connects to")),
        ];
        for (db, f, roles, expected) in cases {
            let got = postgres_database_refusal(db, f.as_ref(), &roles, "admin_db");
            assert_verdict(got, expected, false, &format!("{db} {roles:?}"));
        }
    }

    #[test]
    fn static_logins_must_be_plain_tenant_logins() {
        let groups = scope().groups;
        let plain = PgLoginFacts {
            can_login: true,
            member_of: vec!["shop_readwrite".into(), "shop_readonly".into()],
            ..PgLoginFacts::default()
        };
        let forbidden = vec![(
            "pgbouncer_auth".to_string(),
            "the PgBouncer auth user".to_string(),
        )];
        let with = |f: fn(&mut PgLoginFacts)| {
            let mut p = plain.clone();
            f(&mut p);
            Some(p)
        };
        let cases: Vec<(&str, Option<PgLoginFacts>, Option<&str>)> = vec![
            ("app", Some(plain.clone()), None),
            (
                "pgbouncer_auth",
                Some(plain.clone()),
                Some("PgBouncer auth user"),
            ),
            ("app", None, Some("does not exist")),
            ("app", with(|p| p.is_admin = true), Some("admin")),
            ("app", with(|p| p.superuser = true), Some("SUPERUSER")),
            ("app", with(|p| p.createrole = true), Some("CREATEROLE")),
            ("app", with(|p| p.createdb = true), Some("CREATEDB")),
            ("app", with(|p| p.replication = true), Some("REPLICATION")),
            ("app", with(|p| p.bypassrls = true), Some("BYPASSRLS")),
            ("app", with(|p| p.can_login = false), Some("not a login")),
            (
                "app",
                with(|p| p.member_of.push("pg_read_all_data".into())),
                Some("pg_read_all_data"),
            ),
            (
                "app",
                with(|p| p.member_of.push("other_owner".into())),
                Some("other_owner"),
            ),
            (
                "app",
                with(|p| {
                    p.elsewhere
                        .push("has privileges on database billing".into())
                }),
                Some("database billing"),
            ),
        ];
        for (user, f, expected) in cases {
            let got = postgres_static_login_refusal(user, f.as_ref(), &groups, &forbidden);
            assert_verdict(got, expected, false, user);
        }
    }

    #[test]
    fn static_mysql_accounts_hold_grants_on_their_database_only() {
        let plain = MysqlLoginFacts {
            exists: true,
            ..MysqlLoginFacts::default()
        };
        let forbidden = vec![(
            "vault_admin".to_string(),
            "the admin of Vault connection my".to_string(),
        )];
        let cases = vec![
            ("app", plain.clone(), None),
            ("vault_admin", plain.clone(), Some("Vault connection")),
            (
                "app",
                MysqlLoginFacts {
                    is_admin: true,
                    ..plain.clone()
                },
                Some("admin"),
            ),
            (
                "app",
                MysqlLoginFacts {
                    exists: false,
                    ..plain.clone()
                },
                Some("does not exist"),
            ),
            (
                "app",
                MysqlLoginFacts {
                    global_privileges: vec!["SELECT".into()],
                    ..plain.clone()
                },
                Some("global"),
            ),
            (
                "app",
                MysqlLoginFacts {
                    other_schemas: vec!["mysql".into()],
                    ..plain.clone()
                },
                Some("mysql"),
            ),
        ];
        for (user, f, expected) in cases {
            let got = mysql_static_login_refusal(user, &f, "shop", &forbidden);
            assert_verdict(got, expected, false, user);
        }
    }

    #[test]
    fn postgres_statements() {
        let generated = crate::sql::vault_postgres_statements(
            "shop_owner",
            "shop_owner",
            crate::sql::Access::Owner,
        )
        .unwrap_or_default();
        for s in generated
            .creation
            .iter()
            .chain(&generated.revocation)
            .chain(&generated.rotation)
        {
            assert_eq!(
                statement_refusal(Engine::Postgres, s, &scope()),
                None,
                "generated: {s}"
            );
        }
        let cases: &[(&str, Option<&str>)] = &[
            ("CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' IN ROLE \"shop_readonly\";", None),
            ("create role {{name}} login password '{{password}}' in group shop_readwrite, shop_readonly", None),
            ("GRANT \"shop_readonly\" TO \"{{name}}\";", None),
            ("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";", None),
            ("GRANT CONNECT ON DATABASE shop TO \"{{name}}\";", None),
            ("REVOKE ALL ON DATABASE shop FROM \"{{name}}\"; DROP ROLE IF EXISTS \"{{name}}\";", None),
            ("ALTER ROLE \"{{name}}\" SET role TO 'shop_owner'", None),
            ("ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}'", None),
            // Refused.
            ("CREATE ROLE \"{{name}}\" WITH LOGIN SUPERUSER PASSWORD '{{password}}';", Some("SUPERUSER")),
            ("create role \"{{name}}\" login /* hide */ superuser", Some("SUPERUSER")),
            ("CREATE ROLE \"{{name}}\" LOGIN\n-- comment\n\"SUPERUSER\"", Some("SUPERUSER")),
            ("CREATE ROLE \"{{name}}\" CreateRole", Some("CREATEROLE")),
            ("CREATE ROLE \"{{name}}\" CREATEDB", Some("CREATEDB")),
            ("CREATE ROLE \"{{name}}\" REPLICATION", Some("REPLICATION")),
            ("CREATE ROLE \"{{name}}\" BYPASSRLS", Some("BYPASSRLS")),
            ("CREATE ROLE \"{{name}}\" LOGIN IN ROLE \"postgres\"", Some("postgres")),
            ("CREATE ROLE \"{{name}}\" LOGIN IN ROLE shop_readonly, other_owner", Some("other_owner")),
            ("CREATE ROLE \"{{name}}\" LOGIN IN ROLE pg_read_server_files", Some("pg_read_server_files")),
            ("CREATE ROLE \"{{name}}\" LOGIN ROLE postgres", Some("ROLE")),
            ("CREATE ROLE \"{{name}}\" LOGIN ADMIN postgres", Some("ADMIN")),
            ("CREATE ROLE other LOGIN", Some("issued login")),
            ("GRANT postgres TO \"{{name}}\"", Some("postgres")),
            ("GRANT \"shop_owner\" TO \"{{name}}\" WITH ADMIN OPTION", Some("ADMIN")),
            ("GRANT shop_owner TO other_login", Some("issued login")),
            ("GRANT EXECUTE ON FUNCTION lo_export(oid, text) TO \"{{name}}\"", Some("function")),
            ("GRANT SET ON PARAMETER log_statement TO \"{{name}}\"", Some("PARAMETER")),
            ("GRANT CONNECT ON DATABASE other TO \"{{name}}\"", Some("tenant database")),
            ("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\" WITH GRANT OPTION", Some("GRANT OPTION")),
            ("ALTER ROLE \"{{name}}\" SET role = 'postgres'", Some("postgres")),
            ("ALTER ROLE \"{{name}}\" SET session_preload_libraries = 'x'", Some("session_preload_libraries")),
            ("ALTER ROLE postgres PASSWORD 'x'", Some("postgres")),
            ("ALTER ROLE \"{{name}}\" RENAME TO postgres", Some("RENAME")),
            ("ALTER USER \"{{name}}\" IN DATABASE shop SET role = 'postgres'", Some("IN DATABASE")),
            ("DROP ROLE \"{{name}}\", other_owner", Some("issued login")),
            ("DROP DATABASE shop", Some("DROP")),
            ("DO $$ BEGIN EXECUTE 'ALTER ROLE x SUPERUSER'; END $$", Some("dollar")),
            ("DO 'BEGIN NULL; END'", Some("DO")),
            ("SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = 'postgres'", Some("issued login")),
            ("SELECT lo_import('/etc/passwd')", Some("lo_import")),
            ("SELECT set_config('x', 'y', false)", Some("set_config")),
            ("COPY t FROM PROGRAM 'id'", Some("COPY")),
            ("ALTER SYSTEM SET x = 1", Some("ALTER")),
            ("CREATE ROLE \"{{name}}\" LOGIN PASSWORD E'x\\' SUPERUSER'", Some("prefixed")),
            ("CREATE ROLE \"{{name}}\" LOGIN PASSWORD 'x\\'", Some("backslash")),
            ("CREATE ROLE \"{{name}}\" LOGIN /* unterminated", Some("unterminated")),
            ("CREATE ROLE \"{{name}}\" LOGIN /* a /* nested */ SUPERUSER */ CREATEDB", Some("CREATEDB")),
            ("SET ROLE postgres", Some("SET")),
            ("RESET ROLE; SET SESSION AUTHORIZATION postgres", Some("RESET")),
        ];
        for (text, expected) in cases {
            let got = statement_refusal(Engine::Postgres, text, &scope());
            assert_verdict(got, *expected, true, text);
        }
    }

    #[test]
    fn mysql_statements() {
        let s = Scope::new("shop_1", None);
        for access in [
            crate::sql::Access::Owner,
            crate::sql::Access::ReadWrite,
            crate::sql::Access::ReadOnly,
        ] {
            let generated =
                crate::sql::vault_mysql_statements("shop_1", access).unwrap_or_default();
            for st in generated
                .creation
                .iter()
                .chain(&generated.revocation)
                .chain(&generated.rotation)
            {
                assert_eq!(
                    statement_refusal(Engine::Mysql, st, &s),
                    None,
                    "generated: {st}"
                );
            }
        }
        let cases: &[(&str, Option<&str>)] = &[
            ("CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON `shop\\_1`.* TO '{{name}}'@'%';", None),
            ("GRANT SELECT, INSERT ON `shop_1`.items TO '{{name}}'@'%'", None),
            ("REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{name}}'@'%'", None),
            ("GRANT SELECT ON *.* TO '{{name}}'@'%'", Some("*.*")),
            ("GRANT ALL ON * TO '{{name}}'@'%'", Some("ON *")),
            ("GRANT SELECT ON `mysql`.* TO '{{name}}'@'%'", Some("mysql")),
            ("GRANT SELECT ON MySQL.user TO '{{name}}'@'%'", Some("mysql")),
            ("UPDATE mysql.user SET x = 1", Some("mysql")),
            ("GRANT SELECT ON `shop\\_1`.* TO '{{name}}'@'%' WITH GRANT OPTION", Some("GRANT OPTION")),
            ("GRANT SELECT ON `shop_1`.* TO '{{name}}'@'%'", Some("wildcard")),
            ("GRANT SELECT ON `shop%`.* TO '{{name}}'@'%'", Some("tenant database")),
            ("GRANT SELECT ON `other`.* TO '{{name}}'@'%'", Some("tenant database")),
            ("GRANT PROXY ON 'root'@'%' TO '{{name}}'@'%'", Some("PROXY")),
            ("GRANT SUPER ON *.* TO '{{name}}'@'%'", Some("SUPER")),
            ("GRANT FILE ON `shop\\_1`.* TO '{{name}}'@'%'", Some("FILE")),
            ("GRANT CREATE USER ON `shop\\_1`.* TO '{{name}}'@'%'", Some("USER")),
            ("GRANT dba TO '{{name}}'@'%'", Some("roles")),
            ("GRANT SELECT ON `shop\\_1`.* TO '{{name}}'@'%', 'other'@'%'", Some("issued user")),
            ("CREATE USER 'root'@'%'", Some("issued user")),
            ("ALTER USER 'root'@'%' IDENTIFIED BY 'x'", Some("issued user")),
            ("CREATE USER '{{name}}'@'%' DEFAULT ROLE dba", Some("DEFAULT ROLE")),
            ("CREATE USER '{{name}}'@'%' /*!50000 SUPER */", Some("executable comment")),
            ("CREATE USER '{{name}}'@'%' # comment\n", None),
            ("GRANT SELECT ON `shop\\_1`.* TO '{{name}}'@'%' # x\n; GRANT ALL ON *.* TO '{{name}}'@'%'", Some("*.*")),
            ("CREATE USER '{{name}}'@'%' IDENTIFIED BY 'a\\'; GRANT ALL ON *.* TO x; --'", Some("backslash")),
            ("SET PASSWORD FOR 'root'@'%' = 'x'", Some("SET")),
            ("INSTALL PLUGIN x SONAME 'y'", Some("INSTALL")),
        ];
        for (text, expected) in cases {
            let got = statement_refusal(Engine::Mysql, text, &s);
            assert_verdict(got, *expected, true, text);
        }
    }

    #[test]
    fn redis_rules() {
        let s = Scope::new("app", None);
        let generated = crate::sql::vault_redis_statements("app:", crate::sql::Access::Owner);
        assert_eq!(
            statement_refusal(Engine::Redis, &generated.creation[0], &s),
            None
        );
        let guards = crate::sql::redis_guard_rules(crate::sql::RedisOptIns::default());
        let with_guards = |rules: &[&str]| {
            let mut v: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
            v.extend(guards.iter().cloned());
            serde_json::Value::from(v).to_string()
        };
        for (rules, refused) in [
            (with_guards(&["~app:*", "+@read"]), false),
            (with_guards(&["~*", "+@read"]), true),
            (with_guards(&["%R~other:*", "+@read"]), true),
            (with_guards(&["~app:*", "allchannels"]), true),
            (with_guards(&["~app:*", "+@admin"]), true),
            (with_guards(&["~app:*", "(~other:* +get)"]), true),
            (r#"["~app:*","+@all"]"#.to_string(), true),
            ("not json".to_string(), true),
        ] {
            assert_eq!(
                statement_refusal(Engine::Redis, &rules, &s).is_some(),
                refused,
                "{rules}"
            );
        }
    }

    #[test]
    fn custom_statements_need_the_opt_in() {
        assert!(custom_statements_refusal(false, "creation_statements")
            .is_some_and(|m| m.contains("allow_custom_statements")));
        assert_eq!(custom_statements_refusal(true, "creation_statements"), None);
    }
}
