# Terraform 1.10+.
# Uses the provider's `postgres`, `pgbouncer` and `vault` blocks (see the provider's
# example).

variable "shop_schema_version" {
  type        = string
  description = "The app's schema version; a new one runs the migration again."
}

# The shop app's rotation role on the platform's Vault connection "postgres" (made once,
# in the platform's stack).
resource "dbaas_shared_postgres_database" "shop" {
  name = "shop"
}

resource "dbaas_vault_rotation_role" "shop" {
  name       = "postgres-shop-role"
  connection = "postgres"
  database   = dbaas_shared_postgres_database.shop.name
}

# A short-lived login of that role, never stored in plan or state: read from Vault and
# tried through PgBouncer in every plan and apply that reads it (once the role exists),
# revoked when that run ends.
ephemeral "dbaas_database_credentials" "shop" {
  role     = dbaas_vault_rotation_role.shop.name
  database = dbaas_shared_postgres_database.shop.name
}

# The app's schema migration, run with that login: the tables it creates belong to
# shop_owner and outlive the login. Ephemeral values may also configure a provider block,
# for example a `postgresql` provider managing objects inside the tenant database.
resource "terraform_data" "shop_migration" {
  triggers_replace = [var.shop_schema_version]

  provisioner "local-exec" {
    command = "psql -v ON_ERROR_STOP=1 -f migrations/${var.shop_schema_version}.sql"
    environment = {
      PGHOST     = ephemeral.dbaas_database_credentials.shop.host
      PGPORT     = ephemeral.dbaas_database_credentials.shop.port
      PGDATABASE = ephemeral.dbaas_database_credentials.shop.database
      PGUSER     = ephemeral.dbaas_database_credentials.shop.username
      PGPASSWORD = ephemeral.dbaas_database_credentials.shop.password
    }
  }
}
