//! `dbaas_shared_redis_namespace`: a tenant's namespace on the shared Redis, as one ACL
//! user confined to `key_prefix` (keys) and to channels under it, with command rules, a
//! generated (or given, or write-only) password, and an enable switch. Read compares the
//! user's effective rules with those recorded at the last apply, so rules changed out of
//! band show up as a diff; a user lost in a Redis restart is planned for creation.

use rand::distributions::Alphanumeric;
use rand::Rng;
use tfplugin::{
    Attribute, AttributePath, Block, ClientInfo, Ctx, Diagnostics, Plan, Schema, Type, Validator,
    Value,
};

use crate::backends::redis::{password_hash, AclSpec, AclUser, Overlap, Redis};
use crate::backends::Backends;
use crate::resources::common::{attribute_error, backend_error, need, str_of};
use crate::sql;

/// The resource type.
pub struct SharedRedisNamespace;

/// Longest user name.
const MAX_NAME: usize = 64;
/// Longest key prefix.
const MAX_PREFIX: usize = 128;
/// Length of generated passwords (letters and digits: ~238 bits).
const GENERATED_PASSWORD_LEN: usize = 40;
/// Default command rules: everything but administration and the commands that reach
/// beyond the tenant's keys (`FLUSHALL`, `KEYS`, `CONFIG`, ...).
const DEFAULT_COMMANDS: &[&str] = &["+@all", "-@admin", "-@dangerous"];

/// What this resource keeps in Terraform's private state: the key prefix the user was
/// given at the last apply. Destroy deletes keys by this prefix, never by one read back
/// from a possibly edited ACL.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Recorded {
    /// The key prefix applied last.
    #[serde(default)]
    key_prefix: Option<String>,
}

/// The recorded prefix, if any; private state of earlier releases (empty) gives none.
fn recorded_prefix(private: &[u8]) -> Option<String> {
    serde_json::from_slice::<Recorded>(private)
        .ok()
        .and_then(|r| r.key_prefix)
        .filter(|p| check_prefix(p).is_ok())
}

/// Private state recording `prefix`.
fn record_prefix(prefix: &str) -> Vec<u8> {
    serde_json::to_vec(&Recorded {
        key_prefix: Some(prefix.to_string()),
    })
    .unwrap_or_default()
}

/// The key rule the namespace writes for `prefix`.
fn key_rule(prefix: &str) -> String {
    format!("~{}*", crate::backends::redis::escape_glob(prefix))
}

/// Whether `s` is a namespace (ACL user) name: `^[a-zA-Z0-9_-]{1,64}$`, not `default`.
pub fn check_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "{s:?} may contain only letters, digits, `_` and `-`"
        ));
    }
    if s.len() > MAX_NAME {
        return Err(format!(
            "{s:?} is {} characters long; at most {MAX_NAME} are allowed",
            s.len()
        ));
    }
    if s == "default" {
        return Err("`default` is Redis's built-in administrative user".into());
    }
    Ok(())
}

/// Whether `s` can be a key prefix: not empty, no glob characters (`*`, `?`, `[`, `]`,
/// `\`: the prefix must match only itself), no spaces or control characters.
pub fn check_prefix(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty: an empty prefix is every key of every tenant".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| matches!(c, '*' | '?' | '[' | ']' | '\\'))
    {
        return Err(format!("{s:?} contains the glob character {c:?}; a prefix must match only itself, so `*`, `?`, `[`, `]` and `\\` are not allowed"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{s:?} contains whitespace or a control character"));
    }
    if s.len() > MAX_PREFIX {
        return Err(format!("{s:?} is longer than {MAX_PREFIX} characters"));
    }
    Ok(())
}

/// Whether `rule` is a command rule: `+cmd`, `-cmd`, `+cmd|sub`, `+@category`,
/// `-@category`, `allcommands` or `nocommands`. Everything else ACL SETUSER accepts
/// (key and channel patterns, passwords, `on`/`off`, `reset*`, selectors) is refused:
/// those come from `key_prefix`, `channels`, `password` and `enabled`.
pub fn check_command_rule(rule: &str) -> Result<(), String> {
    let lower = rule.to_ascii_lowercase();
    if lower == "allcommands" || lower == "nocommands" {
        return Ok(());
    }
    let managed = "keys, channels, passwords and on/off are set by `key_prefix`, `channels`, `password` and `enabled`";
    match lower.as_str() {
        "" => return Err("a command rule must not be empty".into()),
        "allkeys" | "resetkeys" | "allchannels" | "resetchannels" | "nopass" | "resetpass"
        | "on" | "off" | "reset" | "clearselectors" => {
            return Err(format!(
                "{rule:?} is not a command rule and would escape or unlock the namespace; {managed}"
            ))
        }
        _ => {}
    }
    if let Some(c) = rule.chars().next().filter(|c| "~%&><#!(".contains(*c)) {
        return Err(format!(
            "{rule:?} starts with {c:?}: not a command rule (it would add key, channel, password or selector rules that escape the namespace); {managed}"
        ));
    }
    let body = rule
        .strip_prefix('+')
        .or_else(|| rule.strip_prefix('-'))
        .ok_or_else(|| format!("{rule:?} is not a command rule: use `+command`, `-command`, `+command|subcommand`, `+@category`, `-@category`, `allcommands` or `nocommands`"))?;
    let name = body.strip_prefix('@').unwrap_or(body);
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '|'))
        && !name.starts_with('|')
        && !name.ends_with('|')
        && (!body.starts_with('@') || !name.contains('|'));
    if ok {
        Ok(())
    } else {
        Err(format!("{rule:?} is not a command rule: use `+command`, `-command`, `+command|subcommand`, `+@category` or `-@category`"))
    }
}

