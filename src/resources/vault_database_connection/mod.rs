//! `dbaas_vault_database_connection`: a connection of Vault's database secrets engine
//! (`<mount>/config/<name>`) to one of the shared backends, defaulting every setting
//! from the provider's own admin configuration.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use tfplugin::{Applied, Error, OrDiag, OrTaint};
use tfplugin::{
    Attribute, Block, ClientInfo, Diagnostics, Known, Number, Plan, Schema, Type, Value,
};

use crate::backends::settings::Secret;
use crate::backends::Backends;
use crate::backends::Credentials;
use crate::enums::Engine;
use crate::resources::common::{
    check_password_settings, decode, derived, merge, parse_connection_import_id, plan_views,
    refuse_import_id, vault_mount_validator, vault_name_validator, Ctx,
};

/// The resource type.
pub struct VaultDatabaseConnection;

/// Plan and state of one connection, attribute by attribute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    id: Known<String>,
    name: String,
    engine: Engine,
    mount: Known<String>,
    connection_url: Known<String>,
    username: Known<String>,
    password: Option<String>,
    /// Write-only: null in every plan and state.
    password_wo: Option<String>,
    password_wo_version: Option<Number>,
    allowed_roles: Known<Vec<String>>,
    /// Null only in hand-made states; treated as `true`.
    verify_connection: Option<bool>,
    plugin_name: Known<String>,
    /// Issue 22: Vault connects as a login the provider made for it alone.
    dedicated_admin: Known<bool>,
    root_rotation_statements: Known<Vec<String>>,
    password_policy: Option<String>,
    username_template: Option<String>,
    max_open_connections: Option<i64>,
    max_idle_connections: Option<i64>,
    max_connection_lifetime: Option<i64>,
    plugin_version: Option<String>,
}

/// What validation and planning look at in a configuration or plan (any of it may be
/// unknown; only presence matters for some).
#[derive(Debug, Deserialize)]
struct PlanView {
    name: Known<String>,
    /// A string here: validation runs on configurations the schema may still refuse.
    engine: Known<String>,
    connection_url: Known<IgnoredAny>,
    username: Known<String>,
    password: Known<IgnoredAny>,
    password_wo: Known<IgnoredAny>,
    password_wo_version: Known<IgnoredAny>,
    allowed_roles: Known<IgnoredAny>,
    mount: Known<String>,
    dedicated_admin: Known<bool>,
    root_rotation_statements: Known<IgnoredAny>,
}

/// The attributes planning may fill; the others stay as Terraform planned them.
#[derive(Debug, Default, Serialize)]
struct PlanEdit {
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_roles: Option<Known<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dedicated_admin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_rotation_statements: Option<Vec<String>>,
}

impl PlanView {
    /// Whether the configuration gives Vault its own URL or credentials.
    fn gives_credentials(&self) -> bool {
        !(self.connection_url.is_null()
            && self.username.is_null()
            && self.password.is_null()
            && self.password_wo.is_null())
    }
}

/// What an import id fills in; read does the rest.
#[derive(Serialize)]
struct Imported<'a> {
    mount: &'a str,
    name: &'a str,
    engine: Engine,
}

/// What the provider's admin block says for an engine: URL (or `host:port` for Redis),
/// username, password secret, and the Redis host/port/tls.
struct AdminDefaults {
    url: String,
    username: String,
    password: Secret,
    block: &'static str,
}

fn admin_defaults(b: &Backends, engine: Engine) -> Option<AdminDefaults> {
    let s = &b.settings;
    match engine {
        Engine::Postgres => s.postgres.as_ref().map(|p| AdminDefaults {
            url: format!(
                "postgresql://{{{{username}}}}:{{{{password}}}}@{}:{}/{}?sslmode={}{}",
                p.host,
                p.port,
                p.database,
                p.sslmode,
                postgres_tls_params(&p.tls_files)
            ),
            username: p.username.clone(),
            password: p.password.clone(),
            block: "postgres",
        }),
        Engine::Mysql => s.mysql.as_ref().map(|m| AdminDefaults {
            url: format!(
                "{{{{username}}}}:{{{{password}}}}@tcp({}:{})/{}",
                m.host,
                m.port,
                mysql_tls_param(m.tls, &m.tls_files)
            ),
            username: m.username.clone(),
            password: m.password.clone(),
            block: "mysql",
        }),
        Engine::Redis => s.redis.as_ref().map(|r| AdminDefaults {
            url: format!("{}:{}", r.host, r.port),
            username: r.username.clone(),
            password: r.password.clone(),
            block: "redis",
        }),
    }
}

