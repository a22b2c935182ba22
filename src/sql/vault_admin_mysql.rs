//! The dedicated Vault admin account of a MySQL/MariaDB Vault connection (issue 22): the
//! account, and the SQL SECURITY DEFINER procedures it calls instead of holding CREATE
//! USER or GRANT OPTION.
//!
//! On MySQL and MariaDB, CREATE USER lets an account drop, rename or re-password any
//! account (root included), and GRANT OPTION on a schema lets it hand that schema to
//! anyone. So the Vault admin holds only EXECUTE on the procedures of schema
//! `dbaas_vault` (defined by the provider's admin account), which create a
//! Vault-named login (`v-...`) with one access level on one tenant database, set the
//! password of a tenant login or of the calling Vault admin itself, or drop a Vault-named
//! tenant login, and refuse anything else. Every name is checked against a closed
//! character set before it is quoted (`QUOTE()`) into a prepared statement.

use super::{quote_mysql_literal, BadIdentifier, MysqlDialect, VaultStatements};
use crate::enums::Access;

/// The most characters a MySQL 8 account name holds (MariaDB takes 80).
pub const MYSQL_USER_MAX: usize = 32;

/// The dedicated admin account of connection `<mount>/<name>` on MySQL: as
/// `vault_admin_login`, cut to fit [`MYSQL_USER_MAX`] characters.
pub fn vault_admin_mysql_login(mount: &str, name: &str) -> String {
    let long = super::vault_admin_login(mount, name);
    if long.chars().count() <= MYSQL_USER_MAX {
        return long;
    }
    // `<prefix><name>_<8 hex>`: keep the prefix and the hash, shorten the name.
    let hash: String = long.chars().skip(long.chars().count() - 9).collect();
    let head: String = long.chars().take(MYSQL_USER_MAX - 9).collect();
    format!("{head}{hash}")
}

/// The sql_mode the procedures are defined under (a routine runs under the mode it was
/// defined with): no `ANSI_QUOTES`, no `NO_BACKSLASH_ESCAPES`, so `QUOTE()`'s output and
/// backtick identifiers read as written.
const PROCEDURE_SQL_MODE: &str =
    "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";

/// Serialises installs and account changes across provider processes (released when the
/// pooled connection is reset, or at the end of the batch).
const LOCK: &str = "DO GET_LOCK('terraform-provider-dbaas: dbaas_vault', 60)";
/// Releases [`LOCK`].
const UNLOCK: &str = "DO RELEASE_LOCK('terraform-provider-dbaas: dbaas_vault')";

/// The names a procedure builds statements from: letters, digits, `-`, `.`, `_`, at most
/// 32 characters, no line break (PCRE's `$` also matches before a final newline), ASCII
/// only (a caseless regular expression also takes Unicode variants: `ſ` for `s`).
const SAFE_NAME: &str = "CHAR_LENGTH(login) > 32 OR CHAR_LENGTH(login) <> LENGTH(login) OR login NOT REGEXP '^[-A-Za-z0-9._]+$' OR INSTR(login, CHAR(10)) > 0";

/// The schemas no tenant login may reach (lower case).
const NOT_TENANT: &str =
    "('mysql', 'sys', 'information_schema', 'performance_schema', 'dbaas_vault')";

/// Runs `@dbaas_vault_sql` (then cleared: it may hold a password) as a prepared statement.
const RUN: &str = "PREPARE dbaas_vault_stmt FROM @dbaas_vault_sql; SET @dbaas_vault_sql = NULL; \
EXECUTE dbaas_vault_stmt; DEALLOCATE PREPARE dbaas_vault_stmt;";

/// Raises SQLSTATE 45000 with a message.
const FAIL_PROC: &str = "CREATE PROCEDURE dbaas_vault.fail(msg VARCHAR(255)) SQL SECURITY DEFINER \
BEGIN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = msg; END";

