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

/// Which of the `found` roles of database `db` count as created by this provider when
/// private state does not say. A role carrying this provider's marker for `db` always
/// does (an import of a database this provider made, after `state rm`). Otherwise, after
/// an import nothing does; and private state from v0.1.0, which recorded no roles, counts
/// roles that are NOLOGIN and not superusers (its own always were): a role that can log
/// in (an imported `legacy_app`) is adopted. Destroy's foreign-dependency check still
/// guards whatever this lets through.
pub fn settle_created(private: &Private, db: &str, found: &[RoleFacts]) -> Vec<String> {
    found
        .iter()
        .filter(|r| marked_for(r, db) || (!private.imported && !r.can_login && !r.superuser))
        .map(|r| r.name.clone())
        .collect()
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
        assert_eq!(settle_created(&imported, "app", &found), ["app_owner"]);
        assert!(imported.created_roles.is_none() && !imported.created("app_owner"));
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
        };
        assert_eq!(
            describe_dependencies(&[d(""), d("billing")]),
            "  - app_owner owns table t\n  - app_owner owns table t in database billing"
        );
    }
}
