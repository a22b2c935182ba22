//! The database's decisions, pure (no I/O, no `Ctx`): each takes the facts a CRUD method
//! observed and returns the step to execute or a refusal that renders its own diagnostic.
//! Table-tested in `tests.rs`, one row per branch.

use std::collections::BTreeSet;

use tfplugin::{Error, Known};

use super::{Model, Spec};
use crate::backends::postgres::{
    DatabaseFacts, DatabaseSettings, ForeignDependency, GroupMember, RoleFacts,
};
use crate::resources::postgres_marks::{
    created_at_destroy, describe_dependencies, marked_for, settle_created, unfinished, Private,
};
use crate::resources::postgres_schemas::{schema_verdicts, SchemaVerdict};
use crate::sql::{self, TenantRoles};

/// A warning for the user: summary and detail.
pub(super) type Warning = (String, String);

/// Template rule: only `template0`, `template1` or a database marked `datistemplate`, so
/// that no tenant's data can be cloned into another's database. `found` is the catalog's
/// answer for `template` (not asked for `template0`/`template1`); `Some(reason)` refuses.
pub(super) fn template_verdict(template: &str, found: Option<&DatabaseFacts>) -> Option<String> {
    match found {
        _ if is_builtin_template(template) => None,
        Some(f) if f.is_template => None,
        Some(_) => Some(format!("{template:?} is an ordinary database, not a template: copying it would clone its data (another tenant's, perhaps) into the new database. Use template0, template1, or a database an administrator marked as a template (ALTER DATABASE ... IS_TEMPLATE true).")),
        None => Some(format!("No database {template:?} exists to serve as a template. Use template0, template1, or a database marked as a template (datistemplate).")),
    }
}

/// `template0` and `template1` need no catalog read.
pub(super) fn is_builtin_template(template: &str) -> bool {
    template == "template0" || template == "template1"
}

/// The error of a refused template, on `template`.
pub(super) fn template_refused(why: String) -> Error {
    Error::at_attr("template", "Template refused", why)
}

/// What create finds under the names it is about to use.
pub(super) struct CreateFacts {
    /// The database of that name, if any.
    pub database: Option<DatabaseFacts>,
    /// The tenant roles (owner, `_readwrite`, `_readonly`) that already exist.
    pub roles: Vec<RoleFacts>,
}

/// What create does: build a new database or resume a cut-off one, creating the roles
/// that are missing.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct CreateStep {
    /// A create of this provider, for this name, was cut off: complete it.
    pub resume: bool,
    /// Roles to create (with their marker).
    pub missing: Vec<String>,
    /// Roles left by a dropped database of this name, reused (named in a warning).
    pub reused: Vec<String>,
}

impl CreateStep {
    /// The warnings this step gives, in order.
    pub fn warnings(&self, name: &str) -> Vec<Warning> {
        let mut w = Vec::new();
        if !self.reused.is_empty() {
            w.push((
                format!("Reusing roles left from a dropped database {name:?}"),
                format!("{} exist without a database, cannot log in and own nothing: they are reused for the new database.", self.reused.join(", ")),
            ));
        }
        if self.resume {
            w.push((
                format!("Resuming the create of {name:?}"),
                "An earlier create of this database was cut off (its roles and database carry this provider's marker): it is completed now.".into(),
            ));
        }
        w
    }
}

/// Why create will not touch what it found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum CreateRefusal {
    /// A database of that name exists and is not a cut-off create of this provider.
    DatabaseExists {
        /// The database.
        name: String,
    },
    /// Roles of these names exist and are not this database's own or its leftovers.
    RolesTaken {
        /// The roles.
        roles: Vec<String>,
        /// Whether the owner role is among them (the error goes on `owner`).
        owner: bool,
        /// What makes them someone else's ("" when only the incomplete set does).
        why: &'static str,
    },
}

