//! `dbaas_shared_postgres_access` (issue 22): one tenant's group role given `readonly` or
//! `readwrite` access to another tenant's database, the reporting/CDC case. The grantee
//! (a group role another `dbaas_shared_postgres_database` made) becomes a member of the
//! shared database's `_readonly` or `_readwrite` group, so its logins get exactly what
//! that group has (CONNECT, the owner's schemas and default privileges) and nothing of
//! the owner's other grants; PgBouncer's auth function in the shared database serves
//! exactly those logins (members of a group that is a member of one of its groups), and
//! is brought up to date by the create. Grants never chain: a grantee with groups as
//! members, or a group that is itself a member elsewhere, is refused (checked again after
//! the grant, which is taken back when a concurrent grant closed a chain). Destroy
//! revokes the membership and ends the grantee's logins' sessions in the database.
//! Observe, decide (`decide.rs`, table-tested), execute.

mod decide;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use tfplugin::{
    Applied, Attribute, Block, ClientInfo, Diagnostics, Error, Known, OrDiag, Plan, Schema,
    Validator, Value,
};

use crate::backends::postgres::{PgError, Postgres};
use crate::backends::Backends;
use crate::resources::common::{decode, merge, pg_name_validator, Ctx, OrReach};
use crate::resources::postgres_schemas::{schema_verdict, SchemaVerdict};
use crate::sql::{self, TenantRoles};

use decide::{Facts, Spec};

/// The resource type.
pub struct SharedPostgresAccess;

/// The type's name.
const TYPE: &str = "dbaas_shared_postgres_access";

/// Plan and state of one grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    id: Known<String>,
    database: String,
    grantee: String,
    /// Null only right after an import, until read fills it.
    access: Option<String>,
}

/// What planning and validation look at (any of it unknown).
#[derive(Debug, Deserialize)]
struct PlanView {
    database: Known<String>,
    grantee: Known<String>,
}

/// What planning writes back: the id, known from the names on create.
#[derive(Serialize)]
struct IdEdit {
    id: Known<String>,
}

/// What an import fills in; read does the rest.
#[derive(Serialize)]
struct Imported {
    id: String,
    database: String,
    grantee: String,
}

/// `access` when the configuration leaves it out.
const DEFAULT_ACCESS: &str = "readonly";

/// The provider block the type needs.
const NEEDS: crate::resources::known_at_plan::Needs = crate::resources::known_at_plan::Needs {
    block: "postgres",
    attr: "database",
    does: "grants the membership through the provider's PostgreSQL admin login",
};

fn id_of(database: &str, grantee: &str) -> String {
    format!("{database}/{grantee}")
}

fn spec_of(m: &Model) -> Spec {
    Spec {
        database: m.database.clone(),
        grantee: m.grantee.clone(),
        access: m.access.clone().unwrap_or_else(|| DEFAULT_ACCESS.into()),
    }
}

fn cannot(spec: &Spec) -> String {
    format!(
        "Cannot share database {:?} with {:?}",
        spec.database, spec.grantee
    )
}

/// Observes the database, the group and the grantee.
async fn observe(pg: &Postgres, spec: &Spec) -> Result<Facts, PgError> {
    let group = spec.group();
    let names = [group.as_str(), spec.grantee.as_str()];
    Ok(Facts {
        database: pg.database_facts(&spec.database).await?,
        roles: pg.role_facts(&names).await?,
        links: pg.role_links(&names).await?,
    })
}

