//! `dbaas_shared_redis_namespace`: a tenant's namespace on the shared Redis, as one ACL
//! user confined to `key_prefix` (keys) and to channels under it, with command rules, a
//! generated (or given, or write-only) password, and an enable switch. Read compares the
//! user's effective rules with those recorded at the last apply, so rules changed out of
//! band show up as a diff; a user lost in a Redis restart is planned for creation.
//! Each CRUD method observes (backend reads), hands the facts to a pure decision in
//! `decide.rs` (table-tested), then executes the step it returns.

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use tfplugin::typed::try_decode;
use tfplugin::{Applied, Cancel, Error, Failure, OrDiag, OrTaint};
use tfplugin::{
    Attribute, AttributePath, Block, ClientInfo, Diagnostics, Known, Number, Plan, Schema, Type,
    Validator, Value,
};

use crate::backends::redis::{password_hash, AclSpec, AclUser, Redis, RedisError};
use crate::backends::Backends;
use crate::resources::common::OrReach;
use crate::resources::common::{
    check_password_settings, decode, derived, import_name, merge, plan_views, read_private,
    write_private, Ctx,
};
use crate::resources::redis_acl::{
    self, check_channel, check_command_rule, check_name, check_prefix, DEFAULT_COMMANDS,
};
use crate::sql;

mod decide;
#[cfg(test)]
mod tests;

use decide::{CreateFacts, KeySweep, Landed, Refusal};

/// The resource type.
pub struct SharedRedisNamespace;

/// Plan and state of one namespace, attribute by attribute.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    id: Known<String>,
    name: String,
    key_prefix: Known<String>,
    commands: Known<Vec<String>>,
    channels: Known<Vec<String>>,
    /// Null only in hand-made states; treated as enabled.
    enabled: Option<bool>,
    password: Known<String>,
    /// Write-only: null in every plan and state.
    password_wo: Option<String>,
    password_wo_version: Option<Number>,
    allow_keyspace_scan: Option<bool>,
    /// Null only in hand-made states; treated as allowed.
    allow_scripting: Option<bool>,
    delete_keys_on_destroy: Option<bool>,
    host: Known<String>,
    port: Known<i64>,
    acl: Known<String>,
}

/// What validation and planning look at in a configuration, prior state or plan; any of
/// it may be unknown, and only presence matters for the passwords.
#[derive(Debug, Deserialize)]
struct PlanView {
    name: Known<String>,
    key_prefix: Known<String>,
    channels: Known<Vec<Known<String>>>,
    password: Known<IgnoredAny>,
    password_wo: Known<IgnoredAny>,
    password_wo_version: Known<IgnoredAny>,
}

/// The attributes planning may change; the others stay as Terraform planned them.
#[derive(Debug, Default, Serialize)]
struct PlanEdit {
    #[serde(skip_serializing_if = "Option::is_none")]
    key_prefix: Option<Known<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channels: Option<Known<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<Known<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acl: Option<Known<String>>,
}

/// Length of generated passwords (letters and digits: ~238 bits).
const GENERATED_PASSWORD_LEN: usize = 40;

/// What this resource keeps in Terraform's private state: the key prefix the user was
/// given at the last apply (destroy deletes keys by this prefix, never by one read back
/// from a possibly edited ACL), and the guard rules that apply sent (a release with other
/// guard rules plans an in-place update that applies its own).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Recorded {
    /// The key prefix applied last.
    #[serde(default)]
    key_prefix: Option<String>,
    /// The guard rules applied last; absent before issue 19.
    #[serde(default)]
    guards: Option<Vec<String>>,
}

/// The recorded prefix, if any; private state of earlier releases (empty) gives none.
fn recorded_prefix(private: &[u8]) -> Option<String> {
    read_private::<Recorded>(private)
        .key_prefix
        .filter(|p| check_prefix(p).is_ok())
}

/// Private state recording `prefix` (no guard rules: only for state of earlier releases).
fn record_prefix(prefix: &str) -> Vec<u8> {
    write_private(&Recorded {
        key_prefix: Some(prefix.to_string()),
        guards: None,
    })
}

/// Private state recording what an apply sent: the spec's prefix and guard rules.
fn record_applied(spec: &AclSpec, guards: Vec<String>) -> Vec<u8> {
    write_private(&Recorded {
        key_prefix: Some(spec.key_prefix.clone()),
        guards: Some(guards),
    })
}