impl CreateRefusal {
    /// The diagnostic, on `name` or `owner`.
    pub fn error(&self) -> Error {
        match self {
            CreateRefusal::DatabaseExists { name } => Error::at_attr(
                "name",
                format!("Database {name:?} already exists"),
                format!("A database named {name:?} exists but is not in this Terraform state. This provider never adopts it silently. To manage it here, import it:\n  terraform import <resource address> {name}"),
            ),
            CreateRefusal::RolesTaken { roles, owner, why } => Error::at_attr(
                if *owner { "owner" } else { "name" },
                "Role already exists",
                format!("The role(s) {} already exist in PostgreSQL{why}. They may belong to another tenant or to a database created outside Terraform; this resource will not take them over. Choose another `owner`/`name`, or drop the stale roles.", roles.join(", ")),
            ),
        }
    }
}

/// Create's rule. A database is resumed only when a create of this provider, for this
/// name, was cut off: all three roles carry the marker, and the database is owned by the
/// owner, still closed and unmarked, or marked as being created. Any other database is
/// refused (import it). Roles left behind by this database (dropped out of band, roles
/// kept) are reused: NOLOGIN and owning nothing, all three, they can only be leftovers.
/// Roles bearing this provider's marker for this database are its own. Anything else is
/// refused, on `owner` when the owner role is among them.
pub(super) fn decide_create(
    name: &str,
    roles: &TenantRoles,
    facts: &CreateFacts,
) -> Result<CreateStep, CreateRefusal> {
    let marked: Vec<&str> = facts
        .roles
        .iter()
        .filter(|r| marked_for(r, name))
        .map(|r| r.name.as_str())
        .collect();
    let resume = facts
        .database
        .as_ref()
        .is_some_and(|f| marked.len() == 3 && f.owner == roles.owner && unfinished(f));
    if facts.database.is_some() && !resume {
        return Err(CreateRefusal::DatabaseExists { name: name.into() });
    }
    let taken = |found: Vec<String>, why| CreateRefusal::RolesTaken {
        owner: found.contains(&roles.owner),
        roles: found,
        why,
    };
    let unmarked = facts
        .roles
        .iter()
        .filter(|r| !marked.contains(&r.name.as_str()));
    let foreign: Vec<String> = unmarked
        .clone()
        .filter(|r| r.can_login || r.superuser || r.owns_objects)
        .map(|r| r.name.clone())
        .collect();
    if !foreign.is_empty() {
        return Err(taken(foreign, " and can log in or own objects"));
    }
    let leftovers: Vec<String> = unmarked.map(|r| r.name.clone()).collect();
    // Only the complete set of three is a recognisable leftover; a lone role with one of
    // these names may be someone else's.
    if !leftovers.is_empty() && leftovers.len() + marked.len() < 3 {
        return Err(taken(leftovers, ""));
    }
    let missing = roles
        .all()
        .iter()
        .filter(|r| !facts.roles.iter().any(|f| f.name == **r))
        .map(|r| r.to_string())
        .collect();
    let reused = if marked.is_empty() {
        leftovers
    } else {
        Vec::new()
    };
    Ok(CreateStep {
        resume,
        missing,
        reused,
    })
}

/// A database this very create copied from `template0` holds no schema of anyone's (no
/// session ever enters `template0`), so the admin schemas need no read-back in a second
/// session: each is made with a plain `CREATE SCHEMA`, which fails, refusing, if a tenant
/// got in first. A resumed create, or another template, reads them (`admin_schema_plan`).
pub(super) fn fresh_from_template0(resume: bool, template: &str) -> bool {
    !resume && template == "template0"
}

/// The admin schemas a create or update installs into, with the attribute that asks for
/// each: `pgbouncer` for the auth function and/or `extensions`.
pub(super) fn wanted_admin_schemas(
    pgbouncer: bool,
    extensions: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    if pgbouncer {
        v.push((sql::PGBOUNCER_SCHEMA, "pgbouncer_auth"));
    }
    if extensions {
        v.push((sql::EXTENSION_SCHEMA, "extensions"));
    }
    v
}

/// An admin schema a tenant could plant objects in: refused on the attribute that asks
/// for it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SchemaRefusal {
    /// `pgbouncer_auth` or `extensions`.
    pub attr: &'static str,
    /// Names the schema and its owner.
    pub why: String,
}

