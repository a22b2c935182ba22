//! Catalog reads: each query in `sql/` names its columns (`AS field`), and its rows decode
//! into the struct below it (`sqlx::FromRow`, by name), so no column order is kept
//! anywhere. The methods run the reads on the admin pool, or on a pinned session inside
//! a tenant database where the catalog is per database.

use std::collections::BTreeSet;

use crate::backends::BoxFut;

use super::coalesce::Coalescer;
use super::{PgError, Postgres};

/// What the catalog says about a database, for create's resume and destroy's checks
/// (`sql::DATABASE_FACTS`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DatabaseFacts {
    /// Owner role.
    pub owner: String,
    /// `datallowconn`: false while a create has not opened it yet.
    pub allow_connections: bool,
    /// The database's comment (this provider's marker, or anything else).
    pub comment: Option<String>,
    /// `datistemplate`: may serve as a template for anyone with CREATEDB.
    pub is_template: bool,
}

/// A [`DatabaseFacts`] row of the batched query, with the database it is about.
#[derive(Debug, Clone, sqlx::FromRow)]
struct NamedDatabaseFacts {
    name: String,
    #[sqlx(flatten)]
    facts: DatabaseFacts,
}

/// A [`DatabaseSettings`] row of the batched query, with the database it is about.
#[derive(Debug, Clone, sqlx::FromRow)]
struct NamedDatabaseSettings {
    name: String,
    #[sqlx(flatten)]
    settings: DatabaseSettings,
}

/// What the catalog says about a role (`sql::ROLE_FACTS`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoleFacts {
    /// Role name.
    pub name: String,
    /// LOGIN.
    pub can_login: bool,
    /// SUPERUSER.
    pub superuser: bool,
    /// The role's comment (this provider's marker, or anything else).
    pub comment: Option<String>,
    /// Owns any object (a database, or anything inside one).
    pub owns_objects: bool,
}

/// A database's settings as the catalog reports them (`sql::DATABASE_SETTINGS`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DatabaseSettings {
    /// Owner role.
    pub owner: String,
    /// `CONNECTION LIMIT` (-1: none).
    pub connection_limit: i64,
    /// Character encoding, e.g. `UTF8`.
    pub encoding: String,
    /// LC_COLLATE.
    pub lc_collate: String,
    /// LC_CTYPE.
    pub lc_ctype: String,
}

/// What the catalog of a tenant database says about one schema the admin installs into
/// (`sql::SCHEMA_FACTS`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SchemaFacts {
    /// Schema name.
    pub name: String,
    /// Owner role.
    pub owner: String,
    /// The owner is a superuser or the admin itself.
    pub owner_is_admin: bool,
    /// Roles other than the owner that hold CREATE on it (`PUBLIC` for everyone).
    pub creators: Vec<String>,
}

/// One thing a role owns or holds outside the database being dropped
/// (`sql::FOREIGN_DEPENDENCIES`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ForeignDependency {
    /// The role.
    pub role: String,
    /// The database holding the object ("" for shared objects such as databases).
    pub database: String,
    /// `owns`, `has privileges on`, ...
    pub kind: String,
    /// The object, e.g. `pg_class 16423` or `database billing`.
    pub object: String,
    /// Ownership (`owns`); otherwise a privilege, default privilege or policy entry,
    /// which `DROP OWNED` in that database revokes.
    pub owned: bool,
}

/// A login that is a direct member of a tenant's group roles (`sql::GROUP_MEMBERS`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupMember {
    /// The login's name.
    pub login: String,
    /// SUPERUSER.
    pub superuser: bool,
}

/// What the catalog says about the login a static PostgreSQL role would rotate
/// (`sql::POSTGRES_LOGIN_FACTS`; `elsewhere` is filled from `foreign_dependencies`).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct PgLoginFacts {
    /// LOGIN.
    pub can_login: bool,
    /// SUPERUSER.
    pub superuser: bool,
    /// CREATEROLE.
    pub createrole: bool,
    /// CREATEDB.
    pub createdb: bool,
    /// REPLICATION.
    pub replication: bool,
    /// BYPASSRLS.
    pub bypassrls: bool,
    /// Whether it is the login the provider's admin connection uses.
    pub is_admin: bool,
    /// Every role it is a member of, directly or not.
    pub member_of: Vec<String>,
    /// What it owns or holds privileges on outside the tenant database, as lines.
    #[sqlx(skip)]
    pub elsewhere: Vec<String>,
}

/// An admin session's settings as `current_setting` shows them (`sql::SESSION_SETTINGS`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionSettings {
    /// `search_path`.
    pub search_path: String,
    /// `role`.
    pub role: String,
}