/// The certificate files of the PostgreSQL admin block as libpq URL parameters
/// (`&sslrootcert=...`): paths Vault's plugin (pgx, as libpq) opens on the Vault server,
/// so they must exist there too.
fn postgres_tls_params(files: &crate::backends::settings::TlsFiles) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let params = [
        ("sslrootcert", &files.ca_cert),
        ("sslcert", &files.client_cert),
        ("sslkey", &files.client_key),
    ];
    params
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .map(|(k, v)| format!("&{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect()
}

/// The go-sql-driver `tls` parameter for the MySQL admin block's mode: `preferred` and
/// `required` encrypt without checking (`preferred`, `skip-verify`); both verifying
/// modes check chain and host name (`true`; Go has no chain-only mode). None when the
/// block has certificate files: Vault then builds the TLS config from `tls_ca` /
/// `tls_certificate_key` / `tls_skip_verify` (see [`tls_body_fields`]), and a `tls`
/// parameter in the URL would override it (checked on OpenBao 2.7).
fn mysql_tls_param(
    mode: crate::enums::MysqlTls,
    files: &crate::backends::settings::TlsFiles,
) -> &'static str {
    use crate::enums::MysqlTls;
    if files.ca_cert.is_some() || files.client_pair().is_some() {
        return "";
    }
    match mode {
        MysqlTls::Disabled => "",
        MysqlTls::Preferred => "?tls=preferred",
        MysqlTls::Required => "?tls=skip-verify",
        MysqlTls::VerifyCa | MysqlTls::VerifyIdentity => "?tls=true",
    }
}

/// TLS fields of the connection body that the provider's admin block implies and the
/// URL cannot carry: for MySQL `tls_ca` and `tls_certificate_key` (PEM contents, the
/// client key included; never in state), for Redis `ca_cert`. Read at apply only.
fn tls_body_fields(
    b: &Backends,
    engine: Engine,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let read = |what: &str, path: &str| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {what} {path:?}: {e}"))
    };
    let mut out = serde_json::Map::new();
    match engine {
        Engine::Mysql => {
            let Some(m) = b.settings.mysql.as_ref() else {
                return Ok(out);
            };
            if m.tls == crate::enums::MysqlTls::Disabled {
                return Ok(out);
            }
            let files = &m.tls_files;
            if let Some(ca) = &files.ca_cert {
                out.insert("tls_ca".into(), read("mysql.ca_cert_file", ca)?.into());
            }
            if let Some((cert, key)) = files.client_pair() {
                let pem = format!(
                    "{}\n{}",
                    read("mysql.client_cert_file", cert)?.trim_end(),
                    read("mysql.client_key_file", key)?
                );
                out.insert("tls_certificate_key".into(), pem.into());
            }
            // A custom TLS config replaces the URL's `tls`: keep the unverified modes unverified.
            if !out.is_empty() {
                let verify = matches!(
                    m.tls,
                    crate::enums::MysqlTls::VerifyCa | crate::enums::MysqlTls::VerifyIdentity
                );
                out.insert("tls_skip_verify".into(), (!verify).into());
            }
        }
        Engine::Redis => {
            if let Some(r) = b.settings.redis.as_ref().filter(|r| r.tls.on()) {
                if let Some(ca) = &r.tls_files.ca_cert {
                    out.insert("ca_cert".into(), read("redis.ca_cert_file", ca)?.into());
                }
                // `required`: encrypted, the certificate not checked, as the admin client.
                if r.tls == crate::enums::RedisTls::Required {
                    out.insert("insecure_tls".into(), true.into());
                }
            }
        }
        Engine::Postgres => {}
    }
    Ok(out)
}

