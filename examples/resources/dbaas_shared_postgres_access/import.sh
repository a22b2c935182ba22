# A grant is imported by `<database>/<grantee>`; the access (readonly or readwrite) is
# read from PostgreSQL.
terraform import dbaas_shared_postgres_access.reporting_reads_shop shop/reporting_readonly
