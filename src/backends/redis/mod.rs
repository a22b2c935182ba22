//! Redis admin client: one reconnecting multiplexed connection per provider process
//! (opened on first use, as the provider block's `username`/`password`), ACL users as
//! typed values ([`AclSpec`] in, [`AclUser`] out), key deletion by SCAN + UNLINK, and the
//! memory-policy check the namespace resource warns about.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo, Value};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::backends::settings::{RedisSettings, TlsFiles};
use crate::backends::BoxFut;
use crate::enums::RedisTls;

/// A client for `host:port` with `settings`: plain (`disabled`), TLS unchecked
/// (`required`), or TLS verified against `files.ca_cert` (else the system roots), with
/// the client certificate when set. The files were checked at configure; reading them
/// again here can still fail (moved since).
fn client_for(
    host: &str,
    port: u16,
    mode: RedisTls,
    files: &TlsFiles,
    settings: RedisConnectionInfo,
) -> Result<redis::Client, String> {
    if !mode.on() {
        let info = ConnectionAddr::Tcp(host.to_string(), port)
            .into_connection_info()
            .map_err(|e| e.to_string())?
            .set_redis_settings(settings);
        return redis::Client::open(info).map_err(|e| e.to_string());
    };
    let info = ConnectionAddr::TcpTls {
        host: host.to_string(),
        port,
        insecure: mode == RedisTls::Required,
        tls_params: None,
    }
    .into_connection_info()
    .map_err(|e| e.to_string())?
    .set_redis_settings(settings);
    // Unchecked (`required`), a CA file has nothing to check.
    let checks_chain = mode != RedisTls::Required && files.ca_cert.is_some();
    if !checks_chain && files.client_pair().is_none() {
        return redis::Client::open(info).map_err(|e| e.to_string());
    }
    let read = |what: &str, path: &str| {
        std::fs::read(path).map_err(|e| format!("cannot read redis.{what} {path:?}: {e}"))
    };
    let root_cert = match &files.ca_cert {
        Some(ca) if checks_chain => Some(read("ca_cert_file", ca)?),
        _ => None,
    };
    let client_tls = match files.client_pair() {
        Some((cert, key)) => Some(redis::ClientTlsConfig {
            client_cert: read("client_cert_file", cert)?,
            client_key: read("client_key_file", key)?,
        }),
        None => None,
    };
    redis::Client::build_with_tls(
        info,
        redis::TlsCertificates {
            client_tls,
            root_cert,
        },
    )
    .map_err(|e| e.to_string())
}

/// What was checked, for error text: `tls against /ca.pem`.
fn tls_check_text(files: &TlsFiles) -> String {
    format!("tls{}", files.against())
}

/// Keys asked for per SCAN step and unlinked per UNLINK call.
const SCAN_BATCH: usize = 500;

/// A Redis failure, naming the server and provider block.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Redis at {host}:{port} (provider block `redis`): {message}")]
pub struct RedisError {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// What went wrong (never contains a password).
    pub message: String,
    /// The connection was lost or timed out after the command may have been sent, so
    /// whether Redis ran it is unknown.
    pub uncertain: bool,
}

/// The ACL user a namespace wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclSpec {
    /// ACL user name.
    pub name: String,
    /// `on` or `off`.
    pub enabled: bool,
    /// The password; sent as its SHA-256 (`#<hex>`), so Redis never sees the plaintext.
    pub password: String,
    /// Every key the user may touch starts with this (no glob characters).
    pub key_prefix: String,
    /// Pub/Sub channel patterns.
    pub channels: Vec<String>,
    /// Command rules (`+@all`, `-@admin`, `+get`, ...), applied in order.
    pub commands: Vec<String>,
}

