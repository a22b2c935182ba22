//! Issue 21, item 2 and the first sentence of item 3: what follows from configuration is
//! known at plan. `host`, `port` and `id` of the databases and the namespace, `id`,
//! `mount`, `creds_path` and `policy` of the rotation role (and the connection's `id`
//! and `mount`) are planned with their values, equal to what apply returns; a
//! replacement keeps them known, so nothing that depends on them (an output here) is
//! planned unknown. A resource whose engine has no block in the provider is refused at
//! plan, at its attribute, naming the block to add.

use serde_json::Value as Json;

use crate::fixture::{
    allowed_role, each_terraform, flat, hcl_str, points_at, tagged, Stack, CONN, MYDB, PGDB, RNS,
    ROLE,
};
use crate::harness::{stack, Run, Workdir};

/// Every resource type with a value derivable at plan, and outputs reading them.
fn body(my: &str, ns: &str) -> String {
    format!(
        "resource \"{MYDB}\" \"x\" {{\n  name                = {}\n  deletion_protection = false\n}}\n\
         resource \"{RNS}\" \"x\" {{\n  name = {}\n}}\n\
         output \"pg_host\" {{\n  value = {PGDB}.x.host\n}}\n\
         output \"pg_port\" {{\n  value = {PGDB}.x.port\n}}\n\
         output \"my_host\" {{\n  value = {MYDB}.x.host\n}}\n\
         output \"ns_port\" {{\n  value = {RNS}.x.port\n}}\n\
         output \"creds_path\" {{\n  value = {ROLE}.x.creds_path\n}}\n\
         output \"db_id\" {{\n  value = {PGDB}.x.id\n}}\n",
        hcl_str(my),
        hcl_str(ns),
    )
}

/// On Terraform 1.4 and later, a `terraform_data` whose input is the database's endpoint:
/// a dependent resource that a replacement must not plan to change.
fn dependent(tf: &crate::harness::Terraform) -> String {
    if tf.version.starts_with("v1.0.") {
        return String::new();
    }
    format!("resource \"terraform_data\" \"dep\" {{\n  input = \"${{{PGDB}.x.host}}:${{{PGDB}.x.port}}\"\n}}\n")
}

/// `terraform plan -out=<file> <extra>` then `terraform show -json <file>`.
fn plan_json(w: &Workdir, extra: &[&str]) -> Json {
    let args = [&["plan", "-no-color", "-input=false", "-out=tfplan"], extra].concat();
    let r: Run = w.run(&args);
    assert_eq!(r.code, 0, "plan failed on {}:\n{}", w.tf.version, r.all());
    let show = w.run(&["show", "-json", "tfplan"]).ok();
    serde_json::from_str(&show.stdout).expect("show -json is JSON")
}

/// The planned `after` of resource `addr` with the attributes it leaves unknown.
fn change<'a>(plan: &'a Json, addr: &str) -> (&'a Json, &'a Json) {
    let rc = plan["resource_changes"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["address"] == addr))
        .unwrap_or_else(|| panic!("no change for {addr} in {plan}"));
    (&rc["change"]["after"], &rc["change"]["after_unknown"])
}

/// Asserts each `(attribute, value)` of `addr` is planned known and equal.
fn assert_known(plan: &Json, addr: &str, want: &[(&str, Json)], when: &str) {
    let (after, unknown) = change(plan, addr);
    for (attr, value) in want {
        assert!(
            unknown[attr] != Json::Bool(true),
            "{when}: {addr}.{attr} is planned unknown (known after apply)"
        );
        assert_eq!(&after[attr], value, "{when}: {addr}.{attr}");
    }
}

/// No output of the plan is unknown.
fn assert_outputs_known(plan: &Json, when: &str) {
    let outputs = plan["output_changes"].as_object().expect("output_changes");
    for (name, c) in outputs {
        assert!(
            c["after_unknown"] != Json::Bool(true),
            "{when}: output {name} is planned unknown: {c}"
        );
    }
}

