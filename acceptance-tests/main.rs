//! Acceptance tests: real `terraform` (v1.0.3 always, the newer one when present)
//! driving the provider binary against the dev stack's real services.
//! Run through `make test` (which starts the stack) or, with the stack up,
//! `eval "$(scripts/dev-stack env)" && cargo test --test acceptance`.

mod fixture;
mod harness;

mod budget;
mod catalog_reads;
mod checks;
mod demo;
mod ephemeral;
mod error_texts;
mod foundation;
mod guardrails;
mod guides;
mod hostile_config;
mod hostile_destroy;
mod hostile_mysql;
mod hostile_redis;
mod hostile_tenant;
mod import_ids;
mod interrupt;
mod known_at_plan;
mod lookups;
mod mysql;
mod pg_env;
mod plan_protection;
mod postgres;
mod postgres_safety;
mod provider_config;
mod redis;
mod release;
mod secrets;
mod sets;
mod shared_access;
mod static_roles;
mod timeouts;
mod tls;
mod tls_login;
mod upgrade;
mod vault;
mod vault_admin;
mod vault_auth;
mod vault_scale;
mod vmsafe;
