# A database is imported by its name.
terraform import dbaas_shared_mysql_database.shop shop
