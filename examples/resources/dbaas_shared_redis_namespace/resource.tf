# The server and its admin login are the provider's `redis` block (see the provider's
# example).

# A tenant namespace on the shared Redis: the ACL user "shop" may touch only keys
# starting with "shop:" and channels "shop:*", may run everything but administrative
# and cross-tenant commands, and logs in with a generated password.
resource "dbaas_shared_redis_namespace" "shop" {
  name = "shop"
}

output "shop_redis" {
  value = {
    host     = dbaas_shared_redis_namespace.shop.host
    port     = dbaas_shared_redis_namespace.shop.port
    username = dbaas_shared_redis_namespace.shop.name
    password = dbaas_shared_redis_namespace.shop.password
  }
  sensitive = true
}

# A cache that only reads and writes strings and hashes under "cache/sessions:", with its
# keys deleted when the namespace is destroyed. On Terraform 1.11+ the password is
# write-only: sent to Redis, never stored in plan or state (bump the version to send a
# new one).
resource "dbaas_shared_redis_namespace" "sessions" {
  name                   = "sessions"
  key_prefix             = "cache/sessions:"
  commands               = ["+@connection", "+@string", "+@hash", "+@keyspace", "-@dangerous"]
  channels               = []
  password_wo            = var.sessions_redis_password
  password_wo_version    = 1
  delete_keys_on_destroy = true
}

variable "sessions_redis_password" {
  type      = string
  sensitive = true
}
