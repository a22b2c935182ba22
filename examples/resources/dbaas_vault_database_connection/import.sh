# A connection is imported by `<mount>/<name>`: here `database/config/postgres`.
terraform import dbaas_vault_database_connection.postgres database/postgres