/// The column names each row struct decodes, by query: what the unit tests hold every
/// query's aliases to.
#[cfg(test)]
pub(super) const ROWS: &[(&str, &str, &[&str])] = &[
    (
        "DatabaseFacts",
        crate::sql::DATABASE_FACTS,
        &[
            "name",
            "owner",
            "allow_connections",
            "comment",
            "is_template",
        ],
    ),
    (
        "RoleFacts",
        crate::sql::ROLE_FACTS,
        &["name", "can_login", "superuser", "comment", "owns_objects"],
    ),
    (
        "DatabaseSettings",
        crate::sql::DATABASE_SETTINGS,
        &[
            "name",
            "owner",
            "connection_limit",
            "encoding",
            "lc_collate",
            "lc_ctype",
        ],
    ),
    (
        "SchemaFacts",
        crate::sql::SCHEMA_FACTS,
        &["name", "owner", "owner_is_admin", "creators"],
    ),
    (
        "ForeignDependency",
        crate::sql::FOREIGN_DEPENDENCIES,
        &["role", "database", "kind", "object", "owned"],
    ),
    (
        "GroupMember",
        crate::sql::GROUP_MEMBERS,
        &["login", "superuser"],
    ),
    (
        "PgLoginFacts",
        crate::sql::POSTGRES_LOGIN_FACTS,
        &[
            "can_login",
            "superuser",
            "createrole",
            "createdb",
            "replication",
            "bypassrls",
            "is_admin",
            "member_of",
        ],
    ),
    (
        "SessionSettings",
        crate::sql::SESSION_SETTINGS,
        &["search_path", "role"],
    ),
    (
        "RoleLinks",
        crate::sql::ROLE_LINKS,
        &["name", "member_of", "group_members"],
    ),
];

/// The coalesced catalog reads of one admin client (see `coalesce`): one per kind.
#[derive(Default)]
pub(super) struct Reads {
    database_facts: Coalescer<DatabaseFacts>,
    database_settings: Coalescer<DatabaseSettings>,
    role_facts: Coalescer<RoleFacts>,
}

/// `names` as the `text[]` the catalog queries bind.
fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

