import {
  to = dbaas_shared_redis_namespace.shop
  id = "shop"
}