/// SHA-256 of a password in the lower-case hex Redis shows in `ACL GETUSER`.
pub fn password_hash(password: &str) -> String {
    Sha256::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Escapes Redis glob characters so `s` matches only itself in a pattern.
pub fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The key rule a user confined to `prefix` gets: `~<prefix>*`, the prefix's glob
/// characters escaped. Destroy compares a user's rules with it before deleting keys.
pub fn key_rule(prefix: &str) -> String {
    format!("~{}*", escape_glob(prefix))
}

impl AclSpec {
    /// The rules of `ACL SETUSER <name> ...`: `reset` first, so whatever was there before
    /// (extra passwords, keys, selectors) is gone, then exactly this user. One command,
    /// applied atomically by Redis.
    pub fn setuser_rules(&self) -> Vec<String> {
        let mut rules = vec![
            "reset".to_string(),
            if self.enabled { "on" } else { "off" }.to_string(),
            format!("#{}", password_hash(&self.password)),
            key_rule(&self.key_prefix),
            "resetchannels".to_string(),
        ];
        rules.extend(self.channels.iter().map(|c| format!("&{c}")));
        rules.extend(self.commands.iter().cloned());
        rules
    }
}

/// An ACL user as `ACL GETUSER` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclUser {
    /// Flags: `on`/`off`, `nopass`, `sanitize-payload`, ...
    pub flags: Vec<String>,
    /// SHA-256 hashes of its passwords.
    pub password_hashes: Vec<String>,
    /// Key patterns with their prefix (`~app:*`, `%R~app:*`).
    pub keys: Vec<String>,
    /// Channel patterns with their prefix (`&app:*`).
    pub channels: Vec<String>,
    /// Command rules as Redis compacted them, e.g. `+@all -@dangerous`.
    pub commands: Vec<String>,
    /// Selectors, each rendered `(<rules>)`.
    pub selectors: Vec<String>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Okay => Some("OK".into()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Strings of a reply that is a string of space-separated items or an array of them.
fn words(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) | Value::Set(items) => items.iter().filter_map(text).collect(),
        other => text(other)
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

/// Key/value pairs of a RESP2 flat array or a RESP3 map.
fn pairs(v: &Value) -> Vec<(String, &Value)> {
    match v {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|p| match p {
                [k, v] => text(k).map(|k| (k, v)),
                _ => None,
            })
            .collect(),
        Value::Map(items) => items
            .iter()
            .filter_map(|(k, v)| text(k).map(|k| (k, v)))
            .collect(),
        _ => Vec::new(),
    }
}

fn with_sigil(items: Vec<String>, sigil: &str) -> Vec<String> {
    // Redis 6.2 lists patterns without their `~`/`&`; 7.x with.
    items
        .into_iter()
        .map(|p| {
            if p.starts_with('~') || p.starts_with('%') || p.starts_with('&') {
                p
            } else {
                format!("{sigil}{p}")
            }
        })
        .collect()
}

impl AclUser {
    /// Parses an `ACL GETUSER` reply; `None` for a nil reply (no such user).
    pub fn from_reply(v: &Value) -> Option<AclUser> {
        if matches!(v, Value::Nil) {
            return None;
        }
        let mut u = AclUser::default();
        for (k, v) in pairs(v) {
            match k.as_str() {
                "flags" => u.flags = words(v),
                "passwords" => u.password_hashes = words(v),
                "commands" => u.commands = words(v),
                "keys" => u.keys = with_sigil(words(v), "~"),
                "channels" => u.channels = with_sigil(words(v), "&"),
                "selectors" => {
                    if let Value::Array(sels) = v {
                        for sel in sels {
                            let inner = pairs(sel)
                                .into_iter()
                                .flat_map(|(_, v)| words(v))
                                .collect::<Vec<_>>()
                                .join(" ");
                            u.selectors.push(format!("({inner})"));
                        }
                    }
                }
                _ => {}
            }
        }
        Some(u)
    }

    /// Whether the user can log in.
    pub fn enabled(&self) -> bool {
        self.flags.iter().any(|f| f == "on")
    }

    /// The effective rules in `ACL LIST` order without the password hashes:
    /// flags, key patterns, channel patterns, commands, selectors.
    pub fn rule_string(&self) -> String {
        let mut parts: Vec<String> = self.flags.clone();
        parts.extend(self.keys.iter().cloned());
        if self.channels != ["&*"] {
            parts.push("resetchannels".into());
        }
        parts.extend(self.channels.iter().cloned());
        parts.extend(canonical_command_rules(&self.commands));
        parts.extend(self.selectors.iter().cloned());
        parts.join(" ")
    }
}

/// Redis 7 lists single-command and subcommand rules in an order that can change from one
/// `ACL GETUSER` to the next (after a restart, say) for the same permissions. Within a run
/// of consecutive rules of the same sign that name commands (not `@categories`), order
/// carries no meaning, so each such run is sorted; categories and sign changes stay where
/// they are, so rules whose order matters are never reordered.
pub fn canonical_command_rules(rules: &[String]) -> Vec<String> {
    let tokens: Vec<&str> = rules.iter().flat_map(|r| r.split_whitespace()).collect();
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut run: Vec<&str> = Vec::new();
    let mut run_sign: Option<char> = None;
    let flush = |run: &mut Vec<&str>, out: &mut Vec<String>| {
        run.sort_unstable();
        out.extend(run.drain(..).map(str::to_string));
    };
    for t in tokens {
        let sign = t.chars().next().filter(|c| *c == '+' || *c == '-');
        let command = sign.is_some() && !t[1..].starts_with('@');
        if command && sign == run_sign {
            run.push(t);
            continue;
        }
        flush(&mut run, &mut out);
        if command {
            run_sign = sign;
            run.push(t);
        } else {
            run_sign = None;
            out.push(t.to_string());
        }
    }
    flush(&mut run, &mut out);
    out
}

/// One `ACL LIST` line split into the user name and its key patterns (`~` and `%..~`
/// stripped), for the overlap check between namespaces.
pub fn key_patterns_of(line: &str) -> Option<(String, Vec<String>)> {
    let mut tokens = line.split_whitespace();
    if tokens.next() != Some("user") {
        return None;
    }
    let name = tokens.next()?.to_string();
    let patterns = tokens
        .filter_map(|t| {
            if t == "allkeys" {
                return Some(String::from("*"));
            }
            let rest = t.strip_prefix('%').map_or(t, |r| {
                r.trim_start_matches(|c: char| c.is_ascii_alphabetic())
            });
            rest.strip_prefix('~').map(str::to_string)
        })
        .collect();
    Some((name, patterns))
}

/// Whether key pattern `pattern` can match a key that starts with `prefix` (glob-free).
/// A pattern matching every key (`*`) is an administrator's and not counted.
pub fn pattern_overlaps(pattern: &str, prefix: &str) -> bool {
    let literal_end = pattern.find(['*', '?', '[', '\\']).unwrap_or(pattern.len());
    let literal = &pattern[..literal_end];
    if literal_end == pattern.len() {
        // No glob: exactly one key.
        return pattern.starts_with(prefix);
    }
    !literal.is_empty() && (literal.starts_with(prefix) || prefix.starts_with(literal))
}

/// Another ACL user whose key patterns reach into a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The user.
    pub user: String,
    /// Its overlapping key patterns (without `~`).
    pub patterns: Vec<String>,
}

