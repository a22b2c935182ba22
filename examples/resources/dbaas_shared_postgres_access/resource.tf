# The reporting stack reads the shop's data: reporting's read-only group joins
# shop_readonly, so every login of reporting_readonly (Vault-issued or static) can
# SELECT the shop owner's tables, through PgBouncer, and nothing else of the shop.
# The shop keeps its reporting views in a schema of their own: `schemas` makes it (owned
# by shop_owner, with public's default privileges for shop_readwrite and shop_readonly),
# so the grant below covers it too.
resource "dbaas_shared_postgres_database" "shop" {
  name    = "shop"
  schemas = ["reporting_views"]
}

resource "dbaas_shared_postgres_database" "reporting" {
  name = "reporting"
}

resource "dbaas_shared_postgres_access" "reporting_reads_shop" {
  database = dbaas_shared_postgres_database.shop.name
  grantee  = "${dbaas_shared_postgres_database.reporting.name}_readonly"
}

# A CDC job that also writes its bookmarks back into the shop's tables.
resource "dbaas_shared_postgres_database" "cdc" {
  name = "cdc"
}

resource "dbaas_shared_postgres_access" "cdc_writes_shop" {
  database = dbaas_shared_postgres_database.shop.name
  grantee  = "${dbaas_shared_postgres_database.cdc.name}_readwrite"
  access   = "readwrite"
}
