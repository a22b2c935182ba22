//! The Vault token when no token is configured: an `auth_login_*` login on first use
//! (once per process, however many requests race to be first), renewed in the background
//! at two thirds of its TTL (a new login when renewal fails or reaches the token's maximum
//! TTL), revoked at shutdown. Also the permission errors that name the missing capability.

use std::time::Duration;

use serde_json::json;

use super::{vault_errors, LoginToken, VaultClient};
use crate::backends::settings::VaultLogin;
use crate::backends::BackendError;

impl VaultClient {
    /// This client, logging in with `login` on first use instead of a configured token.
    pub fn with_login(mut self, login: VaultLogin) -> Self {
        self.auth = std::sync::Arc::new(super::Auth::new("", Some(login)));
        self
    }

    /// The token for the next request: the configured one, else the login's (logging in
    /// on the first call of the process).
    pub(super) async fn token(&self) -> Result<String, BackendError> {
        let Some(login) = &self.auth.login else {
            if self.auth.configured.is_empty() {
                return Err(BackendError::Vault {
                    address: self.address.clone(),
                    message: "no Vault token: set vault.token or VAULT_TOKEN, run `vault login` (it writes ~/.vault-token), or add an auth_login_* block to the vault block".into(),
                });
            }
            return Ok(self.auth.configured.clone());
        };
        self.auth
            .logged_in
            .get_or_try_init(|| async {
                let token = self.login(login).await?;
                self.install(token);
                Ok::<(), BackendError>(())
            })
            .await?;
        if let Some(current) = self.current() {
            return Ok(current.token);
        }
        // The background re-login failed and the token has expired: log in for this
        // request (a failure names method and mount, rather than a 403 on an old token).
        let token = self.login(login).await?;
        self.install(token.clone());
        Ok(token.token)
    }

    fn current(&self) -> Option<LoginToken> {
        self.auth
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_current(&self, token: Option<LoginToken>) -> Option<LoginToken> {
        let mut current = self
            .auth
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut current, token)
    }

    /// Forgets `expired` if it is still the current token (a request may have logged in
    /// again meanwhile).
    fn clear_current(&self, expired: &str) {
        let mut current = self
            .auth
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.as_ref().is_some_and(|t| t.token == expired) {
            *current = None;
        }
    }

    /// Makes `token` current and starts renewing it when it expires.
    fn install(&self, token: LoginToken) {
        self.set_current(Some(token.clone()));
        if token.ttl == 0 {
            return;
        }
        let me = self.clone();
        let task = tokio::spawn(async move { me.keep_alive(token).await });
        let mut renewal = self
            .auth
            .renewal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = renewal.replace(task) {
            old.abort();
        }
    }

    /// Logs in with `login`; errors name the method and mount, never the credential.
    async fn login(&self, login: &VaultLogin) -> Result<LoginToken, BackendError> {
        let method = login.method();
        let mount = login.mount();
        let fail = |why: String| BackendError::Vault {
            address: self.address.clone(),
            message: format!("Vault login with {method} at auth/{mount} failed: {why}"),
        };
        let body = match login {
            VaultLogin::AppRole {
                role_id, secret_id, ..
            } => match secret_id {
                Some(s) => json!({ "role_id": role_id, "secret_id": s }),
                None => json!({ "role_id": role_id }),
            },
            VaultLogin::Jwt { role, jwt, .. } => json!({ "role": role, "jwt": jwt }),
            VaultLogin::Kubernetes { role, jwt_file, .. } => {
                let jwt = std::fs::read_to_string(jwt_file)
                    .map_err(|e| fail(format!("cannot read jwt_file {jwt_file}: {e}")))?;
                json!({ "role": role, "jwt": jwt.trim() })
            }
        };
        let path = format!("auth/{mount}/login");
        let (status, text) = self
            .call_with("", reqwest::Method::POST, &path, Some(&body))
            .await
            .map_err(|e| match e {
                BackendError::Vault { message, .. } => fail(message),
                other => fail(other.to_string()),
            })?;
        if !status.is_success() {
            return Err(fail(format!("{} (HTTP {status})", vault_errors(&text))));
        }
        let reply: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| fail(format!("the reply is not JSON: {e}")))?;
        let auth = &reply["auth"];
        let token = auth["client_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail("the reply holds no auth.client_token".into()))?;
        tracing::debug!(
            method,
            mount,
            ttl = auth["lease_duration"].as_u64(),
            "logged in to Vault"
        );
        Ok(LoginToken {
            token: token.to_string(),
            ttl: auth["lease_duration"].as_u64().unwrap_or(0),
            renewable: auth["renewable"].as_bool().unwrap_or(false),
        })
    }