/// Create and update: what happens to the admin login (issue 22: a dedicated one made,
/// kept, or dropped after Vault stops using it), then the connection written.
async fn write_config(
    ctx: &mut Ctx<'_>,
    prior: Option<&Model>,
    planned: Model,
    config: &Value,
) -> Applied<Model> {
    let was = prior.map(|p| p.dedicated_admin.as_option().copied().unwrap_or(false));
    let wants = planned
        .dedicated_admin
        .as_option()
        .copied()
        .unwrap_or(false);
    let same_login = prior.is_some_and(|p| p.username == planned.username);
    match admin::admin_step(was, wants, same_login) {
        admin::AdminStep::Given { drop_dedicated } => {
            let state = write_given(ctx, planned, config).await?;
            if let (true, Some(p)) = (drop_dedicated, prior) {
                let login = p.username.as_option().cloned().unwrap_or_default();
                let mount = mount_of(ctx, &state);
                admin::drop_login(ctx, state.engine, &mount, &state.name, &login)
                    .await
                    .map_err(|e| e.tainted(state.clone()))?;
            }
            Ok(state)
        }
        admin::AdminStep::NewLogin => write_dedicated(ctx, planned, true).await,
        admin::AdminStep::SameLogin => write_dedicated(ctx, planned, false).await,
    }
}

/// A dedicated admin's connection written: `fresh`, the login made with a password only
/// this process knows, handed to Vault, and rotated by Vault at once (`rotate-root`), so
/// neither state, plan nor log ever holds the password Vault uses; otherwise the body
/// carries no credentials and Vault keeps the ones it holds.
async fn write_dedicated(ctx: &mut Ctx<'_>, planned: Model, fresh: bool) -> Applied<Model> {
    let mount = mount_of(ctx, &planned);
    let defaults = admin_defaults(ctx.client, planned.engine);
    let url = connection_url(&planned, defaults.as_ref())?;
    let engine = planned.engine;
    let login = admin::dedicated_login(engine, &mount, &planned.name);
    let path = format!("{mount}/config/{}", planned.name);
    let password = match fresh {
        true => Some(admin::prepare_login(ctx, engine, &mount, &planned.name, &login).await?),
        false => {
            admin::install_functions(ctx, engine).await?;
            None
        }
    };
    let mut body = connection_body(
        &planned,
        &url,
        &login,
        password.as_deref().unwrap_or(""),
        false,
    );
    if let Some(obj) = body.as_object_mut() {
        if password.is_none() {
            obj.remove("username");
            obj.remove("password");
        }
        obj.extend(admin::option_fields(&planned));
    }
    let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
    if let Err(e) = vault.write(&path, &body).await {
        if fresh {
            // Nothing in Vault uses the login: it goes (best effort) with the error.
            let _ = admin::drop_login(ctx, engine, &mount, &planned.name, &login).await;
        }
        return Err(Error::new(
            format!("Cannot write Vault connection {path}"),
            e.to_string(),
        )
        .into());
    }
    let name = planned.name.clone();
    let state = written(planned, mount.clone(), url, login);
    if fresh {
        vault
            .write(&format!("{mount}/rotate-root/{name}"), &serde_json::json!({}))
            .await
            .or_diag(format!("Vault could not rotate the password of connection {path} (rotate-root); the connection is replaced on the next apply"))
            .or_taint(&state)?;
    }
    Ok(state)
}