/// The admin side of the shared Redis.
pub struct Redis {
    host: String,
    port: u16,
    tls: RedisTls,
    tls_files: TlsFiles,
    /// `redis.connect_timeout`: the first connection (TCP, TLS, AUTH and PING).
    connect_timeout: Duration,
    username: String,
    password: String,
    conn: OnceCell<Result<ConnectionManager, RedisError>>,
    memory_warning: OnceCell<Option<String>>,
    warned: AtomicBool,
    /// Ends the connect on Ctrl-C.
    stop: crate::backends::interrupt::Stop,
}

impl Redis {
    /// Connection settings for `s` with the resolved user and password. Opens nothing.
    pub fn new(s: &RedisSettings, username: &str, password: &str) -> Self {
        crate::backends::install_crypto_provider();
        Redis {
            stop: crate::backends::interrupt::Stop::new(),
            host: s.host.clone(),
            port: s.port,
            tls: s.tls,
            tls_files: s.tls_files.clone(),
            connect_timeout: Duration::from_secs(s.connect_timeout.max(1)),
            username: username.to_string(),
            password: password.to_string(),
            conn: OnceCell::new(),
            memory_warning: OnceCell::new(),
            warned: AtomicBool::new(false),
        }
    }

    /// This client, its waits ended by `stop` (Terraform's Ctrl-C).
    pub fn stopped_by(self, stop: crate::backends::interrupt::Stop) -> Self {
        Redis { stop, ..self }
    }