    /// Keeps the login's token alive while the process runs: renews it at two thirds of
    /// its TTL, asking for the TTL the login gave; logs in again when renewal fails, the
    /// token is not renewable, or a renewal came back shorter (the maximum TTL is near).
    async fn keep_alive(self, mut token: LoginToken) {
        let Some(login) = self.auth.login.clone() else {
            return;
        };
        let wanted = token.ttl;
        let mut relogin = !token.renewable;
        while token.ttl > 0 {
            tokio::time::sleep(Duration::from_millis(token.ttl * 2000 / 3)).await;
            let renewed = if relogin {
                None
            } else {
                self.renew_self(&token.token, wanted).await
            };
            match renewed {
                Some(ttl) => {
                    relogin = ttl < wanted;
                    token.ttl = ttl;
                }
                None => match self.login(&login).await {
                    Ok(fresh) => {
                        relogin = !fresh.renewable;
                        token = fresh;
                        // The old token expires on its own; requests may still hold it.
                        self.set_current(Some(token.clone()));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the Vault token could not be renewed nor obtained again; the first request after it expires logs in anew");
                        // A third of its TTL is left: use it, then let requests log in.
                        tokio::time::sleep(Duration::from_millis(token.ttl * 1000 / 3)).await;
                        self.clear_current(&token.token);
                        return;
                    }
                },
            }
        }
    }

    /// `auth/token/renew-self` for `increment` seconds; the new TTL, `None` on failure.
    async fn renew_self(&self, token: &str, increment: u64) -> Option<u64> {
        let body = json!({ "increment": format!("{increment}s") });
        match self
            .call_with(
                token,
                reqwest::Method::POST,
                "auth/token/renew-self",
                Some(&body),
            )
            .await
        {
            Ok((status, text)) if status.is_success() => {
                let reply: serde_json::Value = serde_json::from_str(&text).ok()?;
                reply["auth"]["lease_duration"].as_u64()
            }
            Ok((status, text)) => {
                tracing::debug!(%status, errors = %vault_errors(&text), "Vault token renewal refused");
                None
            }
            Err(e) => {
                tracing::debug!(error = %e, "Vault token renewal failed");
                None
            }
        }
    }

    /// Stops the renewal and revokes the token a login obtained (`auth/token/revoke-self`);
    /// a configured token is left alone.
    pub async fn revoke_login(&self) {
        if let Some(task) = self
            .auth
            .renewal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        if self.auth.login.is_none() {
            return;
        }
        let Some(token) = self.set_current(None) else {
            return;
        };
        match self
            .call_with(
                &token.token,
                reqwest::Method::POST,
                "auth/token/revoke-self",
                None,
            )
            .await
        {
            Ok((status, _)) if status.is_success() => {
                tracing::debug!("revoked the Vault token obtained by login");
            }
            Ok((status, text)) => {
                tracing::warn!(%status, errors = %vault_errors(&text), "could not revoke the Vault token obtained by login; it expires at the end of its TTL");
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not revoke the Vault token obtained by login; it expires at the end of its TTL");
            }
        }
    }

    /// The error for a 403 on `method path`: asks `sys/capabilities-self` what the token
    /// may do there and names the capability it lacks.
    pub(super) async fn denied(&self, method: &reqwest::Method, path: &str) -> BackendError {
        let path = path.trim_start_matches('/');
        let needed = needed_capabilities(method, path);
        let held = self.capabilities(path).await;
        self.error(path, denied_message(path, needed, held))
    }

