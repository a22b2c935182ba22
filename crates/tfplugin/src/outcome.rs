//! What a CRUD method returns when it does not finish: an [`Error`] (one or more error
//! diagnostics), or for create and update a [`Failure::Tainted`] partial object that
//! Terraform records as tainted. The server turns either into diagnostics and state in
//! one place ([`crate::typed`] and the service), so resource code reads
//! `backend.call().await.or_diag("Cannot read the database")?`.

use crate::{AttributePath, Diagnostic, Diagnostics, Severity};

/// One or more error diagnostics that ended an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Vec<Diagnostic>);

impl Error {
    /// An error not tied to an attribute.
    pub fn new(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Error(vec![diagnostic(summary, detail, None)])
    }

    /// An error on an attribute.
    pub fn at(path: AttributePath, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Error(vec![diagnostic(summary, detail, Some(path))])
    }

    /// An error on a top-level attribute.
    pub fn at_attr(attr: &str, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::at(AttributePath::attr(attr), summary, detail)
    }

    /// Takes every error out of `diags` (warnings stay); `None` if there was none.
    pub fn take_from(diags: &mut Diagnostics) -> Option<Self> {
        let (errors, rest) = std::mem::take(&mut diags.0)
            .into_iter()
            .partition::<Vec<_>, _>(|d| d.severity == Severity::Error);
        diags.0 = rest;
        (!errors.is_empty()).then_some(Error(errors))
    }

    /// This error and then `other`'s diagnostics.
    pub fn and(mut self, other: Error) -> Self {
        self.0.extend(other.0);
        self
    }

    /// The partial object `partial` exists: Terraform records it tainted with this error.
    pub fn tainted<M>(self, partial: M) -> Failure<M> {
        Failure::Tainted {
            partial,
            error: self,
        }
    }

    /// The diagnostics, in order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.0
    }

    /// Appends the diagnostics to `diags`.
    pub fn report(self, diags: &mut Diagnostics) {
        diags.0.extend(self.0);
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error(vec![d])
    }
}

fn diagnostic(
    summary: impl Into<String>,
    detail: impl Into<String>,
    attribute: Option<AttributePath>,
) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        summary: summary.into(),
        detail: detail.into(),
        attribute,
    }
}

/// Why a create or update returned no complete object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<M> {
    /// Nothing the state should record was made (or, on update, changed).
    Error(Error),
    /// A partial object exists; Terraform records it tainted and replaces it next apply.
    Tainted {
        /// The object as far as it got.
        partial: M,
        /// Why it stopped.
        error: Error,
    },
}

impl<M> From<Error> for Failure<M> {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

impl<M> Failure<M> {
    /// The error, whichever the kind.
    pub fn error(&self) -> &Error {
        match self {
            Failure::Error(e) | Failure::Tainted { error: e, .. } => e,
        }
    }

    /// The same failure with the partial object mapped.
    pub fn map<N>(self, f: impl FnOnce(M) -> N) -> Failure<N> {
        match self {
            Failure::Error(e) => Failure::Error(e),
            Failure::Tainted { partial, error } => Failure::Tainted {
                partial: f(partial),
                error,
            },
        }
    }
}

/// What create and update return: the new state, or a [`Failure`].
pub type Applied<M> = Result<M, Failure<M>>;

/// Turns any error (a backend's, an I/O error) into an [`Error`] with a summary; the
/// error's `Display` becomes the detail. Backend error texts name the host, port and
/// provider block and never carry a secret.
pub trait OrDiag<T> {
    /// The error as a diagnostic with this summary.
    fn or_diag(self, summary: impl Into<String>) -> Result<T, Error>;

    /// The error as a diagnostic on a top-level attribute.
    fn or_diag_at(self, attr: &str, summary: impl Into<String>) -> Result<T, Error>;
}

impl<T, E: std::fmt::Display> OrDiag<T> for Result<T, E> {
    fn or_diag(self, summary: impl Into<String>) -> Result<T, Error> {
        self.map_err(|e| Error::new(summary, e.to_string()))
    }

    fn or_diag_at(self, attr: &str, summary: impl Into<String>) -> Result<T, Error> {
        self.map_err(|e| Error::at_attr(attr, summary, e.to_string()))
    }
}

/// Marks an [`Error`] result as leaving a partial object: `step().await.or_taint(&partial)?`.
pub trait OrTaint<T> {
    /// On error, the failure records `partial` as tainted.
    fn or_taint<M: Clone>(self, partial: &M) -> Result<T, Failure<M>>;
}

impl<T> OrTaint<T> for Result<T, Error> {
    fn or_taint<M: Clone>(self, partial: &M) -> Result<T, Failure<M>> {
        self.map_err(|e| e.tainted(partial.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn or_diag_keeps_the_error_text_as_detail() {
        let r: Result<(), String> = Err("host db:5432: refused".into());
        let e = r.or_diag("Cannot reach PostgreSQL").unwrap_err();
        assert_eq!(e.diagnostics()[0].summary, "Cannot reach PostgreSQL");
        assert_eq!(e.diagnostics()[0].detail, "host db:5432: refused");
        assert_eq!(e.diagnostics()[0].severity, Severity::Error);
    }

    #[test]
    fn or_diag_at_points_at_the_attribute() {
        let r: Result<(), &str> = Err("no");
        let e = r.or_diag_at("owner", "Bad owner").unwrap_err();
        assert_eq!(
            e.diagnostics()[0].attribute,
            Some(AttributePath::attr("owner"))
        );
    }

    #[test]
    fn take_from_moves_errors_and_leaves_warnings() {
        let mut d = Diagnostics::default();
        d.warning("w", "");
        d.error("e1", "");
        d.error_at(AttributePath::attr("x"), "e2", "");
        let e = Error::take_from(&mut d).unwrap();
        assert_eq!(e.diagnostics().len(), 2);
        assert_eq!(d.0.len(), 1);
        assert!(!d.has_errors());
        assert!(Error::take_from(&mut d).is_none());
    }

    #[test]
    fn or_taint_records_the_partial_object() {
        let r: Result<(), Error> = Err(Error::new("half", ""));
        match r.or_taint(&7) {
            Err(Failure::Tainted { partial, error }) => {
                assert_eq!(partial, 7);
                assert_eq!(error.diagnostics()[0].summary, "half");
            }
            other => panic!("not tainted: {other:?}"),
        }
    }

    #[test]
    fn a_failure_maps_its_partial_object_and_keeps_its_error() {
        let f: Failure<i32> = Error::new("x", "").tainted(2);
        let g = f.map(|n| n.to_string());
        assert!(matches!(&g, Failure::Tainted { partial, .. } if partial == "2"));
        assert_eq!(g.error().diagnostics()[0].summary, "x");
        let plain: Failure<i32> = Error::new("y", "").into();
        assert!(matches!(plain.map(|n| n + 1), Failure::Error(_)));
    }
}
