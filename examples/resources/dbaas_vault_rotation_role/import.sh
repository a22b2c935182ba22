# A role is imported by `<mount>/<name>`; dynamic (`roles/`) or static (`static-roles/`)
# is found in Vault.
terraform import dbaas_vault_rotation_role.shop database/postgres-shop-role