/// Which of the `wanted` admin schemas of database `db` to create (those absent), given
/// the catalog facts of those `found`; a refusal for one that is open to a tenant.
pub(super) fn admin_schema_plan(
    db: &str,
    wanted: &[(&'static str, &'static str)],
    found: &[crate::backends::postgres::SchemaFacts],
) -> Result<BTreeSet<&'static str>, SchemaRefusal> {
    let names: Vec<&str> = wanted.iter().map(|(s, _)| *s).collect();
    let mut create = BTreeSet::new();
    for ((schema, attr), verdict) in wanted.iter().zip(schema_verdicts(db, &names, found)) {
        match verdict {
            SchemaVerdict::Create => {
                create.insert(*schema);
            }
            SchemaVerdict::Use => {}
            SchemaVerdict::Refuse(why) => return Err(SchemaRefusal { attr, why }),
        }
    }
    Ok(create)
}

/// After a failed build: whether the database found under the name is this create's own
/// to drop (only when this create may have made it: owned by the marked owner, still
/// unfinished or already marked complete).
pub(super) fn drop_after_failure(
    made_database: bool,
    found: Option<&DatabaseFacts>,
    owner: &str,
) -> bool {
    made_database
        && found.is_some_and(|f| {
            f.owner == owner
                && (unfinished(f) || f.comment.as_deref() == Some(sql::DATABASE_MANAGED))
        })
}

/// The private state a create records: it made all three roles (or resumed or reused
/// them, marked).
pub(super) fn created_private(roles: &TenantRoles) -> Private {
    Private {
        managed_owner: Some(roles.owner.clone()),
        created_roles: Some(roles.all().iter().map(|r| r.to_string()).collect()),
        ..Private::default()
    }
}

/// Where apps connect: the PgBouncer endpoint or the primary.
pub(super) type Endpoint = (String, u16);

/// Builds the state from what the catalog says, keeping what only configuration knows.
pub(super) fn state_from(
    endpoint: &Endpoint,
    base: &Model,
    cur: &DatabaseSettings,
    extensions: Option<BTreeSet<String>>,
) -> Model {
    Model {
        id: Known::Value(base.name.clone()),
        owner: Known::Value(cur.owner.clone()),
        connection_limit: cur.connection_limit,
        encoding: Known::Value(cur.encoding.clone()),
        lc_collate: Known::Value(cur.lc_collate.clone()),
        lc_ctype: Known::Value(cur.lc_ctype.clone()),
        extensions: match extensions {
            Some(ext) => Known::Value(ext.into_iter().collect()),
            None => unknown_as_null(&base.extensions),
        },
        host: Known::Value(endpoint.0.clone()),
        port: Known::Value(endpoint.1.into()),
        ..base.clone()
    }
}

/// A value still unknown after apply becomes null (never unknown in state).
pub(super) fn unknown_as_null<T: Clone>(v: &Known<T>) -> Known<T> {
    match v {
        Known::Unknown => Known::Null,
        other => other.clone(),
    }
}

/// A state for a create that did not finish: what planning left unknown is null.
pub(super) fn partial_state(endpoint: &Endpoint, planned: &Model, spec: &Spec) -> Model {
    Model {
        id: Known::Value(spec.name.clone()),
        owner: Known::Value(spec.roles.owner.clone()),
        host: Known::Value(endpoint.0.clone()),
        port: Known::Value(endpoint.1.into()),
        encoding: unknown_as_null(&planned.encoding),
        lc_collate: unknown_as_null(&planned.lc_collate),
        lc_ctype: unknown_as_null(&planned.lc_ctype),
        extensions: unknown_as_null(&planned.extensions),
        settings: unknown_as_null(&planned.settings),
        ..planned.clone()
    }
}

/// The warning of a create cut off whose leftovers could not be removed.
pub(super) fn incomplete_warning(name: &str) -> Warning {
    (
        format!("Database {name:?} is incomplete"),
        "The create was cut off and what it made could not be removed. Terraform records it as tainted: the next apply removes it (deletion_protection does not apply to an unfinished database) and creates it again.".into(),
    )
}

