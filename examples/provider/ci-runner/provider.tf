# A CI runner outside the cluster: it logs in to Vault with the pipeline's OIDC ID token
# The pipeline exports:
#   VAULT_ADDR               = "https://vault.example.com:8200"
#   VAULT_CACERT             = path of the platform's private CA certificate
#   PGSSLROOTCERT            = the same CA, for PostgreSQL (read as libpq does)
#   TERRAFORM_VAULT_AUTH_JWT = the job's OIDC ID token (e.g. GitLab `id_tokens`,
#                              GitHub Actions `ACTIONS_ID_TOKEN_REQUEST_*`)
# and no VAULT_TOKEN: a token there (or in `token`) would be used instead of the login.
provider "dbaas" {
  postgres {
    host                = "pg.dbaas.example.com"
    password_vault_path = "secret/data/postgres/root"
    sslmode             = "verify-full"
    # sslrootcert from PGSSLROOTCERT
  }

  vault {
    # address from VAULT_ADDR
    auth_login_jwt {
      mount = "jwt-ci"
      role  = "dbaas-provider"
      # jwt from TERRAFORM_VAULT_AUTH_JWT
    }
  }
}
