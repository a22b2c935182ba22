//! The acceptance fixture: what every case needs besides its own configuration and
//! assertions. HCL for each resource type ([`config`], [`resource`], [`one_resource`],
//! [`counted`], [`pg_database`], [`connection`], [`role`], [`postgres_vault_provider`],
//! [`ephemeral_login`]),
//! and [`Stack`], which builds a configuration together with the guard that knows what it
//! makes; plans ([`plan`], [`plan_with_changes`], [`plan_diff`], [`assert_plan_empty`],
//! [`assert_plan_shows`], [`assert_plan_in_place`]) and applies seen through to an empty
//! plan ([`apply_clean`], [`apply_planned`], [`apply_in_place`]); refusals
//! ([`assert_refused_at_plan`], [`assert_apply_refused`], [`assert_apply_refuses_foreign`],
//! [`assert_failures_name_the_server`]); message checks ([`flat`], [`points_at`]); admin
//! access to every backend (PostgreSQL [`pg_admin`], MySQL [`mysql_admin`], Redis
//! [`redis_admin`] and [`redis_login`], Vault through `harness::vault_*`, [`read_creds`] and
//! [`issue_creds`]); and ONE cleanup guard, [`Cleanup`], that knows every backend; [`Case`]
//! is a working directory with its guard, destroyed on every exit.
//!
//! A new case: names unique per case and per Terraform version ([`tagged`]), a `Stack`
//! (or a `Case`, or a `Cleanup`) naming what it makes, its HCL, its assertions.
//!
//! `faults.rs` is its own test binary and includes this file with `#[path]`, as it does
//! `harness.rs`; both are modules at the crate root there too.

#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{
    provider_block, psql, psql_admin, psql_command, stack, vault_delete, vault_get, vault_list,
    vault_put, vault_request, Run, Terraform, Workdir,
};

/// Names unique per Terraform version: `<prefix>_<version digits>` for each prefix (cases
/// run in parallel, each on every Terraform).
pub fn tagged<const N: usize>(tf: &Terraform, prefixes: [&str; N]) -> [String; N] {
    let v = crate::harness::version_tag(tf);
    prefixes.map(|p| format!("{p}_{v}"))
}

/// Every Terraform under test (`harness::terraforms`), each announced on stderr as its
/// turn comes: `for tf in each_terraform() { ... }`.
pub fn each_terraform() -> impl Iterator<Item = Terraform> {
    crate::harness::terraforms()
        .into_iter()
        .inspect(|tf| eprintln!("running on terraform {}", tf.version))
}

// ---------------------------------------------------------------------------------------
// resource types and HCL
// ---------------------------------------------------------------------------------------

/// `dbaas_shared_postgres_database`.
pub const PGDB: &str = "dbaas_shared_postgres_database";
/// `dbaas_shared_mysql_database`.
pub const MYDB: &str = "dbaas_shared_mysql_database";
/// `dbaas_shared_redis_namespace`.
pub const RNS: &str = "dbaas_shared_redis_namespace";
/// `dbaas_vault_database_connection`.
pub const CONN: &str = "dbaas_vault_database_connection";
/// `dbaas_vault_rotation_role`.
pub const ROLE: &str = "dbaas_vault_rotation_role";

/// `ephemeral "dbaas_database_credentials" "app"` for rotation role `role_expr` (an HCL
/// expression), and `resource "terraform_data" "<label>"` whose local-exec runs `command`
/// (an HCL string, quoted) at apply with `env` in its environment: `(variable, attribute
/// of the credentials)`.
pub fn ephemeral_login(
    role_expr: &str,
    label: &str,
    command: &str,
    env: &[(&str, &str)],
) -> String {
    let env: String = env
        .iter()
        .map(|(var, attr)| {
            format!("      {var} = ephemeral.dbaas_database_credentials.app.{attr}\n")
        })
        .collect();
    format!(
        "ephemeral \"dbaas_database_credentials\" \"app\" {{\n  role = {role_expr}\n}}\n\n\
         resource \"terraform_data\" \"{label}\" {{\n  provisioner \"local-exec\" {{\n    \
         command     = {command}\n    environment = {{\n{env}    }}\n  }}\n}}\n"
    )
}

/// The provider block for the whole dev stack plus `body`.
pub fn config(body: &str) -> String {
    format!("{}\n{body}", provider_block())
}

/// An HCL string literal (template sequences escaped too).
pub fn hcl_str(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace("${", "$${")
            .replace("%{", "%%{")
    )
}

/// One `resource "<ty>" "<label>"` with `name` and extra attribute lines.
pub fn resource(ty: &str, label: &str, name: &str, extra: &str) -> String {
    format!(
        "resource \"{ty}\" \"{label}\" {{\n  name = {}\n{extra}\n}}\n",
        hcl_str(name)
    )
}

/// A working directory whose configuration is the provider block and one `<ty>.x` with
/// `name` and extra attribute lines: the shape of most single-resource cases.
pub fn one_resource(tf: &Terraform, ty: &str, name: &str, extra: &str) -> Workdir {
    Workdir::new(tf, &config(&resource(ty, "x", name, extra)))
}

/// `dbaas_shared_postgres_database.<label>`, unprotected so destroy can drop it.
pub fn pg_database(label: &str, name: &str) -> String {
    format!("resource \"{PGDB}\" \"{label}\" {{\n  name                = \"{name}\"\n  deletion_protection = false\n}}\n")
}

/// `dbaas_vault_database_connection.<label>` with extra attribute lines.
pub fn connection(label: &str, name: &str, engine: &str, extra: &str) -> String {
    format!("resource \"{CONN}\" \"{label}\" {{\n  name   = \"{name}\"\n  engine = \"{engine}\"\n{extra}}}\n")
}

