//! Issue 11, the Vault side: the token order (`token`, `VAULT_TOKEN`, an `auth_login_*`
//! block, `~/.vault-token`), logins with AppRole, JWT and the Kubernetes method, their
//! lazy single login, the revocation of the token they obtain when the provider exits, and
//! the least-privilege policies shipped in `policies/`: the tenant lifecycle runs with a
//! token made from exactly `dbaas-provider.hcl`, and the narrower
//! `dbaas-credentials-reader.hcl` opens credentials but cannot create a role, with an error
//! that names the path and the missing capability.
//!
//! Every case enables its own auth mounts (unique per case and Terraform version) with
//! the root token and removes them, its policies and its tokens on exit. The JWT method is
//! configured with a key pair the case generates (openssl), so it needs nothing from the
//! stack beyond OpenBao. There is no Kubernetes API here: `auth_login_kubernetes` is tested
//! for what the provider does (reads `jwt_file` at login, posts `{role, jwt}` to
//! `auth/<mount>/login`) against a `jwt`-type method mounted at another path, which
//! validates the same request shape.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::fixture::{
    assert_plan_empty, connection, each_terraform, ephemeral_login, pg_database, role, tagged,
    Case, PGDB,
};
use crate::harness::{
    provider_block, stack, vault_delete, vault_get, vault_list, vault_post, vault_request,
    version_tag, Terraform, Workdir,
};

/// A shipped policy file's text.
fn policy_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a case made in Vault with the root token, removed on drop.
#[derive(Default)]
struct VaultThings {
    policies: Vec<String>,
    auth_mounts: Vec<String>,
    tokens: Vec<String>,
}

impl VaultThings {
    /// Writes policy `name` from the shipped file `file`.
    fn policy(&mut self, name: &str, file: &str) {
        vault_post(
            &format!("sys/policies/acl/{name}"),
            &json!({ "policy": policy_file(file) }),
        );
        self.policies.push(name.to_string());
    }

    /// A token with exactly `policy` (no `default` policy).
    fn token(&mut self, policy: &str) -> String {
        let r = vault_post(
            "auth/token/create",
            &json!({ "policies": [policy], "no_default_policy": true, "ttl": "30m" }),
        );
        let token = r["auth"]["client_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(!token.is_empty(), "no token created: {r}");
        self.tokens.push(token.clone());
        token
    }

    /// Enables an auth method of `kind` at `mount` (replacing a leftover one).
    fn auth_mount(&mut self, mount: &str, kind: &str) {
        let _ = vault_delete(&format!("sys/auth/{mount}"));
        vault_post(&format!("sys/auth/{mount}"), &json!({ "type": kind }));
        self.auth_mounts.push(mount.to_string());
    }
}

impl Drop for VaultThings {
    fn drop(&mut self) {
        for t in &self.tokens {
            let _ = vault_request("POST", "auth/token/revoke", Some(&json!({ "token": t })));
        }
        for m in &self.auth_mounts {
            let _ = vault_delete(&format!("sys/auth/{m}"));
        }
        for p in &self.policies {
            let _ = vault_delete(&format!("sys/policies/acl/{p}"));
        }
    }
}

/// The stack's provider block with the `vault` block's token line replaced by `auth`.
fn provider_with_vault(auth: &str) -> String {
    let block = provider_block();
    let line = format!("    token   = \"{}\"\n", stack("VAULT_TOKEN"));
    assert!(
        block.contains(&line),
        "provider block layout changed: {block}"
    );
    block.replacen(&line, auth, 1)
}

/// Runs `terraform <args>` with no `VAULT_TOKEN` in the environment, plus `extra`.
fn run_without_token(w: &Workdir, args: &[&str], extra: &[(&str, &str)]) -> crate::harness::Run {
    let mut env = vec![("VAULT_TOKEN", "")];
    env.extend_from_slice(extra);
    w.run_env(args, &env)
}

/// `terraform destroy` with no `VAULT_TOKEN` (plus `extra`), which must succeed and take
/// the Vault connection `conn` with it.
fn destroy_without_token(g: &mut Case, conn: &str, extra: &[(&str, &str)]) {
    run_without_token(
        &g.w,
        &["destroy", "-auto-approve", "-no-color", "-input=false"],
        extra,
    )
    .ok();
    g.destroyed = true;
    assert!(
        vault_get(&format!("database/config/{conn}")).is_none(),
        "connection left behind"
    );
}

/// `terraform plan -detailed-exitcode` (with `-refresh=false` unless `refresh`) with no
/// `VAULT_TOKEN`, which must succeed and propose nothing; `what` says which plan failed.
fn assert_plan_empty_without_token(w: &Workdir, refresh: bool, what: &str) {
    let mut args = vec!["plan", "-no-color", "-input=false", "-detailed-exitcode"];
    if !refresh {
        args.push("-refresh=false");
    }
    let r = run_without_token(w, &args, &[]);
    assert_eq!(r.code, 0, "{what}: {}", r.all());
}

/// A tenant database `db`, a PostgreSQL connection `conn` allowing `allowed` roles, and
/// the rotation role `app` on it.
fn tenant(db: &str, conn: &str, app: &str, allowed: &[&str]) -> String {
    let allowed: Vec<String> = allowed.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        "{}{}{}",
        pg_database("a", db),
        connection(
            "pg",
            conn,
            "postgres",
            &format!("  allowed_roles = [{}]\n", allowed.join(", "))
        ),
        role("app", app, "pg", &format!("{PGDB}.a.name"), ""),
    )
}

