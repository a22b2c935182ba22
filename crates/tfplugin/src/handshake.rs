//! go-plugin's side of the conversation with Terraform: the magic cookie, protocol
//! negotiation, the unix socket, AutoMTLS with the client certificate pinned, the
//! handshake line on stdout, and `plugin.GRPCController/Shutdown`.
//!
//! AutoMTLS: Terraform generates a self-signed ECDSA P-521 certificate (CA=true) and
//! passes it PEM-encoded in `PLUGIN_CLIENT_CERT`. We generate our own certificate
//! (SAN `localhost`, which the client checks) and print it in the handshake line; each
//! side then accepts exactly the other's certificate. Stock webpki verification rejects
//! a CA certificate used as an end entity, so [`PinnedClientCert`] compares the DER
//! bytes and only checks the handshake signatures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::DistinguishedName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tokio::sync::Notify;

use crate::proto::plugin as gp;
use crate::server::ServeOptions;

/// Environment variable go-plugin uses to tell a real launch from a human running the binary.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Terraform's magic cookie value.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// The one plugin protocol this crate speaks.
pub const PROTOCOL_VERSION: u32 = 6;
/// go-plugin's core protocol version (first field of the handshake line).
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// Why the plugin cannot start.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// Started by hand rather than by Terraform.
    #[error("this binary is a plugin for Terraform and is not meant to be run directly.\nTerraform starts it when a configuration uses the provider; see `terraform init`.\n(--version prints the version; --debug serves it for TF_REATTACH_PROVIDERS.)")]
    NotAPlugin,
    /// Terraform offered no protocol we speak.
    #[error("Terraform offered plugin protocol versions {0:?}, but this provider speaks only protocol 6 (Terraform 1.0 and later)")]
    NoCommonProtocol(String),
    /// `PLUGIN_CLIENT_CERT` could not be read.
    #[error("PLUGIN_CLIENT_CERT is not a PEM certificate: {0}")]
    BadClientCert(String),
    /// TLS setup failed.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// Socket setup failed.
    #[error("cannot listen on {path}: {source}")]
    Listen {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Picks protocol 6 from go-plugin's `PLUGIN_PROTOCOL_VERSIONS` (e.g. `5,6`).
/// An empty list means the client predates negotiation and expects the app's default.
pub fn negotiate_protocol(offered: &str) -> Result<u32, HandshakeError> {
    if offered.trim().is_empty() {
        return Ok(PROTOCOL_VERSION);
    }
    if offered
        .split(',')
        .any(|v| v.trim().parse::<u32>() == Ok(PROTOCOL_VERSION))
    {
        Ok(PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::NoCommonProtocol(offered.to_string()))
    }
}

/// The line Terraform reads from our stdout: `1|6|unix|<path>|grpc|<cert>`; the cert is
/// standard base64 without padding (go-plugin decodes with RawStdEncoding), and absent
/// in plaintext mode. There must be no seventh field: Terraform 1.0.3 rejects it.
pub fn handshake_line(socket: &Path, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|d| base64::engine::general_purpose::STANDARD_NO_PAD.encode(d))
        .unwrap_or_default();
    format!(
        "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|unix|{}|grpc|{cert}",
        socket.display()
    )
}

/// Decodes the first certificate of a PEM document to DER.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, HandshakeError> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let end = "-----END CERTIFICATE-----";
    let start = pem
        .find(begin)
        .ok_or_else(|| HandshakeError::BadClientCert("no BEGIN CERTIFICATE line".into()))?
        + begin.len();
    let stop = pem[start..]
        .find(end)
        .ok_or_else(|| HandshakeError::BadClientCert("no END CERTIFICATE line".into()))?
        + start;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| HandshakeError::BadClientCert(e.to_string()))
}

/// Certificate parameters for `localhost` (SAN and CN), organisation `HashiCorp`, as
/// go-plugin writes them on both sides; the caller sets CA and key usages.
pub(crate) fn localhost_params() -> Result<rcgen::CertificateParams, rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "HashiCorp");
    Ok(params)
}

/// A fresh self-signed server certificate for `localhost` and its key.
pub fn server_identity() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), HandshakeError>
{
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| HandshakeError::Tls(e.to_string()))?;
    let mut params = localhost_params().map_err(|e| HandshakeError::Tls(e.to_string()))?;
    params.is_ca = rcgen::IsCa::NoCa;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params
        .self_signed(&key)
        .map_err(|e| HandshakeError::Tls(e.to_string()))?;
    Ok((
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    ))
}

