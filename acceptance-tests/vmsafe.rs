//! Safety cases of issue 10 for the Vault and MySQL resources: Vault paths built only
//! from validated, percent-encoded segments (no `..` escapes to `sys/`), NUL bytes refused
//! on the attribute instead of stripped, rotation roles that follow a custom database
//! `owner`, and a MySQL create cut off mid-way (the provider's connections killed from an
//! admin session) that the next apply converges from, with destroy leaving nothing.
//!
//! Names are unique per case and per Terraform version: databases `acc_vmsafe_<case>_<v>`,
//! Vault connections `vmsafe<case><v>` and roles `<connection>-<suffix>`. A fixture [`Cleanup`]
//! destroys and then removes, with SQL and the Vault API, whatever a failing step left.

#![allow(dead_code)] // helpers shared by the cases of later items

use crate::fixture::{
    apply_clean, assert_plan_empty, assert_refused_at_plan, config, each_terraform, flat,
    issue_creds, mysql_admin as my_admin, mysql_databases as my_databases, mysql_try_admin,
    name_of, pg_admin, plan, points_at, resource, tagged, Cleanup, Stack, CONN, MYDB, PGDB, ROLE,
};
use crate::harness::{
    provider_block, stack, vault_get, vault_list, vault_request, version_tag, Workdir,
};

// ---------------------------------------------------------------------------------------
// A. Vault paths
// ---------------------------------------------------------------------------------------

/// Vault state that a path escape would have changed: no policy, connection or role of
/// this case may exist anywhere the tries point at.
fn assert_nothing_in_vault(v: &str) {
    let policies = vault_list("sys/policy");
    assert!(
        !policies.iter().any(|p| p.contains("vmsafe")),
        "a policy was written through a path escape: {policies:?}"
    );
    let configs = vault_list("database/config");
    assert!(
        !configs
            .iter()
            .any(|c| c.starts_with(&format!("vmsafep{v}"))),
        "{configs:?}"
    );
    let roles = vault_list("database/roles");
    assert!(
        !roles.iter().any(|c| c.starts_with(&format!("vmsafep{v}"))),
        "{roles:?}"
    );
}