/// Refuses (raises) unless account `login`@`%` holds nothing but privileges on tenant
/// databases: no global privilege, no grant option, no grant on a system schema or
/// `dbaas_vault`, no routine grant, proxy or role, and not a Vault admin; with
/// `need_grant`, at least one database privilege.
fn check_tenant_login_proc(dialect: MysqlDialect) -> String {
    let roles = match dialect {
        MysqlDialect::Mysql8 => "mysql.role_edges r WHERE r.TO_USER = login",
        MysqlDialect::MariaDb { .. } => "mysql.roles_mapping r WHERE r.User = login",
    };
    format!(
        "CREATE PROCEDURE dbaas_vault.check_tenant_login(login VARCHAR(80), need_grant BOOLEAN) SQL SECURITY DEFINER \
BEGIN \
  DECLARE g VARCHAR(200) DEFAULT CONCAT('''', login, '''@''%'''); \
  IF (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES p WHERE p.GRANTEE = g AND (p.PRIVILEGE_TYPE <> 'USAGE' OR p.IS_GRANTABLE = 'YES')) > 0 \
     OR (SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES p WHERE p.GRANTEE = g \
         AND (p.IS_GRANTABLE = 'YES' OR REPLACE(p.TABLE_SCHEMA, '\\\\_', '_') NOT REGEXP '^[A-Za-z0-9_]{{1,64}}$' \
              OR LOWER(REPLACE(p.TABLE_SCHEMA, '\\\\_', '_')) IN {NOT_TENANT})) > 0 \
     OR (SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES p WHERE p.GRANTEE = g \
         AND (p.IS_GRANTABLE = 'YES' OR LOWER(p.TABLE_SCHEMA) IN {NOT_TENANT})) > 0 \
     OR (SELECT COUNT(*) FROM mysql.procs_priv p WHERE p.User = login) > 0 \
     OR (SELECT COUNT(*) FROM mysql.proxies_priv p WHERE p.User = login) > 0 \
     OR (SELECT COUNT(*) FROM {roles}) > 0 \
     OR (SELECT COUNT(*) FROM dbaas_vault.admins a WHERE a.login = login) > 0 THEN \
    CALL dbaas_vault.fail(CONCAT('dbaas_vault: ', QUOTE(login), ' is not a tenant login (it holds privileges beyond tenant databases)')); \
  END IF; \
  IF need_grant AND (SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES p WHERE p.GRANTEE = g) = 0 THEN \
    CALL dbaas_vault.fail(CONCAT('dbaas_vault: ', QUOTE(login), ' holds no tenant database')); \
  END IF; \
END"
    )
}

/// Vault's creation statement: login `login`@`%` (named like Vault's: `v-...`) with
/// `password`, `MAX_USER_CONNECTIONS conn_limit` (0: none), and the privileges of
/// `access` on tenant database `db` (an existing schema of the provider's naming rule,
/// not a system one), granted with `_` escaped so it names that database alone.
fn create_login_proc() -> String {
    format!(
        "CREATE PROCEDURE dbaas_vault.create_login(login VARCHAR(80), password VARCHAR(1024), db VARCHAR(80), access VARCHAR(16), conn_limit INT) SQL SECURITY DEFINER \
BEGIN \
  DECLARE privileges VARCHAR(200); \
  IF login IS NULL OR LEFT(login, 2) <> BINARY 'v-' OR {SAFE_NAME} THEN \
    CALL dbaas_vault.fail(CONCAT('dbaas_vault.create_login: ', QUOTE(COALESCE(login, '')), ' is not a login name Vault generates (v-..., at most 32 letters, digits, -, . or _)')); \
  END IF; \
  IF db IS NULL OR db NOT REGEXP '^[A-Za-z0-9_]{{1,64}}$' OR CHAR_LENGTH(db) <> LENGTH(db) OR INSTR(db, CHAR(10)) > 0 OR LOWER(db) IN {NOT_TENANT} \
     OR (SELECT COUNT(*) FROM information_schema.SCHEMATA s WHERE s.SCHEMA_NAME = db) = 0 THEN \
    CALL dbaas_vault.fail(CONCAT('dbaas_vault.create_login: ', QUOTE(COALESCE(db, '')), ' is not a tenant database')); \
  END IF; \
  SET privileges = CASE access WHEN 'owner' THEN 'ALL PRIVILEGES' \
    WHEN 'readwrite' THEN 'SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES, LOCK TABLES' \
    WHEN 'readonly' THEN 'SELECT' ELSE NULL END; \
  IF privileges IS NULL THEN \
    CALL dbaas_vault.fail(CONCAT('dbaas_vault.create_login: ', QUOTE(COALESCE(access, '')), ' is not an access level (owner, readwrite, readonly)')); \
  END IF; \
  IF conn_limit IS NULL OR conn_limit < 0 OR conn_limit > 100000 THEN \
    CALL dbaas_vault.fail('dbaas_vault.create_login: the connection limit must be 0 (none) to 100000'); \
  END IF; \
  SET @dbaas_vault_sql = CONCAT('CREATE USER ', QUOTE(login), '@''%'' IDENTIFIED BY ', QUOTE(password), ' WITH MAX_USER_CONNECTIONS ', conn_limit); \
  {RUN} \
  SET @dbaas_vault_sql = CONCAT('GRANT ', privileges, ' ON `', REPLACE(db, '_', '\\\\_'), '`.* TO ', QUOTE(login), '@''%'''); \
  {RUN} \
END"
    )
}