/// Whether `s` can be a channel pattern of a namespace with key prefix `prefix`.
pub fn check_channel(s: &str, prefix: Option<&str>) -> Result<(), String> {
    if s.is_empty() {
        return Err("a channel pattern must not be empty".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{s:?} contains whitespace or a control character"));
    }
    if let Some(p) = prefix {
        if !s.starts_with(p) {
            return Err(format!("{s:?} does not start with the namespace's key prefix {p:?}; channels are confined to it too (e.g. `{p}events` or `{p}*`)"));
        }
    }
    Ok(())
}

fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(GENERATED_PASSWORD_LEN)
        .map(char::from)
        .collect()
}

/// The ACL user a planned state describes, with `password` resolved by the caller.
fn spec_from(planned: &Value, password: String) -> AclSpec {
    let name = str_of(planned, "name").to_string();
    let key_prefix = planned
        .get("key_prefix")
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{name}:"));
    let channels = match planned.get("channels") {
        Value::List(_) => planned.get("channels").string_list(),
        _ => vec![format!("{key_prefix}*")],
    };
    let mut commands = match planned.get("commands") {
        Value::List(_) => planned.get("commands").string_list(),
        _ => DEFAULT_COMMANDS.iter().map(|s| s.to_string()).collect(),
    };
    commands.extend(sql::redis_guard_rules(
        planned
            .get("allow_keyspace_scan")
            .as_bool()
            .unwrap_or(false),
    ));
    AclSpec {
        name,
        enabled: planned.get("enabled").as_bool().unwrap_or(true),
        password,
        key_prefix,
        channels,
        commands,
    }
}

/// The password to apply: the write-only one from configuration, else the planned one,
/// else a new one. Returns it and whether it is to be kept in state.
fn password_for(planned: &Value, config: &Value) -> (String, bool) {
    if let Some(wo) = config.get("password_wo").as_str() {
        return (wo.to_string(), false);
    }
    match planned.get("password").as_str() {
        Some(p) => (p.to_string(), true),
        None => (generate_password(), true),
    }
}

/// Builds state from what Redis says. Where the user's rules still read as they did
/// right after the last apply, the configured attributes stand; otherwise they are
/// replaced by what Redis has, so the plan shows the difference and update restores it.
fn state_from(redis: &Redis, base: &Value, user: &AclUser) -> Value {
    let mut s = base.clone();
    let (host, port) = redis.endpoint();
    s.set("id", Value::string(str_of(base, "name")));
    s.set("host", Value::string(host));
    s.set("port", Value::int(port.into()));
    let acl = user.rule_string();
    if base.get("acl").as_str() != Some(acl.as_str()) {
        s.set("enabled", Value::Bool(user.enabled()));
        let prefix = match user.keys.as_slice() {
            [one] => one
                .strip_prefix('~')
                .and_then(|p| p.strip_suffix('*'))
                .filter(|p| check_prefix(p).is_ok())
                .map(str::to_string),
            _ => None,
        };
        // Not a plain `~<prefix>*`: show the raw key rules (never a valid prefix, so
        // destroy will not delete keys by it).
        s.set(
            "key_prefix",
            Value::string(prefix.unwrap_or_else(|| user.keys.join(" "))),
        );
        s.set(
            "channels",
            Value::from_strings(
                user.channels
                    .iter()
                    .map(|c| c.strip_prefix('&').unwrap_or(c).to_string()),
            ),
        );
        // Rules outside the command list (extra flags, selectors) join it, so they show.
        let mut commands = user.commands.clone();
        commands.extend(
            user.flags
                .iter()
                .filter(|f| {
                    !matches!(
                        f.as_str(),
                        "on" | "off" | "sanitize-payload" | "allchannels"
                    )
                })
                .cloned(),
        );
        commands.extend(user.selectors.iter().cloned());
        s.set("commands", Value::from_strings(commands));
    }
    s.set("acl", Value::string(acl));
    // A stored password that no longer opens the user (changed, joined by another, or
    // `nopass`) is dropped from state: configured ones are re-applied, generated ones renewed.
    if let Some(p) = base.get("password").as_str() {
        let intact =
            user.password_hashes == [password_hash(p)] && !user.flags.iter().any(|f| f == "nopass");
        if !intact {
            s.set("password", Value::Null);
        }
    }
    s
}

async fn memory_warning(diags: &mut Diagnostics, redis: &Redis) {
    if let Some(w) = redis.take_memory_warning().await {
        diags.warning("Shared Redis can refuse every tenant's writes", w);
    }
}

