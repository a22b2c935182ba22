//! The acceptance harness: a temp directory per case with `main.tf`, a CLI config
//! whose `dev_overrides` points at this build's provider binary, and helpers to run
//! Terraform and read its outputs. No `terraform init`: v1.0.3 refuses it for
//! dev-overridden providers, and plan/apply work without it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One Terraform binary under test.
#[derive(Debug, Clone)]
pub struct Terraform {
    /// Path to the binary.
    pub bin: PathBuf,
    /// What `terraform version` said, e.g. `v1.0.3`.
    pub version: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The value of a variable `scripts/dev-stack env` exports; panics with a hint if the
/// stack's environment is missing, because then nothing here can run.
pub fn stack(name: &str) -> String {
    env(name).unwrap_or_else(|| panic!("{name} is not set: run the acceptance tests through `make test`, or `eval \"$(scripts/dev-stack env)\"` first"))
}

fn version_of(bin: &Path) -> Option<String> {
    let out = Command::new(bin)
        .arg("version")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1).map(str::to_string)
}

/// Terraform v1.0.3 always, plus the newer Terraform when present (`DBAAS_TERRAFORM_NEW`,
/// else `/usr/local/bin/terraform`). Prints which versions run.
pub fn terraforms() -> Vec<Terraform> {
    let old = PathBuf::from(stack("DBAAS_TERRAFORM"));
    let mut list = vec![Terraform {
        version: version_of(&old).unwrap_or_else(|| panic!("{} does not run", old.display())),
        bin: old,
    }];
    let newer = env("DBAAS_TERRAFORM_NEW")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/local/bin/terraform")).filter(|p| p.exists()));
    match newer.and_then(|p| version_of(&p).map(|v| Terraform { bin: p, version: v })) {
        Some(t) if t.version != list[0].version => list.push(t),
        _ => eprintln!("note: no newer Terraform found (DBAAS_TERRAFORM_NEW or /usr/local/bin/terraform); running on {} only", list[0].version),
    }
    list
}

/// The provider binary cargo built for this test run.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-dbaas"))
}

/// A provider block for the whole dev stack.
pub fn provider_block() -> String {
    format!(
        r#"provider "dbaas" {{
  postgres {{
    host     = "{pg_host}"
    port     = {pg_port}
    username = "{pg_user}"
    password = "{pg_password}"
    sslmode  = "disable"
  }}
  pgbouncer {{
    host           = "{pgb_host}"
    port           = {pgb_port}
    admin_username = "{pgb_admin}"
    admin_password = "{pgb_admin_password}"
    admin_hosts    = [{admin_hosts}]
    auth_user      = "{pgb_auth}"
  }}
  mysql {{
    host     = "{my_host}"
    port     = {my_port}
    username = "{my_user}"
    password = "{my_password}"
  }}
  redis {{
    host     = "{redis_host}"
    port     = {redis_port}
    password = "{redis_password}"
  }}
  vault {{
    address = "{vault_addr}"
    token   = "{vault_token}"
  }}
}}
"#,
        pg_host = stack("PGHOST"),
        pg_port = stack("PGPORT"),
        pg_user = stack("PGUSER"),
        pg_password = stack("PGPASSWORD"),
        pgb_host = stack("DBAAS_PGBOUNCER_HOST"),
        pgb_port = stack("DBAAS_PGBOUNCER_PORT"),
        pgb_admin = stack("DBAAS_PGBOUNCER_ADMIN_USER"),
        pgb_admin_password = stack("DBAAS_PGBOUNCER_ADMIN_PASSWORD"),
        admin_hosts = stack("DBAAS_PGBOUNCER_ADMIN_HOSTS")
            .split(',')
            .map(|h| format!("\"{h}\""))
            .collect::<Vec<_>>()
            .join(", "),
        pgb_auth = stack("DBAAS_PGBOUNCER_AUTH_USER"),
        my_host = stack("DBAAS_MYSQL_HOST"),
        my_port = stack("DBAAS_MYSQL_PORT"),
        my_user = stack("DBAAS_MYSQL_USER"),
        my_password = stack("DBAAS_MYSQL_PASSWORD"),
        redis_host = stack("DBAAS_REDIS_HOST"),
        redis_port = stack("DBAAS_REDIS_PORT"),
        redis_password = stack("DBAAS_REDIS_PASSWORD"),
        vault_addr = stack("VAULT_ADDR"),
        vault_token = stack("VAULT_TOKEN"),
    )
}

