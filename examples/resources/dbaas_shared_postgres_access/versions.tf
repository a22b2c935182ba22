# Makes this directory a configuration of its own (`terraform init` installs infra/dbaas).
# The provider block is left out: every one of its blocks is optional, and the provider's
# examples (examples/provider/) show how to configure each backend.
terraform {
  required_providers {
    dbaas = {
      source = "infra/dbaas"
    }
  }
}
