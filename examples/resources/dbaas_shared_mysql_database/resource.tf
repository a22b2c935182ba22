# The server and its admin login are the provider's `mysql` block (see the provider's
# example); nothing of the server is repeated here.

# A tenant database on the shared MySQL, utf8mb4 with the server's default collation.
# Only accounts granted on it can use it; destroy is refused until deletion_protection
# is set to false and applied.
resource "dbaas_shared_mysql_database" "shop" {
  name = "shop"
}

# Explicit character set and collation; changing either later runs ALTER DATABASE in
# place (new tables get the new defaults, existing tables keep theirs).
resource "dbaas_shared_mysql_database" "legacy_reports" {
  name                = "legacy_reports"
  charset             = "latin1"
  collation           = "latin1_bin"
  deletion_protection = false
}

output "shop_mysql" {
  value = {
    host     = dbaas_shared_mysql_database.shop.host
    port     = dbaas_shared_mysql_database.shop.port
    database = dbaas_shared_mysql_database.shop.name
  }
}