const APPLY: [&str; 4] = ["apply", "-auto-approve", "-no-color", "-input=false"];

/// Accessors of the live tokens that a login at `auth/<mount>/` issued.
fn login_tokens(mount: &str) -> Vec<String> {
    login_tokens_of_role(mount, None)
}

/// Accessors of the live tokens that a login at `auth/<mount>/` issued, for `role` only
/// when given (a mount other cases share).
fn login_tokens_of_role(mount: &str, role: Option<&str>) -> Vec<String> {
    let prefix = format!("auth/{mount}/");
    vault_list("auth/token/accessors")
        .into_iter()
        .filter(|a| {
            let (code, body) = vault_request(
                "POST",
                "auth/token/lookup-accessor",
                Some(&json!({ "accessor": a })),
            );
            code == 200
                && body["data"]["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(&prefix))
                && role.is_none_or(|r| body["data"]["meta"]["role"].as_str() == Some(r))
        })
        .collect()
}

/// Asserts no token of `auth/<mount>/` outlived the runs, after proving the check finds
/// one: a login made here is seen, then revoked.
fn assert_login_tokens_revoked(mount: &str, login_body: &serde_json::Value) {
    assert_role_tokens_revoked(mount, None, login_body);
}

/// [`assert_login_tokens_revoked`] for the tokens of `role` only, when given.
fn assert_role_tokens_revoked(mount: &str, role: Option<&str>, login_body: &serde_json::Value) {
    let leaked = login_tokens_of_role(mount, role);
    assert!(
        leaked.is_empty(),
        "tokens obtained by the provider's logins at auth/{mount} were not revoked: {leaked:?}"
    );
    let (code, r) = vault_request("POST", &format!("auth/{mount}/login"), Some(login_body));
    assert_eq!(code, 200, "control login: {r}");
    let seen = login_tokens_of_role(mount, role);
    assert_eq!(
        seen.len(),
        1,
        "the check must see the control login's token"
    );
    vault_post(
        "auth/token/revoke-accessor",
        &json!({ "accessor": seen[0] }),
    );
}

/// A Vault connection (PostgreSQL engine) named `conn`: what login cases apply.
fn connection_only(provider: &str, conn: &str) -> String {
    format!("{provider}\n{}", connection("pg", conn, "postgres", ""))
}

/// Whether `tf` supports ephemeral resources (1.10+).
fn has_ephemeral(tf: &Terraform) -> bool {
    !tf.version.starts_with("v1.0.")
}

/// The ephemeral credentials of rotation role `role_expr`, used by an app login at apply.
fn ephemeral_app(role_expr: &str) -> String {
    let login = ephemeral_login(
        role_expr,
        "app",
        r#""test -n \"$U\" && test -n \"$P\"""#,
        &[("U", "username"), ("P", "password")],
    );
    format!("\n{login}")
}

#[test]
fn vault_auth_provider_policy_runs_the_tenant_lifecycle() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let (db, conn) = (format!("acc_vpol_{v}"), format!("pgpol_{v}"));
        let app = format!("{conn}-app");
        let mut things = VaultThings::default();
        let policy = format!("dbaas-acc-provider-{v}");
        things.policy(&policy, "dbaas-provider.hcl");
        let token = things.token(&policy);
        let provider = provider_with_vault(&format!("    token   = \"{token}\"\n"));
        let mut body = tenant(&db, &conn, &app, &[&app]);
        if has_ephemeral(&tf) {
            body.push_str(&ephemeral_app("dbaas_vault_rotation_role.app.name"));
        }
        let mut g = Case::new(&tf, &format!("{provider}\n{body}"));
        g.track(&[&db], &[&conn], &[&app]);
        g.w.apply().ok();
        assert!(vault_get(&format!("database/roles/{app}")).is_some());
        assert_plan_empty(&g.w, "apply with the provider policy's token");
        // A login issued outside Terraform: destroy must revoke it (revoke-prefix, `sudo`).
        let creds = crate::fixture::read_creds(&format!("database/creds/{app}"));
        assert!(!creds.lease_id.is_empty());
        let r = g.destroy();
        assert!(!r.all().contains("Cannot revoke the leases"), "{}", r.all());
        let left = crate::fixture::leases_under(&format!("database/creds/{app}"));
        assert!(left.is_empty(), "leases left after destroy: {left:?}");
        for (what, path) in [
            ("role", format!("database/roles/{app}")),
            ("connection", format!("database/config/{conn}")),
        ] {
            assert!(vault_get(&path).is_none(), "{what} left behind");
        }
    }
}

