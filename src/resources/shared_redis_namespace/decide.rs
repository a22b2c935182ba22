//! The pure decisions of `dbaas_shared_redis_namespace`: whether a create may write the
//! ACL user (never the provider's admin, never an existing user, never a prefix another
//! user reaches), what an `ACL SETUSER` cut off by a lost connection left behind (our
//! user, someone else's, nothing, unknown), which prefix a read records, and whether and
//! by which prefix a destroy deletes keys, batch by batch. No I/O.

use tfplugin::Error;

use crate::backends::redis::{key_rule, AclUser, Overlap};

/// Why a create, update or destroy refuses, each rendered on the attribute it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The name is the user the provider connects as.
    AdminName(String),
    /// An ACL user of this name exists and is not in this state.
    Exists(String),
    /// Other users' key patterns reach keys under the prefix.
    Overlap {
        /// The namespace's key prefix.
        prefix: String,
        /// Who reaches it, and by which patterns.
        others: Vec<Overlap>,
    },
    /// A cut-off write found a user of this name with another password: not ours.
    WrittenByOthers(String),
    /// `delete_keys_on_destroy` without a prefix recorded at apply.
    NoRecordedPrefix(String),
    /// The user's key rules are no longer those applied: deleting by either could
    /// remove another tenant's keys.
    KeysDrifted {
        /// The namespace.
        name: String,
        /// The key rules Redis has now.
        keys: Vec<String>,
        /// The prefix recorded at apply.
        prefix: String,
    },
}