/// Vault's revocation statement: drops Vault-named tenant login `login`@`%` (nothing
/// when it is gone already).
fn drop_login_proc() -> String {
    format!(
        "CREATE PROCEDURE dbaas_vault.drop_login(login VARCHAR(80)) SQL SECURITY DEFINER \
BEGIN \
  IF login IS NULL OR LEFT(login, 2) <> BINARY 'v-' OR {SAFE_NAME} THEN \
    CALL dbaas_vault.fail(CONCAT('dbaas_vault.drop_login: ', QUOTE(COALESCE(login, '')), ' is not a login name Vault generates')); \
  END IF; \
  IF (SELECT COUNT(*) FROM mysql.user u WHERE u.User = login AND u.Host = '%') > 0 THEN \
    CALL dbaas_vault.check_tenant_login(login, FALSE); \
    SET @dbaas_vault_sql = CONCAT('DROP USER ', QUOTE(login), '@''%'''); \
    {RUN} \
  END IF; \
END"
    )
}

/// A static role's rotation: the new password of tenant login `login`@`%`.
fn set_password_proc() -> String {
    format!(
        "CREATE PROCEDURE dbaas_vault.set_password(login VARCHAR(80), password VARCHAR(1024)) SQL SECURITY DEFINER \
BEGIN \
  IF login IS NULL OR {SAFE_NAME} OR (SELECT COUNT(*) FROM mysql.user u WHERE u.User = login AND u.Host = '%') = 0 THEN \
    CALL dbaas_vault.fail(CONCAT('dbaas_vault.set_password: ', QUOTE(COALESCE(login, '')), ' is not a tenant login (user@''%'')')); \
  END IF; \
  CALL dbaas_vault.check_tenant_login(login, TRUE); \
  SET @dbaas_vault_sql = CONCAT('ALTER USER ', QUOTE(login), '@''%'' IDENTIFIED BY ', QUOTE(password)); \
  {RUN} \
END"
    )
}

/// `rotate-root`: the calling Vault admin's own new password (MariaDB refuses
/// `ALTER USER CURRENT_USER()` without CREATE USER).
fn set_own_password_proc() -> String {
    format!(
        "CREATE PROCEDURE dbaas_vault.set_own_password(password VARCHAR(1024)) SQL SECURITY DEFINER \
BEGIN \
  DECLARE login VARCHAR(80) DEFAULT SUBSTRING_INDEX(USER(), '@', 1); \
  IF (SELECT COUNT(*) FROM dbaas_vault.admins a WHERE a.login = login) = 0 \
     OR (SELECT COUNT(*) FROM mysql.user u WHERE u.User = login AND u.Host = '%') = 0 THEN \
    CALL dbaas_vault.fail('dbaas_vault.set_own_password: the caller is not a Vault admin account of this provider'); \
  END IF; \
  SET @dbaas_vault_sql = CONCAT('ALTER USER ', QUOTE(login), '@''%'' IDENTIFIED BY ', QUOTE(password)); \
  {RUN} \
END"
    )
}

/// The procedures a Vault admin account may call.
const PROCEDURES: [&str; 4] = [
    "create_login",
    "drop_login",
    "set_password",
    "set_own_password",
];

