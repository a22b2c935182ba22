# Vault is handed the admin settings of the provider's `postgres`, `mysql` and `redis`
# blocks, and reached through its `vault` block (see the provider's example).

# Vault's database secrets engine connected to the shared PostgreSQL. The URL comes from
# the provider's `postgres` block. Vault does not get the provider's admin: the provider
# makes a login for this connection alone (`dedicated_admin`, the default for a new
# PostgreSQL connection), with no SUPERUSER and no CREATEROLE, able only to call the
# provider's functions that make and drop tenant logins; Vault rotates its password at
# once (`rotate-root`), so no state, plan or person holds it. `allowed_roles` defaults
# to ["postgres-*"], so every rotation role named `postgres-<app>-role` can use it.
resource "dbaas_vault_database_connection" "postgres" {
  name   = "postgres"
  engine = "postgres"

  # Passed through to Vault (each defaults to Vault's own).
  max_open_connections    = 4
  max_idle_connections    = 2
  max_connection_lifetime = 300
}

# The same for MySQL, from the provider's `mysql` block: Vault gets an account of its
# own (`dedicated_admin`, the default for a new MySQL connection) with no CREATE USER, no
# GRANT OPTION and no global privilege, only EXECUTE on the provider's procedures in
# schema `dbaas_vault` that make, re-password and drop tenant logins; Vault rotates its
# password at once through `dbaas_vault.set_own_password`.
resource "dbaas_vault_database_connection" "mysql" {
  name   = "mysql"
  engine = "mysql"
}

# Redis keeps the provider's admin (`dedicated_admin = false`): see the resource page
# for why.
resource "dbaas_vault_database_connection" "redis" {
  name   = "redis"
  engine = "redis"
}

# Explicit settings: an admin role for Vault made elsewhere, and only the roles listed may
# use it (given credentials mean `dedicated_admin = false`). On Terraform 1.11+ the password is write-only: it is
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
