//! Serves [`tfplugin::testing::example::ExampleProvider`] as a plugin binary: what the
//! crate's tests (`tests/mtls.rs`) and `plugin_bench` start the way Terraform does.

fn main() -> std::process::ExitCode {
    tfplugin::logging::init("provider.tfplugin-example-provider");
    tfplugin::serve(
        tfplugin::testing::example::ExampleProvider,
        tfplugin::ServeOptions {
            address: "registry.terraform.io/example/example",
            name: "tfplugin-example-provider",
            version: env!("CARGO_PKG_VERSION"),
        },
    )
}
