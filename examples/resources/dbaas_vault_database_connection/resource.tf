# Vault is handed the admin settings of the provider's `postgres`, `mysql` and `redis`
# blocks, and reached through its `vault` block (see the provider's example).

# Vault's database secrets engine connected to the shared PostgreSQL. The URL, the admin
# user and its password come from the provider's `postgres` block: nothing is repeated
# here. `allowed_roles` defaults to ["postgres-*"], so every rotation role named
# `postgres-<app>-role` can use this one connection.
resource "dbaas_vault_database_connection" "postgres" {
  name   = "postgres"
  engine = "postgres"
}

# The same for MySQL and Redis, from the provider's `mysql` and `redis` blocks.
resource "dbaas_vault_database_connection" "mysql" {
  name   = "mysql"
  engine = "mysql"
}

resource "dbaas_vault_database_connection" "redis" {
  name   = "redis"
  engine = "redis"
}

# Explicit settings: a dedicated admin role for Vault instead of the provider's own, and
# only the roles listed may use it. On Terraform 1.11+ the password is write-only: it is
# sent to Vault and never stored in plan or state (bump the version to send it again).
resource "dbaas_vault_database_connection" "reporting" {
  name                = "reporting"
  engine              = "postgres"
  connection_url      = "postgresql://{{username}}:{{password}}@pg-cluster-rw.dbaas.svc.cluster.local:5432/postgres?sslmode=require"
  username            = "vault_admin"
  password_wo         = var.vault_admin_password
  password_wo_version = 1
  allowed_roles       = ["reporting-finance-role", "reporting-audit-role"]
}

variable "vault_admin_password" {
  type      = string
  sensitive = true
}
