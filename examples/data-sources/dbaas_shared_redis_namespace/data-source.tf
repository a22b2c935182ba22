# Another stack owns the namespace; this one only needs its prefix and endpoint. The
# password is never exposed here: a rotation role (or the owning stack) hands it out.
data "dbaas_shared_redis_namespace" "sessions" {
  name = "sessions"
}

output "sessions_redis" {
  value = {
    host       = data.dbaas_shared_redis_namespace.sessions.host
    port       = data.dbaas_shared_redis_namespace.sessions.port
    tls        = data.dbaas_shared_redis_namespace.sessions.tls
    key_prefix = data.dbaas_shared_redis_namespace.sessions.key_prefix
  }
}
