//! terraform-provider-dbaas: Terraform starts this binary; it logs to stderr in
//! Terraform's format and serves the dbaas provider over the plugin protocol.

fn main() -> std::process::ExitCode {
    // First, while the process has one thread: see `libpq_env`.
    terraform_provider_dbaas::libpq_env::take();
    tfplugin::logging::init("provider.terraform-provider-dbaas");
    tfplugin::serve(
        terraform_provider_dbaas::provider::DbaasProvider,
        tfplugin::server::ServeOptions {
            address: terraform_provider_dbaas::ADDRESS,
            name: "terraform-provider-dbaas",
            version: env!("CARGO_PKG_VERSION"),
        },
    )
}