/// What a namespace opts into beyond the guard rules (null reads as the default).
fn opt_ins(m: &Model) -> sql::RedisOptIns {
    sql::RedisOptIns {
        keyspace_scan: m.allow_keyspace_scan.unwrap_or(false),
        scripting: m.allow_scripting.unwrap_or(true),
    }
}

/// Whether the guard rules recorded at the last apply (`private`) differ from those this
/// release sends for `opt_ins`: then the ACL user is applied again, in place.
fn guards_outdated(private: &[u8], opt_ins: sql::RedisOptIns) -> bool {
    read_private::<Recorded>(private).guards != Some(sql::redis_guard_rules(opt_ins))
}

fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(GENERATED_PASSWORD_LEN)
        .map(char::from)
        .collect()
}

/// The ACL user a planned state describes, with `password` resolved by the caller.
fn spec_from(planned: &Model, password: String) -> AclSpec {
    let name = planned.name.clone();
    let key_prefix = planned
        .key_prefix
        .as_option()
        .cloned()
        .unwrap_or_else(|| format!("{name}:"));
    let channels = match &planned.channels {
        Known::Value(c) => c.clone(),
        _ => vec![format!("{key_prefix}*")],
    };
    let mut commands = match &planned.commands {
        Known::Value(c) => c.clone(),
        _ => DEFAULT_COMMANDS.iter().map(|s| s.to_string()).collect(),
    };
    commands.extend(sql::redis_guard_rules(opt_ins(planned)));
    AclSpec {
        name,
        enabled: planned.enabled.unwrap_or(true),
        password,
        key_prefix,
        channels,
        commands,
    }
}

/// The password to apply: the write-only one from configuration, else the planned one,
/// else a new one. Returns it and whether it is to be kept in state.
fn password_for(planned: &Model, config: &Model) -> (String, bool) {
    if let Some(wo) = &config.password_wo {
        return (wo.clone(), false);
    }
    match planned.password.as_option() {
        Some(p) => (p.clone(), true),
        None => (generate_password(), true),
    }
}

