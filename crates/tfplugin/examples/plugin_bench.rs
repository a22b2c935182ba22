//! Start-up and shutdown figures of a provider binary, started the way Terraform starts it.
//!
//! ```text
//! cargo run --release -p tfplugin --example plugin_bench -- <provider-binary> [runs=20]
//! ```
//!
//! Each run execs the binary with Terraform's environment and measures: exec → handshake
//! line (with a Terraform-shaped ECDSA P-521 client certificate, and without one), RSS
//! right after the line and after a GetProviderSchema over mTLS, time to that first
//! schema, and GRPCController/Shutdown → process exit. Prints one
//! `figure | value | target` row per line; targets come from spec/PERFORMANCE.md.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tfplugin::proto::plugin as gp;
use tfplugin::proto::tfplugin6 as pb;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::transport::{Channel, Endpoint, Uri};

const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const PATIENCE: Duration = Duration::from_secs(10);

type BenchResult<T> = Result<T, String>;

/// Terraform's client identity (go-plugin `generateCert`): ECDSA P-521/SHA-512, CA=true.
struct ClientIdentity {
    pem: String,
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    fn terraform_like() -> BenchResult<Self> {
        let e = |e: rcgen::Error| e.to_string();
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).map_err(e)?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(e)?;
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
        let cert = params.self_signed(&key).map_err(e)?;
        Ok(ClientIdentity {
            pem: cert.pem(),
            der: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }
}

/// Trusts exactly the certificate from the handshake line, for `localhost`.
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
        rustls::client::verify_server_name(
            &rustls::server::ParsedCertificate::try_from(end_entity)?,
            server_name,
        )?;
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

fn client_tls(server_der: &[u8], id: &ClientIdentity) -> BenchResult<Arc<rustls::ClientConfig>> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let verifier = PinnedServerCert {
        der: server_der.to_vec(),
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(vec![id.der.clone()], id.key.clone_key())
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

async fn channel(socket: &Path, tls: Option<Arc<rustls::ClientConfig>>) -> BenchResult<Channel> {
    let socket = socket.to_path_buf();
    let connector = tower::service_fn(move |_: Uri| {
        let socket = socket.clone();
        let tls = tls.clone();
        async move {
            let stream = tokio::net::UnixStream::connect(&socket).await?;
            let io: Box<dyn Io> = match tls {
                Some(config) => Box::new(
                    tokio_rustls::TlsConnector::from(config)
                        .connect(ServerName::try_from("localhost").expect("name"), stream)
                        .await?,
                ),
                None => Box::new(stream),
            };
            Ok::<_, std::io::Error>(TokioIo::new(io))
        }
    });
    Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await
        .map_err(|e| format!("connect: {e:?}"))
}

/// A running provider; killed (and its socket directory removed) if a run goes wrong.
struct Plugin {
    child: Child,
    stdout: ChildStdout,
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

/// Reads up to `\n` from the child's stdout, giving up at `deadline` (poll(2), no threads).
fn read_line_until(stdout: &mut ChildStdout, deadline: Instant) -> BenchResult<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no handshake line within {PATIENCE:?}; read {:?}",
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
        if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
            continue;
        }
        match stdout.read(&mut byte) {
            Ok(0) => {
                return Err(format!(
                    "stdout closed before the handshake line; read {:?}",
                    String::from_utf8_lossy(&line)
                ))
            }
            Ok(_) if byte[0] == b'\n' => return Ok(String::from_utf8_lossy(&line).into_owned()),
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn vm_rss_mib(pid: u32) -> BenchResult<f64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or("no VmRSS in /proc/<pid>/status")?;
    Ok(kib / 1024.0)
}

/// Execs the provider and reads its handshake line; returns the plugin, the time from
/// exec to the line, the socket and the server certificate.
fn launch(
    bin: &Path,
    client_pem: Option<&str>,
) -> BenchResult<(Plugin, Duration, PathBuf, Option<Vec<u8>>)> {
    let mut cmd = Command::new(bin);
    for var in [
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
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(pem) = client_pem {
        cmd.env("PLUGIN_CLIENT_CERT", pem);
    }
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut plugin = Plugin {
        child,
        stdout,
        socket_dir: None,
    };
    let line = read_line_until(&mut plugin.stdout, t0 + PATIENCE)?;
    let took = t0.elapsed();
    let fields: Vec<&str> = line.split('|').collect();
    if fields.len() != 6 || fields[..3] != ["1", "6", "unix"] || fields[4] != "grpc" {
        return Err(format!("unexpected handshake line {line:?}"));
    }
    let socket = PathBuf::from(fields[3]);
    plugin.socket_dir = socket.parent().map(Path::to_path_buf);
    let der = match fields[5] {
        "" => None,
        b64 => Some(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(b64)
                .map_err(|e| format!("certificate in {line:?}: {e}"))?,
        ),
    };
    Ok((plugin, took, socket, der))
}

/// Calls Shutdown and waits for the process to exit; returns the time between the two.
async fn shutdown(plugin: &mut Plugin, ch: Channel) -> BenchResult<Duration> {
    let t = Instant::now();
    tokio::time::timeout(
        PATIENCE,
        gp::grpc_controller_client::GrpcControllerClient::new(ch).shutdown(gp::Empty {}),
    )
    .await
    .map_err(|_| "Shutdown timed out")?
    .map_err(|e| format!("Shutdown: {e}"))?;
    loop {
        if let Some(status) = plugin.child.try_wait().map_err(|e| e.to_string())? {
            if !status.success() {
                return Err(format!("exit status after Shutdown: {status}"));
            }
            return Ok(t.elapsed());
        }
        if t.elapsed() > PATIENCE {
            return Err("still running after Shutdown".into());
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

#[derive(Default)]
struct Samples {
    hs_mtls: Vec<f64>,
    hs_plain: Vec<f64>,
    first_schema: Vec<f64>,
    schema_after_line: Vec<f64>,
    rss_line_mtls: Vec<f64>,
    rss_line_plain: Vec<f64>,
    rss_schema: Vec<f64>,
    exit_mtls: Vec<f64>,
    exit_plain: Vec<f64>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One run with Terraform's client certificate: handshake, schema over mTLS, Shutdown.
async fn run_mtls(bin: &Path, id: &ClientIdentity, s: &mut Samples) -> BenchResult<()> {
    let (mut plugin, hs, socket, der) = launch(bin, Some(&id.pem))?;
    let after_line = Instant::now();
    let rss_line = vm_rss_mib(plugin.child.id())?;
    let der = der.ok_or("AutoMTLS: the handshake line carries no certificate")?;
    let ch = tokio::time::timeout(PATIENCE, channel(&socket, Some(client_tls(&der, id)?)))
        .await
        .map_err(|_| "connect timed out")??;
    let schema = tokio::time::timeout(
        PATIENCE,
        pb::provider_client::ProviderClient::new(ch.clone())
            .max_decoding_message_size(usize::MAX)
            .get_provider_schema(pb::get_provider_schema::Request {}),
    )
    .await
    .map_err(|_| "GetProviderSchema timed out")?
    .map_err(|e| format!("GetProviderSchema: {e}"))?
    .into_inner();
    let schema_after_line = after_line.elapsed();
    if !schema.diagnostics.is_empty() {
        return Err(format!(
            "GetProviderSchema diagnostics: {:?}",
            schema.diagnostics
        ));
    }
    let rss_schema = vm_rss_mib(plugin.child.id())?;
    let exit = shutdown(&mut plugin, ch).await?;
    s.hs_mtls.push(ms(hs));
    s.first_schema.push(ms(hs + schema_after_line));
    s.schema_after_line.push(ms(schema_after_line));
    s.rss_line_mtls.push(rss_line);
    s.rss_schema.push(rss_schema);
    s.exit_mtls.push(ms(exit));
    Ok(())
}

/// One run without a client certificate (plaintext): handshake, Shutdown.
async fn run_plain(bin: &Path, s: &mut Samples) -> BenchResult<()> {
    let (mut plugin, hs, socket, der) = launch(bin, None)?;
    let rss_line = vm_rss_mib(plugin.child.id())?;
    if der.is_some() {
        return Err("plaintext mode: the handshake line carries a certificate".into());
    }
    let ch = tokio::time::timeout(PATIENCE, channel(&socket, None))
        .await
        .map_err(|_| "connect timed out")??;
    let exit = shutdown(&mut plugin, ch).await?;
    s.hs_plain.push(ms(hs));
    s.rss_line_plain.push(rss_line);
    s.exit_plain.push(ms(exit));
    Ok(())
}

/// Nearest-rank percentile.
fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

fn row(figure: &str, value: f64, unit: &str, target: Option<f64>) {
    let target = match target {
        Some(t) => format!(
            "<= {t} {unit} ({})",
            if value <= t { "met" } else { "MISSED" }
        ),
        None => "-".to_string(),
    };
    let digits = if unit == "ms" { 2 } else { 1 };
    println!("{figure} | {value:.digits$} {unit} | {target}");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(bin) = args.first().map(PathBuf::from) else {
        eprintln!("usage: plugin_bench <provider-binary> [runs=20]");
        return ExitCode::from(2);
    };
    let runs = match args
        .get(1)
        .map(|r| r.trim_start_matches("runs=").parse::<usize>())
    {
        None => 20,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("runs must be a positive number, got {:?}", args[1]);
            return ExitCode::from(2);
        }
    };
    let size_mib = match std::fs::metadata(&bin) {
        Ok(m) => m.len() as f64 / (1024.0 * 1024.0),
        Err(e) => {
            eprintln!("{}: {e}", bin.display());
            return ExitCode::from(2);
        }
    };
    // Outside every timed region: Terraform generates its certificate before starting us.
    let id = match ClientIdentity::terraform_like() {
        Ok(id) => id,
        Err(e) => {
            eprintln!("client certificate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };

    let result: BenchResult<Samples> = runtime.block_on(async {
        // One untimed warm-up of each kind (page cache, first exec).
        let mut warm = Samples::default();
        run_mtls(&bin, &id, &mut warm).await?;
        run_plain(&bin, &mut warm).await?;
        let mut s = Samples::default();
        for run in 0..runs {
            // Interleaved so that drift on the machine hits both kinds alike.
            run_mtls(&bin, &id, &mut s)
                .await
                .map_err(|e| format!("run {run} (mTLS): {e}"))?;
            run_plain(&bin, &mut s)
                .await
                .map_err(|e| format!("run {run} (plaintext): {e}"))?;
        }
        Ok(s)
    });
    let s = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("plugin_bench: {e}");
            return ExitCode::FAILURE;
        }
    };

    println!(
        "# plugin_bench {} runs={runs} (targets: spec/PERFORMANCE.md)",
        bin.display()
    );
    println!("figure | value | target");
    row("binary size", size_mib, "MiB", Some(15.0));
    row(
        "handshake with P-521 client cert, median",
        pct(&s.hs_mtls, 50.0),
        "ms",
        Some(2.0),
    );
    row(
        "handshake with P-521 client cert, p90",
        pct(&s.hs_mtls, 90.0),
        "ms",
        None,
    );
    row(
        "handshake without client cert, median",
        pct(&s.hs_plain, 50.0),
        "ms",
        Some(1.5),
    );
    row(
        "handshake without client cert, p90",
        pct(&s.hs_plain, 90.0),
        "ms",
        None,
    );
    row(
        "first GetProviderSchema over mTLS from exec, median",
        pct(&s.first_schema, 50.0),
        "ms",
        None,
    );
    row(
        "connect+TLS+GetProviderSchema after handshake, median",
        pct(&s.schema_after_line, 50.0),
        "ms",
        None,
    );
    row(
        "RSS after handshake with client cert, median",
        pct(&s.rss_line_mtls, 50.0),
        "MiB",
        Some(8.0),
    );
    row(
        "RSS after handshake without client cert, median",
        pct(&s.rss_line_plain, 50.0),
        "MiB",
        Some(8.0),
    );
    row(
        "RSS after GetProviderSchema over mTLS, median",
        pct(&s.rss_schema, 50.0),
        "MiB",
        None,
    );
    row(
        "RSS after GetProviderSchema over mTLS, max",
        pct(&s.rss_schema, 100.0),
        "MiB",
        None,
    );
    row(
        "Shutdown to exit with client cert, median",
        pct(&s.exit_mtls, 50.0),
        "ms",
        None,
    );
    row(
        "Shutdown to exit without client cert, median",
        pct(&s.exit_plain, 50.0),
        "ms",
        None,
    );
    ExitCode::SUCCESS
}
