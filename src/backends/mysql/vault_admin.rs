//! The dedicated Vault admin account of a MySQL Vault connection (issue 22): its
//! procedures installed in schema `dbaas_vault`, the account made or dropped, what the
//! server says about both.

use mysql_async::prelude::Queryable;

use super::{Mysql, MysqlError};
use crate::backends::BoxFut;
use crate::sql;

/// What the server says about a Vault admin account name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultAdminAccount {
    /// `<name>`@`%` exists.
    pub exists: bool,
    /// The marker `dbaas_vault.admins` records for it (`None`: not recorded, or no schema).
    pub marker: Option<String>,
}

impl Mysql {
    /// Whether schema `dbaas_vault` exists, and how many grants reach it other than the
    /// Vault admins' EXECUTE on the procedures.
    pub fn vault_admin_schema_foreign_grants(&self) -> BoxFut<'_, Result<Option<i64>, MysqlError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let exists: Option<i64> = conn
                .exec_first(sql::MYSQL_SCHEMA_EXISTS_QUERY, ("dbaas_vault",))
                .await
                .map_err(|e| self.error(e))?;
            if exists.unwrap_or(0) == 0 {
                return Ok(None);
            }
            let foreign: Option<i64> = conn
                .query_first(sql::VAULT_ADMIN_MYSQL_FOREIGN_GRANTS_QUERY)
                .await
                .map_err(|e| self.error(e))?;
            Ok(Some(foreign.unwrap_or(0)))
        })
    }

    /// The account `login`@`%` and its record in `dbaas_vault.admins`.
    pub fn vault_admin_account<'a>(
        &'a self,
        login: &'a str,
    ) -> BoxFut<'a, Result<VaultAdminAccount, MysqlError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let count: Option<i64> = conn
                .exec_first(sql::VAULT_ADMIN_MYSQL_EXISTS_QUERY, (login,))
                .await
                .map_err(|e| self.error(e))?;
            let schema: Option<i64> = conn
                .exec_first(sql::MYSQL_SCHEMA_EXISTS_QUERY, ("dbaas_vault",))
                .await
                .map_err(|e| self.error(e))?;
            let marker: Option<String> = if schema.unwrap_or(0) > 0 {
                conn.exec_first(sql::VAULT_ADMIN_MYSQL_MARKER_QUERY, (login,))
                    .await
                    .map_err(|e| self.error(e))?
            } else {
                None
            };
            Ok(VaultAdminAccount {
                exists: count.unwrap_or(0) > 0,
                marker,
            })
        })
    }

    /// Creates schema `dbaas_vault` when absent and (re)defines its procedures for this
    /// server's dialect, unless the installed ones are of this version; after a
    /// redefinition (which revokes the routines' grants) the recorded Vault admins get
    /// EXECUTE again.
    pub fn install_vault_admin_procedures(&self) -> BoxFut<'_, Result<(), MysqlError>> {
        Box::pin(async move {
            let dialect = self.dialect().await?;
            let version = sql::vault_admin_mysql_version(dialect);
            let installed: Option<String> = {
                let mut conn = self.conn().await?;
                conn.query_first(sql::VAULT_ADMIN_MYSQL_VERSION_QUERY)
                    .await
                    .map_err(|e| self.error(e))?
            };
            if installed.as_deref() == Some(version.as_str()) {
                return Ok(());
            }
            self.exec(&sql::vault_admin_mysql_procedures(dialect))
                .await?;
            let recorded: Vec<String> = {
                let mut conn = self.conn().await?;
                conn.query(sql::VAULT_ADMIN_MYSQL_RECORDED_QUERY)
                    .await
                    .map_err(|e| self.error(e))?
            };
            for login in recorded {
                let grants = sql::vault_admin_mysql_grants(&login)
                    .map_err(|e| self.fail(format!("{e}; nothing was sent"), None))?;
                self.exec(&grants).await?;
            }
            Ok(())
        })
    }

    /// Installs the procedures and makes account `login`@`%` (or resets its password when
    /// `exists`), recorded with `marker`, with EXECUTE on the procedures and nothing else.
    pub fn setup_vault_admin_account<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
        marker: &'a str,
        exists: bool,
    ) -> BoxFut<'a, Result<(), MysqlError>> {
        Box::pin(async move {
            self.install_vault_admin_procedures().await?;
            let statements = sql::vault_admin_mysql_setup(login, password, marker, exists)
                .map_err(|e| self.fail(format!("{e}; nothing was sent"), None))?;
            self.exec(&statements).await
        })
    }

    /// Drops account `login`@`%` and its record, and the schema with the last record.
    pub fn drop_vault_admin_account<'a>(
        &'a self,
        login: &'a str,
    ) -> BoxFut<'a, Result<(), MysqlError>> {
        Box::pin(async move {
            let statements = sql::vault_admin_mysql_drop(login)
                .map_err(|e| self.fail(format!("{e}; nothing was sent"), None))?;
            self.exec(&statements).await?;
            let mut conn = self.conn().await?;
            let left: Option<i64> = conn
                .query_first(sql::VAULT_ADMIN_MYSQL_COUNT_QUERY)
                .await
                .map_err(|e| self.error(e))?;
            if left.unwrap_or(0) == 0 {
                conn.query_drop(sql::VAULT_ADMIN_MYSQL_SCHEMA_DROP)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            Ok(())
        })
    }
}