/// The statements that bring PgBouncer's auth function in the shared database up to the
/// body that serves grantees (a database made before issue 22 has the older one), when
/// the database has it: `Ok(None)` when it has no `pgbouncer` schema (`pgbouncer_auth =
/// false`), a refusal when the schema is open to a tenant.
async fn auth_refresh(
    pg: &Postgres,
    spec: &Spec,
    owner: &str,
    auth_user: &str,
) -> Result<Result<Option<Vec<String>>, Error>, PgError> {
    let found = pg
        .schema_facts(&spec.database, &[sql::PGBOUNCER_SCHEMA])
        .await?;
    let verdict = schema_verdict(&spec.database, sql::PGBOUNCER_SCHEMA, found.first());
    let roles = TenantRoles::new(&spec.database, owner);
    Ok(match verdict {
        SchemaVerdict::Create => Ok(None),
        SchemaVerdict::Use => Ok(Some(sql::pgbouncer_auth_setup(auth_user, &roles, false))),
        SchemaVerdict::Refuse(why) => Err(Error::at_attr(
            "database",
            "PgBouncer's auth schema is open to a tenant",
            format!("{why} Nothing was granted."),
        )),
    })
}

#[async_trait::async_trait]
impl tfplugin::ResourceType<Backends> for SharedPostgresAccess {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "Shares one tenant database with another tenant's group role, read-only or read-write: the reporting or CDC case. The grantee (a group role that `dbaas_shared_postgres_database` made for another database: `<other>_readonly`, `<other>_readwrite` or its owner) becomes a member of `<database>_readonly` or `<database>_readwrite`, so its logins (Vault-issued or static) get exactly what that group has: CONNECT on the database and the owner's objects in the schemas the group may use, nothing the owner keeps to itself. PgBouncer's auth function in the shared database serves exactly those logins (it is updated by the create). Grants do not chain: a grantee that has other groups as members, or a group that is already a member elsewhere, is refused, so access never passes on to a third tenant. Destroy revokes the membership and ends the grantee's logins' sessions in the database. Import by `<database>/<grantee>`.",
            )
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("`<database>/<grantee>`."))
            .attr(
                Attribute::string("database")
                    .required()
                    .requires_replace()
                    .description("The database being shared: one made by `dbaas_shared_postgres_database`.")
                    .validate(pg_name_validator(63, &["postgres", "template0", "template1"])),
            )
            .attr(
                Attribute::string("grantee")
                    .required()
                    .requires_replace()
                    .description("The group role that gets access: a group role `dbaas_shared_postgres_database` made for another database, e.g. `reporting_readonly`. Not a login, not a group of `database` itself, and not a group that has other groups as members.")
                    .validate(pg_name_validator(63, &["postgres"])),
            )
            .attr(
                Attribute::string("access")
                    .default(Value::string(DEFAULT_ACCESS))
                    .requires_replace()
                    .description("`readonly` (SELECT on the owner's tables and sequences) or `readwrite` (also INSERT, UPDATE, DELETE, TRUNCATE, sequences and TEMPORARY): the grantee joins `<database>_<access>`.")
                    .validate(Validator::one_of(&decide::ACCESSES)),
            ),
        )
    }

    async fn validate(&self, config: &Value, _info: &ClientInfo, diags: &mut Diagnostics) {
        let Some(v) = decode::<PlanView>(diags, config) else {
            return;
        };
        if let (Known::Value(db), Known::Value(grantee)) = (&v.database, &v.grantee) {
            if let Some(r) = decide::own_group_at_plan(db, grantee) {
                r.error().report(diags);
            }
        }
    }

    fn plan_with_client(&self, client: &Backends, plan: &mut Plan<'_>) {
        if plan.planned.is_null() || !plan.prior.is_null() {
            return;
        }
        let missing =
            crate::resources::known_at_plan::missing_blocks(&client.settings, TYPE, &[NEEDS]);
        for m in &missing {
            m.report(&mut plan.diags);
        }
        let Some(v) = decode::<PlanView>(&mut plan.diags, &plan.planned) else {
            return;
        };
        let id = match (&v.database, &v.grantee) {
            (Known::Value(d), Known::Value(g)) => Known::Value(id_of(d, g)),
            _ => Known::Unknown,
        };
        merge(&mut plan.diags, &mut plan.planned, &IdEdit { id });
    }

    async fn import(&self, ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
        let (database, grantee) = match decide::parse_import_id(id) {
            Ok(parts) => parts,
            Err(why) => {
                crate::resources::common::refuse_import_id(
                    &mut ctx.diags,
                    TYPE,
                    &why,
                    "shop/reporting_readonly",
                );
                return;
            }
        };
        let imported = Imported {
            id: id.to_string(),
            database,
            grantee,
        };
        merge(&mut ctx.diags, state, &imported);
    }
}