#[test]
fn vault_auth_reader_policy_opens_credentials_but_cannot_create_a_role() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let (db, conn) = (format!("acc_vrdr_{v}"), format!("pgrdr_{v}"));
        let (app, denied) = (format!("{conn}-app"), format!("{conn}-denied"));
        let mut g = Case::new(
            &tf,
            &crate::fixture::config(&tenant(&db, &conn, &app, &[&app, &denied])),
        );
        g.track(&[&db], &[&conn], &[&app, &denied]);
        g.w.apply().ok();

        let mut things = VaultThings::default();
        let policy = format!("dbaas-acc-reader-{v}");
        things.policy(&policy, "dbaas-credentials-reader.hcl");
        let token = things.token(&policy);
        let provider = provider_with_vault(&format!("    token   = \"{token}\"\n"));

        let w = Workdir::new(
            &tf,
            &format!(
                "{provider}\nresource \"dbaas_vault_rotation_role\" \"x\" {{\n  name       = \"{denied}\"\n  connection = \"{conn}\"\n  database   = \"{db}\"\n}}\n"
            ),
        );
        let r = w.apply().failed();
        let all = crate::fixture::flat(&r.all());
        assert!(
            all.contains(&format!(
                "lacks `create` and `update` on `database/roles/{denied}` (it has: read)"
            )),
            "the error must name the path and the missing capability: {all}"
        );
        assert!(vault_get(&format!("database/roles/{denied}")).is_none());

        if has_ephemeral(&tf) {
            let w = Workdir::new(
                &tf,
                &format!("{provider}\n{}", ephemeral_app(&format!("\"{app}\""))),
            );
            w.apply().ok();
            w.destroy().ok();
        } else {
            eprintln!(
                "note: ephemeral credentials need Terraform 1.10+; skipped on {}",
                tf.version
            );
        }
    }
}

