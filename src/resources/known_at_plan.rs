//! What a plan can know from configuration (issue 21): where apps connect (`host`,
//! `port`, by [`Settings::app_endpoint`], the rule apply and `dbaas_endpoints` follow),
//! ids and Vault paths that follow from names and mounts. Planned with their values on
//! create (a replacement plans a create, so they stay known across it) and, for the
//! endpoint, on every change; unknown only while the provider block they come from is
//! itself unknown at plan. And the refusal, at plan, of a resource whose provider block
//! is absent (it would fail at apply with "not configured"). The decisions are pure
//! functions, table-tested below; the `plan_*` functions apply them to a plan.

use serde::{Deserialize, Serialize};
use tfplugin::{AttributePath, Diagnostics, Known, Plan};

use crate::backends::settings::{AppEndpoint, Settings};
use crate::enums::Engine;
use crate::resources::common::{decode, merge};
use crate::resources::vault_role_rules::{creds_path, policy_for};

/// A provider block a resource type needs, and the attribute a refusal points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The provider block, e.g. `redis`.
    pub block: &'static str,
    /// The resource's attribute the refusal is reported at.
    pub attr: &'static str,
    /// What the resource does through the block (completes "<type> ...").
    pub does: &'static str,
}

/// A resource type needs a provider block the configuration does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingBlock {
    /// The resource type.
    pub resource: &'static str,
    /// What it needs.
    pub needs: Needs,
}

impl MissingBlock {
    /// The refusal, at the attribute that needs the block.
    pub fn report(&self, diags: &mut Diagnostics) {
        let Needs { block, attr, does } = self.needs;
        let env = match block {
            "postgres" => " (or set PGHOST)",
            "vault" => " (or set VAULT_ADDR)",
            _ => "",
        };
        diags.error_at(
            AttributePath::attr(attr),
            format!("{} needs the provider's `{block}` block", self.resource),
            format!(
                "{} {does}, and provider \"dbaas\" has no `{block}` block: add `{block} {{ ... }}` to provider \"dbaas\"{env}.",
                self.resource
            ),
        );
    }
}

/// Whether the settings have block `name`, known or configured from values not known yet.
fn has_block(s: &Settings, name: &str) -> bool {
    let present = match name {
        "postgres" => s.postgres.is_some(),
        "pgbouncer" => s.pgbouncer.is_some(),
        "mysql" => s.mysql.is_some(),
        "redis" => s.redis.is_some(),
        "vault" => s.vault.is_some(),
        _ => false,
    };
    present || s.is_unknown(name)
}

/// The blocks of `needs` the provider configuration lacks, each a refusal.
pub fn missing_blocks(s: &Settings, resource: &'static str, needs: &[Needs]) -> Vec<MissingBlock> {
    needs
        .iter()
        .filter(|n| !has_block(s, n.block))
        .map(|&needs| MissingBlock { resource, needs })
        .collect()
}

/// The provider block holding the admin login of `engine`.
pub fn admin_block(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "postgres",
        Engine::Mysql => "mysql",
        Engine::Redis => "redis",
    }
}

/// `host` and `port` as planned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedEndpoint {
    /// Host apps use.
    pub host: Known<String>,
    /// Port apps use.
    pub port: Known<i64>,
}

/// Where apps connect for `engine`, as a plan can tell: known from the settings, unknown
/// while the block it comes from is not known yet (or absent: refused beforehand).
pub fn planned_endpoint(s: &Settings, engine: Engine) -> PlannedEndpoint {
    match s.app_endpoint(engine) {
        AppEndpoint::At(host, port) => PlannedEndpoint {
            host: Known::Value(host),
            port: Known::Value(port.into()),
        },
        AppEndpoint::NotKnownYet(_) | AppEndpoint::NotConfigured(_) => PlannedEndpoint {
            host: Known::Unknown,
            port: Known::Unknown,
        },
    }
}

/// What a tenant store (database or namespace) plans: `id` (= name) on create, `host`
/// and `port` on every change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreEdit {
    /// `id`, planned on create only (it never changes after).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Known<String>>,
    /// Where apps connect.
    #[serde(flatten)]
    pub endpoint: PlannedEndpoint,
}

/// The planned values of a tenant store being created (`creating`) or changed.
pub fn store_edit(creating: bool, name: &Known<String>, s: &Settings, engine: Engine) -> StoreEdit {
    StoreEdit {
        id: creating.then(|| name.clone()),
        endpoint: planned_endpoint(s, engine),
    }
}

/// The Vault mount a resource uses as planned: its own, else the provider's (unknown
/// while the `vault` block is not known yet).
pub fn planned_mount(configured: &Known<String>, s: &Settings) -> Known<String> {
    match configured {
        Known::Null if s.is_unknown("vault") => Known::Unknown,
        Known::Null => Known::Value(s.vault_mount().to_string()),
        other => other.clone(),
    }
}

/// `<mount>/<name>`, once both are known.
fn vault_id(mount: &Known<String>, name: &Known<String>) -> Known<String> {
    match (mount, name) {
        (Known::Value(m), Known::Value(n)) => Known::Value(format!("{m}/{n}")),
        _ => Known::Unknown,
    }
}

/// What a rotation role plans on create.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolePaths {
    /// `<mount>/<name>`.
    pub id: Known<String>,
    /// The mount.
    pub mount: Known<String>,
    /// `<mount>/creds/<name>` or `<mount>/static-creds/<name>`.
    pub creds_path: Known<String>,
    /// The policy granting `read` on `creds_path`.
    pub policy: Known<String>,
}

