//! Table tests of the database's decisions, one row (or test) per branch, named after
//! the situation: `create` (and the template rule, the read after create), `read_update`,
//! `destroy`. The fixtures live here.

use std::collections::BTreeSet;

use tfplugin::{AttributePath, Error, Known};

use super::decide::*;
use super::execute::{read_back, ReadBack};
use super::{check_owner_name, Model, Spec};
use crate::backends::postgres::{
    DatabaseFacts, DatabaseSettings, ForeignDependency, RoleFacts, SchemaFacts,
};
use crate::resources::postgres_marks::Private;
use crate::sql::{self, TenantRoles};

// ---- fixtures -------------------------------------------------------------------------

fn role(name: &str) -> RoleFacts {
    RoleFacts {
        name: name.into(),
        can_login: false,
        superuser: false,
        comment: None,
        owns_objects: false,
    }
}

fn marked(name: &str, db: &str) -> RoleFacts {
    RoleFacts {
        comment: Some(sql::role_marker(db)),
        ..role(name)
    }
}

fn login(name: &str) -> RoleFacts {
    RoleFacts {
        can_login: true,
        ..role(name)
    }
}

fn database(owner: &str, open: bool, comment: Option<&str>) -> DatabaseFacts {
    DatabaseFacts {
        owner: owner.into(),
        allow_connections: open,
        comment: comment.map(str::to_string),
        is_template: false,
    }
}

/// A database a create of this provider left marked as being created.
fn creating(owner: &str) -> DatabaseFacts {
    database(owner, true, Some(sql::DATABASE_CREATING))
}

/// A database a create of this provider completed.
fn complete(owner: &str) -> DatabaseFacts {
    database(owner, true, Some(sql::DATABASE_MANAGED))
}

fn shop_roles() -> TenantRoles {
    TenantRoles::new("shop", "shop_owner")
}

const SHOP: [&str; 3] = ["shop_owner", "shop_readwrite", "shop_readonly"];

fn all_marked() -> Vec<RoleFacts> {
    SHOP.iter().map(|r| marked(r, "shop")).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn model() -> Model {
    Model {
        id: Known::Unknown,
        name: "shop".into(),
        owner: Known::Value("shop_owner".into()),
        extensions: Known::Null,
        connection_limit: -1,
        encoding: Known::Unknown,
        lc_collate: Known::Unknown,
        lc_ctype: Known::Unknown,
        template: Some("template0".into()),
        deletion_protection: true,
        pgbouncer_auth: true,
        host: Known::Unknown,
        port: Known::Unknown,
        settings: Known::Null,
        schemas: None,
    }
}

fn settings(owner: &str, limit: i64) -> DatabaseSettings {
    DatabaseSettings {
        owner: owner.into(),
        connection_limit: limit,
        encoding: "UTF8".into(),
        lc_collate: "C".into(),
        lc_ctype: "C".into(),
    }
}

fn endpoint() -> Endpoint {
    ("pgbouncer.local".into(), 6432)
}

fn dependency(role: &str, database: &str, owned: bool) -> ForeignDependency {
    ForeignDependency {
        role: role.into(),
        database: database.into(),
        kind: "table".into(),
        object: "public.t".into(),
        owned,
    }
}

/// The error's only diagnostic: its attribute and its text (summary and detail).
fn rendered(e: &Error) -> (Option<AttributePath>, String) {
    let d = &e.diagnostics()[0];
    assert_eq!(e.diagnostics().len(), 1);
    (d.attribute.clone(), format!("{} {}", d.summary, d.detail))
}

fn on(attr: &str) -> Option<AttributePath> {
    Some(AttributePath::attr(attr))
}

/// The private state of a complete create.
fn settled() -> Private {
    created_private(&shop_roles())
}

/// A private state recording `roles` as created (owner `shop_owner`).
fn created(roles: &[&str]) -> Private {
    Private {
        managed_owner: Some("shop_owner".into()),
        created_roles: Some(strings(roles)),
        imported: false,
    }
}

mod create;
mod destroy;
mod read_update;
mod schemas;
mod settings;
