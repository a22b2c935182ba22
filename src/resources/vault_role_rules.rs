//! The pure rules of a Vault rotation role: its Vault paths and policy, the statements
//! generated per engine and access level, and how a role's statements read back as
//! `(database, access)` (import, drift).

use crate::enums::Engine;
use crate::sql::{self, Access, VaultStatements};

/// `<mount>/roles/<name>` or `<mount>/static-roles/<name>`.
pub fn role_path(mount: &str, name: &str, stat: bool) -> String {
    format!(
        "{mount}/{}/{name}",
        if stat { "static-roles" } else { "roles" }
    )
}

/// `<mount>/creds/<name>` or `<mount>/static-creds/<name>`.
pub fn creds_path(mount: &str, name: &str, stat: bool) -> String {
    format!(
        "{mount}/{}/{name}",
        if stat { "static-creds" } else { "creds" }
    )
}

/// Vault policy HCL granting read on the credentials path.
pub fn policy_for(creds_path: &str) -> String {
    format!("path \"{creds_path}\" {{\n  capabilities = [\"read\"]\n}}\n")
}

/// Statements for an engine, database and access level; refused when a name holds NUL.
/// `owner` is the PostgreSQL database's owner role (default `<database>_owner`).
pub fn generated_statements(
    engine: Engine,
    database: &str,
    owner: Option<&str>,
    access: Access,
) -> Result<VaultStatements, sql::BadIdentifier> {
    generated_statements_for(engine, database, owner, access, false)
}

/// [`generated_statements`] for a connection whose admin is a dedicated Vault admin
/// login (`via_admin`, PostgreSQL and MySQL): the statements call its functions or
/// procedures.
pub fn generated_statements_for(
    engine: Engine,
    database: &str,
    owner: Option<&str>,
    access: Access,
    via_admin: bool,
) -> Result<VaultStatements, sql::BadIdentifier> {
    match engine {
        Engine::Postgres if via_admin => {
            let owner = owner.map_or_else(|| format!("{database}_owner"), str::to_string);
            sql::vault_postgres_statements_via_admin(
                &sql::postgres_group(database, &owner, access),
                &owner,
                access,
            )
        }
        Engine::Mysql if via_admin => sql::vault_mysql_statements_via_admin(database, access),
        Engine::Mysql => sql::vault_mysql_statements(database, access),
        Engine::Redis => Ok(sql::vault_redis_statements(&format!("{database}:"), access)),
        Engine::Postgres => {
            let owner = owner.map_or_else(|| format!("{database}_owner"), str::to_string);
            sql::vault_postgres_statements(
                &sql::postgres_group(database, &owner, access),
                &owner,
                access,
            )
        }
    }
}

/// A TTL Vault returned as seconds, either a number or a string like `"3600s"`.
pub fn ttl_secs(v: &serde_json::Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_str()
            .and_then(|s| s.trim_end_matches('s').parse().ok())
    })
}

/// Recovers the tenant database from generated PostgreSQL statements (`IN ROLE "<db>_<access>"`),
/// so an imported role plans no change when its configuration matches.
pub fn database_from_statements(v: &serde_json::Value) -> String {
    recover_from_statements(v).0
}

