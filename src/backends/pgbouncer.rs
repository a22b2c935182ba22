//! PgBouncer's admin console (the virtual `pgbouncer` database, simple query protocol
//! only) on every replica: SHOW POOLS / DATABASES, KILL, RESUME, RECONNECT.

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, PgConnection, Row};

/// A failure on one admin host.
#[derive(Debug, thiserror::Error)]
#[error("PgBouncer admin console at {host}:{port} (provider block `pgbouncer`): {message}")]
pub struct PgBouncerError {
    /// Admin host.
    pub host: String,
    /// Admin port.
    pub port: u16,
    /// What went wrong.
    pub message: String,
}

/// One row of `SHOW POOLS` (the names are PgBouncer's columns; `dbaas_pgbouncer_pools`
/// serves rows as they are).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pool {
    /// `host:port` of the replica it came from.
    pub admin_host: String,
    /// Database.
    pub database: String,
    /// User.
    pub user: String,
    /// Active client connections.
    pub cl_active: i64,
    /// Waiting client connections.
    pub cl_waiting: i64,
    /// Active server connections.
    pub sv_active: i64,
    /// Idle server connections.
    pub sv_idle: i64,
    /// Longest wait, seconds.
    pub maxwait: i64,
    /// Pool mode.
    pub pool_mode: String,
}

/// The admin consoles of all replicas.
pub struct PgBouncerAdmin {
    hosts: Vec<(String, u16)>,
    username: String,
    password: String,
    /// `admin_sslmode`.
    sslmode: crate::enums::SslMode,
    /// `admin_sslrootcert`, as TLS files of the admin connections (no client certificate).
    tls_files: crate::backends::settings::TlsFiles,
    /// `pgbouncer.connect_timeout`: how long opening one admin console may take.
    connect_timeout: std::time::Duration,
    /// One kept-open admin connection per host, opened on first use.
    conns: Vec<tokio::sync::Mutex<Option<PgConnection>>>,
    /// Ends every command's wait (connect, answer) on Ctrl-C.
    stop: crate::backends::interrupt::Stop,
}

impl PgBouncerAdmin {
    /// Admin access to `hosts` as `username`, with TLS per `sslmode` checked against
    /// `sslrootcert`.
    pub fn new(
        hosts: Vec<(String, u16)>,
        username: &str,
        password: &str,
        sslmode: crate::enums::SslMode,
        sslrootcert: Option<String>,
    ) -> Self {
        PgBouncerAdmin {
            stop: crate::backends::interrupt::Stop::new(),
            sslmode,
            tls_files: crate::backends::settings::TlsFiles {
                ca_cert: sslrootcert,
                ..Default::default()
            },
            conns: hosts
                .iter()
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
            hosts,
            username: username.to_string(),
            password: password.to_string(),
            connect_timeout: std::time::Duration::from_secs(
                crate::domain::defaults::CONNECT_TIMEOUT,
            ),
        }
    }

    /// This client, each console's connection given up after `seconds`.
    pub fn connect_timeout(self, seconds: u64) -> Self {
        PgBouncerAdmin {
            connect_timeout: std::time::Duration::from_secs(seconds.max(1)),
            ..self
        }
    }

    /// This client, its waits ended by `stop` (Terraform's Ctrl-C).
    pub fn stopped_by(self, stop: crate::backends::interrupt::Stop) -> Self {
        PgBouncerAdmin { stop, ..self }
    }

    /// The configured admin hosts.
    pub fn hosts(&self) -> &[(String, u16)] {
        &self.hosts
    }

