//! Issue 19, item 6, from the side of those who must not get through: a tenant holding a
//! login Vault issued for its MySQL database (engine `mysql`, a rotation role made by
//! Terraform), with a session open in it, and other accounts an operator granted on it
//! by hand. Destroy and `-replace` of `dbaas_shared_mysql_database` must end the issued
//! logins (their sessions too: MariaDB and MySQL keep a session's database access after
//! DROP USER and even after the database is dropped and re-created), revoke what other
//! accounts hold on the database (named in a warning), and leave alone every account with
//! anything elsewhere. Also the tenant login's own reach: no GRANT, no DEFINER of another
//! account, no other tenant's names.
//!
//! Every case runs on each Terraform with names unique per case and per version; a
//! fixture [`Case`] destroys and sweeps what it made whatever happens.

use crate::fixture::{
    apply_clean, each_terraform, flat, my_lit, mysql_admin as admin, mysql_as, mysql_grants_on,
    mysql_sessions_of, mysql_user_exists, name_of, read_creds, resource, tagged, wait_until, Case,
    Creds, MysqlSession, Stack, MYDB,
};
use crate::harness::{version_tag, Terraform};

/// A MySQL tenant database `db`, a Vault connection `conn` (engine mysql) and the owner
/// rotation role `<conn>-app` on it, applied; the case, and the credentials of one login
/// Vault issued, which created and filled a table `items`.
fn tenant_with_login(tf: &Terraform, db: &str, conn: &str, extra: &[&str]) -> (Case, Creds) {
    let app = format!("{conn}-app");
    let mut dbs = vec![db.to_string()];
    dbs.extend(extra.iter().map(|s| s.to_string()));
    let g = Stack::default()
        .hcl(&resource(MYDB, "db", db, "  deletion_protection = false"))
        .connection("my", conn, "mysql", "")
        .role("app", &app, "my", &name_of(MYDB, "db"), "")
        .guard(|g| g.mysql_dbs = dbs)
        .case(tf);
    apply_clean(&g.w, "the tenant stack");
    let login = read_creds(&format!("database/creds/{app}"));
    mysql_as(
        &login.username,
        &login.password,
        Some(db),
        "CREATE TABLE items (id int PRIMARY KEY, v varchar(20)); INSERT INTO items VALUES (1, 'tenant-a')",
    )
    .unwrap_or_else(|e| panic!("the issued login works in its database: {e}"));
    (g, login)
}

/// An account made by hand as the admin, with password `pw`, and the grants `grants`
/// (statements with `{u}` for the account).
fn hand_made_account(g: &mut Case, user: &str, grants: &[String]) {
    g.mysql_users.push(user.to_string());
    let u = format!("{}@'%'", my_lit(user));
    admin(&format!(
        "DROP USER IF EXISTS {u}; CREATE USER {u} IDENTIFIED BY 'pw'"
    ));
    for grant in grants {
        admin(&grant.replace("{u}", &u));
    }
}

/// `db` escaped for the database position of GRANT (`_` is a wildcard there).
fn esc(db: &str) -> String {
    db.replace('_', "\\_")
}

