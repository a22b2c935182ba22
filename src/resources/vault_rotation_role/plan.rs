//! The rotation role's plan hooks: statements left to the provider are planned as it
//! would generate them now (so an edit made in Vault shows as a change and is reverted),
//! a planned role is remembered for the ephemeral credentials, and the issue 19 rules
//! run at plan where the catalog can be read.

use tfplugin::{Known, Plan};

use super::decide::configured;
use super::redis::recorded_namespace;
use super::{guard, planned_statements, PlanEdit, PlanView, PlannedStatements, RoleName};
use crate::backends::Backends;
use crate::enums::Engine;
use crate::resources::common::{merge, plan_views, plan_views_with_prior};
use crate::resources::role_guard::verdict::{Guarded, Phase};
use crate::resources::vault_role_rules::generated_statements;

/// `modify_plan`: statements left to the provider, as it would generate them now.
pub(super) fn statements(plan: &mut Plan<'_>) {
    if plan.prior.is_null() {
        return;
    }
    let Some((prior, config, planned)) = plan_views_with_prior::<PlanView>(plan) else {
        return;
    };
    if let Some(edit) = statements_edit(&prior, &config, &planned) {
        merge(&mut plan.diags, &mut plan.planned, &edit);
    }
}

/// The statements (and owner) an update plans for those left to the provider: what it
/// would generate now, so an edit made in Vault behind Terraform's back (say, a
/// SUPERUSER creation statement) shows as a change and is reverted on apply. `None`:
/// Terraform's plan stands (an engine, database or access not known yet, or a name the
/// validators already refused).
pub(super) fn statements_edit(
    prior: &PlanView,
    config: &PlanView,
    planned: &PlanView,
) -> Option<PlanEdit> {
    let engine = prior.engine()?;
    let database = planned.database.as_option()?;
    let access = planned.access()?;
    let mut edit = PlanEdit::default();
    let unset = config.statements().map(|s| s.is_null());
    let values: [PlannedStatements; 3] = if engine == Engine::Redis {
        // Redis rules come from the namespace's live ACL at apply: keep them while
        // what they derive from is unchanged, else recompute at apply.
        let same = prior.connection == planned.connection
            && prior.database == planned.database
            && prior.access == planned.access;
        prior
            .statements()
            .map(|before| if same { before.clone() } else { Known::Unknown })
    } else if engine == Engine::Postgres && prior.database != planned.database {
        // PostgreSQL: another database has an owner only apply can read.
        edit.database_owner = Some(Known::Unknown);
        [Known::Unknown, Known::Unknown, Known::Unknown]
    } else {
        // PostgreSQL: the owner read from the catalog at refresh.
        let owner = prior.database_owner.as_option();
        let generated =
            generated_statements(engine, database, owner.map(String::as_str), access).ok()?;
        let values = if planned.is_static() {
            [Vec::new(), Vec::new(), generated.rotation]
        } else {
            [generated.creation, generated.revocation, Vec::new()]
        };
        values.map(planned_statements)
    };
    for ((slot, v), unset) in edit.statements().into_iter().zip(values).zip(unset) {
        if unset {
            *slot = Some(v);
        }
    }
    Some(edit)
}

/// `plan_with_client`: remembered for `ephemeral "dbaas_database_credentials"`: opened
/// at plan time for this role before it exists, it answers "known after apply".
pub(super) fn remember_role(client: &Backends, plan: &mut Plan<'_>) {
    // Remembered for `ephemeral "dbaas_database_credentials"`: opened at plan time
    // for this role before it exists, it answers "known after apply".
    let Ok(role) = plan.planned.to_model::<RoleName>() else {
        return;
    };
    if let Some(name) = role.name.as_option() {
        let mount = client.vault_mount(role.mount.as_option().map(String::as_str));
        client.note_planned_role(&mount, name);
    }
}

/// `check_plan`: issue 19, a role being created or changed is checked now where the
/// catalog can be read (apply checks again); an unchanged one dials nothing.
pub(super) async fn check(client: &Backends, plan: &mut Plan<'_>) {
    // Issue 19: a role being created or changed is checked now where the catalog can
    // be read (apply checks again); an unchanged one dials nothing.
    if plan.planned.is_null() || (!plan.prior.is_null() && plan.planned == *plan.prior) {
        return;
    }
    let Some((config, planned)) = plan_views::<PlanView>(plan) else {
        return;
    };
    let Ok(role) = plan.planned.to_model::<RoleName>() else {
        return;
    };
    let g = Guarded {
        mount: client.vault_mount(role.mount.as_option().map(String::as_str)),
        connection: planned.connection.as_option().cloned(),
        database: planned.database.as_option().cloned(),
        username: if planned.is_static() {
            planned.username.as_option().cloned()
        } else {
            None
        },
        custom: configured(&config),
        engine: None,
    };
    if let Err(e) = guard::check(client, &g, Phase::Plan).await {
        e.report(&mut plan.diags);
    }
}

/// `plan_with_private`: Redis rules left to the provider are regenerated from the
/// namespace recorded at the last read, so an edit made in Vault shows as a change and
/// is reverted.
pub(super) fn redis_rules(prior_private: &[u8], plan: &mut Plan<'_>) {
    // Redis rules left to the provider are regenerated from the namespace recorded
    // at the last read, so an edit made in Vault shows as a change and is reverted.
    if plan.prior.is_null() || plan.planned.is_null() {
        return;
    }
    let Some((prior, config, planned)) = plan_views_with_prior::<PlanView>(plan) else {
        return;
    };
    if prior.engine() != Some(Engine::Redis)
        || planned.is_static()
        || !config.creation_statements.is_null()
        || prior.connection != planned.connection
        || prior.database != planned.database
    {
        return;
    }
    let (Some(ns), Some(access)) = (recorded_namespace(prior_private), planned.access()) else {
        return;
    };
    let generated = ns.statements(access);
    let edit = PlanEdit {
        creation_statements: Some(planned_statements(generated.creation)),
        revocation_statements: config
            .revocation_statements
            .is_null()
            .then(|| planned_statements(generated.revocation)),
        ..PlanEdit::default()
    };
    merge(&mut plan.diags, &mut plan.planned, &edit);
}