/// Creates an AppRole role `tf` at `mount` with `policy`; its role ID.
fn approle_role(mount: &str, policy: &str, extra: serde_json::Value) -> String {
    let mut body =
        json!({ "token_policies": [policy], "token_no_default_policy": true, "token_ttl": "10m" });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    vault_post(&format!("auth/{mount}/role/tf"), &body);
    let r = vault_get(&format!("auth/{mount}/role/tf/role-id")).expect("role-id");
    r["data"]["role_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A new secret ID of role `tf` at `mount`, usable `uses` times (0: unlimited).
fn secret_id(mount: &str, uses: u64) -> String {
    let r = vault_post(
        &format!("auth/{mount}/role/tf/secret-id"),
        &json!({ "num_uses": uses }),
    );
    r["data"]["secret_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Whether secret ID `s` of role `tf` at `mount` still exists (unused, not destroyed).
fn secret_id_exists(mount: &str, s: &str) -> bool {
    let (code, body) = vault_request(
        "POST",
        &format!("auth/{mount}/role/tf/secret-id/lookup"),
        Some(&json!({ "secret_id": s })),
    );
    code == 200 && !body["data"].is_null()
}

#[test]
fn vault_auth_approle_logs_in_lazily_once_and_revokes_its_token() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [mount, conn] = tagged(&tf, ["approle-acc", "pgapr"]);
        let mut things = VaultThings::default();
        let policy = format!("dbaas-acc-approle-{v}");
        things.policy(&policy, "dbaas-provider.hcl");
        things.auth_mount(&mount, "approle");
        let role_id = approle_role(&mount, &policy, json!({}));
        let login = |secret: &str| {
            provider_with_vault(&format!(
                "    auth_login_approle {{\n      mount     = \"{mount}\"\n      role_id   = \"{role_id}\"\n      secret_id = \"{secret}\"\n    }}\n"
            ))
        };
        let secret = secret_id(&mount, 0);
        let mut g = Case::new(&tf, &connection_only(&login(&secret), &conn));
        g.track(&[], &[&conn], &[]);
        run_without_token(&g.w, &APPLY, &[]).ok();
        assert!(
            vault_get(&format!("database/config/{conn}")).is_some(),
            "written with the AppRole login"
        );

        // plan -refresh=false of unchanged resources logs in nowhere: a one-use secret ID
        // survives it, and a refreshing plan then spends it (one login per process).
        let once = secret_id(&mount, 1);
        g.w.write(&connection_only(&login(&once), &conn));
        assert_plan_empty_without_token(&g.w, false, "plan -refresh=false must log in nowhere");
        run_without_token(&g.w, &["validate", "-no-color"], &[]).ok();
        assert!(
            secret_id_exists(&mount, &once),
            "validate or plan -refresh=false logged in"
        );
        assert_plan_empty_without_token(&g.w, true, "refreshing plan with a one-use secret ID");
        assert!(
            !secret_id_exists(&mount, &once),
            "the refreshing plan must have logged in"
        );

        // A revoked (destroyed) secret ID: the error names the method and the mount.
        let gone = secret_id(&mount, 0);
        vault_post(
            &format!("auth/{mount}/role/tf/secret-id/destroy"),
            &json!({ "secret_id": gone }),
        );
        g.w.write(&connection_only(&login(&gone), &conn));
        let r = run_without_token(&g.w, &["plan", "-no-color", "-input=false"], &[]).failed();
        let all = crate::fixture::flat(&r.all());
        assert!(
            all.contains(&format!("Vault login with approle at auth/{mount} failed"))
                && all.to_lowercase().contains("invalid role or secret id"),
            "{all}"
        );
        assert!(
            !all.contains(&gone),
            "the secret ID must not appear in errors"
        );

        // An expired secret ID (1 s TTL): the same.
        let expired = vault_post(
            &format!("auth/{mount}/role/tf/secret-id"),
            &json!({ "ttl": "1s" }),
        );
        let expired = expired["data"]["secret_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        std::thread::sleep(Duration::from_secs(2));
        g.w.write(&connection_only(&login(&expired), &conn));
        let r = run_without_token(&g.w, &["plan", "-no-color", "-input=false"], &[]).failed();
        let all = crate::fixture::flat(&r.all());
        assert!(
            all.contains(&format!("Vault login with approle at auth/{mount} failed")),
            "{all}"
        );

        g.w.write(&connection_only(&login(&secret), &conn));
        destroy_without_token(&mut g, &conn, &[]);
        assert_login_tokens_revoked(&mount, &json!({ "role_id": role_id, "secret_id": secret }));
    }
}

/// An RS256 JWT signed with the PEM key at `key` (openssl), valid for ten minutes.
fn sign_jwt(key: &Path, issuer: &str, audience: &str, subject: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = json!({ "alg": "RS256", "typ": "JWT" }).to_string();
    let claims = json!({ "iss": issuer, "aud": audience, "sub": subject, "iat": now, "nbf": now - 5, "exp": now + 600 }).to_string();
    let script = r#"b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
input="$(printf %s "$H" | b64).$(printf %s "$C" | b64)"
sig="$(printf %s "$input" | openssl dgst -sha256 -sign "$K" | b64)"
printf %s "$input.$sig""#;
    stdout_of(
        Command::new("sh")
            .args(["-c", script])
            .env("H", header)
            .env("C", claims)
            .env("K", key),
        "signing the JWT",
    )
}

/// The standard output of `cmd` (`what` it does), which must succeed.
fn stdout_of(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn vault_auth_jwt_and_kubernetes_logins() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [mount, conn] = tagged(&tf, ["jwt-acc", "pgjwt"]);
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("key.pem");
        stdout_of(
            Command::new("openssl")
                .args(["genpkey", "-algorithm", "RSA"])
                .args(["-pkeyopt", "rsa_keygen_bits:2048", "-out"])
                .arg(&key),
            "generating the key",
        );
        let public = stdout_of(
            Command::new("openssl")
                .args(["pkey", "-pubout", "-in"])
                .arg(&key),
            "the public key",
        );

        let mut things = VaultThings::default();
        let policy = format!("dbaas-acc-jwt-{v}");
        things.policy(&policy, "dbaas-provider.hcl");
        things.auth_mount(&mount, "jwt");
        vault_post(
            &format!("auth/{mount}/config"),
            &json!({ "jwt_validation_pubkeys": [public], "bound_issuer": "dbaas-acc" }),
        );
        vault_post(
            &format!("auth/{mount}/role/ci"),
            &json!({ "role_type": "jwt", "bound_audiences": ["dbaas"], "user_claim": "sub",
                     "token_policies": [policy], "token_no_default_policy": true, "token_ttl": "10m" }),
        );
        let jwt = sign_jwt(&key, "dbaas-acc", "dbaas", "ci-runner");

        // JWT from TERRAFORM_VAULT_AUTH_JWT, as a CI runner passes its OIDC token.
        let provider = provider_with_vault(&format!(
            "    auth_login_jwt {{\n      mount = \"{mount}\"\n      role  = \"ci\"\n    }}\n"
        ));
        let mut g = Case::new(&tf, &connection_only(&provider, &conn));
        g.track(&[], &[&conn], &[]);
        run_without_token(&g.w, &APPLY, &[("TERRAFORM_VAULT_AUTH_JWT", &jwt)]).ok();
        assert!(
            vault_get(&format!("database/config/{conn}")).is_some(),
            "written with the JWT login"
        );

        // A JWT for another audience is refused; the error names method and mount.
        let wrong = sign_jwt(&key, "dbaas-acc", "someone-else", "ci-runner");
        let r = run_without_token(
            &g.w,
            &["plan", "-no-color", "-input=false"],
            &[("TERRAFORM_VAULT_AUTH_JWT", &wrong)],
        )
        .failed();
        let all = crate::fixture::flat(&r.all());
        assert!(
            all.contains(&format!("Vault login with jwt at auth/{mount} failed")),
            "{all}"
        );
        assert!(!all.contains(&wrong), "the JWT must not appear in errors");

        // auth_login_kubernetes: the token file is read at login and posted as {role, jwt}.
        let token_file = dir.path().join("sa-token");
        std::fs::write(&token_file, format!("{jwt}\n")).expect("token file");
        let provider = provider_with_vault(&format!(
            "    auth_login_kubernetes {{\n      mount    = \"{mount}\"\n      role     = \"ci\"\n      jwt_file = \"{}\"\n    }}\n",
            token_file.display()
        ));
        g.w.write(&connection_only(&provider, &conn));
        assert_plan_empty_without_token(&g.w, true, "refresh through the kubernetes login");
        destroy_without_token(&mut g, &conn, &[]);
        assert_login_tokens_revoked(&mount, &json!({ "role": "ci", "jwt": jwt }));
    }
}

#[test]
fn vault_auth_token_file_in_home() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let conn = format!("pghome_{v}");
        let mut things = VaultThings::default();
        let policy = format!("dbaas-acc-home-{v}");
        things.policy(&policy, "dbaas-provider.hcl");
        let token = things.token(&policy);
        let home = tempfile::tempdir().expect("temp dir");
        std::fs::write(home.path().join(".vault-token"), &token).expect("token file");
        let home_s = home.path().display().to_string();
        let mut g = Case::new(&tf, &connection_only(&provider_with_vault(""), &conn));
        g.track(&[], &[&conn], &[]);
        run_without_token(&g.w, &APPLY, &[("HOME", &home_s)]).ok();
        let cfg =
            vault_get(&format!("database/config/{conn}")).expect("written with the file's token");
        assert_eq!(cfg["data"]["plugin_name"], "postgresql-database-plugin");

        // No token anywhere: the error says where a token may come from.
        let empty = tempfile::tempdir().expect("temp dir");
        let r = run_without_token(
            &g.w,
            &["plan", "-no-color", "-input=false"],
            &[("HOME", &empty.path().display().to_string())],
        )
        .failed();
        assert!(r.all().contains("no Vault token"), "{}", r.all());

        destroy_without_token(&mut g, &conn, &[("HOME", &home_s)]);
    }
}

