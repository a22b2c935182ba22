//! `dbaas_shared_postgres_database`: one tenant database on the shared PostgreSQL,
//! complete with its NOLOGIN owner and `_readwrite` / `_readonly` group roles, default
//! privileges, isolation from other tenants, and PgBouncer's auth function.
//! Destroy drains PgBouncer on every replica before dropping anything.

use std::collections::BTreeSet;

use sqlx::Row;
use tfplugin::{Attribute, AttributePath, Block, Ctx, Plan, Schema, Type, Validator, Value};

use crate::backends::postgres::Postgres;
use crate::backends::Backends;
use crate::resources::common::{attribute_error, backend_error, need, pg_name_validator, str_of};
use crate::sql::{self, TenantRoles};

/// The resource type.
pub struct SharedPostgresDatabase;

/// Names PostgreSQL itself uses.
const RESERVED: &[&str] = &["postgres", "template0", "template1"];
/// The longest name whose `<name>_readwrite` role still fits PostgreSQL's 63 bytes.
const MAX_NAME: usize = 63 - "_readwrite".len();

/// What this resource remembers privately: the owner role it manages, so that an
/// owner rename in configuration renames that role instead of touching another one.
fn managed_owner(private: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(private)
        .ok()?
        .get("managed_owner")?
        .as_str()
        .map(str::to_string)
}

fn private_for(owner: &str) -> Vec<u8> {
    serde_json::json!({ "managed_owner": owner })
        .to_string()
        .into_bytes()
}

/// The desired database, read from a planned state.
struct Spec {
    name: String,
    roles: TenantRoles,
    extensions: Option<BTreeSet<String>>,
    connection_limit: i64,
    encoding: Option<String>,
    lc_collate: Option<String>,
    lc_ctype: Option<String>,
    template: String,
    pgbouncer_auth: bool,
}

impl Spec {
    fn from(v: &Value) -> Spec {
        let name = str_of(v, "name").to_string();
        let owner = v
            .get("owner")
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{name}_owner"));
        let known = |a: &str| v.get(a).as_str().map(str::to_string);
        Spec {
            roles: TenantRoles::new(&name, &owner),
            extensions: v.get("extensions").as_list().map(|l| {
                l.iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect()
            }),
            connection_limit: v.get("connection_limit").as_i64().unwrap_or(-1),
            encoding: known("encoding"),
            lc_collate: known("lc_collate"),
            lc_ctype: known("lc_ctype"),
            template: known("template").unwrap_or_else(|| "template0".into()),
            pgbouncer_auth: v.get("pgbouncer_auth").as_bool().unwrap_or(true),
            name,
        }
    }
}

/// What the catalog says about a database.
struct Current {
    owner: String,
    connection_limit: i64,
    encoding: String,
    lc_collate: String,
    lc_ctype: String,
}

fn current<'a>(
    pg: &'a Postgres,
    name: &'a str,
) -> crate::backends::BoxFut<'a, Result<Option<Current>, crate::backends::postgres::PgError>> {
    Box::pin(async move {
        let row = sqlx::query(
            "SELECT r.rolname::text AS owner, d.datconnlimit::int8 AS lim, pg_catalog.pg_encoding_to_char(d.encoding)::text AS enc, \
             d.datcollate::text AS collate, d.datctype::text AS ctype \
             FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid = d.datdba WHERE d.datname = $1",
        )
        .bind(name)
        .fetch_optional(pg.pool())
        .await
        .map_err(|e| pg.error(e))?;
        Ok(row.map(|r| Current {
            owner: r.try_get("owner").unwrap_or_default(),
            connection_limit: r.try_get("lim").unwrap_or(-1),
            encoding: r.try_get("enc").unwrap_or_default(),
            lc_collate: r.try_get("collate").unwrap_or_default(),
            lc_ctype: r.try_get("ctype").unwrap_or_default(),
        }))
    })
}

fn existing_roles<'a>(
    pg: &'a Postgres,
    names: &'a [&'a str],
) -> crate::backends::BoxFut<'a, Result<Vec<String>, crate::backends::postgres::PgError>> {
    Box::pin(async move {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        sqlx::query_scalar::<_, String>(
            "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1) ORDER BY 1",
        )
        .bind(&names)
        .fetch_all(pg.pool())
        .await
        .map_err(|e| pg.error(e))
    })
}