/// The provider's admin or the given credentials: the settings (configured, else the
/// provider's admin block's), the admin credentials read only when a default needs
/// them, then the connection written.
async fn write_given(ctx: &mut Ctx<'_>, planned: Model, config: &Value) -> Applied<Model> {
    let config: Model = tfplugin::typed::try_decode(config)?;
    let engine = planned.engine;
    let mount = mount_of(ctx, &planned);
    let defaults = admin_defaults(ctx.client, engine);
    let url = connection_url(&planned, defaults.as_ref())?;
    // The provider's admin credentials, as the provider itself resolves them (a Vault
    // KV secret gives the password and, when it has one, the username): read only
    // when a default is needed.
    let given = Given {
        username: planned.username.as_option().cloned(),
        password: config.password_wo.clone().or(planned.password.clone()),
    };
    let admin = match defaults.as_ref().filter(|_| given.needs_admin()) {
        Some(d) => Some(
            ctx.client
                .resolve(&d.password, d.block)
                .await
                .or_diag("Cannot resolve the admin credentials")?,
        ),
        None => None,
    };
    let (username, password) = given.or_admin(admin, defaults.as_ref());
    let redis_tls = ctx
        .client
        .settings
        .redis
        .as_ref()
        .is_some_and(|r| r.tls.on());
    let mut body = connection_body(&planned, &url, &username, &password, redis_tls);
    // Only a URL defaulted from the admin block gets the block's certificate files.
    if planned.connection_url.as_option().is_none() || config.connection_url.is_null() {
        let fields = tls_body_fields(ctx.client, engine).map_err(|why| {
            Error::at_attr(
                "connection_url",
                "Cannot read a TLS file of the provider's admin block",
                why,
            )
        })?;
        if let Some(obj) = body.as_object_mut() {
            obj.extend(fields);
        }
    }
    if let Some(obj) = body.as_object_mut() {
        obj.extend(admin::option_fields(&planned));
    }
    let path = format!("{mount}/config/{}", planned.name);
    let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
    vault
        .write(&path, &body)
        .await
        .or_diag(format!("Cannot write Vault connection {path}"))?;
    Ok(written(planned, mount, url, username))
}

/// The connection's mount: its own, else the provider's default.
fn mount_of(ctx: &Ctx<'_>, m: &Model) -> String {
    ctx.client
        .vault_mount(m.mount.as_option().map(String::as_str))
}

/// The URL written: the planned one, else the admin block's; neither is refused at
/// `connection_url`.
fn connection_url(planned: &Model, defaults: Option<&AdminDefaults>) -> Result<String, Error> {
    planned
        .connection_url
        .as_option()
        .cloned()
        .or_else(|| defaults.map(|d| d.url.clone()))
        .ok_or_else(|| Error::at_attr("connection_url", "No connection settings", format!("Set connection_url, or configure the provider's `{}` block so it can be used as the default.", planned.engine)))
}

/// The admin credentials the configuration gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Given {
    username: Option<String>,
    /// The write-only value, else the stored one.
    password: Option<String>,
}

impl Given {
    /// Whether a default from the admin block is needed.
    fn needs_admin(&self) -> bool {
        self.username.is_none() || self.password.is_none()
    }

    /// Username and password: the given ones, then the admin block's resolved secret,
    /// then the block's own username (the password's default is empty).
    fn or_admin(
        self,
        admin: Option<Credentials>,
        defaults: Option<&AdminDefaults>,
    ) -> (String, String) {
        let username = self
            .username
            .or_else(|| admin.as_ref().and_then(|c| c.username.clone()))
            .or_else(|| defaults.map(|d| d.username.clone()))
            .unwrap_or_default();
        let password = self
            .password
            .or_else(|| admin.map(|c| c.password))
            .unwrap_or_default();
        (username, password)
    }
}

/// The body of `<mount>/config/<name>` (without the TLS file contents): a Redis
/// connection takes `host`, `port` (6379 when the URL has none) and `tls`, the others
/// the URL.
fn connection_body(
    planned: &Model,
    url: &str,
    username: &str,
    password: &str,
    redis_tls: bool,
) -> serde_json::Value {
    let engine = planned.engine;
    let allowed: Vec<String> = planned
        .allowed_roles
        .as_option()
        .cloned()
        .unwrap_or_default();
    let mut body = serde_json::json!({
        "plugin_name": engine.vault_plugin(),
        "allowed_roles": allowed,
        "verify_connection": planned.verify_connection.unwrap_or(true),
        "username": username,
        "password": password,
    });
    if engine == Engine::Redis {
        let (host, port) = url
            .rsplit_once(':')
            .map(|(h, p)| (h, p.parse::<u16>().unwrap_or(6379)))
            .unwrap_or((url, 6379));
        body["host"] = host.into();
        body["port"] = port.into();
        body["tls"] = redis_tls.into();
    } else {
        body["connection_url"] = url.into();
    }
    body
}

