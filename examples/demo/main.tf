# The dbaas demo: one app's tenant on the shared platform. `make demo` applies this against
# the dev stack (scripts/dev-stack) with this checkout's debug build, then scripts/demo
# does what the app does: reads a login from Vault, connects through PgBouncer, creates a
# table. scripts/demo passes every connection setting as TF_VAR_* from
# `scripts/dev-stack env`; a variable left empty becomes null, so the provider falls back
# to its own default or environment variable (PGHOST, VAULT_ADDR, ...).

terraform {
  required_providers {
    dbaas = {
      source = "infra/dbaas"
    }
  }
}

variable "app" {
  type        = string
  default     = "demo_app"
  description = "The app's name: its database, Redis namespace and Vault role are named after it."
}

# --- connection settings (all empty by default) -------------------------------------------

variable "postgres_host" {
  type        = string
  default     = ""
  description = "PostgreSQL primary host (admin only)."
}

variable "postgres_port" {
  type        = string
  default     = ""
  description = "PostgreSQL primary port."
}

variable "postgres_username" {
  type        = string
  default     = ""
  description = "PostgreSQL admin role."
}

variable "postgres_password" {
  type        = string
  default     = ""
  sensitive   = true
  description = "PostgreSQL admin password."
}

variable "postgres_database" {
  type        = string
  default     = ""
  description = "PostgreSQL maintenance database."
}

variable "postgres_sslmode" {
  type        = string
  default     = ""
  description = "libpq sslmode for the admin connection."
}

variable "pgbouncer_host" {
  type        = string
  default     = ""
  description = "PgBouncer host apps connect to."
}

variable "pgbouncer_port" {
  type        = string
  default     = ""
  description = "PgBouncer port apps connect to."
}

variable "pgbouncer_admin_hosts" {
  type        = string
  default     = ""
  description = "Comma-separated host:port of every PgBouncer replica's admin console."
}

variable "pgbouncer_admin_username" {
  type        = string
  default     = ""
  description = "PgBouncer admin user."
}

variable "pgbouncer_admin_password" {
  type        = string
  default     = ""
  sensitive   = true
  description = "PgBouncer admin password."
}

variable "pgbouncer_auth_user" {
  type        = string
  default     = ""
  description = "PgBouncer's auth_user."
}

variable "mysql_host" {
  type        = string
  default     = ""
  description = "MySQL (here MariaDB) host."
}

variable "mysql_port" {
  type        = string
  default     = ""
  description = "MySQL port."
}

variable "mysql_username" {
  type        = string
  default     = ""
  description = "MySQL admin user."
}

variable "mysql_password" {
  type        = string
  default     = ""
  sensitive   = true
  description = "MySQL admin password."
}

variable "redis_host" {
  type        = string
  default     = ""
  description = "Redis host."
}

variable "redis_port" {
  type        = string
  default     = ""
  description = "Redis port."
}

variable "redis_password" {
  type        = string
  default     = ""
  sensitive   = true
  description = "Redis admin password."
}

variable "vault_address" {
  type        = string
  default     = ""
  description = "Vault (OpenBao) address."
}

variable "vault_token" {
  type        = string
  default     = ""
  sensitive   = true
  description = "Vault token."
}

# --- provider -----------------------------------------------------------------------------