/// `dbaas_vault_rotation_role.<label>` on connection `<conn_label>`, for `database`
/// (an HCL expression), with extra attribute lines.
pub fn role(label: &str, name: &str, conn_label: &str, database: &str, extra: &str) -> String {
    format!("resource \"{ROLE}\" \"{label}\" {{\n  name       = \"{name}\"\n  connection = {CONN}.{conn_label}.name\n  database   = {database}\n{extra}}}\n")
}

/// The attribute line `allowed_roles = ["<role>"]`, for [`connection`]'s extra lines.
pub fn allowed_role(role: &str) -> String {
    format!("  allowed_roles = [{}]\n", hcl_str(role))
}

/// A provider block with only `postgres` (the dev stack's primary, `sslmode = "disable"`,
/// plus `postgres_lines`, e.g. a `password_vault_path`) and `vault`: for cases whose admin
/// login comes from Vault KV. Run them with [`NO_PG_LOGIN`].
pub fn postgres_vault_provider(postgres_lines: &str) -> String {
    format!(
        "provider \"dbaas\" {{\n  postgres {{\n    host    = {}\n    port    = {}\n    sslmode = \"disable\"\n{postgres_lines}  }}\n  vault {{\n    address = {}\n    token   = {}\n  }}\n}}\n",
        hcl_str(&stack("PGHOST")),
        stack("PGPORT"),
        hcl_str(&stack("VAULT_ADDR")),
        hcl_str(&stack("VAULT_TOKEN")),
    )
}

/// The environment of a provider with no PostgreSQL admin login (`PGUSER`, `PGPASSWORD`
/// empty): only Vault KV can supply it.
pub const NO_PG_LOGIN: &[(&str, &str)] = &[("PGPASSWORD", ""), ("PGUSER", "")];

/// `terraform apply -auto-approve` with extra environment.
pub fn apply_env(w: &Workdir, env: &[(&str, &str)]) -> Run {
    w.run_env(
        &["apply", "-auto-approve", "-no-color", "-input=false"],
        env,
    )
}

/// `terraform destroy -auto-approve` with extra environment.
pub fn destroy_env(w: &Workdir, env: &[(&str, &str)]) -> Run {
    w.run_env(
        &["destroy", "-auto-approve", "-no-color", "-input=false"],
        env,
    )
}

/// The first Terraform under test that is newer than v1.0 (ephemeral resources and
/// write-only arguments need 1.10/1.11), or `None` with a note on stderr saying which
/// cases (`what`) are skipped.
pub fn newer_terraform(what: &str) -> Option<Terraform> {
    let t = crate::harness::terraforms()
        .into_iter()
        .find(|t| !t.version.starts_with("v1.0."));
    if t.is_none() {
        eprintln!("note: only Terraform v1.0.3 is available, so {what} are skipped");
    }
    t
}

/// Credentials freshly issued by Vault for the role `role` (`database/creds/<role>`).
pub fn issue_creds(role: &str) -> Creds {
    read_creds(&format!("database/creds/{role}"))
}

/// The names `<prefix>00`, `<prefix>01`, ... of `n` resources made with `count`.
pub fn counted_names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:02}")).collect()
}

/// A working directory with `n` resources `<ty>.many` (one `count`), named as
/// [`counted_names`] says, with extra attribute lines.
pub fn counted(tf: &Terraform, ty: &str, prefix: &str, n: usize, extra: &str) -> Workdir {
    Workdir::new(
        tf,
        &config(&format!(
            "resource \"{ty}\" \"many\" {{\n  count = {n}\n  name = format(\"{prefix}%02d\", count.index)\n{extra}\n}}\n"
        )),
    )
}