/// The state after the connection was written.
fn written(planned: Model, mount: String, url: String, username: String) -> Model {
    Model {
        id: Known::Value(format!("{mount}/{}", planned.name)),
        mount: Known::Value(mount),
        connection_url: Known::Value(url),
        username: Known::Value(username),
        plugin_name: Known::Value(planned.engine.vault_plugin().to_string()),
        ..planned
    }
}

/// The state `s` refreshed from the connection's `data` in Vault (what it does not say
/// stays; a Redis connection's URL is its `host:port`).
fn refreshed(mut s: Model, mount: String, data: &serde_json::Value) -> Model {
    s.id = Known::Value(format!("{mount}/{}", s.name));
    s.mount = Known::Value(mount);
    if let Some(plugin) = data["plugin_name"].as_str() {
        s.plugin_name = Known::Value(plugin.to_string());
        if let Some(engine) = Engine::of_vault_plugin(plugin) {
            s.engine = engine;
        }
    }
    let details = &data["connection_details"];
    if let Some(url) = details["connection_url"].as_str() {
        s.connection_url = Known::Value(url.to_string());
    } else if let (Some(h), Some(p)) = (details["host"].as_str(), details["port"].as_i64()) {
        s.connection_url = Known::Value(format!("{h}:{p}"));
    }
    if let Some(u) = details["username"].as_str() {
        s.username = Known::Value(u.to_string());
    }
    if let Some(roles) = data["allowed_roles"].as_array() {
        s.allowed_roles = Known::Value(
            roles
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
        );
    }
    s.verify_connection = s.verify_connection.or(Some(true));
    admin::refreshed_options(s, data)
}

/// Schema version 0 (v0.1.0) kept `allowed_roles` as a list: version 1 makes it a set,
/// so the stored names lose their duplicates and their order.
fn state_v0_to_v1(mut state: serde_json::Value) -> Result<serde_json::Value, String> {
    crate::resources::common::list_to_set(&mut state, "allowed_roles")?;
    Ok(state)
}

/// Schema version 2 (issue 22) adds `dedicated_admin` and `root_rotation_statements`:
/// a connection made before keeps the admin it has (`false`) and Vault's default root
/// rotation (none), so it plans no change; the pass-through options start null (Vault's
/// defaults).
fn state_v1_to_v2(mut state: serde_json::Value) -> Result<serde_json::Value, String> {
    let obj = state
        .as_object_mut()
        .ok_or("the stored state is not an object")?;
    for (attr, value) in [
        ("dedicated_admin", serde_json::json!(false)),
        ("root_rotation_statements", serde_json::json!([])),
    ] {
        if obj.get(attr).is_none_or(serde_json::Value::is_null) {
            obj.insert(attr.into(), value);
        }
    }
    Ok(state)
}

