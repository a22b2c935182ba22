//! What `terraform validate` decides from the provider block alone (issue 21): settings
//! required once their block is present that no environment variable can supply, and
//! the Redis `tls` mode against its certificate files. Pure: the configuration in,
//! diagnostics out. A value not known yet (from something made in the same run) counts
//! as set; configure checks it again once known ([`super::settings`]).

use tfplugin::{AttributePath, Diagnostics, Value};

use crate::enums::RedisTls;

/// A setting required once its block is present, with no environment fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequiredInBlock {
    /// The block's path, e.g. `["vault", "auth_login_jwt"]`.
    pub block: &'static [&'static str],
    /// The attribute.
    pub attr: &'static str,
    /// Another attribute that, when set, may supply it (`password_vault_path`, whose
    /// secret's `username` takes precedence).
    pub unless: Option<&'static str>,
}

const fn required(block: &'static [&'static str], attr: &'static str) -> RequiredInBlock {
    RequiredInBlock {
        block,
        attr,
        unless: None,
    }
}

/// Every setting `terraform validate` requires in a present block. Those with an
/// environment fallback (`postgres.host`/`PGHOST`, `vault.address`/`VAULT_ADDR`,
/// `auth_login_jwt.jwt`) are left to configure; `tests.rs` holds this list to the
/// schema's descriptions.
pub const REQUIRED_IN_BLOCK: &[RequiredInBlock] = &[
    required(&["pgbouncer"], "host"),
    RequiredInBlock {
        block: &["pgbouncer"],
        attr: "admin_username",
        unless: Some("password_vault_path"),
    },
    required(&["mysql"], "host"),
    required(&["mysql"], "username"),
    required(&["redis"], "host"),
    required(&["vault", "auth_login_approle"], "role_id"),
    required(&["vault", "auth_login_jwt"], "role"),
    required(&["vault", "auth_login_kubernetes"], "role"),
];

/// The summary and detail of a missing required setting (`Missing mysql.host`), shared
/// with configure's check so both say the same.
pub fn missing(block: &str, attr: &str, hint: &str) -> (String, String) {
    (
        format!("Missing {block}.{attr}"),
        format!("The {block} block needs `{attr}`: set it{hint}."),
    )
}

/// The provider block's own checks, at validate (and again at configure: Terraform
/// 1.0.3 validates the same configuration).
pub fn validate_config(config: &Value, diags: &mut Diagnostics) {
    for r in REQUIRED_IN_BLOCK {
        let mut path = AttributePath::default();
        let mut block = config;
        for name in r.block {
            block = block.get(name);
            path = path.join(name);
        }
        // Absent, or unknown as a whole: nothing to check now.
        if !matches!(block, Value::Map(_)) {
            continue;
        }
        let supplied = r.unless.is_some_and(|u| !block.get(u).is_null());
        if block.get(r.attr).is_null() && !supplied {
            let name = r.block.join(".");
            let hint = r
                .unless
                .map(|u| format!(", or set `{u}` to a secret holding a `username`"))
                .unwrap_or_default();
            let (summary, detail) = missing(&name, r.attr, &hint);
            diags.error_at(path.join(r.attr), summary, detail);
        }
    }
    let redis = config.get("redis");
    if matches!(redis, Value::Map(_)) {
        redis_tls(redis, &AttributePath::attr("redis"), diags);
    }
}

/// How a configured `redis.tls` value reads: a mode word, or the deprecated boolean form
/// (`tls = true` arrives as `"true"`); `None` for anything else (the schema refuses it).
pub fn redis_tls_word(text: &str) -> Option<(RedisTls, bool)> {
    match text {
        "true" => Some((RedisTls::from_bool(true), true)),
        "false" => Some((RedisTls::from_bool(false), true)),
        word => RedisTls::parse(word).map(|m| (m, false)),
    }
}

/// `redis.tls`: the boolean form is deprecated (a warning naming the word to write), and
/// `disabled` with a certificate file set is a contradiction (the file would be ignored).
fn redis_tls(redis: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    let tls = redis.get("tls");
    let mode = match tls.as_str().and_then(redis_tls_word) {
        Some((mode, deprecated)) => {
            if deprecated {
                let given = tls.as_str().unwrap_or_default();
                diags.warning_at(
                    path.join("tls"),
                    "Deprecated boolean redis.tls",
                    format!("`tls = {given}` still works but is deprecated: write `tls = \"{mode}\"` (the mode words are those of `mysql.tls`)."),
                );
            }
            mode
        }
        // Not known yet, or a word the schema refuses.
        None if !tls.is_null() => return,
        None => crate::domain::defaults::REDIS_TLS,
    };
    if mode.on() {
        return;
    }
    for file in ["ca_cert_file", "client_cert_file", "client_key_file"] {
        if !redis.get(file).is_null() {
            diags.error_at(
                path.join(file),
                format!("redis.{file} without TLS"),
                format!("`{file}` is set but `tls` is `disabled`{}, so the file would be ignored: set `tls = \"verify_identity\"` (or `\"required\"`), or remove `{file}`.", if tls.is_null() { " (the default)" } else { "" }),
            );
        }
    }
}
