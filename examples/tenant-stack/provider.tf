# The platform's provider settings, the same in every tenant stack (often copied from a
# shared module). Passwords come from Vault KV v2 and the token from VAULT_TOKEN, so this
# file holds no secret. Only the backends a plan touches are dialled.
provider "dbaas" {
  postgres {
    host                = "pg-cluster-rw.dbaas.svc.cluster.local"
    username            = "postgres"
    password_vault_path = "secret/data/postgres/root"
    sslmode             = "require"
  }

  pgbouncer {
    host                = "pgbouncer.dbaas.svc.cluster.local"
    admin_username      = "pgbouncer_admin"
    password_vault_path = "secret/data/pgbouncer/admin"
    admin_hosts = [
      "pgbouncer-0.pgbouncer-headless.dbaas.svc.cluster.local:6432",
      "pgbouncer-1.pgbouncer-headless.dbaas.svc.cluster.local:6432",
      "pgbouncer-2.pgbouncer-headless.dbaas.svc.cluster.local:6432",
    ]
  }

  vault {
    address = "https://vault.vault.svc.cluster.local:8200"
  }
}
