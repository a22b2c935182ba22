//! Diagnostics: what a provider tells the user, with the attribute path Terraform
//! underlines in the configuration.

use std::fmt;

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// An object attribute or nested block name.
    Attr(String),
    /// A map key.
    Key(String),
    /// A list or tuple index (also used for a block's position in a list block).
    Index(i64),
}

/// Where in a configuration or state a diagnostic points, e.g. `postgres[0].port`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// A path of one top-level attribute.
    pub fn attr(name: &str) -> Self {
        AttributePath(vec![PathStep::Attr(name.to_string())])
    }

    /// This path extended by an attribute.
    pub fn join(&self, name: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(PathStep::Attr(name.to_string()));
        AttributePath(steps)
    }

    /// This path extended by a list index.
    pub fn index(&self, i: i64) -> Self {
        let mut steps = self.0.clone();
        steps.push(PathStep::Index(i));
        AttributePath(steps)
    }

    /// This path extended by a map key.
    pub fn key(&self, k: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(PathStep::Key(k.to_string()));
        AttributePath(steps)
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(a) if i == 0 => write!(f, "{a}")?,
                PathStep::Attr(a) => write!(f, ".{a}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Stops the operation.
    Error,
    /// Shown, operation goes on.
    Warning,
}

/// A message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One line.
    pub summary: String,
    /// What happened and what to do.
    pub detail: String,
    /// The attribute it is about, if any.
    pub attribute: Option<AttributePath>,
}

/// The diagnostics of one RPC, collected as it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Adds an error not tied to an attribute.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Error, summary, detail, None);
    }

    /// Adds an error on an attribute.
    pub fn error_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Error, summary, detail, Some(path));
    }

    /// Adds a warning not tied to an attribute.
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Warning, summary, detail, None);
    }

    /// Adds a warning on an attribute.
    pub fn warning_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Warning, summary, detail, Some(path));
    }

    fn push(
        &mut self,
        severity: Severity,
        summary: impl Into<String>,
        detail: impl Into<String>,
        attribute: Option<AttributePath>,
    ) {
        self.0.push(Diagnostic {
            severity,
            summary: summary.into(),
            detail: detail.into(),
            attribute,
        });
    }

    /// Whether any error was recorded.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Appends all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Iterates over the diagnostics.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_terraform() {
        let p = AttributePath::attr("postgres").index(0).join("port");
        assert_eq!(p.to_string(), "postgres[0].port");
        assert_eq!(
            AttributePath::attr("tags").key("env").to_string(),
            "tags[\"env\"]"
        );
    }

    #[test]
    fn errors_and_warnings_are_told_apart() {
        let mut d = Diagnostics::default();
        d.warning("careful", "");
        assert!(!d.has_errors());
        d.error_at(AttributePath::attr("name"), "bad", "why");
        assert!(d.has_errors());
        assert_eq!(d.0[1].attribute, Some(AttributePath::attr("name")));
    }
}
