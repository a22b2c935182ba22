//! Import ids as a user of the hashicorp/vault provider writes them (issue 21, item 4):
//! `dbaas_vault_rotation_role` and `dbaas_vault_database_connection` take `<mount>/<name>`
//! and the Vault API paths (`<mount>/roles/<name>`, `<mount>/static-roles/<name>`,
//! `<mount>/config/<name>`), on `terraform import` and in `import {}` blocks (Terraform
//! 1.5 and later); an id that fits no form, or that reads two ways, is refused by one
//! sentence naming the resource type, with an example. On Terraform 1.5 and later the
//! configuration `plan -generate-config-out` writes for them plans the import alone.

use crate::fixture::{
    assert_plan_empty, config, connection, each_terraform, flat, name_of, pg_database, resource,
    role, tagged, Stack, CONN, MYDB, PGDB, RNS, ROLE,
};

/// The Vault API path forms import the same objects as `<mount>/<name>`, and the plan
/// after import is empty; on Terraform 1.5+ `import {}` blocks take them too.
#[test]
fn import_ids_accept_the_vault_api_paths() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_imp", "pgimp"]);
        let app = format!("{conn}-app");
        let mut g = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "")
            .role("app", &app, "pg", &name_of(PGDB, "db"), "")
            .case(&tf);
        g.apply_clean();
        let role_addr = format!("{ROLE}.app");
        let conn_addr = format!("{CONN}.pg");

        g.w.state_rm(&[&role_addr, &conn_addr]).ok();
        g.w.import(&role_addr, &format!("database/roles/{app}"))
            .ok();
        g.w.import(&conn_addr, &format!("database/config/{conn}"))
            .ok();
        assert_plan_empty(&g.w, "importing by the Vault API paths");

        if !tf.version.starts_with("v1.0.") {
            // `import {}` blocks (Terraform 1.5+) go through the same ImportResourceState.
            g.w.state_rm(&[&role_addr, &conn_addr]).ok();
            let body = [
                pg_database("db", &db),
                connection("pg", &conn, "postgres", ""),
                role("app", &app, "pg", &name_of(PGDB, "db"), ""),
            ]
            .concat();
            let blocks = format!(
                "import {{\n  to = {role_addr}\n  id = \"database/roles/{app}\"\n}}\n\
                 import {{\n  to = {conn_addr}\n  id = \"database/config/{conn}\"\n}}\n"
            );
            g.w.write(&config(&format!("{body}\n{blocks}")));
            let r =
                g.w.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
                    .ok();
            assert!(
                r.all()
                    .contains("2 imported, 0 added, 0 changed, 0 destroyed"),
                "{}",
                r.all()
            );
            assert_plan_empty(&g.w, "import blocks with the Vault API paths");

            // `plan -generate-config-out` writes the resource blocks from the imported
            // state: that configuration must plan the import and nothing else.
            g.w.state_rm(&[&role_addr, &conn_addr]).ok();
            g.w.write(&config(&format!("{}\n{blocks}", pg_database("db", &db))));
            let r = g.w.run(&[
                "plan",
                "-no-color",
                "-input=false",
                "-generate-config-out=generated.tf",
            ]);
            assert!(
                r.code == 0
                    && r.all()
                        .contains("2 to import, 0 to add, 0 to change, 0 to destroy"),
                "{}",
                r.all()
            );
            let r =
                g.w.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
                    .ok();
            assert!(
                r.all()
                    .contains("2 imported, 0 added, 0 changed, 0 destroyed"),
                "{}",
                r.all()
            );
            assert_plan_empty(&g.w, "applying the generated configuration");
        }
        g.destroy();
    }
}

/// Ids that fit no form, or read two ways, are refused before anything is read: one
/// sentence with the resource type and an example of the id, said once.
#[test]
fn import_id_errors_name_the_type_and_an_example() {
    for tf in each_terraform() {
        let [conn] = tagged(&tf, ["pgimperr"]);
        let body = [
            resource(PGDB, "x", "acc_imperr", ""),
            resource(MYDB, "x", "acc_imperr", ""),
            resource(RNS, "x", "acc-imperr", ""),
            format!("resource \"{CONN}\" \"x\" {{\n  name   = \"{conn}\"\n  engine = \"postgres\"\n}}\n"),
            format!("resource \"{ROLE}\" \"x\" {{\n  name       = \"{conn}-app\"\n  connection = \"{conn}\"\n  database   = \"acc_imperr\"\n}}\n"),
        ]
        .concat();
        let w = crate::harness::Workdir::new(&tf, &config(&body));
        let cases: &[(&str, &str, &[&str])] = &[
            (PGDB, "Not;A-Name", &["e.g."]),
            (MYDB, "no-such-db!", &["e.g."]),
            (RNS, "bad name", &["e.g."]),
            (CONN, "postgres", &["<mount>/<name>", "e.g."]),
            (ROLE, "app", &["<mount>/<name>", "e.g."]),
            // A connection id whose mount ends in `roles` reads two ways.
            (CONN, "database/roles/x", &["config/"]),
            // A role id naming a connection's path.
            (ROLE, "database/config/x", &["roles/"]),
        ];
        for (ty, id, wanted) in cases {
            let r = w.import(&format!("{ty}.x"), id);
            assert_ne!(r.code, 0, "import {ty} {id} must fail\n{}", r.all());
            let out = flat(&r.all());
            assert!(
                out.contains(&format!("Invalid import id for {ty}")),
                "{ty} {id}: the error names the type:\n{out}"
            );
            for w in *wanted {
                assert!(out.contains(w), "{ty} {id}: wants {w:?}:\n{out}");
            }
            assert!(
                !out.contains("must be `<mount>/<name>`. The id is"),
                "{ty} {id}: said twice:\n{out}"
            );
        }
    }
}
