//! Issue 21, item 1: `deletion_protection` refuses at plan. A configuration author runs
//! `terraform plan -destroy`, or plans a change that forces a replacement (`-/+`), on a
//! protected database: Terraform 1.3 and later (which ask the provider about destroys,
//! `plan_destroy`) refuse the destroy at plan, every Terraform refuses the replacement at
//! plan, and Terraform 1.0.3 (which never asks about destroys) still refuses the destroy
//! at apply. The error names the resource type, the database and, through its attribute
//! path, the resource address (`with <address>`). A create that never finished (its
//! instance tainted, the catalog still marking it unfinished) stays destroyable and
//! replaceable.

use crate::fixture::{
    config, each_terraform, flat, ident, lit, my_ident, mysql_admin, pg_admin, resource, Cleanup,
    MYDB, PGDB,
};
use crate::harness::{version_tag, Run, Terraform, Workdir};

/// Whether `tf` asks the provider to plan destroys (Terraform 1.3 and later).
fn plans_destroys(tf: &Terraform) -> bool {
    let mut parts = tf.version.trim_start_matches('v').split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    major > 1 || (major == 1 && minor >= 3)
}

/// `terraform plan -destroy`.
fn plan_destroy(w: &Workdir) -> Run {
    w.run(&["plan", "-destroy", "-no-color", "-input=false"])
}

/// `terraform plan`.
fn plan(w: &Workdir) -> Run {
    w.run(&["plan", "-no-color", "-input=false"])
}

/// The refusal names the resource type, the database and (Terraform's `with` line, from
/// the attribute path) the address; `what` names the step in the panic.
fn assert_protection_refusal(r: &Run, ty: &str, name: &str, what: &str) {
    let all = flat(&r.all());
    for needle in [
        "deletion_protection".to_string(),
        format!("{ty} {name:?}"),
        format!("with {ty}.x"),
    ] {
        assert!(
            all.contains(&needle),
            "{what}: expected {needle:?} in\n{}",
            r.all()
        );
    }
}

/// A destroy of a protected database: refused at plan on Terraform 1.3+, at apply on
/// 1.0.3; the database stays either way.
fn assert_destroy_refused(w: &Workdir, ty: &str, name: &str, exists: impl Fn() -> bool) {
    let tf = &w.tf;
    if plans_destroys(tf) {
        let r = plan_destroy(w).failed();
        assert_protection_refusal(&r, ty, name, "plan -destroy");
        let r = w.destroy().failed();
        assert_protection_refusal(&r, ty, name, "destroy");
        assert!(
            !r.stdout.contains("Destroying..."),
            "refused at plan, nothing was attempted:\n{}",
            r.all()
        );
    } else {
        let r = plan_destroy(w).ok();
        assert!(r.stdout.contains("1 to destroy"), "{}", r.all());
        let r = w.destroy().failed();
        let all = flat(&r.all());
        assert!(
            all.contains("deletion_protection") && all.contains(&format!("{ty} {name:?}")),
            "1.0.3 refuses at apply: {}",
            r.all()
        );
    }
    assert!(exists(), "a refused destroy keeps the database");
}

fn pg_oid(name: &str) -> String {
    pg_admin(
        "postgres",
        &format!("SELECT oid FROM pg_database WHERE datname = {}", lit(name)),
    )
}

#[test]
fn plan_protection_postgres_destroy_and_replacement_are_refused_at_plan() {
    for tf in each_terraform() {
        let name = format!("acc_i21prot_{}", version_tag(&tf));
        let _guard = Cleanup::tenants(&[&name]);
        let body = |extra: &str| config(&resource(PGDB, "x", &name, extra));
        let w = Workdir::new(&tf, &body(""));
        w.apply().ok();
        let oid = pg_oid(&name);

        assert_destroy_refused(&w, PGDB, &name, || !pg_oid(&name).is_empty());

        // An `encoding` change forces a replacement (-/+): refused at plan, naming the
        // attribute that forces it.
        w.write(&body("  encoding = \"SQL_ASCII\""));
        let r = plan(&w).failed();
        assert_protection_refusal(&r, PGDB, &name, "replacement");
        assert!(flat(&r.all()).contains("encoding"), "{}", r.all());
        assert!(!w.apply().failed().stdout.contains("Destroying..."));
        assert_eq!(pg_oid(&name), oid, "never replaced");

        // A create cut off before it was complete: tainted, and the catalog still marks
        // the database as being created. Protection does not keep it.
        w.write(&body(""));
        pg_admin(
            "postgres",
            &format!(
                "COMMENT ON DATABASE {} IS 'terraform-provider-dbaas: creating'",
                ident(&name)
            ),
        );
        w.run(&["taint", &format!("{PGDB}.x")]).ok();
        if plans_destroys(&tf) {
            let r = plan_destroy(&w).ok();
            assert!(r.stdout.contains("1 to destroy"), "{}", r.all());
        }
        let r = w.apply().ok();
        assert!(
            r.stdout.contains("1 added, 0 changed, 1 destroyed"),
            "{}",
            r.all()
        );
        assert_ne!(pg_oid(&name), oid, "the unfinished database was replaced");

        w.write(&body("  deletion_protection = false"));
        w.apply().ok();
        w.destroy().ok();
        assert!(pg_oid(&name).is_empty());
    }
}

fn my_exists(name: &str) -> bool {
    !mysql_admin(&format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
    ))
    .is_empty()
}

#[test]
fn plan_protection_mysql_destroy_and_replacement_are_refused_at_plan() {
    for tf in each_terraform() {
        let [name, renamed] = ["a", "b"].map(|s| format!("acc_i21prot_{s}_{}", version_tag(&tf)));
        let _guard = Cleanup::mysql(&[&name, &renamed], &[]);
        let body = |n: &str, extra: &str| config(&resource(MYDB, "x", n, extra));
        let w = Workdir::new(&tf, &body(&name, ""));
        w.apply().ok();

        assert_destroy_refused(&w, MYDB, &name, || my_exists(&name));

        // A new name forces a replacement: refused at plan.
        w.write(&body(&renamed, ""));
        let r = plan(&w).failed();
        assert_protection_refusal(&r, MYDB, &name, "replacement");
        assert!(flat(&r.all()).contains("name"), "{}", r.all());
        w.apply().failed();
        assert!(my_exists(&name) && !my_exists(&renamed), "never replaced");

        // A create cut off before it finished (tainted, still marked on MariaDB):
        // protection does not keep it.
        w.write(&body(&name, ""));
        mysql_admin(&format!(
            "ALTER DATABASE {} COMMENT 'terraform-provider-dbaas: create in progress'",
            my_ident(&name)
        ));
        w.run(&["taint", &format!("{MYDB}.x")]).ok();
        if plans_destroys(&tf) {
            let r = plan_destroy(&w).ok();
            assert!(r.stdout.contains("1 to destroy"), "{}", r.all());
        }
        let r = w.apply().ok();
        assert!(
            r.stdout.contains("1 added, 0 changed, 1 destroyed"),
            "{}",
            r.all()
        );

        w.write(&body(&name, "  deletion_protection = false"));
        w.apply().ok();
        w.destroy().ok();
        assert!(!my_exists(&name));
    }
}