/// Builds state from what Redis says. Where the user's rules still read as they did
/// right after the last apply, the configured attributes stand; otherwise they are
/// replaced by what Redis has, so the plan shows the difference and update restores it.
fn state_from(redis: &Redis, base: &Model, user: &AclUser) -> Model {
    let mut s = base.clone();
    let (host, port) = redis.endpoint();
    s.id = Known::Value(base.name.clone());
    s.host = Known::Value(host);
    s.port = Known::Value(port.into());
    let acl = user.rule_string();
    if base.acl.as_option() != Some(&acl) {
        s.enabled = Some(user.enabled());
        s.key_prefix = Known::Value(redis_acl::key_prefix_of(user));
        s.channels = Known::Value(redis_acl::channels_of(user));
        s.commands = Known::Value(redis_acl::commands_of(user));
    }
    s.acl = Known::Value(acl);
    // A stored password that no longer opens the user (changed, joined by another, or
    // `nopass`) is dropped from state: configured ones are re-applied, generated ones renewed.
    if let Some(p) = base.password.as_option() {
        let intact =
            user.password_hashes == [password_hash(p)] && !user.flags.iter().any(|f| f == "nopass");
        if !intact {
            s.password = Known::Null;
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
    redis: &Redis,
    name: &str,
    planned: &Model,
    keep_password: Option<String>,
) -> Result<Model, Error> {
    let read = redis
        .get_user(name)
        .await
        .or_diag(format!("Cannot read Redis user {name:?} after writing it"))?;
    let Some(user) = read else {
        return Err(Error::new(
            format!("Redis user {name:?} vanished right after it was written"),
            "Something deleted it concurrently; the next plan will create it again.",
        ));
    };
    let base = Model {
        acl: Known::Value(user.rule_string()),
        password: keep_password.into(),
        ..planned.clone()
    };
    Ok(state_from(redis, &base, &user))
}

/// The validator of both password attributes: an empty password is refused.
fn non_empty_password() -> Validator {
    Validator::new("a non-empty password", |v| match v.as_str() {
        Some("") => Err("must not be empty".into()),
        _ => Ok(()),
    })
}

/// What a create observes before writing the user (under the ACL write lock): whether
/// it exists and, if not, who else reaches its prefix.
async fn observe_create(redis: &Redis, spec: &AclSpec) -> Result<CreateFacts, RedisError> {
    let exists = redis.get_user(&spec.name).await?.is_some();
    let overlaps = if exists {
        Vec::new()
    } else {
        redis
            .overlapping_users(&spec.name, &spec.key_prefix)
            .await?
    };
    Ok(CreateFacts { exists, overlaps })
}

/// How a create's `ACL SETUSER` ended when it did not fail outright.
enum Written {
    /// The user is ours (written, or found written after a cut).
    Done,
    /// Unknown whether it exists: the error, for a tainted partial state.
    Unknown(Error),
}

/// Writes the user. A write whose connection broke may have reached Redis: look, and
/// adopt the user only when it has exactly the password just written.
async fn write_user(redis: &Redis, spec: &AclSpec, cannot: &str) -> Result<Written, Error> {
    let Err(e) = redis.set_user(spec).await else {
        return Ok(Written::Done);
    };
    let uncertain = e.uncertain;
    let fail = Error::new(cannot, e.to_string());
    if !uncertain {
        return Err(fail);
    }
    let looked = redis.get_user(&spec.name).await;
    let hash = password_hash(&spec.password);
    match decide::landed(looked.as_ref().ok().map(Option::as_ref), &hash) {
        Landed::Absent => Err(fail),
        Landed::Ours => {
            tracing::debug!(namespace = %spec.name, "ACL SETUSER applied before the connection broke");
            Ok(Written::Done)
        }
        Landed::Foreign => Err(fail.and(Refusal::WrittenByOthers(spec.name.clone()).error())),
        Landed::Unknown => Ok(Written::Unknown(fail)),
    }
}

/// After the write: another provider process may have written an overlapping user
/// meanwhile (the lock is per process), so check again now that ours exists. Of two
/// racing writers at least the later one sees the other and backs out, deleting its
/// user; a failure to delete it leaves it tainted.
async fn recheck_overlap(
    redis: &Redis,
    spec: &AclSpec,
    cannot: &str,
    partial: &Model,
) -> Result<(), Failure<Model>> {
    let others = redis
        .overlapping_users(&spec.name, &spec.key_prefix)
        .await
        .or_diag(cannot)
        .or_taint(partial)?;
    let Err(refusal) = decide::no_overlap(&spec.key_prefix, others) else {
        return Ok(());
    };
    match redis.del_user(&spec.name).await {
        Ok(_) => Err(refusal.into()),
        Err(e) => Err(refusal
            .error()
            .and(Error::new(cannot, e.to_string()))
            .tainted(partial.clone())),
    }
}

/// Deletes every key under `prefix`, one SCAN batch at a time (UNLINK per batch, never
/// KEYS); stops between batches when Terraform asks the provider to stop, saying what is
/// left (destroy again deletes the rest).
async fn delete_keys(
    cancel: &Cancel,
    redis: &Redis,
    name: &str,
    prefix: &str,
) -> Result<(), Error> {
    let incomplete = |detail: String| {
        Error::new(
            format!("Deleted Redis user {name:?}, but not all keys under {prefix:?}"),
            detail,
        )
    };
    let mut sweep = KeySweep::default();
    loop {
        let step = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(incomplete(sweep.stopped(prefix))),
            step = redis.delete_keys_step(prefix, sweep.cursor) => step,
        };
        let (next, unlinked) = step.map_err(|e| incomplete(e.to_string()))?;
        if sweep.advance(next, unlinked) {
            tracing::debug!(namespace = %name, deleted = sweep.deleted, "deleted namespace keys");
            return Ok(());
        }
    }
}

/// State for a user that may exist but could not be read back: every value known, so
/// Terraform records the instance (as tainted, with the error) and replaces it next time.
fn partial_state(redis: &Redis, planned: &Model, keep_password: Option<String>) -> Model {
    let (host, port) = redis.endpoint();
    Model {
        id: Known::Value(planned.name.clone()),
        host: Known::Value(host),
        port: Known::Value(port.into()),
        acl: Known::Null,
        password: keep_password.into(),
        ..planned.clone()
    }
}

/// Schema version 2 kept `channels` as a list: version 3 makes it a set, so the stored
/// patterns lose their duplicates (Redis never held them twice) and their order.
fn state_v2_to_v3(mut state: serde_json::Value) -> Result<serde_json::Value, String> {
    crate::resources::common::list_to_set(&mut state, "channels")?;
    Ok(state)
}

/// Schema version 1 had no `allow_scripting`: it starts at its default (`true`), so an
/// upgrade plans no change of the attribute (the new guard rules update `acl` in place).
fn state_v1_to_v2(mut state: serde_json::Value) -> Result<serde_json::Value, String> {
    let obj = state
        .as_object_mut()
        .ok_or("the stored state is not an object")?;
    obj.entry("allow_scripting")
        .or_insert(serde_json::Value::Bool(true));
    Ok(state)
}

/// Schema version 0 (v0.1.0) had no `allow_keyspace_scan`: it starts at its default, so
/// an upgrade plans only the new guard rules (`acl`), not the new attribute.
fn state_v0_to_v1(mut state: serde_json::Value) -> Result<serde_json::Value, String> {
    let obj = state
        .as_object_mut()
        .ok_or("the stored state is not an object")?;
    obj.entry("allow_keyspace_scan")
        .or_insert(serde_json::Value::Bool(false));
    Ok(state)
}

#[async_trait::async_trait]
impl tfplugin::ResourceType<Backends> for SharedRedisNamespace {
    fn type_name(&self) -> &'static str {
        "dbaas_shared_redis_namespace"
    }

    fn schema(&self) -> Schema {
        let strings = || Type::list_of(Type::String);
        Schema::new(
            Block::new(
                "A tenant's namespace on the shared Redis: an ACL user that may touch only keys starting with `key_prefix` and Pub/Sub channels under it, with the given command rules. Whatever the rules say, the provider appends guard rules no configured rule can undo, closing every Redis 7 command that reaches past the prefix (the platform prerequisites guide lists each with its reason): `-@admin` (CONFIG, ACL, CLIENT LIST|KILL|PAUSE|NO-EVICT, MONITOR, DEBUG, SLOWLOG, LATENCY); `-flushall -flushdb -keys -migrate` (every tenant's keys); `-select +select|0 -move -copy -swapdb` (other logical databases, where destroy does not look and a later namespace of the same name would find the keys; `SELECT 0` stays for clients that send it); `-function|flush|delete|load|restore|list|dump|stats|kill` and `-script|flush|kill|debug` (scripts and functions are shared by every tenant: no listing, changing or killing another's, no view of what runs, no blocking debugger); `-pubsub|channels|shardchannels|numsub|shardnumsub|numpat` (other tenants' channel names and subscribers); `-client|tracking` (RESP3 tracking with `BCAST` delivers an invalidation for every key any tenant writes); `-info -dbsize -memory|stats|doctor|malloc-stats|purge` (everyone's key counts and activity); `-cluster|getkeysinslot|countkeysinslot` (key names by slot); `-scan -randomkey` (every tenant's key names) unless `allow_keyspace_scan`; `-@scripting` when `allow_scripting = false`. What stays open is confined by Redis itself: every key a command names or a script touches is checked against `~<prefix>*` (`SORT ... BY|GET` on other keys is refused), every channel and `PSUBSCRIBE` pattern against the channel patterns (patterns match literally), `CLIENT ID|INFO|SETNAME|GETNAME|REPLY` see only the caller's connection, and `SCRIPT LOAD|EXISTS` and `EVALSHA` reach a cached script only by the SHA-1 of its whole text. Lua is allowed by default; one endless script freezes the shared server for every tenant until an administrator kills it (see `allow_scripting`). Logins that `dbaas_vault_rotation_role` issues for the namespace get the same guard rules, and lose scripting with the namespace. Namespaces applied by an earlier release are updated in place with the current guard rules on the next apply. Two namespaces whose prefixes overlap are refused, also when created in the same apply. Read compares the user's effective rules with those recorded at the last apply: rules changed out of band show as a diff, and a user lost in a Redis restart is planned for creation. Destroy deletes the user and, with `delete_keys_on_destroy`, its keys (SCAN + UNLINK) under the prefix recorded at the last apply. A create cut off by a lost connection is recorded as tainted and replaced by the next apply. The provider warns once per run when the shared Redis has no `maxmemory` or the `noeviction` policy.",
            )
            .timeouts(tfplugin::timeouts::Op::ALL)
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("The ACL user name."))
            .attr(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .description("ACL user name: letters, digits, `_` and `-`, at most 64 characters; not `default`.")
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
                    .description("Command rules, applied in order: `+command`, `-command`, `+command|subcommand`, `+@category`, `-@category`, `allcommands`, `nocommands`. Key, channel and password rules, `on`/`off` and selectors are refused: they would escape the namespace.")
                    .validate(Validator::new("command rules only", |v| {
                        for rule in v.string_list() {
                            check_command_rule(&rule)?;
                        }
                        Ok(())
                    })),
            )
            .attr(
                Attribute::typed("channels", Type::set_of(Type::String))
                    .optional()
                    .computed()
                    .description("Pub/Sub channel patterns the user may use, in any order; each must start with `key_prefix`. Default `[\"<key_prefix>*\"]`; `[]` for none.")
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
                    .validate(non_empty_password()),
            )
            .attr(
                Attribute::string("password_wo")
                    .optional()
                    .sensitive()
                    .write_only()
                    .description("Write-only password (Terraform 1.11 and later): used for the user but never stored in plan or state. Conflicts with `password`. Terraform cannot see when it changes: bump `password_wo_version` to apply a new one.")
                    .validate(non_empty_password()),
            )
            .attr(Attribute::number("password_wo_version").optional().description("Any number; changing it re-applies `password_wo`."))
            .attr(Attribute::bool("allow_keyspace_scan").default(Value::Bool(false)).description("Allow `SCAN` and `RANDOMKEY`. They walk the whole shared keyspace, not just this namespace's keys, so the user sees every tenant's key names (never their values). Logins that `dbaas_vault_rotation_role` issues for the namespace never get them; nothing re-allows the other guarded commands."))
            .attr(Attribute::bool("allow_scripting").default(Value::Bool(true)).description("Allow Lua scripts and functions (`EVAL`, `EVALSHA`, `EVAL_RO`, `EVALSHA_RO`, `FCALL`, `FCALL_RO`, `SCRIPT LOAD|EXISTS`). On by default because many client libraries need them (locks, rate limiters, queues). A script runs alone on the shared server: one that never ends (`EVAL \"while true do end\" 0`) blocks every tenant, and after the server's `busy-reply-threshold` (5 s by default) they get `BUSY` until an administrator runs `SCRIPT KILL`. Set `false` for tenants that do not need scripting: the user gets `-@scripting` after its rules, and so do the logins `dbaas_vault_rotation_role` issues for the namespace."))
            .attr(Attribute::bool("delete_keys_on_destroy").default(Value::Bool(false)).description("On destroy, also delete every key starting with the key prefix recorded at the last apply (SCAN + UNLINK in batches, never KEYS). Destroy refuses, deleting nothing, when the user's key rules were changed out of band since (apply first to restore them). Off by default: keys are kept."))
            .attr(Attribute::string("host").computed().use_state_for_unknown().description("Host apps use (`redis.host`)."))
            .attr(Attribute::number("port").computed().use_state_for_unknown().description("Port apps use (`redis.port`)."))
            .attr(Attribute::string("acl").computed().description("The user's effective rules as Redis shows them (`ACL LIST` order, password hashes left out), recorded at apply and compared on every read.")),
        )
        .version(3)
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
            tfplugin::StateUpgrader {
                from: 2,
                upgrade: state_v2_to_v3,
            },
        ]
    }

    fn plan_with_private(&self, prior_private: &[u8], plan: &mut Plan<'_>) {
        // A namespace last applied with other guard rules (an earlier release) is applied
        // again with this release's: an in-place update, planned as a new `acl`.
        if plan.prior.is_null() || plan.planned.is_null() {
            return;
        }
        let Ok(planned) = plan.planned.to_model::<Model>() else {
            return;
        };
        if !planned.acl.is_unknown() && guards_outdated(prior_private, opt_ins(&planned)) {
            let acl = PlanEdit {
                acl: Some(Known::Unknown),
                ..PlanEdit::default()
            };
            merge(&mut plan.diags, &mut plan.planned, &acl);
        }
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
        let prefix = match (&config.key_prefix, &config.name) {
            (Known::Value(p), _) => Some(p.clone()),
            (Known::Null, Known::Value(n)) => Some(format!("{n}:")),
            _ => None,
        };
        if let (Some(prefix), Known::Null) = (&prefix, &config.channels) {
            // The default channel pattern, `<key_prefix>*`.
            if let Err(why) = check_channel(&format!("{prefix}*"), Some(prefix)) {
                diags.error_at(
                    AttributePath::attr("key_prefix"),
                    "Key prefix reaches other tenants' channels",
                    format!("With this key prefix, the default channel pattern {why}. Or set `channels` to patterns that cannot."),
                );
            }
        }
        if let (Some(prefix), Known::Value(channels)) = (prefix, &config.channels) {
            // A set's elements have no index Terraform could point at: the attribute, with
            // the pattern named in the text.
            for c in channels {
                if let Known::Value(c) = c {
                    if let Err(why) = check_channel(c, Some(&prefix)) {
                        diags.error_at(
                            AttributePath::attr("channels"),
                            "Channel outside the namespace",
                            why,
                        );
                    }
                }
            }
        }
    }

    async fn modify_plan(&self, plan: &mut Plan<'_>) {
        let Some((config, planned)) = plan_views::<PlanView>(plan) else {
            return;
        };
        let prior_password = if plan.prior.is_null() {
            Known::Null
        } else {
            match decode::<PlanView>(&mut plan.diags, plan.prior) {
                Some(prior) => prior.password,
                None => return,
            }
        };
        let mut edit = PlanEdit::default();
        let mut key_prefix = planned.key_prefix;
        if config.key_prefix.is_null() {
            key_prefix = derived(&planned.name, |n| format!("{n}:"));
            edit.key_prefix = Some(key_prefix.clone());
        }
        if config.channels.is_null() {
            edit.channels = Some(derived(&key_prefix, |p| vec![format!("{p}*")]));
        }
        if !config.password_wo.is_null() {
            edit.password = Some(Known::Null);
        } else if config.password.is_null() && prior_password.is_null() {
            // Created, imported, moved off password_wo, or found changed: a new one is made.
            edit.password = Some(Known::Unknown);
        }
        merge(&mut plan.diags, &mut plan.planned, &edit);
        if !plan.prior.is_null() {
            // Any planned change may change the effective rules.
            let changed = match (plan.planned.as_map(), plan.prior.as_map()) {
                (Some(planned), Some(prior)) => planned
                    .iter()
                    .any(|(k, v)| k != "acl" && v != prior.get(k).unwrap_or(&Value::Null)),
                _ => false,
            };
            if changed {
                let acl = PlanEdit {
                    acl: Some(Known::Unknown),
                    ..PlanEdit::default()
                };
                merge(&mut plan.diags, &mut plan.planned, &acl);
            }
        }
    }

    fn plan_with_client(&self, client: &Backends, plan: &mut Plan<'_>) {
        // Issue 21: id, host and port planned known; an absent `redis` block refused.
        let needs = crate::resources::known_at_plan::Needs {
            block: "redis",
            attr: "name",
            does: "creates and manages its ACL user through the provider's Redis admin login",
        };
        crate::resources::known_at_plan::plan_store(
            plan,
            &client.settings,
            "dbaas_shared_redis_namespace",
            crate::enums::Engine::Redis,
            needs,
        );
    }

    async fn import(&self, ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
        const TYPE: &str = "dbaas_shared_redis_namespace";
        if let Err(why) = check_name(id) {
            let why = format!("the id is the namespace's ACL user name, and {why}");
            crate::resources::common::refuse_import_id(&mut ctx.diags, TYPE, &why, "app");
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
                let why = format!("{id:?} is the user the provider connects as, not a namespace; give a namespace's ACL user name");
                crate::resources::common::refuse_import_id(&mut ctx.diags, TYPE, &why, "app");
                return;
            }
        }
        import_name(&mut ctx.diags, state, id);
    }
}

