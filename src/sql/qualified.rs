//! Audit of SQL that runs inside a tenant database: every operator, function, type cast
//! and implicit operator lookup must name `pg_catalog` (or another admin-owned schema), so
//! nothing a tenant plants in its own schemas is ever resolved, whatever `search_path`
//! the session ends up with. The admin sessions also pin `search_path` (see
//! `backends::postgres::ADMIN_SESSION_SETTINGS`); this is the second layer, checked by unit
//! tests over every such statement (`sql::postgres` tests).

/// One lexical token of a statement, as far as the audit cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word (keyword or identifier), upper-cased.
    Word(String),
    /// A double-quoted identifier.
    Quoted,
    /// A string literal, dollar-quoted body, number or `$n` parameter.
    Value,
    /// `::`.
    Cast,
    /// A run of operator characters.
    Op(String),
    /// One punctuation character: `( ) , ; . [ ]`.
    Punct(char),
}

const OP_CHARS: &str = "+-*/<>=~!@#%^&|`?";

/// Splits `sql` into tokens, skipping whitespace, comments and literal contents.
fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // The next literal is an E'' string, where a backslash escapes.
    let mut escapes = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            i += 1;
            while i < chars.len() {
                if escapes && chars[i] == '\\' {
                    i += 2;
                    continue;
                }
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            escapes = false;
            out.push(Token::Value);
        } else if c == '"' {
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' {
                    if chars.get(i + 1) == Some(&'"') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            out.push(Token::Quoted);
        } else if c == '$' && next.is_some_and(|n| n.is_ascii_digit()) {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Token::Value);
        } else if c == '$' {
            // $tag$ ... $tag$
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '$' {
                i += 1;
            }
            let tag: String = chars[start..=i.min(chars.len() - 1)].iter().collect();
            i += 1;
            let rest: String = chars[i.min(chars.len())..].iter().collect();
            let end = rest.find(&tag).map_or(rest.len(), |e| e + tag.len());
            i += rest[..end].chars().count();
            out.push(Token::Value);
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Value);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if (word == "E" || word == "e") && chars.get(i) == Some(&'\'') {
                escapes = true; // E'...': the literal follows
                continue;
            }
            out.push(Token::Word(word.to_ascii_uppercase()));
        } else if c == ':' && next == Some(':') {
            i += 2;
            out.push(Token::Cast);
        } else if OP_CHARS.contains(c) {
            let start = i;
            while i < chars.len() && OP_CHARS.contains(chars[i]) {
                i += 1;
            }
            out.push(Token::Op(chars[start..i].iter().collect()));
        } else {
            i += 1;
            out.push(Token::Punct(c));
        }
    }
    out
}

/// Words that may be followed by `(` without being a function call: grouping and
/// constructs that look nothing up by name.
const NOT_CALLS: &[&str] = &[
    "AND", "OR", "NOT", "WHERE", "ON", "SELECT", "FROM", "EXISTS", "ANY", "ALL", "ARRAY", "TABLE",
    "OPERATOR", "AS", "WHEN", "THEN", "ELSE", "BY", "IS", "WITH", "USING", "JOIN",
];

/// Constructs that resolve an operator by `search_path` without naming it.
const IMPLICIT_OPERATORS: &[&str] = &[
    "LIKE", "ILIKE", "SIMILAR", "BETWEEN", "NULLIF", "GREATEST", "LEAST",
];