/// Accepts exactly one client certificate (by DER bytes) and checks the TLS handshake
/// signatures made with it, including ECDSA P-521/SHA-512 as Terraform uses.
#[derive(Debug)]
pub struct PinnedClientCert {
    der: Vec<u8>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

/// The handshake-signature checks of a rustls certificate verifier whose `algorithms`
/// field holds the provider's algorithms: the same for our server and the test client.
macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    };
}
#[cfg_attr(not(feature = "testing"), allow(unused_imports))]
pub(crate) use signature_checks;

impl PinnedClientCert {
    /// Pins `der`.
    pub fn new(der: Vec<u8>) -> Self {
        PinnedClientCert {
            der,
            algorithms: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    signature_checks!();
}

/// TLS server configuration for AutoMTLS: our identity, the pinned client, ALPN h2.
pub fn tls_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    client_der: Vec<u8>,
) -> Result<rustls::ServerConfig, HandshakeError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HandshakeError::Tls(e.to_string()))?
        .with_client_cert_verifier(Arc::new(PinnedClientCert::new(client_der)))
        .with_single_cert(vec![cert], key)
        .map_err(|e| HandshakeError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// A connection from Terraform: plaintext (debug mode, or no client cert) or TLS.
pub enum Conn {
    /// Plain unix socket.
    Plain(UnixStream),
    /// TLS over the unix socket.
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// Answers `plugin.GRPCController/Shutdown` by waking the serve loop.
struct Controller {
    shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl gp::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(
        &self,
        _r: tonic::Request<gp::Empty>,
    ) -> Result<tonic::Response<gp::Empty>, tonic::Status> {
        tracing::debug!("shutdown requested by Terraform");
        self.shutdown.notify_one();
        Ok(tonic::Response::new(gp::Empty {}))
    }
}

/// A private directory for the socket: `PLUGIN_UNIX_SOCKET_DIR` or the temp dir.
fn socket_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for attempt in 0..16u32 {
        let dir = base.join(format!(
            "plugin{}-{:x}",
            std::process::id(),
            nanos.wrapping_add(attempt)
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "no free socket directory name",
    ))
}

/// Everything after argument parsing: handshake, serve until Shutdown; returns the exit
/// code. `routes` builds the provider's gRPC service (type-erased by tonic's `Routes`).
/// `on_exit` runs after serving stops, before the process exits (bounded, see
/// [`crate::Provider::shutdown`]).
pub(crate) async fn run(
    routes: impl FnOnce() -> tonic::service::Routes,
    on_exit: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    opts: ServeOptions,
    debug: bool,
) -> ExitCode {
    let result = run_inner(routes, &opts, debug).await;
    if tokio::time::timeout(Duration::from_millis(1500), on_exit())
        .await
        .is_err()
    {
        tracing::warn!("the provider's shutdown hook did not finish within 1.5 s");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", opts.name);
            ExitCode::FAILURE
        }
    }
}

async fn run_inner(
    routes: impl FnOnce() -> tonic::service::Routes,
    opts: &ServeOptions,
    debug: bool,
) -> Result<(), HandshakeError> {
    // Handlers first: a terminal Ctrl-C reaches the whole process group and may land
    // right after the handshake line; with the default action it would kill us.
    let mut interrupts =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let mut terms = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    if !debug && std::env::var(MAGIC_COOKIE_KEY).ok().as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(HandshakeError::NotAPlugin);
    }
    if !debug {
        negotiate_protocol(&std::env::var("PLUGIN_PROTOCOL_VERSIONS").unwrap_or_default())?;
    }
    let client_pem = if debug {
        None
    } else {
        std::env::var("PLUGIN_CLIENT_CERT")
            .ok()
            .filter(|s| !s.trim().is_empty())
    };
    // Before the line only what the line carries: our certificate. The TLS configuration
    // (key parsing, the provider's algorithm tables) is built once the line is out, while
    // Terraform reads it and connects; its listener queues the connection meanwhile.
    let (identity, server_der) = match client_pem {
        Some(pem) => {
            let client_der = pem_to_der(&pem)?;
            let (cert, key) = server_identity()?;
            let der = cert.as_ref().to_vec();
            (Some((cert, key, client_der)), Some(der))
        }
        None => (None, None),
    };

    let dir = socket_dir().map_err(|source| HandshakeError::Listen {
        path: std::env::temp_dir(),
        source,
    })?;
    let socket = dir.join("plugin.sock");
    let listener = match tokio::net::UnixListener::bind(&socket) {
        Ok(l) => l,
        Err(source) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(HandshakeError::Listen {
                path: socket.clone(),
                source,
            });
        }
    };

    if debug {
        let reattach = serde_json::json!({ opts.address: {
            "Protocol": "grpc", "ProtocolVersion": PROTOCOL_VERSION, "Pid": std::process::id(), "Test": true,
            "Addr": { "Network": "unix", "String": socket.display().to_string() }
        }});
        println!("Provider started in debug mode. To attach Terraform, set in its environment:\n\n\tTF_REATTACH_PROVIDERS='{reattach}'\n\nStop with Ctrl-C.");
    } else {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", handshake_line(&socket, server_der.as_deref()));
        let _ = out.flush();
    }

    let acceptor = match identity {
        Some((cert, key, client_der)) => match tls_config(cert, key, client_der) {
            Ok(config) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        },
        None => None,
    };

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Conn, std::io::Error>>(16);
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            };
            let tx = tx.clone();
            let acceptor = acceptor.clone();
            // TLS handshakes run beside the accept loop so one slow client blocks nothing.
            tokio::spawn(async move {
                let conn = match acceptor {
                    Some(a) => match a.accept(stream).await {
                        Ok(tls) => Conn::Tls(Box::new(tls)),
                        Err(e) => {
                            tracing::warn!(error = %e, "TLS handshake with Terraform failed");
                            return;
                        }
                    },
                    None => Conn::Plain(stream),
                };
                let _ = tx.send(Ok(conn)).await;
            });
        }
    });

    // Schemas and resource tables are built after the line is out: Terraform is
    // connecting meanwhile, and the handshake is on the critical path of every command.
    let shutdown = Arc::new(Notify::new());
    let router = tonic::transport::Server::builder()
        .add_routes(routes())
        .add_service(gp::grpc_controller_server::GrpcControllerServer::new(
            Controller {
                shutdown: shutdown.clone(),
            },
        ));
    let serve = router.serve_with_incoming(tokio_stream::wrappers::ReceiverStream::new(rx));
    tokio::pin!(serve);

    loop {
        tokio::select! {
            result = &mut serve => {
                if let Err(e) = result { tracing::error!(error = %e, "gRPC server stopped"); }
                break;
            }
            _ = shutdown.notified() => {
                // Let the Shutdown response reach Terraform, then go.
                let _ = tokio::time::timeout(Duration::from_millis(2), &mut serve).await;
                break;
            }
            Some(()) = async { match interrupts.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                // Terraform handles Ctrl-C and calls StopProvider; the terminal's SIGINT
                // reaches us too and must not kill us mid-apply. In debug mode it stops.
                if debug { break; }
                tracing::debug!("ignoring SIGINT; Terraform will stop the provider");
            }
            Some(()) = async { match terms.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => break,
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_6_in_any_order_and_refuses_5_only() {
        assert_eq!(negotiate_protocol("5,6").unwrap(), 6);
        assert_eq!(negotiate_protocol("6,5").unwrap(), 6);
        assert_eq!(negotiate_protocol(" 6 ").unwrap(), 6);
        assert!(matches!(
            negotiate_protocol("5"),
            Err(HandshakeError::NoCommonProtocol(_))
        ));
        assert!(negotiate_protocol("4,5").is_err());
    }

    #[test]
    fn handshake_line_has_six_fields_and_unpadded_cert() {
        // 4 bytes encode to 8 base64 chars with "==" padding in the padded alphabet.
        let line = handshake_line(Path::new("/tmp/p/plugin.sock"), Some(&[1, 2, 3, 4]));
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 6, "{line}");
        assert_eq!(
            &fields[..5],
            &["1", "6", "unix", "/tmp/p/plugin.sock", "grpc"]
        );
        assert_eq!(fields[5], "AQIDBA");
        assert!(!line.contains('='));
        assert_eq!(handshake_line(Path::new("/s"), None), "1|6|unix|/s|grpc|");
    }

    #[test]
    fn pem_round_trip_and_garbage() {
        let (cert, _) = server_identity().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            b64.as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert_eq!(pem_to_der(&pem).unwrap(), cert.as_ref());
        assert!(pem_to_der("hello").is_err());
        assert!(pem_to_der("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----").is_err());
    }

    #[test]
    fn pinned_verifier_accepts_only_the_pinned_certificate() {
        let (a, _) = server_identity().unwrap();
        let (b, _) = server_identity().unwrap();
        let v = PinnedClientCert::new(a.as_ref().to_vec());
        assert!(v.verify_client_cert(&a, &[], UnixTime::now()).is_ok());
        assert!(v.verify_client_cert(&b, &[], UnixTime::now()).is_err());
        assert!(
            v.supported_verify_schemes()
                .contains(&rustls::SignatureScheme::ECDSA_NISTP521_SHA512),
            "Terraform signs with P-521"
        );
    }
}
