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
use crate::resources::vault_role_rules::generated_statements_for;
use crate::sql;

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
        // A role of a connection whose admin is a dedicated Vault admin login keeps
        // calling its functions (issue 22): the prior statements say which form.
        let via_admin = prior.statements().iter().any(|list| {
            list.as_option().is_some_and(|l| {
                let texts: Vec<String> = l.iter().filter_map(|t| t.as_option().cloned()).collect();
                sql::calls_vault_admin_functions(&texts)
            })
        });
        let generated = generated_statements_for(
            engine,
            database,
            owner.map(String::as_str),
            access,
            via_admin,
        )
        .ok()?;
        // Issue 22: with the limit written in (unknown until known; Redis refused at apply).
        if super::limits::unknown(planned) {
            return None;
        }
        let generated =
            super::limits::limited(engine, generated, super::limits::planned(planned)).ok()?;
        let values = if planned.is_static() {
            // Issue 22: MySQL dual passwords keep the previous one on rotation.
            let retain =
                engine == Engine::Mysql && planned.retain_previous_password == Known::Value(true);
            let rotation = if retain {
                super::schedule::retaining_previous(generated.rotation)
            } else {
                generated.rotation
            };
            [Vec::new(), Vec::new(), rotation]
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
    // Issue 22: a login create_login will make must not exist yet (apply checks again,
    // and judges the login once made).
    let make_login =
        plan.prior.is_null() && planned.is_static() && planned.create_login == Known::Value(true);
    let g = Guarded {
        mount: client.vault_mount(role.mount.as_option().map(String::as_str)),
        connection: planned.connection.as_option().cloned(),
        database: planned.database.as_option().cloned(),
        username: if planned.is_static() && !make_login {
            planned.username.as_option().cloned()
        } else {
            None
        },
        custom: configured(&config),
        engine: None,
    };
    if let Err(e) = guard::check(client, &g, Phase::Plan).await.map(drop) {
        e.report(&mut plan.diags);
    }
    if let (true, Some(user), Some(conn)) = (
        make_login,
        planned.username.as_option(),
        g.connection.as_deref(),
    ) {
        if let Some(engine) = guard::engine_at_plan(client, &g.mount, conn).await {
            if let Err(e) = login_absent_at_plan(client, engine, user).await {
                e.report(&mut plan.diags);
            }
        }
    }
}

