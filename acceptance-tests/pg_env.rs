//! The libpq environment (`PGHOST`, `PGSSLCERT`, `PGOPTIONS`, ...) is the `postgres`
//! block's, through the fallbacks its attributes document, and nothing else's: the
//! PostgreSQL driver would otherwise read it into every connection it makes, including
//! the PgBouncer admin consoles and the tenant login check.

use crate::fixture::{apply_env, destroy_env, each_terraform, tagged, Cleanup, PGDB};
use crate::harness::{provider_block, Workdir};

/// PgBouncer refuses any startup parameter it does not know (the dev stack, like a
/// strict deployment, sets no `ignore_startup_parameters`); `PGOPTIONS` becomes one.
#[test]
fn pgoptions_in_the_environment_does_not_reach_the_pgbouncer_admin_consoles() {
    let env = [
        ("PGOPTIONS", "-c statement_timeout=0"),
        ("PGAPPNAME", "leaked"),
    ];
    for tf in each_terraform() {
        let [name] = tagged(&tf, ["acc_pgenv"]);
        let _guard = Cleanup::tenants(&[&name]).swept();
        let hcl = format!(
            "{}\ndata \"dbaas_pgbouncer_pools\" \"p\" {{}}\n\
             output \"pools_read\" {{ value = length(data.dbaas_pgbouncer_pools.p.pools) >= 0 }}\n\
             resource \"{PGDB}\" \"x\" {{\n  name                = \"{name}\"\n  deletion_protection = false\n}}\n",
            provider_block()
        );
        let w = Workdir::new(&tf, &hcl);
        // Reading the pools dials every admin console; the database's create runs on the
        // PostgreSQL admin pool and its destroy drains PgBouncer.
        let r = apply_env(&w, &env);
        assert_eq!(
            r.code,
            0,
            "apply with PGOPTIONS set works (no `options` startup parameter sent to PgBouncer):\n{}",
            r.all()
        );
        let r = destroy_env(&w, &env);
        assert_eq!(r.code, 0, "destroy with PGOPTIONS set works:\n{}", r.all());
    }
}