/// [`counted`] resources applied and destroyed at `-parallelism=20`, held by the guard
/// `guard(names)` makes: `existing(names)` (how many of them the backend holds) must be
/// `n` after the apply, whose plan is then empty, and 0 after the destroy.
pub fn assert_counted_at_parallelism_20(
    tf: &Terraform,
    (ty, prefix, n, extra): (&str, &str, usize, &str),
    guard: impl FnOnce(&[&str]) -> Cleanup,
    existing: impl Fn(&[String]) -> usize,
) {
    let names = counted_names(prefix, n);
    let _guard = guard(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let existing = || existing(&names);
    let w = counted(tf, ty, prefix, n, extra);
    w.apply_parallel(20).ok();
    assert_eq!(existing(), n, "all {n} exist after the apply");
    assert_plan_empty(&w, &format!("creating {n} {ty}"));
    w.destroy_parallel(20).ok();
    assert_eq!(existing(), 0, "none is left after the destroy");
}

/// A provider with only its `<block>` (`mysql`, `redis`) on the dev stack's host, first at
/// a closed port and then at the real one with a wrong password: applying `resource_hcl`
/// must fail with an error naming `<engine> at host:port (provider block `<block>`)` (and
/// `authentication failed` for the password), never with the password in it.
pub fn assert_failures_name_the_server(
    tf: &Terraform,
    block: &str,
    engine: &str,
    username: Option<&str>,
    resource_hcl: &str,
) {
    let host = stack(&format!("DBAAS_{}_HOST", block.to_ascii_uppercase()));
    let port = stack(&format!("DBAAS_{}_PORT", block.to_ascii_uppercase()));
    let user = username
        .map(|u| format!("    username = {}\n", hcl_str(u)))
        .unwrap_or_default();
    for (at, password, says) in [
        (
            "1".to_string(),
            "x",
            format!("{engine} at {host}:1 (provider block `{block}`)"),
        ),
        (
            port.clone(),
            "wrong-password",
            format!("{engine} at {host}:{port} (provider block `{block}`): authentication failed"),
        ),
    ] {
        let w = Workdir::new(
            tf,
            &format!(
                "provider \"dbaas\" {{\n  {block} {{\n    host = {}\n    port = {at}\n{user}    password = \"{password}\"\n  }}\n}}\n{resource_hcl}",
                hcl_str(&host)
            ),
        );
        let r = w.apply().failed();
        assert!(
            flat(&r.all()).contains(&says),
            "expected {says:?} in\n{}",
            r.all()
        );
        assert!(
            !flat(&r.all()).contains("wrong-password"),
            "secret in output"
        );
    }
}

/// Outputs `<label>_creds_path` and `<label>_policy` of a rotation role.
pub fn role_outputs(label: &str) -> String {
    format!("output \"{label}_creds_path\" {{ value = {ROLE}.{label}.creds_path }}\noutput \"{label}_policy\" {{ value = {ROLE}.{label}.policy }}\n")
}

/// `<ty>.<label>.name`: the expression naming another resource, e.g. a role's `database`.
pub fn name_of(ty: &str, label: &str) -> String {
    format!("{ty}.{label}.name")
}

/// A configuration built resource by resource together with the guard that knows what it
/// makes: `Stack::default().database("db", &db).connection("pg", &conn, "postgres", "")
/// .role("app", &app, "pg", &name_of(PGDB, "db"), "").case(&tf)`.
#[derive(Default)]
pub struct Stack {
    hcl: String,
    guard: Cleanup,
}

impl Stack {
    /// An unprotected `dbaas_shared_postgres_database.<label>` (see [`pg_database`]).
    pub fn database(mut self, label: &str, name: &str) -> Stack {
        self.hcl.push_str(&pg_database(label, name));
        self.guard.tenants.push(name.to_string());
        self
    }

    /// `dbaas_vault_database_connection.<label>` (see [`connection`]).
    pub fn connection(mut self, label: &str, name: &str, engine: &str, extra: &str) -> Stack {
        self.hcl.push_str(&connection(label, name, engine, extra));
        self.guard.vault_connections.push(name.to_string());
        self
    }

    /// `dbaas_vault_rotation_role.<label>` on connection `conn_label` (see [`role`]).
    pub fn role(
        mut self,
        label: &str,
        name: &str,
        conn_label: &str,
        database: &str,
        extra: &str,
    ) -> Stack {
        self.hcl
            .push_str(&role(label, name, conn_label, database, extra));
        self.guard.vault_roles.push(name.to_string());
        self
    }

    /// Any other HCL (what it makes goes into the guard by hand: [`Stack::guard`]).
    pub fn hcl(mut self, text: &str) -> Stack {
        self.hcl.push_str(text);
        self
    }

    /// The guard, for what [`Stack::hcl`] makes or the case makes by hand.
    pub fn guard(mut self, add: impl FnOnce(&mut Cleanup)) -> Stack {
        add(&mut self.guard);
        self
    }

    /// The configuration so far, without the provider block.
    pub fn body(&self) -> &str {
        &self.hcl
    }

    /// A case whose working directory holds this configuration (with the provider block)
    /// and whose guard knows everything the stack makes.
    pub fn case(self, tf: &Terraform) -> Case {
        let mut c = Case::new(tf, &config(&self.hcl));
        c.guard = self.guard;
        c
    }
}

// ---------------------------------------------------------------------------------------
// plans and messages
// ---------------------------------------------------------------------------------------

/// `terraform plan -detailed-exitcode`: the run, for assertions on its text.
pub fn plan(w: &Workdir) -> Run {
    w.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"])
}

/// `terraform plan -refresh=false -detailed-exitcode`: what CI runs where the databases
/// are out of reach.
pub fn plan_without_refresh(w: &Workdir) -> Run {
    w.run(&[
        "plan",
        "-refresh=false",
        "-no-color",
        "-input=false",
        "-detailed-exitcode",
    ])
}

/// A plan that must propose changes (exit code 2); returns its text.
pub fn plan_with_changes(w: &Workdir) -> String {
    let r = plan(w);
    assert_eq!(
        r.code, 2,
        "expected a plan with changes on {}\n--- stdout\n{}\n--- stderr\n{}",
        w.tf.version, r.stdout, r.stderr
    );
    r.stdout
}

/// A plan that must propose changes and show every one of `words`; its text.
pub fn assert_plan_shows(w: &Workdir, words: &[&str]) -> String {
    let p = plan_with_changes(w);
    for word in words {
        assert!(p.contains(word), "expected {word:?} in the plan:\n{p}");
    }
    p
}

/// A plan that must update in place (`update in-place`, never `must be replaced`) and show
/// every one of `words`; its text.
pub fn assert_plan_in_place(w: &Workdir, words: &[&str]) -> String {
    let p = assert_plan_shows(w, &[&["update in-place"], words].concat());
    assert!(
        !p.contains("must be replaced"),
        "a replacement planned:\n{p}"
    );
    p
}

/// `terraform apply` that must succeed, then a plan that must be empty (`after` names the
/// step in the panic); the apply's run.
pub fn apply_clean(w: &Workdir, after: &str) -> Run {
    let r = w.apply().ok();
    assert_plan_empty(w, after);
    r
}

/// A change seen through: a plan that must propose changes showing every one of `words`,
/// then [`apply_clean`]. The apply's run, for checks of what it did.
pub fn apply_planned(w: &Workdir, words: &[&str], after: &str) -> Run {
    assert_plan_shows(w, words);
    apply_clean(w, after)
}

/// [`apply_planned`] for a change that must be an update in place ([`assert_plan_in_place`]).
pub fn apply_in_place(w: &Workdir, words: &[&str], after: &str) -> Run {
    assert_plan_in_place(w, words);
    apply_clean(w, after)
}

/// The resource diffs of a plan (from the first `# <address>` line to `Plan:`), or
/// `None` when the plan is empty; panics on a failed plan.
pub fn plan_diff(w: &Workdir) -> Option<String> {
    let r = plan(w);
    match r.code {
        0 => None,
        2 => {
            let start = r.stdout.find("  # ").unwrap_or(0);
            let text = &r.stdout[start..];
            let end = text
                .find("\nPlan:")
                .and_then(|e| text[e + 1..].find('\n').map(|l| e + 1 + l))
                .unwrap_or(text.len());
            Some(text[..end].to_string())
        }
        _ => panic!(
            "plan failed on {}\n{}\n{}",
            w.tf.version, r.stdout, r.stderr
        ),
    }
}

/// The plan after `when` must succeed and propose nothing; the panic shows the diff.
pub fn assert_plan_empty(w: &Workdir, when: &str) {
    if let Some(diff) = plan_diff(w) {
        panic!(
            "plan after {when} must be empty on {}, but it has changes:\n{diff}",
            w.tf.version
        );
    }
}

/// A plan that must fail with `says` (whitespace flattened) in a diagnostic that points
/// at `attr`; `what` names the input in the panic. Returns the plan's text.
pub fn assert_refused_at_plan(w: &Workdir, attr: &str, says: &str, what: &str) -> String {
    let all = w.run(&["plan", "-no-color", "-input=false"]).failed().all();
    assert!(
        flat(&all).contains(says),
        "{what}: expected {says:?} in\n{all}"
    );
    assert!(
        points_at(&all, attr),
        "{what}: must point at `{attr}`:\n{all}"
    );
    all
}

/// The run opened `ephemeral.dbaas_database_credentials.<label>` and closed it again.
pub fn assert_opened_and_closed(r: &Run, label: &str) {
    assert!(
        r.stdout.contains(&format!(
            "ephemeral.dbaas_database_credentials.{label}: Opening"
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Closing complete"), "{}", r.stdout);
}

/// An apply that must fail because the object already exists outside the state, with the
/// hint to `terraform import` it (an object this state does not own is never adopted).
pub fn assert_apply_refuses_foreign(w: &Workdir) {
    let all = flat(&w.apply().failed().all());
    assert!(
        all.contains("already exists") && all.contains("terraform import"),
        "{all}"
    );
}

/// An apply that must fail before anything is applied.
pub fn assert_apply_refused(w: &Workdir) {
    let r = w.apply().failed();
    assert!(!flat(&r.all()).contains("Apply complete"), "{}", r.all());
}

/// `s` with every run of whitespace made one space: Terraform wraps diagnostic text at
/// ~78 columns.
pub fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether some diagnostic in `out` quotes the configuration line of `attr` (Terraform
/// does so when the diagnostic carries the attribute path).
pub fn points_at(out: &str, attr: &str) -> bool {
    out.lines().any(|l| {
        let l = l.trim_start_matches(['│', ' ']);
        l.split_once(':').is_some_and(|(n, rest)| {
            n.trim().parse::<u32>().is_ok() && rest.trim_start().starts_with(&format!("{attr} "))
        })
    })
}

/// Output `name` of the working directory, which must be a string.
pub fn output_str(w: &Workdir, name: &str) -> String {
    w.outputs()[name]
        .as_str()
        .unwrap_or_else(|| panic!("output {name} is not a string"))
        .to_string()
}

/// Waits until `cond` holds, up to `timeout`.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    cond()
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------

/// A PostgreSQL string literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A PostgreSQL identifier.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A LIKE pattern with its wildcards escaped (default escape `\`).
pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Admin SQL in `db` on the PostgreSQL primary that must succeed.
pub fn pg_admin(db: &str, sql: &str) -> String {
    psql_admin(db, sql).unwrap_or_else(|e| panic!("admin SQL failed in {db}: {sql}\n{e}"))
}

/// The roles a tenant database `name` comes with: `<name>_owner`, `<name>_readwrite` and
/// `<name>_readonly`.
pub fn tenant_group_roles(name: &str) -> [String; 3] {
    ["owner", "readwrite", "readonly"].map(|r| format!("{name}_{r}"))
}

/// A PostgreSQL login made by hand, `CREATE ROLE <login> LOGIN PASSWORD ... IN ROLE
/// <group>` (no group: a bare login), after dropping a leftover of that name; remembered
/// by the guard.
pub fn create_login(guard: &mut Cleanup, login: &str, password: &str, group: Option<&str>) {
    guard.pg_roles.push(login.to_string());
    pg_admin("postgres", &format!("DROP ROLE IF EXISTS {}", ident(login)));
    let in_role = group
        .map(|g| format!(" IN ROLE {}", ident(g)))
        .unwrap_or_default();
    pg_admin(
        "postgres",
        &format!(
            "CREATE ROLE {} LOGIN PASSWORD {}{in_role}",
            ident(login),
            lit(password)
        ),
    );
}

/// The port of the apps' PgBouncer.
pub fn pgb_port() -> String {
    stack("DBAAS_PGBOUNCER_PORT")
}

/// Whether a PostgreSQL role exists.
pub fn pg_role_exists(name: &str) -> bool {
    pg_admin(
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = {}",
            lit(name)
        ),
    ) == "1"
}

/// Logins Vault's default template made for roles whose name starts with `prefix`
/// (at most 8 characters are kept).
pub fn vault_made_logins(prefix: &str) -> Vec<String> {
    try_vault_made_logins(prefix).unwrap_or_else(|e| panic!("{e}"))
}

fn try_vault_made_logins(prefix: &str) -> Result<Vec<String>, String> {
    let short: String = prefix.chars().take(8).collect();
    let sql = format!(
        "SELECT rolname FROM pg_roles WHERE rolname LIKE {} ORDER BY 1",
        lit(&format!("v-%-{}-%", like_escape(&short)))
    );
    psql_admin("postgres", &sql)
        .map(|out| out.lines().map(str::to_string).collect())
        .map_err(|e| format!("admin SQL failed in postgres: {sql}\n{e}"))
}

// ---------------------------------------------------------------------------------------
// MySQL (MariaDB)
// ---------------------------------------------------------------------------------------

/// Runs `sql` with the `mariadb` client (TCP, batch, no column names) as `user`, in `db`
/// when given; trimmed stdout (tab-separated rows), or stderr on failure.
pub fn mysql_as(user: &str, password: &str, db: Option<&str>, sql: &str) -> Result<String, String> {
    let mut cmd = Command::new("mariadb");
    cmd.args(["--no-defaults", "--protocol=TCP", "-h"])
        .arg(stack("DBAAS_MYSQL_HOST"))
        .arg("-P")
        .arg(stack("DBAAS_MYSQL_PORT"))
        .arg("-u")
        .arg(user)
        .args(["-N", "-B", "--connect-timeout=10"])
        .env("MYSQL_PWD", password);
    if let Some(db) = db {
        cmd.arg("-D").arg(db);
    }
    let out = cmd
        .arg("-e")
        .arg(sql)
        .output()
        .map_err(|e| format!("cannot run mariadb: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// MySQL SQL as the dev stack's admin; the error text on failure.
pub fn mysql_try_admin(sql: &str) -> Result<String, String> {
    mysql_as(
        &stack("DBAAS_MYSQL_USER"),
        &stack("DBAAS_MYSQL_PASSWORD"),
        None,
        sql,
    )
}

/// MySQL admin SQL that must succeed.
pub fn mysql_admin(sql: &str) -> String {
    mysql_try_admin(sql).unwrap_or_else(|e| panic!("MySQL admin SQL failed: {sql}\n{e}"))
}

/// A MySQL string literal.
pub fn my_lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A MySQL identifier.
pub fn my_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// Whether a MySQL user of that name exists (on any host).
pub fn mysql_user_exists(user: &str) -> bool {
    mysql_admin(&format!(
        "SELECT count(*) FROM mysql.user WHERE user = {}",
        my_lit(user)
    )) != "0"
}

/// An open MySQL session (the `mariadb` client reading statements from a pipe), as an app
/// holds one: it stays connected between [`MysqlSession::query`] calls, so a test can see
/// what a session opened before some change still reaches after it. Killed on drop.
pub struct MysqlSession {
    child: Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<Result<String, String>>,
}

/// What [`MysqlSession::query`] prints after each statement to know it is done.
const SESSION_DONE: &str = "-- session statement done --";

impl MysqlSession {
    /// Connects as `user` into `db` and runs `SELECT 1`; panics when that fails.
    pub fn open(user: &str, password: &str, db: &str) -> MysqlSession {
        let mut child = Command::new("mariadb")
            .args(["--no-defaults", "--protocol=TCP", "-h"])
            .arg(stack("DBAAS_MYSQL_HOST"))
            .arg("-P")
            .arg(stack("DBAAS_MYSQL_PORT"))
            .arg("-u")
            .arg(user)
            .args([
                "-N",
                "-B",
                "-n",
                "--skip-reconnect",
                "--connect-timeout=10",
                "-D",
            ])
            .arg(db)
            .env("MYSQL_PWD", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mariadb");
        let (tx, lines) = std::sync::mpsc::channel();
        let stdin = child.stdin.take().expect("piped stdin");
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let tx_err = tx.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(Ok(l)).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                if tx_err.send(Err(l)).is_err() {
                    break;
                }
            }
        });
        let mut s = MysqlSession {
            child,
            stdin,
            lines,
        };
        s.query("SELECT 1")
            .unwrap_or_else(|e| panic!("session of {user} in {db} does not open: {e}"));
        s
    }

    /// Runs `sql` on the open session: its output rows, or the error (the client stops on
    /// the first error; a killed session says so).
    pub fn query(&mut self, sql: &str) -> Result<String, String> {
        use std::io::Write;
        let text = format!("{sql};\nSELECT '{SESSION_DONE}';\n");
        if self
            .stdin
            .write_all(text.as_bytes())
            .and_then(|_| self.stdin.flush())
            .is_err()
        {
            return Err("the session is closed (its client exited)".into());
        }
        let mut rows = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(Ok(l)) if l == SESSION_DONE => return Ok(rows.join("\n")),
                Ok(Ok(l)) => rows.push(l),
                Ok(Err(e)) => return Err(e),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("no answer within 20 s to {sql:?}"))
                }
                Err(_) => return Err("the session is closed (its client exited)".into()),
            }
        }
    }
}

impl Drop for MysqlSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ids of the server sessions `user` holds (any host), as the admin sees them.
pub fn mysql_sessions_of(user: &str) -> Vec<String> {
    mysql_admin(&format!(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = {}",
        my_lit(user)
    ))
    .lines()
    .map(str::to_string)
    .collect()
}

/// Every grant row (database, table/column, routine level) of `'user'@'%'` whose database
/// is `db`, or whose database pattern is `db` escaped, as `level:db[:object]` lines.
pub fn mysql_grants_on(user: &str, db: &str) -> Vec<String> {
    let (u, d, e) = (my_lit(user), my_lit(db), my_lit(&db.replace('_', "\\_")));
    mysql_admin(&format!(
        "SELECT CONCAT('db:', Db) FROM mysql.db WHERE User = {u} AND Db IN ({d}, {e}) \
         UNION ALL SELECT CONCAT('table:', Db, ':', Table_name) FROM mysql.tables_priv WHERE User = {u} AND Db = {d} \
         UNION ALL SELECT CONCAT('column:', Db, ':', Table_name, '.', Column_name) FROM mysql.columns_priv WHERE User = {u} AND Db = {d} \
         UNION ALL SELECT CONCAT('routine:', Db, ':', Routine_name) FROM mysql.procs_priv WHERE User = {u} AND Db = {d}"
    ))
    .lines()
    .map(str::to_string)
    .collect()
}

/// Names of the MySQL databases starting with `prefix` (`_` taken literally).
pub fn mysql_databases(prefix: &str) -> Vec<String> {
    mysql_admin(&format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{}%' ORDER BY 1",
        prefix.replace('_', "\\_")
    ))
    .lines()
    .map(str::to_string)
    .collect()
}

