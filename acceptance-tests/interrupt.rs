//! Ctrl-C stops work (issue 20, item 3): `terraform apply` of new databases while
//! PostgreSQL accepts connections but never answers (a stopped process), interrupted
//! once. Terraform asks the provider to stop, the provider's waits end, and Terraform
//! exits within seconds, not at the connect timeout; with the server back, the next
//! apply converges and destroy leaves nothing behind.
//!
//! The frozen server is a [`Forwarder`] in front of the real PostgreSQL, so nothing
//! shared is ever stopped.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fixture::{apply_clean, each_terraform, pg_database, tagged, Cleanup};
use crate::harness::{provider_block, psql_admin, stack, Workdir};

/// A TCP forwarder to `target` that can be frozen: frozen, it accepts connections and
/// holds them without a byte either way, like a stopped server process; thawed, it
/// forwards new connections and closes the ones it held.
pub(crate) struct Forwarder {
    /// The loopback port it listens on.
    pub(crate) port: u16,
    frozen: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    done: Arc<AtomicBool>,
}

impl Forwarder {
    /// A forwarder to `target` (`host:port`) on a free loopback port, frozen.
    pub(crate) fn frozen(target: String) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind forwarder");
        let port = listener.local_addr().expect("forwarder address").port();
        let f = Forwarder {
            port,
            frozen: Arc::new(AtomicBool::new(true)),
            held: Arc::default(),
            done: Arc::default(),
        };
        let (frozen, held, done) = (f.frozen.clone(), f.held.clone(), f.done.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if frozen.load(Ordering::SeqCst) {
                    held.lock().unwrap_or_else(|e| e.into_inner()).push(client);
                    continue;
                }
                if let Ok(server) = TcpStream::connect(&target) {
                    pipe(&client, &server);
                    pipe(&server, &client);
                }
            }
        });
        f
    }

    /// How many connections it holds unanswered.
    pub(crate) fn holding(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Holds new connections unanswered from now on (those forwarded so far go on).
    pub(crate) fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Forwards from now on; the connections held so far are closed.
    pub(crate) fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
        for c in self
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.thaw();
        self.done.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `done`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies `from` to `to` on a thread until either side closes.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// The dev stack's provider block with PostgreSQL reached through port `port` and a
/// connect timeout far longer than the test waits.
fn provider_through(port: u16) -> String {
    let direct = format!("port     = {}\n", stack("PGPORT"));
    let block = provider_block();
    assert!(block.contains(&direct), "the postgres block sets the port");
    block.replacen(
        &direct,
        &format!("port     = {port}\n    connect_timeout = 60\n"),
        1,
    )
}

/// Databases and roles whose names start with `prefix`.
fn left_behind(prefix: &str) -> String {
    let like = format!("'{}%'", prefix.replace('_', "\\_"));
    let sql = format!(
        "SELECT datname FROM pg_database WHERE datname LIKE {like} \
         UNION ALL SELECT rolname FROM pg_roles WHERE rolname LIKE {like}"
    );
    psql_admin("postgres", &sql).expect("admin query")
}

/// Sends one SIGINT to the process group `pgid`, as Ctrl-C in a terminal does: Terraform
/// (v1.0.3 runs as two processes, the outer one ignoring SIGINT) and its providers (which
/// ignore it too, and wait for StopProvider).
fn interrupt(pgid: u32) {
    let group = format!("-{pgid}");
    let status = std::process::Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -INT -- {group}");
}

#[test]
fn interrupt_ends_an_apply_stuck_on_a_silent_postgres_and_the_next_apply_converges() {
    for tf in each_terraform() {
        let [prefix] = tagged(&tf, ["i20c"]);
        let names: Vec<String> = (0..3).map(|i| format!("{prefix}_{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let _guard = Cleanup::tenants(&refs);
        let server = Forwarder::frozen(format!("{}:{}", stack("PGHOST"), stack("PGPORT")));
        let databases: String = names
            .iter()
            .enumerate()
            .map(|(i, n)| pg_database(&format!("t{i}"), n))
            .collect();
        let w = Workdir::new(
            &tf,
            &format!("{}\n{databases}", provider_through(server.port)),
        );

        let mut apply = w.start(
            "apply",
            &["apply", "-auto-approve", "-no-color", "-input=false"],
        );
        let waiting = Instant::now();
        while server.holding() == 0 && waiting.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(server.holding() > 0, "the apply never reached PostgreSQL");
        std::thread::sleep(Duration::from_secs(2));
        interrupt(apply.id());
        let interrupted = Instant::now();
        let code = loop {
            if let Some(status) = apply.try_wait().expect("wait for terraform") {
                break status.code().unwrap_or(-1);
            }
            if interrupted.elapsed() > Duration::from_secs(40) {
                let _ = apply.kill();
                let _ = apply.wait();
                break -1;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let took = interrupted.elapsed();
        let run = w.finished("apply", code);
        eprintln!("terraform {} exited {took:?} after Ctrl-C", tf.version);
        assert!(
            took < Duration::from_secs(15),
            "terraform {} took {took:?} to exit after Ctrl-C (connect_timeout is 60 s)\n{}",
            tf.version,
            run.all()
        );
        assert_ne!(run.code, 0, "an interrupted apply fails\n{}", run.all());
        assert!(
            run.all().contains("interrupted"),
            "the error says the work was interrupted\n{}",
            run.all()
        );

        // The server is back: the next apply converges, destroy leaves nothing.
        server.thaw();
        apply_clean(&w, "the apply that followed the interrupt");
        for n in &names {
            assert!(
                left_behind(n).lines().any(|l| l == n),
                "database {n} exists after the second apply"
            );
        }
        w.destroy().ok();
        assert_eq!(
            left_behind(&prefix).trim(),
            "",
            "destroy leaves nothing behind"
        );
    }
}
