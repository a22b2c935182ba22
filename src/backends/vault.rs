//! A small Vault HTTP API client (KV v2 reads for provider credentials; the database
//! secrets engine endpoints arrive with the rotation resources).

use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::backends::settings::VaultTls;
use tokio::sync::OnceCell;

use crate::backends::coalesce::{Coalesced, Freshness};
use crate::backends::settings::VaultLogin;
use crate::backends::BackendError;

mod help;
mod login;

/// Characters left as they are in a path segment: RFC 3986's unreserved set. Everything
/// else, `%`, `?`, `#` and `/` included, is percent-encoded, so a segment stays one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `path` as the part of a URL after `/v1/`: each `/`-separated segment percent-encoded,
/// the slashes kept. Refuses empty, `.` and `..` segments and control characters, which
/// URL normalisation would otherwise turn into a different path (`a/../sys` is `sys`).
pub fn encode_path(path: &str) -> Result<String, String> {
    let path = path.trim_start_matches('/');
    if path.chars().any(char::is_control) {
        return Err("the path contains a control character".into());
    }
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if matches!(segment, "" | "." | "..") {
            return Err(format!(
                "the path has an empty, `.` or `..` segment ({segment:?}); refused"
            ));
        }
        if i > 0 {
            out.push('/');
        }
        out.extend(utf8_percent_encode(segment, SEGMENT));
    }
    Ok(out)
}

/// Talks to one Vault address with one token: configured, or obtained by logging in
/// (on first use, once per process; renewed in the background; revoked at shutdown).
#[derive(Clone)]
pub struct VaultClient {
    address: String,
    http: reqwest::Client,
    /// `vault.namespace`: the `X-Vault-Namespace` header of every request.
    namespace: Option<String>,
    /// How Vault's certificate is checked, for error text.
    tls_check: String,
    auth: Arc<Auth>,
    /// Ends every request's wait (the login included) on Ctrl-C.
    stop: crate::backends::interrupt::Stop,
    /// Issue 23: reads many resources make at once, sent once ([`VaultClient::read_shared`],
    /// [`VaultClient::list_fresh`]).
    shared: Arc<SharedReads>,
}