// ---------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------

/// A connection as `user`, or the error text (e.g. WRONGPASS).
pub fn redis_login(user: &str, password: &str) -> Result<::redis::Connection, String> {
    let info = ::redis::ConnectionAddr::Tcp(
        stack("DBAAS_REDIS_HOST"),
        stack("DBAAS_REDIS_PORT").parse().unwrap_or(6379),
    );
    let info = ::redis::IntoConnectionInfo::into_connection_info(info)
        .map_err(|e| e.to_string())?
        .set_redis_settings(
            ::redis::RedisConnectionInfo::default()
                .set_username(user)
                .set_password(password)
                .set_skip_set_lib_name(),
        );
    ::redis::Client::open(info)
        .and_then(|c| c.get_connection())
        .map_err(|e| e.to_string())
}

/// A connection as the dev stack's Redis admin (`default`).
pub fn redis_admin_conn() -> ::redis::Connection {
    redis_login("default", &stack("DBAAS_REDIS_PASSWORD")).expect("admin login to the dev Redis")
}

/// Runs a command on `conn`; its reply as text, or the error text.
pub fn redis_run(conn: &mut ::redis::Connection, args: &[&str]) -> Result<String, String> {
    let mut cmd = ::redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<::redis::Value>(conn)
        .map(|v| redis_text(&v))
        .map_err(|e| e.to_string())
}

