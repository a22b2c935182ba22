//! The acceptance harness: a temp directory per case with `main.tf`, a CLI config
//! whose `dev_overrides` points at this build's provider binary, and helpers to run
//! Terraform and read its outputs. No `terraform init`: v1.0.3 refuses it for
//! dev-overridden providers, and plan/apply work without it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

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

/// The provider block for the whole dev stack, with `${NAME}` standing for the stack's
/// variable `NAME` (see [`provider_block`]).
const PROVIDER_TEMPLATE: &str = r#"provider "dbaas" {
  postgres {
    host     = "${PGHOST}"
    port     = ${PGPORT}
    username = "${PGUSER}"
    password = "${PGPASSWORD}"
    sslmode  = "disable"
  }
  pgbouncer {
    host           = "${DBAAS_PGBOUNCER_HOST}"
    port           = ${DBAAS_PGBOUNCER_PORT}
    admin_username = "${DBAAS_PGBOUNCER_ADMIN_USER}"
    admin_password = "${DBAAS_PGBOUNCER_ADMIN_PASSWORD}"
    admin_hosts    = split(",", "${DBAAS_PGBOUNCER_ADMIN_HOSTS}")
    auth_user      = "${DBAAS_PGBOUNCER_AUTH_USER}"
  }
  mysql {
    host     = "${DBAAS_MYSQL_HOST}"
    port     = ${DBAAS_MYSQL_PORT}
    username = "${DBAAS_MYSQL_USER}"
    password = "${DBAAS_MYSQL_PASSWORD}"
  }
  redis {
    host     = "${DBAAS_REDIS_HOST}"
    port     = ${DBAAS_REDIS_PORT}
    password = "${DBAAS_REDIS_PASSWORD}"
  }
  vault {
    address = "${VAULT_ADDR}"
    token   = "${VAULT_TOKEN}"
  }
}
"#;

