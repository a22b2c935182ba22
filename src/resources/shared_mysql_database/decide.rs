//! The pure decisions of `dbaas_shared_mysql_database`: what a create does with what it
//! finds under the name (make it, resume its own unfinished one, refuse a foreign one),
//! what a cut-off `CREATE DATABASE` means, whether a destroy may go ahead, and what it
//! warns about afterwards. No I/O: the CRUD methods observe, call these, then execute.

use tfplugin::Error;

use crate::resources::mysql_accounts::{self, Teardown};

/// What exists under the name a create wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// No database of that name.
    Nothing,
    /// A database bearing the marker of a create of this provider that never finished.
    Unfinished,
    /// A database someone else made (or one whose marker cannot be kept: MySQL 8).
    Foreign,
}

/// Reads what a create found: whether the database exists and, if so, its comment.
pub fn found(exists: bool, comment: Option<&str>, marker: &str) -> Found {
    match (exists, comment) {
        (false, _) => Found::Nothing,
        (true, Some(c)) if c == marker => Found::Unfinished,
        (true, _) => Found::Foreign,
    }
}

/// How a create proceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateStep {
    /// `CREATE DATABASE` (with the marker where the server keeps comments), then finish.
    Fresh,
    /// Align charset and collation of the unfinished database, then finish.
    Resume,
}

/// Why a create, update or destroy refuses, each rendered on the attribute it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A database of this name exists and is not this provider's unfinished one.
    AlreadyExists(String),
    /// `CREATE DATABASE` met one made meanwhile by someone else (error 1007).
    CreatedConcurrently(String),
    /// The server has no such character set.
    UnknownCharset(String),
    /// The collation is not one of the character set's on this server.
    UnknownCollation {
        /// The character set.
        charset: String,
        /// The configured collation.
        collation: String,
    },
    /// `deletion_protection` keeps the database.
    Protected(String),
    /// A planned replacement (forced by the attributes in `forced_by`) would drop a
    /// protected database.
    ProtectedReplacement {
        /// The database.
        name: String,
        /// The changed attributes that force the replacement.
        forced_by: Vec<String>,
    },
}

/// The resource type, named in the protection refusals (the provider never learns the
/// resource address; Terraform prints it beside a diagnostic with an attribute path).
const TYPE_NAME: &str = "dbaas_shared_mysql_database";

impl Refusal {
    /// The diagnostic, on the attribute the refusal is about.
    pub fn error(&self) -> Error {
        match self {
            Refusal::AlreadyExists(name) => Error::at_attr(
                "name",
                format!("Database {name:?} already exists"),
                format!("A database named {name:?} exists but is not in this Terraform state. This provider never adopts it silently. To manage it here, import it:\n  terraform import <resource address> {name}"),
            ),
            Refusal::CreatedConcurrently(name) => Error::at_attr(
                "name",
                format!("Database {name:?} already exists"),
                format!("It was created concurrently, outside this resource. To manage it here, import it:\n  terraform import <resource address> {name}"),
            ),
            Refusal::UnknownCharset(charset) => Error::at_attr(
                "charset",
                "Unknown character set",
                format!("The server has no character set {charset:?}; `SHOW CHARACTER SET` lists those it has."),
            ),
            Refusal::UnknownCollation { charset, collation } => Error::at_attr(
                "collation",
                "Unknown collation for this character set",
                format!("The server has no collation {collation:?} for character set {charset:?}; `SHOW COLLATION WHERE Charset = '{charset}'` lists them."),
            ),
            Refusal::Protected(name) => Error::at_attr(
                "deletion_protection",
                format!("Cannot destroy {TYPE_NAME} {name:?}: it is protected by deletion_protection"),
                "deletion_protection is true, so the database and its data are kept. To destroy it, set deletion_protection = false on this resource, run terraform apply, then destroy.",
            ),
            Refusal::ProtectedReplacement { name, forced_by } => Error::at_attr(
                "deletion_protection",
                format!("Cannot replace {TYPE_NAME} {name:?}: it is protected by deletion_protection"),
                format!("Changing {} forces Terraform to replace the database: drop it with its data and create another. deletion_protection is true, so the database and its data are kept. Undo the change to keep the database; to replace it anyway, set deletion_protection = false on this resource, run terraform apply, then apply the change.", forced_by.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(" and ")),
            ),
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        r.error()
    }
}

impl<M> From<Refusal> for tfplugin::Failure<M> {
    fn from(r: Refusal) -> Self {
        r.error().into()
    }
}

/// What a create does with what it found: never adopts a database it did not start.
pub fn create_step(found: Found, name: &str) -> Result<CreateStep, Refusal> {
    match found {
        Found::Nothing => Ok(CreateStep::Fresh),
        Found::Unfinished => Ok(CreateStep::Resume),
        Found::Foreign => Err(Refusal::AlreadyExists(name.to_string())),
    }
}

/// The server's verdict on a character set and collation (`known`: it has the character
/// set; `applies`: the collation, if any, is one of its).
pub fn charset_verdict(
    charset: &str,
    collation: Option<&str>,
    (known, applies): (bool, bool),
) -> Result<(), Refusal> {
    if !known {
        return Err(Refusal::UnknownCharset(charset.to_string()));
    }
    if !applies {
        return Err(Refusal::UnknownCollation {
            charset: charset.to_string(),
            collation: collation.unwrap_or_default().to_string(),
        });
    }
    Ok(())
}

/// What a failed `CREATE DATABASE` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateFailed {
    /// Error 1007: the database exists (made meanwhile by someone else).
    Concurrent,
    /// The server refused it: nothing was made.
    Refused,
    /// The connection was cut (no server error, or MariaDB's "connection was killed" /
    /// "query interrupted"): it may have run; look again.
    LookAgain,
}

