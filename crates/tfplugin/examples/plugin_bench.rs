//! Start-up and shutdown figures of a provider binary, started the way Terraform starts it.
//!
//! ```text
//! cargo run --release -p tfplugin --example plugin_bench -- <provider-binary> [runs=20]
//! PLUGIN_BENCH_RUNS=5 cargo run --release -p tfplugin --example plugin_bench -- target/release/terraform-provider-dbaas
//! PLUGIN_BENCH_REFERENCE=<other-binary> cargo run ... -- <provider-binary>   # A/B in one run
//! ```
//!
//! Each run execs the binary with Terraform's environment and measures: exec → handshake
//! line (with a Terraform-shaped ECDSA P-521 client certificate, and without one), RSS
//! right after the line (with its anonymous / file-backed split) and after a
//! GetProviderSchema over mTLS, time to that first schema, and
//! GRPCController/Shutdown → process exit. Prints a markdown table
//! `| figure | ours | reference | ratio | target | met |`: the reference is the binary
//! named by `PLUGIN_BENCH_REFERENCE` measured in the same run (alternating with ours), or
//! else the Go provider's figure from PERFORMANCE.md (cyrilgdn/postgresql, measured
//! 2026-12-07); ratio = ours / reference; the targets are the project's.
//! `PLUGIN_BENCH_RUNS` overrides the run count (the second argument).

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

/// One `/proc/<pid>/status` field in MiB (`VmRSS`, `RssAnon`, `RssFile`).
fn status_mib(status: &str, field: &str) -> BenchResult<f64> {
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/<pid>/status"))?;
    Ok(kib / 1024.0)
}

/// Resident memory of a process: total, anonymous and file-backed, in MiB.
#[derive(Clone, Copy)]
struct Rss {
    total: f64,
    anon: f64,
    file: f64,
}

fn rss(pid: u32) -> BenchResult<Rss> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    Ok(Rss {
        total: status_mib(&status, "VmRSS")?,
        anon: status_mib(&status, "RssAnon")?,
        file: status_mib(&status, "RssFile")?,
    })
}

