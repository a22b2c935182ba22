//! What marks a PostgreSQL tenant's roles and database as this provider's: the private
//! state (`created_roles`, `managed_owner`), the catalog markers, Vault's login-name shape,
//! and the foreign dependencies that stop a destroy. Pure, so unit-tested here.

use crate::backends::postgres::{DatabaseFacts, ForeignDependency, RoleFacts};
use crate::sql;

/// What this resource remembers privately (JSON). v0.1.0 wrote only `managed_owner`;
/// `created_roles` is `None` in its state, and [`settle_created`] decides then.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Private {
    /// The owner role this resource manages, so an owner rename in configuration renames
    /// that role instead of touching another one (kept for a rollback to v0.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_owner: Option<String>,
    /// Roles this resource created (only these are ever renamed or dropped); roles it
    /// found (an import) are adopted and left in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_roles: Option<Vec<String>>,
    /// Set by import until the first read settles `created_roles` from the markers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
}

impl Private {
    /// Reads private state of any version; anything unreadable counts as empty.
    pub fn parse(bytes: &[u8]) -> Private {
        crate::resources::common::read_private(bytes)
    }

    /// The JSON Terraform stores.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::resources::common::write_private(self)
    }

    /// Whether `role` is recorded as created here.
    pub fn created(&self, role: &str) -> bool {
        self.created_roles
            .as_ref()
            .is_some_and(|c| c.iter().any(|r| r == role))
    }
}

/// Which of the `found` roles of database `db` count as created by this resource when
/// its private state does not list them (`created_roles` absent).
///
/// - After an import, none: the roles belong to whoever created the database (another
///   configuration, perhaps another tenant's), even when they carry this provider's
///   marker, so destroy leaves them in place (with a warning), as the resource page says.
/// - Otherwise the state predates `created_roles` (v0.1.0 recorded only
///   `managed_owner`): a role carrying this provider's marker for `db` counts, and so
///   does a NOLOGIN non-superuser role (v0.1.0's own always were); a role that can log
///   in (an adopted `legacy_app`) does not. (A destroy without any private state is
///   decided by [`created_at_destroy`].)
///
/// Destroy's foreign-ownership check still guards whatever this lets through.
pub fn settle_created(private: &Private, db: &str, found: &[RoleFacts]) -> Vec<String> {
    if private.imported {
        return Vec::new();
    }
    found
        .iter()
        .filter(|r| marked_for(r, db) || (!r.can_login && !r.superuser))
        .map(|r| r.name.clone())
        .collect()
}

/// Which of the `found` roles of database `db` a destroy drops. Private state lists
/// them (`created_roles`), or [`settle_created`] decides for older or imported state.
/// Without any private state (Terraform sends none when it replaces a tainted
/// instance, an imported one included) only a create that was cut off (`cut_off`: the
/// database absent or unfinished, its roles marked) drops its marked roles; a complete
/// database's roles stay, and the replacement's create reuses them (they are marked).
pub fn created_at_destroy(
    private: &Private,
    db: &str,
    found: &[RoleFacts],
    cut_off: bool,
) -> Vec<String> {
    match &private.created_roles {
        Some(c) => found
            .iter()
            .filter(|r| c.contains(&r.name))
            .map(|r| r.name.clone())
            .collect(),
        None if *private == Private::default() => found
            .iter()
            .filter(|r| cut_off && marked_for(r, db))
            .map(|r| r.name.clone())
            .collect(),
        None => settle_created(private, db, found),
    }
}

/// What destroy does about what the roles it drops hold outside their own database.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Elsewhere {
    /// Objects a role this resource created owns elsewhere: these stop the destroy
    /// (dropping them would destroy someone's data; they are moved or dropped by hand).
    pub owned: Vec<ForeignDependency>,
    /// Privileges, default privileges and policy entries others granted to the roles:
    /// theirs to lose, so destroy revokes them (and names them in its warning).
    pub granted: Vec<ForeignDependency>,
    /// `(database, roles)`: where `DROP OWNED BY roles` revokes `granted`. `""` is the
    /// admin's own database, for roles holding privileges on shared objects only (a
    /// database's CONNECT), which `DROP OWNED` in any database revokes.
    pub revoke_in: Vec<(String, Vec<String>)>,
}