    /// The ACL user the provider itself connects as.
    pub fn admin_user(&self) -> &str {
        &self.username
    }

    /// Host and port, as apps reach the shared Redis.
    pub fn endpoint(&self) -> (String, u16) {
        (self.host.clone(), self.port)
    }

    fn fail(&self, message: impl Into<String>) -> RedisError {
        RedisError {
            host: self.host.clone(),
            port: self.port,
            message: message.into(),
            uncertain: false,
        }
    }

    /// Wraps a driver error with this server's address.
    pub fn error(&self, e: redis::RedisError) -> RedisError {
        let text = crate::backends::error_chain(&e);
        if let Some(tls) = crate::backends::tls_failure(&text, &tls_check_text(&self.tls_files)) {
            return self.fail(format!(
                "{tls}; check redis.tls, ca_cert_file, client_cert_file and client_key_file"
            ));
        }
        let uncertain = !e.is_connection_refusal()
            && (e.is_io_error() || e.is_timeout() || e.is_connection_dropped());
        let message = if e.kind() == redis::ErrorKind::AuthenticationFailed
            || text.contains("WRONGPASS")
            || text.contains("NOAUTH")
        {
            format!("authentication failed for the admin user {:?}: {text}; check redis.username and redis.password", self.username)
        } else if text.contains("NOPERM") {
            format!("the admin user {:?} lacks a permission: {text}; it needs +acl, +scan, +unlink and +config|get on all keys", self.username)
        } else if e.is_io_error() || e.is_connection_refusal() || e.is_timeout() {
            format!("cannot connect: {text}; check redis.host/port, redis.tls and that the server is running")
        } else {
            text
        };
        RedisError {
            uncertain,
            ..self.fail(message)
        }
    }

