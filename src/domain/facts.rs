//! Facts a backend reads for a resource's rules to judge: plain data, no I/O.

/// What the catalog says about the login a static PostgreSQL role would rotate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    pub elsewhere: Vec<String>,
}

/// What the server says about the account a static MySQL role would rotate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MysqlLoginFacts {
    /// An account of that user name exists (any host).
    pub exists: bool,
    /// Whether it is the provider's admin user.
    pub is_admin: bool,
    /// Global privileges (`USER_PRIVILEGES`), `USAGE` left out.
    pub global_privileges: Vec<String>,
    /// Schemas other than the tenant's it holds privileges in.
    pub other_schemas: Vec<String>,
}
