//! The database's `settings` (issue 22): which names a configuration may set, what a plan
//! keeps, the statements an apply runs and how the catalog reads back. Pure; table-tested
//! in `tests/settings.rs`.

use std::collections::BTreeMap;

use tfplugin::{AttributePath, Diagnostics, Error, Known};

use crate::sql;

/// Setting name to value, as configured and as the catalog stores it.
pub(super) type Settings = BTreeMap<String, String>;

/// `settings` in a configuration (it, or any value, may be unknown).
pub(super) type ConfigSettings = Known<BTreeMap<String, Known<String>>>;

/// Why one configured setting is refused: at `settings["<name>"]`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SettingRefusal {
    /// The configured name.
    pub name: String,
    /// One sentence.
    pub summary: String,
    /// What is allowed.
    pub detail: String,
}

impl SettingRefusal {
    /// Reports it at `settings["<name>"]`.
    pub fn report(&self, diags: &mut Diagnostics) {
        let at = AttributePath::attr("settings").key(&self.name);
        diags.error_at(at, self.summary.clone(), self.detail.clone());
    }
}

/// The allowlist as `` `a`, `b`, ... `` for diagnostics and the schema's description.
pub(super) fn allowed_list() -> String {
    let quoted: Vec<String> = sql::DATABASE_SETTINGS_ALLOWED
        .iter()
        .map(|n| format!("`{n}`"))
        .collect();
    quoted.join(", ")
}

/// Validation of one configured setting (`value` `None` while unknown): a name outside
/// the allowlist (exact, lower-case: the catalog reads names back in lower case), or an
/// empty value or one holding a control character.
pub(super) fn check_setting(name: &str, value: Option<&str>) -> Option<SettingRefusal> {
    if !sql::DATABASE_SETTINGS_ALLOWED.contains(&name) {
        return Some(SettingRefusal {
            name: name.into(),
            summary: format!("{name:?} is not a setting this provider manages"),
            detail: format!("`settings` takes only these PostgreSQL settings, by their lower-case names: {}. Settings that change name resolution, roles or what a session loads are never set on a tenant database.", allowed_list()),
        });
    }
    match value {
        Some(v) if v.trim().is_empty() || v.chars().any(char::is_control) => Some(SettingRefusal {
            name: name.into(),
            summary: format!("{name:?} needs a value"),
            detail: "A setting's value is a non-empty string without control characters, written as PostgreSQL takes it (e.g. \"30s\", \"64MB\"); remove the entry to reset the setting.".into(),
        }),
        _ => None,
    }
}

/// Every refusal of a configuration's `settings`, in name order.
pub(super) fn check_settings(config: &ConfigSettings) -> Vec<SettingRefusal> {
    let Known::Value(map) = config else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, value)| check_setting(name, value.as_option().map(String::as_str)))
        .collect()
}

/// What the plan records when the configuration leaves `settings` out (`None`: as
/// configured). Unset is "manage none": a state holding settings plans their reset
/// (null); a state with none (null, or the empty map an import starts from) keeps it, so
/// nothing changes.
pub(super) fn planned_when_unset(
    config_null: bool,
    prior: &Known<Settings>,
) -> Option<Known<Settings>> {
    if !config_null {
        return None;
    }
    Some(match prior {
        Known::Value(m) if m.is_empty() => Known::Value(Settings::new()),
        _ => Known::Null,
    })
}

/// The settings a read reports: the allowlisted ones the catalog holds for the database
/// (`entries` as `name=value`), when the state manages them; others (the provider's own
/// `search_path`, an administrator's) are not this attribute's.
pub(super) fn from_catalog(entries: &[String]) -> Settings {
    entries
        .iter()
        .filter_map(|e| e.split_once('='))
        .filter(|(name, _)| sql::DATABASE_SETTINGS_ALLOWED.contains(name))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The statements taking database `db` from `prior` to `planned` settings (null: none):
/// `SET` for each new or changed one, `RESET` for each removed one (allowlisted only).
pub(super) fn settings_statements(
    db: &str,
    prior: &Known<Settings>,
    planned: &Known<Settings>,
) -> Vec<String> {
    let empty = Settings::new();
    let before = prior.as_option().unwrap_or(&empty);
    let after = planned.as_option().unwrap_or(&empty);
    let reset = before
        .keys()
        .filter(|name| !after.contains_key(*name))
        .filter(|name| sql::DATABASE_SETTINGS_ALLOWED.contains(&name.as_str()))
        .map(|name| sql::alter_database_reset(db, name));
    let set = after
        .iter()
        .filter(|(name, value)| before.get(*name) != Some(*value))
        .map(|(name, value)| sql::alter_database_set(db, name, value));
    reset.chain(set).collect()
}

/// What an update's `settings` statements start from: the allowlisted settings the
/// catalog holds now (`catalog`, read when the plan manages settings), so that the first
/// apply of a map also resets any the configuration leaves out; else the prior state
/// (a removed attribute resets what the state held).
pub(super) fn update_baseline(
    prior: &Known<Settings>,
    catalog: Option<Settings>,
) -> Known<Settings> {
    match catalog {
        Some(found) => Known::Value(found),
        None => prior.clone(),
    }
}

/// The configured setting a server error refuses the value of (SQLSTATE 22023,
/// `invalid value for parameter "work_mem": "lots"`), if any.
pub(super) fn refused_setting<'a>(
    code: Option<&str>,
    message: &str,
    configured: &'a Settings,
) -> Option<&'a str> {
    if code != Some("22023") {
        return None;
    }
    configured
        .keys()
        .map(String::as_str)
        .find(|name| message.contains(&format!("parameter \"{name}\"")))
}

/// A failed apply's error: at `settings["<name>"]` when the server refused that
/// setting's value, else under `cannot`; `detail` is the server's error.
pub(super) fn apply_error(
    configured: &Settings,
    cannot: &str,
    code: Option<&str>,
    message: &str,
    detail: String,
) -> Error {
    match refused_setting(code, message, configured) {
        Some(name) => Error::at(
            AttributePath::attr("settings").key(name),
            cannot,
            format!("{detail}\nPostgreSQL refused the value of {name:?}: write it as PostgreSQL takes it (e.g. \"30s\", \"64MB\")."),
        ),
        None => Error::new(cannot, detail),
    }
}
