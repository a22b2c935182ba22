# The primary and PgBouncer are the provider's `postgres` and `pgbouncer` blocks (see the
# provider's example).

# A tenant database: owned by the NOLOGIN role shop_owner, with the group roles
# shop_readwrite and shop_readonly, closed to every other tenant, and PgBouncer's auth
# function installed so logins work through PgBouncer. Destroy is refused until
# deletion_protection is set to false and applied.
resource "dbaas_shared_postgres_database" "shop" {
  name = "shop"
}

# A scratch database for a preview environment: extensions installed (into the schema
# "extensions"), at most 20 connections, and removable by terraform destroy.
resource "dbaas_shared_postgres_database" "shop_preview" {
  name                = "shop_preview"
  extensions          = ["pgcrypto", "citext"]
  connection_limit    = 20
  deletion_protection = false
}

# Noisy-neighbour guardrails: every session in the database starts with these limits
# (ALTER DATABASE ... SET, through PgBouncer too). Only the allowlisted names are
# accepted; removing one resets it. Per-database PgBouncer pool sizes are the platform's
# (see the platform prerequisites guide).
resource "dbaas_shared_postgres_database" "reports" {
  name = "reports"
  settings = {
    statement_timeout                   = "30s"
    idle_in_transaction_session_timeout = "60s"
    lock_timeout                        = "5s"
    work_mem                            = "16MB"
    temp_file_limit                     = "2GB"
  }
}

# Where the app connects: PgBouncer, never the primary.
output "shop_postgres" {
  value = {
    host     = dbaas_shared_postgres_database.shop.host
    port     = dbaas_shared_postgres_database.shop.port
    database = dbaas_shared_postgres_database.shop.name
  }
}