impl Postgres {
    /// The rows of the name-keyed catalog query `sql` for `names` (bound as its `text[]`):
    /// what every coalesced read below sends for its batch.
    async fn rows_for<R>(&self, sql: &'static str, names: Vec<String>) -> Result<Vec<R>, PgError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        sqlx::query_as(sql)
            .bind(names)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.error(e))
    }

    /// Owner, `datallowconn`, comment and `datistemplate` of database `name`, read in
    /// one query with the other reads of the kind that arrive meanwhile (`coalesce`).
    pub fn database_facts<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFut<'a, Result<Option<DatabaseFacts>, PgError>> {
        self.interruptible(async move {
            let fetch = |names: Vec<String>| async move {
                let rows: Vec<NamedDatabaseFacts> =
                    self.rows_for(crate::sql::DATABASE_FACTS, names).await?;
                Ok(rows.into_iter().map(|r| (r.name, r.facts)).collect())
            };
            let mut found = self.reads.database_facts.load(&[name], fetch).await?;
            Ok(found.remove(name))
        })
    }

    /// Login, superuser, comment and ownership of each existing role among `names`,
    /// sorted by name; coalesced like [`Postgres::database_facts`].
    pub fn role_facts<'a>(
        &'a self,
        names: &'a [&'a str],
    ) -> BoxFut<'a, Result<Vec<RoleFacts>, PgError>> {
        self.interruptible(async move {
            let fetch = |names: Vec<String>| async move {
                let rows: Vec<RoleFacts> = self.rows_for(crate::sql::ROLE_FACTS, names).await?;
                Ok(rows.into_iter().map(|r| (r.name.clone(), r)).collect())
            };
            let found = self.reads.role_facts.load(names, fetch).await?;
            let mut rows: Vec<RoleFacts> = found.into_values().collect();
            rows.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(rows)
        })
    }

    /// What `roles` own or hold privileges on anywhere but in database `db`.
    pub fn foreign_dependencies<'a>(
        &'a self,
        roles: &'a [String],
        db: &'a str,
    ) -> BoxFut<'a, Result<Vec<ForeignDependency>, PgError>> {
        self.interruptible(async move {
            sqlx::query_as(crate::sql::FOREIGN_DEPENDENCIES)
                .bind(roles)
                .bind(db)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Logins that are direct members of any of `groups`.
    pub fn group_members<'a>(
        &'a self,
        groups: &'a [String],
    ) -> BoxFut<'a, Result<Vec<GroupMember>, PgError>> {
        self.interruptible(async move {
            sqlx::query_as(crate::sql::GROUP_MEMBERS)
                .bind(groups)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Owner, connection limit, encoding and locales of database `name`; coalesced like
    /// [`Postgres::database_facts`] (a plan's refresh reads every database with it).
    pub fn database_settings<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFut<'a, Result<Option<DatabaseSettings>, PgError>> {
        self.interruptible(async move {
            let fetch = |names: Vec<String>| async move {
                let rows: Vec<NamedDatabaseSettings> =
                    self.rows_for(crate::sql::DATABASE_SETTINGS, names).await?;
                Ok(rows.into_iter().map(|r| (r.name, r.settings)).collect())
            };
            let mut found = self.reads.database_settings.load(&[name], fetch).await?;
            Ok(found.remove(name))
        })
    }

    /// The `name=value` entries set on database `name` for every role (issue 22).
    pub fn database_config<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFut<'a, Result<Vec<String>, PgError>> {
        self.interruptible(async move {
            sqlx::query_scalar(crate::sql::DATABASE_CONFIG)
                .bind(name)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// The roles among `names` that exist, sorted.
    pub fn existing_roles<'a>(
        &'a self,
        names: &'a [&'a str],
    ) -> BoxFut<'a, Result<Vec<String>, PgError>> {
        self.interruptible(async move {
            sqlx::query_scalar(crate::sql::EXISTING_ROLES)
                .bind(owned(names))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// The extensions installed in database `db` (but `plpgsql`).
    pub fn installed_extensions<'a>(
        &'a self,
        db: &'a str,
    ) -> BoxFut<'a, Result<BTreeSet<String>, PgError>> {
        self.interruptible(async move {
            let mut conn = self.connect_to(db).await?;
            let rows = sqlx::query_scalar::<_, String>(crate::sql::INSTALLED_EXTENSIONS)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| self.error(e));
            conn.close().await;
            Ok(rows?.into_iter().collect())
        })
    }

    /// The schemas among `names` that exist in database `db`, with owner and CREATE
    /// grantees (read on a pinned session inside the database).
    pub fn schema_facts<'a>(
        &'a self,
        db: &'a str,
        names: &'a [&'a str],
    ) -> BoxFut<'a, Result<Vec<SchemaFacts>, PgError>> {
        self.interruptible(async move {
            let mut conn = self.connect_to(db).await?;
            let rows = sqlx::query_as(crate::sql::SCHEMA_FACTS)
                .bind(owned(names))
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| self.error(e));
            conn.close().await;
            rows
        })
    }

    /// The databases role `owner` owns, sorted.
    pub fn databases_owned_by<'a>(
        &'a self,
        owner: &'a str,
    ) -> BoxFut<'a, Result<Vec<String>, PgError>> {
        self.interruptible(async move {
            sqlx::query_scalar(crate::sql::DATABASES_OWNED_BY)
                .bind(owner)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Expired logins named like `like` (a LIKE pattern) that belong to any of `groups`
    /// (at most 20): Vault logins whose revocation failed.
    pub fn expired_group_logins<'a>(
        &'a self,
        like: &'a str,
        groups: &'a [String],
    ) -> BoxFut<'a, Result<Vec<String>, PgError>> {
        self.interruptible(async move {
            sqlx::query_scalar(crate::sql::EXPIRED_GROUP_LOGINS)
                .bind(like)
                .bind(groups)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// The groups `login` is a direct member of, sorted.
    pub fn login_groups<'a>(&'a self, login: &'a str) -> BoxFut<'a, Result<Vec<String>, PgError>> {
        self.interruptible(async move {
            sqlx::query_scalar(crate::sql::LOGIN_GROUPS)
                .bind(login)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// What the catalog says about login `name` (a static rotation role's), `None` when
    /// there is no such role; `elsewhere` is left empty.
    pub fn login_facts<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFut<'a, Result<Option<PgLoginFacts>, PgError>> {
        self.interruptible(async move {
            sqlx::query_as(crate::sql::POSTGRES_LOGIN_FACTS)
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Whether extension `name`'s control file pins the schema it installs into.
    pub fn extension_pinned<'a>(&'a self, name: &'a str) -> BoxFut<'a, Result<bool, PgError>> {
        self.interruptible(async move {
            let schema: Option<Option<String>> =
                sqlx::query_scalar(crate::sql::EXTENSION_PINNED_SCHEMA)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| self.error(e))?;
            Ok(matches!(schema, Some(Some(_))))
        })
    }
}

/// How a role is linked to others by membership (`sql::ROLE_LINKS`): what a shared
/// access grant checks so that grants never chain into a third tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RoleLinks {
    /// Role name.
    pub name: String,
    /// The roles it is a direct member of.
    pub member_of: Vec<String>,
    /// Its direct members that cannot log in (groups).
    pub group_members: Vec<String>,
}

impl Postgres {
    /// The membership links of each existing role among `names`.
    pub fn role_links<'a>(
        &'a self,
        names: &'a [&'a str],
    ) -> BoxFut<'a, Result<Vec<RoleLinks>, PgError>> {
        self.interruptible(async move {
            sqlx::query_as(crate::sql::ROLE_LINKS)
                .bind(owned(names))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// Ends the sessions in database `db` of the logins that are direct members of
    /// `group` (superusers and the admin excepted).
    pub fn terminate_member_sessions<'a>(
        &'a self,
        db: &'a str,
        group: &'a str,
    ) -> BoxFut<'a, Result<(), PgError>> {
        self.interruptible(async move {
            sqlx::query(crate::sql::TERMINATE_MEMBER_SESSIONS)
                .bind(db)
                .bind(group)
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(|e| self.error(e))
        })
    }
}
