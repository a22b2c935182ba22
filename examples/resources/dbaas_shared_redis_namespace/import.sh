# A namespace is imported by its ACL user name. Redis never reveals a password, so the
# first apply after the import sets one (the configured or write-only one, or a new one).
terraform import dbaas_shared_redis_namespace.shop shop