/// The backend directly: a login token with a 3 s TTL (6 s max) stays usable for 9 s of
/// calls (renewed, then obtained again at the max TTL); eight parallel first calls with a
/// one-use secret ID all succeed (one login); shutdown revokes the token.
#[test]
fn vault_auth_login_token_is_renewed_shared_and_revoked() {
    use terraform_provider_dbaas::backends::settings::{
        Secret, Settings, VaultLogin, VaultSettings,
    };
    use terraform_provider_dbaas::backends::Backends;

    let mount = format!("approle-acc-renew-{}", std::process::id());
    let mut things = VaultThings::default();
    let policy = format!("dbaas-acc-renew-{}", std::process::id());
    things.policy(&policy, "dbaas-provider.hcl");
    things.auth_mount(&mount, "approle");
    let role_id = approle_role(
        &mount,
        &policy,
        json!({ "token_ttl": "3s", "token_max_ttl": "6s" }),
    );
    let backends = |secret: String| {
        Backends::new(Settings {
            vault: Some(VaultSettings {
                address: stack("VAULT_ADDR"),
                token: Secret::None,
                mount: "database".into(),
                tls: Default::default(),
                namespace: None,
                allow_custom_statements: false,
                connect_timeout: 10,
                login: Some(VaultLogin::AppRole {
                    mount: mount.clone(),
                    role_id: role_id.clone(),
                    secret_id: Some(secret),
                }),
            }),
            ..Settings::default()
        })
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // Parallel first calls: the secret ID works once, so they all succeed only if they
        // share one login.
        let b = backends(secret_id(&mount, 1));
        let vault = b.vault().await.expect("client");
        let calls = (0..8).map(|_| vault.read("database/config/acc-none-such"));
        for r in futures_join_all(calls).await {
            r.expect("every parallel first call succeeds on one login");
        }
        b.shutdown().await;
        // Beyond the TTL and the max TTL, calls keep working (renewed, then a new login).
        let b = backends(secret_id(&mount, 0));
        let vault = b.vault().await.expect("client");
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(3)).await;
            vault
                .read("database/config/acc-none-such")
                .await
                .expect("token kept alive");
        }
        b.shutdown().await;
    });
    // Tokens replaced by a new login expire on their own within their 3 s TTL.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        login_tokens(&mount).is_empty(),
        "shutdown must revoke the current token"
    );
}

