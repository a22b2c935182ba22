//! Issue 19 item 2, from the configuration author's side: with the platform's shared Vault
//! connections, no `dbaas_vault_rotation_role` hands out the platform. Each case is a
//! configuration an author could write (a system or foreign database, a static role on a
//! privileged login, custom statements), refused at plan with a diagnostic pointing at
//! the attribute, and nothing written to Vault. Then the same with the provider's
//! `vault { allow_custom_statements = true }` opt-in: dangerous statements are still
//! refused, plain ones pass; and a role that breaks the rules, already in state, refreshes
//! and destroys, while a change to it is refused.
//!
//! Names: tenant `h19r_<v>`, connections `h19rpg_<v>` / `h19rmy_<v>` / `h19rvc_<v>`,
//! roles `h19r-<case>-<v>`, hand-made logins and databases `h19r_<what>_<v>`.

use crate::fixture::{
    config, create_login, each_terraform, flat, hcl_str, ident, mysql_admin, pg_admin,
    plan_without_refresh, points_at, resource, tagged, Stack, CONN, MYDB, PGDB, ROLE,
};
use crate::harness::{provider_block, stack, vault_get, version_tag, Workdir};

/// A role named `name` on connection label `conn`, for database expression `database`.
fn attack_role(name: &str, conn: &str, database: &str, extra: &str) -> String {
    format!("resource \"{ROLE}\" \"attack\" {{\n  name       = {}\n  connection = {CONN}.{conn}.name\n  database   = {database}\n{extra}}}\n", hcl_str(name))
}

/// The provider block with `vault { allow_custom_statements = true }`.
fn opted_in_provider() -> String {
    let p = provider_block();
    let out = p.replacen(
        "  vault {\n",
        "  vault {\n    allow_custom_statements = true\n",
        1,
    );
    assert_ne!(out, p, "the provider block has a vault block");
    out
}

/// Neither a dynamic nor a static role `name` exists in Vault.
fn assert_not_in_vault(name: &str, what: &str) {
    for kind in ["roles", "static-roles"] {
        assert!(
            vault_get(&format!("database/{kind}/{name}")).is_none(),
            "{what}: database/{kind}/{name} was written to Vault"
        );
    }
}

/// `terraform plan` of `hcl` must fail with `says` at `attr`; only then (an attack that
/// plans is never applied: it would rotate a platform login) an apply must fail too, and
/// role `name` must not be in Vault. The failure, as text.
fn refused(
    w: &Workdir,
    hcl: &str,
    name: &str,
    attr: &str,
    says: &str,
    what: &str,
) -> Result<(), String> {
    w.write(hcl);
    if let Some(what) = what.strip_suffix(" (at apply)") {
        // Refused at create: the plan cannot know (the database may be made in the same apply).
        let a = w.apply();
        let all = a.all();
        if a.code == 0 {
            return Err(format!("{what}: the apply passed"));
        }
        if !flat(&all).contains(says) || !points_at(&all, attr) {
            return Err(format!("{what}: expected {says:?} at `{attr}` in\n{all}"));
        }
        return not_in_vault(name, what);
    }
    let r = w.run(&["plan", "-no-color", "-input=false"]);
    let all = r.all();
    if r.code == 0 {
        return Err(format!("{what}: the plan passed"));
    }
    if !flat(&all).contains(says) {
        return Err(format!("{what}: expected {says:?} in\n{all}"));
    }
    if !points_at(&all, attr) {
        return Err(format!("{what}: must point at `{attr}`:\n{all}"));
    }
    let a = w.apply();
    if a.code == 0 || flat(&a.all()).contains("Apply complete") {
        return Err(format!("{what}: apply must be refused:\n{}", a.all()));
    }
    not_in_vault(name, what)
}

/// Neither a dynamic nor a static role `name` is in Vault.
fn not_in_vault(name: &str, what: &str) -> Result<(), String> {
    for kind in ["roles", "static-roles"] {
        if vault_get(&format!("database/{kind}/{name}")).is_some() {
            return Err(format!(
                "{what}: database/{kind}/{name} was written to Vault"
            ));
        }
    }
    Ok(())
}

/// Panics listing every failure, if any.
fn assert_all_refused(tf: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "on terraform {tf}, {} attack(s) got through:\n- {}",
        failures.len(),
        failures.join("\n- ")
    );
}

