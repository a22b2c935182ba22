terraform {
  required_providers {
    dbaas = {
      source = "infra/dbaas"
    }
  }
}

# The admin console of every PgBouncer replica (admin_hosts): the pools are read from
# each one, so a client stuck on one replica shows up.
provider "dbaas" {
  pgbouncer {
    host           = "pgbouncer.dbaas.svc.cluster.local"
    admin_username = "pgbouncer_admin"
    admin_password = var.pgbouncer_admin_password
    admin_hosts = [
      "pgbouncer-0.pgbouncer-headless.dbaas.svc.cluster.local:6432",
      "pgbouncer-1.pgbouncer-headless.dbaas.svc.cluster.local:6432",
      "pgbouncer-2.pgbouncer-headless.dbaas.svc.cluster.local:6432",
    ]
  }
}

variable "pgbouncer_admin_password" {
  type      = string
  sensitive = true
}

# The shop database's pools on every replica.
data "dbaas_pgbouncer_pools" "shop" {
  database = "shop"
}

# Clients waiting for a server connection, per replica: a check before destroying a
# database, or a number for an alert.
output "shop_waiting_clients" {
  value = {
    for p in data.dbaas_pgbouncer_pools.shop.pools : "${p.admin_host} ${p.user}" => p.cl_waiting
  }
}
