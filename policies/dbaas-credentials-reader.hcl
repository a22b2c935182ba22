# Vault policy for stacks that only read ephemeral credentials
# (`ephemeral "dbaas_database_credentials"`) of rotation roles another stack manages:
# no connection, role or KV access. Written for the database secrets engine at
# `database/`; narrow `*` to the tenant's role names where you can.

# Open reads the role (dynamic or static) to find its connection and tenant database,
# and the connection to learn the engine. No secrets: Vault never returns passwords here.
path "database/roles/*" {
  capabilities = ["read"]
}
path "database/static-roles/*" {
  capabilities = ["read"]
}
path "database/config/*" {
  capabilities = ["read"]
}

# The credentials themselves.
path "database/creds/*" {
  capabilities = ["read"]
}
path "database/static-creds/*" {
  capabilities = ["read"]
}

# Renew the lease while the run lasts, revoke it when the run ends.
path "sys/leases/renew/database/creds/*" {
  capabilities = ["update"]
}
path "sys/leases/revoke/database/creds/*" {
  capabilities = ["update"]
}

# Name the missing capability in permission errors; renew and revoke a login's token.
# (All three are in Vault's `default` policy too.)
path "sys/capabilities-self" {
  capabilities = ["update"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/revoke-self" {
  capabilities = ["update"]
}
