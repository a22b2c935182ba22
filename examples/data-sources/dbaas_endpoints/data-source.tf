# The hosts and ports apps use, read from the provider's configuration (nothing is
# dialled): no more hand-kept shared variables pointing at a legacy host or straight at
# the primary.
data "dbaas_endpoints" "this" {}

# Hand these to the app, for example in a Kubernetes ConfigMap. `postgres_host` and
# `postgres_port` are PgBouncer's when the provider has a `pgbouncer` block (apps never
# connect to the primary directly), else the primary's: the same rule the databases'
# `host` and `port` follow.
output "app_endpoints" {
  value = {
    postgres = "${data.dbaas_endpoints.this.postgres_host}:${data.dbaas_endpoints.this.postgres_port}"
    mysql    = "${data.dbaas_endpoints.this.mysql_host}:${data.dbaas_endpoints.this.mysql_port}"
    redis    = "${data.dbaas_endpoints.this.redis_host}:${data.dbaas_endpoints.this.redis_port}"
  }
}

# The TLS settings apps need, and the read-only endpoint for `readonly` logins (the
# replica pooler, else CloudNativePG's `-ro` service; null when neither is configured):
# libpq's sslmode and sslrootcert, the Redis URL scheme.
output "app_tls" {
  value = {
    postgres_ro      = data.dbaas_endpoints.this.postgres_ro_host == null ? null : "${data.dbaas_endpoints.this.postgres_ro_host}:${data.dbaas_endpoints.this.postgres_ro_port}"
    postgres_sslmode = data.dbaas_endpoints.this.postgres_sslmode
    postgres_ca      = data.dbaas_endpoints.this.postgres_ca_bundle_path
    mysql_tls        = data.dbaas_endpoints.this.mysql_tls
    redis_scheme     = data.dbaas_endpoints.this.redis_tls == "disabled" ? "redis" : "rediss"
  }
}