/// What read found: the database's settings, its extensions when managed, and the roles
/// when the private state has yet to settle which are created here.
pub(super) struct ReadFacts {
    /// The catalog's settings; `None`: the database is gone.
    pub settings: Option<DatabaseSettings>,
    /// Installed extensions (read only when managed).
    pub extensions: Option<BTreeSet<String>>,
    /// Issue 22: the database's `name=value` settings (read only when managed).
    pub config: Option<Vec<String>>,
    /// The tenant roles found (read only when `created_roles` is unsettled; `None` when
    /// not read or the read failed, which leaves it unsettled).
    pub roles: Option<Vec<RoleFacts>>,
}

/// What read returns: gone, or the refreshed state (drift shows in it) and the private
/// state when it changed.
#[derive(Debug, PartialEq)]
pub(super) enum ReadOutcome {
    /// The database no longer exists: Terraform plans it anew.
    Gone,
    /// It exists.
    Present {
        /// The state as the catalog says.
        state: Box<Model>,
        /// New private state, when it changed.
        private: Option<Private>,
    },
}

/// The private state read settles: the owner found becomes the managed one when none is
/// recorded; roles are settled once (state from v0.1.0) when they could be read.
pub(super) fn settle_private(
    mut private: Private,
    name: &str,
    owner: &str,
    roles: Option<&[RoleFacts]>,
) -> Private {
    if private.managed_owner.is_none() {
        private.managed_owner = Some(owner.to_string());
    }
    if private.created_roles.is_none() {
        if let Some(found) = roles {
            private.created_roles = Some(settle_created(&private, name, found));
            private.imported = false;
        }
    }
    private
}

/// Read's rule: a missing database is gone; otherwise the catalog's values replace the
/// state's (drift), and the private state settles.
pub(super) fn decide_read(
    model: &Model,
    private: &Private,
    facts: ReadFacts,
    endpoint: &Endpoint,
) -> ReadOutcome {
    let Some(cur) = facts.settings else {
        return ReadOutcome::Gone;
    };
    let settled = settle_private(
        private.clone(),
        &model.name,
        &cur.owner,
        facts.roles.as_deref(),
    );
    let mut state = state_from(endpoint, model, &cur, facts.extensions);
    if let Some(entries) = &facts.config {
        state.settings = Known::Value(super::settings::from_catalog(entries));
    }
    ReadOutcome::Present {
        state: Box::new(state),
        private: (settled != *private).then_some(settled),
    }
}

/// What an owner change on update does.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum OwnerStep {
    /// Rename the role this resource created (everything it owns follows).
    Rename {
        /// The current owner role.
        from: String,
    },
    /// Create the new owner role (marked); `left` names an adopted old owner, which
    /// stays as it is (warned about).
    Create {
        /// The adopted owner left in place.
        left: Option<String>,
    },
}

/// The owner change and the private state recorded after it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct OwnerChange {
    /// What to do.
    pub step: OwnerStep,
    /// Private state once done.
    pub private: Private,
}

/// Refuses to rename the owner onto a role that exists.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct OwnerTaken {
    /// The managed owner.
    pub from: String,
    /// The configured owner, which exists.
    pub to: String,
}

impl OwnerTaken {
    /// The diagnostic, on `owner`.
    pub fn error(&self) -> Error {
        Error::at_attr(
            "owner",
            "Role already exists",
            format!(
                "Cannot rename the owner role {:?} to {:?}: a role with that name exists.",
                self.from, self.to
            ),
        )
    }
}

/// The warning of an adopted owner left in place.
pub(super) fn owner_left_warning(left: &str, new_owner: &str) -> Warning {
    (
        format!("Role {left:?} is left in place"),
        format!("{left:?} was not created by this provider (the database was imported): a new owner role {new_owner:?} was created and takes over the database; {left:?} keeps everything else it owns."),
    )
}

