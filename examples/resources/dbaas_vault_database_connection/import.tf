import {
  to = dbaas_vault_database_connection.postgres
  id = "database/postgres"
}