/// Sorts the foreign dependencies of the roles a destroy drops (`created`, plus logins
/// such as Vault's): ownership by a `created` role stops the destroy; everything else is
/// revoked with `DROP OWNED BY` in the database that holds it. A role that owns anything
/// outside the database is never given to `DROP OWNED` (it would drop what it owns):
/// a created one stops the destroy, a login is left to fail its `DROP ROLE` and be kept.
pub fn sort_elsewhere(deps: &[ForeignDependency], created: &[String]) -> Elsewhere {
    use std::collections::{BTreeMap, BTreeSet};
    let owners: BTreeSet<&str> = deps
        .iter()
        .filter(|d| d.owned)
        .map(|d| d.role.as_str())
        .collect();
    let mut out = Elsewhere::default();
    let mut per_db: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut shared: BTreeSet<&str> = BTreeSet::new();
    for d in deps {
        if d.owned {
            if created.contains(&d.role) {
                out.owned.push(d.clone());
            }
            continue;
        }
        if owners.contains(d.role.as_str()) {
            continue;
        }
        out.granted.push(d.clone());
        if d.database.is_empty() {
            shared.insert(&d.role);
        } else {
            per_db.entry(&d.database).or_default().insert(&d.role);
        }
    }
    // One DROP OWNED anywhere covers shared objects: the admin's own database only for
    // roles that have no other database to be revoked in.
    for role in shared {
        if !per_db
            .iter()
            .any(|(db, roles)| !db.is_empty() && roles.contains(role))
        {
            per_db.entry("").or_default().insert(role);
        }
    }
    out.revoke_in = per_db
        .into_iter()
        .map(|(db, roles)| {
            (
                db.to_string(),
                roles.into_iter().map(str::to_string).collect(),
            )
        })
        .collect();
    out
}

/// Whether role `r` carries this provider's marker for database `db`.
pub fn marked_for(r: &RoleFacts, db: &str) -> bool {
    r.comment.as_deref() == Some(sql::role_marker(db).as_str())
}

/// Whether a create of this provider left database `f` unfinished: still marked as being
/// created, or still closed and unmarked (cut off between CREATE DATABASE and its comment).
pub fn unfinished(f: &DatabaseFacts) -> bool {
    f.comment.as_deref() == Some(sql::DATABASE_CREATING)
        || (f.comment.is_none() && !f.allow_connections)
}