/// One attack: the role's database expression and extra lines, the attribute the
/// refusal points at, and a phrase it says.
struct Attack {
    what: &'static str,
    conn: &'static str,
    database: String,
    extra: String,
    attr: &'static str,
    says: &'static str,
}

fn static_login(login: &str) -> String {
    format!("  mode     = \"static\"\n  username = {}\n", hcl_str(login))
}

fn statements(attr: &str, list: &[&str]) -> String {
    let items: Vec<String> = list.iter().map(|s| hcl_str(s)).collect();
    format!("  {attr} = [{}]\n", items.join(", "))
}

#[test]
fn hostile_config_rotation_roles_never_hand_out_the_platform() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [db, mydb, pg, my, vc] = tagged(&tf, ["h19r", "h19rm", "h19rpg", "h19rmy", "h19rvc"]);
        let hand = format!("h19r_hand_{v}");
        let sudb = format!("h19r_sudb_{v}");
        let [su, cr, cdb, repl, brls, member, vclogin] =
            ["su", "cr", "cdb", "repl", "brls", "member", "vc"].map(|k| format!("h19r_{k}_{v}"));
        let myglobal = format!("h19r_myg_{v}");
        let role_name = |case: &str| format!("h19r-{case}-{v}");
        let base = Stack::default()
            .database("db", &db)
            .hcl(&resource(
                MYDB,
                "mydb",
                &mydb,
                "  deletion_protection = false",
            ))
            .connection("pg", &pg, "postgres", "")
            .connection("my", &my, "mysql", "")
            .connection(
                "vc",
                &vc,
                "postgres",
                &format!(
                    "  username = {}\n  verify_connection = false\n",
                    hcl_str(&vclogin)
                ),
            )
            .guard(|g| {
                g.mysql_dbs.push(mydb.clone());
                g.mysql_users.push(myglobal.clone());
                g.pg_databases.extend([hand.clone(), sudb.clone()]);
                g.name_prefixes.push("h19r-".to_string());
            });
        let body = base.body().to_string();
        let mut g = base.case(&tf);
        g.w.apply().ok();

        // What the attacks point at, made by hand as a platform admin would have them.
        pg_admin(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {0}; ", ident(&hand)),
        );
        // A database made by hand for a plain NOLOGIN owner, without a tenant's group roles.
        let handown = format!("h19r_handown_{v}");
        g.pg_roles.push(handown.clone());
        pg_admin(
            "postgres",
            &format!(
                "DROP ROLE IF EXISTS {0}; CREATE ROLE {0} NOLOGIN",
                ident(&handown)
            ),
        );
        pg_admin(
            "postgres",
            &format!("CREATE DATABASE {} OWNER {}", ident(&hand), ident(&handown)),
        );
        pg_admin(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {}", ident(&sudb)),
        );
        pg_admin("postgres", &format!("CREATE DATABASE {}", ident(&sudb)));
        // A superuser-owned database wearing this provider's marker.
        pg_admin(
            "postgres",
            &format!(
                "COMMENT ON DATABASE {} IS 'terraform-provider-dbaas: managed'",
                ident(&sudb)
            ),
        );
        let rw = format!("{db}_readwrite");
        for (login, attrs) in [
            (&su, "SUPERUSER"),
            (&cr, "CREATEROLE"),
            (&cdb, "CREATEDB"),
            (&repl, "REPLICATION"),
            (&brls, "BYPASSRLS"),
            (&member, ""),
            (&vclogin, ""),
        ] {
            create_login(&mut g, login, "h19r-Secret-1", Some(&rw));
            if !attrs.is_empty() {
                pg_admin("postgres", &format!("ALTER ROLE {} {attrs}", ident(login)));
            }
        }
        pg_admin(
            "postgres",
            &format!("GRANT pg_read_all_data TO {}", ident(&member)),
        );
        // A plain tenant login that may also connect to another database.
        let elsewhere = format!("h19r_else_{v}");
        create_login(&mut g, &elsewhere, "h19r-Secret-1", Some(&rw));
        pg_admin(
            "postgres",
            &format!(
                "GRANT CONNECT ON DATABASE {} TO {}",
                ident(&hand),
                ident(&elsewhere)
            ),
        );
        mysql_admin(&format!(
            "DROP USER IF EXISTS '{myglobal}'@'%'; CREATE USER '{myglobal}'@'%' IDENTIFIED BY 'h19r-Secret-1'; GRANT SELECT ON *.* TO '{myglobal}'@'%'"
        ));

        let tenant = format!("{PGDB}.db.name");
        let my_tenant = format!("{MYDB}.mydb.name");
        let q = |s: &str| hcl_str(s);
        let superuser_create =
            "CREATE ROLE \"{{name}}\" WITH LOGIN SUPERUSER PASSWORD '{{password}}';";
        let attacks = vec![
            // Generated statements on a system or foreign database.
            Attack {
                what: "database postgres",
                conn: "pg",
                database: q("postgres"),
                extra: String::new(),
                attr: "database",
                says: "system database",
            },
            Attack {
                what: "database template1",
                conn: "pg",
                database: q("template1"),
                extra: String::new(),
                attr: "database",
                says: "system database",
            },
            Attack {
                what: "database Postgres (odd case)",
                conn: "pg",
                database: q("Postgres"),
                extra: String::new(),
                attr: "database",
                says: "system database",
            },
            Attack {
                what: "database no Terraform made",
                conn: "pg",
                database: q(&hand),
                extra: String::new(),
                attr: "database",
                says: "not a database this provider manages",
            },
            Attack {
                what: "database owned by a superuser",
                conn: "pg",
                database: q(&sudb),
                extra: String::new(),
                attr: "database",
                says: "superuser",
            },
            Attack {
                what: "mysql database mysql",
                conn: "my",
                database: q("mysql"),
                extra: String::new(),
                attr: "database",
                says: "system database",
            },
            Attack {
                what: "mysql database INFORMATION_SCHEMA",
                conn: "my",
                database: q("INFORMATION_SCHEMA"),
                extra: String::new(),
                attr: "database",
                says: "system database",
            },
            Attack {
                what: "mysql database Sys",
                conn: "my",
                database: q("Sys"),
                extra: String::new(),
                attr: "database",
                says: "system database",
            },
            Attack {
                what: "mysql database that does not exist (at apply)",
                conn: "my",
                database: q(&format!("h19r_nosuch_{v}")),
                extra: String::new(),
                attr: "database",
                says: "does not exist",
            },
            // Static roles on logins that are not plain tenant logins.
            Attack {
                what: "static pgbouncer_auth",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login("pgbouncer_auth"),
                attr: "username",
                says: "PgBouncer auth user",
            },
            Attack {
                what: "static provider admin",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&stack("PGUSER")),
                attr: "username",
                says: "admin",
            },
            Attack {
                what: "static superuser",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&su),
                attr: "username",
                says: "SUPERUSER",
            },
            Attack {
                what: "static createrole",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&cr),
                attr: "username",
                says: "CREATEROLE",
            },
            Attack {
                what: "static createdb",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&cdb),
                attr: "username",
                says: "CREATEDB",
            },
            Attack {
                what: "static replication",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&repl),
                attr: "username",
                says: "REPLICATION",
            },
            Attack {
                what: "static bypassrls",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&brls),
                attr: "username",
                says: "BYPASSRLS",
            },
            Attack {
                what: "static member of pg_read_all_data",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&member),
                attr: "username",
                says: "pg_read_all_data",
            },
            Attack {
                what: "static login with privileges on another database",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&elsewhere),
                attr: "username",
                says: "outside the tenant database",
            },
            Attack {
                what: "static admin of a Vault connection",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&vclogin),
                attr: "username",
                says: "Vault connection",
            },
            Attack {
                what: "static owner role (no login)",
                conn: "pg",
                database: tenant.clone(),
                extra: static_login(&format!("{db}_owner")),
                attr: "username",
                says: "not a login",
            },
            Attack {
                what: "mysql static root",
                conn: "my",
                database: my_tenant.clone(),
                extra: static_login(&stack("DBAAS_MYSQL_USER")),
                attr: "username",
                says: "admin",
            },
            Attack {
                what: "mysql static global grants",
                conn: "my",
                database: my_tenant.clone(),
                extra: static_login(&myglobal),
                attr: "username",
                says: "global",
            },
            // Custom statements without the provider's opt-in.
            Attack {
                what: "custom SUPERUSER, no opt-in",
                conn: "pg",
                database: tenant.clone(),
                extra: statements("creation_statements", &[superuser_create]),
                attr: "creation_statements",
                says: "allow_custom_statements",
            },
            Attack {
                what: "custom revocation, no opt-in",
                conn: "pg",
                database: tenant.clone(),
                extra: statements(
                    "revocation_statements",
                    &["DROP ROLE IF EXISTS \"{{name}}\";"],
                ),
                attr: "revocation_statements",
                says: "allow_custom_statements",
            },
            Attack {
                what: "custom rotation, no opt-in",
                conn: "pg",
                database: tenant.clone(),
                extra: format!(
                    "{}{}",
                    static_login(&vclogin),
                    statements(
                        "rotation_statements",
                        &["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"]
                    )
                ),
                attr: "rotation_statements",
                says: "allow_custom_statements",
            },
        ];
        let mut failures = Vec::new();
        for (i, a) in attacks.iter().enumerate() {
            let name = role_name(&format!("a{i}"));
            let hcl = config(&format!(
                "{body}{}",
                attack_role(&name, a.conn, &a.database, &a.extra)
            ));
            failures.extend(refused(&g.w, &hcl, &name, a.attr, a.says, a.what).err());
        }

        // The opt-in: plain custom statements pass; dangerous ones are still refused.
        let opted = |extra: &str, name: &str| {
            format!(
                "{}\n{body}{}",
                opted_in_provider(),
                attack_role(name, "pg", &tenant, extra)
            )
        };
        let opted_my = |extra: &str, name: &str| {
            format!(
                "{}\n{body}{}",
                opted_in_provider(),
                attack_role(name, "my", &my_tenant, extra)
            )
        };
        let in_role = |role: &str| {
            format!("CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' VALID UNTIL '{{{{expiration}}}}' IN ROLE {};", ident(role))
        };
        let dangerous = vec![
            ("SUPERUSER", superuser_create.to_string(), "SUPERUSER"),
            (
                "superuser in a comment-split, lower case",
                "create role \"{{name}}\" with login /* x */ superuser password '{{password}}';"
                    .to_string(),
                "SUPERUSER",
            ),
            (
                "CREATEROLE",
                "CREATE ROLE \"{{name}}\" LOGIN CREATEROLE PASSWORD '{{password}}';".to_string(),
                "CREATEROLE",
            ),
            ("IN ROLE postgres", in_role("postgres"), "postgres"),
            (
                "IN ROLE pg_read_server_files",
                in_role("pg_read_server_files"),
                "pg_read_server_files",
            ),
            (
                "GRANT another tenant's group",
                format!(
                    "{} GRANT \"h19r_other_owner\" TO \"{{{{name}}}}\";",
                    in_role(&rw)
                ),
                "h19r_other_owner",
            ),
            (
                "SET role = postgres",
                format!(
                    "{} ALTER ROLE \"{{{{name}}}}\" SET role = 'postgres';",
                    in_role(&rw)
                ),
                "postgres",
            ),
            (
                "ALTER ROLE of another login",
                format!("{} ALTER ROLE \"postgres\" PASSWORD 'x';", in_role(&rw)),
                "postgres",
            ),
            (
                "DO block",
                "DO $$ BEGIN EXECUTE 'ALTER ROLE postgres PASSWORD ''x'''; END $$;".to_string(),
                "DO",
            ),
        ];
        for (i, (what, text, says)) in dangerous.iter().enumerate() {
            let name = role_name(&format!("o{i}"));
            let hcl = opted(&statements("creation_statements", &[text]), &name);
            failures.extend(refused(&g.w, &hcl, &name, "creation_statements", says, what).err());
        }
        let my_create = "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';";
        let my_escaped = mydb.replace('_', "\\_");
        let my_dangerous = [
            ("GRANT ON *.*", format!("{my_create} GRANT SELECT ON *.* TO '{{{{name}}}}'@'%';"), "*.*"),
            ("GRANT ON mysql.*", format!("{my_create} GRANT SELECT ON `mysql`.* TO '{{{{name}}}}'@'%';"), "mysql"),
            ("WITH GRANT OPTION", format!("{my_create} GRANT SELECT ON `{my_escaped}`.* TO '{{{{name}}}}'@'%' WITH GRANT OPTION;"), "GRANT OPTION"),
            ("unescaped _ wildcard", format!("{my_create} GRANT SELECT ON `{mydb}`.* TO '{{{{name}}}}'@'%';"), "wildcard"),
            ("GRANT PROXY", format!("{my_create} GRANT PROXY ON 'root'@'%' TO '{{{{name}}}}'@'%';"), "PROXY"),
        ];
        for (i, (what, text, says)) in my_dangerous.iter().enumerate() {
            let name = role_name(&format!("m{i}"));
            let hcl = opted_my(&statements("creation_statements", &[text]), &name);
            failures.extend(refused(&g.w, &hcl, &name, "creation_statements", says, what).err());
        }
        // A configuration with a refused role plans nothing else either (nor destroys).
        g.w.write(&config(&body));
        assert_all_refused(&tf.version, &failures);

        // A plain custom role passes with the opt-in, and its logins work.
        let plain = role_name("plain");
        let plain_hcl = opted(
            &statements(
                "creation_statements",
                &[&in_role(&format!("{db}_readonly"))],
            ),
            &plain,
        );
        g.w.write(&plain_hcl);
        g.w.apply().ok();
        assert!(
            vault_get(&format!("database/roles/{plain}")).is_some(),
            "a plain custom role is written with the opt-in"
        );
        // Without the opt-in, the role already in state refreshes and plans nothing...
        let no_opt_in = plain_hcl.replacen(&opted_in_provider(), &provider_block(), 1);
        g.w.write(&no_opt_in);
        let p =
            g.w.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
        assert_eq!(
            p.code,
            0,
            "an unchanged role in state plans nothing:\n{}",
            p.all()
        );
        // ...but a change to it is refused,
        g.w.write(&no_opt_in.replace(
            "  creation_statements",
            "  default_ttl = 3600\n  creation_statements",
        ));
        let r = g.w.run(&["plan", "-no-color", "-input=false"]);
        assert!(
            r.code != 0 && flat(&r.all()).contains("allow_custom_statements"),
            "a change to a custom role without the opt-in is refused:\n{}",
            r.all()
        );
        // ...and destroy still works.
        g.w.write(&config(&body));
        g.w.apply().ok();
        assert_not_in_vault(&plain, "the custom role after its removal");
        drop(g);
        let _ = mysql_admin(&format!("DROP USER IF EXISTS '{myglobal}'@'%'"));
    }
}

