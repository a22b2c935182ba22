//! The provider binary started the way Terraform starts it: magic cookie, protocol
//! negotiation, AutoMTLS with a Terraform-shaped client certificate (self-signed ECDSA
//! P-521/SHA-512, CA=true), the handshake line, gRPC over TLS on the unix socket, and
//! `plugin.GRPCController/Shutdown`.
//!
//! The binary is `$DBAAS_PROVIDER_BIN`, else `<workspace>/target/debug/terraform-provider-dbaas`,
//! built with `cargo build --bin terraform-provider-dbaas` when missing or older than its
//! sources. Every child is owned by a guard that kills it (and removes its socket
//! directory) when a test fails, so no stray processes remain.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tfplugin::proto::plugin as gp;
use tfplugin::proto::tfplugin6 as pb;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::transport::{Channel, Endpoint, Uri};

/// Terraform's value, written out rather than taken from the crate under test.
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// Generous bound for anything that should take milliseconds (a debug build on a busy CI box).
const PATIENCE: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------
// Locating (and if needed building) the provider binary
// ---------------------------------------------------------------------------------------

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Newest modification time of the files the binary is built from.
fn newest_source(root: &Path) -> Option<SystemTime> {
    fn walk(p: &Path, newest: &mut Option<SystemTime>) {
        let Ok(meta) = std::fs::metadata(p) else {
            return;
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(p).into_iter().flatten().flatten() {
                walk(&entry.path(), newest);
            }
        } else if let Ok(m) = meta.modified() {
            *newest = Some(newest.map_or(m, |n| n.max(m)));
        }
    }
    let mut newest = None;
    for rel in [
        "Cargo.toml",
        "Cargo.lock",
        "src",
        "proto",
        "crates/tfplugin/src",
        "crates/tfplugin/build.rs",
        "crates/tfplugin/Cargo.toml",
    ] {
        walk(&root.join(rel), &mut newest);
    }
    newest
}