#[async_trait::async_trait]
impl tfplugin::TypedResource<Backends> for SharedPostgresAccess {
    type Model = Model;

    async fn create(&self, ctx: &mut Ctx<'_>, planned: Model, _config: &Value) -> Applied<Model> {
        let spec = spec_of(&planned);
        let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
        let cannot = cannot(&spec);
        let facts = observe(pg, &spec).await.or_diag(&cannot)?;
        decide::grant_verdict(&spec, &facts).map_err(|r| r.error())?;
        let owner = facts.database.as_ref().map_or("", |d| d.owner.as_str());
        let auth_user = ctx.client.settings.pgbouncer_auth_user().to_string();
        let refresh = auth_refresh(pg, &spec, owner, &auth_user)
            .await
            .or_diag(&cannot)??;
        let group = spec.group();
        pg.exec_all(&[sql::grant_membership(&group, &spec.grantee)])
            .await
            .or_diag(&cannot)?;
        // Checked again with the grant in place: a concurrent grant may have closed a chain.
        let after = observe(pg, &spec).await.or_diag(&cannot);
        let verdict = after.map(|f| decide::grant_verdict(&spec, &f).map_err(|r| r.error()));
        if let Err(e) = verdict.and_then(|v| v) {
            let undo = [sql::revoke_membership(&group, &spec.grantee)];
            if let Err(u) = pg.exec_all(&undo).await {
                return Err(e
                    .and(Error::new(
                        &cannot,
                        format!("The grant could not be taken back: {u}"),
                    ))
                    .into());
            }
            return Err(e.into());
        }
        match refresh {
            Some(statements) => pg.exec_in(&spec.database, &statements).await.or_diag(&cannot)?,
            None => ctx.diags.warning(
                format!("Database {:?} has no PgBouncer auth function", spec.database),
                format!("It was created with `pgbouncer_auth = false`, so the logins of {:?} reach it directly, not through PgBouncer.", spec.grantee),
            ),
        }
        Ok(Model {
            id: Known::Value(id_of(&spec.database, &spec.grantee)),
            access: Some(spec.access),
            ..planned
        })
    }

    async fn read(&self, ctx: &mut Ctx<'_>, model: Model) -> Result<Option<Model>, Error> {
        let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
        let spec = spec_of(&model);
        let links = pg
            .role_links(&[spec.grantee.as_str()])
            .await
            .or_diag(format!(
                "Cannot read the access of {:?} to database {:?}",
                spec.grantee, spec.database
            ))?;
        let access = decide::read_access(&spec.database, model.access.as_deref(), links.first());
        Ok(access.map(|a| Model {
            id: Known::Value(id_of(&model.database, &model.grantee)),
            access: Some(a),
            ..model
        }))
    }

    async fn update(
        &self,
        _ctx: &mut Ctx<'_>,
        _prior: Model,
        planned: Model,
        _config: &Value,
    ) -> Applied<Model> {
        // Every attribute forces a replacement: nothing to change in place.
        Ok(planned)
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let spec = spec_of(&prior);
        let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
        let cannot = format!(
            "Cannot revoke the access of {:?} to database {:?}",
            spec.grantee, spec.database
        );
        let group = spec.group();
        let names = [group.as_str(), spec.grantee.as_str()];
        // A dropped database or grantee took the membership with it.
        if pg.existing_roles(&names).await.or_diag(&cannot)?.len() < 2 {
            return Ok(());
        }
        pg.exec_all(&[sql::revoke_membership(&group, &spec.grantee)])
            .await
            .or_diag(&cannot)?;
        // CONNECT is checked only when a session starts: end the ones the grant let in.
        pg.terminate_member_sessions(&spec.database, &spec.grantee)
            .await
            .or_diag(&cannot)
    }
}
