//! Custom statements a rotation role may carry (issue 19): a tokenizer that refuses what
//! it cannot read with certainty, and the per-engine rules of what a statement may do.

use super::{Scope, MYSQL_SYSTEM_SCHEMAS};
use crate::enums::Engine;

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
