//! A Terraform-like plugin client: what go-plugin's client does when Terraform starts a
//! provider. Used by `tests/mtls.rs` and `examples/plugin_bench.rs`.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::transport::{Channel, Endpoint, Uri};

/// Terraform's magic cookie, written out rather than taken from [`crate::handshake`],
/// so a test of the handshake does not check the code against itself.
pub const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// A client identity shaped like go-plugin's `generateCert`: ECDSA P-521, signed with
/// SHA-512, CA=true, CN/SAN localhost, organisation HashiCorp, client+server auth.
pub struct ClientIdentity {
    /// The certificate as Terraform passes it in `PLUGIN_CLIENT_CERT`.
    pub pem: String,
    /// The certificate, DER.
    pub der: CertificateDer<'static>,
    /// Its private key.
    pub key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// A fresh identity like the one Terraform generates per provider process.
    pub fn terraform_like() -> Result<Self, String> {
        let e = |e: rcgen::Error| e.to_string();
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).map_err(e)?;
        let mut params = crate::handshake::localhost_params().map_err(e)?;
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
        let cert = params.self_signed(&key).map_err(e)?;
        Ok(ClientIdentity {
            pem: cert.pem(),
            der: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
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

    crate::handshake::signature_checks!();
}

/// TLS client configuration: the server certificate pinned, ALPN h2, and `identity` as
/// the client certificate (none: a client that presents no certificate).
pub fn client_tls(
    server_der: &[u8],
    identity: Option<&ClientIdentity>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let verifier = PinnedServerCert {
        der: server_der.to_vec(),
        algorithms: provider.signature_verification_algorithms,
    };
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![id.der.clone()], id.key.clone_key())
            .map_err(|e| e.to_string())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// A TLS connection to the plugin's socket, for server name `localhost`.
pub async fn tls_connect(
    socket: &Path,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::UnixStream>> {
    let stream = tokio::net::UnixStream::connect(socket).await?;
    let name = ServerName::try_from("localhost")
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// An HTTP/2 gRPC channel over the socket, through TLS when `tls` is given.
pub async fn channel(
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

/// The command Terraform runs: `bin` with go-plugin's environment (magic cookie,
/// `PLUGIN_PROTOCOL_VERSIONS`, and `PLUGIN_CLIENT_CERT` when given), nothing inherited
/// that would change how the plugin starts.
pub fn terraform_command(bin: &Path, versions: &str, client_pem: Option<&str>) -> Command {
    let mut cmd = Command::new(bin);
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

/// Owns a running plugin: kills it and removes its socket directory on drop, so a
/// failing test leaves no stray process behind. Its stderr is collected in the
/// background (a full pipe must never block the child).
pub struct Plugin {
    /// The process.
    pub child: Child,
    stdout: ChildStdout,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The socket directory, once the handshake line named it.
    pub socket_dir: Option<PathBuf>,
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
    /// Starts `cmd` with stdout and stderr piped.
    pub fn spawn(mut cmd: Command) -> Result<Plugin, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        let (Some(stdout), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err("the child has no stdout or stderr pipe".into());
        };
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]);
            }
        });
        Ok(Plugin {
            child,
            stdout,
            stderr,
            socket_dir: None,
        })
    }

    /// What the plugin wrote on stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Reads stdout up to the first newline (Terraform reads exactly one line).
    pub fn first_line(&mut self, patience: Duration) -> Result<String, String> {
        read_line_until(&mut self.stdout, Instant::now() + patience)
            .map_err(|e| format!("no handshake line: {e}\nstderr:\n{}", self.stderr()))
    }

    /// Waits for exit, returning `None` on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Waits for exit and returns the status, all of stdout and all of stderr (for runs
    /// that end by themselves).
    pub fn finish(mut self, patience: Duration) -> Result<(ExitStatus, String, String), String> {
        let status = self
            .wait_exit(patience)?
            .ok_or_else(|| format!("the plugin did not exit\nstderr:\n{}", self.stderr()))?;
        let mut out = Vec::new();
        let _ = self.stdout.read_to_end(&mut out);
        // The stderr thread ends at EOF, which follows the exit.
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(2) && Arc::strong_count(&self.stderr) > 1 {
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok((
            status,
            String::from_utf8_lossy(&out).into_owned(),
            self.stderr(),
        ))
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

/// The handshake line, parsed and checked the way go-plugin's client reads it.
pub struct Handshake {
    /// The unix socket (an absolute path).
    pub socket: PathBuf,
    /// The server certificate (DER), absent in plaintext mode.
    pub server_der: Option<Vec<u8>>,
}

impl Handshake {
    /// Parses `1|6|unix|<socket>|grpc|<cert>`: exactly six fields, an absolute socket
    /// path, and the certificate in standard base64 without padding.
    pub fn parse(line: &str) -> Result<Handshake, String> {
        let fields: Vec<&str> = line.split('|').collect();
        if fields.len() != 6 {
            return Err(format!(
                "the handshake line must have exactly 6 fields: {line:?}"
            ));
        }
        if fields[..3] != ["1", "6", "unix"] || fields[4] != "grpc" {
            return Err(format!(
                "not a protocol 6 unix/grpc handshake line: {line:?}"
            ));
        }
        let socket = PathBuf::from(fields[3]);
        if !socket.is_absolute() {
            return Err(format!("socket path must be absolute: {line:?}"));
        }
        let server_der = match fields[5] {
            "" => None,
            b64 if b64.contains('=') => {
                return Err(format!("go-plugin decodes the certificate with RawStdEncoding: no padding allowed: {line:?}"));
            }
            b64 => Some(
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(b64)
                    .map_err(|e| {
                        format!("certificate is not unpadded standard base64 ({e}): {line:?}")
                    })?,
            ),
        };
        Ok(Handshake { socket, server_der })
    }
}

/// A plugin started as Terraform starts it, past its handshake line.
pub struct Started {
    /// The process guard.
    pub plugin: Plugin,
    /// The handshake line as printed.
    pub line: String,
    /// The handshake line, parsed.
    pub hs: Handshake,
}

/// Starts `bin` as Terraform would (offering `versions`, with `client` as the client
/// certificate) and reads its handshake line within `patience`.
pub fn start(
    bin: &Path,
    versions: &str,
    client: Option<&ClientIdentity>,
    patience: Duration,
) -> Result<Started, String> {
    let pem = client.map(|c| c.pem.as_str());
    let mut plugin = Plugin::spawn(terraform_command(bin, versions, pem))?;
    let line = plugin.first_line(patience)?;
    let hs = Handshake::parse(&line)?;
    plugin.socket_dir = hs.socket.parent().map(Path::to_path_buf);
    Ok(Started { plugin, line, hs })
}
