//! `allowed_roles` of `dbaas_vault_database_connection` and `channels` of
//! `dbaas_shared_redis_namespace` are sets (issue 21, item 5): their order means nothing to
//! Vault or Redis, so a configuration that only reorders them plans no change.

use crate::fixture::{
    assert_plan_empty, config, connection, each_terraform, resource, tagged, Stack, RNS,
};

/// The namespace `ns` and the connection `conn` with the two lists in the given order.
fn body(ns: &str, conn: &str, reversed: bool) -> String {
    let mut channels = [format!("\"{ns}:a*\""), format!("\"{ns}:b\"")];
    let mut roles = [format!("\"{conn}-a\""), format!("\"{conn}-*\"")];
    if reversed {
        channels.reverse();
        roles.reverse();
    }
    // Plain HCL: a `Stack` built here would sweep the objects when dropped.
    [
        resource(
            RNS,
            "ns",
            ns,
            &format!("  channels = [{}]", channels.join(", ")),
        ),
        connection(
            "pg",
            conn,
            "postgres",
            &format!("  allowed_roles = [{}]\n", roles.join(", ")),
        ),
    ]
    .concat()
}

/// Reordering `channels` and `allowed_roles` in the configuration plans nothing.
#[test]
fn sets_reordered_in_configuration_plan_no_change() {
    for tf in each_terraform() {
        let [ns, conn] = tagged(&tf, ["acc-set", "pgset"]);
        let mut g = Stack::default()
            .hcl(&body(&ns, &conn, false))
            .guard(|g| {
                g.redis_users.push(ns.clone());
                g.vault_connections.push(conn.clone());
            })
            .case(&tf);
        g.apply_clean();
        g.w.write(&config(&body(&ns, &conn, true)));
        assert_plan_empty(&g.w, "reordering channels and allowed_roles");
        g.destroy();
    }
}
