//! The dedicated Vault admin login of a PostgreSQL Vault connection (issue 22): the
//! login, and the SECURITY DEFINER functions it calls instead of holding CREATEROLE.
//!
//! On PostgreSQL 15, CREATEROLE lets a role grant membership in any non-superuser role
//! (`pg_execute_server_program`, `pg_read_server_files`, every tenant's groups), so the
//! Vault admin has no role attribute at all. It may only EXECUTE the functions of schema
//! [`VAULT_ADMIN_SCHEMA`] (owned by the provider's admin, `search_path` pinned), which
//! create a login named like Vault's logins (`v-...`) in a tenant group this provider
//! made, set the password of a tenant login, or drop such a login, and refuse anything
//! else.

use super::{quote_ident, quote_literal, try_quote_literal, BadIdentifier, Batch};
use crate::enums::Access;

/// The schema (in the provider's maintenance database, where Vault's sessions run) that
/// holds the functions the Vault admin calls.
pub const VAULT_ADMIN_SCHEMA: &str = "dbaas_vault";

/// The prefix of every dedicated Vault admin login.
pub const VAULT_ADMIN_PREFIX: &str = "dbaas_vault_";

/// The comment on a dedicated Vault admin login: `<mount>/<name>` of its connection.
pub fn vault_admin_marker(mount: &str, name: &str) -> String {
    format!("terraform-provider-dbaas: Vault admin of {mount}/{name}")
}