#[async_trait::async_trait]
impl tfplugin::ResourceType<Backends> for VaultDatabaseConnection {
    fn type_name(&self) -> &'static str {
        "dbaas_vault_database_connection"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("A connection of Vault's database secrets engine (`<mount>/config/<name>`) to the shared PostgreSQL, MySQL or Redis. The URL, username and password default to the provider's admin settings for that engine, so a tenant stack never repeats them.")
                .attr(Attribute::string("id").computed().use_state_for_unknown().description("`<mount>/<name>`."))
                .attr(Attribute::string("name").required().requires_replace().description("Connection name, e.g. `postgres`.").validate(vault_name_validator()))
                .attr(Attribute::string("engine").required().requires_replace().description(format!("{}.", Engine::or_list())).validate(Engine::validator()))
                .attr(Attribute::string("mount").optional().computed().requires_replace().use_state_for_unknown().description("Mount of the database secrets engine, e.g. `database` or `team/database`. Default: the provider's `vault.mount` (`database`).").validate(vault_mount_validator()))
                .attr(Attribute::string("connection_url").optional().computed().use_state_for_unknown().description("Vault connection URL with `{{username}}`/`{{password}}` templates (for Redis: `host:port`). Default: built from the provider's admin block for the engine, with its TLS: for PostgreSQL `sslmode` and the `sslrootcert`/`sslcert`/`sslkey` paths (opened by Vault, so they must exist on the Vault server), for MySQL the `tls` mode (with certificate files, Vault gets their contents as `tls_ca`/`tls_certificate_key` instead), for Redis `tls` and the CA's contents as `ca_cert`."))
                .attr(Attribute::string("username").optional().computed().use_state_for_unknown().description("Admin user Vault connects as. Default: the provider's admin user for the engine; when the admin block reads its password from `password_vault_path` and that secret has a `username`, that username (read at create)."))
                .attr(Attribute::string("password").optional().sensitive().description("Admin password handed to Vault (stored in state, sensitive). Default: the provider's admin password for the engine, which is then not stored. Conflicts with `password_wo`."))
                .attr(Attribute::string("password_wo").optional().sensitive().write_only().description("Write-only admin password (Terraform 1.11+): sent to Vault, never stored in plan or state. Conflicts with `password`."))
                .attr(Attribute::number("password_wo_version").optional().description("Change it to send `password_wo` again."))
                .attr(Attribute::typed("allowed_roles", Type::set_of(Type::String)).optional().computed().description("Role names or glob patterns allowed to use this connection, in any order. Default `[\"<name>-*\"]`."))
                .attr(Attribute::bool("verify_connection").default(Value::Bool(true)).description("Have Vault verify the connection when writing it."))
                .attr(Attribute::string("plugin_name").computed().use_state_for_unknown().description("The Vault plugin for the engine."))
                .attr(Attribute::bool("dedicated_admin").optional().computed().use_state_for_unknown().description("Vault connects as a login the provider makes for this connection alone (`dbaas_vault_<name>_<hash>`; on MySQL cut to 32 characters) instead of the provider's admin. PostgreSQL: no role attribute (no SUPERUSER, no CREATEROLE), only EXECUTE on the provider's SECURITY DEFINER functions `dbaas_vault.create_login`, `finish_login`, `set_password` and `drop_login` (in the provider's maintenance database), which make a `v-...` login in a tenant group this provider made, set a tenant login's password, or drop a `v-...` tenant login, and refuse anything else (PostgreSQL 15's CREATEROLE would let it grant `pg_execute_server_program` or any tenant's group). MySQL/MariaDB: an account `<login>@'%'` with no global privilege, no CREATE USER and no GRANT OPTION (either would reach every account, root included, or hand a schema to anyone), only EXECUTE on the SQL SECURITY DEFINER procedures `dbaas_vault.create_login` (a `v-...` login of at most 32 letters, digits, `-`, `.`, `_`, with `owner`, `readwrite` or `readonly` on one existing non-system database, and `MAX_USER_CONNECTIONS`), `drop_login`, `set_password` (a login holding privileges on tenant databases only) and `set_own_password` (its own, for `rotate-root`), defined by the provider's admin account in schema `dbaas_vault`. Its password is set at create and rotated by Vault (`rotate-root`) at once, so no state, plan or log holds the one Vault uses. Rotation roles on such a connection generate statements that call those functions or procedures. Default: `true` for a new PostgreSQL or MySQL connection that gives no `connection_url`, `username` or password; `false` for Redis (a user that may run ACL SETUSER can give itself everything, so a dedicated one would hold as much as the admin), and for connections made before this attribute existed. Refused with `password`/`password_wo`, and with a `username` other than the login's. Changing it re-points Vault in place (then re-create the connection's rotation roles, whose statements follow the admin they were written for); the login is dropped on destroy."))
                .attr(Attribute::typed("root_rotation_statements", Type::list_of(Type::String)).optional().computed().description("Statements Vault runs for `rotate-root`. Default: for a dedicated PostgreSQL admin `ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}';` (a login may change its own password), for a dedicated MySQL admin `CALL dbaas_vault.set_own_password('{{password}}');` (MariaDB refuses `ALTER USER CURRENT_USER()` without CREATE USER), otherwise none (the plugin's own)."))
                .attr(Attribute::string("password_policy").optional().description("Name of a Vault password policy for the passwords Vault generates on this connection. Default: Vault's."))
                .attr(Attribute::string("username_template").optional().description("Vault's template for the logins it names. Default: the plugin's (`v-<display>-<role>-<random>-<time>`). With a dedicated admin the names must start with `v-` (on MySQL also at most 32 letters, digits, `-`, `.` or `_`): its functions refuse others."))
                .attr(Attribute::number("max_open_connections").optional().description("Most connections Vault opens to the server (SQL engines). Default: Vault's, 4."))
                .attr(Attribute::number("max_idle_connections").optional().description("Most idle connections Vault keeps (SQL engines). Default: Vault's, 0 (as many as `max_open_connections`)."))
                .attr(Attribute::number("max_connection_lifetime").optional().description("Seconds Vault keeps a connection before reopening it (SQL engines). Default: Vault's, 0 (no limit)."))
                .attr(Attribute::string("plugin_version").optional().description("Version of the database plugin Vault runs (a registered external plugin). Default: the built-in one.")),
        )
        .version(2)
    }

    fn state_upgraders(&self) -> Vec<tfplugin::StateUpgrader> {
        vec![
            tfplugin::StateUpgrader {
                from: 0,
                upgrade: state_v0_to_v1,
            },
            tfplugin::StateUpgrader {
                from: 1,
                upgrade: state_v1_to_v2,
            },
        ]
    }

    async fn validate(&self, config: &Value, _info: &ClientInfo, diags: &mut Diagnostics) {
        let Some(config) = decode::<PlanView>(diags, config) else {
            return;
        };
        check_password_settings(
            diags,
            &config.password,
            &config.password_wo,
            &config.password_wo_version,
        );
        if config.dedicated_admin.as_option() == Some(&true) {
            let engine = config.engine.as_option().and_then(|e| Engine::parse(e));
            let password = !(config.password.is_null() && config.password_wo.is_null());
            if let Some((summary, detail)) = admin::refuse_dedicated(engine, password) {
                diags.error_at(
                    tfplugin::AttributePath::attr("dedicated_admin"),
                    summary,
                    detail,
                );
            }
        }
    }

    fn plan_with_client(&self, client: &Backends, plan: &mut Plan<'_>) {
        crate::resources::known_at_plan::plan_connection(plan, &client.settings);
        // Defaults from the provider's admin block are planned, so an edit made in Vault
        // (say, the URL pointed elsewhere) shows as a change and is reverted.
        let Some((config, planned)) = plan_views::<PlanView>(plan) else {
            return;
        };
        let Some(engine) = planned.engine.as_option().and_then(|e| Engine::parse(e)) else {
            return;
        };
        let Some(d) = admin_defaults(client, engine) else {
            return;
        };
        // A password read from Vault KV may come with its `username`, which only apply
        // reads: left as Terraform planned it (unknown on create, the prior after).
        let from_kv = matches!(d.password, Secret::VaultKv(_));
        // A dedicated admin's login is named from the mount and name (issue 22).
        let dedicated = match (
            planned.dedicated_admin.as_option(),
            planned.mount.as_option(),
            planned.name.as_option(),
        ) {
            (Some(true), Some(mount), Some(name)) => {
                Some(admin::dedicated_login(engine, mount, name))
            }
            _ => None,
        };
        if let (Some(login), Some(given)) = (&dedicated, config.username.as_option()) {
            if given != login {
                plan.diags.error_at(
                    tfplugin::AttributePath::attr("username"),
                    "username differs from the dedicated Vault admin's",
                    format!("With `dedicated_admin = true` Vault connects as {login:?}, the login the provider makes for this connection; remove `username` (or set it to {login:?}), or set `dedicated_admin = false` to hand Vault {given:?}."),
                );
                return;
            }
        }
        let provider_admin = (config.username.is_null()
            && !from_kv
            && planned.dedicated_admin.as_option() != Some(&true))
        .then_some(d.username);
        let edit = PlanEdit {
            connection_url: config.connection_url.is_null().then_some(d.url),
            username: dedicated.or(provider_admin),
            ..PlanEdit::default()
        };
        merge(&mut plan.diags, &mut plan.planned, &edit);
    }

    async fn modify_plan(&self, plan: &mut Plan<'_>) {
        let Some((config, planned)) = plan_views::<PlanView>(plan) else {
            return;
        };
        let mut edit = PlanEdit::default();
        if config.allowed_roles.is_null() {
            edit.allowed_roles = Some(derived(&planned.name, |n| vec![format!("{n}-*")]));
        }
        // Issue 22: a new connection's admin, when the configuration does not choose.
        let engine = planned.engine.as_option().and_then(|e| Engine::parse(e));
        if let (true, true, Some(engine)) = (
            config.dedicated_admin.is_null(),
            plan.prior.is_null(),
            engine,
        ) {
            edit.dedicated_admin = Some(admin::dedicated_by_default(
                engine,
                config.gives_credentials(),
            ));
        }
        let dedicated = edit
            .dedicated_admin
            .or(planned.dedicated_admin.as_option().copied());
        if let (true, Some(d)) = (config.root_rotation_statements.is_null(), dedicated) {
            edit.root_rotation_statements = Some(admin::root_rotation_default(
                d,
                engine.unwrap_or(Engine::Postgres),
            ));
        }
        merge(&mut plan.diags, &mut plan.planned, &edit);
    }

    async fn import(&self, ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
        match parse_connection_import_id(id) {
            Ok((mount, name)) => {
                // The engine is read from Vault next; any valid one fills the gap.
                let imported = Imported {
                    mount,
                    name,
                    engine: Engine::Postgres,
                };
                merge(&mut ctx.diags, state, &imported);
            }
            Err(why) => refuse_import_id(
                &mut ctx.diags,
                "dbaas_vault_database_connection",
                &why,
                "database/config/postgres",
            ),
        }
    }
}

