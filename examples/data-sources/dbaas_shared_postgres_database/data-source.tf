# An app stack that does not own the tenant database (the platform team's stack does)
# looks it up by name: an error at plan if no such database exists or this provider did
# not make it, instead of a typo that surfaces when the app fails to connect.
data "dbaas_shared_postgres_database" "billing" {
  name = "billing"
}

# What the app's deployment needs, read-write through PgBouncer and read-only through
# the replica pooler (null when the provider configures no read-only endpoint).
output "billing_database" {
  value = {
    host     = data.dbaas_shared_postgres_database.billing.host
    port     = data.dbaas_shared_postgres_database.billing.port
    ro_host  = data.dbaas_shared_postgres_database.billing.ro_host
    ro_port  = data.dbaas_shared_postgres_database.billing.ro_port
    owner    = data.dbaas_shared_postgres_database.billing.owner
    readonly = data.dbaas_shared_postgres_database.billing.readonly_group
  }
}