#[test]
fn hostile_mysql_destroy_ends_issued_logins_and_revokes_other_grants() {
    for tf in each_terraform() {
        let [db, elsewhere_db, conn, other, elsewhere] = tagged(
            &tf,
            ["h19my_d", "h19my_e", "h19myd", "h19my_other", "h19my_else"],
        );
        // Shaped like a login of Vault's MySQL username template.
        let decoy = format!("v-token-h19mydc-Zq9{}", version_tag(&tf));
        let (mut g, login) = tenant_with_login(&tf, &db, &conn, &[&elsewhere_db]);
        g.mysql_users.push(login.username.clone());
        admin(&format!(
            "CREATE DATABASE IF NOT EXISTS `{elsewhere_db}`; CREATE TABLE IF NOT EXISTS `{elsewhere_db}`.kept (id int)"
        ));
        // Granted on the tenant's database only, at every level: database, table,
        // column, routine.
        admin(&format!(
            "CREATE PROCEDURE `{db}`.`report`() SELECT count(*) FROM `{db}`.items"
        ));
        hand_made_account(
            &mut g,
            &other,
            &[
                format!("GRANT SELECT ON `{}`.* TO {{u}}", esc(&db)),
                format!("GRANT SELECT, INSERT ON `{db}`.`items` TO {{u}} WITH GRANT OPTION"),
                format!("GRANT UPDATE (v) ON `{db}`.`items` TO {{u}}"),
                format!("GRANT EXECUTE ON PROCEDURE `{db}`.`report` TO {{u}}"),
            ],
        );
        // Granted on the tenant's database and on another one.
        hand_made_account(
            &mut g,
            &elsewhere,
            &[
                format!("GRANT SELECT ON `{}`.* TO {{u}}", esc(&db)),
                format!("GRANT SELECT ON `{}`.* TO {{u}}", esc(&elsewhere_db)),
            ],
        );
        // Named like a Vault login, granted only on the tenant's database, but with a
        // global privilege: never dropped, only revoked.
        hand_made_account(
            &mut g,
            &decoy,
            &[
                format!("GRANT ALL ON `{}`.* TO {{u}}", esc(&db)),
                "GRANT PROCESS ON *.* TO {u}".to_string(),
            ],
        );

        // A role granted on it (MariaDB roles: no host), every account through PUBLIC,
        // and a wildcard grant that reaches it and other names.
        let readers = format!("h19my_readers_{}", version_tag(&tf));
        let wild = format!("h19my_wild_{}", version_tag(&tf));
        admin(&format!(
            "DROP ROLE IF EXISTS `{readers}`; CREATE ROLE `{readers}`; GRANT SELECT ON `{}`.* TO `{readers}`; GRANT SELECT ON `{db}`.`items` TO PUBLIC",
            esc(&db)
        ));
        // The anonymous user of a host no client comes from (so it shadows nobody).
        let anon = format!("''@'h19my-anon-{}.invalid'", version_tag(&tf));
        admin(&format!(
            "DROP USER IF EXISTS {anon}; CREATE USER {anon}; GRANT SELECT ON `{}`.* TO {anon}",
            esc(&db)
        ));
        let wild_pattern = format!("{}%", esc(&db));
        hand_made_account(
            &mut g,
            &wild,
            &[format!("GRANT SELECT ON `{wild_pattern}`.* TO {{u}}")],
        );

        // The tenant and the other account hold sessions in the database and read it.
        let mut tenant = MysqlSession::open(&login.username, &login.password, &db);
        assert_eq!(
            tenant.query("SELECT v FROM items").as_deref(),
            Ok("tenant-a")
        );
        let mut others = MysqlSession::open(&other, "pw", &db);
        assert_eq!(
            others.query("SELECT v FROM items").as_deref(),
            Ok("tenant-a")
        );

        let d = g.destroy();
        let out = flat(&d.all());
        eprintln!("destroy said:\n{}", d.all());

        // The issued login and its session are gone.
        assert!(
            !mysql_user_exists(&login.username),
            "the issued login {} outlives its database:\n{}",
            login.username,
            d.all()
        );
        assert!(
            wait_until(std::time::Duration::from_secs(5), || mysql_sessions_of(
                &login.username
            )
            .is_empty()),
            "the issued login's session is still open after destroy"
        );
        let after = tenant.query("SELECT v FROM items");
        assert!(
            after.is_err(),
            "the tenant's session still reads: {after:?}"
        );

        // The other account lost everything on the database, its session ended, and the
        // warning names it.
        assert!(mysql_user_exists(&other), "{other} is not Vault's: kept");
        assert_eq!(
            mysql_grants_on(&other, &db),
            Vec::<String>::new(),
            "grants on {db} left to {other}"
        );
        assert!(
            others.query("SELECT 1").is_err(),
            "{other}'s session in {db} is still open"
        );
        assert!(
            out.contains(&other) && out.contains("revoked"),
            "the warning must name {other}:\n{}",
            d.all()
        );

        // The account with a grant elsewhere keeps it, and only it.
        assert!(mysql_user_exists(&elsewhere));
        assert_eq!(mysql_grants_on(&elsewhere, &db), Vec::<String>::new());
        assert_eq!(
            mysql_grants_on(&elsewhere, &elsewhere_db).len(),
            1,
            "{elsewhere} keeps its grant on {elsewhere_db}"
        );
        mysql_as(
            &elsewhere,
            "pw",
            Some(&elsewhere_db),
            "SELECT count(*) FROM kept",
        )
        .unwrap_or_else(|e| panic!("{elsewhere} still works on {elsewhere_db}: {e}"));

        // The Vault-named account with a global privilege is kept, without its grant.
        assert!(
            mysql_user_exists(&decoy),
            "{decoy} has a global privilege: kept"
        );
        assert_eq!(mysql_grants_on(&decoy, &db), Vec::<String>::new());
        assert!(out.contains(&decoy), "{}", d.all());

        // The role and PUBLIC lost their grants; the role is named.
        assert_eq!(
            admin(&format!(
                "SELECT count(*) FROM mysql.db WHERE User IN ({}, 'PUBLIC') AND Db IN ({}, {})",
                my_lit(&readers),
                my_lit(&db),
                my_lit(&esc(&db))
            )),
            "0"
        );
        assert_eq!(mysql_grants_on("PUBLIC", &db), Vec::<String>::new());
        assert!(out.contains(&readers), "{}", d.all());
        admin(&format!("DROP ROLE IF EXISTS `{readers}`"));
        assert_eq!(mysql_grants_on("", &db), Vec::<String>::new(), "anonymous");
        admin(&format!("DROP USER IF EXISTS {anon}"));
        // The wildcard grant reaches other names too: left, and named.
        assert!(
            out.contains(&wild) && out.contains("Wildcard"),
            "{}",
            d.all()
        );

        // A new tenant taking the name: none of them reaches it.
        admin(&format!(
            "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.items (id int, v varchar(20)); INSERT INTO `{db}`.items VALUES (2, 'tenant-b')"
        ));
        for (user, pw) in [(&other, "pw"), (&elsewhere, "pw"), (&decoy, "pw")] {
            let r = mysql_as(user, pw, None, &format!("SELECT v FROM `{db}`.items"));
            assert!(r.is_err(), "{user} reads the new tenant's table: {r:?}");
        }
    }
}

