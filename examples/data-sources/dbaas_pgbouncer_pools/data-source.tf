# Read from the admin console of every PgBouncer replica (the provider's `admin_hosts`),
# so a client stuck on one replica shows up.

# The shop database's pools on every replica.
data "dbaas_pgbouncer_pools" "shop" {
  database = "shop"
}

# Clients waiting for a server connection, per replica: a check before destroying a
# database, or a number for an alert.
output "shop_waiting_clients" {
  value = {
    for p in data.dbaas_pgbouncer_pools.shop.pools : "${p.admin_host} ${p.user}" => p.cl_waiting
  }
}