/// A reply as plain text: `OK`, the string, the number, `nil`, or items joined by spaces.
pub fn redis_text(v: &::redis::Value) -> String {
    match v {
        ::redis::Value::Nil => "nil".into(),
        ::redis::Value::Okay => "OK".into(),
        ::redis::Value::Int(i) => i.to_string(),
        ::redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        ::redis::Value::SimpleString(s) => s.clone(),
        ::redis::Value::Array(items) => items.iter().map(redis_text).collect::<Vec<_>>().join(" "),
        other => format!("{other:?}"),
    }
}

/// Keys matching the glob `pattern` (SCAN on `conn`).
pub fn redis_scan(conn: &mut ::redis::Connection, pattern: &str) -> Result<Vec<String>, String> {
    let mut cursor = 0u64;
    let mut all = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(conn)
            .map_err(|e| e.to_string())?;
        all.extend(keys);
        if next == 0 {
            return Ok(all);
        }
        cursor = next;
    }
}

/// Runs one Redis command with `redis-cli -e` as `user`; trimmed stdout, or the error
/// reply (and stderr) when the command or the login fails.
pub fn redis_cli(user: &str, password: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("redis-cli")
        .args([
            "-e",
            "--no-auth-warning",
            "-h",
            &stack("DBAAS_REDIS_HOST"),
            "-p",
            &stack("DBAAS_REDIS_PORT"),
            "--user",
            user,
            "--pass",
            password,
        ])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run redis-cli: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if out.status.success() && !stderr.contains("AUTH failed") {
        Ok(stdout)
    } else {
        Err(format!("{stdout} {stderr}"))
    }
}

