//! Issue 21: every backend block's `connect_timeout` bounds the wait for a server that
//! accepts TCP connections and never answers (a hung or blackholed process), and the
//! error names the setting to raise.

use std::time::{Duration, Instant};

use crate::backends::settings::*;
use crate::backends::{BackendError, Backends};
use crate::enums::{MysqlTls, RedisTls, SslMode};

/// A server that accepts TCP connections and never answers; its port.
async fn silent_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("local address").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// PgBouncer, MySQL and Redis at `port`, each with `connect_timeout` = `seconds`.
fn blocks_at(port: u16, seconds: u64) -> Settings {
    let host = "127.0.0.1".to_string();
    Settings {
        pgbouncer: Some(PgBouncerSettings {
            host: host.clone(),
            port,
            admin_username: "admin".into(),
            admin_password: Secret::Plain("pw".into()),
            admin_hosts: vec![(host.clone(), port)],
            auth_user: "auth".into(),
            admin_sslmode: SslMode::Disable,
            admin_sslrootcert: None,
            connect_timeout: seconds,
        }),
        mysql: Some(MysqlSettings {
            host: host.clone(),
            port,
            username: "root".into(),
            password: Secret::Plain("pw".into()),
            tls: MysqlTls::Disabled,
            tls_files: TlsFiles::default(),
            connect_timeout: seconds,
            max_connections: crate::domain::defaults::MAX_CONNECTIONS,
        }),
        redis: Some(RedisSettings {
            host,
            port,
            username: String::new(),
            password: Secret::Plain("pw".into()),
            tls: RedisTls::Disabled,
            tls_files: TlsFiles::default(),
            connect_timeout: seconds,
        }),
        ..Settings::default()
    }
}

fn failure<T, E: std::fmt::Display>(answer: Result<T, E>) -> String {
    match answer {
        Ok(_) => "succeeded".into(),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_silent_server_fails_within_each_blocks_connect_timeout() {
    let port = silent_server().await;
    let b = Backends::new(blocks_at(port, 1));
    let started = Instant::now();
    let all = async {
        tokio::join!(
            async {
                match b.pgbouncer().await {
                    Ok(pgb) => failure(pgb.expect("configured").pools(None).await),
                    Err(e) => e.to_string(),
                }
            },
            async {
                failure(async { Ok::<_, BackendError>(b.mysql().await?.dialect().await?) }.await)
            },
            async {
                failure(
                    async { Ok::<_, BackendError>(b.redis().await?.get_user("x").await?) }.await,
                )
            },
        )
    };
    // Before issue 21 the waits were fixed: 10 s (PgBouncer, Redis) and 15 s (MySQL).
    let (pgbouncer, mysql, redis) = tokio::time::timeout(Duration::from_secs(8), all)
        .await
        .expect("every block gives up within its connect_timeout");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    for (block, text) in [("pgbouncer", pgbouncer), ("mysql", mysql), ("redis", redis)] {
        let setting = format!("{block}.connect_timeout");
        assert!(text.contains(&setting), "{block}: names {setting}: {text}");
        assert!(
            text.contains(&format!(":{port} (provider block `{block}`)")),
            "{block}: names the server and block: {text}"
        );
    }
}
