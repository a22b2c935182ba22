//! One typed client per backend system, opened lazily on first use and shared by every
//! resource of the provider process.

pub mod settings;
pub mod vault;

use tokio::sync::OnceCell;

use settings::{Secret, Settings};
use vault::VaultClient;

/// A backend failure, naming where it happened so the user can act on it.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The provider block a resource needs is absent.
    #[error("the provider's `{block}` block is not configured; add `{block} {{ ... }}` to provider \"dbaas\"{hint}")]
    NotConfigured {
        /// Block name.
        block: &'static str,
        /// Extra hint (environment fallbacks).
        hint: &'static str,
    },
    /// A Vault request failed.
    #[error("Vault at {address} (provider block `vault`): {message}")]
    Vault {
        /// Vault address.
        address: String,
        /// What went wrong.
        message: String,
    },
    /// A secret could not be resolved.
    #[error("{block}: {message}")]
    Secret {
        /// Block name.
        block: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// Credentials resolved for a backend.
#[derive(Clone)]
pub struct Credentials {
    /// Username override from Vault KV, if present.
    pub username: Option<String>,
    /// Password (empty when none configured).
    pub password: String,
}

/// The configured backends of one provider process.
pub struct Backends {
    /// What the provider block said.
    pub settings: Settings,
    vault: OnceCell<VaultClient>,
}

impl Backends {
    /// Backends for `settings`; nothing is dialled yet.
    pub fn new(settings: Settings) -> Self {
        Backends {
            settings,
            vault: OnceCell::new(),
        }
    }

    /// The Vault client, built on first use.
    pub async fn vault(&self) -> Result<&VaultClient, BackendError> {
        let v = self
            .settings
            .vault
            .as_ref()
            .ok_or(BackendError::NotConfigured {
                block: "vault",
                hint: " or set VAULT_ADDR and VAULT_TOKEN",
            })?;
        self.vault
            .get_or_try_init(|| async {
                let token = match &v.token {
                    Secret::Plain(t) => t.clone(),
                    _ => String::new(),
                };
                VaultClient::new(&v.address, &token)
            })
            .await
    }

    /// Resolves a configured password, reading Vault KV v2 when it names a path.
    pub async fn resolve(
        &self,
        secret: &Secret,
        block: &'static str,
    ) -> Result<Credentials, BackendError> {
        match secret {
            Secret::None => Ok(Credentials {
                username: None,
                password: String::new(),
            }),
            Secret::Plain(p) => Ok(Credentials {
                username: None,
                password: p.clone(),
            }),
            Secret::VaultKv(path) => {
                let data = self.vault().await?.kv2(path).await?;
                let password = data
                    .get("password")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| BackendError::Secret {
                        block,
                        message: format!("the Vault secret at {path} has no string key `password`"),
                    })?
                    .to_string();
                let username = data
                    .get("username")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                Ok(Credentials { username, password })
            }
        }
    }
}