/// A Redis command as the dev stack's admin (`default`); the error text on failure.
pub fn redis_try_admin(args: &[&str]) -> Result<String, String> {
    redis_cli("default", &stack("DBAAS_REDIS_PASSWORD"), args)
}

/// A Redis command as the dev stack's admin (`default`) that must succeed.
pub fn redis_admin(args: &[&str]) -> String {
    redis_try_admin(args).unwrap_or_else(|e| panic!("Redis admin command {args:?} failed: {e}"))
}

/// Whether a Redis ACL user exists.
pub fn redis_user_exists(user: &str) -> bool {
    redis_admin(&["ACL", "USERS"]).lines().any(|u| u == user)
}

// ---------------------------------------------------------------------------------------
// Vault
// ---------------------------------------------------------------------------------------

/// Credentials read from Vault.
#[derive(Debug, Clone)]
pub struct Creds {
    pub username: String,
    pub password: String,
    pub lease_id: String,
}

/// Reads `<path>` (`database/creds/<role>` or `database/static-creds/<role>`).
pub fn read_creds(path: &str) -> Creds {
    let body = vault_get(path).unwrap_or_else(|| panic!("no credentials at {path} (404)"));
    let d = &body["data"];
    Creds {
        username: d["username"]
            .as_str()
            .unwrap_or_else(|| panic!("no username at {path}: {body}"))
            .to_string(),
        password: d["password"]
            .as_str()
            .unwrap_or_else(|| panic!("no password at {path}: {body}"))
            .to_string(),
        lease_id: body["lease_id"].as_str().unwrap_or_default().to_string(),
    }
}

/// Runs `sql` in `db` through the apps' PgBouncer as `c`.
pub fn via_pgbouncer(c: &Creds, db: &str, sql: &str) -> Result<String, String> {
    psql(db, &c.username, &c.password, &pgb_port(), sql)
}

/// Runs `sql` in `db` directly on the primary as `c`.
pub fn direct(c: &Creds, db: &str, sql: &str) -> Result<String, String> {
    psql(db, &c.username, &c.password, &stack("PGPORT"), sql)
}

/// Lease ids still outstanding under `<prefix>/`.
pub fn leases_under(prefix: &str) -> Vec<String> {
    vault_list(&format!("sys/leases/lookup/{prefix}"))
}

