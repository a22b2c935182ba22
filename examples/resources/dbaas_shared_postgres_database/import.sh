# A database is imported by its name. The owner role is read from PostgreSQL; set `owner`
# in the configuration when it is not `<name>_owner`.
terraform import dbaas_shared_postgres_database.shop shop