/// Classifies a failed `CREATE DATABASE` by the server's error number.
pub fn create_failed(code: Option<u16>) -> CreateFailed {
    match code {
        Some(1007) => CreateFailed::Concurrent,
        None | Some(1927 | 1317 | 2006 | 2013) => CreateFailed::LookAgain,
        Some(_) => CreateFailed::Refused,
    }
}

/// After a cut-off `CREATE DATABASE`, what the second look says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutCreate {
    /// Our marker is there: it ran; finish the create.
    Ran,
    /// Not ours, absent, or not readable: fail with the cut's error. `warn_unknown`: the
    /// server keeps no comments (MySQL 8), so a database that is there cannot be told
    /// from a foreign one; the user is told so.
    Failed {
        /// Add the "whether it was created is unknown" warning.
        warn_unknown: bool,
    },
}

/// Reads the second look after a cut-off create: `marker_seen` is `None` when it could
/// not be read; `comments`: the server keeps database comments (MariaDB).
pub fn cut_create(marker_seen: Option<bool>, comments: bool) -> CutCreate {
    match marker_seen {
        Some(true) => CutCreate::Ran,
        Some(false) => CutCreate::Failed {
            warn_unknown: !comments,
        },
        None => CutCreate::Failed {
            warn_unknown: false,
        },
    }
}

/// What a protected destroy saw of the database before deciding (only looked at when
/// protection might hold it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not looked (unprotected, already known unfinished, or MySQL unreachable).
    NotLooked,
    /// No such database.
    Gone,
    /// It bears the marker of an unfinished create.
    Marked,
    /// It exists (or could not be read) without the marker.
    Present,
}

/// Whether a destroy goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Nothing to protect, nothing to drop: done.
    Nothing,
    /// Drop it; `warn_unfinished`: protection was set, but the create never finished.
    Drop {
        /// Say that protection did not keep an unfinished database.
        warn_unfinished: bool,
    },
}

/// Whether destroy may drop the database: `deletion_protection` keeps it unless its
/// create never finished (`pending`, from the private state, or the marker seen).
pub fn destroy_gate(
    name: &str,
    protected: bool,
    pending: bool,
    seen: Seen,
) -> Result<Gate, Refusal> {
    if !protected {
        return Ok(Gate::Drop {
            warn_unfinished: false,
        });
    }
    match (pending, seen) {
        (true, _) | (false, Seen::Marked) => Ok(Gate::Drop {
            warn_unfinished: true,
        }),
        // A tainted create cut off before CREATE DATABASE took effect: a no-op.
        (false, Seen::Gone) => Ok(Gate::Nothing),
        (false, Seen::NotLooked | Seen::Present) => Err(Refusal::Protected(name.to_string())),
    }
}