/// Of the given roles, those that exist, and whether each could be a leftover of this
/// resource's own database (NOLOGIN, owning nothing anywhere): `(name, orphan)`.
fn existing_roles_detail<'a>(
    pg: &'a Postgres,
    names: &'a [&'a str],
) -> crate::backends::BoxFut<'a, Result<Vec<(String, bool)>, crate::backends::postgres::PgError>> {
    Box::pin(async move {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let rows = sqlx::query(
            "SELECT r.rolname::text AS name, (NOT r.rolcanlogin AND NOT r.rolsuper AND NOT EXISTS \
             (SELECT 1 FROM pg_catalog.pg_shdepend d WHERE d.refobjid = r.oid AND d.deptype = 'o')) AS orphan \
             FROM pg_catalog.pg_roles r WHERE r.rolname = ANY($1) ORDER BY 1",
        )
        .bind(&names)
        .fetch_all(pg.pool())
        .await
        .map_err(|e| pg.error(e))?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.try_get("name").unwrap_or_default(),
                    r.try_get("orphan").unwrap_or(false),
                )
            })
            .collect())
    })
}

fn installed_extensions<'a>(
    pg: &'a Postgres,
    db: &'a str,
) -> crate::backends::BoxFut<'a, Result<BTreeSet<String>, crate::backends::postgres::PgError>> {
    Box::pin(async move {
        let mut conn = pg.connect_to(db).await?;
        let rows = sqlx::query_scalar::<_, String>(
            "SELECT extname::text FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql'",
        )
        .fetch_all(&mut conn)
        .await
        .map_err(|e| pg.error(e));
        let _ = sqlx::Connection::close(conn).await;
        Ok(rows?.into_iter().collect())
    })
}

fn auth_user(ctx: &Ctx<'_, Backends>) -> String {
    ctx.client
        .settings
        .pgbouncer
        .as_ref()
        .map(|b| b.auth_user.clone())
        .unwrap_or_else(|| "pgbouncer_auth".into())
}

/// Builds the state from what the catalog says, keeping what only configuration knows.
fn state_from(
    ctx: &Ctx<'_, Backends>,
    base: &Value,
    cur: &Current,
    extensions: Option<BTreeSet<String>>,
) -> Value {
    let mut s = base.clone();
    s.set("id", Value::string(str_of(base, "name")));
    s.set("owner", Value::string(cur.owner.clone()));
    s.set("connection_limit", Value::int(cur.connection_limit));
    s.set("encoding", Value::string(cur.encoding.clone()));
    s.set("lc_collate", Value::string(cur.lc_collate.clone()));
    s.set("lc_ctype", Value::string(cur.lc_ctype.clone()));
    if let Some(ext) = extensions {
        s.set("extensions", Value::from_strings(ext));
    } else if s.get("extensions").is_unknown() {
        s.set("extensions", Value::Null);
    }
    let (host, port) = ctx.client.postgres_app_endpoint().unwrap_or_default();
    s.set("host", Value::string(host));
    s.set("port", Value::int(port.into()));
    s
}

/// Objects a create made, so a failure can remove exactly those.
#[derive(Default)]
struct Made {
    roles: Vec<String>,
    database: bool,
}

fn create_objects<'a>(
    pg: &'a Postgres,
    spec: &'a Spec,
    auth: Option<&'a str>,
    reuse: &'a [String],
    made: &'a mut Made,
) -> crate::backends::BoxFut<'a, Result<(), crate::backends::postgres::PgError>> {
    Box::pin(async move {
        for role in spec.roles.all() {
            if reuse.iter().any(|r| r == role) {
                continue;
            }
            pg.exec_all(&[sql::create_nologin_role(role)]).await?;
            made.roles.push(role.to_string());
        }
        pg.exec_all(&[sql::grant_role_to_current_user(&spec.roles.owner)])
            .await?;
        let create = sql::create_database(&sql::CreateDatabase {
            name: spec.name.clone(),
            owner: spec.roles.owner.clone(),
            template: Some(spec.template.clone()),
            encoding: spec.encoding.clone(),
            lc_collate: spec.lc_collate.clone(),
            lc_ctype: spec.lc_ctype.clone(),
            connection_limit: spec.connection_limit,
        });
        pg.exec_all(&[create]).await?;
        made.database = true;
        pg.exec_all(&sql::database_grants(&spec.name, &spec.roles, auth))
            .await?;
        let mut inside = sql::schema_setup(&spec.roles);
        if let Some(a) = auth {
            inside.extend(sql::pgbouncer_auth_setup(a));
        }
        for ext in spec.extensions.iter().flatten() {
            inside.push(sql::create_extension(ext));
        }
        pg.exec_in(&spec.name, &inside).await
    })
}

