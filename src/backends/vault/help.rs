//! Issue 22: what an endpoint accepts, from Vault's own help (`GET <path>?help=1`, the
//! OpenAPI document Vault and OpenBao serve), so a resource refuses a parameter the
//! server would silently ignore (OpenBao has no static-role `rotation_schedule`).

use super::VaultClient;
use crate::backends::BackendError;

impl VaultClient {
    /// The address this client talks to (for error text).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The body parameters a write to `path` accepts; `Ok(None)` when the server's help
    /// names no write for it.
    pub async fn write_parameters(&self, path: &str) -> Result<Option<Vec<String>>, BackendError> {
        let url = format!("{}?help=1", self.url(path)?);
        let token = self.token().await?;
        let mut req = self.http.get(&url).header("X-Vault-Token", token);
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.error(path, self.unreachable(&e)))?;
        if !resp.status().is_success() {
            return Err(self.error(path, format!("help: HTTP {}", resp.status())));
        }
        let text = resp.text().await.unwrap_or_default();
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| self.error(path, format!("help: invalid JSON: {e}")))?;
        Ok(write_parameters_of(&doc["openapi"]))
    }
}

/// The properties of the request body of the `post` operations in an OpenAPI document
/// (`None`: no write described).
pub fn write_parameters_of(openapi: &serde_json::Value) -> Option<Vec<String>> {
    let schemas = &openapi["components"]["schemas"];
    let mut out: Vec<String> = Vec::new();
    let mut found = false;
    for op in openapi["paths"].as_object()?.values() {
        let reference = op["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next());
        let Some(name) = reference else { continue };
        found = true;
        if let Some(props) = schemas[name]["properties"].as_object() {
            out.extend(props.keys().cloned());
        }
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::write_parameters_of;

    #[test]
    fn reads_the_post_body_properties() {
        let doc = serde_json::json!({
            "paths": {"/static-roles/{name}": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/W"}}}}}}},
            "components": {"schemas": {"W": {"properties": {"username": {}, "rotation_period": {}}}}}
        });
        let mut got = write_parameters_of(&doc).unwrap_or_default();
        got.sort();
        assert_eq!(got, ["rotation_period", "username"]);
        assert_eq!(
            write_parameters_of(&serde_json::json!({"paths": {"/x": {"get": {}}}})),
            None
        );
        assert_eq!(write_parameters_of(&serde_json::json!({})), None);
    }
}
