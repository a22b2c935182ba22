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

/// Work ended because Terraform asked the provider to stop; says what was being waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted while {0}: Terraform asked the provider to stop (Ctrl-C)")]
pub struct Interrupted(pub &'static str);

/// Runs `work` to its end, unless `stop` fires first (or has already fired): then `work`
/// is dropped where it waits, and the answer is [`Interrupted`] naming `during`.
pub async fn unless_stopped<F: Future>(
    stop: &Stop,
    during: &'static str,
    work: F,
) -> Result<F::Output, Interrupted> {
    tokio::select! {
        biased;
        () = stop.cancelled() => Err(Interrupted(during)),
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
        assert_eq!(out, Err(Interrupted("connecting")));
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
        assert_eq!(hung.await, Err(Interrupted("waiting for the server")));
        assert!(pause(&stop, Duration::from_secs(600)).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn the_error_says_what_was_interrupted_and_why() {
        let text = Interrupted("connecting to PostgreSQL").to_string();
        assert!(
            text.starts_with("interrupted while connecting to PostgreSQL"),
            "{text}"
        );
        assert!(text.contains("Ctrl-C"), "{text}");
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