fn drop_roles<'a>(
    pg: &'a Postgres,
    roles: &'a [String],
) -> crate::backends::BoxFut<'a, Result<(), crate::backends::postgres::PgError>> {
    Box::pin(async move {
        for role in roles {
            match pg.exec_all(&[sql::drop_role(role)]).await {
                Ok(()) => {}
                // Still holds privileges or objects somewhere: clear them database by database.
                Err(e) if e.code.as_deref() == Some("2BP01") => {
                    let dbs: Vec<String> = sqlx::query_scalar(
                        "SELECT DISTINCT d.datname::text FROM pg_catalog.pg_shdepend s JOIN pg_catalog.pg_database d ON d.oid = s.dbid \
                         WHERE s.refobjid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)",
                    )
                    .bind(role)
                    .fetch_all(pg.pool())
                    .await
                    .map_err(|e| pg.error(e))?;
                    for db in dbs {
                        pg.exec_in(&db, &[sql::drop_owned(role)]).await?;
                    }
                    pg.exec_all(&[sql::drop_owned(role), sql::drop_role(role)])
                        .await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
}

#[async_trait::async_trait]
impl tfplugin::Resource<Backends> for SharedPostgresDatabase {
    fn type_name(&self) -> &'static str {
        "dbaas_shared_postgres_database"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "A tenant database on the shared PostgreSQL, reached by apps through PgBouncer. Creates the database, its NOLOGIN owner role and the NOLOGIN group roles `<name>_readwrite` and `<name>_readonly` (with default privileges so whatever the owner creates is usable by them), revokes CONNECT and TEMP from PUBLIC and CREATE on `public`, and installs the PgBouncer auth function. Destroy (when `deletion_protection = false`) drains PgBouncer on every admin host, terminates sessions, drops the database and the three roles.",
            )
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("The database name."))
            .attr(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .description(format!("Database name. At most {MAX_NAME} characters, so that the `<name>_readwrite` role fits PostgreSQL's 63-byte limit."))
                    .validate(pg_name_validator(MAX_NAME, RESERVED)),
            )
            .attr(
                Attribute::string("owner")
                    .optional()
                    .computed()
                    .description("NOLOGIN role created to own the database and its `public` schema. Default `<name>_owner`. Changing it renames the role (everything it owns follows).")
                    .validate(pg_name_validator(63, RESERVED)),
            )
            .attr(
                Attribute::typed("extensions", Type::set_of(Type::String))
                    .optional()
                    .computed()
                    .use_state_for_unknown()
                    .description("Extensions to install in the database (`CREATE EXTENSION`); removing one drops it. When unset, extensions are not managed (an imported database reports what it has).")
                    .validate(Validator::new("extension names", |v| {
                        for e in v.string_list() {
                            if e.is_empty() || !e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                                return Err(format!("{e:?} is not an extension name (letters, digits, `_`, `-`)"));
                            }
                        }
                        Ok(())
                    })),
            )
            .attr(Attribute::number("connection_limit").default(Value::int(-1)).description("Maximum concurrent connections; `-1` for no limit.").validate(Validator::int_between(-1, 100_000)))
            .attr(Attribute::string("encoding").optional().computed().requires_replace().use_state_for_unknown().description("Character encoding, e.g. `UTF8`. Default: the server's."))
            .attr(Attribute::string("lc_collate").optional().computed().requires_replace().use_state_for_unknown().description("LC_COLLATE. Default: the server's."))
            .attr(Attribute::string("lc_ctype").optional().computed().requires_replace().use_state_for_unknown().description("LC_CTYPE. Default: the server's."))
            .attr(
                Attribute::string("template")
                    .default(Value::string("template0"))
                    .requires_replace()
                    .description("Template database. `template0` by default: no session ever holds it, so concurrent creates never fail with `source database is being accessed by other users`, and any encoding or locale can be chosen.")
                    .validate(pg_name_validator(63, &[])),
            )
            .attr(Attribute::bool("deletion_protection").default(Value::Bool(true)).description("While `true`, destroy fails and the data is kept. Set `false` and apply before destroying."))
            .attr(Attribute::bool("pgbouncer_auth").default(Value::Bool(true)).description("Install `pgbouncer.get_auth(text)` (SECURITY DEFINER, unexpired roles only) and grant it and CONNECT to PgBouncer's `auth_user`, so logins work through PgBouncer's `auth_query`."))
            .attr(Attribute::string("host").computed().use_state_for_unknown().description("Host apps use: the PgBouncer endpoint (`pgbouncer.host`), or the primary when no `pgbouncer` block is configured."))
            .attr(Attribute::number("port").computed().use_state_for_unknown().description("Port apps use.")),
        )
    }

    async fn modify_plan(&self, plan: &mut Plan<'_>) {
        if plan.config.get("owner").is_null() {
            let owner = match plan.planned.get("name") {
                Value::String(n) => Value::string(format!("{n}_owner")),
                _ => Value::unknown(),
            };
            plan.planned.set("owner", owner);
        }
        // An imported database has no recorded template: adopt the configured one
        // instead of planning a replacement of a database that already exists.
        if !plan.prior.is_null() && plan.prior.get("template").is_null() {
            plan.requires_replace
                .retain(|p| *p != AttributePath::attr("template"));
            if plan.config.get("template").is_null() {
                plan.planned.set("template", Value::Null);
            }
        }
        let name = str_of(&plan.planned, "name");
        if let Value::String(owner) = plan.planned.get("owner") {
            if owner == &format!("{name}_readwrite") || owner == &format!("{name}_readonly") {
                plan.diags.error_at(AttributePath::attr("owner"), "owner collides with a group role", format!("{owner:?} is the name of one of the group roles this resource creates; choose another owner."));
            }
        }
    }

    async fn create(
        &self,
        ctx: &mut Ctx<'_, Backends>,
        planned: &Value,
        _config: &Value,
    ) -> Option<Value> {
        let spec = Spec::from(planned);
        let pg = need(&mut ctx.diags, "PostgreSQL", ctx.client.postgres().await)?;
        match current(pg, &spec.name).await {
            Ok(Some(_)) => {
                attribute_error(
                    &mut ctx.diags,
                    "name",
                    format!("Database {:?} already exists", spec.name),
                    format!("A database named {:?} exists but is not in this Terraform state. This provider never adopts it silently. To manage it here, import it:\n  terraform import <resource address> {}", spec.name, spec.name),
                );
                return None;
            }
            Ok(None) => {}
            Err(e) => {
                backend_error(
                    &mut ctx.diags,
                    format!("Cannot create database {:?}", spec.name),
                    e,
                );
                return None;
            }
        }
        // Roles left behind by this database (dropped out of band, roles kept) are reused:
        // NOLOGIN and owning nothing, they can only be leftovers. Anything else is refused.
        let reuse = match existing_roles_detail(pg, &spec.roles.all()).await {
            Ok(found) => {
                let foreign: Vec<String> = found
                    .iter()
                    .filter(|(_, orphan)| !orphan)
                    .map(|(n, _)| n.clone())
                    .collect();
                if !foreign.is_empty() {
                    attribute_error(
                        &mut ctx.diags,
                        if foreign.contains(&spec.roles.owner) { "owner" } else { "name" },
                        "Role already exists",
                        format!("The role(s) {} already exist in PostgreSQL and can log in or own objects. They may belong to another tenant or to a database created outside Terraform; this resource will not take them over. Choose another `owner`/`name`, or drop the stale roles.", foreign.join(", ")),
                    );
                    return None;
                }
                let names: Vec<String> = found.into_iter().map(|(n, _)| n).collect();
                // Only the complete set of three is a recognisable leftover; a lone role
                // with one of these names may be someone else's.
                if !names.is_empty() && names.len() < 3 {
                    attribute_error(
                        &mut ctx.diags,
                        if names.contains(&spec.roles.owner) { "owner" } else { "name" },
                        "Role already exists",
                        format!("The role(s) {} already exist in PostgreSQL. They may belong to another tenant or to a database created outside Terraform; this resource will not take them over. Choose another `owner`/`name`, or drop the stale roles.", names.join(", ")),
                    );
                    return None;
                }
                if !names.is_empty() {
                    ctx.diags.warning(
                        format!("Reusing roles left from a dropped database {:?}", spec.name),
                        format!("{} exist without a database, cannot log in and own nothing: they are reused for the new database.", names.join(", ")),
                    );
                }
                names
            }
            Err(e) => {
                backend_error(
                    &mut ctx.diags,
                    format!("Cannot create database {:?}", spec.name),
                    e,
                );
                return None;
            }
        };
        let auth = spec.pgbouncer_auth.then(|| auth_user(ctx));
        let mut made = Made::default();
        if let Err(e) = create_objects(pg, &spec, auth.as_deref(), &reuse, &mut made).await {
            // Leave nothing half made: remove what this attempt created, then report.
            if made.database {
                let _ = pg.exec_all(&[sql::drop_database(&spec.name)]).await;
            }
            let _ = drop_roles(pg, &made.roles).await;
            backend_error(
                &mut ctx.diags,
                format!("Cannot create database {:?}", spec.name),
                e,
            );
            return None;
        }
        ctx.private = private_for(&spec.roles.owner);
        match current(pg, &spec.name).await {
            Ok(Some(cur)) => Some(state_from(ctx, planned, &cur, None)),
            Ok(None) => {
                ctx.diags.error(
                    format!("Database {:?} vanished right after creation", spec.name),
                    "Something dropped it concurrently.",
                );
                None
            }
            Err(e) => {
                backend_error(
                    &mut ctx.diags,
                    format!("Cannot read database {:?} after creating it", spec.name),
                    e,
                );
                None
            }
        }
    }

    async fn read(&self, ctx: &mut Ctx<'_, Backends>, state: &Value) -> Option<Value> {
        let name = str_of(state, "name").to_string();
        let pg = need(&mut ctx.diags, "PostgreSQL", ctx.client.postgres().await)?;
        let cur = match current(pg, &name).await {
            Ok(Some(c)) => c,
            Ok(None) => return None,
            Err(e) => {
                backend_error(&mut ctx.diags, format!("Cannot read database {name:?}"), e);
                return Some(state.clone());
            }
        };
        // Extensions are read only when managed: it needs a connection into the database.
        let extensions = if state.get("extensions").is_null() {
            None
        } else {
            match installed_extensions(pg, &name).await {
                Ok(e) => Some(e),
                Err(e) => {
                    backend_error(
                        &mut ctx.diags,
                        format!("Cannot read extensions of {name:?}"),
                        e,
                    );
                    return Some(state.clone());
                }
            }
        };
        if managed_owner(&ctx.private).is_none() {
            ctx.private = private_for(&cur.owner);
        }
        Some(state_from(ctx, state, &cur, extensions))
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_, Backends>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Option<Value> {
        let spec = Spec::from(planned);
        let pg = need(&mut ctx.diags, "PostgreSQL", ctx.client.postgres().await)?;
        let fail = |ctx: &mut Ctx<'_, Backends>, e: crate::backends::postgres::PgError| {
            backend_error(
                &mut ctx.diags,
                format!("Cannot update database {:?}", spec.name),
                e,
            );
        };
        let managed =
            managed_owner(&ctx.private).unwrap_or_else(|| str_of(prior, "owner").to_string());
        if managed != spec.roles.owner {
            match existing_roles(pg, &[&spec.roles.owner, &managed]).await {
                Ok(roles) if roles.contains(&spec.roles.owner) => {
                    attribute_error(&mut ctx.diags, "owner", "Role already exists", format!("Cannot rename the owner role {managed:?} to {:?}: a role with that name exists.", spec.roles.owner));
                    return None;
                }
                Ok(roles) if roles.contains(&managed) => {
                    if let Err(e) = pg
                        .exec_all(&[sql::rename_role(&managed, &spec.roles.owner)])
                        .await
                    {
                        fail(ctx, e);
                        return None;
                    }
                }
                Ok(_) => {
                    if let Err(e) = pg
                        .exec_all(&[
                            sql::create_nologin_role(&spec.roles.owner),
                            sql::grant_role_to_current_user(&spec.roles.owner),
                        ])
                        .await
                    {
                        fail(ctx, e);
                        return None;
                    }
                }
                Err(e) => {
                    fail(ctx, e);
                    return None;
                }
            }
            ctx.private = private_for(&spec.roles.owner);
        }
        let mut admin = Vec::new();
        if str_of(prior, "owner") != spec.roles.owner {
            // Ownership drifted (or the role was just renamed): hand it back to the owner.
            admin.push(sql::alter_database_owner(&spec.name, &spec.roles.owner));
        }
        if prior.get("connection_limit").as_i64() != Some(spec.connection_limit) {
            admin.push(sql::alter_connection_limit(
                &spec.name,
                spec.connection_limit,
            ));
        }
        let auth = auth_user(ctx);
        let auth_before = prior.get("pgbouncer_auth").as_bool().unwrap_or(true);
        if auth_before != spec.pgbouncer_auth {
            if spec.pgbouncer_auth {
                admin.extend(sql::database_grants(&spec.name, &spec.roles, Some(&auth)));
            } else {
                admin.push(sql::revoke_connect(&spec.name, &auth));
            }
        }
        if let Err(e) = pg.exec_all(&admin).await {
            fail(ctx, e);
            return None;
        }
        let mut inside = Vec::new();
        if str_of(prior, "owner") != spec.roles.owner {
            inside.extend(sql::schema_setup(&spec.roles));
        }
        if auth_before != spec.pgbouncer_auth {
            inside.extend(if spec.pgbouncer_auth {
                sql::pgbouncer_auth_setup(&auth)
            } else {
                sql::pgbouncer_auth_teardown()
            });
        }
        let before: BTreeSet<String> = prior.get("extensions").string_list().into_iter().collect();
        if let Some(after) = &spec.extensions {
            inside.extend(before.difference(after).map(|e| sql::drop_extension(e)));
            inside.extend(after.difference(&before).map(|e| sql::create_extension(e)));
        }
        if let Err(e) = pg.exec_in(&spec.name, &inside).await {
            fail(ctx, e);
            return None;
        }
        match current(pg, &spec.name).await {
            Ok(Some(cur)) => Some(state_from(ctx, planned, &cur, spec.extensions.clone())),
            Ok(None) => {
                ctx.diags.error(
                    format!("Database {:?} disappeared during update", spec.name),
                    "Something dropped it concurrently.",
                );
                None
            }
            Err(e) => {
                fail(ctx, e);
                None
            }
        }
    }

    async fn delete(&self, ctx: &mut Ctx<'_, Backends>, prior: &Value) {
        let spec = Spec::from(prior);
        if prior.get("deletion_protection").as_bool().unwrap_or(true) {
            attribute_error(
                &mut ctx.diags,
                "deletion_protection",
                format!("Database {:?} is protected by deletion_protection", spec.name),
                "deletion_protection is true, so the database and its data are kept. To destroy it, set deletion_protection = false, run terraform apply, then destroy.",
            );
            return;
        }
        let Some(pg) = need(&mut ctx.diags, "PostgreSQL", ctx.client.postgres().await) else {
            return;
        };
        let pgb = match ctx.client.pgbouncer().await {
            Ok(p) => p,
            Err(e) => {
                backend_error(&mut ctx.diags, "Cannot reach PgBouncer", e);
                return;
            }
        };
        // Pooled server connections would block DROP DATABASE and reconnect at once:
        // pause and drop them on every replica first.
        if let Some(pgb) = pgb {
            if let Err(errors) = pgb.each("KILL", &spec.name).await {
                for e in errors {
                    backend_error(
                        &mut ctx.diags,
                        format!("Cannot drain {:?} on PgBouncer", spec.name),
                        e,
                    );
                }
                let _ = pgb.each("RESUME", &spec.name).await;
                return;
            }
        }
        let dropped = async {
            sqlx::query("SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()")
                .bind(&spec.name)
                .execute(pg.pool())
                .await
                .map_err(|e| pg.error(e))?;
            pg.exec_all(&[sql::drop_database(&spec.name)]).await?;
            let owner = managed_owner(&ctx.private).unwrap_or_else(|| spec.roles.owner.clone());
            drop_roles(pg, &[owner, spec.roles.readwrite.clone(), spec.roles.readonly.clone()]).await
        }
        .await;
        if let Some(pgb) = pgb {
            if let Err(errors) = pgb.each("RESUME", &spec.name).await {
                for e in errors {
                    ctx.diags.warning(
                        format!("Cannot resume {:?} on PgBouncer", spec.name),
                        e.to_string(),
                    );
                }
            }
        }
        if let Err(e) = dropped {
            backend_error(
                &mut ctx.diags,
                format!("Cannot drop database {:?}", spec.name),
                e,
            );
        }
    }

    async fn import(&self, ctx: &mut Ctx<'_, Backends>, id: &str, state: &mut Value) {
        if !crate::resources::common::is_pg_identifier(id, 63) {
            ctx.diags.error("Invalid import id", format!("{id:?} is not a database name this resource manages (lower-case letters, digits, `_`)."));
            return;
        }
        state.set("name", Value::string(id));
        // Unknown for an existing database; adopted from configuration on the next plan.
        state.set("template", Value::Null);
        // Read the installed extensions, so a configuration listing them plans no change.
        state.set("extensions", Value::List(Vec::new()));
    }
}