fn vm_rss_mib(pid: u32) -> BenchResult<f64> {
    Ok(rss(pid)?.total)
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
    rss_line_mtls_anon: Vec<f64>,
    rss_line_mtls_file: Vec<f64>,
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
    let rss_line = rss(plugin.child.id())?;
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
    s.rss_line_mtls.push(rss_line.total);
    s.rss_line_mtls_anon.push(rss_line.anon);
    s.rss_line_mtls_file.push(rss_line.file);
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

/// One figure of the table: ours, the reference, the target (`None`: informational).
struct Figure {
    name: &'static str,
    unit: &'static str,
    ours: f64,
    reference: Option<f64>,
    target: Option<f64>,
}

/// The markdown row of a figure: ratio = ours / reference; met = ours within the target.
fn table_row(f: &Figure) -> String {
    let digits = if f.unit == "ms" { 2 } else { 1 };
    let value = |v: f64| format!("{v:.digits$} {}", f.unit);
    let reference = f.reference.map(value).unwrap_or_else(|| "-".into());
    let ratio = match f.reference {
        Some(r) if r > 0.0 => format!("{:.2}x", f.ours / r),
        _ => "-".into(),
    };
    let (target, met) = match f.target {
        Some(t) => (
            format!("<= {t} {}", f.unit),
            if f.ours <= t { "yes" } else { "NO" },
        ),
        None => ("-".into(), "-"),
    };
    format!(
        "| {} | {} | {reference} | {ratio} | {target} | {met} |",
        f.name,
        value(f.ours)
    )
}

/// The figures of a run; `reference` gives each its reference value.
fn figures(size_mib: f64, s: &Samples, reference: impl Fn(&str) -> Option<f64>) -> Vec<Figure> {
    let fig = |name: &'static str, unit: &'static str, ours: f64, target: Option<f64>| Figure {
        name,
        unit,
        ours,
        reference: reference(name),
        target,
    };
    vec![
        fig("binary size", "MiB", size_mib, Some(15.0)),
        fig(
            "handshake with P-521 client cert, median",
            "ms",
            pct(&s.hs_mtls, 50.0),
            Some(1.3),
        ),
        fig(
            "handshake with P-521 client cert, p90",
            "ms",
            pct(&s.hs_mtls, 90.0),
            None,
        ),
        fig(
            "handshake without client cert, median",
            "ms",
            pct(&s.hs_plain, 50.0),
            Some(1.1),
        ),
        fig(
            "handshake without client cert, p90",
            "ms",
            pct(&s.hs_plain, 90.0),
            None,
        ),
        fig(
            "first GetProviderSchema over mTLS from exec, median",
            "ms",
            pct(&s.first_schema, 50.0),
            None,
        ),
        fig(
            "connect+TLS+GetProviderSchema after handshake, median",
            "ms",
            pct(&s.schema_after_line, 50.0),
            None,
        ),
        fig(
            "RSS after handshake with client cert, median",
            "MiB",
            pct(&s.rss_line_mtls, 50.0),
            Some(6.0),
        ),
        fig(
            "RSS after handshake with client cert: anonymous, median",
            "MiB",
            pct(&s.rss_line_mtls_anon, 50.0),
            None,
        ),
        fig(
            "RSS after handshake with client cert: file-backed, median",
            "MiB",
            pct(&s.rss_line_mtls_file, 50.0),
            None,
        ),
        fig(
            "RSS after handshake without client cert, median",
            "MiB",
            pct(&s.rss_line_plain, 50.0),
            Some(6.0),
        ),
        fig(
            "RSS after GetProviderSchema over mTLS, median",
            "MiB",
            pct(&s.rss_schema, 50.0),
            None,
        ),
        fig(
            "RSS after GetProviderSchema over mTLS, max",
            "MiB",
            pct(&s.rss_schema, 100.0),
            None,
        ),
        fig(
            "Shutdown to exit with client cert, median",
            "ms",
            pct(&s.exit_mtls, 50.0),
            None,
        ),
        fig(
            "Shutdown to exit without client cert, median",
            "ms",
            pct(&s.exit_plain, 50.0),
            None,
        ),
    ]
}

/// cyrilgdn/postgresql v1.14's figures (PERFORMANCE.md, measured 2026-12-07): the
/// reference when no reference binary is measured in the same run.
fn go_provider_figure(name: &str) -> Option<f64> {
    match name {
        "binary size" => Some(21.8),
        "handshake with P-521 client cert, median" => Some(17.6),
        "handshake without client cert, median" => Some(9.1),
        "RSS after handshake with client cert, median" => Some(21.4),
        _ => None,
    }
}

/// One untimed warm-up of each kind (page cache, first exec); gives empty samples.
async fn measure(bin: &Path, id: &ClientIdentity) -> BenchResult<Samples> {
    let mut warm = Samples::default();
    run_mtls(bin, id, &mut warm).await?;
    run_plain(bin, &mut warm).await?;
    Ok(Samples::default())
}

/// One round: a run of each kind, interleaved so that drift on the machine hits both alike.
async fn round(bin: &Path, id: &ClientIdentity, s: &mut Samples, run: usize) -> BenchResult<()> {
    run_mtls(bin, id, s)
        .await
        .map_err(|e| format!("{} run {run} (mTLS): {e}", bin.display()))?;
    run_plain(bin, s)
        .await
        .map_err(|e| format!("{} run {run} (plaintext): {e}", bin.display()))
}

fn file_mib(bin: &Path) -> Result<f64, String> {
    std::fs::metadata(bin)
        .map(|m| m.len() as f64 / (1024.0 * 1024.0))
        .map_err(|e| format!("{}: {e}", bin.display()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(bin) = args.first().map(PathBuf::from) else {
        eprintln!("usage: plugin_bench <provider-binary> [runs=20]  (env: PLUGIN_BENCH_RUNS, PLUGIN_BENCH_REFERENCE)");
        return ExitCode::from(2);
    };
    let runs_arg = std::env::var("PLUGIN_BENCH_RUNS")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| args.get(1).cloned());
    let runs = match runs_arg
        .as_deref()
        .map(|r| r.trim_start_matches("runs=").parse::<usize>())
    {
        None => 20,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("runs must be a positive number, got {runs_arg:?}");
            return ExitCode::from(2);
        }
    };
    let reference = std::env::var_os("PLUGIN_BENCH_REFERENCE")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from);
    let (size_mib, reference_size) = match (
        file_mib(&bin),
        reference.as_deref().map(file_mib).transpose(),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
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

    let result: BenchResult<(Samples, Option<Samples>)> = runtime.block_on(async {
        let mut ours = measure(&bin, &id).await?;
        let mut theirs = match &reference {
            Some(r) => Some(measure(r, &id).await?),
            None => None,
        };
        for run in 0..runs {
            // Ours and the reference alternate, so both see the same machine.
            round(&bin, &id, &mut ours, run).await?;
            if let (Some(r), Some(t)) = (&reference, theirs.as_mut()) {
                round(r, &id, t, run).await?;
            }
        }
        Ok((ours, theirs))
    });
    let (s, theirs) = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("plugin_bench: {e}");
            return ExitCode::FAILURE;
        }
    };

    let reference_figures: Vec<Figure> = match (&theirs, reference_size) {
        (Some(t), Some(size)) => figures(size, t, |_| None),
        _ => Vec::new(),
    };
    let reference_of = |name: &str| match &reference {
        Some(_) => reference_figures
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.ours),
        None => go_provider_figure(name),
    };
    let reference_name = match &reference {
        Some(r) => format!("{} (same run, alternating)", r.display()),
        None => "cyrilgdn/postgresql v1.14 (PERFORMANCE.md, 2026-12-07)".into(),
    };
    println!(
        "### plugin_bench {} runs={runs}; reference: {reference_name}",
        bin.display()
    );
    println!();
    println!("| figure | ours | reference | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for f in figures(size_mib, &s, reference_of) {
        println!("{}", table_row(&f));
    }
    ExitCode::SUCCESS
}