/// The checks run at plan only for a role being created or changed: with PostgreSQL and
/// Vault out of reach, `terraform validate` and `plan -refresh=false` of unchanged dynamic
/// and static roles dial nothing and plan nothing.
#[test]
fn hostile_config_unchanged_roles_plan_without_refresh_and_without_connections() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [db, pg] = tagged(&tf, ["h19rn", "h19rnpg"]);
        // Role names as the connection's default `allowed_roles` has them: `<connection>-*`.
        let (app, fixed) = (format!("{pg}-app"), format!("{pg}-static"));
        let login = format!("h19r_nlogin_{v}");
        let base = Stack::default()
            .database("db", &db)
            .connection(
                "pg",
                &pg,
                "postgres",
                // Set, so that closing the provider's port does not change it.
                &format!(
                    "  connection_url = {}\n",
                    hcl_str(&format!(
                        "postgresql://{{{{username}}}}:{{{{password}}}}@{}:{}/postgres?sslmode=disable",
                        stack("PGHOST"),
                        stack("PGPORT")
                    ))
                ),
            )
            .role("app", &app, "pg", &format!("{PGDB}.db.name"), "")
            .guard(|g| g.vault_roles.push(fixed.clone()));
        let first = base.body().to_string();
        let mut g = base.case(&tf);
        g.w.apply().ok();
        create_login(
            &mut g,
            &login,
            "h19r-Secret-1",
            Some(&format!("{db}_readwrite")),
        );
        let body = format!(
            "{first}{}",
            attack_role(
                &fixed,
                "pg",
                &format!("{PGDB}.db.name"),
                &static_login(&login)
            )
            .replace("\"attack\"", "\"fixed\"")
        );
        g.w.write(&config(&body));
        g.w.apply().ok();

        let live = provider_block();
        let pg_port = format!("port     = {}", stack("PGPORT"));
        let vault = stack("VAULT_ADDR");
        assert!(
            live.contains(&pg_port) && live.contains(&vault),
            "provider block layout changed: {live}"
        );
        let closed =
            live.replacen(&pg_port, "port     = 1", 1)
                .replacen(&vault, "http://127.0.0.1:1", 1);
        g.w.write(&format!("{closed}\n{body}"));
        let r = plan_without_refresh(&g.w);
        let valid = g.w.run(&["validate", "-no-color"]);
        g.w.write(&config(&body));
        assert_eq!(
            r.code,
            0,
            "plan -refresh=false of unchanged roles must dial nothing and plan nothing:\n{}",
            r.all()
        );
        assert_eq!(
            valid.code,
            0,
            "validate without connections:\n{}",
            valid.all()
        );
        // The static role goes before the login it rotates.
        g.w.write(&config(&first));
        g.w.apply().ok();
    }
}
