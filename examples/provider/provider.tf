# The whole platform, one block per backend
terraform {
  required_providers {
    dbaas = {
      source = "infra/dbaas"
    }
  }
}

# Admin connections to the shared platform. Every block is optional: configure the
# backends your resources use. Nothing is dialled until a plan touches that backend.
# What each service must allow first (PgBouncer's auth_query, the superuser for the auth
# function, the Vault policy, Redis 7): guides/platform-prerequisites.
provider "dbaas" {
  # The CloudNativePG primary (the `-rw` service), for administration only:
  # apps always connect through PgBouncer.
  postgres {
    host     = "pg-cluster-rw.dbaas.svc.cluster.local"
    port     = 5432
    username = "postgres"
    # Reads key `password` (and `username`, if present) from Vault KV v2 on first use,
    # so the admin password never appears in this configuration.
    password_vault_path = "secret/data/postgres/root"
    sslmode             = "require"
    # Optional: the hot standbys (CloudNativePG's `-ro` service), the read-only endpoint
    # when the `pgbouncer` block sets no `ro_host`. The provider never connects there.
    ro_host = "pg-cluster-ro.dbaas.svc.cluster.local"
    # Optional: sessions one provider process (one Terraform command) holds at most,
    # tenant databases included; work beyond it waits. Default 4.
    max_connections = 4
  }

  pgbouncer {
    # What apps use.
    host = "pgbouncer.dbaas.svc.cluster.local"
    port = 6432
    # The admin console of each of the three PgBouncer replicas: the provider pauses,
    # kills and resumes a database on every one of them.
    admin_username = "pgbouncer_admin"
    admin_password = var.pgbouncer_admin_password
    admin_hosts = [
      "pgbouncer-0.pgbouncer-headless.dbaas.svc.cluster.local:6432",
      "pgbouncer-1.pgbouncer-headless.dbaas.svc.cluster.local:6432",
      "pgbouncer-2.pgbouncer-headless.dbaas.svc.cluster.local:6432",
    ]
    auth_user = "pgbouncer_auth"
    # Optional: the read-only pooler in front of the hot standbys (a CloudNativePG
    # `Pooler` of `type: ro`), which dbaas_endpoints gives as postgres_ro_host for
    # `readonly` logins. Without it, `postgres.ro_host` (the `<cluster>-ro` service) is used.
    ro_host = "pgbouncer-ro.dbaas.svc.cluster.local"
  }

  mysql {
    host                = "mysql.dbaas.svc.cluster.local"
    port                = 3306
    username            = "root"
    password_vault_path = "secret/data/mysql/root"
    tls                 = "required"
  }

  redis {
    host     = "redis.redis.svc.cluster.local"
    port     = 6379
    username = "default"
    password = var.redis_password
  }

  # The token comes from `token`, VAULT_TOKEN, an auth_login_* block (see the other
  # examples) or the file `vault login` writes (~/.vault-token), in that order.
  vault {
    address = "https://vault.vault.svc.cluster.local:8200"
    mount   = "database"
  }
}

variable "pgbouncer_admin_password" {
  type      = string
  sensitive = true
}

variable "redis_password" {
  type      = string
  sensitive = true
}