    /// The token's capabilities on `path`, from `sys/capabilities-self`.
    async fn capabilities(&self, path: &str) -> Result<Vec<String>, String> {
        let body = json!({ "paths": [path] });
        let (status, text) = self
            .call(reqwest::Method::POST, "sys/capabilities-self", Some(&body))
            .await
            .map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", vault_errors(&text)));
        }
        let reply: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("invalid JSON: {e}"))?;
        let list = reply
            .get(path)
            .or_else(|| reply["data"].get(path))
            .or_else(|| reply.get("capabilities"))
            .and_then(|c| c.as_array())
            .ok_or("the reply lists no capabilities")?;
        Ok(list
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect())
    }
}

/// The capabilities a request needs: GET `read`, LIST `list`, DELETE `delete`, POST/PUT
/// `create` or `update` (Vault picks by whether the object exists); `sudo` too on the
/// root-protected lease paths.
fn needed_capabilities(method: &reqwest::Method, path: &str) -> &'static [&'static str] {
    let sudo = path.starts_with("sys/leases/revoke-prefix/")
        || path.starts_with("sys/leases/revoke-force/");
    match method.as_str() {
        "GET" => &["read"],
        "LIST" => &["list"],
        "DELETE" => &["delete"],
        _ if sudo => &["update", "sudo"],
        _ => &["create", "update"],
    }
}

/// "the token lacks `update` on `database/roles/x` (it has: read)".
fn denied_message(path: &str, needed: &[&str], held: Result<Vec<String>, String>) -> String {
    match held {
        Ok(held) => {
            let missing: Vec<String> = needed
                .iter()
                .filter(|c| !held.iter().any(|h| h == *c || h == "root"))
                .map(|c| format!("`{c}`"))
                .collect();
            let has = if held.is_empty() || held == ["deny"] {
                "nothing".to_string()
            } else {
                held.join(", ")
            };
            let lacks = match missing.len() {
                0 => needed.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" and "),
                _ => missing.join(" and "),
            };
            format!("permission denied (403): the token lacks {lacks} on `{path}` (it has: {has}); grant it in the token's Vault policy (see the guide vault-policy)")
        }
        Err(why) if why.starts_with("HTTP 403") => format!(
            "permission denied (403) for {} on `{path}`; Vault refuses even sys/capabilities-self, so the token is invalid, expired or revoked (or lacks `update` on sys/capabilities-self)",
            or_list(needed)
        ),
        Err(why) => format!(
            "permission denied (403): the token's policy does not allow {} on `{path}` (sys/capabilities-self could not say more: {why})",
            or_list(needed)
        ),
    }
}

/// "`create` or `update`".
fn or_list(capabilities: &[&str]) -> String {
    capabilities
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_names_the_missing_capability_and_what_the_token_has() {
        let m = denied_message(
            "database/roles/x",
            needed_capabilities(&reqwest::Method::POST, "database/roles/x"),
            Ok(vec!["read".into()]),
        );
        assert!(
            m.contains("lacks `create` and `update` on `database/roles/x` (it has: read)"),
            "{m}"
        );
        let m = denied_message(
            "database/roles/x",
            needed_capabilities(&reqwest::Method::POST, "database/roles/x"),
            Ok(vec!["read".into(), "update".into()]),
        );
        assert!(m.contains("lacks `create` on"), "{m}");
        let m = denied_message(
            "database/creds/x",
            needed_capabilities(&reqwest::Method::GET, "database/creds/x"),
            Ok(vec!["deny".into()]),
        );
        assert!(
            m.contains("lacks `read` on `database/creds/x` (it has: nothing)"),
            "{m}"
        );
        let p = "sys/leases/revoke-prefix/database/creds/x";
        let m = denied_message(
            p,
            needed_capabilities(&reqwest::Method::POST, p),
            Ok(vec!["update".into()]),
        );
        assert!(m.contains("lacks `sudo`"), "{m}");
        let m = denied_message(p, &["delete"], Err("HTTP 500: boom".into()));
        assert!(m.contains("does not allow `delete` on"), "{m}");
        let m = denied_message(
            p,
            &["read"],
            Err("HTTP 403 Forbidden: permission denied".into()),
        );
        assert!(
            m.contains("the token is invalid, expired or revoked"),
            "{m}"
        );
    }
}
