//! The database's I/O: what the CRUD methods observe (catalog reads into the fact
//! structs of `decide`) and the steps they execute (statements, drains, the drop loop).
//! No rule lives here; `decide` holds them.

use std::collections::BTreeSet;
use std::time::Duration;

use tfplugin::{Cancel, Diagnostics, Error, OrDiag};

use super::decide::{
    self, admin_schema_plan, after_round, drop_after_failure, fresh_from_template0,
    template_verdict, wanted_admin_schemas, CreateFacts, OwnerStep, ReadFacts, Round,
    SchemaRefusal,
};
use super::settings::{from_catalog, settings_statements, update_baseline, Settings};
use super::Spec;
use crate::backends::pgbouncer::PgBouncerAdmin;
use crate::backends::postgres::{
    DatabaseFacts, DatabaseSettings, ForeignDependency, PgError, Postgres, RoleFacts,
};
use crate::enums::PgBouncerVerb;
use crate::resources::postgres_marks::{settle_created, sort_elsewhere, Private};
use crate::sql::{self, TenantRoles};

/// The template rule against the catalog: `Ok(Some(reason))` refuses (see
/// [`template_verdict`]).
pub(super) async fn template_refusal(
    pg: &Postgres,
    template: &str,
) -> Result<Option<String>, PgError> {
    if decide::is_builtin_template(template) {
        return Ok(None);
    }
    let found = pg.database_facts(template).await?;
    Ok(template_verdict(template, found.as_ref()))
}

/// What destroy's first rule reads: the database and the roles it would drop (the owner
/// this resource manages, by its private state, and the two group roles).
pub(super) async fn destroy_facts(
    pg: &Postgres,
    spec: &Spec,
    private: &Private,
) -> Result<(Option<DatabaseFacts>, Vec<RoleFacts>), PgError> {
    let owner = private
        .managed_owner
        .as_deref()
        .unwrap_or(&spec.roles.owner);
    let tenant_roles = [owner, &spec.roles.readwrite, &spec.roles.readonly];
    let database = pg.database_facts(&spec.name).await?;
    let roles = pg.role_facts(&tenant_roles).await?;
    Ok((database, roles))
}

/// What exists under the names a create is about to use.
pub(super) async fn create_facts(pg: &Postgres, spec: &Spec) -> Result<CreateFacts, PgError> {
    Ok(CreateFacts {
        database: pg.database_facts(&spec.name).await?,
        roles: pg.role_facts(&spec.roles.all()).await?,
    })
}

/// Creates the `missing` roles with their markers, in one transaction: a role never
/// exists unmarked.
pub(super) async fn create_roles(
    pg: &Postgres,
    spec: &Spec,
    missing: &[String],
) -> Result<(), PgError> {
    let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
    pg.exec_all(&[sql::create_marked_roles(
        &spec.name,
        &missing,
        &spec.roles.all(),
        &spec.roles.owner,
    )])
    .await
}

/// Builds the database once its roles exist (marked): closed at first, then isolated,
/// granted, opened, set up inside, and marked complete. Every step may be repeated, so a
/// create that was cut off resumes here. `made_database` says whether anything of the
/// database may exist when this fails.
pub(super) async fn build_database(
    pg: &Postgres,
    spec: &Spec,
    auth: Option<&str>,
    resume: bool,
    made_database: &mut bool,
) -> Result<(), PgError> {
    if !resume {
        if let Err(e) = pg
            .exec_all(&[sql::create_database(&create_options(spec))])
            .await
        {
            // A server error means nothing was made (a same-named database created
            // concurrently is someone else's); a lost connection leaves it unknown.
            *made_database = e.code.is_none();
            return Err(e);
        }
    }
    *made_database = true;
    let mut admin = vec![sql::comment_on_database(&spec.name, sql::DATABASE_CREATING)];
    admin.extend(sql::database_grants(&spec.name, &spec.roles, auth));
    // Issue 22: the guardrails are in place before anyone can connect.
    admin.extend(
        spec.settings
            .iter()
            .map(|(k, v)| sql::alter_database_set(&spec.name, k, v)),
    );
    // PUBLIC has lost CONNECT: only now may anyone connect at all.
    admin.push(sql::open_database(&spec.name));
    pg.exec_all(&admin).await?;
    let added: Vec<String> = spec.extensions.iter().flatten().cloned().collect();
    let wanted = wanted_admin_schemas(auth.is_some(), !added.is_empty());
    let create = if fresh_from_template0(resume, &spec.template) {
        wanted.iter().map(|(s, _)| *s).collect()
    } else {
        admin_schemas(pg, &spec.name, &wanted)
            .await?
            .map_err(|r| pg.refusal(r.why))?
    };
    let mut inside = sql::Script::from(sql::schema_setup(&spec.roles));
    if let Some(a) = auth {
        let fresh_schema = create.contains(sql::PGBOUNCER_SCHEMA);
        inside.extend(sql::pgbouncer_auth_setup(a, &spec.roles, fresh_schema));
    }
    let fresh_schema = create.contains(sql::EXTENSION_SCHEMA);
    inside.extend(extension_statements(pg, spec, &added, fresh_schema).await?);
    pg.exec_in(&spec.name, &inside).await?;
    pg.exec_all(&[sql::comment_on_database(&spec.name, sql::DATABASE_MANAGED)])
        .await
}