/// Runs futures concurrently on the current task; their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let set: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    let mut set: Vec<Option<_>> = set.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, slot) in set.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        outputs[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Validate and a plan that needs no backend work with every login block while Vault is
/// out of reach: nothing logs in before a resource needs Vault.
#[test]
fn vault_auth_login_blocks_need_no_connection_at_validate_and_plan() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("sa-token");
    std::fs::write(&token_file, "header.claims.signature").expect("token file");
    let blocks = [
        "auth_login_approle {\n      role_id   = \"r\"\n      secret_id = \"s\"\n    }".to_string(),
        "auth_login_jwt {\n      role = \"ci\"\n      jwt  = \"a.b.c\"\n    }".to_string(),
        format!(
            "auth_login_kubernetes {{\n      role     = \"r\"\n      jwt_file = \"{}\"\n    }}",
            token_file.display()
        ),
    ];
    for tf in each_terraform() {
        for block in &blocks {
            let w = Workdir::new(
                &tf,
                &format!("provider \"dbaas\" {{\n  vault {{\n    address = \"http://127.0.0.1:1\"\n    {block}\n  }}\n}}\ndata \"dbaas_endpoints\" \"this\" {{}}\n"),
            );
            run_without_token(&w, &["validate", "-no-color"], &[]).ok();
            run_without_token(&w, &["plan", "-no-color", "-input=false"], &[]).ok();
        }
        // Two login blocks: an error on the second, at validate.
        let w = Workdir::new(
            &tf,
            &format!("provider \"dbaas\" {{\n  vault {{\n    address = \"http://127.0.0.1:1\"\n    {}\n    {}\n  }}\n}}\ndata \"dbaas_endpoints\" \"this\" {{}}\n", blocks[0], blocks[1]),
        );
        let r = run_without_token(&w, &["plan", "-no-color", "-input=false"], &[]).failed();
        assert!(
            r.all().contains("Only one Vault auth method"),
            "{}",
            r.all()
        );
        assert!(r.all().contains("auth_login_jwt"), "{}", r.all());
    }
}