/// Update's owner rule, once `created_roles` is settled: `managed` (the owner this
/// resource manages) becomes `new_owner`. Only a role this resource created is renamed;
/// an adopted one stays and a new owner is created. `existing` are the roles among the
/// two that exist. `Ok(None)`: the owner does not change.
pub(super) fn decide_owner(
    private: &Private,
    managed: &str,
    new_owner: &str,
    existing: &[String],
) -> Result<Option<OwnerChange>, OwnerTaken> {
    if managed == new_owner {
        return Ok(None);
    }
    if existing.iter().any(|r| r == new_owner) {
        return Err(OwnerTaken {
            from: managed.into(),
            to: new_owner.into(),
        });
    }
    let ours = private.created(managed);
    let step = if ours && existing.iter().any(|r| r == managed) {
        OwnerStep::Rename {
            from: managed.into(),
        }
    } else {
        OwnerStep::Create {
            left: (!ours).then(|| managed.to_string()),
        }
    };
    let mut created = private.created_roles.clone().unwrap_or_default();
    created.retain(|r| r != managed);
    if ours || !created.iter().any(|r| r == new_owner) {
        created.push(new_owner.into());
    }
    let private = Private {
        created_roles: Some(created),
        managed_owner: Some(new_owner.into()),
        ..private.clone()
    };
    Ok(Some(OwnerChange { step, private }))
}

/// What a destroy drops and what it leaves.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DestroyPlan {
    /// Roles this resource created: dropped.
    pub created: Vec<String>,
    /// Roles it adopted (an import): left in place, with a warning.
    pub adopted: Vec<String>,
}

/// Why a destroy stops before dropping anything.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DestroyRefusal {
    /// `deletion_protection` is on and the database is complete.
    Protected {
        /// The database.
        name: String,
    },
    /// A planned replacement (forced by the attributes in `forced_by`) would drop a
    /// protected database.
    ProtectedReplacement {
        /// The database.
        name: String,
        /// The changed attributes that force the replacement.
        forced_by: Vec<String>,
    },
    /// Roles it created own objects in other databases.
    OwnsElsewhere {
        /// The database.
        name: String,
        /// What they own, and where.
        owned: Vec<ForeignDependency>,
    },
}

impl DestroyRefusal {
    /// The diagnostic (`deletion_protection` for a protected database).
    pub fn error(&self) -> Error {
        match self {
            DestroyRefusal::Protected { name } => Error::at_attr(
                "deletion_protection",
                format!("Cannot destroy {TYPE_NAME} {name:?}: it is protected by deletion_protection"),
                "deletion_protection is true, so the database and its data are kept. To destroy it, set deletion_protection = false on this resource, run terraform apply, then destroy. If Terraform wants to replace it because an earlier apply was cut off after the database was complete (the instance is tainted), keep it with `terraform untaint <address>` instead.",
            ),
            DestroyRefusal::ProtectedReplacement { name, forced_by } => Error::at_attr(
                "deletion_protection",
                format!("Cannot replace {TYPE_NAME} {name:?}: it is protected by deletion_protection"),
                format!("Changing {} forces Terraform to replace the database: drop it with its data and create it again empty. deletion_protection is true, so the database and its data are kept. Undo the change to keep the database; to replace it anyway, set deletion_protection = false on this resource, run terraform apply, then apply the change.", quoted_list(forced_by)),
            ),
            DestroyRefusal::OwnsElsewhere { name, owned } => Error::new(
                format!("{}: its roles own objects elsewhere", cannot_drop(name)),
                format!("Nothing was dropped. These roles, created for {name:?}, own objects outside it:\n{}\nMove those objects to another owner or drop them (e.g. REASSIGN OWNED BY ... TO ... in that database), then destroy again. Privileges that others granted to these roles do not stop a destroy: it revokes them.", describe_dependencies(owned)),
            ),
        }
    }
}

/// The resource type, named in the protection refusals (the provider never learns the
/// resource address; Terraform prints it beside a diagnostic with an attribute path).
const TYPE_NAME: &str = "dbaas_shared_postgres_database";

