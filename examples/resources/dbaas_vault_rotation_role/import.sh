# A role is imported by `<mount>/<name>`, or by its Vault API path as the hashicorp/vault
# provider writes it: `<mount>/roles/<name>` (dynamic) or `<mount>/static-roles/<name>`
# (static). With `<mount>/<name>` the mode is the one found in Vault (when both exist,
# write the path of one). The segment before the name decides: a mount whose last segment
# is `roles` or `static-roles` is written as a path (`team/roles/roles/shop`); ids naming
# `config/`, `creds/` or `static-creds/` are refused.
terraform import dbaas_vault_rotation_role.shop database/postgres-shop-role
terraform import dbaas_vault_rotation_role.shop database/roles/postgres-shop-role
