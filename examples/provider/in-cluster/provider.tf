# An in-cluster platform: Terraform runs in a pod and logs in to Vault with its service account
# Every service's certificate comes from the platform's private CA, mounted into the pod
# from a ConfigMap at /etc/platform-ca/ca.crt. Admin passwords come from Vault KV v2, so no
# secret is in this file.
provider "dbaas" {
  postgres {
    host                = "pg-cluster-rw.dbaas.svc.cluster.local"
    password_vault_path = "secret/data/postgres/root"
    sslmode             = "verify-full"
    sslrootcert         = "/etc/platform-ca/ca.crt"
  }

  pgbouncer {
    host                = "pgbouncer.dbaas.svc.cluster.local"
    admin_username      = "pgbouncer_admin"
    password_vault_path = "secret/data/pgbouncer/admin"
    admin_sslmode       = "verify-full"
    admin_sslrootcert   = "/etc/platform-ca/ca.crt"
    # Every replica's admin console: destroy pauses and ends a database's pooled
    # connections on each (guides/platform-prerequisites).
    admin_hosts = [
      "pgbouncer-0.pgbouncer-headless.dbaas.svc.cluster.local:6432",
      "pgbouncer-1.pgbouncer-headless.dbaas.svc.cluster.local:6432",
      "pgbouncer-2.pgbouncer-headless.dbaas.svc.cluster.local:6432",
    ]
  }

  mysql {
    host                = "mysql-cluster.dbaas.svc.cluster.local"
    username            = "root"
    password_vault_path = "secret/data/mysql/root"
    tls                 = "verify_identity"
    ca_cert_file        = "/etc/platform-ca/ca.crt"
  }

  redis {
    host                = "redis.dbaas.svc.cluster.local"
    password_vault_path = "secret/data/redis/admin"
    tls                 = "verify_identity"
    ca_cert_file        = "/etc/platform-ca/ca.crt"
  }

  vault {
    address      = "https://vault.vault.svc.cluster.local:8200"
    ca_cert_file = "/etc/platform-ca/ca.crt"

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