/// The version of the procedures as [`vault_admin_mysql_procedures`] defines them for
/// `dialect` (a hash of their text), written as `create_login`'s comment: an install
/// finding it skips the redefinition, which (with `automatic_sp_privileges`) would
/// revoke every admin's EXECUTE until re-granted.
pub fn vault_admin_mysql_version(dialect: MysqlDialect) -> String {
    let text = procedure_bodies(dialect)
        .iter()
        .map(|(_, b)| b.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("terraform-provider-dbaas procedures {hash:016x}")
}

/// The query giving `create_login`'s comment (the installed version), if it exists.
pub const VAULT_ADMIN_MYSQL_VERSION_QUERY: &str = "SELECT ROUTINE_COMMENT FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'dbaas_vault' AND ROUTINE_NAME = 'create_login' AND ROUTINE_TYPE = 'PROCEDURE'";

/// The query listing the recorded Vault admin accounts that exist (to re-grant EXECUTE
/// after the procedures are redefined).
pub const VAULT_ADMIN_MYSQL_RECORDED_QUERY: &str = "SELECT a.login FROM dbaas_vault.admins a WHERE EXISTS (SELECT 1 FROM mysql.user u WHERE u.User = a.login AND u.Host = '%')";

/// The procedures' names and definitions.
fn procedure_bodies(dialect: MysqlDialect) -> [(&'static str, String); 6] {
    [
        ("fail", FAIL_PROC.to_string()),
        ("check_tenant_login", check_tenant_login_proc(dialect)),
        ("create_login", create_login_proc()),
        ("drop_login", drop_login_proc()),
        ("set_password", set_password_proc()),
        ("set_own_password", set_own_password_proc()),
    ]
}

/// EXECUTE on each procedure a Vault admin may call, for account `login`@`%`.
pub fn vault_admin_mysql_grants(login: &str) -> Result<Vec<String>, BadIdentifier> {
    let account = format!("{}@'%'", quote_mysql_literal(login)?);
    Ok(PROCEDURES
        .iter()
        .map(|p| format!("GRANT EXECUTE ON PROCEDURE dbaas_vault.{p} TO {account}"))
        .collect())
}

/// The schema (created when absent, with its table of admin accounts) and the procedures
/// (re)defined, for the server's dialect; `create_login` carries the version.
pub fn vault_admin_mysql_procedures(dialect: MysqlDialect) -> Vec<String> {
    let mut out = vec![
        LOCK.to_string(),
        PROCEDURE_SQL_MODE.to_string(),
        "CREATE DATABASE IF NOT EXISTS dbaas_vault".to_string(),
        "CREATE TABLE IF NOT EXISTS dbaas_vault.admins (login VARCHAR(80) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, marker VARCHAR(255) NOT NULL)".to_string(),
    ];
    let version = vault_admin_mysql_version(dialect);
    for (name, body) in procedure_bodies(dialect) {
        out.push(format!("DROP PROCEDURE IF EXISTS dbaas_vault.{name}"));
        out.push(if name == "create_login" {
            body.replacen(
                " SQL SECURITY DEFINER ",
                &format!(" COMMENT '{version}' SQL SECURITY DEFINER "),
                1,
            )
        } else {
            body
        });
    }
    out.push(UNLOCK.to_string());
    out
}

/// The query (parameter: account name) giving the marker of a Vault admin account
/// recorded in `dbaas_vault.admins`, if any.
pub const VAULT_ADMIN_MYSQL_MARKER_QUERY: &str =
    "SELECT marker FROM dbaas_vault.admins WHERE login = ?";

/// The query (parameter: schema name) counting schemas of that name.
pub const MYSQL_SCHEMA_EXISTS_QUERY: &str =
    "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";

/// The query (parameter: account name) counting accounts `<name>`@`%`.
pub const VAULT_ADMIN_MYSQL_EXISTS_QUERY: &str =
    "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = '%'";

/// The query counting the grants that reach schema `dbaas_vault` other than EXECUTE on
/// its procedures to a Vault admin account: a schema someone else could have planted.
pub const VAULT_ADMIN_MYSQL_FOREIGN_GRANTS_QUERY: &str = "SELECT (SELECT COUNT(*) FROM mysql.db WHERE 'dbaas_vault' LIKE Db) \
+ (SELECT COUNT(*) FROM mysql.tables_priv WHERE Db = 'dbaas_vault') \
+ (SELECT COUNT(*) FROM mysql.procs_priv WHERE Db = 'dbaas_vault' AND (User NOT LIKE 'dbaas\\_vault\\_%' \
   OR Routine_name NOT IN ('create_login', 'drop_login', 'set_password', 'set_own_password')))";

/// The account `login`@`%` of connection `<mount>/<name>` made (or, when `exists`, its
/// password reset), recorded with `marker`, and allowed to EXECUTE the procedures and
/// nothing else.
pub fn vault_admin_mysql_setup(
    login: &str,
    password: &str,
    marker: &str,
    exists: bool,
) -> Result<Vec<String>, BadIdentifier> {
    let account = format!("{}@'%'", quote_mysql_literal(login)?);
    let password = quote_mysql_literal(password)?;
    let mut out = vec![LOCK.to_string()];
    out.push(if exists {
        format!("ALTER USER {account} IDENTIFIED BY {password}")
    } else {
        format!("CREATE USER {account} IDENTIFIED BY {password}")
    });
    out.push(format!(
        "INSERT INTO dbaas_vault.admins (login, marker) VALUES ({}, {}) ON DUPLICATE KEY UPDATE marker = VALUES(marker)",
        quote_mysql_literal(login)?,
        quote_mysql_literal(marker)?
    ));
    out.extend(vault_admin_mysql_grants(login)?);
    out.push(UNLOCK.to_string());
    Ok(out)
}

/// The account dropped (its grants go with it), its record removed, and the schema with
/// the last record.
pub fn vault_admin_mysql_drop(login: &str) -> Result<Vec<String>, BadIdentifier> {
    Ok(vec![
        LOCK.to_string(),
        format!("DROP USER IF EXISTS {}@'%'", quote_mysql_literal(login)?),
        format!(
            "DELETE FROM dbaas_vault.admins WHERE login = {}",
            quote_mysql_literal(login)?
        ),
        UNLOCK.to_string(),
    ])
}

/// Drops the schema when no admin account is recorded (run after
/// [`vault_admin_mysql_drop`], which the caller checks the count between).
pub const VAULT_ADMIN_MYSQL_COUNT_QUERY: &str = "SELECT COUNT(*) FROM dbaas_vault.admins";

/// The schema dropped (no admin account left).
pub const VAULT_ADMIN_MYSQL_SCHEMA_DROP: &str = "DROP DATABASE IF EXISTS dbaas_vault";

/// The statement Vault runs for `rotate-root` on a dedicated MySQL admin's connection.
pub const VAULT_ADMIN_MYSQL_ROOT_ROTATION: &str =
    "CALL dbaas_vault.set_own_password('{{password}}');";

/// How a dedicated MySQL admin's creation statement starts.
pub const MYSQL_CREATE_LOGIN_CALL: &str = "CALL dbaas_vault.create_login(";

/// MySQL statements for a connection whose admin is a dedicated account: as
/// `vault_mysql_statements`, through the procedures (the last argument of
/// `create_login` is the connection limit, 0 for none).
pub fn vault_mysql_statements_via_admin(
    db: &str,
    access: Access,
) -> Result<VaultStatements, BadIdentifier> {
    Ok(VaultStatements {
        creation: vec![format!(
            "{MYSQL_CREATE_LOGIN_CALL}'{{{{name}}}}', '{{{{password}}}}', {}, '{}', 0);",
            quote_mysql_literal(db)?,
            access.as_str()
        )],
        revocation: vec!["CALL dbaas_vault.drop_login('{{name}}');".to_string()],
        rotation: vec!["CALL dbaas_vault.set_password('{{name}}', '{{password}}');".to_string()],
    })
}

/// `(database, access)` from a `CALL dbaas_vault.create_login(...)` statement.
pub fn mysql_call_database(text: &str) -> Option<(String, Access)> {
    let args = text.trim().strip_prefix(MYSQL_CREATE_LOGIN_CALL)?;
    let literals = super::vault_admin::string_literals(args);
    let db = literals.get(2)?.clone();
    let access = Access::parse(literals.get(3)?)?;
    Some((db, access))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_fit_mysql() {
        for (mount, name) in [
            ("database", "mysql"),
            ("team/database", "mysql"),
            (
                "database",
                &"a-very-long-connection-name-indeed-x".repeat(3)[..],
            ),
        ] {
            let login = vault_admin_mysql_login(mount, name);
            assert!(login.len() <= MYSQL_USER_MAX, "{login}");
            assert!(super::super::is_vault_admin_login(&login), "{login}");
        }
        assert_ne!(
            vault_admin_mysql_login("database", "mysql"),
            vault_admin_mysql_login("team/database", "mysql")
        );
        assert!(vault_admin_mysql_login("database", "mysql").starts_with("dbaas_vault_mysql_"));
    }

    #[test]
    fn statements_call_the_procedures_and_read_back() {
        for access in [Access::Owner, Access::ReadWrite, Access::ReadOnly] {
            let s = vault_mysql_statements_via_admin("shop_1", access).unwrap();
            assert!(s.creation[0].starts_with(MYSQL_CREATE_LOGIN_CALL), "{s:?}");
            assert!(s.creation[0].ends_with(", 0);"), "{s:?}");
            assert_eq!(
                mysql_call_database(&s.creation[0]),
                Some(("shop_1".to_string(), access))
            );
            assert!(super::super::calls_vault_admin_functions(&s.revocation));
            assert!(super::super::calls_vault_admin_functions(&s.rotation));
        }
        let odd = vault_mysql_statements_via_admin("it's", Access::ReadOnly).unwrap();
        assert!(odd.creation[0].contains("'it''s'"), "{odd:?}");
        assert_eq!(
            mysql_call_database(&odd.creation[0]).map(|d| d.0),
            Some("it's".to_string())
        );
        assert!(vault_mysql_statements_via_admin("a\0", Access::Owner).is_err());
        assert_eq!(
            mysql_call_database("CALL dbaas_vault.create_login('a')"),
            None
        );
    }

    #[test]
    fn setup_grants_only_execute_on_the_procedures() {
        let s = vault_admin_mysql_setup("dbaas_vault_mysql_1", "p'w", "m", false).unwrap();
        assert_eq!(
            s[1],
            "CREATE USER 'dbaas_vault_mysql_1'@'%' IDENTIFIED BY 'p''w'"
        );
        let grants: Vec<&String> = s.iter().filter(|t| t.starts_with("GRANT")).collect();
        assert_eq!(grants.len(), PROCEDURES.len());
        assert!(grants
            .iter()
            .all(|g| g.starts_with("GRANT EXECUTE ON PROCEDURE dbaas_vault.")));
        assert!(!s
            .iter()
            .any(|t| t.contains("*.*") || t.contains("GRANT OPTION")));
        let again = vault_admin_mysql_setup("dbaas_vault_mysql_1", "p", "m", true).unwrap();
        assert!(again[1].starts_with("ALTER USER"));
        let drop = vault_admin_mysql_drop("dbaas_vault_mysql_1").unwrap();
        assert!(drop[1].starts_with("DROP USER IF EXISTS 'dbaas_vault_mysql_1'@'%'"));
    }

    #[test]
    fn procedures_follow_the_dialect_and_check_every_name() {
        let maria = vault_admin_mysql_procedures(MysqlDialect::from_version("10.11.14-MariaDB"));
        let mysql = vault_admin_mysql_procedures(MysqlDialect::Mysql8);
        assert!(maria.iter().any(|s| s.contains("mysql.roles_mapping")));
        assert!(mysql.iter().any(|s| s.contains("mysql.role_edges")));
        for body in maria.iter().filter(|s| s.starts_with("CREATE PROCEDURE")) {
            assert!(body.contains("SQL SECURITY DEFINER"), "{body}");
        }
        let create = maria
            .iter()
            .find(|s| s.starts_with("CREATE PROCEDURE dbaas_vault.create_login"))
            .unwrap();
        assert!(create.contains("LEFT(login, 2) <> BINARY 'v-'"));
        assert!(create.contains("QUOTE(password)"));
        assert!(create.contains("REPLACE(db, '_', '\\\\_')"), "{create}");
        let version = vault_admin_mysql_version(MysqlDialect::Mysql8);
        assert!(create.contains(" COMMENT 'terraform-provider-dbaas procedures "));
        assert_ne!(
            version,
            vault_admin_mysql_version(MysqlDialect::from_version("10.11.14-MariaDB"))
        );
    }
}
