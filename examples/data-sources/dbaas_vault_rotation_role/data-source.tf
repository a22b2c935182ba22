# The platform stack made the rotation role; the app stack wires the app to it: the
# Vault path the app reads its credentials from and the policy that allows exactly that.
data "dbaas_vault_rotation_role" "billing_reader" {
  name = "postgres-billing-reader"
}

# For the app's Vault role (e.g. a vault_policy resource of the Vault provider).
output "billing_reader_policy" {
  value = data.dbaas_vault_rotation_role.billing_reader.policy
}

output "billing_reader" {
  value = {
    creds_path = data.dbaas_vault_rotation_role.billing_reader.creds_path
    database   = data.dbaas_vault_rotation_role.billing_reader.database
    access     = data.dbaas_vault_rotation_role.billing_reader.access
    host       = data.dbaas_vault_rotation_role.billing_reader.host
    port       = data.dbaas_vault_rotation_role.billing_reader.port
  }
}
