//! `scripts/demo` (what `make demo` runs after starting the stack and building) on each
//! Terraform: the first run makes one app's tenant and prints the login through PgBouncer,
//! the ownership check and the neighbour's refusal; the second run changes nothing;
//! `DESTROY=1` leaves nothing in PostgreSQL, Vault or Redis. The tenant is named
//! `acc_fh_demo_<version>` (`DEMO_APP`) and the work dir is a temp dir (`DEMO_DIR`), so the
//! test never touches a user's `.dev/demo`. A guard runs `DESTROY=1` and a fixture [`Cleanup`]
//! removes by SQL, the Vault API and Redis whatever a failed step left.

use std::path::Path;
use std::process::Command;

use crate::fixture::{each_terraform, redis_try_admin, Cleanup};
use crate::harness::{provider_binary, psql_admin, stack, vault_get, version_tag, Terraform};

/// The names the demo derives from `DEMO_APP` (see examples/demo/main.tf).
struct Names {
    app: String,
    neighbour: String,
    slug: String,
    connection: String,
    role: String,
}

impl Names {
    fn new(app: &str) -> Names {
        let slug = app.replace('_', "-");
        let connection = format!("{slug}-postgres");
        Names {
            app: app.to_string(),
            neighbour: format!("{app}_neighbour"),
            role: format!("{connection}-app"),
            slug,
            connection,
        }
    }

    fn databases(&self) -> [&str; 2] {
        [&self.app, &self.neighbour]
    }
}

struct Demo {
    tf: Terraform,
    dir: tempfile::TempDir,
    names: Names,
    destroyed: bool,
    /// Removes what a failed step left, after `DESTROY=1` (fields drop after `Drop::drop`).
    guard: Cleanup,
}

struct Output {
    ok: bool,
    text: String,
}

impl Demo {
    fn run(&self, destroy: bool) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo");
        let plugin_dir = provider_binary()
            .parent()
            .expect("provider dir")
            .to_path_buf();
        let out = Command::new(script)
            .env("DBAAS_TERRAFORM", &self.tf.bin)
            .env("DBAAS_PLUGIN_DIR", plugin_dir)
            .env("DEMO_APP", &self.names.app)
            .env("DEMO_DIR", self.dir.path())
            .env("DESTROY", if destroy { "1" } else { "0" })
            .env_remove("TF_LOG")
            .output()
            .expect("run scripts/demo");
        Output {
            ok: out.status.success(),
            text: format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if !self.destroyed {
            let r = self.run(true);
            if !r.ok {
                eprintln!("cleanup: DESTROY=1 scripts/demo failed:\n{}", r.text);
            }
        }
    }
}

fn count(sql: &str) -> i64 {
    psql_admin("postgres", sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .parse()
        .expect("a count")
}

#[test]
fn demo_runs_the_tenant_end_to_end_twice_without_changes_and_destroys_everything() {
    for tf in each_terraform() {
        let names = Names::new(&format!("acc_fh_demo_{}", version_tag(&tf)));
        let mut demo = Demo {
            tf: tf.clone(),
            dir: tempfile::Builder::new()
                .prefix("dbaas-acc-demo-")
                .tempdir()
                .expect("temp dir"),
            guard: Cleanup::default(),
            names,
            destroyed: false,
        };
        let n = &demo.names;
        demo.guard
            .track(&n.databases(), &[&n.connection], &[&n.role]);
        demo.guard.redis_users.push(n.slug.clone());
        let owner = format!("{}_owner", n.app);

        let first = demo.run(false);
        assert!(first.ok, "first scripts/demo failed:\n{}", first.text);
        let t = &first.text;
        assert!(
            t.contains("Resources: 5 added, 0 changed, 0 destroyed"),
            "{t}"
        );
        assert!(
            t.contains(&format!("acting as {owner}")),
            "the login runs as the owner role through PgBouncer:\n{t}"
        );
        assert!(
            t.contains(&format!(
                "ownership check: table public.demo_orders (1 row(s)) is owned by {owner}"
            )),
            "{t}"
        );
        let refusal = t
            .lines()
            .find(|l| l.contains("refused: login"))
            .unwrap_or_else(|| panic!("no refusal printed:\n{t}"));
        assert!(
            refusal.contains(&format!("into {}:", n.neighbour)) && refusal.contains("no such user"),
            "{refusal}"
        );
        assert!(t.contains("apps use:   PostgreSQL at "), "{t}");
        assert!(
            t.contains(&format!(":{} (PgBouncer)", stack("DBAAS_PGBOUNCER_PORT"))),
            "{t}"
        );
        // What the script printed is what the database holds.
        assert_eq!(
            psql_admin(
                &n.app,
                "SELECT tableowner FROM pg_tables WHERE tablename = 'demo_orders'"
            )
            .unwrap(),
            owner
        );
        // The demo revoked its lease: no login of this role is left.
        let role_prefix: String = n.role.chars().take(8).collect();
        let logins = format!(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-%-{}-%'",
            role_prefix.replace('-', "\\-").replace('_', "\\_")
        );
        assert_eq!(count(&logins), 0, "the demo's login was revoked");

        let second = demo.run(false);
        assert!(second.ok, "second scripts/demo failed:\n{}", second.text);
        assert!(
            second
                .text
                .contains("Resources: 0 added, 0 changed, 0 destroyed")
                && second.text.contains("No changes."),
            "the second run changes nothing:\n{}",
            second.text
        );
        assert!(
            second.text.contains(&format!(
                "ownership check: table public.demo_orders (2 row(s)) is owned by {owner}"
            )),
            "{}",
            second.text
        );

        let gone = demo.run(true);
        demo.destroyed = true;
        assert!(gone.ok, "DESTROY=1 scripts/demo failed:\n{}", gone.text);
        assert!(
            gone.text.contains("Resources: 5 destroyed"),
            "{}",
            gone.text
        );
        assert!(
            gone.text.contains("== destroyed: 0 object(s) left"),
            "{}",
            gone.text
        );
        let n = &demo.names;
        for db in n.databases() {
            assert_eq!(
                count(&format!(
                    "SELECT count(*) FROM pg_database WHERE datname = '{db}'"
                )),
                0,
                "{db} is dropped"
            );
            assert_eq!(
                count(&format!(
                    "SELECT count(*) FROM pg_roles WHERE rolname IN ('{db}_owner', '{db}_readwrite', '{db}_readonly')"
                )),
                0,
                "{db}'s roles are dropped"
            );
        }
        assert_eq!(count(&logins), 0, "no login is left");
        assert!(vault_get(&format!("database/roles/{}", n.role)).is_none());
        assert!(vault_get(&format!("database/config/{}", n.connection)).is_none());
        let users = redis_try_admin(&["ACL", "USERS"]).expect("ACL USERS");
        assert!(
            !users.lines().any(|u| u == n.slug),
            "the Redis user {} is deleted: {users}",
            n.slug
        );
    }
}