/// `` `a` ``, `` `a` and `b` ``, `` `a`, `b` and `c` ``.
pub(super) fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => "the configuration".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// A planned replacement of the database (Terraform shows `-/+`; `forced_by` are the
/// changed attributes that force it): refused at plan while the prior state is
/// protected, since its destroy would be refused at apply. A tainted instance is
/// planned as a create (no prior state), so this never keeps an unfinished create.
pub(super) fn decide_replacement(
    name: &str,
    protected: bool,
    forced_by: Vec<String>,
) -> Result<(), DestroyRefusal> {
    if !protected {
        return Ok(());
    }
    Err(DestroyRefusal::ProtectedReplacement {
        name: name.into(),
        forced_by,
    })
}

/// What a destroy plan read of the catalog: the database (if any) and the roles it would
/// drop; `None` when the catalog could not be read.
pub(super) type DestroySeen<'a> = Option<(Option<&'a DatabaseFacts>, &'a [RoleFacts])>;

/// A destroy at plan time (Terraform 1.3+): destroy's first rule ([`decide_destroy`]) on
/// what the catalog says, so the plan refuses exactly what the apply would. `seen` is
/// `None` when the catalog could not be read: then only an unprotected database passes
/// (as the apply refuses a protected one it cannot look at).
pub(super) fn decide_destroy_plan(
    name: &str,
    protected: bool,
    private: &Private,
    seen: DestroySeen<'_>,
) -> Result<(), DestroyRefusal> {
    match seen {
        _ if !protected => Ok(()),
        None => Err(DestroyRefusal::Protected { name: name.into() }),
        Some((database, roles)) => {
            decide_destroy(name, protected, private, database, roles).map(|_| ())
        }
    }
}

/// The summary of every destroy failure.
pub(super) fn cannot_drop(name: &str) -> String {
    format!("Cannot drop database {name:?}")
}

/// Destroy's first rule. An unfinished create (tainted, and replaced next apply) may go
/// despite `deletion_protection`: its roles carry this provider's marker and the database
/// is absent, still closed, or still marked as being created, so no tenant ever had a
/// login into it. Terraform plans the replacement of a tainted object without its private
/// state, so the catalog decides. Then only the roles this resource created are dropped.
pub(super) fn decide_destroy(
    name: &str,
    protected: bool,
    private: &Private,
    database: Option<&DatabaseFacts>,
    roles: &[RoleFacts],
) -> Result<DestroyPlan, DestroyRefusal> {
    let cut_off = roles.iter().any(|r| marked_for(r, name)) && database.is_none_or(unfinished);
    if protected && !cut_off {
        return Err(DestroyRefusal::Protected { name: name.into() });
    }
    let created = created_at_destroy(private, name, roles, cut_off);
    let adopted = roles
        .iter()
        .filter(|r| !created.contains(&r.name))
        .map(|r| r.name.clone())
        .collect();
    Ok(DestroyPlan { created, adopted })
}

/// Objects another database holds are never dropped: a role this resource made that owns
/// something elsewhere (`owned`, from `sort_elsewhere`) stops the destroy.
pub(super) fn check_owned_elsewhere(
    name: &str,
    owned: Vec<ForeignDependency>,
) -> Result<(), DestroyRefusal> {
    if owned.is_empty() {
        return Ok(());
    }
    Err(DestroyRefusal::OwnsElsewhere {
        name: name.into(),
        owned,
    })
}

/// The members of the dropped group roles, sorted: logins Vault issued are dropped (they
/// must not outlive the tenant); superusers and any other login are only named.
pub(super) fn sort_members(members: Vec<GroupMember>) -> (Vec<String>, Vec<String>) {
    let mut drop = Vec::new();
    let mut keep = Vec::new();
    for GroupMember { login, superuser } in members {
        if superuser || !crate::resources::postgres_marks::vault_made_login(&login) {
            keep.push(login);
        } else {
            drop.push(login);
        }
    }
    (drop, keep)
}

/// What the destroy's drop loop does after a round.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Round {
    /// Revoke and drop again (a grant arrived between the revocation and `DROP ROLE`,
    /// 2BP01, or logins are left).
    Again,
    /// Everything that could be dropped is.
    Done,
    /// The roles could not be dropped: the destroy fails.
    Fail,
}