fn cargo_build(root: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args(["build", "--bin", "terraform-provider-dbaas"])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cargo:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo build --bin terraform-provider-dbaas` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn provider_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("DBAAS_PROVIDER_BIN").filter(|s| !s.is_empty()) {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "DBAAS_PROVIDER_BIN={} is not a file",
                bin.display()
            );
            return bin;
        }
        let root = workspace_root();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(|t| root.join(t))
            .unwrap_or_else(|| root.join("target"));
        let bin = target.join("debug").join("terraform-provider-dbaas");
        let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
        match built {
            None => {
                eprintln!("mtls: {} is missing; building it", bin.display());
                cargo_build(&root).unwrap_or_else(|e| panic!("{e}"));
            }
            Some(built) if newest_source(&root).is_some_and(|src| src > built) => {
                // A stale binary would test yesterday's code; a broken work tree should
                // not hide the binary that exists, so fall back to it loudly.
                eprintln!(
                    "mtls: {} is older than its sources; rebuilding",
                    bin.display()
                );
                if let Err(e) = cargo_build(&root) {
                    eprintln!("mtls: WARNING: rebuild failed, testing the existing binary:\n{e}");
                }
            }
            Some(_) => {}
        }
        assert!(
            bin.is_file(),
            "{} does not exist after `cargo build`",
            bin.display()
        );
        bin
    })
}

// ---------------------------------------------------------------------------------------
// Certificates: Terraform's client identity, and pinning the server's
// ---------------------------------------------------------------------------------------

/// A client identity shaped like go-plugin's `generateCert`: ECDSA P-521, signed with
/// SHA-512, CA=true, CN/SAN localhost, organisation HashiCorp, client+server auth.
struct ClientIdentity {
    pem: String,
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    fn terraform_like() -> Self {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "HashiCorp");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
            rcgen::KeyUsagePurpose::KeyAgreement,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert = params
            .self_signed(&key)
            .expect("self-signed P-521 certificate");
        ClientIdentity {
            pem: cert.pem(),
            der: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }
}

/// What go-plugin's client does with the handshake line: trust exactly that certificate
/// (as the only root) for server name `localhost`, and check the handshake signatures.
#[derive(Debug)]
struct PinnedServerCert {
    der: Vec<u8>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServerCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() != self.der.as_slice() {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ));
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn client_tls(server_der: &[u8], identity: Option<&ClientIdentity>) -> Arc<rustls::ClientConfig> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let verifier = PinnedServerCert {
        der: server_der.to_vec(),
        algorithms: provider.signature_verification_algorithms,
    };
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![id.der.clone()], id.key.clone_key())
            .expect("client auth cert"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

// ---------------------------------------------------------------------------------------
// The child process and its guard
// ---------------------------------------------------------------------------------------

/// The environment Terraform gives a provider (go-plugin's client).
fn terraform_command(versions: &str, client_pem: Option<&str>) -> Command {
    let mut cmd = Command::new(provider_bin());
    for var in [
        "TF_PLUGIN_MAGIC_COOKIE",
        "PLUGIN_PROTOCOL_VERSIONS",
        "PLUGIN_CLIENT_CERT",
        "PLUGIN_UNIX_SOCKET_DIR",
        "TF_LOG",
        "TF_LOG_PROVIDER",
        "TF_REATTACH_PROVIDERS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_PROTOCOL_VERSIONS", versions);
    if let Some(pem) = client_pem {
        cmd.env("PLUGIN_CLIENT_CERT", pem);
    }
    cmd
}

/// Owns a running provider: kills it and removes its socket directory on drop.
struct Plugin {
    child: Child,
    stdout: ChildStdout,
    stderr: Arc<Mutex<Vec<u8>>>,
    socket_dir: Option<PathBuf>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(dir) = &self.socket_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Plugin {
    fn spawn(mut cmd: Command) -> Plugin {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", provider_bin().display()));
        let stdout = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        // Drain stderr so logging can never block the child on a full pipe.
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Plugin {
            child,
            stdout,
            stderr,
            socket_dir: None,
        }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Reads stdout up to the first newline (Terraform reads exactly one line).
    fn first_line(&mut self) -> String {
        match read_line_until(&mut self.stdout, Instant::now() + PATIENCE) {
            Ok(line) => line,
            Err(e) => panic!("no handshake line: {e}\nstderr:\n{}", self.stderr()),
        }
    }

    /// Waits for exit, returning `None` on timeout.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Reads all of stdout and waits for exit (for runs that should end by themselves).
    fn finish(mut self) -> (ExitStatus, String, String) {
        let status = self
            .wait_exit(PATIENCE)
            .unwrap_or_else(|| panic!("the provider did not exit\nstderr:\n{}", self.stderr()));
        let mut out = Vec::new();
        let _ = self.stdout.read_to_end(&mut out);
        // The stderr thread ends at EOF, which follows the exit.
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(2) && Arc::strong_count(&self.stderr) > 1 {
            std::thread::sleep(Duration::from_millis(2));
        }
        (
            status,
            String::from_utf8_lossy(&out).into_owned(),
            self.stderr(),
        )
    }
}

/// Reads bytes up to `\n` from a pipe, giving up at `deadline` (poll(2), no threads).
fn read_line_until(stdout: &mut ChildStdout, deadline: Instant) -> Result<String, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "timed out; read so far: {:?}",
                String::from_utf8_lossy(&line)
            ));
        }
        let mut pfd = libc::pollfd {
            fd: stdout.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for a descriptor we own, for the duration of the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e.to_string());
        }
        if ready == 0 {
            continue;
        }
        match stdout.read(&mut byte) {
            Ok(0) => {
                return Err(format!(
                    "stdout closed; read so far: {:?}",
                    String::from_utf8_lossy(&line)
                ))
            }
            Ok(_) if byte[0] == b'\n' => return Ok(String::from_utf8_lossy(&line).into_owned()),
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The parsed handshake line.
struct Handshake {
    socket: PathBuf,
    server_der: Option<Vec<u8>>,
}

fn parse_handshake(line: &str) -> Handshake {
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(
        fields.len(),
        6,
        "the handshake line must have exactly 6 fields: {line:?}"
    );
    assert_eq!(&fields[..3], &["1", "6", "unix"], "{line:?}");
    assert_eq!(fields[4], "grpc", "{line:?}");
    let socket = PathBuf::from(fields[3]);
    assert!(
        socket.is_absolute(),
        "socket path must be absolute: {line:?}"
    );
    let server_der = (!fields[5].is_empty()).then(|| {
        assert!(
            !fields[5].contains('='),
            "go-plugin decodes the certificate with RawStdEncoding: no padding allowed: {line:?}"
        );
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(fields[5])
            .unwrap_or_else(|e| {
                panic!("certificate is not unpadded standard base64 ({e}): {line:?}")
            })
    });
    Handshake { socket, server_der }
}

/// A provider started as Terraform starts it, past its handshake line.
struct Started {
    plugin: Plugin,
    line: String,
    hs: Handshake,
}

fn start(versions: &str, client: Option<&ClientIdentity>) -> Started {
    let mut plugin = Plugin::spawn(terraform_command(versions, client.map(|c| c.pem.as_str())));
    let line = plugin.first_line();
    let hs = parse_handshake(&line);
    plugin.socket_dir = hs.socket.parent().map(Path::to_path_buf);
    Started { plugin, line, hs }
}

// ---------------------------------------------------------------------------------------
// gRPC over the unix socket
// ---------------------------------------------------------------------------------------

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

async fn tls_connect(
    socket: &Path,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::UnixStream>> {
    let stream = tokio::net::UnixStream::connect(socket).await?;
    let name = ServerName::try_from("localhost").expect("server name");
    tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
}

/// An HTTP/2 gRPC channel over the socket, through TLS when `tls` is given.
async fn channel(
    socket: &Path,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Channel, tonic::transport::Error> {
    let socket = socket.to_path_buf();
    let connector = tower::service_fn(move |_: Uri| {
        let socket = socket.clone();
        let tls = tls.clone();
        async move {
            let io: Box<dyn Io> = match tls {
                Some(config) => Box::new(tls_connect(&socket, config).await?),
                None => Box::new(tokio::net::UnixStream::connect(&socket).await?),
            };
            Ok::<_, std::io::Error>(TokioIo::new(io))
        }
    });
    // The authority is what go-plugin's client sends too; the socket decides where we go.
    Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {PATIENCE:?}"))
}

async fn get_schema(ch: Channel) -> Result<pb::get_provider_schema::Response, tonic::Status> {
    let mut client =
        pb::provider_client::ProviderClient::new(ch).max_decoding_message_size(usize::MAX);
    client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .map(tonic::Response::into_inner)
}

fn assert_dbaas_schema(schema: &pb::get_provider_schema::Response) {
    assert!(
        schema.diagnostics.is_empty(),
        "GetProviderSchema diagnostics: {:?}",
        schema.diagnostics
    );
    assert!(schema.provider.is_some(), "no provider schema");
    assert!(
        schema.data_source_schemas.contains_key("dbaas_endpoints"),
        "data sources: {:?}",
        schema.data_source_schemas.keys().collect::<Vec<_>>()
    );
}

/// A connection attempt that must be refused: either connect or the first RPC fails
/// (with TLS 1.3 the client finishes its half of the handshake before the server has
/// judged the client certificate, so the refusal may only show on the first read).
async fn assert_refused(socket: &Path, config: Arc<rustls::ClientConfig>, who: &str) {
    // At the TLS layer: the server must answer with a fatal alert (or hang up), not data.
    let probe = within(who, async {
        use tokio::io::AsyncReadExt;
        let mut tls = tls_connect(socket, config.clone()).await?;
        let mut buf = [0u8; 64];
        // An accepted client would read the server's HTTP/2 SETTINGS frame here.
        tls.read(&mut buf).await
    })
    .await;
    match probe {
        Err(e) => eprintln!("{who}: TLS refused: {e}"),
        Ok(0) => eprintln!("{who}: TLS refused: connection closed"),
        Ok(n) => panic!(
            "{who}: the server sent {n} bytes of application data to a client it should refuse"
        ),
    }

    // At the gRPC layer: no RPC gets through.
    let outcome = within(who, async {
        match channel(socket, Some(config)).await {
            Err(e) => Err(format!("connect: {e}")),
            Ok(ch) => get_schema(ch).await.map_err(|s| format!("rpc: {s}")),
        }
    })
    .await;
    match outcome {
        Ok(_) => panic!("{who} was served GetProviderSchema; it must be refused"),
        Err(e) => eprintln!("{who}: gRPC refused: {e}"),
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// a) six fields, unpadded base64 DER, an X.509 certificate valid for `localhost` by SAN,
/// a private socket directory, and a TLS handshake that negotiates h2.
#[tokio::test]
async fn handshake_line_carries_a_localhost_certificate() {
    let id = ClientIdentity::terraform_like();
    let s = start("5,6", Some(&id));
    assert!(!s.line.contains('='), "{:?}", s.line);
    assert!(!s.line.ends_with('\r'), "{:?}", s.line);
    let der =
        s.hs.server_der
            .clone()
            .expect("AutoMTLS: the line must carry the server certificate");
    let cert = CertificateDer::from(der.clone());
    let parsed = rustls::server::ParsedCertificate::try_from(&cert)
        .expect("the server certificate must parse as X.509");
    rustls::client::verify_server_name(&parsed, &ServerName::try_from("localhost").unwrap()).expect("the server certificate needs SAN DNS:localhost (go-plugin's client checks it; CN alone is refused)");
    assert!(
        rustls::client::verify_server_name(&parsed, &ServerName::try_from("example.com").unwrap())
            .is_err(),
        "the name check must be real"
    );

    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    assert!(std::fs::metadata(&s.hs.socket)
        .expect("socket exists")
        .file_type()
        .is_socket());
    let mode = std::fs::metadata(s.plugin.socket_dir.as_ref().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the socket directory must be private, mode {mode:o}"
    );

    let tls = within(
        "TLS handshake",
        tls_connect(&s.hs.socket, client_tls(&der, Some(&id))),
    )
    .await
    .expect("TLS handshake with the pinned certificate, name localhost");
    let (_, conn) = tls.get_ref();
    assert_eq!(
        conn.alpn_protocol(),
        Some(&b"h2"[..]),
        "the server must select ALPN h2 (Terraform 1.12+ requires it)"
    );
    let peer = conn.peer_certificates().expect("peer certificate");
    assert_eq!(
        peer[0].as_ref(),
        der.as_slice(),
        "the TLS peer certificate must be the one from the handshake line"
    );
    // Accepted: the server opens HTTP/2 with its SETTINGS frame (the positive control
    // for the refusal probes below).
    let mut tls = tls;
    let mut buf = [0u8; 9];
    use tokio::io::AsyncReadExt;
    within("HTTP/2 SETTINGS", tls.read_exact(&mut buf))
        .await
        .expect("the accepted client reads the server's first HTTP/2 frame");
    assert_eq!(buf[3], 0x4, "the first HTTP/2 frame must be SETTINGS");
}

/// b) with Terraform's client certificate, GetProviderSchema and GetMetadata work, in
/// either order of `PLUGIN_PROTOCOL_VERSIONS`.
#[tokio::test]
async fn mtls_with_the_right_client_cert_serves_schema_and_metadata() {
    let id = ClientIdentity::terraform_like();
    for versions in ["5,6", "6,5"] {
        let s = start(versions, Some(&id));
        let tls = client_tls(s.hs.server_der.as_deref().expect("server cert"), Some(&id));
        let ch = within("connect", channel(&s.hs.socket, Some(tls)))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "connect ({versions}): {e:?}\nstderr:\n{}",
                    s.plugin.stderr()
                )
            });
        let schema = within("GetProviderSchema", get_schema(ch.clone()))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "GetProviderSchema ({versions}): {e}\nstderr:\n{}",
                    s.plugin.stderr()
                )
            });
        assert_dbaas_schema(&schema);

        let mut client = pb::provider_client::ProviderClient::new(ch);
        let meta = within(
            "GetMetadata",
            client.get_metadata(pb::get_metadata::Request {}),
        )
        .await
        .expect("GetMetadata")
        .into_inner();
        assert!(meta.diagnostics.is_empty(), "{:?}", meta.diagnostics);
        assert!(
            meta.data_sources
                .iter()
                .any(|d| d.type_name == "dbaas_endpoints"),
            "metadata data sources: {:?}",
            meta.data_sources
        );
        let mut names: Vec<_> = meta.resources.iter().map(|r| r.type_name.clone()).collect();
        names.sort();
        let mut schema_names: Vec<_> = schema.resource_schemas.keys().cloned().collect();
        schema_names.sort();
        assert_eq!(
            names, schema_names,
            "GetMetadata and GetProviderSchema must list the same resources"
        );
    }
}

/// c) a different P-521 client certificate (same shape, other key) is refused, and the
/// server keeps serving the right one afterwards.
#[tokio::test]
async fn a_different_client_cert_is_refused() {
    let id = ClientIdentity::terraform_like();
    let impostor = ClientIdentity::terraform_like();
    let s = start("5,6", Some(&id));
    let der = s.hs.server_der.clone().expect("server cert");
    assert_refused(
        &s.hs.socket,
        client_tls(&der, Some(&impostor)),
        "another P-521 client certificate",
    )
    .await;

    let ch = within(
        "connect",
        channel(&s.hs.socket, Some(client_tls(&der, Some(&id)))),
    )
    .await
    .expect("the right client still connects");
    assert_dbaas_schema(
        &within("GetProviderSchema", get_schema(ch))
            .await
            .expect("GetProviderSchema after a refused client"),
    );
}

/// d) a TLS client that presents no certificate is refused.
#[tokio::test]
async fn no_client_cert_is_refused() {
    let id = ClientIdentity::terraform_like();
    let s = start("5,6", Some(&id));
    let der = s.hs.server_der.clone().expect("server cert");
    assert_refused(
        &s.hs.socket,
        client_tls(&der, None),
        "a client without a certificate",
    )
    .await;

    // Nor may a plaintext client talk to the TLS server.
    let outcome = within("plaintext against TLS", async {
        match channel(&s.hs.socket, None).await {
            Err(e) => Err(e.to_string()),
            Ok(ch) => get_schema(ch).await.map_err(|e| e.to_string()),
        }
    })
    .await;
    assert!(
        outcome.is_err(),
        "a plaintext client was served by the AutoMTLS server"
    );
}

/// e) Shutdown is answered, the process exits 0 within a second, the socket directory is gone.
#[tokio::test]
async fn shutdown_exits_promptly_and_removes_the_socket_dir() {
    let id = ClientIdentity::terraform_like();
    let mut s = start("6,5", Some(&id));
    let dir = s.plugin.socket_dir.clone().expect("socket dir");
    assert!(dir.is_dir());
    let ch = within(
        "connect",
        channel(
            &s.hs.socket,
            Some(client_tls(s.hs.server_der.as_deref().unwrap(), Some(&id))),
        ),
    )
    .await
    .expect("connect");
    // Terraform has usually made calls on the connection before it shuts the plugin down.
    assert_dbaas_schema(
        &within("GetProviderSchema", get_schema(ch.clone()))
            .await
            .expect("GetProviderSchema"),
    );

    let t = Instant::now();
    let reply = within(
        "Shutdown",
        gp::grpc_controller_client::GrpcControllerClient::new(ch).shutdown(gp::Empty {}),
    )
    .await;
    reply.unwrap_or_else(|e| {
        panic!(
            "Shutdown must be answered before the process exits: {e}\nstderr:\n{}",
            s.plugin.stderr()
        )
    });
    let status = s
        .plugin
        .wait_exit(Duration::from_secs(1))
        .unwrap_or_else(|| {
            panic!(
                "still running 1 s after Shutdown (Terraform SIGKILLs after 2 s)\nstderr:\n{}",
                s.plugin.stderr()
            )
        });
    let took = t.elapsed();
    assert!(
        status.success(),
        "exit status after Shutdown: {status}\nstderr:\n{}",
        s.plugin.stderr()
    );
    assert!(
        !dir.exists(),
        "socket directory {} left behind",
        dir.display()
    );
    eprintln!("Shutdown to exit: {took:?}");
}

/// f) run by hand: exit 1, nothing on stdout, and stderr says it is a Terraform plugin;
/// `--version` prints the version.
#[test]
fn without_the_magic_cookie_it_explains_and_exits_1() {
    for cookie in [None, Some("not-the-cookie")] {
        let mut cmd = terraform_command("5,6", Some(&ClientIdentity::terraform_like().pem));
        match cookie {
            None => cmd.env_remove("TF_PLUGIN_MAGIC_COOKIE"),
            Some(c) => cmd.env("TF_PLUGIN_MAGIC_COOKIE", c),
        };
        let (status, stdout, stderr) = Plugin::spawn(cmd).finish();
        assert_eq!(
            status.code(),
            Some(1),
            "cookie {cookie:?}: {status}, stderr: {stderr}"
        );
        assert!(
            stdout.is_empty(),
            "cookie {cookie:?}: nothing may be printed on stdout, got {stdout:?}"
        );
        assert!(
            stderr.contains("Terraform"),
            "cookie {cookie:?}: stderr should say this is a Terraform plugin: {stderr:?}"
        );
    }

    let mut cmd = Command::new(provider_bin());
    cmd.arg("--version").env_remove("TF_PLUGIN_MAGIC_COOKIE");
    let (status, stdout, stderr) = Plugin::spawn(cmd).finish();
    assert!(status.success(), "--version: {status}, stderr: {stderr}");
    let version = root_package_version();
    assert_eq!(
        stdout.trim(),
        format!("terraform-provider-dbaas {version}"),
        "--version output"
    );
}

/// The `[package]` version of the workspace root crate (the provider's own version).
fn root_package_version() -> String {
    let manifest =
        std::fs::read_to_string(workspace_root().join("Cargo.toml")).expect("workspace Cargo.toml");
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(v) = line
                .strip_prefix("version")
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix('='))
            {
                return v.trim().trim_matches('"').to_string();
            }
        }
    }
    panic!("no [package] version in the workspace Cargo.toml");
}

/// g) a Terraform that offers only protocol 5 gets a non-zero exit and a reason.
#[test]
fn protocol_5_only_is_refused_with_a_reason() {
    let cmd = terraform_command("5", Some(&ClientIdentity::terraform_like().pem));
    let (status, stdout, stderr) = Plugin::spawn(cmd).finish();
    assert!(
        !status.success(),
        "offered only protocol 5, yet it exited {status}"
    );
    assert!(
        stdout.is_empty(),
        "no handshake line may be printed: {stdout:?}"
    );
    assert!(
        stderr.contains("protocol 6"),
        "stderr should say protocol 6 is needed: {stderr:?}"
    );
}

/// h) without `PLUGIN_CLIENT_CERT` the line has an empty certificate field and plaintext
/// h2 gRPC works.
#[tokio::test]
async fn plaintext_mode_without_a_client_cert() {
    let mut s = start("5,6", None);
    assert!(s.line.ends_with("grpc|"), "{:?}", s.line);
    assert!(s.hs.server_der.is_none());
    let ch = within("connect", channel(&s.hs.socket, None))
        .await
        .expect("plaintext connect");
    assert_dbaas_schema(
        &within("GetProviderSchema", get_schema(ch.clone()))
            .await
            .expect("plaintext GetProviderSchema"),
    );
    within(
        "Shutdown",
        gp::grpc_controller_client::GrpcControllerClient::new(ch).shutdown(gp::Empty {}),
    )
    .await
    .expect("Shutdown");
    let status = s
        .plugin
        .wait_exit(Duration::from_secs(1))
        .expect("exit after Shutdown");
    assert!(status.success(), "{status}");
}

fn sigint(plugin: &Plugin) {
    // SAFETY: signalling our own child, which the guard keeps from being reaped.
    assert_eq!(
        unsafe { libc::kill(plugin.child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
}

/// i) the terminal's SIGINT reaches the provider too; Terraform stops it with RPCs, so
/// SIGINT must not kill a serving provider.
#[tokio::test]
async fn sigint_does_not_kill_the_provider() {
    let id = ClientIdentity::terraform_like();
    let mut s = start("5,6", Some(&id));
    let ch = within(
        "connect",
        channel(
            &s.hs.socket,
            Some(client_tls(s.hs.server_der.as_deref().unwrap(), Some(&id))),
        ),
    )
    .await
    .expect("connect");
    assert_dbaas_schema(
        &within("GetProviderSchema", get_schema(ch.clone()))
            .await
            .expect("GetProviderSchema before SIGINT"),
    );
    for _ in 0..3 {
        sigint(&s.plugin);
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    if let Some(status) = s.plugin.child.try_wait().unwrap() {
        panic!(
            "SIGINT killed the provider: {status}\nstderr:\n{}",
            s.plugin.stderr()
        );
    }
    assert_dbaas_schema(
        &within("GetProviderSchema", get_schema(ch))
            .await
            .expect("GetProviderSchema on the same connection after SIGINT"),
    );
    let ch = within(
        "connect",
        channel(
            &s.hs.socket,
            Some(client_tls(s.hs.server_der.as_deref().unwrap(), Some(&id))),
        ),
    )
    .await
    .expect("new connection after SIGINT");
    assert_dbaas_schema(
        &within("GetProviderSchema", get_schema(ch))
            .await
            .expect("GetProviderSchema on a new connection after SIGINT"),
    );
}

/// i') a Ctrl-C can land the moment Terraform has read the handshake line; go-plugin
/// servers ignore SIGINT from the start of `Serve`, before printing the line.
/// Fails while `handshake::run_inner` installs its SIGINT handler only after writing the
/// handshake line (the default action kills the process in between); un-ignore once fixed.
#[test]
fn sigint_right_after_the_handshake_line_does_not_kill_the_provider() {
    let id = ClientIdentity::terraform_like();
    let runs = 20;
    let mut killed = Vec::new();
    for run in 0..runs {
        let mut s = start("5,6", Some(&id));
        sigint(&s.plugin);
        if let Some(status) = s.plugin.wait_exit(Duration::from_millis(100)) {
            killed.push(format!("run {run}: {status}"));
        }
    }
    assert!(
        killed.is_empty(),
        "SIGINT right after the handshake line killed {} of {runs} providers: {killed:?}",
        killed.len()
    );
}