#[async_trait::async_trait]
impl tfplugin::TypedResource<Backends> for SharedRedisNamespace {
    type Model = Model;

    async fn create(&self, ctx: &mut Ctx<'_>, planned: Model, config: &Value) -> Applied<Model> {
        let config: Model = try_decode(config)?;
        let (password, keep) = password_for(&planned, &config);
        let spec = spec_from(&planned, password);
        let redis = ctx.client.redis().await.or_reach("Redis")?;
        decide::not_the_admin(&spec.name, redis.admin_user())?;
        memory_warning(&mut ctx.diags, redis).await;
        let cannot = format!("Cannot create Redis namespace {:?}", spec.name);
        // The existence and overlap checks and the write run under one lock, so two
        // creates of this process cannot both pass the overlap check.
        let lock = redis.acl_write_lock().await;
        let facts = observe_create(redis, &spec).await.or_diag(&cannot)?;
        decide::create_gate(&spec.name, &spec.key_prefix, facts)?;
        let kept = keep.then(|| spec.password.clone());
        let partial = partial_state(redis, &planned, kept.clone());
        let written = write_user(redis, &spec, &cannot).await?;
        // The user may exist from here on: whatever fails, it stays in state (tainted).
        ctx.private = record_applied(&spec, sql::redis_guard_rules(opt_ins(&planned)));
        if let Written::Unknown(e) = written {
            return Err(e.tainted(partial));
        }
        recheck_overlap(redis, &spec, &cannot, &partial).await?;
        drop(lock);
        read_back(redis, &spec.name, &planned, kept)
            .await
            .or_taint(&partial)
    }