    fn connect<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> crate::backends::BoxFut<'a, Result<PgConnection, PgBouncerError>> {
        Box::pin(async move {
            // PgBouncer refuses startup parameters it does not know, and sqlx sends
            // extra_float_digits unless told not to.
            let options = PgConnectOptions::new()
                .host(host)
                .port(port)
                .username(&self.username)
                .password(&self.password)
                .database("pgbouncer")
                .extra_float_digits(None)
                .statement_cache_capacity(0)
                .disable_statement_logging();
            let options =
                crate::backends::postgres::with_tls(options, self.sslmode, &self.tls_files);
            let err = |message: String| PgBouncerError {
                host: host.to_string(),
                port,
                message,
            };
            let within = self.connect_timeout;
            tokio::time::timeout(within, options.connect())
                .await
                .map_err(|_| {
                    err(format!(
                        "no answer within {} s (pgbouncer.connect_timeout); check pgbouncer.admin_hosts and the network",
                        within.as_secs()
                    ))
                })?
                .map_err(|e| {
                    let text = crate::backends::error_chain(&e);
                    let how = crate::backends::postgres::tls_check_text(
                        self.sslmode,
                        self.tls_files.ca_cert.as_deref(),
                    );
                    err(crate::backends::tls_failure(&text, &how)
                        .map(|t| {
                            format!("{t}; check pgbouncer.admin_sslmode and admin_sslrootcert")
                        })
                        .unwrap_or_else(|| format!("cannot connect: {text}")))
                })
        })
    }

    /// Runs one admin command on replica `idx` (see [`Self::run_once`]), ended with an
    /// "interrupted" error when the stop signal fires first.
    fn run<'a>(
        &'a self,
        idx: usize,
        command: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<Vec<PgRow>, PgBouncerError>> {
        Box::pin(async move {
            let work = self.run_once(idx, command);
            let during = "waiting for PgBouncer";
            crate::backends::interrupt::unless_stopped(&self.stop, during, work)
                .await
                .unwrap_or_else(|i| {
                    Err(PgBouncerError {
                        host: self.hosts[idx].0.clone(),
                        port: self.hosts[idx].1,
                        message: i.to_string(),
                    })
                })
        })
    }

    /// Runs one admin command on replica `idx` that Ctrl-C and a `timeouts` deadline do
    /// not cut short (`RESUME`: a destroy stopped after `KILL` must not leave the kept
    /// database paused), bounded instead by twice `pgbouncer.connect_timeout`.
    fn run_to_the_end<'a>(
        &'a self,
        idx: usize,
        command: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<Vec<PgRow>, PgBouncerError>> {
        Box::pin(async move {
            let within = self.connect_timeout * 2;
            tokio::time::timeout(within, self.run_once(idx, command))
                .await
                .unwrap_or_else(|_| {
                    Err(PgBouncerError {
                        host: self.hosts[idx].0.clone(),
                        port: self.hosts[idx].1,
                        message: format!(
                            "`{command}` had no answer within {} s (twice pgbouncer.connect_timeout)",
                            within.as_secs()
                        ),
                    })
                })
        })
    }

    /// Runs one admin command on replica `idx` over its kept-open connection (one per
    /// admin host per process: logins cost far more than commands), reconnecting once
    /// if the connection went away.
    fn run_once<'a>(
        &'a self,
        idx: usize,
        command: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<Vec<PgRow>, PgBouncerError>> {
        Box::pin(async move {
            let (host, port) = (&self.hosts[idx].0, self.hosts[idx].1);
            let err = |message: String| PgBouncerError {
                host: host.to_string(),
                port,
                message,
            };
            let mut slot = self.conns[idx].lock().await;
            for attempt in 0..2 {
                let mut conn = match slot.take() {
                    Some(c) => c,
                    None => self.connect(host, port).await?,
                };
                match sqlx::Executor::fetch_all(&mut conn, sqlx::raw_sql(command)).await {
                    Ok(rows) => {
                        *slot = Some(conn);
                        return Ok(rows);
                    }
                    // The server answered: the connection is fine, the command was not.
                    Err(sqlx::Error::Database(e)) => {
                        *slot = Some(conn);
                        return Err(err(format!("`{command}` failed: {}", e.message())));
                    }
                    Err(e) if attempt == 1 => return Err(err(format!("`{command}` failed: {e}"))),
                    Err(_) => continue,
                }
            }
            Err(err(format!("`{command}` failed")))
        })
    }

    /// `SHOW POOLS` on every replica, optionally for one database.
    pub fn pools<'a>(
        &'a self,
        database: Option<&'a str>,
    ) -> crate::backends::BoxFut<'a, Result<Vec<Pool>, PgBouncerError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for (idx, (host, port)) in self.hosts.iter().enumerate() {
                for row in self.run(idx, "SHOW POOLS").await? {
                    let text = |c: &str| {
                        row.try_get_unchecked::<Option<String>, _>(c)
                            .ok()
                            .flatten()
                            .unwrap_or_default()
                    };
                    let num = |c: &str| {
                        row.try_get_unchecked::<Option<i64>, _>(c)
                            .ok()
                            .flatten()
                            .or_else(|| text(c).parse().ok())
                            .unwrap_or(0)
                    };
                    let db = text("database");
                    if database.is_some_and(|d| d != db) {
                        continue;
                    }
                    out.push(Pool {
                        admin_host: format!("{host}:{port}"),
                        database: db,
                        user: text("user"),
                        cl_active: num("cl_active"),
                        cl_waiting: num("cl_waiting"),
                        sv_active: num("sv_active"),
                        sv_idle: num("sv_idle"),
                        maxwait: num("maxwait"),
                        pool_mode: text("pool_mode"),
                    });
                }
            }
            Ok(out)
        })
    }

    /// Runs `<verb> <db>` on every replica. "No such database" (PgBouncer has not seen
    /// it yet) counts as done; other errors are collected and returned together.
    pub fn each<'a>(
        &'a self,
        verb: crate::enums::PgBouncerVerb,
        db: &'a str,
    ) -> crate::backends::BoxFut<'a, Result<(), Vec<PgBouncerError>>> {
        Box::pin(async move {
            let Some(command) = crate::sql::pgbouncer_command(verb, db) else {
                return Ok(());
            };
            let mut errors = Vec::new();
            for idx in 0..self.hosts.len() {
                let done = if verb == crate::enums::PgBouncerVerb::Resume {
                    self.run_to_the_end(idx, &command).await
                } else {
                    self.run(idx, &command).await
                };
                if let Err(e) = done {
                    let benign = e.message.contains("no such database")
                        || e.message.contains("is not paused")
                        || e.message.contains("already");
                    if !benign {
                        errors.push(e);
                    }
                }
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors)
            }
        })
    }
}