    /// Serialises namespace ACL writes in this provider process: the prefix-overlap check
    /// and the `ACL SETUSER` that follows run under it, so parallel creates of
    /// overlapping namespaces cannot both pass the check.
    pub async fn acl_write_lock(&self) -> tokio::sync::MutexGuard<'static, ()> {
        static ACL_WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        ACL_WRITES.lock().await
    }

    fn connect(&self) -> BoxFut<'_, Result<ConnectionManager, RedisError>> {
        Box::pin(async move {
            let mut settings = RedisConnectionInfo::default().set_skip_set_lib_name();
            if !self.username.is_empty() {
                settings = settings.set_username(&self.username);
            }
            if !self.password.is_empty() {
                settings = settings.set_password(&self.password);
            }
            let client = client_for(&self.host, self.port, self.tls, &self.tls_files, settings)
                .map_err(|e| self.fail(e))?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.connect_timeout))
                .set_response_timeout(Some(Duration::from_secs(60)))
                .set_number_of_retries(1);
            // The whole first connection (TCP, TLS, HELLO/AUTH, PING) within
            // `connect_timeout`: a server that accepts and never answers fails here.
            let first = async {
                let mut conn = ConnectionManager::new_with_config(client, config)
                    .await
                    .map_err(|e| self.error(e))?;
                // Prove the credentials now: a bad password should fail here, once.
                redis::cmd("PING")
                    .query_async::<Value>(&mut conn)
                    .await
                    .map_err(|e| self.error(e))?;
                Ok(conn)
            };
            match tokio::time::timeout(self.connect_timeout, first).await {
                Ok(r) => r,
                Err(_) => Err(self.fail(format!(
                    "no answer within {} s (redis.connect_timeout); check redis.host/port, redis.tls and the network",
                    self.connect_timeout.as_secs()
                ))),
            }
        })
    }

    fn conn(&self) -> BoxFut<'_, Result<ConnectionManager, RedisError>> {
        Box::pin(async move {
            // A failure is kept too, so parallel resources fail at once against a dead server;
            // an interruption is not (the cell stays empty).
            let during = "connecting to Redis";
            let first = self.conn.get_or_init(|| self.connect());
            let r = crate::backends::interrupt::unless_stopped(&self.stop, during, first)
                .await
                .map_err(|i| self.fail(i.to_string()))?;
            // Failing to connect sends nothing: never uncertain.
            r.clone().map_err(|e| RedisError {
                uncertain: false,
                ..e
            })
        })
    }

    /// `ACL <args>` on the admin connection; a failure names this server.
    fn acl<'a, T: redis::FromRedisValue + Send + 'a>(
        &'a self,
        args: impl redis::ToRedisArgs + Send + 'a,
    ) -> BoxFut<'a, Result<T, RedisError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            redis::cmd("ACL")
                .arg(args)
                .query_async(&mut conn)
                .await
                .map_err(|e| self.error(e))
        })
    }

    /// The user `name`, or `None` when Redis has no such user.
    pub fn get_user<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFut<'a, Result<Option<AclUser>, RedisError>> {
        Box::pin(async move {
            let reply: Value = self.acl(("GETUSER", name)).await?;
            Ok(AclUser::from_reply(&reply))
        })
    }

    /// Creates or replaces the user (`ACL SETUSER name reset ...`).
    pub fn set_user<'a>(&'a self, spec: &'a AclSpec) -> BoxFut<'a, Result<(), RedisError>> {
        Box::pin(async move {
            let rules = spec.setuser_rules();
            self.acl::<Value>(("SETUSER", &spec.name, rules)).await?;
            Ok(())
        })
    }

    /// Deletes the user (its connections are closed by Redis); `false` if it was gone.
    pub fn del_user<'a>(&'a self, name: &'a str) -> BoxFut<'a, Result<bool, RedisError>> {
        Box::pin(async move {
            let n: i64 = self.acl(("DELUSER", name)).await?;
            Ok(n > 0)
        })
    }

    /// Whether user `name` may run the command `args` (`ACL DRYRUN`): `false` when its
    /// rules refuse it.
    pub fn may_run<'a>(
        &'a self,
        name: &'a str,
        args: &'a [&'a str],
    ) -> BoxFut<'a, Result<bool, RedisError>> {
        Box::pin(async move {
            let reply: Value = self.acl(("DRYRUN", name, args)).await?;
            Ok(dryrun_allowed(&reply))
        })
    }

    /// Every other user whose key patterns reach keys starting with `prefix`, with the
    /// overlapping patterns.
    pub fn overlapping_users<'a>(
        &'a self,
        name: &'a str,
        prefix: &'a str,
    ) -> BoxFut<'a, Result<Vec<Overlap>, RedisError>> {
        Box::pin(async move {
            let lines: Vec<String> = self.acl("LIST").await?;
            Ok(lines
                .iter()
                .filter_map(|l| key_patterns_of(l))
                .filter(|(user, _)| user != name && user != &self.username)
                .filter_map(|(user, patterns)| {
                    let hits: Vec<String> = patterns
                        .into_iter()
                        .filter(|p| pattern_overlaps(p, prefix))
                        .collect();
                    (!hits.is_empty()).then_some(Overlap {
                        user,
                        patterns: hits,
                    })
                })
                .collect())
        })
    }

    /// One step of deleting every key starting with `prefix`: a SCAN MATCH from
    /// `cursor`, then UNLINK of what it found, in batches (never KEYS, which blocks the
    /// shared server). Returns the next cursor (0: done) and how many keys were unlinked;
    /// the caller loops, so it can stop between steps.
    pub fn delete_keys_step<'a>(
        &'a self,
        prefix: &'a str,
        cursor: u64,
    ) -> BoxFut<'a, Result<(u64, u64), RedisError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let pattern = format!("{}*", escape_glob(prefix));
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_BATCH)
                .query_async(&mut conn)
                .await
                .map_err(|e| self.error(e))?;
            let mut deleted: u64 = 0;
            for batch in keys.chunks(SCAN_BATCH) {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(batch)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| self.error(e))?;
                deleted += n;
            }
            Ok((next, deleted))
        })
    }

    /// A warning about the shared instance's memory settings, the first time it is asked
    /// for in this provider process; `None` afterwards, when all is well, or when the
    /// admin user may not read the configuration.
    pub fn take_memory_warning(&self) -> BoxFut<'_, Option<String>> {
        Box::pin(async move {
            let warning = self
                .memory_warning
                .get_or_init(|| async {
                    let mut conn = self.conn().await.ok()?;
                    let get =
                        |param: &'static str| redis::cmd("CONFIG").arg("GET").arg(param).clone();
                    let maxmemory: Vec<String> =
                        get("maxmemory").query_async(&mut conn).await.ok()?;
                    let policy: Vec<String> =
                        get("maxmemory-policy").query_async(&mut conn).await.ok()?;
                    memory_warning(
                        &self.host,
                        self.port,
                        maxmemory.get(1).map(String::as_str),
                        policy.get(1).map(String::as_str),
                    )
                })
                .await;
            if warning.is_some() && !self.warned.swap(true, Ordering::SeqCst) {
                warning.clone()
            } else {
                None
            }
        })
    }
}

