import {
  to = dbaas_shared_postgres_access.reporting_reads_shop
  id = "shop/reporting_readonly"
}