fn create_options(spec: &Spec) -> sql::CreateDatabase {
    sql::CreateDatabase {
        name: spec.name.clone(),
        owner: spec.roles.owner.clone(),
        template: Some(spec.template.clone()),
        encoding: spec.encoding.clone(),
        lc_collate: spec.lc_collate.clone(),
        lc_ctype: spec.lc_ctype.clone(),
        connection_limit: spec.connection_limit,
    }
}

/// The admin schemas about to be installed into in database `db`, checked against the
/// catalog before anything goes into them (see [`admin_schema_plan`]); no read when none
/// is wanted.
pub(super) async fn admin_schemas(
    pg: &Postgres,
    db: &str,
    wanted: &[(&'static str, &'static str)],
) -> Result<Result<BTreeSet<&'static str>, SchemaRefusal>, PgError> {
    if wanted.is_empty() {
        return Ok(Ok(BTreeSet::new()));
    }
    let names: Vec<&str> = wanted.iter().map(|(s, _)| *s).collect();
    let found = pg.schema_facts(db, &names).await?;
    Ok(admin_schema_plan(db, wanted, &found))
}

/// Statements that install `added` extensions safely: into the admin-owned extension
/// schema (created when `create_schema`, with the database's `search_path` extended to
/// it), never into the tenant-owned `public`, with `search_path` pinned while their
/// scripts run as superuser. Empty when nothing is added.
pub(super) async fn extension_statements(
    pg: &Postgres,
    spec: &Spec,
    added: &[String],
    create_schema: bool,
) -> Result<sql::Script, PgError> {
    if added.is_empty() {
        return Ok(sql::Script::default());
    }
    pg.exec_all(&[sql::database_search_path(&spec.name)])
        .await?;
    let mut v = sql::Script::from(sql::extension_schema_setup(&spec.roles, create_schema));
    for ext in added {
        v.push(sql::create_extension(ext, pg.extension_pinned(ext).await?));
    }
    Ok(v)
}

/// Removes what a failed create made: its database when it is this create's own (see
/// [`drop_after_failure`]), then its roles.
pub(super) async fn remove_failed_create(
    pg: &Postgres,
    spec: &Spec,
    made_database: bool,
    created: &[String],
) -> Result<(), PgError> {
    if made_database {
        let found = pg.database_facts(&spec.name).await?;
        if drop_after_failure(true, found.as_ref(), &spec.roles.owner) {
            pg.exec_all(&[sql::drop_database(&spec.name)]).await?;
        }
    }
    pg.drop_roles(created).await
}

/// How the read after a create ended.
pub(super) enum ReadBack {
    /// The catalog answered (`None`: the database vanished).
    Read(Option<DatabaseSettings>),
    /// Every attempt failed; the last error.
    Failed(PgError),
    /// Terraform asked the provider to stop before an answer came.
    Stopped,
}

