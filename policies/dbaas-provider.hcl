# Vault policy for the token terraform-provider-dbaas runs with when it manages tenants:
# database connections, rotation roles, ephemeral credentials, admin passwords in KV v2,
# lease revocation on destroy. Written for the database secrets engine at `database/`
# and KV v2 at `secret/`; replace those prefixes if yours differ (`vault.mount`, a
# resource's `mount`, `password_vault_path`).

# dbaas_vault_database_connection writes, reads (refresh, import) and deletes
# `<mount>/config/<name>`; rotation roles and ephemeral credentials read it to learn
# the connection's engine.
path "database/config/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# dbaas_vault_database_connection with `dedicated_admin` (issue 22): Vault rotates the
# dedicated admin login's password right after the connection is written.
path "database/rotate-root/*" {
  capabilities = ["update"]
}

# dbaas_vault_rotation_role, mode = "dynamic": writes, reads and deletes the role.
path "database/roles/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# dbaas_vault_rotation_role, mode = "static"; import reads both kinds to tell them apart.
path "database/static-roles/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# ephemeral "dbaas_database_credentials": reads the credentials of a role.
path "database/creds/*" {
  capabilities = ["read"]
}
path "database/static-creds/*" {
  capabilities = ["read"]
}

# ephemeral "dbaas_database_credentials": renews its lease while the run lasts and
# revokes it when the run ends (only leases of this engine's credentials).
path "sys/leases/renew/database/creds/*" {
  capabilities = ["update"]
}
path "sys/leases/revoke/database/creds/*" {
  capabilities = ["update"]
}

# Destroying a dynamic rotation role first revokes every outstanding lease of it, so its
# logins leave the database with it. Vault requires `sudo` for revoke-prefix.
path "sys/leases/revoke-prefix/database/creds/*" {
  capabilities = ["update", "sudo"]
}

# `password_vault_path` of the provider's postgres, pgbouncer, mysql and redis blocks:
# the admin passwords, read on first use. List exactly the paths you configure.
path "secret/data/postgres/root" {
  capabilities = ["read"]
}
path "secret/data/pgbouncer/admin" {
  capabilities = ["read"]
}
path "secret/data/mysql/root" {
  capabilities = ["read"]
}
path "secret/data/redis/admin" {
  capabilities = ["read"]
}

# On a permission error the provider asks which capability the token lacks, to name it
# in the error. (Also in Vault's `default` policy; listed for tokens made without it.)
path "sys/capabilities-self" {
  capabilities = ["update"]
}

# A token obtained with an auth_login_* block is renewed while the run lasts and revoked
# when the provider exits. (Also in `default`.)
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/revoke-self" {
  capabilities = ["update"]
}