provider "dbaas" {
  postgres {
    host     = var.postgres_host != "" ? var.postgres_host : null
    port     = var.postgres_port != "" ? var.postgres_port : null
    username = var.postgres_username != "" ? var.postgres_username : null
    password = var.postgres_password != "" ? var.postgres_password : null
    database = var.postgres_database != "" ? var.postgres_database : null
    sslmode  = var.postgres_sslmode != "" ? var.postgres_sslmode : null
  }

  pgbouncer {
    host           = var.pgbouncer_host != "" ? var.pgbouncer_host : null
    port           = var.pgbouncer_port != "" ? var.pgbouncer_port : null
    admin_hosts    = var.pgbouncer_admin_hosts != "" ? split(",", var.pgbouncer_admin_hosts) : null
    admin_username = var.pgbouncer_admin_username != "" ? var.pgbouncer_admin_username : null
    admin_password = var.pgbouncer_admin_password != "" ? var.pgbouncer_admin_password : null
    auth_user      = var.pgbouncer_auth_user != "" ? var.pgbouncer_auth_user : null
  }

  mysql {
    host     = var.mysql_host != "" ? var.mysql_host : null
    port     = var.mysql_port != "" ? var.mysql_port : null
    username = var.mysql_username != "" ? var.mysql_username : null
    password = var.mysql_password != "" ? var.mysql_password : null
  }

  redis {
    host     = var.redis_host != "" ? var.redis_host : null
    port     = var.redis_port != "" ? var.redis_port : null
    password = var.redis_password != "" ? var.redis_password : null
  }

  vault {
    address = var.vault_address != "" ? var.vault_address : null
    token   = var.vault_token != "" ? var.vault_token : null
  }
}

# --- what the platform offers -------------------------------------------------------------

data "dbaas_endpoints" "this" {}

locals {
  # Redis ACL users and Vault names read better with dashes.
  slug = replace(var.app, "_", "-")
}

# --- the platform's piece, made once and shared by every tenant ---------------------------

# Vault's database secrets engine connected to the shared PostgreSQL with the provider's
# admin settings; allowed_roles defaults to ["<name>-*"].
resource "dbaas_vault_database_connection" "postgres" {
  name   = "${local.slug}-postgres"
  engine = "postgres"
}

# --- one app's tenant ---------------------------------------------------------------------

# Its database, owned by the NOLOGIN role <app>_owner, closed to every other tenant.
# deletion_protection = false so that `make demo DESTROY=1` can remove it.
resource "dbaas_shared_postgres_database" "app" {
  name                = var.app
  deletion_protection = false
}

# Its Redis namespace: the ACL user <slug> may touch only keys under "<slug>:".
resource "dbaas_shared_redis_namespace" "app" {
  name = local.slug
}

# Its rotating logins: every read of database/creds/<role> makes a login that runs as
# <app>_owner and can reach only <app>, through PgBouncer.
resource "dbaas_vault_rotation_role" "app" {
  name       = "${dbaas_vault_database_connection.postgres.name}-app"
  connection = dbaas_vault_database_connection.postgres.name
  database   = dbaas_shared_postgres_database.app.name
}

# A neighbour: another tenant's database, to show that the app's logins cannot reach it.
resource "dbaas_shared_postgres_database" "neighbour" {
  name                = "${var.app}_neighbour"
  deletion_protection = false
}

# --- outputs: what the app is handed ------------------------------------------------------

output "postgres" {
  description = "Where the app connects: PgBouncer, into its own database."
  value = {
    host     = dbaas_shared_postgres_database.app.host
    port     = dbaas_shared_postgres_database.app.port
    database = dbaas_shared_postgres_database.app.name
    owner    = dbaas_shared_postgres_database.app.owner
  }
}

output "neighbour_database" {
  description = "Another tenant's database."
  value       = dbaas_shared_postgres_database.neighbour.name
}

output "vault_creds_path" {
  description = "Where the app reads its login (Vault HTTP API: GET /v1/<path>)."
  value       = dbaas_vault_rotation_role.app.creds_path
}

output "vault_policy" {
  description = "The Vault policy that lets the app read vault_creds_path."
  value       = dbaas_vault_rotation_role.app.policy
}

output "redis" {
  description = "The app's Redis namespace (password: terraform output -json redis_password)."
  value = {
    host       = dbaas_shared_redis_namespace.app.host
    port       = dbaas_shared_redis_namespace.app.port
    username   = dbaas_shared_redis_namespace.app.name
    key_prefix = dbaas_shared_redis_namespace.app.key_prefix
  }
}

output "redis_password" {
  value     = dbaas_shared_redis_namespace.app.password
  sensitive = true
}

output "postgres_admin_host" {
  description = "The primary, for administration only."
  value       = data.dbaas_endpoints.this.postgres_admin_host
}
