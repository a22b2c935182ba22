//! Issue 21, item 7: error texts that name what failed. An admin password read from
//! Vault KV (`password_vault_path`) whose Vault login fails is reported as a Vault
//! failure naming the login method and mount, not as "Cannot reach PostgreSQL".

use crate::fixture::{apply_env, flat, hcl_str, pg_database, Cleanup};
use crate::harness::{stack, terraforms, version_tag, Workdir};

/// `postgres` reads its admin password from Vault; `vault` logs in with an AppRole at
/// a mount that does not exist, so the login fails.
fn provider_with_failing_login(mount: &str) -> String {
    format!(
        "provider \"dbaas\" {{\n  postgres {{\n    host                = {}\n    port                = {}\n    sslmode             = \"disable\"\n    password_vault_path = \"secret/data/acc/h5-no-login\"\n  }}\n  vault {{\n    address = {}\n    auth_login_approle {{\n      mount   = \"{mount}\"\n      role_id = \"nobody\"\n    }}\n  }}\n}}\n",
        hcl_str(&stack("PGHOST")),
        stack("PGPORT"),
        hcl_str(&stack("VAULT_ADDR")),
    )
}

#[test]
fn a_failed_vault_login_for_password_vault_path_names_vault_and_the_login_method() {
    for tf in terraforms() {
        let name = format!("acc_h5_vlogin_{}", version_tag(&tf));
        let _guard = Cleanup::tenants(&[&name]);
        let mount = "acc-h5-no-such-approle";
        let w = Workdir::new(
            &tf,
            &format!(
                "{}{}",
                provider_with_failing_login(mount),
                pg_database("x", &name)
            ),
        );
        // No admin login nor token from the environment: only the Vault login can help.
        let r = apply_env(
            &w,
            &[("PGPASSWORD", ""), ("PGUSER", ""), ("VAULT_TOKEN", "")],
        )
        .failed();
        // Terraform wraps long details: compare with the lines joined.
        let all = flat(&r.all());
        assert!(
            all.contains("Cannot read the PostgreSQL admin password from Vault"),
            "the summary names Vault and what was read, on {}: {all}",
            tf.version
        );
        assert!(
            all.contains(&format!("login with approle at auth/{mount} failed"))
                && all.contains("secret/data/acc/h5-no-login"),
            "the detail names the login method, its mount and the secret's path: {all}"
        );
        assert!(
            !all.contains("Cannot reach PostgreSQL"),
            "PostgreSQL was never tried: {all}"
        );
    }
}
