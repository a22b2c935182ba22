terraform {
  required_providers {
    dbaas = {
      source = "infra/dbaas"
    }
  }
}

# Endpoints are read from the provider configuration: nothing is dialled.
provider "dbaas" {
  postgres {
    host = "pg-cluster-rw.dbaas.svc.cluster.local"
  }
  pgbouncer {
    host = "pgbouncer.dbaas.svc.cluster.local"
  }
  mysql {
    host     = "mysql.dbaas.svc.cluster.local"
    username = "root"
  }
  redis {
    host = "redis.redis.svc.cluster.local"
  }
}

# The hosts and ports apps use, from the provider configuration: no more hand-kept
# shared variables pointing at a legacy host or straight at the primary.
data "dbaas_endpoints" "this" {}

# Hand these to the app, for example in a Kubernetes ConfigMap. `postgres_host` and
# `postgres_port` are PgBouncer's: apps never connect to the primary directly.
output "app_endpoints" {
  value = {
    postgres = "${data.dbaas_endpoints.this.postgres_host}:${data.dbaas_endpoints.this.postgres_port}"
    mysql    = "${data.dbaas_endpoints.this.mysql_host}:${data.dbaas_endpoints.this.mysql_port}"
    redis    = "${data.dbaas_endpoints.this.redis_host}:${data.dbaas_endpoints.this.redis_port}"
  }
}
