//! Release artifacts as users install them. `make release` is built once (a release build, the
//! slow part: minutes) and packaged again by each case: two runs must give the same
//! SHA256SUMS, and a second build from a copy of the tree at another path must too (skipped
//! with `DBAAS_RELEASE_REBUILD=0`). With `GPG_FINGERPRINT` the sums are signed: a throwaway key
//! signs, `gpg --verify` checks, and each Terraform installs the zip from a private registry
//! that serves that signature and key. `make mirror` is served over HTTPS from loopback with a
//! throwaway CA, each Terraform runs `init` against it as a network mirror, and the lock file
//! must hold the mirror's `h1:` hash (Terraform computes its own, so this checks ours).
//!
//! Needs `make`, `zip`/`unzip`, `gpg`, `openssl` and `python3` (scripts/dev-stack installs them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use crate::harness::{run_ok, terraforms};

const NAME: &str = "terraform-provider-dbaas";
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the cases keep their release outputs (under `target/`, git-ignored).
fn work_dir() -> PathBuf {
    repo_root().join("target/acc-release")
}

/// The platform Terraform names for this machine, e.g. `linux_amd64`.
fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

fn zip_name() -> String {
    format!("{NAME}_{VERSION}_{}.zip", host_platform())
}

fn sums_name() -> String {
    format!("{NAME}_{VERSION}_SHA256SUMS")
}