/// Reads the user back after a write; the error names what failed.
async fn read_back(
    ctx: &mut Ctx<'_, Backends>,
    redis: &Redis,
    name: &str,
    planned: &Value,
    keep_password: Option<String>,
) -> Option<Value> {
    match redis.get_user(name).await {
        Ok(Some(user)) => {
            let mut base = planned.clone();
            base.set("acl", Value::string(user.rule_string()));
            base.set(
                "password",
                keep_password.map(Value::string).unwrap_or(Value::Null),
            );
            Some(state_from(redis, &base, &user))
        }
        Ok(None) => {
            ctx.diags.error(
                format!("Redis user {name:?} vanished right after it was written"),
                "Something deleted it concurrently; the next plan will create it again.",
            );
            None
        }
        Err(e) => {
            backend_error(
                &mut ctx.diags,
                format!("Cannot read Redis user {name:?} after writing it"),
                e,
            );
            None
        }
    }
}

/// The error for a key prefix that overlaps other users' key patterns.
fn overlap_error(diags: &mut Diagnostics, prefix: &str, others: &[Overlap]) {
    let list = others
        .iter()
        .map(|o| format!("{} (~{})", o.user, o.patterns.join(" ~")))
        .collect::<Vec<_>>()
        .join(", ");
    attribute_error(
        diags,
        "key_prefix",
        "Key prefix overlaps another namespace",
        format!("Keys starting with {prefix:?} are also reachable by: {list}. Tenants would read each other's keys; choose a prefix neither contains nor is contained in theirs."),
    );
}

/// State for a user that may exist but could not be read back: every value known, so
/// Terraform records the instance (as tainted, with the error) and replaces it next time.
fn partial_state(redis: &Redis, planned: &Value, keep_password: Option<String>) -> Value {
    let mut s = planned.clone();
    let (host, port) = redis.endpoint();
    s.set("id", Value::string(str_of(planned, "name")));
    s.set("host", Value::string(host));
    s.set("port", Value::int(port.into()));
    s.set("acl", Value::Null);
    s.set(
        "password",
        keep_password.map(Value::string).unwrap_or(Value::Null),
    );
    s
}