/// Whether an `ACL DRYRUN` reply allows the command: `OK`; a refusal is a text saying
/// which permission is missing.
pub fn dryrun_allowed(reply: &Value) -> bool {
    text(reply).as_deref() == Some("OK")
}

/// The warning for a shared Redis whose memory settings let it refuse every tenant's
/// writes, or `None` when they are fine.
pub fn memory_warning(
    host: &str,
    port: u16,
    maxmemory: Option<&str>,
    policy: Option<&str>,
) -> Option<String> {
    let mut problems = Vec::new();
    if maxmemory.map(str::trim) == Some("0") {
        problems.push("`maxmemory` is 0 (no limit): the instance grows until the node runs out of memory and it is killed, taking every tenant's data with it");
    }
    if policy == Some("noeviction") {
        problems.push(
            "`maxmemory-policy` is `noeviction`: once full, it refuses writes for every tenant",
        );
    }
    (!problems.is_empty()).then(|| {
        format!(
            "The shared Redis at {host}:{port} is configured so that one tenant filling it breaks all of them: {}. Set `maxmemory` and an evicting policy such as `allkeys-lru` (or `volatile-lru` when tenants set TTLs).",
            problems.join("; ")
        )
    })
}

/// Logs in as a tenant through the endpoint apps use (`redis.host:port`, TLS per the
/// block): AUTH with `username` and `password`, then PING, as an app's client would. A
/// PING refused by the user's ACL (NOPERM) still proves the login. The error names the
/// endpoint and the login, never the password.
pub fn verify_login<'a>(
    s: &'a RedisSettings,
    username: &'a str,
    password: &'a str,
) -> BoxFut<'a, Result<(), String>> {
    Box::pin(async move {
        crate::backends::install_crypto_provider();
        let (host, port) = (&s.host, s.port);
        let failed =
            |e: redis::RedisError| format!("login to {host}:{port} as {username} failed: {e}");
        let settings = RedisConnectionInfo::default()
            .set_skip_set_lib_name()
            .set_username(username)
            .set_password(password);
        // The same TLS files as the admin connection: the certificate authenticates the
        // TLS session (servers with `tls-auth-clients yes` need one), AUTH the tenant.
        let client = client_for(host, port, s.tls, &s.tls_files, settings)
            .map_err(|e| format!("login to {host}:{port} as {username} failed: {e}"))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(s.connect_timeout.max(1))))
            .set_response_timeout(Some(Duration::from_secs(10)));
        // Connecting sends AUTH: a wrong login fails here.
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(failed)?;
        match redis::cmd("PING").query_async::<Value>(&mut conn).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("NOPERM") => Ok(()),
            Err(e) => Err(failed(e)),
        }
    })
}

#[cfg(test)]
mod tests;