/// The dedicated admin login of connection `<mount>/<name>`: the prefix, the name (cut
/// to fit 63 bytes) and 8 hex digits of a hash of `<mount>/<name>`, so two mounts with
/// a connection of the same name get two logins.
pub fn vault_admin_login(mount: &str, name: &str) -> String {
    // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
    let hash = format!("{mount}/{name}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let short: String = name
        .chars()
        .take(63 - VAULT_ADMIN_PREFIX.len() - 9)
        .collect();
    format!("{VAULT_ADMIN_PREFIX}{short}_{:08x}", hash as u32)
}

/// Whether a Vault connection's `username` is a dedicated Vault admin login (then its
/// rotation roles generate statements calling the functions).
pub fn is_vault_admin_login(username: &str) -> bool {
    username.starts_with(VAULT_ADMIN_PREFIX)
}

/// `pg_catalog.bool`: whether role `$1` is a NOLOGIN, unprivileged group role that this
/// provider marked for a database it created completely, and a member only of such
/// roles. The rule the other functions share.
const TENANT_GROUP_FN: &str = "CREATE OR REPLACE FUNCTION dbaas_vault.tenant_group(grp pg_catalog.text) \
RETURNS pg_catalog.bool LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $dbaas$ \
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles g JOIN pg_catalog.pg_database d \
  ON pg_catalog.shobj_description(g.oid, 'pg_authid') OPERATOR(pg_catalog.=) \
     ('terraform-provider-dbaas: role of database ' OPERATOR(pg_catalog.||) d.datname::pg_catalog.text) \
  WHERE g.rolname OPERATOR(pg_catalog.=) grp \
    AND NOT g.rolcanlogin AND NOT g.rolsuper AND NOT g.rolcreaterole AND NOT g.rolcreatedb \
    AND NOT g.rolreplication AND NOT g.rolbypassrls \
    AND pg_catalog.shobj_description(d.oid, 'pg_database') OPERATOR(pg_catalog.=) 'terraform-provider-dbaas: managed' \
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles p \
      WHERE p.oid OPERATOR(pg_catalog.<>) g.oid AND pg_catalog.pg_has_role(g.oid, p.oid, 'MEMBER') \
        AND (p.rolcanlogin OR p.rolsuper OR p.rolcreaterole OR p.rolcreatedb OR p.rolreplication OR p.rolbypassrls \
          OR NOT pg_catalog.starts_with(COALESCE(pg_catalog.shobj_description(p.oid, 'pg_authid'), ''), \
                 'terraform-provider-dbaas: role of database ')))) \
$dbaas$";

/// `void`: refuses (raises) unless login `$1` exists, can log in, holds no role
/// attribute, and is a member only of tenant groups (`$2`: at least one of them).
const TENANT_LOGIN_FN: &str = "CREATE OR REPLACE FUNCTION dbaas_vault.check_tenant_login(login pg_catalog.text, need_group pg_catalog.bool) \
RETURNS void LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $dbaas$ \
DECLARE r pg_catalog.pg_roles%ROWTYPE; \
BEGIN \
  SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) login; \
  IF NOT FOUND OR NOT r.rolcanlogin OR r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls THEN \
    RAISE EXCEPTION 'dbaas_vault: % is not a tenant login', pg_catalog.quote_ident(login); \
  END IF; \
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles g WHERE g.oid OPERATOR(pg_catalog.<>) r.oid \
      AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER') AND NOT dbaas_vault.tenant_group(g.rolname::pg_catalog.text)) THEN \
    RAISE EXCEPTION 'dbaas_vault: % is a member of a role that is not a tenant group of this provider', pg_catalog.quote_ident(login); \
  END IF; \
  IF need_group AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles g WHERE g.oid OPERATOR(pg_catalog.<>) r.oid \
      AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER')) THEN \
    RAISE EXCEPTION 'dbaas_vault: % is not a member of any tenant group', pg_catalog.quote_ident(login); \
  END IF; \
END $dbaas$";

/// Vault's creation statement: a new login named like Vault's (`v-...`, at most 63
/// bytes) in tenant group `grp`. With `run_as` (which must be `grp`) the caller is made a
/// member of the login, so that it can `SET ROLE` to it and the login set its own `role`
/// default (see [`FINISH_LOGIN_FN`]).
const CREATE_LOGIN_FN: &str = "CREATE OR REPLACE FUNCTION dbaas_vault.create_login(login pg_catalog.text, password pg_catalog.text, \
valid_until pg_catalog.text, grp pg_catalog.text, run_as pg_catalog.text, conn_limit pg_catalog.int4 DEFAULT -1) \
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $dbaas$ \
BEGIN \
  IF login IS NULL OR NOT pg_catalog.starts_with(login, 'v-') OR pg_catalog.octet_length(login) OPERATOR(pg_catalog.>) 63 THEN \
    RAISE EXCEPTION 'dbaas_vault.create_login: % is not a login name Vault generates (v-..., at most 63 bytes)', pg_catalog.quote_ident(COALESCE(login, '')); \
  END IF; \
  IF grp IS NULL OR NOT dbaas_vault.tenant_group(grp) THEN \
    RAISE EXCEPTION 'dbaas_vault.create_login: % is not a tenant group role of this provider', pg_catalog.quote_ident(COALESCE(grp, '')); \
  END IF; \
  IF COALESCE(run_as, '') OPERATOR(pg_catalog.<>) '' AND run_as OPERATOR(pg_catalog.<>) grp THEN \
    RAISE EXCEPTION 'dbaas_vault.create_login: a login may only run as its own group %', pg_catalog.quote_ident(grp); \
  END IF; \
  IF conn_limit IS NULL OR conn_limit OPERATOR(pg_catalog.<) -1 OR conn_limit OPERATOR(pg_catalog.>) 100000 THEN \
    RAISE EXCEPTION 'dbaas_vault.create_login: % is not a connection limit (-1 for none, or 0 to 100000)', COALESCE(conn_limit::pg_catalog.text, 'NULL'); \
  END IF; \
  EXECUTE pg_catalog.format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L VALID UNTIL %L CONNECTION LIMIT %s IN ROLE %I', \
    login, password, valid_until, conn_limit, grp); \
  IF COALESCE(run_as, '') OPERATOR(pg_catalog.<>) '' THEN \
    EXECUTE pg_catalog.format('GRANT %I TO %I', login, pg_catalog.session_user()); \
  END IF; \
END $dbaas$";

/// Drops `create_login` as first written (five arguments, no `conn_limit`), if present.
const CREATE_LOGIN_FN_V1_DROP: &str = "DROP FUNCTION IF EXISTS dbaas_vault.create_login(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text)";

/// Ends the caller's membership in a login `create_login` made (given so that the caller
/// could `SET ROLE` to it and set the login's own `role` default, which PostgreSQL
/// refuses inside a SECURITY DEFINER function).
const FINISH_LOGIN_FN: &str = "CREATE OR REPLACE FUNCTION dbaas_vault.finish_login(login pg_catalog.text) \
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $dbaas$ \
BEGIN \
  IF login IS NULL OR NOT pg_catalog.starts_with(login, 'v-') THEN \
    RAISE EXCEPTION 'dbaas_vault.finish_login: % is not a login name Vault generates (v-...)', pg_catalog.quote_ident(COALESCE(login, '')); \
  END IF; \
  EXECUTE pg_catalog.format('REVOKE %I FROM %I', login, pg_catalog.session_user()); \
END $dbaas$";

/// Vault's rotation statement of a static role: a tenant login's new password.
const SET_PASSWORD_FN: &str = "CREATE OR REPLACE FUNCTION dbaas_vault.set_password(login pg_catalog.text, password pg_catalog.text) \
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $dbaas$ \
BEGIN \
  PERFORM dbaas_vault.check_tenant_login(login, true); \
  EXECUTE pg_catalog.format('ALTER ROLE %I WITH PASSWORD %L', login, password); \
END $dbaas$";

/// Vault's revocation statement: ends the sessions of a Vault-named tenant login and
/// drops it (nothing when it is gone already).
const DROP_LOGIN_FN: &str = "CREATE OR REPLACE FUNCTION dbaas_vault.drop_login(login pg_catalog.text) \
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $dbaas$ \
BEGIN \
  IF login IS NULL OR NOT pg_catalog.starts_with(login, 'v-') THEN \
    RAISE EXCEPTION 'dbaas_vault.drop_login: % is not a login name Vault generates (v-...)', pg_catalog.quote_ident(COALESCE(login, '')); \
  END IF; \
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) login) THEN \
    RETURN; \
  END IF; \
  PERFORM dbaas_vault.check_tenant_login(login, false); \
  PERFORM pg_catalog.pg_terminate_backend(a.pid) FROM pg_catalog.pg_stat_activity a WHERE a.usename OPERATOR(pg_catalog.=) login; \
  EXECUTE pg_catalog.format('DROP ROLE %I', login); \
END $dbaas$";

/// The functions' signatures, for the grants.
const FUNCTIONS: [&str; 4] = [
    "dbaas_vault.create_login(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int4)",
    "dbaas_vault.finish_login(pg_catalog.text)",
    "dbaas_vault.set_password(pg_catalog.text, pg_catalog.text)",
    "dbaas_vault.drop_login(pg_catalog.text)",
];

/// The helpers no one but the functions calls.
const HELPERS: [&str; 2] = [
    "dbaas_vault.tenant_group(pg_catalog.text)",
    "dbaas_vault.check_tenant_login(pg_catalog.text, pg_catalog.bool)",
];

/// Serialises every change of the schema and its logins (taken first in each batch, held
/// to its commit): a destroy dropping the schema with the last login never races a
/// create installing the functions for a new one.
const VAULT_ADMIN_LOCK: &str =
    "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('terraform-provider-dbaas: dbaas_vault'))";

/// The schema created when absent (checked under the lock; the caller has refused a
/// present one that is not the admin's), closed to PUBLIC.
const VAULT_ADMIN_SCHEMA_CREATE: &str = "DO $dbaas$ BEGIN \
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) 'dbaas_vault') THEN \
    CREATE SCHEMA dbaas_vault; \
    REVOKE ALL ON SCHEMA dbaas_vault FROM PUBLIC; \
  END IF; \
END $dbaas$";

/// The schema dropped when no dedicated Vault admin login is left (checked under the lock).
const VAULT_ADMIN_SCHEMA_DROP: &str = "DO $dbaas$ BEGIN \
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r \
      WHERE pg_catalog.starts_with(COALESCE(pg_catalog.shobj_description(r.oid, 'pg_authid'), ''), \
      'terraform-provider-dbaas: Vault admin of ')) THEN \
    DROP SCHEMA IF EXISTS dbaas_vault CASCADE; \
  END IF; \
END $dbaas$";

/// The schema (created when absent) and the functions (re)defined, none executable by
/// PUBLIC: one transaction, under the lock.
pub fn vault_admin_functions() -> Batch {
    let mut b = Batch::new()
        .then(VAULT_ADMIN_LOCK)
        .then(VAULT_ADMIN_SCHEMA_CREATE);
    // The five-argument form of an earlier build (before `conn_limit`) would make calls
    // without a limit ambiguous.
    b.push(CREATE_LOGIN_FN_V1_DROP);
    for f in [
        TENANT_GROUP_FN,
        TENANT_LOGIN_FN,
        CREATE_LOGIN_FN,
        FINISH_LOGIN_FN,
        SET_PASSWORD_FN,
        DROP_LOGIN_FN,
    ] {
        b.push(f);
    }
    for f in FUNCTIONS.iter().chain(HELPERS.iter()) {
        b.push(format!("REVOKE ALL ON FUNCTION {f} FROM PUBLIC"));
    }
    b
}

/// The functions installed (as [`vault_admin_functions`]) and the login of connection
/// `<mount>/<name>` created (or, when it exists already, its password reset) with no
/// role attribute, marked, and allowed to call the functions: one transaction. `exists`:
/// it was found (and carries the marker).
pub fn vault_admin_login_setup(
    login: &str,
    password: &str,
    marker: &str,
    exists: bool,
) -> Result<Batch, BadIdentifier> {
    let role = quote_ident(login);
    let password = try_quote_literal(password)?;
    let mut b = vault_admin_functions();
    b.push(if exists {
        format!("ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD {password}")
    } else {
        format!("CREATE ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD {password}")
    });
    b.push(format!(
        "COMMENT ON ROLE {role} IS {}",
        try_quote_literal(marker)?
    ));
    b.push(format!(
        "GRANT USAGE ON SCHEMA {} TO {role}",
        quote_ident(VAULT_ADMIN_SCHEMA)
    ));
    for f in FUNCTIONS {
        b.push(format!("GRANT EXECUTE ON FUNCTION {f} TO {role}"));
    }
    Ok(b)
}

/// The login's grants revoked (it owns nothing), the login dropped, and the schema with
/// the last such login: one transaction, under the lock.
pub fn vault_admin_login_drop(login: &str) -> Batch {
    Batch::new()
        .then(VAULT_ADMIN_LOCK)
        .then(format!("DROP OWNED BY {}", quote_ident(login)))
        .then(format!("DROP ROLE {}", quote_ident(login)))
        .then(VAULT_ADMIN_SCHEMA_DROP)
}

/// The statement Vault runs for `rotate-root` on a dedicated admin's connection: the
/// login changes its own password, which needs no privilege.
pub const VAULT_ADMIN_ROOT_ROTATION: &str =
    "ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}';";

/// How a dedicated Vault admin's creation statement starts (its arguments follow).
pub const CREATE_LOGIN_CALL: &str = "SELECT dbaas_vault.create_login(";

/// PostgreSQL statements for a connection whose admin is a dedicated login: as
/// `vault_postgres_statements`, through the functions.
pub fn vault_postgres_statements_via_admin(
    group: &str,
    owner_role: &str,
    access: Access,
) -> Result<super::VaultStatements, BadIdentifier> {
    let run_as = if access == Access::Owner {
        try_quote_literal(owner_role)?
    } else {
        "''".to_string()
    };
    let mut creation = vec![format!(
        "{CREATE_LOGIN_CALL}'{{{{name}}}}', '{{{{password}}}}', '{{{{expiration}}}}', {}, {run_as});",
        try_quote_literal(group)?
    )];
    if access == Access::Owner {
        // PostgreSQL refuses `SET role` defaults inside a SECURITY DEFINER function: the
        // login sets its own (a role may), the caller acting as it for that statement.
        creation.extend([
            "SET ROLE \"{{name}}\";".to_string(),
            format!("ALTER ROLE \"{{{{name}}}}\" SET role = {run_as};"),
            "RESET ROLE;".to_string(),
            "SELECT dbaas_vault.finish_login('{{name}}');".to_string(),
        ]);
    }
    Ok(super::VaultStatements {
        creation,
        revocation: vec!["SELECT dbaas_vault.drop_login('{{name}}');".to_string()],
        rotation: vec!["SELECT dbaas_vault.set_password('{{name}}', '{{password}}');".to_string()],
    })
}

/// Whether statements call the Vault admin's functions (so a plan regenerates them in
/// that form).
pub fn calls_vault_admin_functions(statements: &[String]) -> bool {
    statements.iter().any(|s| s.contains("dbaas_vault."))
}

/// The group a PostgreSQL creation statement puts its login in: `IN ROLE "<group>"`
/// (the provider admin's form) or the fourth argument of `dbaas_vault.create_login`.
pub fn postgres_group_of_statement(text: &str) -> Option<String> {
    if let Some(i) = text.find("IN ROLE \"") {
        return Some(
            text[i + 9..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_string(),
        );
    }
    let call = &text[text.find("dbaas_vault.create_login(")? + 25..];
    string_literals(call).into_iter().nth(3)
}

/// The string literals of an argument list (`'a', E'b\\c', 'it''s'`), in order, up to
/// the closing parenthesis.
pub(crate) fn string_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ')' => break,
            '\'' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                            s.push('\'');
                        } else {
                            break;
                        }
                    } else if c == '\\' {
                        // Only `E'...'` literals (quote_literal's backslash form) hold these.
                        if let Some(n) = chars.next() {
                            s.push(n);
                        }
                    } else {
                        s.push(c);
                    }
                }
                out.push(s);
            }
            _ => {}
        }
    }
    out
}