/// The `terraform {}` block naming our provider.
pub const REQUIRED_PROVIDERS: &str = r#"terraform {
  required_providers {
    dbaas = { source = "infra/dbaas" }
  }
}
"#;

/// A working directory for one case on one Terraform.
pub struct Workdir {
    dir: tempfile::TempDir,
    /// The Terraform running this case.
    pub tf: Terraform,
    /// Where the provider symlink lives; its path is unique to this case, so the
    /// provider processes of this case can be found by their command line.
    pub plugin_dir: PathBuf,
}

/// The result of one Terraform command.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with both streams unless the command succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "terraform failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the command failed.
    pub fn failed(self) -> Run {
        assert_ne!(
            self.code, 0,
            "terraform unexpectedly succeeded\n--- stdout\n{}",
            self.stdout
        );
        self
    }

    /// stdout and stderr together, for message assertions.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Workdir {
    /// A fresh directory with `main.tf` = required providers + `hcl`.
    pub fn new(tf: &Terraform, hcl: &str) -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix("dbaas-acc-")
            .tempdir()
            .expect("temp dir");
        let plugin_dir = dir.path().join("plugins");
        std::fs::create_dir_all(&plugin_dir).expect("plugin dir");
        std::os::unix::fs::symlink(
            provider_binary(),
            plugin_dir.join("terraform-provider-dbaas"),
        )
        .expect("symlink provider");
        let cli = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"infra/dbaas\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            plugin_dir.display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).expect("cli config");
        let w = Workdir {
            dir,
            tf: tf.clone(),
            plugin_dir,
        };
        w.write(hcl);
        w
    }

    /// Replaces `main.tf` (keeping the required_providers block).
    pub fn write(&self, hcl: &str) {
        std::fs::write(
            self.dir.path().join("main.tf"),
            format!("{REQUIRED_PROVIDERS}\n{hcl}"),
        )
        .expect("write main.tf");
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `terraform <args>` here with extra environment.
    pub fn run_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(&self.tf.bin);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out: Output = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.tf.bin.display()));
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }

    /// Runs `terraform <args>` here.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// `terraform apply -auto-approve -no-color`.
    pub fn apply(&self) -> Run {
        self.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
    }

    /// `terraform destroy -auto-approve -no-color`.
    pub fn destroy(&self) -> Run {
        self.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
    }

    /// Whether `terraform plan` finds nothing to change; panics on a failed plan.
    pub fn plan_is_empty(&self) -> bool {
        let r = self.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
        match r.code {
            0 => true,
            2 => {
                eprintln!("plan has changes:\n{}", r.stdout);
                false
            }
            _ => panic!("plan failed\n{}\n{}", r.stdout, r.stderr),
        }
    }

    /// `terraform output -json` as a map.
    pub fn outputs(&self) -> serde_json::Value {
        let r = self.run(&["output", "-json"]).ok();
        let all: serde_json::Value = serde_json::from_str(&r.stdout).expect("output -json is JSON");
        let mut values = serde_json::Map::new();
        if let Some(obj) = all.as_object() {
            for (k, v) in obj {
                values.insert(k.clone(), v["value"].clone());
            }
        }
        serde_json::Value::Object(values)
    }

    /// `terraform show -json`.
    pub fn show_json(&self) -> serde_json::Value {
        let r = self.run(&["show", "-json"]).ok();
        serde_json::from_str(&r.stdout).expect("show -json is JSON")
    }

    /// The raw `terraform.tfstate` text.
    pub fn state_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("terraform.tfstate")).unwrap_or_default()
    }

    /// Provider processes of this case still alive (found by their unique path).
    pub fn stray_providers(&self) -> Vec<u32> {
        let needle = self.plugin_dir.join("terraform-provider-dbaas");
        let needle = needle.to_string_lossy();
        let mut pids = Vec::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                if let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) {
                    let cmd = String::from_utf8_lossy(&cmdline);
                    if cmd.split('\0').next() == Some(needle.as_ref()) {
                        pids.push(pid);
                    }
                }
            }
        }
        pids
    }
}
