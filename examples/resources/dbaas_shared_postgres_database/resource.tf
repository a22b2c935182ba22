terraform {
  required_providers {
    dbaas = {
      source = "infra/dbaas"
    }
  }
}

# Admin credentials from PGUSER and PGPASSWORD (or password_vault_path); see the provider page.
provider "dbaas" {
  postgres {
    host = "pg-cluster-rw.dbaas.svc.cluster.local"
  }
  pgbouncer {
    host = "pgbouncer.dbaas.svc.cluster.local"
  }
}

# A tenant database: owned by the NOLOGIN role shop_owner, with the group roles
# shop_readwrite and shop_readonly, closed to every other tenant, and PgBouncer's auth
# function installed so logins work through PgBouncer. Destroy is refused until
# deletion_protection is set to false and applied.
resource "dbaas_shared_postgres_database" "shop" {
  name = "shop"
}

# A scratch database for a preview environment: extensions installed (into the schema
# "extensions"), at most 20 connections, and removable by terraform destroy.
resource "dbaas_shared_postgres_database" "shop_preview" {
  name                = "shop_preview"
  extensions          = ["pgcrypto", "citext"]
  connection_limit    = 20
  deletion_protection = false
}

# Where the app connects: PgBouncer, never the primary.
output "shop_postgres" {
  value = {
    host     = dbaas_shared_postgres_database.shop.host
    port     = dbaas_shared_postgres_database.shop.port
    database = dbaas_shared_postgres_database.shop.name
  }
}
