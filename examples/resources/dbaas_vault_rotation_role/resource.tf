# Uses the provider's `postgres`, `pgbouncer` and `vault` blocks (see the provider's
# example).

# The platform's Vault connection to the shared PostgreSQL (usually made once, in the
# platform's stack); allowed_roles defaults to ["postgres-*"].
resource "dbaas_vault_database_connection" "postgres" {
  name   = "postgres"
  engine = "postgres"
}

resource "dbaas_shared_postgres_database" "shop" {
  name = "shop"
}

# Dynamic logins for the shop app: each lease creates a login that joins shop_owner and
# runs as shop_owner, so the tables it creates outlive it; it can connect (through
# PgBouncer) to `shop` only, and is dropped when its lease ends (24h by default).
resource "dbaas_vault_rotation_role" "shop" {
  name       = "postgres-shop-role"
  connection = dbaas_vault_database_connection.postgres.name
  database   = dbaas_shared_postgres_database.shop.name
}

# Read-only logins for reporting, with a shorter lease.
resource "dbaas_vault_rotation_role" "shop_reporting" {
  name        = "postgres-shop-reporting"
  connection  = dbaas_vault_database_connection.postgres.name
  database    = dbaas_shared_postgres_database.shop.name
  access      = "readonly"
  default_ttl = 3600
  max_ttl     = 14400
}

# A batch job's logins, each allowed at most 5 sessions at once (CONNECTION LIMIT 5 on
# every login Vault issues), so a runaway worker pool cannot take the database's share.
resource "dbaas_vault_rotation_role" "shop_workers" {
  name             = "postgres-shop-workers"
  connection       = dbaas_vault_database_connection.postgres.name
  database         = dbaas_shared_postgres_database.shop.name
  access           = "readwrite"
  connection_limit = 5
}

# Static: an existing login (made outside Vault) whose password Vault rotates daily.
resource "dbaas_vault_rotation_role" "shop_legacy" {
  name            = "postgres-shop-legacy"
  connection      = dbaas_vault_database_connection.postgres.name
  database        = dbaas_shared_postgres_database.shop.name
  mode            = "static"
  username        = "shop_legacy_batch"
  rotation_period = 86400
}

# Static, login made here (create_login): the provider creates `shop_batch` in
# shop_readwrite with no password of its own, Vault gives it one when the role is
# written, and destroy drops it again; no other provider is needed.
resource "dbaas_vault_rotation_role" "shop_batch" {
  name         = "postgres-shop-batch"
  connection   = dbaas_vault_database_connection.postgres.name
  database     = dbaas_shared_postgres_database.shop.name
  mode         = "static"
  access       = "readwrite"
  username     = "shop_batch"
  create_login = true
}

# Static on a schedule instead of a period (HashiCorp Vault 1.15 or later; OpenBao has
# no schedules and is refused at apply, use rotation_period there): Sundays at 03:00 UTC,
# or within the hour after.
resource "dbaas_vault_rotation_role" "shop_weekly" {
  name              = "postgres-shop-weekly"
  connection        = dbaas_vault_database_connection.postgres.name
  database          = dbaas_shared_postgres_database.shop.name
  mode              = "static"
  access            = "readonly"
  username          = "shop_weekly_report"
  create_login      = true
  rotation_schedule = "0 3 * * 0"
  rotation_window   = 3600
}

# The app reads `database/creds/postgres-shop-role`; hand this HCL to a `vault_policy`.
output "shop_vault_policy" {
  value = dbaas_vault_rotation_role.shop.policy
}
