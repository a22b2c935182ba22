# The dbaas demo: `make demo` applies this against the dev stack (scripts/dev-stack) with
# this checkout's debug build. scripts/demo passes every connection setting as TF_VAR_*
# from `scripts/dev-stack env`; a variable left empty becomes null, so the provider falls
# back to its own default or environment variable (PGHOST, VAULT_ADDR, ...).

terraform {
  required_providers {
    dbaas = {
      source = "infra/dbaas"
    }
  }
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

# --- tenant resources (to be added here) -------------------------------------------------
# When the tenant resources land, this is where the demo creates one app's stack:
#   dbaas_shared_postgres_database   "demo_app", with deletion_protection = false so that
#                                    `terraform destroy` in .dev/demo cleans up
#   dbaas_shared_redis_namespace     "demo-app"
#   dbaas_vault_database_connection  "postgres" (engine postgres, the provider's admin settings)
#   dbaas_vault_rotation_role        "postgres-demo-app" for demo_app
# and outputs what the app is handed: host and port, Redis key prefix, Vault creds path.

# --- outputs ------------------------------------------------------------------------------

output "endpoints" {
  description = "Everything data.dbaas_endpoints read from the provider configuration."
  value       = data.dbaas_endpoints.this
}

output "postgres_for_apps" {
  description = "Where apps connect for PostgreSQL: PgBouncer, never the primary."
  value       = "${data.dbaas_endpoints.this.postgres_host}:${data.dbaas_endpoints.this.postgres_port}"
}

output "postgres_admin_host" {
  description = "The primary, for administration only."
  value       = data.dbaas_endpoints.this.postgres_admin_host
}
