terraform {
  required_providers {
    dbaas = {
      source = "infra/dbaas"
    }
  }
}