/// Runs `make <args>` in `dir` with `DIST=<dist>` and extra environment; stderr (the release
/// summary) on success, panics with both streams on failure.
fn make_in(dir: &Path, args: &[&str], dist: &Path, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("make");
    cmd.arg("--no-print-directory")
        .args(args)
        .arg(format!("DIST={}", dist.display()))
        .current_dir(dir)
        // A `make test` parent's jobserver does not reach us; keep make from complaining.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    // `cargo test` gives this process CARGO_PKG_NAME, CARGO_MANIFEST_DIR and the like; build
    // scripts that watch them (`rerun-if-env-changed`) would rebuild the whole release tree
    // whenever it is built alternately from here and from a shell.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        let set_by_cargo_test = k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_BIN_EXE_")
            || [
                "CARGO",
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_MANIFEST_LINKS",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&k.as_ref());
        if set_by_cargo_test {
            cmd.env_remove(k.as_ref());
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("make runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "make {args:?} in {} failed\n--- stdout\n{}\n--- stderr\n{stderr}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn make_release(dist: &Path, env: &[(&str, &str)]) -> String {
    make_in(&repo_root(), &["release"], dist, env)
}

/// The first `make release` (the cargo release build), once per test process; every later
/// `make release` finds cargo's build fresh and only packages.
fn first_release() -> &'static (PathBuf, String) {
    static FIRST: OnceLock<(PathBuf, String)> = OnceLock::new();
    FIRST.get_or_init(|| {
        let dist = work_dir().join("dist-first");
        let t0 = Instant::now();
        let summary = make_release(&dist, &[]);
        eprintln!(
            "make release (release build when not cached): {:.1}s\n{summary}",
            t0.elapsed().as_secs_f64()
        );
        (dist, summary)
    })
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

#[test]
fn release_is_reproducible_and_names_the_platforms_it_could_not_build() {
    let (first, summary) = first_release();
    let platform = host_platform();

    // The summary names every platform: built, or not built with a reason.
    assert!(
        summary.contains(&format!("built      {platform}")),
        "make release says it built {platform}:\n{summary}"
    );
    for p in [
        "linux_amd64",
        "linux_arm64",
        "darwin_amd64",
        "darwin_arm64",
        "windows_amd64",
    ] {
        assert!(
            summary.contains(&format!("built      {p}"))
                || summary.contains(&format!("not built  {p}")),
            "make release says whether it built {p}:\n{summary}"
        );
    }

    // What a registry serves: the zip holding one executable, the manifest, the sums.
    let zip = first.join(zip_name());
    let listing = run_ok(Command::new("zipinfo").arg(&zip));
    let entries: Vec<&str> = listing.lines().filter(|l| l.starts_with('-')).collect();
    assert_eq!(entries.len(), 1, "one file in the zip:\n{listing}");
    assert!(
        entries[0].starts_with("-rwxr-xr-x")
            && entries[0].ends_with(&format!(" {NAME}_v{VERSION}")),
        "the zip holds {NAME}_v{VERSION}, mode 0755:\n{listing}"
    );
    let manifest: serde_json::Value = serde_json::from_str(&read(
        &first.join(format!("{NAME}_{VERSION}_manifest.json")),
    ))
    .expect("manifest is JSON");
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
    let sums = read(&first.join(sums_name()));
    assert!(
        sums.contains(&format!("{}  {}\n", sha256_hex(&zip), zip_name()))
            && sums.contains(&format!("  {NAME}_{VERSION}_manifest.json\n")),
        "SHA256SUMS covers the zip and the manifest:\n{sums}"
    );
    assert!(
        !first.join(format!("{}.sig", sums_name())).exists(),
        "no signature without GPG_FINGERPRINT"
    );

    // A second `make release`: same bytes.
    let second = work_dir().join("dist-second");
    let t0 = Instant::now();
    make_release(&second, &[]);
    eprintln!(
        "second make release (cargo fresh, packaging only): {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(
        sums,
        read(&second.join(sums_name())),
        "two make release runs give the same SHA256SUMS"
    );

    // A second build from scratch, from a copy of the tree at another path with its own target
    // directory: the paths must not reach the binary.
    if std::env::var("DBAAS_RELEASE_REBUILD").as_deref() == Ok("0") {
        eprintln!("note: DBAAS_RELEASE_REBUILD=0: the rebuild from another path is skipped");
        return;
    }
    let copy = work_dir().join("rebuild/tree");
    // From scratch every time: a copy kept from an earlier run holds files since deleted
    // and a target directory whose binary cargo may consider fresh.
    let _ = std::fs::remove_dir_all(&copy);
    copy_tree(&copy);
    let epoch = run_ok(
        Command::new("git")
            .args(["log", "-1", "--format=%ct"])
            .current_dir(repo_root()),
    );
    let rebuilt = work_dir().join("dist-rebuilt");
    let t0 = Instant::now();
    make_in(
        &copy,
        &["release"],
        &rebuilt,
        &[
            (
                "CARGO_TARGET_DIR",
                copy.join("target").to_str().expect("utf-8 path"),
            ),
            ("SOURCE_DATE_EPOCH", epoch.trim()),
        ],
    );
    eprintln!(
        "make release in a copy of the tree at {}: {:.1}s",
        copy.display(),
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(
        sums,
        read(&rebuilt.join(sums_name())),
        "a release built from another path with another target directory is byte-identical"
    );
}

/// Copies the tracked and untracked-but-not-ignored files of this checkout to `dest` (what a
/// fresh clone with these edits holds), keeping its `target/` for the next run.
fn copy_tree(dest: &Path) {
    std::fs::create_dir_all(dest).expect("create copy dir");
    let status = Command::new("bash")
        .arg("-c")
        .arg(
            "set -euo pipefail; git ls-files -z --cached --others --exclude-standard \
             | while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\\0' \"$f\"; done \
             | tar --null -T - -cf - | tar -xf - -C \"$1\"",
        )
        .arg("copy")
        .arg(dest)
        .current_dir(repo_root())
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "copying the tree to {} failed",
        dest.display()
    );
}

/// A throwaway CA and a server certificate for 127.0.0.1 and localhost it signed.
struct Tls {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn throwaway_tls(dir: &Path) -> Tls {
    let p = |n: &str| dir.join(n);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .args([
                "-days",
                "2",
                "-subj",
                "/CN=dbaas release test CA",
                "-keyout",
            ])
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("ca.pem")),
    );
    run_ok(
        Command::new("openssl")
            .arg("req")
            .args(ec)
            .args(["-subj", "/CN=127.0.0.1", "-keyout"])
            .arg(p("server.key"))
            .arg("-out")
            .arg(p("server.csr")),
    );
    std::fs::write(
        p("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .expect("write ext");
    run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-in"])
            .arg(p("server.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .arg("-CAcreateserial")
            .arg("-extfile")
            .arg(p("server.ext"))
            .arg("-out")
            .arg(p("server.pem")),
    );
    Tls {
        ca: p("ca.pem"),
        cert: p("server.pem"),
        key: p("server.key"),
    }
}

/// A static HTTPS file server on 127.0.0.1 (python3's http.server wrapped in TLS), stopped on
/// drop. Its request log goes to `<root>/../https.log`.
struct HttpsServer {
    child: Child,
    port: u16,
}

const SERVE_PY: &str = r#"
import functools, http.server, ssl, sys
root, cert, key = sys.argv[1:4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

impl HttpsServer {
    fn start(root: &Path, tls: &Tls) -> HttpsServer {
        use std::io::BufRead;
        let log = std::fs::File::create(root.with_file_name("https.log")).expect("log file");
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(SERVE_PY)
            .arg(root)
            .arg(&tls.cert)
            .arg(&tls.key)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the HTTPS server did not start (printed {line:?})")
        });
        HttpsServer { child, port }
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `terraform init` in a fresh directory requiring `source` at this version, with the CLI
/// config `cli` and the throwaway CA trusted; returns the directory and the lock file.
fn terraform_init(
    tf: &crate::harness::Terraform,
    source: &str,
    cli: &str,
    ca: &Path,
) -> (tempfile::TempDir, String) {
    let dir = tempfile::Builder::new()
        .prefix("dbaas-rel-")
        .tempdir()
        .expect("temp dir");
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            "terraform {{\n  required_providers {{\n    dbaas = {{\n      source  = \"{source}\"\n      version = \"= {VERSION}\"\n    }}\n  }}\n}}\n\nprovider \"dbaas\" {{}}\n"
        ),
    )
    .expect("main.tf");
    std::fs::write(dir.path().join("cli.tfrc"), cli).expect("cli config");
    let run = |args: &[&str]| {
        let out = Command::new(&tf.bin)
            .args(args)
            .current_dir(dir.path())
            .env("TF_CLI_CONFIG_FILE", dir.path().join("cli.tfrc"))
            .env("SSL_CERT_FILE", ca)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .env_remove("SSL_CERT_DIR")
            .env_remove("TF_LOG")
            .output()
            .expect("terraform runs");
        let all = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "terraform {} {args:?} failed:\n{all}",
            tf.version
        );
        all
    };
    let init = run(&["init", "-no-color", "-input=false"]);
    eprintln!("terraform {} init:\n{init}", tf.version);
    // The installed release binary starts and serves its schema.
    run(&["validate", "-no-color"]);
    let lock = read(&dir.path().join(".terraform.lock.hcl"));
    (dir, lock)
}

/// The `h1:` and `zh:` hashes a lock file records.
fn lock_hashes(lock: &str) -> Vec<String> {
    lock.split('"')
        .filter(|s| s.starts_with("h1:") || s.starts_with("zh:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn terraform_init_installs_from_the_https_network_mirror_with_the_mirrors_h1_hash() {
    first_release();
    let tmp = tempfile::Builder::new()
        .prefix("dbaas-mirror-")
        .tempdir()
        .expect("temp dir");
    let mirror = tmp.path().join("mirror");
    let dist = work_dir().join("dist-mirror");
    make_in(
        &repo_root(),
        &["mirror", &format!("DIR={}", mirror.display())],
        &dist,
        &[],
    );

    // The layout `terraform providers mirror` writes.
    let base = mirror.join("registry.terraform.io/infra/dbaas");
    let index: serde_json::Value =
        serde_json::from_str(&read(&base.join("index.json"))).expect("index.json");
    assert_eq!(index, serde_json::json!({ "versions": { VERSION: {} } }));
    let version: serde_json::Value =
        serde_json::from_str(&read(&base.join(format!("{VERSION}.json")))).expect("<version>.json");
    let archive = &version["archives"][host_platform()];
    assert_eq!(archive["url"], zip_name());
    let hashes: Vec<String> = archive["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| h.as_str().expect("hash string").to_string())
        .collect();
    let h1 = hashes
        .iter()
        .find(|h| h.starts_with("h1:"))
        .expect("an h1: hash")
        .clone();
    assert!(
        hashes.contains(&format!("zh:{}", sha256_hex(&base.join(zip_name())))),
        "zh: is the zip's sha256: {hashes:?}"
    );

    let tls = throwaway_tls(tmp.path());
    let server = HttpsServer::start(&mirror, &tls);
    let cli = format!(
        "provider_installation {{\n  network_mirror {{\n    url = \"https://127.0.0.1:{}/\"\n  }}\n}}\n",
        server.port
    );
    for tf in terraforms() {
        eprintln!("running on terraform {}", tf.version);
        let (_dir, lock) = terraform_init(&tf, "infra/dbaas", &cli, &tls.ca);
        assert!(
            lock.contains("provider \"registry.terraform.io/infra/dbaas\"")
                && lock.contains(&format!("version     = \"{VERSION}\"")),
            "the lock file names infra/dbaas {VERSION}:\n{lock}"
        );
        let locked = lock_hashes(&lock);
        assert!(
            locked.contains(&h1),
            "terraform {} computed the mirror's h1 ({h1}) for what it installed:\n{lock}",
            tf.version
        );
        for h in &locked {
            assert!(
                hashes.contains(h),
                "every hash terraform {} locked is one the mirror announced ({h} not in {hashes:?})",
                tf.version
            );
        }
    }
}

/// A throwaway GPG home with one RSA signing key (Terraform 1.0's OpenPGP library reads RSA,
/// not Ed25519); the agent it starts is stopped on drop.
struct GpgHome {
    dir: tempfile::TempDir,
    fingerprint: String,
}

impl GpgHome {
    fn new() -> GpgHome {
        // Under /tmp: gpg-agent's socket path must stay short.
        let dir = tempfile::Builder::new()
            .prefix("gpg-")
            .tempdir_in("/tmp")
            .expect("temp GNUPGHOME");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .expect("chmod GNUPGHOME");
        }
        let gpg = || gpg_command(dir.path());
        run_ok(gpg().args([
            "--passphrase",
            "",
            "--quick-gen-key",
            "dbaas release test <release-test@example.invalid>",
            "rsa3072",
            "sign",
            "1d",
        ]));
        let keys = run_ok(gpg().args(["--with-colons", "--list-secret-keys"]));
        let fingerprint = keys
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| f.len() == 40))
            .expect("fingerprint of the new key")
            .to_string();
        GpgHome { dir, fingerprint }
    }

    fn gpg(&self) -> Command {
        gpg_command(self.dir.path())
    }
}

fn gpg_command(home: &Path) -> Command {
    let mut cmd = Command::new("gpg");
    cmd.env("GNUPGHOME", home)
        .args(["--batch", "--pinentry-mode", "loopback"]);
    cmd
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.dir.path())
            .status();
    }
}

#[test]
fn gpg_fingerprint_signs_the_sums_and_terraform_verifies_them_from_a_private_registry() {
    let (first, _) = first_release();
    let gpg = GpgHome::new();
    let dist = work_dir().join("dist-signed");
    make_release(
        &dist,
        &[
            ("GPG_FINGERPRINT", gpg.fingerprint.as_str()),
            ("GNUPGHOME", gpg.dir.path().to_str().expect("utf-8 path")),
        ],
    );
    let sums = dist.join(sums_name());
    let sig = dist.join(format!("{}.sig", sums_name()));
    assert_eq!(
        read(&sums),
        read(&first.join(sums_name())),
        "signing does not change SHA256SUMS"
    );
    let sig_bytes = std::fs::read(&sig).expect("SHA256SUMS.sig written");
    assert!(
        !sig_bytes.starts_with(b"-----BEGIN"),
        "the signature is binary, not armored"
    );
    // gpg --verify accepts the signature.
    run_ok(gpg.gpg().arg("--verify").arg(&sig).arg(&sums));
    let tampered = dist.join("tampered");
    std::fs::write(&tampered, format!("{}0000  extra\n", read(&sums))).expect("write");
    assert!(
        !gpg.gpg()
            .arg("--verify")
            .arg(&sig)
            .arg(&tampered)
            .status()
            .expect("gpg")
            .success(),
        "gpg --verify refuses changed sums"
    );

    // A private registry (static files: service discovery, versions, download) serving the
    // zip, the sums, the signature and the public key; Terraform checks the signature.
    let tmp = tempfile::Builder::new()
        .prefix("dbaas-registry-")
        .tempdir()
        .expect("temp dir");
    let root = tmp.path().join("registry");
    let files = root.join("files");
    std::fs::create_dir_all(&files).expect("files dir");
    for f in [zip_name(), sums_name(), format!("{}.sig", sums_name())] {
        std::fs::copy(dist.join(&f), files.join(&f)).expect("copy release file");
    }
    let armor = run_ok(gpg.gpg().args(["--armor", "--export", &gpg.fingerprint]));
    let tls = throwaway_tls(tmp.path());
    std::fs::create_dir_all(root.join(".well-known")).expect("well-known");
    std::fs::write(
        root.join(".well-known/terraform.json"),
        r#"{"providers.v1":"/v1/providers/"}"#,
    )
    .expect("discovery");
    let (os, arch) = host_platform()
        .split_once('_')
        .map(|(o, a)| (o.to_string(), a.to_string()))
        .expect("os_arch");
    let provider = root.join("v1/providers/infra/dbaas");
    std::fs::create_dir_all(provider.join(format!("{VERSION}/download/{os}"))).expect("dirs");
    std::fs::write(
        provider.join("versions"),
        serde_json::json!({"versions": [{"version": VERSION, "protocols": ["6.0"],
            "platforms": [{"os": os, "arch": arch}]}]})
        .to_string(),
    )
    .expect("versions");
    let server = HttpsServer::start(&root, &tls);
    let host = format!("localhost:{}", server.port);
    let url = |f: &str| format!("https://{host}/files/{f}");
    std::fs::write(
        provider.join(format!("{VERSION}/download/{os}/{arch}")),
        serde_json::json!({
            "protocols": ["6.0"], "os": os, "arch": arch,
            "filename": zip_name(),
            "download_url": url(&zip_name()),
            "shasums_url": url(&sums_name()),
            "shasums_signature_url": url(&format!("{}.sig", sums_name())),
            "shasum": sha256_hex(&dist.join(zip_name())),
            "signing_keys": {"gpg_public_keys": [{
                "key_id": &gpg.fingerprint[24..],
                "ascii_armor": armor,
            }]},
        })
        .to_string(),
    )
    .expect("download");
    let cli = "provider_installation {\n  direct {}\n}\n";
    for tf in terraforms() {
        eprintln!("running on terraform {}", tf.version);
        let (_dir, lock) = terraform_init(&tf, &format!("{host}/infra/dbaas"), cli, &tls.ca);
        // The registry's zh: hashes come from the signed SHA256SUMS.
        assert!(
            lock_hashes(&lock).contains(&format!("zh:{}", sha256_hex(&dist.join(zip_name())))),
            "terraform {} locked the signed sums' zh: hash:\n{lock}",
            tf.version
        );
    }
}