#[test]
fn hostile_mysql_replace_leaves_the_old_login_nothing() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["h19my_r", "h19myr"]);
        let (mut g, login) = tenant_with_login(&tf, &db, &conn, &[]);
        g.mysql_users.push(login.username.clone());
        let mut old = MysqlSession::open(&login.username, &login.password, &db);
        assert_eq!(old.query("SELECT v FROM items").as_deref(), Ok("tenant-a"));
        // A routine of its own: the server grants its creator EXECUTE on it (a routine
        // grant on this database), and the login is the routine's DEFINER.
        old.query("CREATE PROCEDURE mine() SELECT v FROM items")
            .unwrap_or_else(|e| panic!("the tenant creates a procedure: {e}"));

        let addr = format!("-replace={MYDB}.db");
        let r =
            g.w.run(&["apply", "-auto-approve", "-no-color", "-input=false", &addr])
                .ok();
        // The new tenant's data.
        admin(&format!(
            "CREATE TABLE `{db}`.secret (v varchar(20)); INSERT INTO `{db}`.secret VALUES ('tenant-b')"
        ));

        let held = old.query("SELECT v FROM secret");
        assert!(
            held.is_err(),
            "the old login's open session reads the new tenant's table: {held:?}\n{}",
            r.all()
        );
        let fresh = mysql_as(
            &login.username,
            &login.password,
            Some(&db),
            "SELECT v FROM secret",
        );
        assert!(
            fresh.is_err(),
            "the old login reads the new tenant's table: {fresh:?}"
        );
        assert!(
            !mysql_user_exists(&login.username),
            "the old login {} survives the replacement:\n{}",
            login.username,
            r.all()
        );
        assert_eq!(
            admin(&format!(
                "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
                my_lit(&db)
            )),
            "1"
        );

        // Dropped outside the provider, the database leaves its table grants behind; the
        // create that follows names the account they still let in.
        let stale = format!("h19my_stale_{}", version_tag(&tf));
        hand_made_account(
            &mut g,
            &stale,
            &[format!("GRANT SELECT ON `{db}`.`secret` TO {{u}}")],
        );
        admin(&format!("DROP DATABASE `{db}`"));
        let r = g.w.apply().ok();
        assert!(
            flat(&r.all()).contains("Other accounts can reach database")
                && flat(&r.all()).contains(&format!("{db}.secret")),
            "a stale table grant must be reported: {}",
            r.all()
        );
    }
}