    async fn read(&self, ctx: &mut Ctx<'_>, model: Model) -> Result<Option<Model>, Error> {
        let redis = ctx.client.redis().await.or_reach("Redis")?;
        let read = redis
            .get_user(&model.name)
            .await
            .or_diag(format!("Cannot read Redis namespace {:?}", model.name))?;
        // Gone (deleted, or lost in a restart without ACL persistence): plan creates it.
        let Some(user) = read else {
            return Ok(None);
        };
        memory_warning(&mut ctx.diags, redis).await;
        // State from a release that kept no record: when the rules read as the last apply
        // left them, its prefix is the one that apply gave.
        let recorded = recorded_prefix(&ctx.private);
        let acl = model.acl.as_option().map(String::as_str);
        let prefix = model.key_prefix.as_option().map(String::as_str);
        if let Some(p) = decide::prefix_to_record(recorded.as_deref(), acl, prefix, &user) {
            ctx.private = record_prefix(&p);
        }
        Ok(Some(state_from(redis, &model, &user)))
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_>,
        prior: Model,
        planned: Model,
        config: &Value,
    ) -> Applied<Model> {
        let config: Model = try_decode(config)?;
        let (password, keep) = password_for(&planned, &config);
        let spec = spec_from(&planned, password);
        let redis = ctx.client.redis().await.or_reach("Redis")?;
        memory_warning(&mut ctx.diags, redis).await;
        let cannot = format!("Cannot update Redis namespace {:?}", spec.name);
        let lock = redis.acl_write_lock().await;
        if prior.key_prefix != planned.key_prefix {
            let others = redis
                .overlapping_users(&spec.name, &spec.key_prefix)
                .await
                .or_diag(&cannot)?;
            decide::no_overlap(&spec.key_prefix, others)?;
        }
        // One atomic `ACL SETUSER name reset ...`: whatever drifted is replaced whole.
        redis.set_user(&spec).await.or_diag(&cannot)?;
        drop(lock);
        ctx.private = record_applied(&spec, sql::redis_guard_rules(opt_ins(&planned)));
        let kept = keep.then_some(spec.password);
        Ok(read_back(redis, &spec.name, &planned, kept).await?)
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let name = &prior.name;
        let redis = ctx.client.redis().await.or_reach("Redis")?;
        // Keys go by the prefix recorded at apply, never by one read back from an ACL
        // that may have been edited to point at another tenant's keys.
        let delete_keys_on_destroy = prior.delete_keys_on_destroy.unwrap_or(false);
        let recorded = recorded_prefix(&ctx.private);
        let prefix = decide::key_prefix_to_delete(name, delete_keys_on_destroy, recorded)?;
        if let Some(prefix) = &prefix {
            let user = redis.get_user(name).await.or_diag(format!(
                "Cannot read Redis user {name:?} before deleting it"
            ))?;
            decide::keys_still_ours(name, prefix, user.as_ref())?;
        }
        // Deleting the user first closes its connections, so no new keys appear meanwhile.
        redis
            .del_user(name)
            .await
            .or_diag(format!("Cannot delete Redis user {name:?}"))?;
        match prefix {
            Some(prefix) => delete_keys(&ctx.cancel, redis, name, &prefix).await,
            None => Ok(()),
        }
    }
}