/// Revokes one lease the way `vault lease revoke` does.
pub fn revoke_lease(lease_id: &str) {
    vault_put(
        "sys/leases/revoke",
        &serde_json::json!({ "lease_id": lease_id }),
    );
}

// ---------------------------------------------------------------------------------------
// the cleanup guard
// ---------------------------------------------------------------------------------------

/// What a case made, in every backend, removed on drop whatever happened (success or
/// panic): `terraform destroy` of its working directories, background clients killed,
/// then Vault roles (their leases revoked first), lease prefixes, Vault paths and
/// connections, PostgreSQL databases (tenants with their three roles), logins Vault made
/// for the connections and other roles, MySQL users and databases, Redis users and keys,
/// and everything named with one of `name_prefixes` in PostgreSQL and Vault. Failures are
/// reported, never panicked on. [`Cleanup::swept`] also runs it on entry, for leftovers of
/// an earlier run that could not clean up.
#[derive(Default)]
pub struct Cleanup {
    /// Working directories to `terraform destroy` first.
    pub workdirs: Vec<Workdir>,
    /// Background processes to kill.
    pub children: Vec<Child>,
    /// PostgreSQL tenant databases; `<name>_owner/_readwrite/_readonly` go with them.
    pub tenants: Vec<String>,
    /// Other PostgreSQL databases.
    pub pg_databases: Vec<String>,
    /// Other PostgreSQL roles (test logins, issued logins, a pre-existing owner); their
    /// sessions are ended first.
    pub pg_roles: Vec<String>,
    /// MySQL databases.
    pub mysql_dbs: Vec<String>,
    /// MySQL users (`'<user>'@'%'`).
    pub mysql_users: Vec<String>,
    /// Redis ACL users.
    pub redis_users: Vec<String>,
    /// Redis key patterns (globs) to delete.
    pub redis_keys: Vec<String>,
    /// Vault connection names (`database/config/<name>`); the logins Vault made for
    /// roles on them go too.
    pub vault_connections: Vec<String>,
    /// Vault role names, dynamic and static (their leases are revoked first).
    pub vault_roles: Vec<String>,
    /// Other Vault paths to delete.
    pub vault_paths: Vec<String>,
    /// Lease prefixes to revoke by force.
    pub lease_prefixes: Vec<String>,
    /// Name prefixes: PostgreSQL databases and roles, the logins Vault made for them, Vault
    /// roles and connections whose names start with one.
    pub name_prefixes: Vec<String>,
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

impl Cleanup {
    /// PostgreSQL tenant databases (with their three roles), swept on entry.
    pub fn tenants(names: &[&str]) -> Cleanup {
        let mut c = Cleanup::default();
        c.tenants = strings(names);
        c.swept()
    }

    /// MySQL databases and users, swept on entry.
    pub fn mysql(dbs: &[&str], users: &[&str]) -> Cleanup {
        let mut c = Cleanup::default();
        c.mysql_dbs = strings(dbs);
        c.mysql_users = strings(users);
        c.swept()
    }

    /// Redis users and the keys under `prefixes`, swept on entry.
    pub fn redis(users: &[&str], prefixes: &[&str]) -> Cleanup {
        let mut c = Cleanup::default();
        c.redis_users = strings(users);
        c.redis_keys = prefixes.iter().map(|p| format!("{p}*")).collect();
        c.swept()
    }

    /// PostgreSQL tenant databases, Vault connections and Vault roles, swept on entry.
    pub fn vault(tenants: &[&str], connections: &[&str], roles: &[&str]) -> Cleanup {
        let mut c = Cleanup::default();
        c.track(tenants, connections, roles);
        c.swept()
    }

    /// Adds PostgreSQL tenant databases, Vault connections and Vault roles to the guard.
    pub fn track(&mut self, tenants: &[&str], connections: &[&str], roles: &[&str]) {
        self.tenants.extend(strings(tenants));
        self.vault_connections.extend(strings(connections));
        self.vault_roles.extend(strings(roles));
    }

    /// Everything named with `prefix` (see [`Cleanup::name_prefixes`]), swept on entry.
    pub fn prefixed(prefix: &str) -> Cleanup {
        let mut c = Cleanup::default();
        c.name_prefixes = vec![prefix.to_string()];
        c.swept()
    }

    /// A session of `user` in `db` through the apps' PgBouncer running `sql` (e.g. a long
    /// `pg_sleep`) in the background, killed with the guard.
    pub fn pgbouncer_session(&mut self, db: &str, user: &str, password: &str, sql: &str) {
        let child = psql_command(
            &stack("DBAAS_PGBOUNCER_HOST"),
            &pgb_port(),
            db,
            user,
            password,
        )
        .args(["-c", sql])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn psql");
        self.children.push(child);
    }

    /// The guard after one sweep now.
    pub fn swept(self) -> Cleanup {
        self.sweep();
        self
    }

