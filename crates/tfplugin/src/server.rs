//! The entry point: [`serve`] runs a [`Provider`] as a Terraform plugin process.
//! The RPC service is in `service.rs`, planning in [`crate::plan`], protocol
//! conversions in `convert.rs`, the go-plugin handshake in [`crate::handshake`].

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

pub use crate::plan::plan_attributes;
use crate::service::ProviderService;
use crate::Provider;

/// How the binary identifies itself; used for `--version` and debug (reattach) mode.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Full provider address, e.g. `registry.terraform.io/infra/dbaas`.
    pub address: &'static str,
    /// Binary name, e.g. `terraform-provider-dbaas`.
    pub name: &'static str,
    /// Provider version.
    pub version: &'static str,
}

/// Runs the plugin: handshake, serve until Terraform's Shutdown, and returns the exit
/// code for `main` to return. `--version` prints the version; `--debug` serves without
/// the handshake and prints a `TF_REATTACH_PROVIDERS` value for attaching Terraform.
pub fn serve<P: Provider>(provider: P, opts: ServeOptions) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "--version" || a == "-v" || a == "version")
    {
        println!("{} {}", opts.name, opts.version);
        return ExitCode::SUCCESS;
    }
    let debug = args.iter().any(|a| a == "--debug" || a == "-debug");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: cannot start the async runtime: {e}", opts.name);
            return ExitCode::FAILURE;
        }
    };
    // The service is built after the handshake line (see `handshake::run`); the shutdown
    // hook finds it here.
    let service: Arc<OnceLock<Arc<ProviderService<P>>>> = Arc::default();
    let built = service.clone();
    let code = runtime.block_on(crate::handshake::run(
        move || {
            let s = Arc::new(ProviderService::new(provider));
            let _ = built.set(s.clone());
            tonic::service::Routes::new(ProviderService::server_from_arc(s))
        },
        move || {
            Box::pin(async move {
                if let Some(s) = service.get() {
                    s.shutdown().await;
                }
            })
        },
        opts,
        debug,
    ));
    // Exit now: the connections and tasks left in the runtime have nothing more to do,
    // and dropping them would only delay the exit Terraform is waiting for.
    std::mem::forget(runtime);
    code
}
