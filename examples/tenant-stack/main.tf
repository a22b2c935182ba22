# One app's whole stack on the shared platform: its PostgreSQL database (reached through
# PgBouncer), a Vault role handing out rotating logins for it on the platform's shared
# Vault connection, and the Vault policy that lets the app read them. It replaces
# hand-written.tf.txt. The provider's settings are the platform's: see provider.tf.

terraform {
  required_providers {
    dbaas = { source = "infra/dbaas" }
  }
}

variable "app" {
  type        = string
  description = "The app's name, e.g. \"shop\": its database, and part of its Vault role's name."
}

variable "vault_connection" {
  type        = string
  default     = "postgres"
  description = "The platform's shared dbaas_vault_database_connection (allowed_roles \"<name>-*\")."
}

resource "dbaas_shared_postgres_database" "app" {
  name = var.app
}

resource "dbaas_vault_rotation_role" "app" {
  name       = "${var.vault_connection}-${var.app}-role"
  connection = var.vault_connection
  database   = dbaas_shared_postgres_database.app.name
}

output "postgres" {
  description = "Where the app connects: PgBouncer, into its own database."
  value = {
    host     = dbaas_shared_postgres_database.app.host
    port     = dbaas_shared_postgres_database.app.port
    database = dbaas_shared_postgres_database.app.name
  }
}

output "vault_creds_path" {
  description = "Where the app reads its login (username, password, lease)."
  value       = dbaas_vault_rotation_role.app.creds_path
}

output "vault_policy" {
  description = "Vault policy HCL granting read on vault_creds_path, ready for a vault_policy resource."
  value       = dbaas_vault_rotation_role.app.policy
}
