//! Units of execution: a [`Batch`] is statements that take effect together or not at
//! all (the backend runs it in one transaction), a [`Script`] is units run one after
//! another, each committing on its own. A plain `String` is one statement. No statement
//! text holds two statements joined with `;`: atomicity is a type, not a separator.

/// What a backend runs as one unit: its statements, in order, in one transaction when
/// there are several.
pub trait Unit: Sync {
    /// The statements of the unit, in order.
    fn statements(&self) -> &[String];
}

/// One statement is a unit on its own (PostgreSQL and MySQL commit it alone).
impl Unit for String {
    fn statements(&self) -> &[String] {
        std::slice::from_ref(self)
    }
}

/// Statements that must take effect together: the backend runs them in one transaction
/// (`BEGIN` ... `COMMIT`, rolled back on the first failure). Built statement by statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    statements: Vec<String>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    /// The batch with `statement` appended.
    pub fn then(mut self, statement: impl Into<String>) -> Self {
        self.statements.push(statement.into());
        self
    }

    /// Appends `statement`.
    pub fn push(&mut self, statement: impl Into<String>) {
        self.statements.push(statement.into());
    }

    /// Whether the batch holds no statement.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

impl Unit for Batch {
    fn statements(&self) -> &[String] {
        &self.statements
    }
}

impl From<String> for Batch {
    fn from(statement: String) -> Self {
        Batch::new().then(statement)
    }
}

impl FromIterator<String> for Batch {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Batch {
            statements: iter.into_iter().collect(),
        }
    }
}

impl Extend<String> for Batch {
    fn extend<I: IntoIterator<Item = String>>(&mut self, iter: I) {
        self.statements.extend(iter);
    }
}

/// Units run one after another on one connection, each committing on its own: plain
/// statements (a batch of one) and atomic [`Batch`]es, in order. Dereferences to the
/// slice of units the backends' `exec` methods take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    units: Vec<Batch>,
}

impl Script {
    /// Appends a statement or a batch.
    pub fn push(&mut self, unit: impl Into<Batch>) {
        self.units.push(unit.into());
    }

    /// Every statement of every unit, in order (for audits and tests).
    pub fn statements(&self) -> impl Iterator<Item = &String> {
        self.units.iter().flat_map(|u| u.statements().iter())
    }
}

impl std::ops::Deref for Script {
    type Target = [Batch];
    fn deref(&self) -> &[Batch] {
        &self.units
    }
}

impl From<Vec<String>> for Script {
    fn from(statements: Vec<String>) -> Self {
        statements.into_iter().collect()
    }
}

impl FromIterator<String> for Script {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Script {
            units: iter.into_iter().map(Batch::from).collect(),
        }
    }
}

impl Extend<String> for Script {
    fn extend<I: IntoIterator<Item = String>>(&mut self, iter: I) {
        self.units.extend(iter.into_iter().map(Batch::from));
    }
}

impl Extend<Batch> for Script {
    fn extend<I: IntoIterator<Item = Batch>>(&mut self, iter: I) {
        self.units.extend(iter);
    }
}

impl IntoIterator for Script {
    type Item = Batch;
    type IntoIter = std::vec::IntoIter<Batch>;
    fn into_iter(self) -> Self::IntoIter {
        self.units.into_iter()
    }
}

/// Whether `statement` holds a `;` outside quotes, literals and comments: two statements
/// in one text, which would run as an implicit transaction nobody declared (use a
/// [`Batch`]). PostgreSQL lexing (`''`, `E''` escapes, `""`, `$tag$`, `--`, `/* */`);
/// MySQL backticks count as quotes too.
pub fn joins_statements(statement: &str) -> bool {
    let b = statement.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b';' => return true,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| i + p);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = statement[i + 2..]
                    .find("*/")
                    .map_or(b.len(), |p| i + 2 + p + 2);
                continue;
            }
            q @ (b'\'' | b'"' | b'`') => {
                let escapes = q == b'\'' && i > 0 && matches!(b[i - 1], b'E' | b'e');
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b'$' => {
                let rest = &statement[i + 1..];
                if let Some(end) = rest.find('$') {
                    let tag = &rest[..end];
                    if tag.chars().all(|c| c.is_alphanumeric() || c == '_')
                        && !tag.starts_with(|c: char| c.is_ascii_digit())
                    {
                        let delimiter = format!("${tag}$");
                        let body = i + 1 + end + 1;
                        i = statement[body..]
                            .find(&delimiter)
                            .map_or(b.len(), |p| body + p + delimiter.len());
                        continue;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_its_statements_in_order() {
        let b = Batch::new()
            .then("CREATE ROLE a")
            .then("COMMENT ON ROLE a IS 'x'");
        assert_eq!(
            b.statements(),
            ["CREATE ROLE a", "COMMENT ON ROLE a IS 'x'"]
        );
        assert!(!b.is_empty());
        assert!(Batch::new().is_empty());
    }

    #[test]
    fn a_plain_statement_is_a_unit_of_one() {
        let s = "DROP ROLE a".to_string();
        assert_eq!(s.statements(), ["DROP ROLE a"]);
        assert_eq!(Batch::from(s.clone()).statements(), [s]);
    }

    #[test]
    fn a_script_keeps_statements_and_batches_apart_in_order() {
        let mut script = Script::from(vec!["A".to_string()]);
        script.extend(["B".to_string()]);
        script.push(Batch::new().then("C1").then("C2"));
        script.extend([Batch::from("D".to_string())]);
        let units: Vec<&[String]> = script.iter().map(|u| u.statements()).collect();
        assert_eq!(
            units,
            [
                &["A".to_string()][..],
                &["B".into()],
                &["C1".into(), "C2".into()],
                &["D".into()]
            ]
        );
        assert_eq!(
            script.statements().collect::<Vec<_>>(),
            ["A", "B", "C1", "C2", "D"]
        );
    }

    #[test]
    fn two_statements_in_one_text_are_found() {
        assert!(joins_statements("SET LOCAL x TO y; CREATE EXTENSION z"));
        assert!(joins_statements("CREATE ROLE a;\nCOMMENT ON ROLE a IS 'b'"));
    }

    #[test]
    fn semicolons_inside_quotes_comments_and_bodies_are_not_separators() {
        for s in [
            "COMMENT ON ROLE a IS 'x; y'",
            "COMMENT ON ROLE a IS 'it''s; fine'",
            "COMMENT ON ROLE a IS E'a\\'; b'",
            "CREATE ROLE \"a;b\"",
            "CREATE DATABASE `a;b`",
            "SELECT 1 -- trailing; comment",
            "SELECT /* a; b */ 1",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$",
            "SELECT $1",
        ] {
            assert!(!joins_statements(s), "{s}");
        }
    }
}
