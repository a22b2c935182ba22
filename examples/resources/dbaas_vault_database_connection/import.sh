# A connection is imported by `<mount>/<name>`, or by its Vault API path as the
# hashicorp/vault provider writes it: `<mount>/config/<name>`. The segment before the name
# decides: a mount whose last segment is `config` is written as a path
# (`team/config/config/postgres`); ids naming `roles/`, `static-roles/`, `creds/` or
# `static-creds/` are refused.
terraform import dbaas_vault_database_connection.postgres database/postgres
terraform import dbaas_vault_database_connection.postgres database/config/postgres
