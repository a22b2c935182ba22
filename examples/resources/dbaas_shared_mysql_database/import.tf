import {
  to = dbaas_shared_mysql_database.shop
  id = "shop"
}
