# An in-cluster platform: Terraform runs in a pod and logs in to Vault with its service account
terraform {
  required_providers {
    dbaas = {
      source = "infra/dbaas"
    }
  }
}

# Vault's certificate comes from the cluster's private CA: point VAULT_CACERT at it, e.g. the
# service-account CA bundle (/var/run/secrets/kubernetes.io/serviceaccount/ca.crt) or a
# mounted ConfigMap. Admin passwords come from Vault KV v2, so no secret is in this file.
provider "dbaas" {
  postgres {
    host                = "pg-cluster-rw.dbaas.svc.cluster.local"
    password_vault_path = "secret/data/postgres/root"
    sslmode             = "verify-full"
  }

  pgbouncer {
    host                = "pgbouncer.dbaas.svc.cluster.local"
    admin_username      = "pgbouncer_admin"
    password_vault_path = "secret/data/pgbouncer/admin"
  }

  vault {
    address = "https://vault.vault.svc.cluster.local:8200"

    # The pod's service-account token (read at login; projected tokens rotate) is
    # exchanged for a Vault token with the policies of role `dbaas-provider` (see the
    # guide vault-policy). The token is renewed while the run lasts, revoked at exit.
    auth_login_kubernetes {
      role = "dbaas-provider"
      # mount    = "kubernetes"
      # jwt_file = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    }
  }
}