impl Refusal {
    /// The diagnostic, on the attribute the refusal is about.
    pub fn error(&self) -> Error {
        match self {
            Refusal::AdminName(name) => Error::at_attr(
                "name",
                "Name taken by the provider's admin user",
                format!("{name:?} is the user the provider connects as (`redis.username`); choose another name."),
            ),
            Refusal::Exists(name) => Error::at_attr(
                "name",
                format!("Redis user {name:?} already exists"),
                format!("An ACL user named {name:?} exists but is not in this Terraform state. This provider never adopts it silently. To manage it here, import it:\n  terraform import <resource address> {name}"),
            ),
            Refusal::Overlap { prefix, others } => {
                let list = others
                    .iter()
                    .map(|o| format!("{} (~{})", o.user, o.patterns.join(" ~")))
                    .collect::<Vec<_>>()
                    .join(", ");
                Error::at_attr(
                    "key_prefix",
                    "Key prefix overlaps another namespace",
                    format!("Keys starting with {prefix:?} are also reachable by: {list}. Tenants would read each other's keys; choose a prefix neither contains nor is contained in theirs."),
                )
            }
            Refusal::WrittenByOthers(name) => Error::new(
                format!("Redis user {name:?} was created concurrently by someone else"),
                "It is not adopted; remove it or import it.",
            ),
            Refusal::NoRecordedPrefix(name) => Error::new(
                format!("Keys of Redis namespace {name:?} not deleted: no recorded prefix"),
                "`delete_keys_on_destroy` deletes by the key prefix recorded at the last apply, and none is recorded (state from an earlier release whose user's rules changed since). Nothing was deleted. Run `terraform apply` once to restore and record the rules, or set `delete_keys_on_destroy = false` and delete the keys by hand.",
            ),
            Refusal::KeysDrifted { name, keys, prefix } => Error::new(
                format!("Redis namespace {name:?}: key rules drifted, nothing deleted"),
                format!("The user's key rules are now {:?}, not `{}` as applied (prefix {prefix:?}): they were changed out of band. Deleting keys by either could remove another tenant's data, so nothing was deleted (neither keys nor user). Run `terraform apply` to restore the rules, then destroy again; or set `delete_keys_on_destroy = false`.", keys.join(" "), key_rule(prefix)),
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

/// A namespace is never the user the provider connects as.
pub fn not_the_admin(name: &str, admin: &str) -> Result<(), Refusal> {
    if name == admin {
        return Err(Refusal::AdminName(name.to_string()));
    }
    Ok(())
}

/// What a create saw before writing (under the process's ACL write lock).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateFacts {
    /// A user of the name exists.
    pub exists: bool,
    /// Other users reaching the prefix (not read when the user exists).
    pub overlaps: Vec<Overlap>,
}

/// Whether a create may write the user: never adopts an existing one, never shares keys.
pub fn create_gate(name: &str, prefix: &str, facts: CreateFacts) -> Result<(), Refusal> {
    if facts.exists {
        return Err(Refusal::Exists(name.to_string()));
    }
    no_overlap(prefix, facts.overlaps)
}

/// Refuses a prefix other users' key patterns reach (create, a prefix change, and the
/// check after the write, when another process may have raced).
pub fn no_overlap(prefix: &str, others: Vec<Overlap>) -> Result<(), Refusal> {
    if others.is_empty() {
        return Ok(());
    }
    Err(Refusal::Overlap {
        prefix: prefix.to_string(),
        others,
    })
}

/// What a second look found after an `ACL SETUSER` whose connection broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// No such user: the write never ran.
    Absent,
    /// The user has exactly our password: the write ran; adopt it.
    Ours,
    /// A user with another password: someone else's; not adopted.
    Foreign,
    /// The look failed too: the user may exist (recorded tainted, replaced next apply).
    Unknown,
}

/// Reads the second look: `looked` is `None` when it failed, else the user if any;
/// `hash` is the SHA-256 of the password just written.
pub fn landed(looked: Option<Option<&AclUser>>, hash: &str) -> Landed {
    match looked {
        None => Landed::Unknown,
        Some(None) => Landed::Absent,
        Some(Some(u)) if u.password_hashes == [hash] => Landed::Ours,
        Some(Some(_)) => Landed::Foreign,
    }
}

/// The prefix a read records for state of a release that kept no record: only when the
/// user's rules read exactly as the last apply left them (`acl` in state) and its key
/// rule is that of the state's prefix.
pub fn prefix_to_record(
    recorded: Option<&str>,
    state_acl: Option<&str>,
    state_prefix: Option<&str>,
    user: &AclUser,
) -> Option<String> {
    let untouched = recorded.is_none() && state_acl == Some(user.rule_string().as_str());
    state_prefix
        .filter(|p| untouched && user.keys == [key_rule(p)])
        .map(str::to_string)
}

/// Whether destroy deletes keys, and by which prefix: the one recorded at apply, never
/// one read back from an ACL that may have been edited.
pub fn key_prefix_to_delete(
    name: &str,
    delete_keys: bool,
    recorded: Option<String>,
) -> Result<Option<String>, Refusal> {
    match (delete_keys, recorded) {
        (false, _) => Ok(None),
        (true, Some(prefix)) => Ok(Some(prefix)),
        (true, None) => Err(Refusal::NoRecordedPrefix(name.to_string())),
    }
}

/// Keys are deleted only while the user's key rules are those applied (or the user is
/// gone already).
pub fn keys_still_ours(name: &str, prefix: &str, user: Option<&AclUser>) -> Result<(), Refusal> {
    match user {
        Some(u) if u.keys != [key_rule(prefix)] => Err(Refusal::KeysDrifted {
            name: name.to_string(),
            keys: u.keys.clone(),
            prefix: prefix.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Where a key deletion stands: SCAN cursor, keys unlinked, batches run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeySweep {
    /// The cursor of the next SCAN step (0 at the start).
    pub cursor: u64,
    /// Keys unlinked so far.
    pub deleted: u64,
    /// SCAN steps run.
    pub batches: u64,
}

impl KeySweep {
    /// Records one step (the cursor SCAN returned, the keys unlinked); `true` when the
    /// sweep is done (SCAN returned cursor 0).
    pub fn advance(&mut self, next: u64, unlinked: u64) -> bool {
        self.cursor = next;
        self.deleted += unlinked;
        self.batches += 1;
        next == 0
    }

    /// The detail when the sweep stopped because Terraform asked the provider to stop.
    pub fn stopped(&self, prefix: &str) -> String {
        format!("Stopped when Terraform asked the provider to stop, after {} batches ({} keys deleted). The user is deleted; keys under {prefix:?} remain: destroy again to delete them.", self.batches, self.deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::redis::password_hash;
    use tfplugin::AttributePath;

    fn attr(e: &Error) -> Option<AttributePath> {
        e.diagnostics()[0].attribute.clone()
    }

    fn overlap(user: &str) -> Overlap {
        Overlap {
            user: user.into(),
            patterns: vec!["app:*".into()],
        }
    }

    fn user(keys: &[&str], password: &str) -> AclUser {
        AclUser {
            flags: vec!["on".into()],
            password_hashes: vec![password_hash(password)],
            keys: keys.iter().map(|k| k.to_string()).collect(),
            ..AclUser::default()
        }
    }

    #[test]
    fn admin_name_is_refused_on_name() {
        assert_eq!(not_the_admin("app", "admin"), Ok(()), "tenant_name_passes");
        let e = not_the_admin("admin", "admin").unwrap_err().error();
        assert_eq!(
            attr(&e),
            Some(AttributePath::attr("name")),
            "admin_name_refused"
        );
        assert!(e.diagnostics()[0].detail.contains("redis.username"));
    }

    #[test]
    fn create_gates() {
        let facts = |exists, overlaps: Vec<Overlap>| CreateFacts { exists, overlaps };
        for (situation, f, want) in [
            (
                "fresh_name_and_prefix_is_written",
                facts(false, vec![]),
                Ok(()),
            ),
            (
                "existing_user_is_refused",
                facts(true, vec![]),
                Err(Refusal::Exists("app".into())),
            ),
            (
                "existing_user_wins_over_overlap",
                facts(true, vec![overlap("other")]),
                Err(Refusal::Exists("app".into())),
            ),
            (
                "overlapping_prefix_is_refused",
                facts(false, vec![overlap("other")]),
                Err(Refusal::Overlap {
                    prefix: "app:".into(),
                    others: vec![overlap("other")],
                }),
            ),
        ] {
            assert_eq!(create_gate("app", "app:", f), want, "{situation}");
        }
        let exists = Refusal::Exists("app".into()).error();
        assert_eq!(attr(&exists), Some(AttributePath::attr("name")));
        assert!(exists.diagnostics()[0]
            .detail
            .contains("never adopts it silently"));
        let o = no_overlap("app:", vec![overlap("bob"), overlap("eve")])
            .unwrap_err()
            .error();
        assert_eq!(attr(&o), Some(AttributePath::attr("key_prefix")));
        assert!(o.diagnostics()[0].summary.contains("overlaps"));
        assert!(
            o.diagnostics()[0]
                .detail
                .contains("bob (~app:*), eve (~app:*)"),
            "{o:?}"
        );
    }

    #[test]
    fn after_a_cut_write() {
        let hash = password_hash("pw");
        let ours = user(&["~app:*"], "pw");
        let theirs = user(&["~app:*"], "other");
        for (situation, looked, want) in [
            ("look_failed_is_unknown", None, Landed::Unknown),
            ("no_user_never_ran", Some(None), Landed::Absent),
            ("own_password_is_adopted", Some(Some(&ours)), Landed::Ours),
            (
                "other_password_is_foreign",
                Some(Some(&theirs)),
                Landed::Foreign,
            ),
        ] {
            assert_eq!(landed(looked, &hash), want, "{situation}");
        }
        let two = AclUser {
            password_hashes: vec![hash.clone(), password_hash("x")],
            ..ours.clone()
        };
        assert_eq!(
            landed(Some(Some(&two)), &hash),
            Landed::Foreign,
            "a_second_password_is_not_ours"
        );
        assert!(
            Refusal::WrittenByOthers("app".into()).error().diagnostics()[0]
                .summary
                .contains("created concurrently by someone else")
        );
    }

    #[test]
    fn which_prefix_a_read_records() {
        let u = user(&["~app:*"], "pw");
        let acl = u.rule_string();
        for (situation, recorded, state_acl, prefix, want) in [
            (
                "old_state_with_intact_rules_records",
                None,
                Some(acl.as_str()),
                Some("app:"),
                Some("app:"),
            ),
            (
                "already_recorded_records_nothing",
                Some("app:"),
                Some(acl.as_str()),
                Some("app:"),
                None,
            ),
            (
                "drifted_rules_record_nothing",
                None,
                Some("on ~* +@all"),
                Some("app:"),
                None,
            ),
            (
                "other_prefix_in_state_records_nothing",
                None,
                Some(acl.as_str()),
                Some("apx:"),
                None,
            ),
            (
                "no_prefix_in_state_records_nothing",
                None,
                Some(acl.as_str()),
                None,
                None,
            ),
            (
                "no_acl_in_state_records_nothing",
                None,
                None,
                Some("app:"),
                None,
            ),
        ] {
            assert_eq!(
                prefix_to_record(recorded, state_acl, prefix, &u).as_deref(),
                want,
                "{situation}"
            );
        }
    }

    #[test]
    fn which_keys_a_destroy_deletes() {
        for (situation, delete, recorded, want) in [
            ("keys_kept_by_default", false, Some("app:"), Ok(None)),
            ("keys_kept_without_record_too", false, None, Ok(None)),
            (
                "recorded_prefix_is_deleted",
                true,
                Some("app:"),
                Ok(Some("app:".to_string())),
            ),
            (
                "no_record_refuses",
                true,
                None,
                Err(Refusal::NoRecordedPrefix("app".into())),
            ),
        ] {
            let got = key_prefix_to_delete("app", delete, recorded.map(str::to_string));
            assert_eq!(got, want, "{situation}");
        }
        let intact = user(&["~app:*"], "pw");
        let widened = user(&["~*"], "pw");
        let two = user(&["~app:*", "~other:*"], "pw");
        for (situation, u, ok) in [
            ("intact_rules_delete", Some(&intact), true),
            ("user_already_gone_deletes", None, true),
            ("widened_rules_refuse", Some(&widened), false),
            ("extra_pattern_refuses", Some(&two), false),
        ] {
            assert_eq!(keys_still_ours("app", "app:", u).is_ok(), ok, "{situation}");
        }
        let e = keys_still_ours("app", "app:", Some(&widened))
            .unwrap_err()
            .error();
        assert!(e.diagnostics()[0].summary.contains("drifted"));
        assert!(
            e.diagnostics()[0].detail.contains("\"~*\"")
                && e.diagnostics()[0].detail.contains("`~app:*`")
        );
        let none = Refusal::NoRecordedPrefix("app".into()).error();
        assert!(none.diagnostics()[0].detail.contains("Nothing was deleted"));
    }

    #[test]
    fn key_sweeps_run_batches_until_scan_returns_zero() {
        let mut s = KeySweep::default();
        assert!(!s.advance(17, 500), "first_batch_continues");
        assert!(!s.advance(3, 0), "empty_batch_continues");
        assert!(s.advance(0, 12), "cursor_zero_ends");
        assert_eq!(
            s,
            KeySweep {
                cursor: 0,
                deleted: 512,
                batches: 3
            }
        );
        let mut one = KeySweep::default();
        assert!(one.advance(0, 0), "nothing_to_delete_is_one_batch");
        let stopped = s.stopped("app:");
        assert!(
            stopped.contains("512 keys deleted") && stopped.contains("\"app:\""),
            "{stopped}"
        );
    }
}