/// At plan, where the connection's server can be read: the login `create_login` would
/// make exists already (refused; unreadable: left to apply).
async fn login_absent_at_plan(
    client: &Backends,
    engine: Engine,
    user: &str,
) -> Result<(), tfplugin::Error> {
    let exists = match engine {
        Engine::Postgres if client.settings.postgres.is_some() => match client.postgres().await {
            Ok(pg) => pg.role_facts(&[user]).await.ok().map(|f| !f.is_empty()),
            Err(_) => None,
        },
        Engine::Mysql if client.settings.mysql.is_some() => match client.mysql().await {
            Ok(my) => my.login_facts(user, "").await.ok().map(|f| f.exists),
            Err(_) => None,
        },
        _ => None,
    };
    match exists {
        Some(exists) => super::schedule::login_to_create(user, exists, &[]),
        None => Ok(()),
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

/// What `default_ttl`, `max_ttl` and `rotation_period` are planned as when the
/// configuration leaves them unset on a role of the mode they apply to.
pub const DEFAULT_SECONDS: i64 = 86400;

/// A TTL or period the configuration gets wrong for its mode (issue 21): an attribute of
/// the other mode set, or a `default_ttl` (given or defaulted) above `max_ttl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TtlProblem {
    /// `attr` applies only to the other mode.
    OtherMode {
        /// The attribute set.
        attr: &'static str,
        /// Whether the role is static.
        is_static: bool,
    },
    /// `default_ttl` above `max_ttl`; `defaulted` names which one was left unset.
    AboveMax {
        /// `default_ttl`.
        default_ttl: i64,
        /// `max_ttl`.
        max_ttl: i64,
        /// The unset one, planned as [`DEFAULT_SECONDS`].
        defaulted: Option<&'static str>,
    },
}

impl TtlProblem {
    /// The diagnostic, at the attribute to change.
    pub(super) fn report(&self, diags: &mut tfplugin::Diagnostics) {
        use tfplugin::AttributePath;
        match self {
            TtlProblem::OtherMode { attr, is_static } => {
                let (mode, other, why) = if *is_static {
                    (
                        "static",
                        "dynamic",
                        "a static role rotates one login on `rotation_period`; it issues no leases",
                    )
                } else {
                    (
                        "dynamic",
                        "static",
                        "a dynamic role issues leases; nothing is rotated on a schedule",
                    )
                };
                diags.error_at(
                    AttributePath::attr(attr),
                    format!("{attr} does not apply to {mode} roles"),
                    format!("`{attr}` applies only to `mode = \"{other}\"` ({why}): remove it, or change `mode`."),
                );
            }
            TtlProblem::AboveMax {
                default_ttl,
                max_ttl,
                defaulted,
            } => {
                let (at, how) = match defaulted {
                    Some("default_ttl") => ("max_ttl", format!("`default_ttl` is unset and defaults to {default_ttl}: set `default_ttl` to at most {max_ttl}, or raise `max_ttl`.")),
                    Some(_) => ("default_ttl", format!("`max_ttl` is unset and defaults to {max_ttl}: set `max_ttl` to at least {default_ttl}, or lower `default_ttl`.")),
                    None => ("default_ttl", format!("Lower `default_ttl` to at most {max_ttl}, or raise `max_ttl`.")),
                };
                diags.error_at(
                    tfplugin::AttributePath::attr(at),
                    "default_ttl exceeds max_ttl",
                    format!("default_ttl ({default_ttl}) must not exceed max_ttl ({max_ttl}); Vault refuses such a role. {how}"),
                );
            }
        }
    }
}

/// The mode a configuration or plan states: `None` while unknown (null is the default,
/// `dynamic`).
pub(super) fn mode_is_static(v: &PlanView) -> Option<bool> {
    match &v.mode {
        Known::Unknown => None,
        Known::Null => Some(false),
        Known::Value(m) => Some(m == crate::enums::RoleMode::Static.as_str()),
    }
}

/// The problems of a configuration's TTLs and period, decided from what is known: the
/// mode known, an attribute of the other mode set (unknown counts as set); both TTLs
/// known (an unset one at [`DEFAULT_SECONDS`]), `default_ttl` above `max_ttl`. Run at
/// validate and again when Terraform validates the evaluated configuration at plan.
pub(super) fn ttl_problems(config: &PlanView) -> Vec<TtlProblem> {
    let Some(is_static) = mode_is_static(config) else {
        return Vec::new();
    };
    let attrs = [
        ("default_ttl", &config.default_ttl, !is_static),
        ("max_ttl", &config.max_ttl, !is_static),
        ("rotation_period", &config.rotation_period, is_static),
    ];
    let mut problems: Vec<TtlProblem> = attrs
        .iter()
        .filter(|(_, v, applies)| !applies && !v.is_null())
        .map(|(attr, _, _)| TtlProblem::OtherMode { attr, is_static })
        .collect();
    if is_static {
        return problems;
    }
    let seconds = |v: &Known<tfplugin::Number>| match v {
        Known::Null => Some((DEFAULT_SECONDS, true)),
        Known::Value(n) => n.as_i64().map(|n| (n, false)),
        Known::Unknown => None,
    };
    if let (Some((d, d_default)), Some((m, m_default))) =
        (seconds(&config.default_ttl), seconds(&config.max_ttl))
    {
        if d > m {
            let defaulted = match (d_default, m_default) {
                (true, _) => Some("default_ttl"),
                (_, true) => Some("max_ttl"),
                _ => None,
            };
            problems.push(TtlProblem::AboveMax {
                default_ttl: d,
                max_ttl: m,
                defaulted,
            });
        }
    }
    problems
}

/// The TTLs and period a plan writes where the configuration leaves them unset: those
/// of the role's mode at [`DEFAULT_SECONDS`] when not planned yet (create, or null), the
/// other mode's null; a value already planned from the prior state stays (a role made
/// before issue 21 holds defaults for both modes: no diff). `None` while the mode is
/// unknown.
pub(super) fn ttl_edit(config: &PlanView, planned: &PlanView) -> Option<PlanEdit> {
    let is_static = mode_is_static(planned)?;
    let slot = |cfg: &Known<tfplugin::Number>, plan: &Known<tfplugin::Number>, applies: bool| {
        if !cfg.is_null() {
            return None;
        }
        match (plan, applies) {
            (Known::Unknown, true) | (Known::Null, true) => Some(Some(DEFAULT_SECONDS)),
            (Known::Unknown, false) => Some(None),
            _ => None,
        }
    };
    // Issue 22: a static role on a `rotation_schedule` has no period (null, also when
    // the prior state held one).
    let scheduled = !config.rotation_schedule.is_null();
    let rotation_period = if scheduled && config.rotation_period.is_null() {
        (!planned.rotation_period.is_null()).then_some(None)
    } else {
        slot(&config.rotation_period, &planned.rotation_period, is_static)
    };
    Some(PlanEdit {
        default_ttl: slot(&config.default_ttl, &planned.default_ttl, !is_static),
        max_ttl: slot(&config.max_ttl, &planned.max_ttl, !is_static),
        rotation_period,
        ..PlanEdit::default()
    })
}

/// `modify_plan`: the TTLs and period of [`ttl_edit`].
pub(super) fn ttls(plan: &mut Plan<'_>) {
    let Some((config, planned)) = plan_views::<PlanView>(plan) else {
        return;
    };
    if let Some(edit) = ttl_edit(&config, &planned) {
        merge(&mut plan.diags, &mut plan.planned, &edit);
    }
}

/// `modify_plan`: a role whose login the provider made (`create_login`) is replaced when
/// `username` changes: the old login goes with the old role, the new one is made.
pub(super) fn login_replacement(plan: &mut Plan<'_>) {
    if plan.prior.is_null() || plan.planned.is_null() {
        return;
    }
    let Some((prior, _config, planned)) = plan_views_with_prior::<PlanView>(plan) else {
        return;
    };
    if planned.create_login == Known::Value(true) && prior.username != planned.username {
        plan.requires_replace
            .push(tfplugin::AttributePath::attr("username"));
    }
}
