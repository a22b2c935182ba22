//! The dedicated Vault admin login of a PostgreSQL Vault connection (issue 22): its
//! functions installed in the maintenance database (where the admin pool and Vault's
//! sessions run), the login made or dropped, the logins there are.

use super::{PgError, Postgres, SchemaFacts};
use crate::backends::BoxFut;
use crate::sql;

impl Postgres {
    /// The schema of the Vault admin's functions, if it exists (owner, whether the owner
    /// is the admin or a superuser, who else may create in it).
    pub fn vault_admin_schema<'a>(&'a self) -> BoxFut<'a, Result<Option<SchemaFacts>, PgError>> {
        self.interruptible(async move {
            let rows: Vec<SchemaFacts> = sqlx::query_as(sql::SCHEMA_FACTS)
                .bind(vec![sql::VAULT_ADMIN_SCHEMA.to_string()])
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(rows.into_iter().next())
        })
    }

    /// Creates the schema when absent and (re)defines the functions in it.
    pub fn install_vault_admin_functions<'a>(&'a self) -> BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move { self.exec_all(&[sql::vault_admin_functions()]).await })
    }

    /// Installs the functions and creates login `login` (or resets it when `exists`) with
    /// `password`, marked, with EXECUTE on the functions and nothing else.
    pub fn setup_vault_admin_login<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
        marker: &'a str,
        exists: bool,
    ) -> BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            let batch = sql::vault_admin_login_setup(login, password, marker, exists)
                .map_err(|e| self.refusal(format!("{e}; nothing was sent")))?;
            self.exec_all(&[batch]).await
        })
    }

    /// Ends login `login`'s sessions, revokes its grants and drops it, and the functions'
    /// schema with the last dedicated Vault admin.
    pub fn drop_vault_admin_login<'a>(&'a self, login: &'a str) -> BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            self.terminate_user_sessions(login).await?;
            self.exec_all(&[sql::vault_admin_login_drop(login)]).await
        })
    }
}