#[async_trait::async_trait]
impl tfplugin::TypedResource<Backends> for VaultDatabaseConnection {
    type Model = Model;

    async fn create(&self, ctx: &mut Ctx<'_>, planned: Model, config: &Value) -> Applied<Model> {
        write_config(ctx, None, planned, config).await
    }

    async fn read(&self, ctx: &mut Ctx<'_>, state: Model) -> Result<Option<Model>, Error> {
        let mount = mount_of(ctx, &state);
        let path = format!("{mount}/config/{}", state.name);
        let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
        let body = vault
            .read(&path)
            .await
            .or_diag(format!("Cannot read Vault connection {path}"))?;
        let Some(mut s) = body.map(|b| refreshed(state, mount, &b["data"])) else {
            return Ok(None);
        };
        // Issue 22: a dedicated login dropped out of band reads as no username, so the
        // plan shows it and the update makes it again (best effort: unreadable, kept).
        if s.dedicated_admin.as_option() == Some(&true) {
            let login = s.username.as_option().cloned().unwrap_or_default();
            if admin::login_gone(ctx, s.engine, &login).await == Some(true) {
                s.username = Known::Value(String::new());
            }
        }
        Ok(Some(s))
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_>,
        prior: Model,
        planned: Model,
        config: &Value,
    ) -> Applied<Model> {
        write_config(ctx, Some(&prior), planned, config).await
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let mount = mount_of(ctx, &prior);
        let path = format!("{mount}/config/{}", prior.name);
        let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
        vault
            .delete(&path)
            .await
            .or_diag(format!("Cannot delete Vault connection {path}"))?;
        // Issue 22: the dedicated admin goes once Vault no longer uses it.
        if prior.dedicated_admin.as_option() == Some(&true) {
            let login = prior.username.as_option().cloned().unwrap_or_default();
            admin::drop_login(ctx, prior.engine, &mount, &prior.name, &login).await?;
        }
        Ok(())
    }
}

mod admin;
#[cfg(test)]
mod tests;
