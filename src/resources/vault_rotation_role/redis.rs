//! The Redis namespace a rotation role's rules come from: read from the namespace's ACL
//! user (never guessed), recorded in private state for planning.

use crate::backends::redis::Redis;
use crate::resources::common::{read_private, write_private};
use crate::resources::redis_acl::{check_static_login, confined};
use crate::sql::{self, Access, VaultStatements};

/// The namespace a Redis role's generated rules come from, as recorded in private state
/// at the last apply or read: its key and channel patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct RedisNamespace {
    /// Key patterns (`~app:*`).
    pub(super) keys: Vec<String>,
    /// Channel patterns (`&app:*`).
    pub(super) channels: Vec<String>,
    /// The namespace user may not run Lua (`allow_scripting = false`); absent in records
    /// of earlier releases.
    #[serde(default)]
    pub(super) no_scripting: bool,
}

impl RedisNamespace {
    /// The statements generated for it at `access`. Issued logins never get SCAN or
    /// RANDOMKEY, even for a namespace with `allow_keyspace_scan`: the opt-in is the
    /// namespace user's, and deriving it from a live ACL would flip while that ACL changes.
    /// They lose scripting with the namespace user (`allow_scripting = false`).
    pub(super) fn statements(&self, access: Access) -> VaultStatements {
        let opt_ins = sql::RedisOptIns {
            keyspace_scan: false,
            scripting: !self.no_scripting,
        };
        sql::vault_redis_statements_for(&self.keys, &self.channels, access, opt_ins)
    }
}

/// This resource's private state.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Private {
    /// For Redis roles: the namespace the rules were generated from.
    #[serde(default)]
    redis_namespace: Option<RedisNamespace>,
}

/// The recorded namespace; private state of earlier releases (empty) gives none.
pub(super) fn recorded_namespace(private: &[u8]) -> Option<RedisNamespace> {
    read_private::<Private>(private).redis_namespace
}

/// Private state recording `ns`.
pub(super) fn record_namespace(ns: &RedisNamespace) -> Vec<u8> {
    write_private(&Private {
        redis_namespace: Some(ns.clone()),
    })
}

/// Refuses a static Redis role's `username` that is not a login confined to namespace
/// `database` (another tenant's user, the admin, the namespace user itself): Vault would
/// rotate its password and hand it out. The error is a diagnostic's summary and detail.
pub(super) async fn check_static_redis_login(
    redis: &Redis,
    database: &str,
    username: &str,
) -> Result<(), (String, String)> {
    let ns = read_namespace(redis, database).await?;
    let user = redis.get_user(username).await.map_err(|e| {
        (
            format!("Cannot read Redis user {username:?}"),
            format!("{e}. Nothing was written to Vault."),
        )
    })?;
    check_static_login(
        username,
        user.as_ref(),
        database,
        &ns.keys,
        redis.admin_user(),
    )
    .map_err(|why| {
        (
            "Static role's username is not a login of this namespace".to_string(),
            format!("{why}. Nothing was written to Vault."),
        )
    })
}

/// The command whose `ACL DRYRUN` tells whether a namespace user may run Lua.
const SCRIPTING_PROBE: &[&str] = &["EVAL", "return 1", "0"];

/// Reads namespace `name`'s ACL user: its patterns, confined to one prefix. The error is
/// a diagnostic's summary and detail.
pub(super) async fn read_namespace(
    redis: &Redis,
    name: &str,
) -> Result<RedisNamespace, (String, String)> {
    let user = match redis.get_user(name).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return Err((
                format!("Redis namespace {name:?} not found"),
                format!("The logins of a Redis role are confined to the key and channel patterns of the namespace's ACL user {name:?}, and Redis has no such user. Create the namespace first and reference it, e.g. `database = dbaas_shared_redis_namespace.<x>.name`, so Terraform orders the two."),
            ))
        }
        Err(e) => {
            return Err((
                format!("Cannot read Redis namespace {name:?}"),
                format!("{e}. The role's rules are generated from the namespace's ACL user and are not guessed."),
            ))
        }
    };
    if let Err(why) = confined(&user.keys, &user.channels) {
        return Err((
            format!("Redis namespace {name:?} is not confined to one key prefix"),
            format!("The namespace's ACL user is not as dbaas_shared_redis_namespace leaves it: {why}. Apply the namespace first to restore its rules."),
        ));
    }
    // Scripting follows what the namespace user may do, not how its rules read.
    let no_scripting = match redis.may_run(name, SCRIPTING_PROBE).await {
        Ok(allowed) => !allowed,
        Err(e) => {
            return Err((
                format!("Cannot read Redis namespace {name:?}"),
                format!("{e}. The role's rules are generated from the namespace's ACL user and are not guessed."),
            ))
        }
    };
    // The namespace's channels are a set: Redis keeps them in the order they were last
    // written, which says nothing, so the generated rules list them sorted.
    let mut channels = user.channels;
    channels.sort();
    channels.dedup();
    Ok(RedisNamespace {
        keys: user.keys,
        channels,
        no_scripting,
    })
}
