//! The database's CRUD, each method in three moves: observe (catalog reads, `execute`),
//! decide (pure, `decide`), execute the step (`execute`).

use tfplugin::{Applied, Error, Failure, OrDiag, Value};

use super::decide::{
    cannot_drop, check_owned_elsewhere, created_private, decide_create, decide_destroy,
    decide_owner, decide_read, destroy_warnings, extension_change, incomplete_warning,
    owner_left_warning, partial_state, state_from, template_refused, update_statements,
    wanted_admin_schemas, DestroyRefusal, OwnerStep, ReadOutcome, Warning,
};
use super::execute::{
    admin_schemas, build_database, change_owner, create_facts, create_roles, destroy_facts, drain,
    drop_everything, extension_statements, read_back, read_facts, remove_failed_create, resume,
    settings_update, settled_for_update, template_refusal, Dropped, ReadBack,
};
use super::settings::apply_error;
use super::{auth_user, endpoint, schemas, Model, SharedPostgresDatabase, Spec};
use crate::backends::postgres::Postgres;
use crate::backends::Backends;
use crate::resources::common::Ctx;
use crate::resources::common::OrReach;
use crate::resources::postgres_marks::{sort_elsewhere, Private};
use crate::sql;

#[async_trait::async_trait]
impl tfplugin::TypedResource<Backends> for SharedPostgresDatabase {
    type Model = Model;

    async fn create(&self, ctx: &mut Ctx<'_>, planned: Model, _config: &Value) -> Applied<Model> {
        let spec = Spec::from(&planned);
        let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
        let cannot = format!("Cannot create database {:?}", spec.name);
        let template = template_refusal(pg, &spec.template).await;
        if let Some(why) = template.or_diag(&cannot)? {
            return Err(template_refused(why).into());
        }
        let facts = create_facts(pg, &spec).await.or_diag(&cannot)?;
        let step = decide_create(&spec.name, &spec.roles, &facts).map_err(|r| r.error())?;
        warn(ctx, step.warnings(&spec.name));
        create_roles(pg, &spec, &step.missing)
            .await
            .or_diag(&cannot)?;
        let auth = spec.pgbouncer_auth.then(|| auth_user(ctx));
        let mut made_database = false;
        let built = build_database(pg, &spec, auth.as_deref(), step.resume, &mut made_database);
        if let Err(e) = built.await {
            let (code, detail) = (e.code.as_deref(), e.to_string());
            let error = apply_error(&spec.settings, &cannot, code, &e.message, detail);
            return Err(failed_create(ctx, pg, &planned, &spec, made_database, error).await);
        }
        let wanted = planned.schemas.as_deref();
        if let Err(error) = schemas::apply(pg, &spec.name, &spec.roles, None, wanted, &cannot).await
        {
            return Err(failed_create(ctx, pg, &planned, &spec, made_database, error).await);
        }
        ctx.private = created_private(&spec.roles).to_bytes();
        let after = format!("Cannot read database {:?} after creating it", spec.name);
        match read_back(pg, &spec.name, &ctx.cancel).await {
            ReadBack::Read(Some(cur)) => Ok(state_from(&endpoint(ctx), &planned, &cur, None)),
            ReadBack::Read(None) => Err(Error::new(
                format!("Database {:?} vanished right after creation", spec.name),
                "Something dropped it concurrently.",
            )
            .into()),
            ReadBack::Failed(e) => Err(Error::new(after, e.to_string())
                .tainted(partial_state(&endpoint(ctx), &planned, &spec))),
            ReadBack::Stopped => Err(Error::new(after, "Terraform asked the provider to stop before the new database could be read back. It is complete; Terraform records it as tainted, as after a lost connection.")
                .tainted(partial_state(&endpoint(ctx), &planned, &spec))),
        }
    }