/// The literal a rotation role's statements use for `role` (quoted).
pub fn quoted_group(role: &str) -> String {
    quote_literal(role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_fit_and_differ_by_mount() {
        let a = vault_admin_login("database", "postgres");
        let b = vault_admin_login("team/database", "postgres");
        assert!(a.starts_with("dbaas_vault_postgres_"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, vault_admin_login("database", "postgres"));
        let long = vault_admin_login("database", &"x".repeat(128));
        assert!(long.len() <= 63, "{long}");
        assert!(is_vault_admin_login(&long));
        assert!(!is_vault_admin_login("postgres"));
    }

    #[test]
    fn statements_via_the_admin_call_the_functions_with_quoted_groups() {
        let s =
            vault_postgres_statements_via_admin("app_owner", "app_owner", Access::Owner).unwrap();
        assert_eq!(
            s.creation,
            [
                "SELECT dbaas_vault.create_login('{{name}}', '{{password}}', '{{expiration}}', 'app_owner', 'app_owner');",
                "SET ROLE \"{{name}}\";",
                "ALTER ROLE \"{{name}}\" SET role = 'app_owner';",
                "RESET ROLE;",
                "SELECT dbaas_vault.finish_login('{{name}}');",
            ]
        );
        let ro =
            vault_postgres_statements_via_admin("it's_readonly", "o", Access::ReadOnly).unwrap();
        assert!(ro.creation[0].ends_with("'it''s_readonly', '');"), "{ro:?}");
        assert_eq!(
            postgres_group_of_statement(&ro.creation[0]).as_deref(),
            Some("it's_readonly")
        );
        assert!(calls_vault_admin_functions(&ro.revocation));
        assert!(calls_vault_admin_functions(&ro.rotation));
        assert!(vault_postgres_statements_via_admin("a\0", "o", Access::ReadOnly).is_err());
    }

    #[test]
    fn the_group_comes_back_from_either_form() {
        let classic =
            super::super::vault_postgres_statements("shop_readonly", "o", Access::ReadOnly)
                .unwrap();
        assert_eq!(
            postgres_group_of_statement(&classic.creation[0]).as_deref(),
            Some("shop_readonly")
        );
        assert_eq!(postgres_group_of_statement("SELECT 1"), None);
        assert_eq!(
            postgres_group_of_statement("SELECT dbaas_vault.create_login('a')"),
            None
        );
        assert_eq!(
            postgres_group_of_statement(
                r"SELECT dbaas_vault.create_login('n', 'p', 'e', E'a\\b', '')"
            )
            .as_deref(),
            Some(r"a\b")
        );
    }

    #[test]
    fn setup_marks_and_grants_only_the_functions() {
        let b = vault_admin_login_setup("dbaas_vault_pg_1", "pw'x", "m", false).unwrap();
        let all = super::super::Unit::statements(&b);
        assert_eq!(all[0], VAULT_ADMIN_LOCK);
        let functions = super::super::Unit::statements(&vault_admin_functions()).len();
        let s = &all[functions..];
        assert!(s[0].starts_with(
            "CREATE ROLE \"dbaas_vault_pg_1\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
        ));
        assert!(s[0].ends_with("PASSWORD 'pw''x'"));
        assert_eq!(s[1], "COMMENT ON ROLE \"dbaas_vault_pg_1\" IS 'm'");
        assert!(s[2..]
            .iter()
            .all(|g| g.starts_with("GRANT USAGE ON SCHEMA \"dbaas_vault\"")
                || g.starts_with("GRANT EXECUTE ON FUNCTION dbaas_vault.")));
        let again = vault_admin_login_setup("dbaas_vault_pg_1", "pw", "m", true).unwrap();
        assert!(super::super::Unit::statements(&again)[functions].starts_with("ALTER ROLE"));
        let drop = vault_admin_login_drop("dbaas_vault_pg_1");
        let d = super::super::Unit::statements(&drop);
        assert_eq!(d.first().map(String::as_str), Some(VAULT_ADMIN_LOCK));
        assert!(d
            .last()
            .is_some_and(|t| t.contains("DROP SCHEMA IF EXISTS dbaas_vault CASCADE")));
        // The functions batch never grants anything to PUBLIC.
        let f = vault_admin_functions();
        assert!(super::super::Unit::statements(&f)
            .iter()
            .all(|s| !s.contains("TO PUBLIC")));
    }
}
