//! Test support (cargo feature `testing`): a Terraform-like plugin client and a small
//! example provider, so the crate's tests and benchmarks need no real provider.
//!
//! - [`client`]: starts a provider binary the way Terraform does (magic cookie,
//!   protocol versions, a P-521 client certificate), parses the handshake line, and
//!   speaks gRPC over the unix socket with the server certificate pinned.
//! - [`example`]: [`example::ExampleProvider`], one resource, one data source and one
//!   ephemeral resource without any backend; `examples/example_provider.rs` serves it.

pub mod client;
pub mod example;