/// The rule of the drop loop: three rounds at most; a 2BP01 (`dependent objects`) on the
/// created roles, or logins left to drop, is another round while one remains. `dropped`
/// is how dropping the created roles went (`Err` with the error's SQLSTATE, if any).
pub(super) fn after_round(
    last: bool,
    dropped: Result<(), Option<&str>>,
    logins_left: bool,
) -> Round {
    match dropped {
        Err(Some("2BP01")) if !last => Round::Again,
        Err(_) => Round::Fail,
        Ok(()) if logins_left && !last => Round::Again,
        Ok(()) => Round::Done,
    }
}

/// The extensions before an update and those it adds (set in configuration, not before).
pub(super) fn extension_change(prior: &Model, spec: &Spec) -> (BTreeSet<String>, Vec<String>) {
    let before: BTreeSet<String> = prior
        .extensions
        .as_option()
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let added = spec
        .extensions
        .iter()
        .flat_map(|after| after.difference(&before))
        .cloned()
        .collect();
    (before, added)
}

/// The statements of an update (but the extensions it adds, which need the server's
/// answer): `(admin, inside)`, run in the maintenance database and then in the tenant's.
/// `owner_changed`: the owner in the prior state differs (drift, or a rename just done):
/// the database is handed back and the schema set up again. `create` are the admin
/// schemas to create (see [`admin_schema_plan`]).
pub(super) fn update_statements(
    prior: &Model,
    spec: &Spec,
    auth: &str,
    create: &BTreeSet<&'static str>,
    before: &BTreeSet<String>,
) -> (Vec<String>, sql::Script) {
    let owner_changed = prior.owner.as_option().map_or("", String::as_str) != spec.roles.owner;
    let auth_changed = prior.pgbouncer_auth != spec.pgbouncer_auth;
    let mut admin = Vec::new();
    let mut inside = sql::Script::default();
    if owner_changed {
        admin.push(sql::alter_database_owner(&spec.name, &spec.roles.owner));
        inside.extend(sql::schema_setup(&spec.roles));
    }
    if prior.connection_limit != spec.connection_limit {
        admin.push(sql::alter_connection_limit(
            &spec.name,
            spec.connection_limit,
        ));
    }
    if auth_changed && spec.pgbouncer_auth {
        admin.extend(sql::database_grants(&spec.name, &spec.roles, Some(auth)));
        inside.extend(sql::pgbouncer_auth_setup(
            auth,
            &spec.roles,
            create.contains(sql::PGBOUNCER_SCHEMA),
        ));
    } else if auth_changed {
        admin.push(sql::revoke_connect(&spec.name, auth));
        inside.extend(sql::pgbouncer_auth_teardown());
    }
    if let Some(after) = &spec.extensions {
        inside.extend(before.difference(after).map(|e| sql::drop_extension(e)));
    }
    (admin, inside)
}

/// What a destroy tells the user afterwards, in order: what it revoked elsewhere, the
/// logins it kept, and (when the drop succeeded) the adopted roles it left.
pub(super) fn destroy_warnings(
    name: &str,
    revoked: &[ForeignDependency],
    kept: &[String],
    adopted: &[String],
    dropped: bool,
) -> Vec<Warning> {
    let mut w = Vec::new();
    if !revoked.is_empty() {
        w.push((
            format!("Revoked privileges others granted to the roles of {name:?}"),
            format!("Other databases granted privileges to the roles of {name:?} (its owner and group roles, or logins Vault issued into them). They were revoked (DROP OWNED BY in each of those databases, where these roles own nothing), so that the roles could be dropped:\n{}", describe_dependencies(revoked)),
        ));
    }
    if !kept.is_empty() {
        w.push((
            format!("Logins of {name:?} kept"),
            format!("These logins were members of the database's group roles but were not issued by Vault (or could not be dropped); they are left in place, without the memberships: {}", kept.join(", ")),
        ));
    }
    if !adopted.is_empty() && dropped {
        w.push((
            format!("Roles of {name:?} left in place"),
            format!("{} were not created by this resource (it imported the database; its private state records no roles as created here), so destroy leaves them as they are. The configuration that created them, or an administrator, drops them.", adopted.join(", ")),
        ));
    }
    w
}