    async fn read(&self, ctx: &mut Ctx<'_>, model: Model) -> Result<Option<Model>, Error> {
        let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
        let private = Private::parse(&ctx.private);
        let managed = (!model.extensions.is_null(), !model.settings.is_null());
        let facts = read_facts(pg, &model.name, managed, &private).await?;
        match decide_read(&model, &private, facts, &endpoint(ctx)) {
            ReadOutcome::Gone => Ok(None),
            ReadOutcome::Present { mut state, private } => {
                if let Some(settled) = private {
                    ctx.private = settled.to_bytes();
                }
                let owner = state.owner.as_option().cloned().unwrap_or_default();
                let found = schemas::observe(pg, &model.name, &owner, model.schemas.as_deref());
                let cannot = format!("Cannot read the schemas of database {:?}", model.name);
                state.schemas = found.await.or_diag(cannot)?;
                Ok(Some(*state))
            }
        }
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_>,
        prior: Model,
        planned: Model,
        _config: &Value,
    ) -> Applied<Model> {
        let spec = Spec::from(&planned);
        let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
        let cannot = format!("Cannot update database {:?}", spec.name);
        let auth = auth_user(ctx);
        let (before, added) = extension_change(&prior, &spec);
        // The schemas about to be installed into, checked before anything changes.
        let pgbouncer_on = spec.pgbouncer_auth && !prior.pgbouncer_auth;
        let wanted = wanted_admin_schemas(pgbouncer_on, !added.is_empty());
        let create = admin_schemas(pg, &spec.name, &wanted)
            .await
            .or_diag(&cannot)?
            .map_err(|r| Error::at_attr(r.attr, "Schema open to the tenant", r.why))?;
        update_owner(ctx, pg, &prior, &spec, &cannot).await?;
        let (mut admin, mut inside) = update_statements(&prior, &spec, &auth, &create, &before);
        let settings = settings_update(pg, &spec.name, &prior.settings, &planned.settings);
        admin.extend(settings.await.or_diag(&cannot)?);
        if let Err(e) = pg.exec_all(&admin).await {
            let (code, detail) = (e.code.as_deref(), e.to_string());
            return Err(apply_error(&spec.settings, &cannot, code, &e.message, detail).into());
        }
        if spec.extensions.is_some() {
            let fresh_schema = create.contains(sql::EXTENSION_SCHEMA);
            let install = extension_statements(pg, &spec, &added, fresh_schema).await;
            inside.extend(install.or_diag(&cannot)?);
        }
        pg.exec_in(&spec.name, &inside).await.or_diag(&cannot)?;
        let (before, after) = (prior.schemas.as_deref(), planned.schemas.as_deref());
        schemas::apply(pg, &spec.name, &spec.roles, before, after, &cannot).await?;
        match pg.database_settings(&spec.name).await.or_diag(&cannot)? {
            Some(cur) => {
                let extensions = spec.extensions.clone();
                Ok(state_from(&endpoint(ctx), &planned, &cur, extensions))
            }
            None => Err(Error::new(
                format!("Database {:?} disappeared during update", spec.name),
                "Something dropped it concurrently.",
            )
            .into()),
        }
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let spec = Spec::from(&prior);
        let name = spec.name.as_str();
        let private = Private::parse(&ctx.private);
        let pg = match ctx.client.postgres().await {
            Ok(pg) => pg,
            // Protected: say so first, whatever else is wrong.
            Err(_) if prior.deletion_protection => {
                return Err(DestroyRefusal::Protected { name: name.into() }.error())
            }
            Err(e) => return Err(e).or_reach("PostgreSQL"),
        };
        let cannot = cannot_drop(name);
        let (database, roles) = destroy_facts(pg, &spec, &private).await.or_diag(&cannot)?;
        let protected = prior.deletion_protection;
        let plan = decide_destroy(name, protected, &private, database.as_ref(), &roles)
            .map_err(|r| r.error())?;
        // Privileges others granted to these roles (another tenant's GRANT, say) are
        // theirs to lose: revoked once the database is gone (DROP OWNED also revokes the
        // roles' CONNECT on their own database, which must last while this may fail).
        let deps = pg.foreign_dependencies(&plan.created, name).await;
        let owned = sort_elsewhere(&deps.or_diag(&cannot)?, &plan.created).owned;
        check_owned_elsewhere(name, owned).map_err(|r| r.error())?;
        let pgb = ctx.client.pgbouncer().await.or_reach("PgBouncer")?;
        drain(pgb, name).await?;
        let mut dropped = Dropped::default();
        let result = drop_everything(pg, name, &plan.created, &mut dropped).await;
        resume(pgb, name, &mut ctx.diags).await;
        let (revoked, kept) = (&dropped.revoked, &dropped.kept);
        let ok = result.is_ok();
        warn(
            ctx,
            destroy_warnings(name, revoked, kept, &plan.adopted, ok),
        );
        result.or_diag(&cannot)
    }
}

/// Records warnings, in order.
fn warn(ctx: &mut Ctx<'_>, warnings: Vec<Warning>) {
    for (summary, detail) in warnings {
        ctx.diags.warning(summary, detail);
    }
}

/// A build that failed leaves nothing half made: what this create made is removed. When
/// that fails too (the server went away), what exists is returned tainted, so Terraform
/// replaces it next time.
async fn failed_create(
    ctx: &mut Ctx<'_>,
    pg: &Postgres,
    planned: &Model,
    spec: &Spec,
    made_database: bool,
    error: Error,
) -> Failure<Model> {
    let private = created_private(&spec.roles);
    let created = private.created_roles.clone().unwrap_or_default();
    if remove_failed_create(pg, spec, made_database, &created)
        .await
        .is_ok()
    {
        return error.into();
    }
    ctx.private = private.to_bytes();
    warn(ctx, vec![incomplete_warning(&spec.name)]);
    error.tainted(partial_state(&endpoint(ctx), planned, spec))
}

/// Settles which roles this resource created, then renames or replaces the owner role
/// when the configured owner differs from the managed one. Server errors are reported
/// under `cannot`; a refusal on `owner`.
async fn update_owner(
    ctx: &mut Ctx<'_>,
    pg: &Postgres,
    prior: &Model,
    spec: &Spec,
    cannot: &str,
) -> Result<(), Error> {
    let private = Private::parse(&ctx.private);
    let prior_owner = prior.owner.as_option().cloned().unwrap_or_default();
    let managed = private.managed_owner.clone().unwrap_or(prior_owner);
    let settled = settled_for_update(pg, private, &spec.name, &managed).await;
    let private = settled.or_diag(cannot)?;
    let new_owner = spec.roles.owner.as_str();
    if managed == new_owner {
        return Ok(());
    }
    let existing = pg.existing_roles(&[new_owner, &managed]).await;
    let existing = existing.or_diag(cannot)?;
    let decided = decide_owner(&private, &managed, new_owner, &existing);
    let Some(change) = decided.map_err(|taken| taken.error())? else {
        return Ok(());
    };
    change_owner(pg, spec, &change.step).await.or_diag(cannot)?;
    if let OwnerStep::Create { left: Some(left) } = &change.step {
        warn(ctx, vec![owner_left_warning(left, new_owner)]);
    }
    ctx.private = change.private.to_bytes();
    Ok(())
}