/// How long a shared read of a connection's configuration serves later callers (unless
/// this process writes something that may change it first).
const CONNECTION_READ_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// The client's shared reads: connection configurations within [`CONNECTION_READ_WINDOW`],
/// lists only from a request started after the caller asked.
struct SharedReads {
    reads: Coalesced<String, Option<serde_json::Value>>,
    lists: Coalesced<String, Vec<String>>,
    /// Lists that failed once (a token without the capability): not asked again.
    failed_lists: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl SharedReads {
    fn new() -> Self {
        SharedReads {
            reads: Coalesced::new(Freshness::Within(CONNECTION_READ_WINDOW)),
            lists: Coalesced::new(Freshness::Strict),
            failed_lists: std::sync::Mutex::default(),
        }
    }

    fn failed_lists(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        // A poisoned set only means a thread panicked while inserting; the set is intact.
        self.failed_lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether a write or delete of `path` may change what [`VaultClient::read_shared`] keeps:
/// anything but a role, a static role, a rotation, credentials or a lease.
pub fn may_change_shared_reads(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let is_lease = segments.first() == Some(&"sys") && segments.get(1) == Some(&"leases");
    let per_role = segments.len() >= 3
        && segments.iter().rev().nth(1).is_some_and(|op| {
            matches!(
                *op,
                "roles" | "static-roles" | "rotate-role" | "creds" | "static-creds"
            )
        });
    !(is_lease || per_role)
}

/// Where the client's token comes from, and the token a login obtained.
struct Auth {
    /// The configured token (empty when none).
    configured: String,
    /// The login method, when the token comes from a login.
    login: Option<VaultLogin>,
    /// Set once the first login succeeded: the login runs once per process.
    logged_in: OnceCell<()>,
    /// The token the last login or renewal gave.
    current: std::sync::RwLock<Option<LoginToken>>,
    /// The background renewal, stopped at shutdown.
    renewal: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Auth {
    /// Nothing obtained yet: the configured `token` (empty when none) or a `login`.
    fn new(token: &str, login: Option<VaultLogin>) -> Self {
        Auth {
            configured: token.to_string(),
            login,
            logged_in: OnceCell::new(),
            current: std::sync::RwLock::new(None),
            renewal: std::sync::Mutex::new(None),
        }
    }
}

/// A token obtained by logging in.
#[derive(Clone)]
struct LoginToken {
    token: String,
    /// Seconds it lives (0: no expiry).
    ttl: u64,
    renewable: bool,
}

/// The CA certificates of `tls` (the file, then every file of the directory holding a
/// PEM certificate, as the Vault CLI reads `VAULT_CAPATH`).
fn ca_certificates(tls: &VaultTls) -> Result<Vec<reqwest::Certificate>, String> {
    let mut files = Vec::new();
    if let Some(f) = &tls.ca_cert_file {
        files.push(("vault.ca_cert_file", std::path::PathBuf::from(f)));
    }
    if let Some(d) = &tls.ca_cert_dir {
        let entries = std::fs::read_dir(d)
            .map_err(|e| format!("cannot read vault.ca_cert_dir {d:?}: {e}"))?;
        let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        files.extend(paths.into_iter().map(|p| ("vault.ca_cert_dir", p)));
    }
    let mut certs = Vec::new();
    for (what, path) in files {
        let Ok(bytes) = std::fs::read(&path) else {
            if what == "vault.ca_cert_file" {
                return Err(format!("cannot read {what} {path:?}"));
            }
            continue;
        };
        if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
            continue;
        }
        let parsed = reqwest::Certificate::from_pem_bundle(&bytes)
            .map_err(|e| format!("{what} {path:?} holds an unreadable certificate: {e}"))?;
        certs.extend(parsed);
    }
    Ok(certs)
}

/// The HTTP client for Vault: `ca_cert_file` / `ca_cert_dir` replace the built-in
/// roots when set (as the Vault CLI's `VAULT_CACERT` / `VAULT_CAPATH`); `skip_verify`
/// checks nothing. `connect_timeout` (`vault.connect_timeout`, seconds) bounds the TCP
/// connect and TLS handshake; a request then has 30 s.
pub fn http_client(tls: &VaultTls, connect_timeout: u64) -> Result<reqwest::Client, String> {
    // reqwest takes the process's rustls provider (it has none of its own compiled in).
    crate::backends::install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(connect_timeout.max(1)));
    let certs = ca_certificates(tls)?;
    if !certs.is_empty() {
        builder = builder.tls_built_in_root_certs(false);
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    if tls.skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))
}

/// What was checked, for error text: `against /ca.pem`.
fn tls_check_text(tls: &VaultTls) -> String {
    let sources: Vec<&str> = [tls.ca_cert_file.as_deref(), tls.ca_cert_dir.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if sources.is_empty() {
        "against the built-in roots; set vault.ca_cert_file or VAULT_CACERT".into()
    } else {
        format!("against {}", sources.join(" and "))
    }
}

impl VaultClient {
    /// A client for `address` using `token`, checking Vault's certificate per `tls`
    /// and sending `namespace` as `X-Vault-Namespace`; connections are given up after
    /// `connect_timeout` seconds.
    pub fn with_tls(
        address: &str,
        token: &str,
        tls: &VaultTls,
        namespace: Option<&str>,
        connect_timeout: u64,
    ) -> Result<Self, BackendError> {
        let http = http_client(tls, connect_timeout).map_err(|message| BackendError::Vault {
            address: address.to_string(),
            message,
        })?;
        Ok(VaultClient {
            address: address.to_string(),
            http,
            namespace: namespace.map(str::to_string),
            tls_check: tls_check_text(tls),
            auth: Arc::new(Auth::new(token, None)),
            stop: crate::backends::interrupt::Stop::new(),
            shared: Arc::new(SharedReads::new()),
        })
    }

    /// This client, its requests ended by `stop` (Terraform's Ctrl-C).
    pub fn stopped_by(self, stop: crate::backends::interrupt::Stop) -> Self {
        VaultClient { stop, ..self }
    }

    /// This client without the stop signal, for giving back what a run holds (revoking a
    /// lease as it closes): that should still happen after Ctrl-C, within the client's
    /// own timeouts.
    pub fn unstoppable(&self) -> Self {
        self.clone()
            .stopped_by(crate::backends::interrupt::Stop::new())
    }

    /// The text of a request that got no answer: a certificate problem named as such.
    fn unreachable(&self, e: &reqwest::Error) -> String {
        let text = crate::backends::error_chain(e);
        match crate::backends::tls_failure(&text, &self.tls_check) {
            Some(tls) => format!(
                "{tls}; check vault.ca_cert_file / VAULT_CACERT and vault.ca_cert_dir / VAULT_CAPATH"
            ),
            None => format!("unreachable ({text}); check vault.address / VAULT_ADDR"),
        }
    }

    fn error(&self, path: &str, message: impl Into<String>) -> BackendError {
        BackendError::Vault {
            address: self.address.clone(),
            message: format!("{path}: {}", message.into()),
        }
    }

    /// The URL of `/v1/<path>`, every segment percent-encoded.
    fn url(&self, path: &str) -> Result<String, BackendError> {
        encode_path(path)
            .map(|p| format!("{}/v1/{p}", self.address))
            .map_err(|e| self.error(path, e))
    }

    /// One request with the client's token; the status and body text.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(reqwest::StatusCode, String), BackendError> {
        let work = async {
            let token = self.token().await?;
            self.call_with(&token, method, path, body).await
        };
        crate::backends::interrupt::unless_stopped(&self.stop, "waiting for Vault", work)
            .await
            .unwrap_or_else(|i| Err(self.error(path, i.to_string())))
    }

    /// One request with `token` (empty: none); the status and body text.
    async fn call_with(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(reqwest::StatusCode, String), BackendError> {
        let url = self.url(path)?;
        let mut req = self.http.request(method.clone(), &url);
        if !token.is_empty() {
            req = req.header("X-Vault-Token", token);
        }
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let started = std::time::Instant::now();
        let resp = req
            .send()
            .await
            .map_err(|e| self.error(path, self.unreachable(&e)))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        // Request timing for diagnosis (`TF_LOG_PROVIDER=debug`): the path, never a body.
        tracing::debug!(%method, path, status = status.as_u16(), ms = started.elapsed().as_secs_f64() * 1000.0, "Vault request");
        Ok((status, text))
    }

    /// GET `/v1/<path>`; `Ok(None)` on 404.
    pub async fn read(&self, path: &str) -> Result<Option<serde_json::Value>, BackendError> {
        let (status, text) = self.call(reqwest::Method::GET, path, None).await?;
        match status.as_u16() {
            200 => serde_json::from_str(&text).map(Some).map_err(|e| self.error(path, format!("invalid JSON: {e}"))),
            404 => Ok(None),
            403 => Err(self.denied(&reqwest::Method::GET, path).await),
            503 => Err(self.error(path, "Vault is sealed or in standby (503): unseal it or point vault.address at the active node")),
            _ => Err(self.error(path, format!("HTTP {status}: {}", text.chars().take(300).collect::<String>()))),
        }
    }

    /// GET `/v1/<path>` as [`VaultClient::read`], shared with the callers asking for the
    /// same path at about the same time (issue 23: the connection 400 rotation roles
    /// check): an answer at most [`CONNECTION_READ_WINDOW`] old, never one from before a
    /// write of this process that may change it ([`may_change_shared_reads`]).
    pub async fn read_shared(&self, path: &str) -> Result<Option<serde_json::Value>, BackendError> {
        let key = path.to_string();
        self.shared.reads.get(&key, || self.read(path)).await
    }

    /// LIST `/v1/<path>` as [`VaultClient::list`], shared only with callers that asked
    /// before the request was sent (the answer is never older than the call). After a
    /// failure the path is not asked again in this process: callers fall back at once.
    pub async fn list_fresh(&self, path: &str) -> Result<Vec<String>, BackendError> {
        let key = path.to_string();
        if self.shared.failed_lists().contains(&key) {
            return Err(self.error(path, "failed earlier in this process; not asked again"));
        }
        let listed = self.shared.lists.get(&key, || self.list(path)).await;
        if listed.is_err() {
            self.shared.failed_lists().insert(key);
        }
        listed
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, BackendError> {
        if may_change_shared_reads(path) {
            // Before and after: a shared read started while this is on its way is not kept.
            self.shared.reads.invalidate();
        }
        let sent = self.call(method.clone(), path, body).await;
        if may_change_shared_reads(path) {
            self.shared.reads.invalidate();
        }
        let (status, text) = sent?;
        match status.as_u16() {
            200 if text.is_empty() => Ok(None),
            200 => serde_json::from_str(&text).map(Some).map_err(|e| self.error(path, format!("invalid JSON: {e}"))),
            204 => Ok(None),
            403 => Err(self.denied(&method, path).await),
            404 => Err(self.error(path, "not found (404): is the secrets engine mounted at this path?")),
            503 => Err(self.error(path, "Vault is sealed or in standby (503): unseal it or point vault.address at the active node")),
            _ => Err(self.error(path, format!("HTTP {status}: {}", vault_errors(&text)))),
        }
    }
    /// POST/PUT `/v1/<path>` with a JSON body.
    pub async fn write(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, BackendError> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// LIST `/v1/<path>`: the keys under it; none on 404.
    pub async fn list(&self, path: &str) -> Result<Vec<String>, BackendError> {
        let method =
            reqwest::Method::from_bytes(b"LIST").map_err(|e| self.error(path, e.to_string()))?;
        let (status, text) = self.call(method.clone(), path, None).await?;
        match status.as_u16() {
            200 => {
                let body: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| self.error(path, format!("invalid JSON: {e}")))?;
                Ok(body["data"]["keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect())
            }
            404 => Ok(Vec::new()),
            403 => Err(self.denied(&method, path).await),
            _ => Err(self.error(path, format!("HTTP {status}: {}", vault_errors(&text)))),
        }
    }

    /// DELETE `/v1/<path>`; a missing object counts as deleted.
    pub async fn delete(&self, path: &str) -> Result<(), BackendError> {
        match self.send(reqwest::Method::DELETE, path, None).await {
            Ok(_) => Ok(()),
            Err(BackendError::Vault { message, .. }) if message.contains("(404)") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Reads a KV v2 secret's `data.data` map.
    pub async fn kv2(
        &self,
        path: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, BackendError> {
        match self.read(path).await? {
            Some(body) => body
                .pointer("/data/data")
                .and_then(|d| d.as_object())
                .cloned()
                .ok_or_else(|| self.error(path, "not a KV v2 secret (no data.data); KV v2 paths look like `<mount>/data/<path>`")),
            None => Err(self.error(path, "no secret at this path (404)")),
        }
    }
}

/// The `errors` of a Vault error body, joined, or the body itself (shortened).
fn vault_errors(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errors").and_then(|e| e.as_array()).map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(
            encode_path("team/database/roles/app-1").as_deref(),
            Ok("team/database/roles/app-1")
        );
        assert_eq!(
            encode_path("/a b/c%d?e#f").as_deref(),
            Ok("a%20b/c%25d%3Fe%23f")
        );
        for bad in [
            "a/../sys/policy/x",
            "a//b",
            "a/./b",
            "a/",
            "..",
            "a/b\n",
            "a\0",
        ] {
            assert!(encode_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_writes_that_may_change_a_connection_forget_shared_reads() {
        for (path, forgets) in [
            ("database/config/pg", true),
            ("database/rotate-root/pg", true),
            ("team/db/reset/pg", true),
            ("sys/mounts/database", true),
            ("sys/mounts/database/tune", true),
            ("database/roles/pg-app", false),
            ("team/db/static-roles/pg-app", false),
            ("database/rotate-role/pg-app", false),
            ("database/creds/pg-app", false),
            ("sys/leases/revoke-prefix/database/creds/pg-app", false),
            ("sys/leases/renew", false),
            // A connection named like an operation is still a connection.
            ("database/config/roles", true),
        ] {
            assert_eq!(may_change_shared_reads(path), forgets, "{path}");
        }
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(vault_errors(r#"{"errors":["a","b"]}"#), "a; b");
        assert_eq!(vault_errors("plain"), "plain");
    }
}