#[test]
fn vmsafe_vault_paths_with_dot_segments_are_refused_at_plan_and_nothing_reaches_vault() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let conn = format!("vmsafep{v}");
        let _cleanup = Cleanup::vault(&[], &[&conn], &[&format!("{conn}-app")]);
        let good_conn = format!(
            "resource \"{CONN}\" \"c\" {{\n  name = \"{conn}\"\n  engine = \"postgres\"\n}}\n"
        );
        let role = |name: &str, connection: &str, extra: &str| {
            format!("resource \"{ROLE}\" \"r\" {{\n  name = \"{name}\"\n  connection = \"{connection}\"\n  database = \"acc_vmsafe_p_{v}\"\n{extra}}}\n")
        };
        let cases: Vec<(String, &str, &str)> = vec![
            (
                format!("resource \"{CONN}\" \"c\" {{\n  name = \"{conn}\"\n  engine = \"postgres\"\n  mount = \"vmsafe/../sys/policy\"\n}}\n"),
                "mount",
                "`..`",
            ),
            (
                format!("resource \"{CONN}\" \"c\" {{\n  name = \"{conn}\"\n  engine = \"postgres\"\n  mount = \"database/\"\n}}\n"),
                "mount",
                "ends with `/`",
            ),
            (
                format!("resource \"{CONN}\" \"c\" {{\n  name = \"{conn}\"\n  engine = \"postgres\"\n  mount = \"data\\tbase\"\n}}\n"),
                "mount",
                "control character",
            ),
            (
                format!("resource \"{CONN}\" \"c\" {{\n  name = \"../sys/policy/{conn}\"\n  engine = \"postgres\"\n}}\n"),
                "name",
                "`..`",
            ),
            (
                format!("{good_conn}{}", role(&format!("{conn}-app"), &format!("../../sys/policy/{conn}"), "")),
                "connection",
                "`..`",
            ),
            (
                format!("{good_conn}{}", role("a/../../b", &conn, "")),
                "name",
                "`..`",
            ),
            (
                format!("{good_conn}{}", role(&format!("{conn}-app"), &conn, "  mount = \"a//b\"\n")),
                "mount",
                "empty segment",
            ),
        ];
        for (body, attr, says) in &cases {
            let w = Workdir::new(&tf, &config(body));
            assert_refused_at_plan(&w, attr, says, body);
            let r = w.apply();
            assert_ne!(r.code, 0, "apply must fail for\n{body}\n{}", r.all());
            assert_nothing_in_vault(&v);
        }

        // The provider's own `vault.mount`.
        let provider = provider_block().replace(
            "    token   = ",
            "    mount   = \"x/../../sys/policy\"\n    token   = ",
        );
        assert!(provider.contains("mount   = \"x/"), "{provider}");
        let w = Workdir::new(&tf, &format!("{provider}\n{good_conn}"));
        let r = plan(&w);
        assert_ne!(r.code, 0, "{}", r.all());
        assert!(points_at(&r.all(), "mount"), "{}", r.all());
        assert!(flat(&r.all()).contains("`..`"), "{}", r.all());
        assert_nothing_in_vault(&v);

        // Import ids follow the same rules.
        let w = Workdir::new(&tf, &config(&good_conn));
        for id in [
            format!("vmsafe/../../sys/policy/{conn}"),
            format!("database/{conn}/.."),
            format!("/database/{conn}"),
        ] {
            let r = w.import(&format!("{CONN}.c"), &id);
            assert_ne!(r.code, 0, "import {id} must fail\n{}", r.all());
            assert!(
                flat(&r.all()).contains("Invalid import id"),
                "{id}: {}",
                r.all()
            );
        }
        assert_nothing_in_vault(&v);
    }
}

// ---------------------------------------------------------------------------------------
// B. NUL bytes
// ---------------------------------------------------------------------------------------

#[test]
fn vmsafe_nul_bytes_in_names_are_refused_on_the_attribute() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let conn = format!("vmsafen{v}");
        let mut cleanup = Cleanup::vault(&[], &[&conn], &[&format!("{conn}-app")]);
        cleanup.mysql_dbs = vec![format!("acc_vmsafe_nul_{v}")];
        let cases: Vec<(String, &str)> = vec![
            (
                format!("resource \"{MYDB}\" \"m\" {{\n  name = \"acc_vmsafe_nul_{v}\\u0000x\"\n  deletion_protection = false\n}}\n"),
                "name",
            ),
            (
                format!("resource \"{ROLE}\" \"r\" {{\n  name = \"{conn}-app\"\n  connection = \"{conn}\"\n  database = \"acc_vmsafe_nul_{v}\\u0000x\"\n}}\n"),
                "database",
            ),
            (
                format!("resource \"{ROLE}\" \"r\" {{\n  name = \"{conn}-app\"\n  connection = \"{conn}\\u0000\"\n  database = \"acc_vmsafe_nul_{v}\"\n}}\n"),
                "connection",
            ),
            (
                format!("resource \"{ROLE}\" \"r\" {{\n  name = \"{conn}-app\"\n  connection = \"{conn}\"\n  database = \"acc_vmsafe_nul_{v}\"\n  mode = \"static\"\n  username = \"acc_vmsafe\\u0000login\"\n}}\n"),
                "username",
            ),
        ];
        for (body, attr) in &cases {
            let w = Workdir::new(&tf, &config(body));
            assert_refused_at_plan(&w, attr, "NUL", body);
        }
        assert!(my_databases("acc_vmsafe_nul").is_empty());
        assert!(vault_get(&format!("database/roles/{conn}-app")).is_none());
    }
}

// ---------------------------------------------------------------------------------------
// C. Rotation roles follow a custom database owner
// ---------------------------------------------------------------------------------------