/// Whether `login` has the shape of Vault's default PostgreSQL username template,
/// `v-<display name>-<role name>-<20 random alphanumerics>-<unix time>`.
pub fn vault_made_login(login: &str) -> bool {
    let Some(rest) = login.strip_prefix("v-") else {
        return false;
    };
    let mut parts = rest.rsplitn(3, '-');
    let (Some(time), Some(random), Some(middle)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    time.len() >= 10
        && time.chars().all(|c| c.is_ascii_digit())
        && random.len() == 20
        && random.chars().all(|c| c.is_ascii_alphanumeric())
        && !middle.is_empty()
}

/// The foreign dependencies of `roles`, as lines for an error message.
pub fn describe_dependencies(deps: &[ForeignDependency]) -> String {
    deps.iter()
        .map(|d| {
            if d.database.is_empty() {
                format!("  - {} {} {}", d.role, d.kind, d.object)
            } else {
                format!(
                    "  - {} {} {} in database {}",
                    d.role, d.kind, d.object, d.database
                )
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_state_of_every_release_is_read() {
        let v010 = Private::parse(br#"{"managed_owner":"app_owner"}"#);
        assert_eq!(v010.managed_owner.as_deref(), Some("app_owner"));
        assert_eq!(v010.created_roles, None);
        assert_eq!(Private::parse(b""), Private::default());
        let now = Private {
            managed_owner: Some("app_owner".into()),
            created_roles: Some(vec!["app_owner".into()]),
            ..Private::default()
        };
        assert_eq!(Private::parse(&now.to_bytes()), now);
    }

    fn role(name: &str, can_login: bool, comment: Option<String>) -> RoleFacts {
        RoleFacts {
            name: name.into(),
            can_login,
            superuser: false,
            comment,
            owns_objects: false,
        }
    }

    #[test]
    fn marked_roles_count_as_created_and_imports_adopt_the_rest() {
        let found = [
            role("app_owner", false, Some(sql::role_marker("app"))),
            role("app_readonly", false, None),
            role("legacy_app", true, None),
            role("other_owner", false, Some(sql::role_marker("other"))),
        ];
        let v010 = Private::parse(br#"{"managed_owner":"app_owner"}"#);
        assert_eq!(
            settle_created(&v010, "app", &found),
            ["app_owner", "app_readonly", "other_owner"],
            "v0.1.0 state: NOLOGIN roles were its own; a login role is adopted"
        );
        let imported = Private {
            imported: true,
            ..Private::default()
        };
        assert!(
            settle_created(&imported, "app", &found).is_empty(),
            "an import creates nothing, even of roles marked by another configuration"
        );
        assert!(imported.created_roles.is_none() && !imported.created("app_owner"));
    }

    #[test]
    fn which_roles_a_destroy_may_drop_follows_the_private_state() {
        // (private state, roles found) -> roles counted as created; table-driven.
        let marked = role("app_owner", false, Some(sql::role_marker("app")));
        let unmarked = role("app_readonly", false, None);
        let login = role("legacy_app", true, None);
        let found = [marked.clone(), unmarked.clone(), login.clone()];
        let cases: [(&str, &[u8], &[&str]); 5] = [
            (
                "import of another configuration's database",
                br#"{"imported":true}"#,
                &[],
            ),
            (
                "v0.1.0 state (managed_owner only)",
                br#"{"managed_owner":"app_owner"}"#,
                &["app_owner", "app_readonly"],
            ),
            (
                "no private state (replacing a tainted instance)",
                b"",
                &["app_owner", "app_readonly"],
            ),
            (
                "import, then an older release rewrote it",
                br#"{"imported":true,"managed_owner":"app_owner"}"#,
                &[],
            ),
            (
                "unreadable private state",
                b"not json",
                &["app_owner", "app_readonly"],
            ),
        ];
        for (what, bytes, want) in cases {
            let got = settle_created(&Private::parse(bytes), "app", &found);
            assert_eq!(got, want, "{what}");
        }
        // Recorded roles are never re-settled: `created` answers from the list.
        let recorded = Private::parse(br#"{"created_roles":[]}"#);
        assert!(!recorded.created("app_owner"));
    }

    #[test]
    fn which_roles_a_destroy_drops() {
        let found = [
            role("app_owner", false, Some(sql::role_marker("app"))),
            role("app_readwrite", false, Some(sql::role_marker("app"))),
            role("app_readonly", false, None),
            role("legacy_app", true, None),
        ];
        // (what, private state, create cut off, roles dropped)
        let cases: [(&str, &[u8], bool, &[&str]); 8] = [
            (
                "recorded by this resource",
                br#"{"created_roles":["app_owner","legacy_app"]}"#,
                false,
                &["app_owner", "legacy_app"],
            ),
            ("recorded: nothing", br#"{"created_roles":[]}"#, false, &[]),
            (
                "imported, not yet read",
                br#"{"imported":true}"#,
                false,
                &[],
            ),
            (
                "imported, cut-off markers",
                br#"{"imported":true}"#,
                true,
                &[],
            ),
            (
                "v0.1.0 state",
                br#"{"managed_owner":"app_owner"}"#,
                false,
                &["app_owner", "app_readwrite", "app_readonly"],
            ),
            (
                "no private state: a tainted complete database (maybe imported)",
                b"",
                false,
                &[],
            ),
            (
                "no private state: a create that was cut off",
                b"",
                true,
                &["app_owner", "app_readwrite"],
            ),
            ("unreadable private state counts as none", b"{", false, &[]),
        ];
        for (what, bytes, cut_off, want) in cases {
            let got = created_at_destroy(&Private::parse(bytes), "app", &found, cut_off);
            assert_eq!(got, want, "{what}");
        }
    }

    fn dep(role: &str, database: &str, owned: bool) -> ForeignDependency {
        ForeignDependency {
            role: role.into(),
            database: database.into(),
            kind: if owned { "owns" } else { "has privileges on" }.into(),
            object: "pg_class 1".into(),
            owned,
        }
    }

    #[test]
    fn grants_elsewhere_are_revoked_and_ownership_stops_the_destroy() {
        let created: Vec<String> = ["b_owner", "b_readwrite", "b_readonly"]
            .map(String::from)
            .to_vec();
        // Grants in two databases, a database's CONNECT (shared), default privileges.
        let deps = [
            dep("b_owner", "a", false),
            dep("b_readonly", "a", false),
            dep("b_readonly", "", false),
            dep("b_readwrite", "", false),
            dep("b_readwrite", "c", false),
            dep("b_owner", "", false),
        ];
        let e = sort_elsewhere(&deps, &created);
        assert!(e.owned.is_empty());
        assert_eq!(e.granted.len(), 6);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            e.revoke_in,
            vec![
                ("a".to_string(), s(&["b_owner", "b_readonly"])),
                ("c".to_string(), s(&["b_readwrite"])),
            ],
            "shared grants ride along with a database where the role is revoked anyway"
        );
        // Only shared grants: the admin's own database.
        let e = sort_elsewhere(&[dep("b_readonly", "", false)], &created);
        assert_eq!(e.revoke_in, vec![(String::new(), s(&["b_readonly"]))]);

        // Ownership by a created role stops everything it is listed in.
        let e = sort_elsewhere(
            &[dep("b_owner", "a", true), dep("b_readonly", "a", false)],
            &created,
        );
        assert_eq!(e.owned, vec![dep("b_owner", "a", true)]);
        assert_eq!(e.revoke_in, vec![("a".to_string(), s(&["b_readonly"]))]);

        // A login (not created here) that owns something is never given to DROP OWNED.
        let login = "v-token-b-ro-x";
        let e = sort_elsewhere(&[dep(login, "a", true), dep(login, "c", false)], &created);
        assert!(e.owned.is_empty() && e.revoke_in.is_empty() && e.granted.is_empty());

        assert_eq!(sort_elsewhere(&[], &created), Elsewhere::default());
    }

    #[test]
    fn an_unfinished_create_is_recognised() {
        let facts = |comment: Option<&str>, allow_connections| DatabaseFacts {
            owner: "app_owner".into(),
            allow_connections,
            comment: comment.map(str::to_string),
            is_template: false,
        };
        assert!(unfinished(&facts(Some(sql::DATABASE_CREATING), true)));
        assert!(unfinished(&facts(None, false)));
        assert!(!unfinished(&facts(None, true)));
        assert!(!unfinished(&facts(Some(sql::DATABASE_MANAGED), false)));
    }

    #[test]
    fn vault_login_names_are_recognised_by_shape() {
        let random = "a1B2c3D4e5F6g7H8i9J0";
        assert!(vault_made_login(&format!(
            "v-token-app-ro-{random}-1732800000"
        )));
        assert!(!vault_made_login(&format!("app-ro-{random}-1732800000")));
        assert!(!vault_made_login(&format!("v-token-app-ro-{random}-17328")));
        assert!(!vault_made_login("v-token-app-ro-short-1732800000"));
        assert!(!vault_made_login(&format!("v-{random}-1732800000")));
        assert!(!vault_made_login("legacy_app"));
    }

    #[test]
    fn dependencies_name_role_kind_object_and_database() {
        let d = |database: &str| ForeignDependency {
            role: "app_owner".into(),
            database: database.into(),
            kind: "owns".into(),
            object: "table t".into(),
            owned: true,
        };
        assert_eq!(
            describe_dependencies(&[d(""), d("billing")]),
            "  - app_owner owns table t\n  - app_owner owns table t in database billing"
        );
    }
}
