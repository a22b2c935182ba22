# Terraform 1.10+: short-lived credentials of the tenant's rotation role, never stored.
ephemeral "dbaas_database_credentials" "shop" {
  role = dbaas_vault_rotation_role.shop.name
}

# A second, aliased provider configured with them, e.g. to manage the tenant's own objects.
provider "postgresql" {
  alias    = "shop"
  host     = ephemeral.dbaas_database_credentials.shop.host
  port     = ephemeral.dbaas_database_credentials.shop.port
  database = ephemeral.dbaas_database_credentials.shop.database
  username = ephemeral.dbaas_database_credentials.shop.username
  password = ephemeral.dbaas_database_credentials.shop.password
  sslmode  = "disable"
}