/// A provider block for the whole dev stack: [`PROVIDER_TEMPLATE`] with every `${NAME}`
/// replaced by the stack's variable (see [`stack`]).
pub fn provider_block() -> String {
    let mut out = String::new();
    let mut rest = PROVIDER_TEMPLATE;
    while let Some(start) = rest.find("${") {
        let end = rest[start..]
            .find('}')
            .map(|e| start + e)
            .expect("PROVIDER_TEMPLATE closes every ${");
        out.push_str(&rest[..start]);
        out.push_str(&stack(&rest[start + 2..end]));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
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
        Workdir::with_provider(tf, hcl, &provider_binary())
    }

    /// As [`Workdir::new`], with Terraform pointed at the provider binary `bin` (an earlier
    /// release, for the upgrade test).
    pub fn with_provider(tf: &Terraform, hcl: &str, bin: &Path) -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix("dbaas-acc-")
            .tempdir()
            .expect("temp dir");
        let plugin_dir = dir.path().join("plugins");
        std::fs::create_dir_all(&plugin_dir).expect("plugin dir");
        std::os::unix::fs::symlink(bin, plugin_dir.join("terraform-provider-dbaas"))
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

    /// Points this directory's Terraform at another provider binary (an upgrade or a
    /// rollback), keeping state and configuration.
    pub fn switch_provider(&self, bin: &Path) {
        let link = self.plugin_dir.join("terraform-provider-dbaas");
        std::fs::remove_file(&link).expect("remove provider symlink");
        std::os::unix::fs::symlink(bin, &link).expect("symlink provider");
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

    /// `terraform <args>` to run here, with extra environment.
    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
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
        cmd
    }

    /// Starts `terraform <args>` here in the background, in a process group of its own
    /// (whose id is the child's pid) to signal as a terminal does; its stdout and stderr
    /// written to `<name>.stdout` and `<name>.stderr` in this directory.
    pub fn start(&self, name: &str, args: &[&str]) -> Child {
        use std::os::unix::process::CommandExt;
        let file = |ext: &str| {
            std::fs::File::create(self.dir.path().join(format!("{name}.{ext}")))
                .expect("output file")
        };
        self.command(args, &[])
            .process_group(0)
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.tf.bin.display()))
    }

    /// What a command started with [`Workdir::start`] as `name` wrote, once it ended.
    pub fn finished(&self, name: &str, code: i32) -> Run {
        let read = |ext: &str| {
            std::fs::read_to_string(self.dir.path().join(format!("{name}.{ext}")))
                .unwrap_or_default()
        };
        Run {
            code,
            stdout: read("stdout"),
            stderr: read("stderr"),
        }
    }

    /// Runs `terraform <args>` here with extra environment.
    pub fn run_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let out: Output = self
            .command(args, extra)
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

    /// `terraform import -no-color <addr> <id>`.
    pub fn import(&self, addr: &str, id: &str) -> Run {
        self.run(&["import", "-no-color", "-input=false", addr, id])
    }

    /// `terraform state rm -no-color <addrs>`: forgets them, touching nothing outside.
    pub fn state_rm(&self, addrs: &[&str]) -> Run {
        self.run(&[&["state", "rm", "-no-color"], addrs].concat())
    }

    /// `terraform apply -auto-approve -no-color -parallelism=<n>`.
    pub fn apply_parallel(&self, n: u32) -> Run {
        self.run_parallel("apply", n)
    }

    /// `terraform destroy -auto-approve -no-color -parallelism=<n>`.
    pub fn destroy_parallel(&self, n: u32) -> Run {
        self.run_parallel("destroy", n)
    }

    fn run_parallel(&self, verb: &str, n: u32) -> Run {
        let parallelism = format!("-parallelism={n}");
        self.run(&[
            verb,
            "-auto-approve",
            "-no-color",
            "-input=false",
            &parallelism,
        ])
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

/// A `psql` command (no psqlrc, unaligned tuples only, stop on the first error) for an
/// explicit connection: `host` and `port`, database `db`, `user` with `password`.
/// None of the caller's `PG*` variables leak in.
pub fn psql_command(host: &str, port: &str, db: &str, user: &str, password: &str) -> Command {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(format!(
            "host={host} port={port} dbname='{}' user='{}' password='{}' sslmode=disable connect_timeout=10",
            db.replace('\\', "\\\\").replace('\'', "\\'"),
            user.replace('\\', "\\\\").replace('\'', "\\'"),
            password.replace('\\', "\\\\").replace('\'', "\\'"),
        ));
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `sql` with `psql` on 127.0.0.1 (`PGHOST`) at `port` as `user`; trimmed stdout on
/// success, stderr (with stdout) on failure.
pub fn psql(db: &str, user: &str, password: &str, port: &str, sql: &str) -> Result<String, String> {
    run_psql(
        &mut psql_command(&stack("PGHOST"), port, db, user, password),
        sql,
    )
}

/// Runs `sql` with the `psql` command `cmd` (from [`psql_command`], perhaps with more
/// environment); trimmed stdout on success, stderr (with stdout) on failure.
pub fn run_psql(cmd: &mut Command, sql: &str) -> Result<String, String> {
    let out = cmd
        .arg("-c")
        .arg(sql)
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr).trim(),
            if stdout.is_empty() {
                String::new()
            } else {
                format!("\n(stdout: {stdout})")
            }
        ))
    }
}

/// Runs `sql` in database `db` as the dev stack's PostgreSQL admin, directly on the primary.
pub fn psql_admin(db: &str, sql: &str) -> Result<String, String> {
    psql(
        db,
        &stack("PGUSER"),
        &stack("PGPASSWORD"),
        &stack("PGPORT"),
        sql,
    )
}

/// Runs an admin console command (`SHOW DATABASES`, ...) on the PgBouncer at `port`;
/// returns the rows as column-name → value maps.
pub fn pgbouncer_admin(
    port: &str,
    command: &str,
) -> Result<Vec<std::collections::HashMap<String, String>>, String> {
    let out = psql_command(
        &stack("DBAAS_PGBOUNCER_HOST"),
        port,
        "pgbouncer",
        &stack("DBAAS_PGBOUNCER_ADMIN_USER"),
        &stack("DBAAS_PGBOUNCER_ADMIN_PASSWORD"),
    )
    .args(["-P", "tuples_only=off", "-P", "footer=off", "-c", command])
    .output()
    .map_err(|e| format!("cannot run psql: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split('|')
        .map(str::to_string)
        .collect();
    Ok(lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split('|').map(str::to_string))
                .collect()
        })
        .collect())
}