#[test]
fn acc_plan_knows_hosts_ports_ids_and_paths_and_replacement_keeps_them() {
    for tf in each_terraform() {
        let [db, my, ns, conn, role] = tagged(
            &tf,
            [
                "acc_kap",
                "acc_kap_my",
                "acc_kap_ns",
                "kap-conn",
                "kap-role",
            ],
        );
        let c = Stack::default()
            .database("x", &db)
            .connection("x", &conn, "postgres", &allowed_role(&role))
            .role("x", &role, "x", &format!("{PGDB}.x.name"), "")
            .hcl(&body(&my, &ns))
            .hcl(&dependent(&tf))
            .guard(|g| {
                g.mysql_dbs.push(my.clone());
                g.redis_users.push(ns.clone());
            })
            .case(&tf);
        let num = |v: &str| Json::from(stack(v).parse::<u64>().expect("a port"));
        let s = |v: &str| Json::from(v.to_string());
        let expect = |when: &str, plan: &Json| {
            assert_known(
                plan,
                &format!("{PGDB}.x"),
                &[
                    ("id", s(&db)),
                    ("host", s(&stack("DBAAS_PGBOUNCER_HOST"))),
                    ("port", num("DBAAS_PGBOUNCER_PORT")),
                ],
                when,
            );
            assert_known(
                plan,
                &format!("{MYDB}.x"),
                &[
                    ("id", s(&my)),
                    ("host", s(&stack("DBAAS_MYSQL_HOST"))),
                    ("port", num("DBAAS_MYSQL_PORT")),
                ],
                when,
            );
            assert_known(
                plan,
                &format!("{RNS}.x"),
                &[
                    ("id", s(&ns)),
                    ("host", s(&stack("DBAAS_REDIS_HOST"))),
                    ("port", num("DBAAS_REDIS_PORT")),
                ],
                when,
            );
            let creds = format!("database/creds/{role}");
            assert_known(
                plan,
                &format!("{ROLE}.x"),
                &[
                    ("id", s(&format!("database/{role}"))),
                    ("mount", s("database")),
                    ("creds_path", s(&creds)),
                    (
                        "policy",
                        s(&format!(
                            "path \"{creds}\" {{\n  capabilities = [\"read\"]\n}}\n"
                        )),
                    ),
                ],
                when,
            );
            assert_known(
                plan,
                &format!("{CONN}.x"),
                &[
                    ("id", s(&format!("database/{conn}"))),
                    ("mount", s("database")),
                ],
                when,
            );
            assert_outputs_known(plan, when);
        };
        // Create: planned known, and apply returns the same (else Terraform reports
        // "Provider produced inconsistent result").
        let plan = plan_json(&c.w, &[]);
        expect(&format!("create on {}", tf.version), &plan);
        let r = c.w.run(&["apply", "-no-color", "-input=false", "tfplan"]);
        assert_eq!(r.code, 0, "apply of the plan failed:\n{}", r.all());
        crate::fixture::assert_plan_empty(&c.w, "apply");
        // Replacement of every resource: still known, outputs unchanged.
        let replace: Vec<String> = [PGDB, MYDB, RNS, CONN, ROLE]
            .iter()
            .map(|t| format!("-replace={t}.x"))
            .collect();
        let replace: Vec<&str> = replace.iter().map(String::as_str).collect();
        let plan = plan_json(&c.w, &replace);
        expect(&format!("replacement on {}", tf.version), &plan);
        for (name, out) in plan["output_changes"].as_object().expect("outputs") {
            assert_eq!(
                out["actions"],
                serde_json::json!(["no-op"]),
                "output {name} changes on replacement: {out}"
            );
        }
        if !dependent(&tf).is_empty() {
            let actions = plan["resource_changes"]
                .as_array()
                .and_then(|l| l.iter().find(|c| c["address"] == "terraform_data.dep"))
                .map(|c| c["change"]["actions"].clone());
            assert_eq!(
                actions,
                Some(serde_json::json!(["no-op"])),
                "the dependent terraform_data changes on replacement"
            );
        }
        let r = c.w.run(&["apply", "-no-color", "-input=false", "tfplan"]);
        assert_eq!(r.code, 0, "apply of the replacement failed:\n{}", r.all());
    }
}

/// A provider block with only `postgres` (the dev stack's primary): no `mysql`, `redis`
/// nor `vault`.
fn postgres_only_provider() -> String {
    format!(
        "provider \"dbaas\" {{\n  postgres {{\n    host     = {}\n    port     = {}\n    username = {}\n    password = {}\n    sslmode  = \"disable\"\n  }}\n}}\n",
        hcl_str(&stack("PGHOST")),
        stack("PGPORT"),
        hcl_str(&stack("PGUSER")),
        hcl_str(&stack("PGPASSWORD")),
    )
}

#[test]
fn acc_resource_whose_engine_has_no_provider_block_is_refused_at_plan() {
    for tf in each_terraform() {
        let [my, ns, conn] = tagged(&tf, ["acc_kap_nomy", "acc_kap_nons", "kap-noconn"]);
        let hcl = format!(
            "{}\nresource \"{MYDB}\" \"x\" {{\n  name = {}\n}}\n\
             resource \"{RNS}\" \"x\" {{\n  name = {}\n}}\n\
             resource \"{CONN}\" \"x\" {{\n  name   = {}\n  engine = \"redis\"\n}}\n",
            postgres_only_provider(),
            hcl_str(&my),
            hcl_str(&ns),
            hcl_str(&conn),
        );
        let w = Workdir::new(&tf, &hcl);
        // No environment fallback may configure the absent blocks.
        let r = w
            .run_env(
                &["plan", "-no-color", "-input=false"],
                &[("VAULT_ADDR", ""), ("VAULT_TOKEN", "")],
            )
            .failed();
        let all = r.all();
        let text = flat(&all);
        for (resource, block) in [
            (MYDB, "mysql"),
            (RNS, "redis"),
            (CONN, "vault"),
            (CONN, "redis"),
        ] {
            let says = format!("{resource} needs the provider's `{block}` block");
            assert!(
                text.contains(&says),
                "{}: expected {says:?} in\n{all}",
                tf.version
            );
        }
        assert!(
            text.contains("add `redis { ... }` to provider \"dbaas\""),
            "the refusal says what to add:\n{all}"
        );
        assert!(points_at(&all, "name"), "must point at `name`:\n{all}");
        assert!(points_at(&all, "engine"), "must point at `engine`:\n{all}");
        assert!(
            !text.contains("Cannot reach"),
            "refused before any dial:\n{all}"
        );
    }
}