/// Recovers `(database, access)` from statements this provider generated, for any
/// engine: PostgreSQL `IN ROLE "<db>_<access>"`, MySQL `GRANT <privileges> ON `db`.*`,
/// Redis `["~<db>:*", ...]`. Unknown shapes give an empty database and `owner`.
pub fn recover_from_statements(v: &serde_json::Value) -> (String, Access) {
    let statements: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    for text in &statements {
        // Issue 22: a dedicated MySQL Vault admin's call names database and access.
        if let Some(found) = sql::mysql_call_database(text) {
            return found;
        }
        if let Some(role) = sql::postgres_group_of_statement(text) {
            let role = role.as_str();
            for (suffix, access) in [
                ("_owner", Access::Owner),
                ("_readwrite", Access::ReadWrite),
                ("_readonly", Access::ReadOnly),
            ] {
                if let Some(db) = role.strip_suffix(suffix) {
                    return (db.to_string(), access);
                }
            }
            return (role.to_string(), Access::Owner);
        }
        // The privileges run from `GRANT ` to the first ` ON `` after it (a statement
        // written by hand may name ` ON `` earlier, in a REVOKE).
        let grant = text.find("GRANT ").map(|g| &text[g + 6..]);
        if let Some((privileges, on)) = grant.and_then(|t| t.split_once(" ON `")) {
            let db = on
                .split("`.")
                .next()
                .unwrap_or_default()
                .replace("``", "`")
                .replace("\\_", "_")
                .replace("\\%", "%");
            let access = match privileges {
                "ALL PRIVILEGES" => Access::Owner,
                "SELECT" => Access::ReadOnly,
                _ => Access::ReadWrite,
            };
            return (db, access);
        }
        if let Ok(rules) = serde_json::from_str::<Vec<String>>(text) {
            let prefix = rules
                .iter()
                .find_map(|r| r.strip_prefix('~').and_then(|p| p.strip_suffix('*')))
                .unwrap_or_default();
            let access =
                if rules.iter().any(|r| r == "+@read") && !rules.iter().any(|r| r == "+@all") {
                    Access::ReadOnly
                } else {
                    Access::Owner
                };
            return (
                prefix.strip_suffix(':').unwrap_or(prefix).to_string(),
                access,
            );
        }
    }
    (String::new(), Access::Owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_policy() {
        assert_eq!(
            creds_path("database", "app-role", false),
            "database/creds/app-role"
        );
        assert_eq!(
            creds_path("database", "app-role", true),
            "database/static-creds/app-role"
        );
        assert_eq!(
            policy_for("database/creds/app-role"),
            "path \"database/creds/app-role\" {\n  capabilities = [\"read\"]\n}\n"
        );
    }

    #[test]
    fn database_is_recovered_from_generated_statements() {
        let s = generated_statements(Engine::Postgres, "shop", None, Access::ReadOnly).unwrap();
        assert_eq!(
            database_from_statements(&serde_json::json!(s.creation)),
            "shop"
        );
        let s = generated_statements(Engine::Postgres, "shop", None, Access::Owner).unwrap();
        assert_eq!(
            database_from_statements(&serde_json::json!(s.creation)),
            "shop"
        );
    }

    #[test]
    fn hand_written_grants_are_read_without_panicking() {
        let read = |t: &str| recover_from_statements(&serde_json::json!([t]));
        assert_eq!(
            read("REVOKE ALL ON `shop`.* FROM '{{name}}'; GRANT SELECT ON `shop`.* TO '{{name}}';"),
            ("shop".to_string(), Access::ReadOnly)
        );
        // ` ON `` ends inside `GRANT `: no privileges, nothing recovered.
        assert_eq!(read("GRANT ON `db`.*"), (String::new(), Access::Owner));
        assert_eq!(read("GRANT ALL"), (String::new(), Access::Owner));
    }

    #[test]
    fn database_and_access_come_back_from_statements_via_the_vault_admin() {
        for engine in [Engine::Postgres, Engine::Mysql] {
            for access in [Access::Owner, Access::ReadWrite, Access::ReadOnly] {
                let s = generated_statements_for(engine, "shop_1", None, access, true).unwrap();
                assert!(sql::calls_vault_admin_functions(&s.creation), "{s:?}");
                let got = recover_from_statements(&serde_json::json!(s.creation));
                assert_eq!(got, ("shop_1".to_string(), access), "{engine}");
            }
        }
        // Redis has no such form.
        let rd = generated_statements_for(Engine::Redis, "shop", None, Access::Owner, true);
        assert_eq!(
            rd.ok(),
            generated_statements(Engine::Redis, "shop", None, Access::Owner).ok()
        );
    }

    #[test]
    fn database_and_access_come_back_for_every_engine() {
        for &engine in Engine::ALL {
            for access in [Access::Owner, Access::ReadWrite, Access::ReadOnly] {
                let s = generated_statements(engine, "shop_1", None, access).unwrap();
                let (db, got) = recover_from_statements(&serde_json::json!(s.creation));
                assert_eq!(db, "shop_1", "{engine} {access:?}");
                // Redis owner and readwrite generate the same rules.
                let expected = if engine == Engine::Redis && access == Access::ReadWrite {
                    Access::Owner
                } else {
                    access
                };
                assert_eq!(got, expected, "{engine}");
            }
        }
    }
}
