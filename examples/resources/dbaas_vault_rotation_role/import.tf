import {
  to = dbaas_vault_rotation_role.shop
  id = "database/postgres-shop-role"
}