/// What in `sql` would be resolved through `search_path`: unqualified operators,
/// function calls and casts, and constructs that look an operator up implicitly
/// (`IN (...)`, `IS DISTINCT FROM`, `LIKE`, `BETWEEN`, simple `CASE x WHEN`). Empty when
/// the statement names `pg_catalog` (or another schema) for every one of them.
pub fn unqualified(sql: &str) -> Vec<String> {
    let t = tokens(sql);
    let word = |i: usize| match t.get(i) {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let is = |i: usize, tok: Token| t.get(i) == Some(&tok);
    let mut found = Vec::new();
    for (i, tok) in t.iter().enumerate() {
        match tok {
            Token::Op(op) => {
                let qualified = i >= 4
                    && word(i - 4) == Some("OPERATOR")
                    && is(i - 3, Token::Punct('('))
                    && word(i - 2) == Some("PG_CATALOG")
                    && is(i - 1, Token::Punct('.'))
                    && is(i + 1, Token::Punct(')'));
                if !qualified {
                    found.push(format!("operator {op}"));
                }
            }
            Token::Cast if !(word(i + 1) == Some("PG_CATALOG") && is(i + 2, Token::Punct('.'))) => {
                found.push("cast to an unqualified type".to_string());
            }
            Token::Word(w) => {
                let qualified = i >= 1 && is(i - 1, Token::Punct('.'));
                if is(i + 1, Token::Punct('(')) && !qualified {
                    if w == "IN" {
                        found.push("IN (...)".to_string());
                    } else if !NOT_CALLS.contains(&w.as_str()) {
                        found.push(format!("function {}", w.to_ascii_lowercase()));
                    }
                }
                if IMPLICIT_OPERATORS.contains(&w.as_str()) {
                    found.push(w.clone());
                }
                if w == "DISTINCT" && i >= 1 && word(i - 1) == Some("IS")
                    || w == "DISTINCT"
                        && i >= 2
                        && word(i - 1) == Some("NOT")
                        && word(i - 2) == Some("IS")
                {
                    found.push("IS DISTINCT FROM".to_string());
                }
                if w == "CASE" && word(i + 1) != Some("WHEN") {
                    found.push("CASE x WHEN".to_string());
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unqualified_finds_what_search_path_would_resolve() {
        let cases: &[(&str, &[&str])] = &[
            ("SELECT 1 FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql'", &["operator <>"]),
            ("SELECT extname::text FROM pg_catalog.pg_extension", &["cast to an unqualified type"]),
            ("SELECT now()", &["function now"]),
            ("SELECT 1 WHERE a IN ('x', 'y')", &["IN (...)"]),
            ("SELECT 1 WHERE a IS DISTINCT FROM b", &["IS DISTINCT FROM"]),
            ("SELECT 1 WHERE a IS NOT DISTINCT FROM b", &["IS DISTINCT FROM"]),
            ("SELECT 1 WHERE a LIKE 'x%'", &["LIKE"]),
            ("SELECT CASE a WHEN 1 THEN 2 END", &["CASE x WHEN"]),
            ("SELECT coalesce(a, b)", &["function coalesce"]),
            ("SELECT * FROM t", &["operator *"]),
            ("SELECT 1 WHERE a OPERATOR(public.=) b", &["operator ="]),
            // Qualified, or nothing looked up by name.
            ("SELECT e.extname::pg_catalog.text FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.<>) 'plpgsql'::pg_catalog.name", &[]),
            ("SELECT pg_catalog.now(), pgbouncer.get_auth($1)", &[]),
            ("SELECT 1 WHERE a OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.name[]) AND EXISTS (SELECT 1)", &[]),
            ("SELECT CASE WHEN a THEN 'x = y' ELSE E'it''s \\' <>' END -- a <> b", &[]),
            ("CREATE FUNCTION s.f() RETURNS TABLE(a pg_catalog.text) AS $f$ SELECT now() $f$", &[]),
            ("SET LOCAL search_path TO \"extensions\", pg_catalog, pg_temp; CREATE EXTENSION IF NOT EXISTS \"pg_trgm\" SCHEMA \"extensions\"", &[]),
            ("GRANT USAGE ON SCHEMA public TO \"a\", \"b\"", &[]),
        ];
        for (sql, want) in cases {
            assert_eq!(&unqualified(sql), want, "{sql}");
        }
    }

    #[test]
    fn unqualified_never_panics_on_unterminated_text() {
        for sql in [
            "'abc",
            "\"abc",
            "$f$ abc",
            "/* abc",
            "$",
            "E'",
            "a::",
            "OPERATOR(pg_catalog.",
        ] {
            let _ = unqualified(sql);
        }
    }
}