#[async_trait::async_trait]
impl tfplugin::Resource<Backends> for SharedRedisNamespace {
    fn type_name(&self) -> &'static str {
        "dbaas_shared_redis_namespace"
    }

    fn schema(&self) -> Schema {
        let strings = || Type::list_of(Type::String);
        Schema::new(
            Block::new(
                "A tenant's namespace on the shared Redis: an ACL user that may touch only keys starting with `key_prefix` and Pub/Sub channels under it, with the given command rules. Whatever the rules say, the provider appends guard rules no configured rule can undo: `-@admin -flushall -flushdb -swapdb -keys -migrate` (they reach every tenant's keys or the server), `-function|flush -function|delete -function|load -function|restore -script|flush` (scripts and functions are shared by every tenant), `-pubsub|channels -pubsub|shardchannels` (they list other tenants' channels), and `-scan -randomkey` (they show other tenants' key names) unless `allow_keyspace_scan` is set. `DBSIZE` stays allowed: it reveals only how many keys the whole instance holds, not their names. Logins that `dbaas_vault_rotation_role` issues for the namespace get the same guard rules. Two namespaces whose prefixes overlap are refused, also when created in the same apply. Read compares the user's effective rules with those recorded at the last apply: rules changed out of band show as a diff, and a user lost in a Redis restart is planned for creation. Destroy deletes the user and, with `delete_keys_on_destroy`, its keys (SCAN + UNLINK) under the prefix recorded at the last apply. A create cut off by a lost connection is recorded as tainted and replaced by the next apply. The provider warns once per run when the shared Redis has no `maxmemory` or the `noeviction` policy.",
            )
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("The ACL user name."))
            .attr(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .description("ACL user name: letters, digits, `_` and `-`, at most 64 characters; not `default`. Changing it replaces the namespace.")
                    .validate(Validator::new("letters, digits, `_` and `-`, 1 to 64 characters, not `default`", |v| check_name(v.as_str().unwrap_or_default()))),
            )
            .attr(
                Attribute::string("key_prefix")
                    .optional()
                    .computed()
                    .description("Every key of the namespace starts with this. Default `<name>:`. No glob characters (`*`, `?`, `[`, `]`, `\\`), no spaces; must not overlap another namespace's prefix. Changing it moves the permission, not the keys.")
                    .validate(Validator::new("a non-empty prefix without glob characters or spaces", |v| check_prefix(v.as_str().unwrap_or_default()))),
            )
            .attr(
                Attribute::typed("commands", strings())
                    .default(Value::from_strings(DEFAULT_COMMANDS.iter().copied()))
                    .description("Command rules, applied in order: `+command`, `-command`, `+command|subcommand`, `+@category`, `-@category`, `allcommands`, `nocommands`. Default `[\"+@all\", \"-@admin\", \"-@dangerous\"]`. Key, channel and password rules, `on`/`off` and selectors are refused: they would escape the namespace.")
                    .validate(Validator::new("command rules only", |v| {
                        for rule in v.string_list() {
                            check_command_rule(&rule)?;
                        }
                        Ok(())
                    })),
            )
            .attr(
                Attribute::typed("channels", strings())
                    .optional()
                    .computed()
                    .description("Pub/Sub channel patterns the user may use; each must start with `key_prefix`. Default `[\"<key_prefix>*\"]`; `[]` for none.")
                    .validate(Validator::new("channel patterns", |v| {
                        for c in v.string_list() {
                            check_channel(&c, None)?;
                        }
                        Ok(())
                    })),
            )
            .attr(Attribute::bool("enabled").default(Value::Bool(true)).description("Whether the user can log in (`on`/`off`). Existing connections of a disabled user keep working until they reconnect."))
            .attr(
                Attribute::string("password")
                    .optional()
                    .computed()
                    .sensitive()
                    .use_state_for_unknown()
                    .description("The user's password. Generated (40 letters and digits) when not given, and kept in state; to keep it out of state use `password_wo` (Terraform 1.11+). Redis receives only its SHA-256. After an import, or when it was changed out of band, the next apply sets it again (a new one when generated).")
                    .validate(Validator::new("a non-empty password", |v| match v.as_str() {
                        Some("") => Err("must not be empty".into()),
                        _ => Ok(()),
                    })),
            )
            .attr(
                Attribute::string("password_wo")
                    .optional()
                    .sensitive()
                    .write_only()
                    .description("Write-only password (Terraform 1.11 and later): used for the user but never stored in plan or state. Conflicts with `password`. Terraform cannot see when it changes: bump `password_wo_version` to apply a new one.")
                    .validate(Validator::new("a non-empty password", |v| match v.as_str() {
                        Some("") => Err("must not be empty".into()),
                        _ => Ok(()),
                    })),
            )
            .attr(Attribute::number("password_wo_version").optional().description("Any number; changing it re-applies `password_wo`."))
            .attr(Attribute::bool("allow_keyspace_scan").default(Value::Bool(false)).description("Allow `SCAN` and `RANDOMKEY`. They walk the whole shared keyspace, not just this namespace's keys, so the user sees every tenant's key names (never their values). Default `false`. Logins that `dbaas_vault_rotation_role` issues for the namespace never get them; nothing re-allows the other guarded commands."))
            .attr(Attribute::bool("delete_keys_on_destroy").default(Value::Bool(false)).description("On destroy, also delete every key starting with the key prefix recorded at the last apply (SCAN + UNLINK in batches, never KEYS). Destroy refuses, deleting nothing, when the user's key rules were changed out of band since (apply first to restore them). Default `false`: keys are kept."))
            .attr(Attribute::string("host").computed().use_state_for_unknown().description("Host apps use (`redis.host`)."))
            .attr(Attribute::number("port").computed().use_state_for_unknown().description("Port apps use (`redis.port`)."))
            .attr(Attribute::string("acl").computed().description("The user's effective rules as Redis shows them (`ACL LIST` order, password hashes left out), recorded at apply and compared on every read.")),
        )
    }

    async fn validate(&self, config: &Value, _info: &ClientInfo, diags: &mut Diagnostics) {
        if !config.get("password").is_null() && !config.get("password_wo").is_null() {
            diags.error_at(
                AttributePath::attr("password_wo"),
                "Conflicting arguments",
                "Set either `password` (stored in state, sensitive) or `password_wo` (write-only, Terraform 1.11+), not both.",
            );
        }
        if !config.get("password_wo_version").is_null() && config.get("password_wo").is_null() {
            diags.error_at(
                AttributePath::attr("password_wo_version"),
                "password_wo_version without password_wo",
                "`password_wo_version` only says when to re-apply `password_wo`; set `password_wo` too, or remove it.",
            );
        }
        let prefix = match (config.get("key_prefix"), config.get("name")) {
            (Value::String(p), _) => Some(p.clone()),
            (Value::Null, Value::String(n)) => Some(format!("{n}:")),
            _ => None,
        };
        if let (Some(prefix), Value::List(channels)) = (prefix, config.get("channels")) {
            for (i, c) in channels.iter().enumerate() {
                if let Some(c) = c.as_str() {
                    if let Err(why) = check_channel(c, Some(&prefix)) {
                        diags.error_at(
                            AttributePath::attr("channels").index(i as i64),
                            "Channel outside the namespace",
                            why,
                        );
                    }
                }
            }
        }
    }

    async fn modify_plan(&self, plan: &mut Plan<'_>) {
        let name = plan.planned.get("name").clone();
        if plan.config.get("key_prefix").is_null() {
            let prefix = match &name {
                Value::String(n) => Value::string(format!("{n}:")),
                _ => Value::unknown(),
            };
            plan.planned.set("key_prefix", prefix);
        }
        if plan.config.get("channels").is_null() {
            let channels = match plan.planned.get("key_prefix") {
                Value::String(p) => Value::from_strings([format!("{p}*")]),
                _ => Value::unknown(),
            };
            plan.planned.set("channels", channels);
        }
        if !plan.config.get("password_wo").is_null() {
            plan.planned.set("password", Value::Null);
        } else if plan.config.get("password").is_null() && plan.prior.get("password").is_null() {
            // Created, imported, moved off password_wo, or found changed: a new one is made.
            plan.planned.set("password", Value::unknown());
        }
        if !plan.prior.is_null() {
            let changed = plan
                .planned
                .as_map()
                .into_iter()
                .flatten()
                .any(|(k, v)| k != "acl" && v != plan.prior.get(k));
            if changed {
                plan.planned.set("acl", Value::unknown());
            }
        }
    }

    async fn create(
        &self,
        ctx: &mut Ctx<'_, Backends>,
        planned: &Value,
        config: &Value,
    ) -> Option<Value> {
        let (password, keep) = password_for(planned, config);
        let spec = spec_from(planned, password);
        let redis = need(&mut ctx.diags, "Redis", ctx.client.redis().await)?;
        let name = spec.name.clone();
        if name == redis.admin_user() {
            attribute_error(&mut ctx.diags, "name", "Name taken by the provider's admin user", format!("{name:?} is the user the provider connects as (`redis.username`); choose another name."));
            return None;
        }
        memory_warning(&mut ctx.diags, redis).await;
        let fail = |diags: &mut Diagnostics, e| {
            backend_error(diags, format!("Cannot create Redis namespace {name:?}"), e)
        };
        // The existence and overlap checks and the write run under one lock, so two
        // creates of this process cannot both pass the overlap check.
        let lock = redis.acl_write_lock().await;
        match redis.get_user(&name).await {
            Ok(Some(_)) => {
                attribute_error(
                    &mut ctx.diags,
                    "name",
                    format!("Redis user {name:?} already exists"),
                    format!("An ACL user named {name:?} exists but is not in this Terraform state. This provider never adopts it silently. To manage it here, import it:\n  terraform import <resource address> {name}"),
                );
                return None;
            }
            Ok(None) => {}
            Err(e) => {
                fail(&mut ctx.diags, e);
                return None;
            }
        }
        match redis.overlapping_users(&name, &spec.key_prefix).await {
            Ok(others) if !others.is_empty() => {
                overlap_error(&mut ctx.diags, &spec.key_prefix, &others);
                return None;
            }
            Ok(_) => {}
            Err(e) => {
                fail(&mut ctx.diags, e);
                return None;
            }
        }
        let partial = || partial_state(redis, planned, keep.then(|| spec.password.clone()));
        if let Err(e) = redis.set_user(&spec).await {
            if !e.uncertain {
                fail(&mut ctx.diags, e);
                return None;
            }
            // The connection broke after the command may have reached Redis: look.
            match redis.get_user(&name).await {
                Ok(None) => {
                    fail(&mut ctx.diags, e);
                    return None;
                }
                Ok(Some(u)) if u.password_hashes == [password_hash(&spec.password)] => {
                    tracing::debug!(namespace = %name, "ACL SETUSER applied before the connection broke");
                }
                Ok(Some(_)) => {
                    fail(&mut ctx.diags, e);
                    ctx.diags.error(
                        format!("Redis user {name:?} was created concurrently by someone else"),
                        "It is not adopted; remove it or import it.",
                    );
                    return None;
                }
                Err(_) => {
                    // Unknown whether the user exists: record it (Terraform marks it
                    // tainted, the next apply replaces it and destroy removes it).
                    fail(&mut ctx.diags, e);
                    ctx.private = record_prefix(&spec.key_prefix);
                    return Some(partial());
                }
            }
        }
        ctx.private = record_prefix(&spec.key_prefix);
        // Another provider process may have written an overlapping user meanwhile (the
        // lock is per process): check again now that ours exists. Of two racing writers
        // at least the later one sees the other and backs out.
        match redis.overlapping_users(&name, &spec.key_prefix).await {
            Ok(others) if !others.is_empty() => {
                let removed = redis.del_user(&name).await;
                overlap_error(&mut ctx.diags, &spec.key_prefix, &others);
                if let Err(e) = removed {
                    fail(&mut ctx.diags, e);
                    return Some(partial());
                }
                return None;
            }
            Ok(_) => {}
            Err(e) => {
                fail(&mut ctx.diags, e);
                return Some(partial());
            }
        }
        drop(lock);
        // The user exists from here on: whatever fails, it stays in state (tainted).
        match read_back(
            ctx,
            redis,
            &name,
            planned,
            keep.then_some(spec.password.clone()),
        )
        .await
        {
            Some(s) => Some(s),
            None => Some(partial()),
        }
    }

    async fn read(&self, ctx: &mut Ctx<'_, Backends>, state: &Value) -> Option<Value> {
        let name = str_of(state, "name").to_string();
        let redis = need(&mut ctx.diags, "Redis", ctx.client.redis().await)?;
        let user = match redis.get_user(&name).await {
            Ok(Some(u)) => u,
            // Gone (deleted, or lost in a restart without ACL persistence): plan creates it.
            Ok(None) => return None,
            Err(e) => {
                backend_error(
                    &mut ctx.diags,
                    format!("Cannot read Redis namespace {name:?}"),
                    e,
                );
                return Some(state.clone());
            }
        };
        memory_warning(&mut ctx.diags, redis).await;
        if recorded_prefix(&ctx.private).is_none()
            && state.get("acl").as_str() == Some(user.rule_string().as_str())
        {
            // State from a release that kept no record: the rules read as the last
            // apply left them, so its prefix is the one that apply gave.
            if let Some(p) = state.get("key_prefix").as_str() {
                if user.keys == [key_rule(p)] {
                    ctx.private = record_prefix(p);
                }
            }
        }
        Some(state_from(redis, state, &user))
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_, Backends>,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Option<Value> {
        let (password, keep) = password_for(planned, config);
        let spec = spec_from(planned, password);
        let redis = need(&mut ctx.diags, "Redis", ctx.client.redis().await)?;
        let name = spec.name.clone();
        memory_warning(&mut ctx.diags, redis).await;
        let fail = |diags: &mut Diagnostics, e| {
            backend_error(diags, format!("Cannot update Redis namespace {name:?}"), e)
        };
        let lock = redis.acl_write_lock().await;
        if prior.get("key_prefix") != planned.get("key_prefix") {
            match redis.overlapping_users(&name, &spec.key_prefix).await {
                Ok(others) if !others.is_empty() => {
                    overlap_error(&mut ctx.diags, &spec.key_prefix, &others);
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    fail(&mut ctx.diags, e);
                    return None;
                }
            }
        }
        // One atomic `ACL SETUSER name reset ...`: whatever drifted is replaced whole.
        if let Err(e) = redis.set_user(&spec).await {
            fail(&mut ctx.diags, e);
            return None;
        }
        drop(lock);
        ctx.private = record_prefix(&spec.key_prefix);
        read_back(ctx, redis, &name, planned, keep.then_some(spec.password)).await
    }

    async fn delete(&self, ctx: &mut Ctx<'_, Backends>, prior: &Value) {
        let name = str_of(prior, "name").to_string();
        let Some(redis) = need(&mut ctx.diags, "Redis", ctx.client.redis().await) else {
            return;
        };
        let delete_keys = prior
            .get("delete_keys_on_destroy")
            .as_bool()
            .unwrap_or(false);
        // Keys go by the prefix recorded at apply, never by one read back from an ACL
        // that may have been edited to point at another tenant's keys.
        let prefix = if delete_keys {
            let Some(prefix) = recorded_prefix(&ctx.private) else {
                ctx.diags.error(
                    format!("Keys of Redis namespace {name:?} not deleted: no recorded prefix"),
                    "`delete_keys_on_destroy` deletes by the key prefix recorded at the last apply, and none is recorded (state from an earlier release whose user's rules changed since). Nothing was deleted. Run `terraform apply` once to restore and record the rules, or set `delete_keys_on_destroy = false` and delete the keys by hand.",
                );
                return;
            };
            match redis.get_user(&name).await {
                Ok(Some(user)) if user.keys != [key_rule(&prefix)] => {
                    ctx.diags.error(
                        format!("Redis namespace {name:?}: key rules drifted, nothing deleted"),
                        format!("The user's key rules are now {:?}, not `{}` as applied (prefix {prefix:?}): they were changed out of band. Deleting keys by either could remove another tenant's data, so nothing was deleted (neither keys nor user). Run `terraform apply` to restore the rules, then destroy again; or set `delete_keys_on_destroy = false`.", user.keys.join(" "), key_rule(&prefix)),
                    );
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    backend_error(
                        &mut ctx.diags,
                        format!("Cannot read Redis user {name:?} before deleting it"),
                        e,
                    );
                    return;
                }
            }
            Some(prefix)
        } else {
            None
        };
        // Deleting the user first closes its connections, so no new keys appear meanwhile.
        if let Err(e) = redis.del_user(&name).await {
            backend_error(
                &mut ctx.diags,
                format!("Cannot delete Redis user {name:?}"),
                e,
            );
            return;
        }
        let Some(prefix) = prefix else {
            return;
        };
        match redis.delete_keys(&prefix).await {
            Ok(n) => tracing::debug!(namespace = %name, deleted = n, "deleted namespace keys"),
            Err(e) => backend_error(
                &mut ctx.diags,
                format!("Deleted Redis user {name:?}, but not all keys under {prefix:?}"),
                e,
            ),
        }
    }

    async fn import(&self, ctx: &mut Ctx<'_, Backends>, id: &str, state: &mut Value) {
        if let Err(why) = check_name(id) {
            ctx.diags.error(
                "Invalid import id",
                format!("The import id is the ACL user name. {why}"),
            );
            return;
        }
        if let Some(admin) = ctx
            .client
            .settings
            .redis
            .as_ref()
            .map(|r| r.username.as_str())
        {
            if admin == id {
                ctx.diags.error(
                    "Invalid import id",
                    format!("{id:?} is the user the provider connects as; it is not a namespace."),
                );
                return;
            }
        }
        state.set("name", Value::string(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Resource;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        let mut v = Value::Map(Default::default());
        for (k, x) in pairs {
            v.set(k, x.clone());
        }
        v
    }

    #[test]
    fn names() {
        for ok in ["app", "App-1", "a_b", &"a".repeat(64)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "default",
            "a b",
            "a:b",
            "a*",
            "é",
            ">pw",
            &"a".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes() {
        for ok in ["app:", "team/app:", "x"] {
            assert!(check_prefix(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "*",
            "app*",
            "a?",
            "a[b]",
            "a\\",
            "a b",
            "a\n",
            &"a".repeat(129),
        ] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn command_rules() {
        for ok in [
            "+@all",
            "-@admin",
            "-@dangerous",
            "+get",
            "-flushall",
            "+config|get",
            "+json.get",
            "allcommands",
            "nocommands",
        ] {
            assert!(check_command_rule(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "~*",
            "~other:*",
            "%R~*",
            "%RW~x",
            "&*",
            "allkeys",
            "allchannels",
            "resetkeys",
            "resetchannels",
            "nopass",
            "resetpass",
            ">secret",
            "<secret",
            "#abc",
            "!abc",
            "on",
            "OFF",
            "reset",
            "(~* +@all)",
            "clearselectors",
            "get",
            "+",
            "+@",
            "+@all|x",
            "+a b",
            "+|x",
        ] {
            assert!(check_command_rule(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn channels_stay_under_the_prefix() {
        assert!(check_channel("app:events", Some("app:")).is_ok());
        assert!(check_channel("app:*", Some("app:")).is_ok());
        assert!(check_channel("*", Some("app:")).is_err());
        assert!(check_channel("other:*", Some("app:")).is_err());
        assert!(check_channel("a b", None).is_err());
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), GENERATED_PASSWORD_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn spec_defaults_and_guard() {
        let planned = obj(&[
            ("name", Value::string("app")),
            ("key_prefix", Value::string("app:")),
            ("channels", Value::from_strings(["app:*"])),
            ("commands", Value::from_strings(["+@all"])),
            ("enabled", Value::Bool(true)),
        ]);
        let spec = spec_from(&planned, "pw".into());
        assert_eq!(spec.key_prefix, "app:");
        assert_eq!(spec.channels, ["app:*"]);
        assert_eq!(spec.commands[0], "+@all");
        assert_eq!(spec.commands[1..], sql::redis_guard_rules(false));
        let rules = spec.setuser_rules();
        assert!(rules.contains(&"~app:*".to_string()));
        assert_eq!(rules.last().map(String::as_str), Some("-randomkey"));
        assert!(rules.iter().any(|r| r == "-function|flush"));

        // A configured `+scan` comes before the guards; only the attribute opts in.
        let mut scanning = planned.clone();
        scanning.set("commands", Value::from_strings(["+@all", "+scan"]));
        let spec = spec_from(&scanning, "pw".into());
        assert_eq!(spec.commands.last().map(String::as_str), Some("-randomkey"));
        scanning.set("allow_keyspace_scan", Value::Bool(true));
        let spec = spec_from(&scanning, "pw".into());
        assert!(!spec
            .commands
            .iter()
            .any(|c| c == "-scan" || c == "-randomkey"));
        assert_eq!(
            spec.commands.last().map(String::as_str),
            Some("-pubsub|shardchannels")
        );
    }

    #[test]
    fn recorded_prefix_reads_old_and_new_private_state() {
        assert_eq!(recorded_prefix(b""), None, "v0.1.0 wrote no private state");
        assert_eq!(recorded_prefix(b"garbage"), None);
        assert_eq!(recorded_prefix(b"{}"), None);
        assert_eq!(
            recorded_prefix(&record_prefix("app:")).as_deref(),
            Some("app:")
        );
        assert_eq!(key_rule("app:"), "~app:*");
    }

    #[test]
    fn write_only_password_wins_and_is_not_kept() {
        let planned = obj(&[("password", Value::Null)]);
        let config = obj(&[("password_wo", Value::string("wo-secret"))]);
        assert_eq!(password_for(&planned, &config), ("wo-secret".into(), false));
        let planned = obj(&[("password", Value::string("given"))]);
        let config = obj(&[("password_wo", Value::Null)]);
        assert_eq!(password_for(&planned, &config), ("given".into(), true));
        let planned = obj(&[("password", Value::unknown())]);
        let (generated, keep) = password_for(&planned, &config);
        assert!(keep && generated.len() == GENERATED_PASSWORD_LEN);
    }

    fn plan_for<'a>(prior: &'a Value, config: &'a Value, planned: Value) -> Plan<'a> {
        Plan {
            prior,
            config,
            planned,
            requires_replace: vec![],
            diags: Default::default(),
            info: Default::default(),
        }
    }

    #[tokio::test]
    async fn plan_fills_prefix_channels_and_password() {
        let config = obj(&[
            ("name", Value::string("app")),
            ("key_prefix", Value::Null),
            ("channels", Value::Null),
            ("password", Value::Null),
            ("password_wo", Value::Null),
        ]);
        let mut plan = plan_for(
            &Value::Null,
            &config,
            obj(&[
                ("name", Value::string("app")),
                ("key_prefix", Value::unknown()),
                ("channels", Value::unknown()),
                ("password", Value::unknown()),
                ("acl", Value::unknown()),
            ]),
        );
        SharedRedisNamespace.modify_plan(&mut plan).await;
        assert_eq!(plan.planned.get("key_prefix").as_str(), Some("app:"));
        assert_eq!(plan.planned.get("channels").string_list(), ["app:*"]);
        assert!(plan.planned.get("password").is_unknown());
    }

    #[tokio::test]
    async fn drifted_prefix_is_planned_back_and_acl_becomes_unknown() {
        let prior = obj(&[
            ("name", Value::string("app")),
            ("key_prefix", Value::string("~*")),
            ("channels", Value::from_strings(["app:*"])),
            ("password", Value::string("pw")),
            ("acl", Value::string("on ~* resetchannels &app:* +@all")),
        ]);
        let config = obj(&[
            ("name", Value::string("app")),
            ("key_prefix", Value::Null),
            ("channels", Value::Null),
            ("password", Value::Null),
            ("password_wo", Value::Null),
        ]);
        let mut plan = plan_for(&prior, &config, prior.clone());
        SharedRedisNamespace.modify_plan(&mut plan).await;
        assert_eq!(plan.planned.get("key_prefix").as_str(), Some("app:"));
        assert_eq!(plan.planned.get("password").as_str(), Some("pw"));
        assert!(plan.planned.get("acl").is_unknown());

        // Nothing drifted: nothing planned.
        let prior = obj(&[
            ("name", Value::string("app")),
            ("key_prefix", Value::string("app:")),
            ("channels", Value::from_strings(["app:*"])),
            ("password", Value::string("pw")),
            ("acl", Value::string("on ~app:* resetchannels &app:* +@all")),
        ]);
        let mut plan = plan_for(&prior, &config, prior.clone());
        SharedRedisNamespace.modify_plan(&mut plan).await;
        assert_eq!(plan.planned, prior);
    }

    #[tokio::test]
    async fn write_only_password_keeps_password_out_of_the_plan() {
        let prior = obj(&[
            ("name", Value::string("app")),
            ("password", Value::string("old")),
        ]);
        let config = obj(&[
            ("name", Value::string("app")),
            ("password", Value::Null),
            ("password_wo", Value::string("new")),
        ]);
        let mut plan = plan_for(&prior, &config, prior.clone());
        SharedRedisNamespace.modify_plan(&mut plan).await;
        assert!(plan.planned.get("password").is_null());
    }

    #[tokio::test]
    async fn validate_conflicts_and_channels() {
        let mut diags = Diagnostics::default();
        let config = obj(&[
            ("name", Value::string("app")),
            ("key_prefix", Value::Null),
            ("channels", Value::from_strings(["app:x", "other:*"])),
            ("password", Value::string("a")),
            ("password_wo", Value::string("b")),
            ("password_wo_version", Value::Null),
        ]);
        SharedRedisNamespace
            .validate(&config, &ClientInfo::default(), &mut diags)
            .await;
        let paths: Vec<String> = diags
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert!(paths[0].contains("password_wo"));
        assert!(paths[1].contains("channels"));
    }

    #[test]
    fn drift_is_reflected_only_when_the_rules_changed() {
        let settings = crate::backends::settings::RedisSettings {
            host: "r".into(),
            port: 6379,
            username: "default".into(),
            password: Default::default(),
            tls: false,
        };
        let redis = Redis::new(&settings, "default", "");
        let user = AclUser {
            flags: vec!["on".into(), "sanitize-payload".into()],
            password_hashes: vec![password_hash("pw")],
            keys: vec!["~app:*".into()],
            channels: vec!["&app:*".into()],
            commands: vec!["+@all".into(), "-@dangerous".into()],
            selectors: vec![],
        };
        let state = obj(&[
            ("name", Value::string("app")),
            ("key_prefix", Value::string("app:")),
            ("channels", Value::from_strings(["app:*"])),
            (
                "commands",
                Value::from_strings(DEFAULT_COMMANDS.iter().copied()),
            ),
            ("enabled", Value::Bool(true)),
            ("password", Value::string("pw")),
            ("acl", Value::string(user.rule_string())),
        ]);
        let same = state_from(&redis, &state, &user);
        assert_eq!(same.get("commands"), state.get("commands"));
        assert_eq!(same.get("password").as_str(), Some("pw"));

        let drifted = AclUser {
            keys: vec!["~*".into()],
            flags: vec!["on".into(), "nopass".into()],
            ..user.clone()
        };
        let s = state_from(&redis, &state, &drifted);
        assert_eq!(s.get("key_prefix").as_str(), Some("~*"));
        assert!(check_prefix(str_of(&s, "key_prefix")).is_err());
        assert!(s
            .get("commands")
            .string_list()
            .contains(&"nopass".to_string()));
        assert!(
            s.get("password").is_null(),
            "nopass: the password no longer guards the user"
        );

        let other_password = AclUser {
            password_hashes: vec![password_hash("changed")],
            ..user
        };
        assert!(state_from(&redis, &state, &other_password)
            .get("password")
            .is_null());
    }
}
