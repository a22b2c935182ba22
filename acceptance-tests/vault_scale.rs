//! Issue 23, item 4: many rotation roles on one connection, as a platform holds them.
//! The provider shares what they all ask at once (the connection's configuration, the
//! listing of the roles that hold leases); these cases check that sharing never costs
//! a check: a role destroyed with others still has exactly its own leases revoked and
//! their logins dropped, whatever its name shares with the others'.

use crate::fixture::{
    each_terraform, leases_under, name_of, read_creds, tagged, vault_made_logins, Stack, PGDB,
};
use crate::harness::vault_list;

#[test]
fn vault_roles_destroyed_together_revoke_exactly_the_leases_they_hold() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_vsc", "pgsc"]);
        // 12 roles destroyed at once; r1 and r11 hold leases, r10 (a name r1 is a prefix
        // of) and the others hold none.
        let names: Vec<String> = (0..12).map(|i| format!("{conn}-r{i}")).collect();
        let mut stack = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "");
        for (i, name) in names.iter().enumerate() {
            stack = stack.role(&format!("r{i}"), name, "pg", &name_of(PGDB, "db"), "");
        }
        let mut g = stack.case(&tf);
        g.apply_clean();

        let issued = [
            read_creds(&format!("database/creds/{}", names[1])),
            read_creds(&format!("database/creds/{}", names[1])),
            read_creds(&format!("database/creds/{}", names[11])),
        ];
        assert_eq!(
            vault_made_logins(&conn).len(),
            3,
            "three logins issued: {:?}",
            vault_made_logins(&conn)
        );

        g.destroy();

        let roles = vault_list("database/roles");
        let left: Vec<&String> = names.iter().filter(|n| roles.contains(n)).collect();
        assert!(left.is_empty(), "roles left in Vault: {left:?}");
        for name in &names {
            let leases = leases_under(&format!("database/creds/{name}"));
            assert!(
                leases.is_empty(),
                "leases of {name} left in Vault: {leases:?}"
            );
        }
        for c in &issued {
            assert!(
                !vault_made_logins(&conn).contains(&c.username),
                "login {} left in PostgreSQL",
                c.username
            );
        }
        let logins = vault_made_logins(&conn);
        assert!(
            logins.is_empty(),
            "v-% logins left in PostgreSQL: {logins:?}"
        );
    }
}