    /// Removes everything the guard knows about (but its working directories and
    /// children); reports failures on stderr.
    pub fn sweep(&self) {
        let mut problems = Vec::new();
        let mut note = |r: Result<(), String>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        let pg = |sql: String| psql_admin("postgres", &sql).map(drop);

        // Vault first: a role left behind would issue logins into what is dropped next.
        // The names given, plus those under `list` that start with a name prefix.
        let named = |given: &[String], list: &str| -> Vec<String> {
            let mut all = given.to_vec();
            if !self.name_prefixes.is_empty() {
                all.extend(
                    vault_list(list)
                        .into_iter()
                        .filter(|n| self.name_prefixes.iter().any(|p| n.starts_with(p))),
                );
            }
            all
        };
        let roles = named(&self.vault_roles, "database/roles");
        for role in &roles {
            let mut revoked = Err(String::new());
            for prefix in [
                format!("sys/leases/revoke-prefix/database/creds/{role}"),
                format!("sys/leases/revoke-force/database/creds/{role}"),
            ] {
                let (code, body) = vault_request("PUT", &prefix, Some(&serde_json::json!({})));
                if (200..300).contains(&code) {
                    revoked = Ok(());
                    break;
                }
                revoked = Err(format!("PUT {prefix}: HTTP {code}: {body}"));
            }
            note(revoked);
            note(vault_delete(&format!("database/roles/{role}")));
            note(vault_delete(&format!("database/static-roles/{role}")));
        }
        for p in &self.lease_prefixes {
            let (code, body) = vault_request(
                "PUT",
                &format!("sys/leases/revoke-force/{p}"),
                Some(&serde_json::json!({})),
            );
            if !(200..300).contains(&code) {
                note(Err(format!("revoke-force {p}: HTTP {code}: {body}")));
            }
        }
        for p in &self.vault_paths {
            note(vault_delete(p));
        }
        let connections = named(&self.vault_connections, "database/config");
        for conn in &connections {
            note(vault_delete(&format!("database/config/{conn}")));
        }

        // PostgreSQL: databases, then roles (a role may own one of them).
        let mut databases: Vec<String> = self
            .tenants
            .iter()
            .chain(&self.pg_databases)
            .cloned()
            .collect();
        let mut pg_roles: Vec<String> = Vec::new();
        for prefix in &self.name_prefixes {
            let like = lit(&format!("{}%", like_escape(prefix)));
            let short: String = prefix.chars().take(8).collect();
            let logins = lit(&format!("v-%-{}-%", like_escape(&short)));
            match psql_admin(
                "postgres",
                &format!("SELECT datname FROM pg_database WHERE datname LIKE {like}"),
            ) {
                Ok(dbs) => {
                    databases.extend(dbs.lines().filter(|l| !l.is_empty()).map(str::to_string))
                }
                Err(e) => note(Err(e)),
            }
            match psql_admin(
                "postgres",
                &format!("SELECT rolname FROM pg_roles WHERE rolname LIKE {like} OR rolname LIKE {logins}"),
            ) {
                Ok(roles) => pg_roles.extend(roles.lines().filter(|l| !l.is_empty()).map(str::to_string)),
                Err(e) => note(Err(e)),
            }
        }
        for db in &databases {
            note(pg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                ident(db)
            )));
        }
        for conn in &self.vault_connections {
            match try_vault_made_logins(conn) {
                Ok(logins) => pg_roles.extend(logins),
                Err(e) => note(Err(e)),
            }
        }
        pg_roles.extend(self.pg_roles.iter().cloned());
        pg_roles.extend(self.tenants.iter().flat_map(|t| tenant_group_roles(t)));
        for role in &pg_roles {
            note(pg(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {}; DROP ROLE IF EXISTS {}",
                lit(role),
                ident(role)
            )));
        }

        // MySQL: users, then databases.
        for user in &self.mysql_users {
            note(mysql_try_admin(&format!("DROP USER IF EXISTS {}@'%'", my_lit(user))).map(drop));
        }
        for db in &self.mysql_dbs {
            note(mysql_try_admin(&format!("DROP DATABASE IF EXISTS {}", my_ident(db))).map(drop));
        }

        // Redis: users, then keys.
        if !self.redis_users.is_empty() || !self.redis_keys.is_empty() {
            match redis_login("default", &stack("DBAAS_REDIS_PASSWORD")) {
                Ok(mut conn) => {
                    for u in &self.redis_users {
                        note(redis_run(&mut conn, &["ACL", "DELUSER", u]).map(drop));
                    }
                    for pattern in &self.redis_keys {
                        match redis_scan(&mut conn, pattern) {
                            Ok(keys) if !keys.is_empty() => note(
                                ::redis::cmd("UNLINK")
                                    .arg(&keys)
                                    .query::<i64>(&mut conn)
                                    .map(drop)
                                    .map_err(|e| e.to_string()),
                            ),
                            Ok(_) => {}
                            Err(e) => note(Err(e)),
                        }
                    }
                }
                Err(e) => note(Err(format!("cannot reach Redis: {e}"))),
            }
        }
        if !problems.is_empty() {
            eprintln!("cleanup problems:\n{}", problems.join("\n"));
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for w in &self.workdirs {
            let r = w.destroy();
            if r.code != 0 {
                eprintln!("cleanup: terraform destroy failed:\n{}", r.all());
            }
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.sweep();
    }
}

/// A case: its working directory and its [`Cleanup`] guard (reached through `Deref`).
/// On drop, `terraform destroy` unless the case already destroyed, then the guard.
pub struct Case {
    /// The working directory.
    pub w: Workdir,
    /// Set when the case destroyed on its own (no `terraform destroy` on drop).
    pub destroyed: bool,
    guard: Cleanup,
}

impl Case {
    /// A working directory with `hcl`, and an empty guard.
    pub fn new(tf: &Terraform, hcl: &str) -> Case {
        Case {
            w: Workdir::new(tf, hcl),
            destroyed: false,
            guard: Cleanup::default(),
        }
    }

    /// `terraform apply` that must succeed, then a plan that must be empty.
    pub fn apply_clean(&self) -> Run {
        apply_clean(&self.w, "apply")
    }

    /// `terraform destroy` that must succeed.
    pub fn destroy(&mut self) -> Run {
        let r = self.w.destroy().ok();
        self.destroyed = true;
        r
    }
}

impl Deref for Case {
    type Target = Cleanup;
    fn deref(&self) -> &Cleanup {
        &self.guard
    }
}

impl DerefMut for Case {
    fn deref_mut(&mut self) -> &mut Cleanup {
        &mut self.guard
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        if !self.destroyed {
            let r = self.w.destroy();
            if r.code != 0 {
                eprintln!("cleanup problems:\nterraform destroy failed:\n{}", r.all());
            }
        }
    }
}
