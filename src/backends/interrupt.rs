//! Ctrl-C reaching backend work. Terraform sends StopProvider on an interrupt, which trips
//! the provider-wide [`Stop`] signal the backends were built with; every connect, pool
//! acquire, retry back-off and drain wait of a backend then ends at once with
//! [`Interrupted`], as a lost connection would end it: a create cut off this way removes
//! or returns (tainted) what it made, and the next apply converges.

use std::future::Future;
use std::time::Duration;

/// The provider-wide stop signal (the token `tfplugin` trips on StopProvider); a fresh
/// one never fires.
pub type Stop = tokio_util::sync::CancellationToken;

/// Why a wait was ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Terraform asked the provider to stop (Ctrl-C).
    CtrlC,
    /// The `timeouts` deadline of the resource call being applied passed.
    Deadline,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cause::CtrlC => "Terraform asked the provider to stop (Ctrl-C)",
            Cause::Deadline => "the resource's `timeouts` deadline passed",
        })
    }
}

/// Work ended by Ctrl-C or by the running call's deadline; says what was being waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted while {0}: {1}")]
pub struct Interrupted(pub &'static str, pub Cause);

tokio::task_local! {
    /// The stop signal of the resource call being applied (tripped by Ctrl-C through
    /// its parent, or by its `timeouts` deadline alone), for every client shared by the
    /// process: see [`in_call`].
    static CALL: Stop;
}

/// Runs `work` (one resource call) with `call`, that call's own stop signal, observed
/// by every [`unless_stopped`] wait inside it, besides each client's provider-wide one.
pub async fn in_call<F: Future>(call: Stop, work: F) -> F::Output {
    CALL.scope(call, work).await
}

/// Resolves when the running call's stop signal fires; never outside [`in_call`].
async fn call_stopped(call: Option<Stop>) {
    match call {
        Some(call) => call.cancelled().await,
        None => std::future::pending().await,
    }
}

/// Runs `work` to its end, unless `stop` (Ctrl-C) or the running call's own signal (its
/// deadline, see [`in_call`]) fires first (or has already fired): then `work` is dropped
/// where it waits, and the answer is [`Interrupted`] naming `during` and the cause.
pub async fn unless_stopped<F: Future>(
    stop: &Stop,
    during: &'static str,
    work: F,
) -> Result<F::Output, Interrupted> {
    let call = CALL.try_with(Stop::clone).ok();
    tokio::select! {
        biased;
        () = stop.cancelled() => Err(Interrupted(during, Cause::CtrlC)),
        () = call_stopped(call) => Err(Interrupted(during, Cause::Deadline)),
        out = work => Ok(out),
    }
}

/// Sleeps `length` (a retry's back-off), waking at once when `stop` fires.
pub async fn pause(stop: &Stop, length: Duration) -> Result<(), Interrupted> {
    unless_stopped(stop, "waiting to retry", tokio::time::sleep(length)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn work_that_ends_first_keeps_its_answer() {
        let stop = Stop::new();
        assert_eq!(unless_stopped(&stop, "x", async { 7 }).await, Ok(7));
        assert_eq!(pause(&stop, Duration::from_millis(1)).await, Ok(()));
    }

    #[tokio::test]
    async fn a_stop_that_already_fired_runs_nothing() {
        let stop = Stop::new();
        stop.cancel();
        let ran = std::sync::atomic::AtomicBool::new(false);
        let out = unless_stopped(&stop, "connecting", async {
            ran.store(true, std::sync::atomic::Ordering::SeqCst);
        })
        .await;
        assert_eq!(out, Err(Interrupted("connecting", Cause::CtrlC)));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_stop_ends_a_hung_wait_at_once() {
        let stop = Stop::new();
        let trip = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            trip.cancel();
        });
        let started = Instant::now();
        let hung = unless_stopped(
            &stop,
            "waiting for the server",
            std::future::pending::<()>(),
        );
        assert_eq!(
            hung.await,
            Err(Interrupted("waiting for the server", Cause::CtrlC))
        );
        assert!(pause(&stop, Duration::from_secs(600)).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn the_error_says_what_was_interrupted_and_why() {
        let text = Interrupted("connecting to PostgreSQL", Cause::CtrlC).to_string();
        assert!(
            text.starts_with("interrupted while connecting to PostgreSQL"),
            "{text}"
        );
        assert!(text.contains("Ctrl-C"), "{text}");
    }

    #[tokio::test]
    async fn a_calls_deadline_ends_its_waits_and_says_so_and_no_other_calls() {
        let stop = Stop::new();
        let call = stop.child_token();
        let trip = call.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            trip.cancel();
        });
        let hung = unless_stopped(&stop, "waiting for Redis", std::future::pending::<()>());
        let out = in_call(call.clone(), hung).await;
        assert_eq!(out, Err(Interrupted("waiting for Redis", Cause::Deadline)));
        let text = out.unwrap_err().to_string();
        assert!(text.contains("`timeouts` deadline"), "{text}");
        // Another call, and work outside any call, are not ended by it.
        let other = in_call(stop.child_token(), unless_stopped(&stop, "x", async { 1 }));
        assert_eq!(other.await, Ok(1));
        assert_eq!(unless_stopped(&stop, "x", async { 2 }).await, Ok(2));
        // Ctrl-C trips both; it is named as Ctrl-C.
        let call = stop.child_token();
        stop.cancel();
        let out = in_call(call, unless_stopped(&stop, "y", async { 3 })).await;
        assert_eq!(out, Err(Interrupted("y", Cause::CtrlC)));
    }

    /// A server that accepts TCP connections and never answers, like a stopped process;
    /// its port.
    async fn silent_server() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        port
    }

    /// Every backend configured at `port`, with timeouts far longer than the test waits.
    fn every_backend_at(port: u16) -> crate::backends::settings::Settings {
        use crate::backends::settings::*;
        use crate::enums::{MysqlTls, SslMode};
        let host = "127.0.0.1".to_string();
        Settings {
            postgres: Some(PostgresSettings {
                host: host.clone(),
                port,
                username: "admin".into(),
                password: Secret::Plain("pw".into()),
                database: "postgres".into(),
                sslmode: SslMode::Disable,
                connect_timeout: 600,
                max_connections: crate::domain::defaults::MAX_CONNECTIONS,
                tls_files: TlsFiles::default(),
            }),
            pgbouncer: Some(PgBouncerSettings {
                host: host.clone(),
                port,
                admin_username: "admin".into(),
                admin_password: Secret::Plain("pw".into()),
                admin_hosts: vec![(host.clone(), port)],
                auth_user: "auth".into(),
                admin_sslmode: SslMode::Disable,
                admin_sslrootcert: None,
                connect_timeout: 600,
            }),
            mysql: Some(MysqlSettings {
                host: host.clone(),
                port,
                username: "root".into(),
                password: Secret::Plain("pw".into()),
                tls: MysqlTls::Disabled,
                tls_files: TlsFiles::default(),
                connect_timeout: 600,
                max_connections: crate::domain::defaults::MAX_CONNECTIONS,
            }),
            redis: Some(RedisSettings {
                host: host.clone(),
                port,
                username: String::new(),
                password: Secret::Plain("pw".into()),
                tls: crate::enums::RedisTls::Disabled,
                tls_files: TlsFiles::default(),
                connect_timeout: 600,
            }),
            vault: Some(VaultSettings {
                address: format!("http://{host}:{port}"),
                token: Secret::Plain("root".into()),
                mount: "database".into(),
                tls: VaultTls::default(),
                namespace: None,
                login: None,
                allow_custom_statements: false,
                connect_timeout: 600,
            }),
            unknown: Vec::new(),
            read_only: Default::default(),
        }
    }

    /// An answer's error text (`Ok` when the call did not fail).
    fn failure<T, E: std::fmt::Display>(answer: Result<T, E>) -> Result<(), String> {
        answer.map(drop).map_err(|e| e.to_string())
    }

    /// Ctrl-C while every backend waits for a server that never answers: each call ends
    /// within moments (not at its connect or request timeout), saying it was interrupted.
    #[tokio::test]
    async fn every_backend_stops_waiting_for_a_silent_server_on_ctrl_c() {
        use crate::backends::{BackendError, Backends};
        let stop = Stop::new();
        let port = silent_server().await;
        let b = Backends::new(every_backend_at(port)).stopped_by(stop.clone());
        let trip = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            trip.cancel();
        });
        let started = Instant::now();
        let all = async {
            tokio::join!(
                async {
                    failure(
                        async {
                            Ok::<_, BackendError>(b.postgres().await?.database_facts("x").await?)
                        }
                        .await,
                    )
                },
                async {
                    match b.pgbouncer().await {
                        Ok(pgb) => failure(pgb.expect("configured").pools(None).await),
                        Err(e) => Err(e.to_string()),
                    }
                },
                async {
                    failure(
                        async { Ok::<_, BackendError>(b.mysql().await?.dialect().await?) }.await,
                    )
                },
                async {
                    failure(
                        async { Ok::<_, BackendError>(b.redis().await?.get_user("x").await?) }
                            .await,
                    )
                },
                async { failure(async { b.vault().await?.read("database/roles/x").await }.await) },
            )
        };
        let (postgres, pgbouncer, mysql, redis, vault) =
            tokio::time::timeout(Duration::from_secs(10), all)
                .await
                .expect("every call ends within 10 s of Ctrl-C");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        let answers = [
            ("postgres", postgres),
            ("pgbouncer", pgbouncer),
            ("mysql", mysql),
            ("redis", redis),
            ("vault", vault),
        ];
        for (name, answer) in answers {
            let text = answer.expect_err(name);
            assert!(text.contains("interrupted while"), "{name}: {text}");
            let block = format!(":{port} (provider block `{name}`)");
            assert!(text.contains(&block), "names the server and block: {text}");
        }
    }
}
