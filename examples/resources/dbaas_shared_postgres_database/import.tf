import {
  to = dbaas_shared_postgres_database.shop
  id = "shop"
}