/// Reads the settings of a database just completed. A read that fails (the server
/// restarting) is retried, 40 times 500 ms, rather than leaving a finished database
/// tainted; it ends at once when `cancel` fires.
pub(super) async fn read_back(pg: &Postgres, name: &str, cancel: &Cancel) -> ReadBack {
    let mut attempts = 0;
    loop {
        let read = tokio::select! {
            _ = cancel.cancelled() => return ReadBack::Stopped,
            read = pg.database_settings(name) => read,
        };
        match read {
            Ok(found) => return ReadBack::Read(found),
            Err(e) if attempts == 40 => return ReadBack::Failed(e),
            Err(_) => attempts += 1,
        }
        tokio::select! {
            _ = cancel.cancelled() => return ReadBack::Stopped,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// What read observes: the settings, then (only when the database exists) the
/// extensions when managed and, when `created_roles` is unsettled, the roles of the
/// managed owner (or the owner found). A failed role read leaves it unsettled (tried
/// again next time).
pub(super) async fn read_facts(
    pg: &Postgres,
    name: &str,
    managed: (bool, bool),
    private: &Private,
) -> Result<ReadFacts, Error> {
    let (managed_extensions, managed_settings) = managed;
    let settings = pg
        .database_settings(name)
        .await
        .or_diag(format!("Cannot read database {name:?}"))?;
    let Some(cur) = &settings else {
        return Ok(ReadFacts {
            settings,
            extensions: None,
            config: None,
            roles: None,
        });
    };
    // Extensions are read only when managed: it needs a connection into the database.
    let extensions = match managed_extensions {
        true => Some(
            pg.installed_extensions(name)
                .await
                .or_diag(format!("Cannot read extensions of {name:?}"))?,
        ),
        false => None,
    };
    let config = match managed_settings {
        true => Some(
            pg.database_config(name)
                .await
                .or_diag(format!("Cannot read the settings of {name:?}"))?,
        ),
        false => None,
    };
    let roles = match private.created_roles {
        Some(_) => None,
        None => {
            let owner = private.managed_owner.as_deref().unwrap_or(&cur.owner);
            pg.role_facts(&TenantRoles::new(name, owner).all())
                .await
                .ok()
        }
    };
    Ok(ReadFacts {
        settings,
        extensions,
        config,
        roles,
    })
}

/// Settles `created_roles` of an update's private state from the catalog when it is
/// unsettled (state from v0.1.0 or an import not read since); `owner` is the managed one.
pub(super) async fn settled_for_update(
    pg: &Postgres,
    mut private: Private,
    name: &str,
    owner: &str,
) -> Result<Private, PgError> {
    if private.created_roles.is_none() {
        let found = pg.role_facts(&TenantRoles::new(name, owner).all()).await?;
        private.created_roles = Some(settle_created(&private, name, &found));
        private.imported = false;
    }
    Ok(private)
}

/// Executes an owner change: renames the role, or creates the new owner (marked).
pub(super) async fn change_owner(
    pg: &Postgres,
    spec: &Spec,
    step: &OwnerStep,
) -> Result<(), PgError> {
    let new_owner = spec.roles.owner.as_str();
    match step {
        OwnerStep::Rename { from } => pg.exec_all(&[sql::rename_role(from, new_owner)]).await,
        OwnerStep::Create { .. } => {
            pg.exec_all(&[sql::create_marked_roles(
                &spec.name,
                &[new_owner],
                &[new_owner],
                new_owner,
            )])
            .await
        }
    }
}

/// Pooled server connections would block `DROP DATABASE` and reconnect at once: pauses
/// and drops them on every replica. On failure, resumes and returns every error.
pub(super) async fn drain(pgb: Option<&PgBouncerAdmin>, name: &str) -> Result<(), Error> {
    let Some(pgb) = pgb else {
        return Ok(());
    };
    let Err(errors) = pgb.each(PgBouncerVerb::Kill, name).await else {
        return Ok(());
    };
    let summary = format!("Cannot drain {name:?} on PgBouncer");
    let error = errors
        .into_iter()
        .map(|e| Error::new(summary.clone(), e.to_string()))
        .reduce(Error::and)
        .unwrap_or_else(|| Error::new(summary.clone(), ""));
    let _ = pgb.each(PgBouncerVerb::Resume, name).await;
    Err(error)
}

/// Resumes the database on every replica after a destroy; failures are warnings.
pub(super) async fn resume(pgb: Option<&PgBouncerAdmin>, name: &str, diags: &mut Diagnostics) {
    let Some(pgb) = pgb else {
        return;
    };
    if let Err(errors) = pgb.each(PgBouncerVerb::Resume, name).await {
        for e in errors {
            diags.warning(
                format!("Cannot resume {name:?} on PgBouncer"),
                e.to_string(),
            );
        }
    }
}

/// What the drop named for the warnings: privileges revoked elsewhere, logins kept.
#[derive(Default)]
pub(super) struct Dropped {
    /// Revoked grants others made to the dropped roles.
    pub revoked: Vec<ForeignDependency>,
    /// Members of the group roles left in place.
    pub kept: Vec<String>,
}

/// Terminates the sessions, drops the database, the Vault logins of its groups and the
/// `created` roles, revoking what others granted them elsewhere first. A grant made to
/// one of the roles between the revocation and its `DROP ROLE` (2BP01) is revoked in
/// another round ([`after_round`]).
pub(super) async fn drop_everything(
    pg: &Postgres,
    name: &str,
    created: &[String],
    out: &mut Dropped,
) -> Result<(), PgError> {
    pg.terminate_database_sessions(name).await?;
    pg.exec_all(&[sql::drop_database(name)]).await?;
    let (mut logins, kept) = decide::sort_members(pg.group_members(created).await?);
    out.kept = kept;
    for login in &logins {
        pg.terminate_user_sessions(login).await?;
    }
    for round in 1..=3 {
        let last = round == 3;
        let mut roles = logins.clone();
        roles.extend(created.iter().cloned());
        revoke_elsewhere(pg, &roles, created, name, &mut out.revoked).await?;
        let mut failed = Vec::new();
        for login in std::mem::take(&mut logins) {
            if let Err(e) = pg.exec_all(&[sql::drop_role(&login)]).await {
                if last {
                    out.kept.push(format!("{login} ({})", e.message));
                } else {
                    failed.push(login);
                }
            }
        }
        logins = failed;
        let dropped = pg.drop_roles(created).await;
        let code = dropped.as_ref().map_err(|e| e.code.as_deref());
        match after_round(last, code.map(|_| ()), !logins.is_empty()) {
            Round::Again => continue,
            Round::Done => return Ok(()),
            Round::Fail => return dropped,
        }
    }
    Ok(())
}

/// Revokes what others granted to `roles` outside database `db` (`DROP OWNED BY` in
/// each database holding a grant, where those roles own nothing; see `sort_elsewhere`),
/// adding what it revoked to `revoked`. Roles among `created` that own objects elsewhere
/// were refused before anything was dropped; should one own something by now, nothing
/// is revoked.
async fn revoke_elsewhere(
    pg: &Postgres,
    roles: &[String],
    created: &[String],
    db: &str,
    revoked: &mut Vec<ForeignDependency>,
) -> Result<(), PgError> {
    let elsewhere = sort_elsewhere(&pg.foreign_dependencies(roles, db).await?, created);
    if !elsewhere.owned.is_empty() {
        return Ok(());
    }
    for (database, in_roles) in &elsewhere.revoke_in {
        pg.drop_owned_in(database, in_roles).await?;
        let newly: Vec<ForeignDependency> = elsewhere
            .granted
            .iter()
            .filter(|d| {
                in_roles.contains(&d.role) && (d.database == *database || d.database.is_empty())
            })
            .filter(|d| !revoked.contains(d))
            .cloned()
            .collect();
        revoked.extend(newly);
    }
    Ok(())
}

/// The `settings` statements of an update (issue 22): against the catalog when the plan
/// manages settings, else against the prior state ([`update_baseline`]).
pub(super) async fn settings_update(
    pg: &Postgres,
    name: &str,
    prior: &tfplugin::Known<Settings>,
    planned: &tfplugin::Known<Settings>,
) -> Result<Vec<String>, PgError> {
    let catalog = match planned.is_null() {
        true => None,
        false => Some(from_catalog(&pg.database_config(name).await?)),
    };
    let baseline = update_baseline(prior, catalog);
    Ok(settings_statements(name, &baseline, planned))
}
