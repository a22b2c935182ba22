//! The pure rules of a Redis namespace's ACL user: which names, key prefixes, command
//! rules and channel patterns a namespace accepts, the key rule it writes, and how an
//! ACL user read back from Redis reads in the resource's terms (drift).

use crate::backends::redis::AclUser;

/// Longest user name.
const MAX_NAME: usize = 64;
/// Longest key prefix.
const MAX_PREFIX: usize = 128;
/// Default command rules: everything but administration and the commands that reach
/// beyond the tenant's keys (`FLUSHALL`, `KEYS`, `CONFIG`, ...).
pub const DEFAULT_COMMANDS: &[&str] = &["+@all", "-@admin", "-@dangerous"];

/// The key rule the namespace writes for `prefix` (the one `ACL SETUSER` sends).
pub use crate::backends::redis::key_rule;

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

/// Where the channels Redis publishes keyspace notifications on begin: their names and
/// messages carry every tenant's key names.
const NOTIFICATION_CHANNELS: &[&str] = &["__keyspace@", "__keyevent@"];

/// Whether channel pattern `s` can match a keyspace-notification channel. Conservative:
/// the literal part before the first glob character (`*`, `?`, `[`, `\`) decides.
pub fn reaches_notifications(s: &str) -> bool {
    let end = s.find(['*', '?', '[', '\\']).unwrap_or(s.len());
    let (literal, glob) = (&s[..end], end < s.len());
    NOTIFICATION_CHANNELS
        .iter()
        .any(|n| literal.starts_with(n) || (glob && n.starts_with(literal)))
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
            return Err(format!(
                "{s:?} does not start with the namespace's key prefix {p:?}; channels are confined to it too{}",
                channel_suggestion(p)
            ));
        }
    }
    if reaches_notifications(s) {
        return Err(format!("{s:?} can match Redis's keyspace-notification channels (`__keyspace@<db>__:<key>`, `__keyevent@<db>__:<event>`), which carry every tenant's key names; choose a key prefix and channels that cannot start with `__keyspace@` or `__keyevent@`"));
    }
    Ok(())
}

/// The end of the "outside the prefix" message: example patterns under `prefix` that
/// are themselves valid channels (so never `app**` from the invalid prefix `app*`), or,
/// when the prefix is invalid, what to fix first.
fn channel_suggestion(prefix: &str) -> String {
    if let Err(why) = check_prefix(prefix) {
        return format!(" (fix `key_prefix` first: {why})");
    }
    let valid: Vec<String> = [format!("{prefix}events"), format!("{prefix}*")]
        .into_iter()
        .filter(|c| !c.is_empty() && c.starts_with(prefix) && !reaches_notifications(c))
        .map(|c| format!("`{c}`"))
        .collect();
    match valid.as_slice() {
        [] => String::new(),
        [one] => format!(" (e.g. {one})"),
        [a, rest @ ..] => format!(" (e.g. {a} or {})", rest.join(" or ")),
    }
}

/// The key prefix a user's key rules give: `p` for exactly `~<p>*` with a valid `p`;
/// otherwise the raw key rules (never a valid prefix, so destroy will not delete keys by it).
pub fn key_prefix_of(user: &AclUser) -> String {
    let prefix = match user.keys.as_slice() {
        [one] => one
            .strip_prefix('~')
            .and_then(|p| p.strip_suffix('*'))
            .filter(|p| check_prefix(p).is_ok())
            .map(str::to_string),
        _ => None,
    };
    prefix.unwrap_or_else(|| user.keys.join(" "))
}

/// A user's channel patterns without Redis's `&`.
pub fn channels_of(user: &AclUser) -> Vec<String> {
    user.channels
        .iter()
        .map(|c| c.strip_prefix('&').unwrap_or(c).to_string())
        .collect()
}

/// A user's command rules; rules outside the command list (extra flags, selectors) join
/// it, so they show in a plan.
pub fn commands_of(user: &AclUser) -> Vec<String> {
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
    commands
}