/// The stack's own `jwt/` auth method (key pair made by `scripts/dev-stack`, issuer
/// `DBAAS_JWT_ISSUER`): a JWT signed with `DBAAS_JWT_SIGNING_KEY` logs in through
/// `auth_login_jwt` with its default mount, and the token is revoked when the run ends.
#[test]
fn vault_auth_jwt_with_the_stack_signing_key() {
    let key = std::path::PathBuf::from(stack("DBAAS_JWT_SIGNING_KEY"));
    let issuer = stack("DBAAS_JWT_ISSUER");
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let conn = format!("pgsjwt_{v}");
        let role_name = format!("dbaas-acc-{v}-{}", std::process::id());
        let mut things = VaultThings::default();
        let policy = format!("dbaas-acc-sjwt-{v}");
        things.policy(&policy, "dbaas-provider.hcl");
        vault_post(
            &format!("auth/jwt/role/{role_name}"),
            &json!({ "role_type": "jwt", "bound_audiences": ["dbaas"], "user_claim": "sub",
                     "token_policies": [policy], "token_no_default_policy": true, "token_ttl": "10m" }),
        );
        let jwt = sign_jwt(&key, &issuer, "dbaas", "ci-runner");
        let provider = provider_with_vault(&format!(
            "    auth_login_jwt {{\n      role = \"{role_name}\"\n      jwt  = \"{jwt}\"\n    }}\n"
        ));
        let mut g = Case::new(&tf, &connection_only(&provider, &conn));
        g.track(&[], &[&conn], &[]);
        run_without_token(&g.w, &APPLY, &[]).ok();
        assert!(vault_get(&format!("database/config/{conn}")).is_some());
        destroy_without_token(&mut g, &conn, &[]);
        assert_role_tokens_revoked(
            "jwt",
            Some(&role_name),
            &json!({ "role": role_name, "jwt": jwt }),
        );
        let _ = vault_delete(&format!("auth/jwt/role/{role_name}"));
    }
}