/// A planned replacement (Terraform shows `-/+`; `forced_by` are the changed attributes
/// that force it): refused at plan while the prior state is protected, since its destroy
/// would be refused at apply. A tainted instance is planned as a create (no prior
/// state), and one whose create never finished (`pending`) may go, as at destroy.
pub fn replacement_gate(
    name: &str,
    protected: bool,
    pending: bool,
    forced_by: Vec<String>,
) -> Result<(), Refusal> {
    if !protected || pending {
        return Ok(());
    }
    Err(Refusal::ProtectedReplacement {
        name: name.to_string(),
        forced_by,
    })
}

/// The warning when protection did not keep an unfinished database.
pub fn unfinished_warning(name: &str) -> (String, String) {
    (
        format!("Dropping database {name:?}, whose create never finished"),
        "Its create was cut off, so Terraform marked it tainted; it was never handed out, so deletion_protection does not keep it.".to_string(),
    )
}

/// The warnings after a destroy: logins dropped or left locked, proxy grants and grants
/// revoked, wildcard grants left. Each is (summary, detail); none when there was nothing.
pub fn teardown_warnings(
    name: &str,
    t: &Teardown,
    dropped: &[String],
    locked: &[String],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !dropped.is_empty() {
        out.push((
            format!("Logins of database {name:?} dropped"),
            format!("These logins had been issued by Vault for this database alone; their sessions were ended and they were dropped (their Vault leases end without effect): {}.", dropped.join(", ")),
        ));
    }
    if !locked.is_empty() {
        out.push((
            format!("Logins of database {name:?} locked but not dropped"),
            format!("Their sessions were ended and they are locked (ACCOUNT LOCK), but DROP USER failed: {}. Drop them by hand.", locked.join(", ")),
        ));
    }
    if !t.unproxy.is_empty() {
        let list: Vec<String> = t
            .unproxy
            .iter()
            .map(|(login, proxy)| format!("{} on {}", proxy.display(), login.display()))
            .collect();
        out.push((
            format!("Proxy grants on the logins of {name:?} revoked"),
            format!(
                "These accounts could act as the dropped logins: {}.",
                list.join(", ")
            ),
        ));
    }
    if !t.revoke.is_empty() {
        out.push((
            format!("Grants on database {name:?} revoked"),
            format!("These accounts and roles held privileges on the destroyed database; those were revoked (they keep everything else, and their sessions inside it were ended), so none of them reaches a later database of the same name: {}.", mysql_accounts::describe_grants(&t.revoke)),
        ));
    }
    if !t.kept.is_empty() {
        let list: Vec<String> = t
            .kept
            .iter()
            .map(|(a, patterns)| format!("{} (`{}`.*)", a.display(), patterns.join("`.*, `")))
            .collect();
        out.push((
            format!("Wildcard grants still reach the name {name:?}"),
            format!("These grants use `_` or `%` as wildcards, so they are grants on other databases too and were left in place; a later database named {name:?} is open to them: {}. Revoke them, or escape the wildcards (`\\_`), if that is not meant.", list.join(", ")),
        ));
    }
    out
}