#[test]
fn vmsafe_rotation_role_logins_join_a_custom_database_owner() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_vmsafe_co", "vmsafeo"]);
        let (owner, role) = (format!("{db}_boss"), format!("{conn}-app"));
        let mut g = Stack::default()
            .hcl(&resource(
                PGDB,
                "db",
                &db,
                &format!("  owner = \"{owner}\"\n  deletion_protection = false"),
            ))
            .guard(|c| {
                c.tenants.push(db.clone());
                c.pg_roles.push(owner.clone());
            })
            .connection("pg", &conn, "postgres", "")
            .role("app", &role, "pg", &name_of(PGDB, "db"), "")
            .case(&tf);
        let r = g.w.apply();
        assert_eq!(r.code, 0, "apply failed:\n{}", r.all());

        // The generated statements name the database's actual owner.
        let stored = vault_get(&format!("database/roles/{role}")).expect("role written");
        let creation = stored["data"]["creation_statements"].to_string();
        // Issue 22: through the dedicated Vault admin's function, in the owner's group.
        for says in [
            format!("'{owner}', '{owner}'"),
            format!("SET role = '{owner}'"),
        ] {
            assert!(creation.contains(&says), "{creation}");
        }
        assert!(!creation.contains(&format!("{db}_owner")), "{creation}");
        assert_plan_empty(&g.w, "apply");

        // A login from Vault creates a table; the table belongs to the custom owner.
        let creds = issue_creds(&role);
        let (user, password) = (creds.username.clone(), creds.password.clone());
        g.pg_roles.push(user.clone());
        crate::harness::psql(
            &db,
            &user,
            &password,
            &stack("PGPORT"),
            "CREATE TABLE vmsafe_t (x int)",
        )
        .unwrap_or_else(|e| panic!("the login cannot create a table: {e}"));
        assert_eq!(
            pg_admin(
                &db,
                "SELECT tableowner FROM pg_tables WHERE tablename = 'vmsafe_t'"
            ),
            owner
        );
        let _ = vault_request(
            "PUT",
            "sys/leases/revoke",
            Some(&serde_json::json!({ "lease_id": creds.lease_id })),
        );

        // Drift: the statements edited in Vault are planned back with the custom owner.
        let mut edited = stored["data"].clone();
        edited["creation_statements"] = serde_json::json!([format!(
            "CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' IN ROLE \"{db}_owner\";"
        )]);
        edited["db_name"] = serde_json::json!(conn);
        let (code, body) = vault_request("POST", &format!("database/roles/{role}"), Some(&edited));
        assert!((200..300).contains(&code), "{body}");
        let r = plan(&g.w);
        assert_eq!(r.code, 2, "the edit must show in the plan:\n{}", r.all());
        assert!(
            r.stdout.contains(&format!("SET role = '{owner}'")),
            "the plan shows the custom owner:\n{}",
            r.stdout
        );
        apply_clean(&g.w, "repair");
        g.destroy();
        assert!(vault_get(&format!("database/roles/{role}")).is_none());
    }
}

// ---------------------------------------------------------------------------------------
// D. A MySQL create cut off mid-way
// ---------------------------------------------------------------------------------------

/// A provider block with only a `mysql` block, logging in as `user`.
fn mysql_only_provider(user: &str, password: &str) -> String {
    format!(
        "provider \"dbaas\" {{\n  mysql {{\n    host = \"{}\"\n    port = {}\n    username = \"{user}\"\n    password = \"{password}\"\n  }}\n}}\n",
        stack("DBAAS_MYSQL_HOST"),
        stack("DBAAS_MYSQL_PORT")
    )
}

