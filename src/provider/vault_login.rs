//! The Vault block's login: its `auth_login_*` block (at most one), else the token file
//! `vault login` writes.

use tfplugin::{Diagnostics, Known, Value};

use super::files;
use super::model::{AppRoleBlock, JwtBlock, KubernetesBlock};
use super::settings::{auth_blocks_set, Check};
use crate::backends::settings::{Secret, VaultLogin};
use crate::domain::defaults;

/// The login method of the `vault` block (value `raw`), read from its first
/// `auth_login_*` block, if any; `used` (no token configured) checks now that the files
/// it will read are readable.
pub fn login(
    approle: Known<AppRoleBlock>,
    jwt: Known<JwtBlock>,
    kubernetes: Known<KubernetesBlock>,
    raw: &Value,
    c: &Check<'_>,
    diags: &mut Diagnostics,
    used: bool,
) -> Option<VaultLogin> {
    let name = *auth_blocks_set(raw, &c.path, diags).first()?;
    let b = c.nested(name);
    let mount = |m: Known<String>| {
        m.into_option()
            .unwrap_or_else(|| name.trim_start_matches("auth_login_").to_string())
            .trim_matches('/')
            .to_string()
    };
    match name {
        "auth_login_approle" => {
            let a = approle.into_option()?;
            Some(VaultLogin::AppRole {
                mount: mount(a.mount),
                role_id: b.required(diags, "role_id", a.role_id),
                secret_id: a.secret_id.into_option(),
            })
        }
        "auth_login_jwt" => {
            let j = jwt.into_option()?;
            Some(VaultLogin::Jwt {
                mount: mount(j.mount),
                role: b.required(diags, "role", j.role),
                jwt: b.required(diags, "jwt", j.jwt),
            })
        }
        _ => {
            let k = kubernetes.into_option()?;
            let role = b.required(diags, "role", k.role);
            let jwt_file = k
                .jwt_file
                .into_option()
                .unwrap_or_else(|| defaults::KUBERNETES_JWT_FILE.to_string());
            // Read now only to report a missing or unreadable file on the attribute at
            // plan time; the login reads it again (projected tokens rotate).
            if let (true, Err(e)) = (used, files::check_readable(&jwt_file)) {
                diags.error_at(
                    b.at("jwt_file"),
                    "Cannot read the Kubernetes service-account token",
                    format!("{jwt_file}: {e}. Outside a pod, set `jwt_file` or use another auth method."),
                );
            }
            Some(VaultLogin::Kubernetes {
                mount: mount(k.mount),
                role,
                jwt_file,
            })
        }
    }
}

/// The token in `$HOME/.vault-token` (what `vault login` writes), when neither `token`,
/// `VAULT_TOKEN` nor a login block gives one. An absent file is no token; an unreadable
/// one is an error naming it.
pub fn token_file(c: &Check<'_>, diags: &mut Diagnostics) -> Secret {
    let Some(home) = (c.env)("HOME") else {
        return Secret::None;
    };
    let path = std::path::Path::new(&home).join(defaults::VAULT_TOKEN_FILE);
    match files::read_token_file(&path) {
        Ok(Some(token)) => Secret::Plain(token),
        Ok(None) => Secret::None,
        Err(e) => {
            diags.error_at(
                c.path.clone(),
                "Cannot read the Vault token file",
                format!(
                    "{}: {e}. Fix its permissions, remove it, or set vault.token / VAULT_TOKEN.",
                    path.display()
                ),
            );
            Secret::None
        }
    }
}