/// Whether an ACL user's key and channel patterns are a namespace's: one `~<prefix>*`
/// with a glob-free prefix, and channels under it.
pub fn confined(keys: &[String], channels: &[String]) -> Result<(), String> {
    let prefix = match keys {
        [one] => one
            .strip_prefix('~')
            .and_then(|k| k.strip_suffix('*'))
            .filter(|p| !p.is_empty() && !p.contains(['*', '?', '[', ']', '\\'])),
        _ => None,
    };
    let Some(prefix) = prefix else {
        return Err(format!(
            "its key rules are {:?}, not one `~<prefix>*`",
            keys.join(" ")
        ));
    };
    match channels
        .iter()
        .find(|c| !c.strip_prefix('&').is_some_and(|c| c.starts_with(prefix)))
    {
        Some(c) => Err(format!(
            "its channel rule {c:?} is outside the prefix {prefix:?}"
        )),
        None => Ok(()),
    }
}

/// Whether ACL user `login` (read back as `user`; `None` when missing) may be the
/// `username` of a static rotation role for namespace `namespace`, whose key rules are
/// `namespace_keys`: Vault rotates its password and hands it to the role's readers, so it
/// must be an existing login confined to exactly the namespace's keys and channels, with no
/// selectors, and neither the provider's `admin` nor the namespace user (whose password
/// belongs to Terraform).
pub fn check_static_login(
    login: &str,
    user: Option<&AclUser>,
    namespace: &str,
    namespace_keys: &[String],
    admin: &str,
) -> Result<(), String> {
    if login == admin {
        return Err(format!("{login:?} is the user the provider connects as; Vault would rotate the shared Redis's admin password and hand it out"));
    }
    if login == namespace {
        return Err(format!("{login:?} is the namespace's own user, whose password `dbaas_shared_redis_namespace` sets; use a separate login confined to the namespace's prefix, or a dynamic role"));
    }
    let Some(user) = user else {
        return Err(format!(
            "Redis has no user {login:?}; a static role rotates an existing login"
        ));
    };
    let confined_here = confined(&user.keys, &user.channels).is_ok()
        && user.keys == namespace_keys
        && user.selectors.is_empty();
    if !confined_here {
        return Err(format!(
            "{login:?} is not confined to namespace {namespace:?} (its key rules are {:?}, the namespace's {:?}{}); Vault would hand its password to the readers of this role",
            user.keys.join(" "),
            namespace_keys.join(" "),
            if user.selectors.is_empty() { "" } else { ", and it has selectors" },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::common::assert_verdicts;

    #[test]
    fn names() {
        let ok = ["app", "App-1", "a_b", &"a".repeat(64)];
        let bad = [
            "",
            "default",
            "a b",
            "a:b",
            "a*",
            "é",
            ">pw",
            &"a".repeat(65),
        ];
        assert_verdicts(check_name, &ok, &bad);
    }

    #[test]
    fn prefixes() {
        let bad = [
            "",
            "*",
            "app*",
            "a?",
            "a[b]",
            "a\\",
            "a b",
            "a\n",
            &"a".repeat(129),
        ];
        assert_verdicts(check_prefix, &["app:", "team/app:", "x"], &bad);
    }

    #[test]
    fn command_rules() {
        let ok = [
            "+@all",
            "-@admin",
            "-@dangerous",
            "+get",
            "-flushall",
            "+config|get",
            "+json.get",
            "allcommands",
            "nocommands",
        ];
        let bad = [
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
        ];
        assert_verdicts(check_command_rule, &ok, &bad);
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
    fn static_logins_must_be_confined_to_the_namespace() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let user = |keys: &[&str], channels: &[&str], selectors: &[&str]| AclUser {
            keys: s(keys),
            channels: s(channels),
            selectors: s(selectors),
            ..AclUser::default()
        };
        let ns_keys = s(&["~a:*"]);
        let check = |login: &str, u: Option<&AclUser>| {
            check_static_login(login, u, "a", &ns_keys, "default")
        };
        let own = user(&["~a:*"], &["&a:*"], &[]);
        assert!(check("a-app", Some(&own)).is_ok());
        assert!(check("a-app", Some(&user(&["~a:*"], &[], &[]))).is_ok());
        for (login, u, says) in [
            ("default", Some(own.clone()), "provider connects as"),
            ("a", Some(own.clone()), "namespace's own user"),
            ("ghost", None, "no user"),
            ("b", Some(user(&["~b:*"], &["&b:*"], &[])), "not confined"),
            ("admin2", Some(user(&["~*"], &["&*"], &[])), "not confined"),
            (
                "wide",
                Some(user(&["~a:*", "~b:*"], &[], &[])),
                "not confined",
            ),
            ("sub", Some(user(&["~a:x:*"], &[], &[])), "not confined"),
            ("chan", Some(user(&["~a:*"], &["&*"], &[])), "not confined"),
            (
                "sel",
                Some(user(&["~a:*"], &[], &["(~b:* +get)"])),
                "selectors",
            ),
        ] {
            let e = check(login, u.as_ref()).expect_err(login);
            assert!(e.contains(says), "{login}: {e}");
        }
    }

    #[test]
    fn channels_never_reach_keyspace_notifications() {
        let ok = |s: &str| check_channel(s, None);
        assert_verdicts(
            ok,
            &[
                "app:*",
                "_x:*",
                "_",
                "__",
                "__keyspace",
                "__k",
                "__keyspacex@*",
            ],
            &[
                "*",
                "_*",
                "__*",
                "__key*",
                "__keyspace@*",
                "__keyevent@0__:set",
                "__keyspace@0__:app:*",
                "_?keyevent@*",
                "[_]_keyevent@*",
                "\\_\\_keyevent@*",
            ],
        );
    }

    #[test]
    fn a_user_read_back_reads_as_prefix_channels_and_commands() {
        let user = AclUser {
            flags: vec!["on".into(), "sanitize-payload".into(), "nopass".into()],
            keys: vec!["~app:*".into()],
            channels: vec!["&app:*".into()],
            commands: vec!["+@all".into(), "-@admin".into()],
            selectors: vec!["(~other:* +get)".into()],
            ..AclUser::default()
        };
        assert_eq!(key_prefix_of(&user), "app:");
        assert_eq!(channels_of(&user), ["app:*"]);
        assert_eq!(
            commands_of(&user),
            ["+@all", "-@admin", "nopass", "(~other:* +get)"],
            "flags beyond on/off and selectors show among the commands"
        );
        let widened = AclUser {
            keys: vec!["~app:*".into(), "~other:*".into()],
            ..user.clone()
        };
        assert_eq!(key_prefix_of(&widened), "~app:* ~other:*");
        let globbed = AclUser {
            keys: vec!["~*".into()],
            ..user
        };
        assert!(check_prefix(&key_prefix_of(&globbed)).is_err());
    }

    #[test]
    fn key_rule_escapes_nothing_in_a_plain_prefix() {
        assert_eq!(key_rule("app:"), "~app:*");
    }

    #[test]
    fn only_a_namespace_confined_to_one_prefix_is_used() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(confined(&s(&["~app:*"]), &s(&["&app:*", "&app:events"])).is_ok());
        assert!(confined(&s(&["~app:*"]), &[]).is_ok());
        assert!(confined(&s(&["~*"]), &[]).is_err());
        assert!(confined(&s(&["~app:*", "~other:*"]), &[]).is_err());
        assert!(confined(&s(&["%R~app:*"]), &[]).is_err());
        assert!(confined(&s(&["~a?p:*"]), &[]).is_err());
        assert!(confined(&s(&["~app:*"]), &s(&["&*"])).is_err());
        assert!(confined(&[], &[]).is_err());
    }

    #[test]
    fn a_channel_outside_the_prefix_is_told_only_valid_patterns() {
        // (situation, key prefix, channel, suggestions the message must hold, texts it must not)
        type Row = (
            &'static str,
            &'static str,
            &'static str,
            &'static [&'static str],
            &'static [&'static str],
        );
        let table: [Row; 3] = [
            (
                "valid prefix",
                "app:",
                "other:*",
                &["`app:events`", "`app:*`"],
                &[],
            ),
            (
                "prefix with a glob character",
                "app*",
                "x",
                &["key_prefix"],
                &["app**", "`app*events`", "e.g."],
            ),
            (
                "prefix whose pattern reaches notifications",
                "__key",
                "x",
                &["`__keyevents`"],
                &["`__key*`"],
            ),
        ];
        for (situation, prefix, channel, want, never) in table {
            let why = check_channel(channel, Some(prefix)).expect_err(situation);
            for w in want {
                assert!(why.contains(w), "{situation}: {why:?} lacks {w}");
            }
            for n in never {
                assert!(!why.contains(n), "{situation}: {why:?} suggests {n}");
            }
        }
    }
}