/// A new rotation role's id, mount, credentials path and policy (`stat`: static mode).
pub fn role_paths(
    name: &Known<String>,
    configured_mount: &Known<String>,
    stat: Known<bool>,
    s: &Settings,
) -> RolePaths {
    let mount = planned_mount(configured_mount, s);
    let creds = match (&mount, name, stat) {
        (Known::Value(m), Known::Value(n), Known::Value(stat)) => {
            Known::Value(creds_path(m, n, stat))
        }
        _ => Known::Unknown,
    };
    RolePaths {
        id: vault_id(&mount, name),
        policy: creds
            .as_option()
            .map_or(Known::Unknown, |c| Known::Value(policy_for(c))),
        creds_path: creds,
        mount,
    }
}

/// What a Vault connection plans on create.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionPaths {
    /// `<mount>/<name>`.
    pub id: Known<String>,
    /// The mount.
    pub mount: Known<String>,
    /// The Vault plugin of the engine.
    pub plugin_name: Known<String>,
}

/// A new connection's id, mount and plugin.
pub fn connection_paths(
    name: &Known<String>,
    configured_mount: &Known<String>,
    engine: Option<Engine>,
    s: &Settings,
) -> ConnectionPaths {
    let mount = planned_mount(configured_mount, s);
    ConnectionPaths {
        id: vault_id(&mount, name),
        mount,
        plugin_name: engine.map_or(Known::Unknown, |e| Known::Value(e.vault_plugin().into())),
    }
}

/// What the plan hooks below read of a planned object or configuration.
#[derive(Debug, Deserialize)]
struct View {
    name: Known<String>,
    #[serde(default)]
    mount: Known<String>,
    #[serde(default)]
    mode: Known<String>,
    #[serde(default)]
    engine: Known<String>,
    #[serde(default)]
    connection_url: Known<serde::de::IgnoredAny>,
}

/// Whether the plan creates or changes the object (an unchanged one is left alone).
fn changing(plan: &Plan<'_>) -> bool {
    !plan.planned.is_null() && (plan.prior.is_null() || plan.planned != *plan.prior)
}

/// Refuses what lacks a block; `true` when the plan may go on.
fn refuse_missing(
    plan: &mut Plan<'_>,
    s: &Settings,
    resource: &'static str,
    needs: &[Needs],
) -> bool {
    let missing = missing_blocks(s, resource, needs);
    for m in &missing {
        m.report(&mut plan.diags);
    }
    missing.is_empty()
}

/// `plan_with_client` of a tenant database or namespace on `engine`.
pub fn plan_store(
    plan: &mut Plan<'_>,
    s: &Settings,
    resource: &'static str,
    engine: Engine,
    needs: Needs,
) {
    if !changing(plan) || !refuse_missing(plan, s, resource, &[needs]) {
        return;
    }
    let Some(planned) = decode::<View>(&mut plan.diags, &plan.planned) else {
        return;
    };
    let edit = store_edit(plan.prior.is_null(), &planned.name, s, engine);
    merge(&mut plan.diags, &mut plan.planned, &edit);
}

/// The `vault` block, as the Vault resources need it.
const VAULT: Needs = Needs {
    block: "vault",
    attr: "name",
    does: "writes it in Vault",
};

/// `plan_with_client` of `dbaas_vault_rotation_role`.
pub fn plan_role(plan: &mut Plan<'_>, s: &Settings) {
    if !changing(plan) || !refuse_missing(plan, s, "dbaas_vault_rotation_role", &[VAULT]) {
        return;
    }
    if !plan.prior.is_null() {
        return;
    }
    let (Some(config), Some(planned)) = (
        decode::<View>(&mut plan.diags, plan.config),
        decode::<View>(&mut plan.diags, &plan.planned),
    ) else {
        return;
    };
    let stat = match planned.mode {
        Known::Value(m) => Known::Value(m == crate::enums::RoleMode::Static.as_str()),
        _ => Known::Unknown,
    };
    let edit = role_paths(&planned.name, &config.mount, stat, s);
    merge(&mut plan.diags, &mut plan.planned, &edit);
}

/// `plan_with_client` of `dbaas_vault_database_connection`: the `vault` block, and the
/// engine's admin block when `connection_url` is left to it.
pub fn plan_connection(plan: &mut Plan<'_>, s: &Settings) {
    if !changing(plan) {
        return;
    }
    let (Some(config), Some(planned)) = (
        decode::<View>(&mut plan.diags, plan.config),
        decode::<View>(&mut plan.diags, &plan.planned),
    ) else {
        return;
    };
    let engine = planned.engine.as_option().and_then(|e| Engine::parse(e));
    let mut needs = vec![VAULT];
    if let (Some(e), true) = (engine, config.connection_url.is_null()) {
        needs.push(Needs {
            block: admin_block(e),
            attr: "engine",
            does: "defaults `connection_url`, `username` and `password` from the engine's admin block (or set `connection_url`)",
        });
    }
    const RESOURCE: &str = "dbaas_vault_database_connection";
    if !refuse_missing(plan, s, RESOURCE, &needs) || !plan.prior.is_null() {
        return;
    }
    let edit = connection_paths(&planned.name, &config.mount, engine, s);
    merge(&mut plan.diags, &mut plan.planned, &edit);
}

#[cfg(test)]
mod tests;
