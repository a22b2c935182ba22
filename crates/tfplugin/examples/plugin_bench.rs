//! Start-up and shutdown figures of a provider binary, started the way Terraform starts it.
//!
//! ```text
//! cargo run --release -p tfplugin --example plugin_bench -- <provider-binary> [runs=20]
//! cargo run --release -p tfplugin --example plugin_bench -- target/release/examples/example_provider
//! ```
//!
//! Each run execs the binary with Terraform's environment and measures: exec → handshake
//! line (with a Terraform-shaped ECDSA P-521 client certificate, and without one), RSS
//! right after the line and after a GetProviderSchema over mTLS, time to that first
//! schema, and GRPCController/Shutdown → process exit. Prints one
//! `figure | value | target` row per line; the targets are the project's performance
//! targets (written beside each figure below).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tfplugin::proto::plugin as gp;
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::testing::client::{
    channel, client_tls, terraform_command, ClientIdentity, Handshake, Plugin,
};
use tonic::transport::Channel;

const PATIENCE: Duration = Duration::from_secs(10);

type BenchResult<T> = Result<T, String>;

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
    let cmd = terraform_command(bin, "5,6", client_pem);
    let t0 = Instant::now();
    let mut plugin = Plugin::spawn(cmd)?;
    let line = plugin.first_line(PATIENCE)?;
    let took = t0.elapsed();
    let hs = Handshake::parse(&line)?;
    plugin.socket_dir = hs.socket.parent().map(Path::to_path_buf);
    Ok((plugin, took, hs.socket, hs.server_der))
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
    match plugin.wait_exit(PATIENCE)? {
        Some(status) if status.success() => Ok(t.elapsed()),
        Some(status) => Err(format!("exit status after Shutdown: {status}")),
        None => Err("still running after Shutdown".into()),
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
    let ch = tokio::time::timeout(
        PATIENCE,
        channel(&socket, Some(client_tls(&der, Some(id))?)),
    )
    .await
    .map_err(|_| "connect timed out")?
    .map_err(|e| format!("connect: {e:?}"))?;
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
        .map_err(|_| "connect timed out")?
        .map_err(|e| format!("connect: {e:?}"))?;
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
        "# plugin_bench {} runs={runs} (target column: the performance targets)",
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
