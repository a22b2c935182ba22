//! Compiles the protocol definitions with protox (pure Rust), so a build needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    for file in ["tfplugin6.proto", "plugin.proto"] {
        println!("cargo:rerun-if-changed={}", dir.join(file).display());
    }
    let descriptors = protox::compile(["tfplugin6.proto", "plugin.proto"], [&dir])?;
    tonic_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