/// The backend directly: when the background re-login fails (here: the Kubernetes token
/// file is gone at that moment), the client does not keep sending the expired token for
/// the rest of the run; once the file is back, the next request logs in again. Batch
/// tokens (3 s) are never renewable, so a re-login is due at 2 s.
#[test]
fn vault_auth_a_failed_relogin_is_retried_on_the_next_request() {
    use terraform_provider_dbaas::backends::settings::{
        Secret, Settings, VaultLogin, VaultSettings,
    };
    use terraform_provider_dbaas::backends::Backends;

    let key = std::path::PathBuf::from(stack("DBAAS_JWT_SIGNING_KEY"));
    let role_name = format!("dbaas-acc-relogin-{}", std::process::id());
    let mut things = VaultThings::default();
    let policy = format!("dbaas-acc-relogin-{}", std::process::id());
    things.policy(&policy, "dbaas-provider.hcl");
    vault_post(
        &format!("auth/jwt/role/{role_name}"),
        &json!({ "role_type": "jwt", "bound_audiences": ["dbaas"], "user_claim": "sub",
                 "token_policies": [policy], "token_no_default_policy": true,
                 "token_type": "batch", "token_ttl": "3s", "token_max_ttl": "3s" }),
    );
    let jwt = sign_jwt(&key, &stack("DBAAS_JWT_ISSUER"), "dbaas", "ci-runner");
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("sa-token");
    std::fs::write(&token_file, &jwt).expect("token file");
    let b = Backends::new(Settings {
        vault: Some(VaultSettings {
            address: stack("VAULT_ADDR"),
            token: Secret::None,
            mount: "database".into(),
            tls: Default::default(),
            namespace: None,
            allow_custom_statements: false,
            connect_timeout: 10,
            login: Some(VaultLogin::Kubernetes {
                mount: "jwt".into(),
                role: role_name.clone(),
                jwt_file: token_file.display().to_string(),
            }),
        }),
        ..Settings::default()
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = rt.block_on(async {
        let vault = b.vault().await.expect("client");
        vault
            .read("database/config/acc-none-such")
            .await
            .expect("first login");
        // The re-login at 2 s fails; the token expires at 3 s.
        std::fs::remove_file(&token_file).expect("remove token file");
        tokio::time::sleep(Duration::from_millis(3500)).await;
        std::fs::write(&token_file, &jwt).expect("token file back");
        let r = vault.read("database/config/acc-none-such").await;
        b.shutdown().await;
        r.map(|_| ()).map_err(|e| e.to_string())
    });
    let _ = vault_delete(&format!("auth/jwt/role/{role_name}"));
    assert!(
        outcome.is_ok(),
        "after a failed re-login the next request logs in again: {outcome:?}"
    );
}