/// The detail when destroy cannot read who holds grants on the database.
pub fn access_unreadable(e: impl std::fmt::Display) -> String {
    format!("{e}. Nothing was dropped: before the database, destroy ends the logins issued for it and revokes the grants other accounts hold on it, which needs SELECT on the `mysql` schema, CREATE USER and the right to end other sessions (CONNECTION_ADMIN or SUPER).")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::mysql::{MysqlAccount, MysqlGrant, MysqlGrantLevel};
    use tfplugin::AttributePath;

    const MARKER: &str = crate::sql::MYSQL_CREATE_PENDING_MARKER;

    fn attr(e: &Error) -> Option<AttributePath> {
        e.diagnostics()[0].attribute.clone()
    }

    #[test]
    fn what_a_create_found() {
        for (situation, exists, comment, want) in [
            ("no_database_is_nothing", false, None, Found::Nothing),
            (
                "absent_ignores_a_stale_comment",
                false,
                Some(MARKER),
                Found::Nothing,
            ),
            (
                "marked_database_is_unfinished",
                true,
                Some(MARKER),
                Found::Unfinished,
            ),
            (
                "other_comment_is_foreign",
                true,
                Some("owned by someone else"),
                Found::Foreign,
            ),
            ("empty_comment_is_foreign", true, Some(""), Found::Foreign),
            (
                "mysql8_without_comments_is_foreign",
                true,
                None,
                Found::Foreign,
            ),
        ] {
            assert_eq!(found(exists, comment, MARKER), want, "{situation}");
        }
    }

    #[test]
    fn create_steps() {
        assert_eq!(
            create_step(Found::Nothing, "a"),
            Ok(CreateStep::Fresh),
            "fresh_name_is_created"
        );
        assert_eq!(
            create_step(Found::Unfinished, "a"),
            Ok(CreateStep::Resume),
            "own_unfinished_create_resumes"
        );
        let refused = create_step(Found::Foreign, "a").unwrap_err();
        assert_eq!(
            refused,
            Refusal::AlreadyExists("a".into()),
            "foreign_database_is_refused"
        );
        let e = refused.error();
        assert_eq!(attr(&e), Some(AttributePath::attr("name")));
        assert!(e.diagnostics()[0].summary.contains("already exists"));
        assert!(e.diagnostics()[0]
            .detail
            .contains("terraform import <resource address> a"));
    }

    #[test]
    fn charset_verdicts_point_at_their_attribute() {
        assert_eq!(
            charset_verdict("utf8mb4", None, (true, true)),
            Ok(()),
            "known_charset_passes"
        );
        let unknown = charset_verdict("nope", None, (false, true))
            .unwrap_err()
            .error();
        assert_eq!(
            attr(&unknown),
            Some(AttributePath::attr("charset")),
            "unknown_charset_on_charset"
        );
        assert_eq!(unknown.diagnostics()[0].summary, "Unknown character set");
        // An unknown charset wins over the collation (the server did not check it).
        let both = charset_verdict("nope", Some("x"), (false, false)).unwrap_err();
        assert_eq!(
            both,
            Refusal::UnknownCharset("nope".into()),
            "unknown_charset_wins"
        );
        let foreign = charset_verdict("latin1", Some("utf8mb4_bin"), (true, false))
            .unwrap_err()
            .error();
        assert_eq!(
            attr(&foreign),
            Some(AttributePath::attr("collation")),
            "collation_of_another_charset_on_collation"
        );
        assert!(foreign.diagnostics()[0].detail.contains("\"utf8mb4_bin\""));
    }

    #[test]
    fn failed_create_statements() {
        for (situation, code, want) in [
            (
                "database_exists_is_concurrent",
                Some(1007),
                CreateFailed::Concurrent,
            ),
            ("no_server_error_is_a_cut", None, CreateFailed::LookAgain),
            (
                "connection_killed_is_a_cut",
                Some(1927),
                CreateFailed::LookAgain,
            ),
            (
                "query_interrupted_is_a_cut",
                Some(1317),
                CreateFailed::LookAgain,
            ),
            ("server_gone_is_a_cut", Some(2006), CreateFailed::LookAgain),
            (
                "lost_during_query_is_a_cut",
                Some(2013),
                CreateFailed::LookAgain,
            ),
            (
                "access_denied_is_refused",
                Some(1044),
                CreateFailed::Refused,
            ),
            ("bad_charset_is_refused", Some(1115), CreateFailed::Refused),
        ] {
            assert_eq!(create_failed(code), want, "{situation}");
        }
        let e = Refusal::CreatedConcurrently("a".into()).error();
        assert_eq!(attr(&e), Some(AttributePath::attr("name")));
        assert!(e.diagnostics()[0]
            .detail
            .starts_with("It was created concurrently"));
    }

    #[test]
    fn second_look_after_a_cut_create() {
        for (situation, seen, comments, want) in [
            ("marker_seen_means_it_ran", Some(true), true, CutCreate::Ran),
            (
                "no_marker_on_mariadb_fails_quietly",
                Some(false),
                true,
                CutCreate::Failed {
                    warn_unknown: false,
                },
            ),
            (
                "mysql8_cannot_tell_and_says_so",
                Some(false),
                false,
                CutCreate::Failed { warn_unknown: true },
            ),
            (
                "unreadable_fails_quietly",
                None,
                false,
                CutCreate::Failed {
                    warn_unknown: false,
                },
            ),
        ] {
            assert_eq!(cut_create(seen, comments), want, "{situation}");
        }
    }

    #[test]
    fn destroy_gates() {
        let drop = |warn_unfinished| Ok(Gate::Drop { warn_unfinished });
        let refused = Err(Refusal::Protected("a".into()));
        for (situation, protected, pending, seen, want) in [
            (
                "unprotected_drops",
                false,
                false,
                Seen::NotLooked,
                drop(false),
            ),
            (
                "unprotected_unfinished_drops_without_warning",
                false,
                true,
                Seen::NotLooked,
                drop(false),
            ),
            (
                "protected_is_refused",
                true,
                false,
                Seen::Present,
                refused.clone(),
            ),
            (
                "protected_unreachable_is_refused",
                true,
                false,
                Seen::NotLooked,
                refused,
            ),
            (
                "protected_unfinished_by_private_state_drops_with_warning",
                true,
                true,
                Seen::NotLooked,
                drop(true),
            ),
            (
                "protected_marked_drops_with_warning",
                true,
                false,
                Seen::Marked,
                drop(true),
            ),
            (
                "protected_but_never_made_is_a_no_op",
                true,
                false,
                Seen::Gone,
                Ok(Gate::Nothing),
            ),
        ] {
            assert_eq!(
                destroy_gate("a", protected, pending, seen),
                want,
                "{situation}"
            );
        }
        let e = Refusal::Protected("a".into()).error();
        assert_eq!(attr(&e), Some(AttributePath::attr("deletion_protection")));
        let summary = &e.diagnostics()[0].summary;
        assert!(
            summary.starts_with("Cannot destroy dbaas_shared_mysql_database \"a\""),
            "{summary}"
        );
        assert!(unfinished_warning("a").0.contains("never finished"));
    }

    #[test]
    fn replacement_gate_refuses_a_protected_finished_database() {
        let forced = || vec!["name".to_string()];
        let refused = Err(Refusal::ProtectedReplacement {
            name: "a".into(),
            forced_by: forced(),
        });
        for (situation, protected, pending, want) in [
            ("unprotected_replacement_plans", false, false, Ok(())),
            ("protected_replacement_is_refused", true, false, refused),
            ("protected_unfinished_create_plans", true, true, Ok(())),
        ] {
            assert_eq!(
                replacement_gate("a", protected, pending, forced()),
                want,
                "{situation}"
            );
        }
        let e = replacement_gate("a", true, false, forced())
            .unwrap_err()
            .error();
        assert_eq!(attr(&e), Some(AttributePath::attr("deletion_protection")));
        let d = &e.diagnostics()[0];
        assert!(d
            .summary
            .starts_with("Cannot replace dbaas_shared_mysql_database \"a\""));
        assert!(d.detail.contains("Changing `name`"), "{}", d.detail);
    }

    fn acct(user: &str) -> MysqlAccount {
        MysqlAccount {
            user: user.into(),
            host: "%".into(),
            mariadb_role: false,
        }
    }

    #[test]
    fn teardown_warnings_name_what_was_done_and_left() {
        let summaries =
            |w: Vec<(String, String)>| w.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        assert!(
            teardown_warnings("a", &Teardown::default(), &[], &[]).is_empty(),
            "nothing_done_warns_nothing"
        );
        let grant = MysqlGrant {
            level: MysqlGrantLevel::Database,
            db: "a".into(),
            object: String::new(),
            grant_option: false,
        };
        let t = Teardown {
            drop: vec![acct("v-x-y")],
            unproxy: vec![(acct("v-x-y"), acct("px"))],
            revoke: vec![(acct("reporting"), vec![grant])],
            kept: vec![(acct("wild"), vec!["a%".into()])],
        };
        let all = teardown_warnings(
            "a",
            &t,
            &["'v-x-y'@'%'".into()],
            &["'v-z'@'%' (busy)".into()],
        );
        assert_eq!(
            summaries(all.clone()),
            [
                "Logins of database \"a\" dropped",
                "Logins of database \"a\" locked but not dropped",
                "Proxy grants on the logins of \"a\" revoked",
                "Grants on database \"a\" revoked",
                "Wildcard grants still reach the name \"a\"",
            ]
        );
        assert!(all[2].1.contains("on 'v-x-y'@'%'"), "{}", all[2].1);
        assert!(all[3].1.contains("reporting"));
        assert!(all[4].1.contains("`a%`.*"));
        // Only a revoke: one warning.
        let revoke_only = Teardown {
            drop: vec![],
            unproxy: vec![],
            kept: vec![],
            ..t
        };
        assert_eq!(
            summaries(teardown_warnings("a", &revoke_only, &[], &[])),
            ["Grants on database \"a\" revoked"]
        );
        assert!(access_unreadable("boom").starts_with("boom. Nothing was dropped"));
    }
}