#[test]
fn hostile_mysql_tenant_login_stays_inside_its_database() {
    for tf in each_terraform() {
        let [db, conn, victim] = tagged(&tf, ["h19my_t", "h19myt", "h19my_victim"]);
        // The tenant's name with its `_` as any character: what an unescaped grant on it
        // would reach too.
        let neighbour = db.replacen('_', "x", 1);
        let (mut g, login) = tenant_with_login(&tf, &db, &conn, &[&neighbour]);
        g.mysql_users.push(login.username.clone());
        admin(&format!(
            "CREATE DATABASE IF NOT EXISTS `{neighbour}`; CREATE TABLE IF NOT EXISTS `{neighbour}`.t (id int)"
        ));
        hand_made_account(
            &mut g,
            &victim,
            &[format!("GRANT SELECT ON `{}`.* TO {{u}}", esc(&neighbour))],
        );
        let (u, p) = (login.username.as_str(), login.password.as_str());
        let v = format!("{}@'%'", my_lit(&victim));
        let refused = |sql: &str| {
            let r = mysql_as(u, p, Some(&db), sql);
            assert!(r.is_err(), "the tenant login may run {sql:?}: {r:?}");
        };
        // No handing out of its database, no accounts, no password changes of others.
        refused(&format!("GRANT SELECT ON `{db}`.* TO {v}"));
        refused(&format!("GRANT SELECT ON `{db}`.items TO {v}"));
        refused("CREATE USER 'h19my_new'@'%' IDENTIFIED BY 'x'");
        refused(&format!("SET PASSWORD FOR {v} = PASSWORD('x')"));
        refused(&format!("ALTER USER {v} IDENTIFIED BY 'x'"));
        // Nothing that runs as someone else later (DEFINER of another account).
        for object in [
            "VIEW dv AS SELECT 1".to_string(),
            "PROCEDURE dp() SELECT 1".to_string(),
            "FUNCTION df() RETURNS int RETURN 1".to_string(),
            "TRIGGER dt BEFORE INSERT ON items FOR EACH ROW SET NEW.v = 'x'".to_string(),
            "EVENT de ON SCHEDULE EVERY 1 HOUR DO SELECT 1".to_string(),
        ] {
            refused(&format!("CREATE DEFINER = 'root'@'localhost' {object}"));
        }
        // No other session: not even one it can name.
        let mut other = MysqlSession::open(&victim, "pw", &neighbour);
        let id = other.query("SELECT CONNECTION_ID()").unwrap_or_default();
        assert!(id.parse::<u64>().is_ok(), "{id:?}");
        refused(&format!("KILL CONNECTION {id}"));
        refused(&format!("KILL QUERY {id}"));
        refused("SET GLOBAL max_connections = 1");
        assert_eq!(other.query("SELECT 1").as_deref(), Ok("1"));
        // No files, no server-wide reads.
        refused("SELECT * FROM mysql.user");
        refused(&format!("SHOW GRANTS FOR {v}"));
        refused("SELECT 1 INTO OUTFILE '/tmp/h19my_out'");
        assert_eq!(
            mysql_as(u, p, Some(&db), "SELECT LOAD_FILE('/etc/passwd')").as_deref(),
            Ok("NULL"),
            "LOAD_FILE needs the FILE privilege"
        );
        refused(&format!("SELECT * FROM `{neighbour}`.t"));
        // No other tenant's names.
        for q in [
            "SHOW DATABASES",
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA",
            "SELECT TABLE_SCHEMA FROM information_schema.TABLES",
            "SELECT GRANTEE, TABLE_SCHEMA FROM information_schema.SCHEMA_PRIVILEGES",
            "SELECT USER, DB FROM information_schema.PROCESSLIST",
            "SELECT GRANTEE FROM information_schema.USER_PRIVILEGES",
            "SELECT GRANTEE, TABLE_SCHEMA FROM information_schema.TABLE_PRIVILEGES",
            "SHOW PROCESSLIST",
        ] {
            let seen = mysql_as(u, p, Some(&db), q).unwrap_or_default();
            assert!(
                !seen.contains(&neighbour) && !seen.contains(&victim),
                "{q} shows another tenant: {seen}"
            );
        }
    }
}