#[test]
fn vmsafe_mysql_create_resumes_only_its_own_unfinished_database() {
    for tf in each_terraform() {
        let [resumed, foreign] = tagged(&tf, ["acc_vmsafe_rs", "acc_vmsafe_fc"]);
        let mut cleanup = Cleanup::default();
        cleanup.mysql_dbs = vec![resumed.clone(), foreign.clone()];
        // What a create cut off after its CREATE DATABASE leaves: the marker, written by
        // the same statement. Another comment means someone else's database.
        my_admin(&format!(
            "DROP DATABASE IF EXISTS `{resumed}`; CREATE DATABASE `{resumed}` CHARACTER SET latin1 COMMENT 'terraform-provider-dbaas: create in progress'; \
             DROP DATABASE IF EXISTS `{foreign}`; CREATE DATABASE `{foreign}` CHARACTER SET latin1 COMMENT 'owned by someone else'"
        ));
        let w = Workdir::new(
            &tf,
            &config(&format!(
                "resource \"{MYDB}\" \"r\" {{\n  name = \"{resumed}\"\n  deletion_protection = false\n}}\n"
            )),
        );
        w.apply().ok();
        assert_eq!(
            my_admin(&format!("SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, '|', SCHEMA_COMMENT) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{resumed}'")),
            "utf8mb4|",
            "resumed with the planned charset, marker cleared"
        );
        assert_plan_empty(&w, "resume");
        cleanup.workdirs.push(w);

        let w = Workdir::new(
            &tf,
            &config(&format!(
                "resource \"{MYDB}\" \"f\" {{\n  name = \"{foreign}\"\n  deletion_protection = false\n}}\n"
            )),
        );
        let r = w.apply();
        assert_ne!(r.code, 0, "a foreign database must not be adopted");
        assert!(flat(&r.all()).contains("already exists"), "{}", r.all());
        assert_eq!(
            my_admin(&format!("SELECT DEFAULT_CHARACTER_SET_NAME, SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{foreign}'")),
            "latin1\towned by someone else",
            "left untouched"
        );
    }
}