/// The ports of every PgBouncer replica (from `DBAAS_PGBOUNCER_ADMIN_HOSTS`).
pub fn pgbouncer_ports() -> Vec<String> {
    stack("DBAAS_PGBOUNCER_ADMIN_HOSTS")
        .split(',')
        .filter_map(|h| h.rsplit_once(':').map(|(_, p)| p.to_string()))
        .collect()
}

/// Runs `cmd`, which must succeed (the panic shows the command and both streams); its
/// stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The digits of a Terraform version (`v1.0.3` → `103`), for names unique per version.
pub fn version_tag(tf: &Terraform) -> String {
    tf.version.chars().filter(char::is_ascii_digit).collect()
}

/// One call to the dev stack's Vault HTTP API (`VAULT_ADDR`, `VAULT_TOKEN`) with `curl`:
/// `method` (`GET`, `LIST`, `POST`, `PUT`, `DELETE`) on `/v1/<path>` with an optional JSON
/// body. Returns the HTTP status and the parsed body (`Null` when empty or not JSON).
pub fn vault_request(
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    use std::io::Write;
    let url = format!(
        "{}/v1/{}",
        stack("VAULT_ADDR").trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        "30",
        "-X",
        method,
        "-w",
        "\n%{http_code}",
    ])
    .args(["-H", &format!("X-Vault-Token: {}", stack("VAULT_TOKEN"))])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    if body.is_some() {
        cmd.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ]);
    }
    cmd.arg(&url);
    let mut child = cmd.spawn().expect("cannot run curl");
    if let Some(b) = body {
        child
            .stdin
            .take()
            .expect("curl stdin")
            .write_all(b.to_string().as_bytes())
            .expect("write curl stdin");
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("curl output");
    let text = String::from_utf8_lossy(&out.stdout);
    let (payload, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let code = code.trim().parse::<u16>().unwrap_or_else(|_| {
        panic!(
            "curl {method} {url} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        code,
        serde_json::from_str(payload).unwrap_or(serde_json::Value::Null),
    )
}

/// `GET <path>`: the body, `None` on 404; panics on any other failure.
pub fn vault_get(path: &str) -> Option<serde_json::Value> {
    match vault_request("GET", path, None) {
        (200, v) => Some(v),
        (404, _) => None,
        (code, v) => panic!("vault GET {path}: HTTP {code}: {v}"),
    }
}

/// `LIST <path>`: the keys (empty when there are none).
pub fn vault_list(path: &str) -> Vec<String> {
    match vault_request("LIST", path, None) {
        (200, v) => v["data"]["keys"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        (404, _) => Vec::new(),
        (code, v) => panic!("vault LIST {path}: HTTP {code}: {v}"),
    }
}

/// `POST <path>` with a JSON body; the response body (`Null` for 204); panics unless 2xx.
pub fn vault_post(path: &str, body: &serde_json::Value) -> serde_json::Value {
    vault_send("POST", path, body)
}

/// `PUT <path>` with a JSON body; the response body (`Null` for 204); panics unless 2xx.
pub fn vault_put(path: &str, body: &serde_json::Value) -> serde_json::Value {
    vault_send("PUT", path, body)
}

fn vault_send(method: &str, path: &str, body: &serde_json::Value) -> serde_json::Value {
    match vault_request(method, path, Some(body)) {
        (200..=299, v) => v,
        (code, v) => panic!("vault {method} {path}: HTTP {code}: {v}"),
    }
}

/// `DELETE <path>`; `Err` with the status and body unless 2xx or 404.
pub fn vault_delete(path: &str) -> Result<(), String> {
    match vault_request("DELETE", path, None) {
        (200..=299 | 404, _) => Ok(()),
        (code, v) => Err(format!("vault DELETE {path}: HTTP {code}: {v}")),
    }
}