#[test]
fn vmsafe_mysql_connection_killed_mid_create_converges_and_destroy_leaves_nothing() {
    const COUNT: usize = 20;
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let prefix = format!("acc_vmsafe_k{v}_");
        let user = format!("acc_vmsafe_adm_{v}");
        let password = format!("Vmsafe-{v}-{}", std::process::id());
        let names: Vec<String> = (0..COUNT).map(|i| format!("{prefix}{i}")).collect();
        let mut cleanup = Cleanup::default();
        cleanup.mysql_dbs = names.clone();
        cleanup.mysql_users = vec![user.clone()];
        // A login of its own, so its connections can be told apart and killed; destroy
        // reads who holds grants on a database (the mysql schema) before dropping it.
        let pattern = prefix.replace('_', "\\_");
        my_admin(&format!(
            "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; \
             GRANT CREATE, ALTER, DROP, SELECT ON `{pattern}%`.* TO '{user}'@'%'; \
             GRANT SELECT ON mysql.* TO '{user}'@'%'"
        ));
        for n in &names {
            my_admin(&format!("DROP DATABASE IF EXISTS `{n}`"));
        }
        let body = |protection: bool| {
            let mut s = mysql_only_provider(&user, &password);
            for (i, n) in names.iter().enumerate() {
                s.push_str(&format!(
                    "resource \"{MYDB}\" \"d{i}\" {{\n  name = \"{n}\"\n  deletion_protection = {protection}\n}}\n"
                ));
            }
            s
        };
        let w = Workdir::new(&tf, &body(true));
        let ctl = format!("acc_vmsafe_ctl_{v}");
        cleanup.mysql_dbs.push(ctl.clone());
        let like = prefix.replace('_', "\\_");
        my_admin(&format!(
            "CREATE DATABASE IF NOT EXISTS `{ctl}`; CREATE OR REPLACE TABLE `{ctl}`.control (stop INT); INSERT INTO `{ctl}`.control VALUES (0)"
        ));
        my_admin(&format!(
            "DELIMITER //\nCREATE OR REPLACE PROCEDURE `{ctl}`.storm(secs DOUBLE, base INT) \
             BEGIN \
               DECLARE until_t DOUBLE DEFAULT UNIX_TIMESTAMP(NOW(6)) + secs; \
               DECLARE victim BIGINT; \
               DECLARE kills INT DEFAULT 0; \
               DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END; \
               DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END; \
               WHILE UNIX_TIMESTAMP(NOW(6)) < until_t AND (SELECT stop FROM `{ctl}`.control) = 0 \
                 AND (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{like}%') <= base DO \
                 DO SLEEP(0.001); \
               END WHILE; \
               WHILE UNIX_TIMESTAMP(NOW(6)) < until_t AND (SELECT stop FROM `{ctl}`.control) = 0 DO \
                 SET victim = NULL; \
                 SELECT ID INTO victim FROM information_schema.PROCESSLIST WHERE USER = '{user}' ORDER BY RAND() LIMIT 1; \
                 IF victim IS NOT NULL THEN KILL CONNECTION victim; SET kills = kills + 1; END IF; \
                 DO SLEEP(0.004 * RAND()); \
               END WHILE; \
               SELECT kills; \
             END //"
        ));

        // Apply while an admin session kills every connection of that login, from the
        // moment a new database appears (the provider is then past its first connect).
        let mut cut = false;
        for round in 1..=4 {
            // The killer runs inside MariaDB (a procedure in a database of this case), so it
            // sees and kills connections within a millisecond instead of a client's ~30 ms.
            let base = my_databases(&prefix).len();
            let killer = {
                let ctl = ctl.clone();
                std::thread::spawn(move || {
                    // Until the apply has returned (`stop`), however long a loaded machine
                    // makes it; 300 s only bounds a case that died before it said stop.
                    mysql_try_admin(&format!("CALL `{ctl}`.storm(300, {base})"))
                })
            };
            let r = w.apply_parallel(10);
            my_admin(&format!("UPDATE `{ctl}`.control SET stop = 1"));
            let kills = match killer.join() {
                Ok(Ok(out)) => out,
                other => panic!("the killer failed: {other:?}"),
            };
            my_admin(&format!("UPDATE `{ctl}`.control SET stop = 0"));
            let tainted = w.state_text().matches("\"status\": \"tainted\"").count();
            let marked = my_admin(&format!(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{}%' AND SCHEMA_COMMENT = 'terraform-provider-dbaas: create in progress'",
                prefix.replace('_', "\\_")
            ));
            eprintln!("round {round}: apply exit {}, {kills} connections killed, {tainted} tainted, {marked} databases with the marker", r.code);
            for l in r
                .all()
                .lines()
                .filter(|l| l.contains("Error") || l.contains("MySQL at"))
            {
                eprintln!("  {l}");
            }
            // A failed apply means the storm hit creates in flight. Whether a create then
            // healed itself (looked again, resumed), cleaned up, or left a tainted or marked
            // database depends on timing; every outcome must converge below.
            if r.code != 0 {
                cut = true;
                break;
            }
            if r.code == 0 {
                // Everything got through: start again from nothing.
                w.write(&body(false));
                w.apply().ok();
                w.destroy().ok();
                w.write(&body(true));
            }
        }
        assert!(cut, "no apply was hit by the connection storm in 4 rounds");

        // The next apply converges with no manual step (the databases are protected:
        // tainted ones are replaced anyway, never-finished ones resumed).
        let r = w.apply();
        assert_eq!(r.code, 0, "the next apply must converge:\n{}", r.all());
        assert_plan_empty(&w, "the converging apply");
        assert_eq!(my_databases(&prefix).len(), COUNT);
        let leftover_markers = my_admin(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{}%' AND SCHEMA_COMMENT <> ''",
            prefix.replace('_', "\\_")
        ));
        assert_eq!(leftover_markers, "0");

        // Destroy leaves nothing.
        w.write(&body(false));
        w.apply().ok();
        w.destroy().ok();
        assert_eq!(my_databases(&prefix), Vec::<String>::new());
    }
}
