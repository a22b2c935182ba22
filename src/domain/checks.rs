//! Pure checks of the names and paths configuration gives: PostgreSQL identifiers, NUL
//! bytes, Vault mounts, names and KV v2 paths. Each returns why it refuses, in words the
//! user acts on; the schema validators (`resources::common`, `provider::schema`) wrap them.

/// A PostgreSQL identifier as the spec allows it: `^[a-z_][a-z0-9_]{0,max-1}$`.
pub fn is_pg_identifier(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= max
}

/// Refuses a NUL byte: PostgreSQL and MySQL reject it in identifiers and literals, and
/// stripping it would act on another name than the one configured.
pub fn check_no_nul(s: &str) -> Result<(), String> {
    if s.contains('\0') {
        return Err(format!(
            "{s:?} contains a NUL byte (\\u0000), which no database name or value may hold; remove it"
        ));
    }
    Ok(())
}

/// Whether `s` is a Vault mount path: one or more `/`-separated segments of ASCII
/// letters, digits, `-`, `_` and `.`, none empty, none holding `..` or being `.`, no
/// `/` at either end. Anything else is refused rather than encoded: a `%2F` or `%2e`
/// that some layer decodes would be a separator or a traversal, `?` and `#` end a URL's
/// path, `*` and `+` are wildcards in the Vault policy this provider derives from the
/// mount, and whitespace, backslashes and control characters name no real mount.
pub fn check_vault_mount(s: &str) -> Result<(), String> {
    check_no_nul(s)?;
    if s.is_empty() {
        return Err("must not be empty; the default mount is `database`".into());
    }
    if s.chars().any(char::is_control) {
        return Err(format!("{s:?} contains a control character"));
    }
    if s.starts_with('/') || s.ends_with('/') {
        return Err(format!(
            "{s:?} starts or ends with `/`; write the mount without slashes at either end, e.g. `database` or `team/database`"
        ));
    }
    for segment in s.split('/') {
        if segment.is_empty() {
            return Err(format!("{s:?} has an empty segment (`//`)"));
        }
        if segment == "." || segment.contains("..") {
            return Err(format!(
                "{s:?} has a `{segment}` segment; Vault paths are taken literally, so `.` and `..` are refused (they would point outside the mount)"
            ));
        }
        if let Some(c) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(format!(
                "{s:?} contains {c:?}: a mount is `/`-separated segments of letters, digits, `-`, `_` and `.`; percent-encoded separators (`%2F`), `?`, `#`, `*`, `+`, whitespace and backslashes are refused"
            ));
        }
    }
    Ok(())
}

/// Whether `s` is a Vault connection or role name: 1 to 128 letters, digits, `-` or `_`
/// (one path segment, never `.` or `..`).
pub fn check_vault_name(s: &str) -> Result<(), String> {
    check_no_nul(s)?;
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.contains("..") || s.contains('/') {
        return Err(format!(
            "{s:?} contains `/` or `..`: a name is one segment of a Vault path (`<mount>/roles/<name>`); use 1-128 letters, digits, `-` or `_`"
        ));
    }
    if s.len() > 128
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("{s:?} must be 1-128 letters, digits, `-` or `_`"));
    }
    Ok(())
}

/// Whether `p` looks like `<mount>/data/<path>` (no leading slash, no empty segments).
pub fn valid_kv2_path(p: &str) -> bool {
    let segments: Vec<&str> = p.split('/').collect();
    // No `.`/`..` segment, and nothing a layer could decode into a separator or read as
    // the end of the path (`%2F`, `?`, `#`), nor whitespace, backslashes or control
    // characters: the path names one secret, literally.
    let plain = |s: &&str| {
        !s.is_empty()
            && !matches!(*s, "." | "..")
            && !s
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '%' | '?' | '#' | '\\'))
    };
    segments.len() >= 3
        && segments.iter().all(plain)
        && segments[1..segments.len() - 1].contains(&"data")
}

/// Path words Vault puts between a mount and a role or connection name
/// (`<mount>/<word>/<name>`); an import id whose segment before the name is one of them is
/// read as that Vault API path, never as a mount ending in the word.
const VAULT_PATH_WORDS: [&str; 5] = ["roles", "static-roles", "config", "creds", "static-creds"];

/// What a `dbaas_vault_rotation_role` import id names: the mount, the role, and its mode
/// when the id is a Vault API path (`Some(true)` for `static-roles/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleImportId<'a> {
    /// The secrets engine mount.
    pub mount: &'a str,
    /// The role name.
    pub name: &'a str,
    /// `Some(static?)` when the id said `roles/` or `static-roles/`; `None` for `<mount>/<name>`.
    pub static_role: Option<bool>,
}

/// Splits `id` into the part before the name, the Vault path word before the name (when
/// the id has one and something before it) and the name.
fn split_vault_id(id: &str) -> Result<(&str, Option<&str>, &str), String> {
    let Some((head, name)) = id.rsplit_once('/') else {
        return Err(format!("{id:?} has no mount"));
    };
    match head.rsplit_once('/') {
        Some((mount, word)) if VAULT_PATH_WORDS.contains(&word) => Ok((mount, Some(word), name)),
        _ => Ok((head, None, name)),
    }
}

/// The mount and the name, each checked ([`check_vault_mount`], [`check_vault_name`]).
fn checked<'a>(id: &str, mount: &'a str, name: &'a str) -> Result<(&'a str, &'a str), String> {
    check_vault_mount(mount).map_err(|e| format!("the mount in {id:?} is refused: {e}"))?;
    check_vault_name(name).map_err(|e| format!("the name in {id:?} is refused: {e}"))?;
    Ok((mount, name))
}

/// Parses a `dbaas_vault_rotation_role` import id: `<mount>/<name>`, or the Vault API
/// paths `<mount>/roles/<name>` (dynamic) and `<mount>/static-roles/<name>` (static). The
/// segment before the name decides: a mount whose last segment is `roles` or
/// `static-roles` is written in the API form (`team/roles/roles/app`); an id naming a
/// connection's or a credentials path is refused, saying how to write it.
pub fn parse_role_import_id(id: &str) -> Result<RoleImportId<'_>, String> {
    const FORMS: &str =
        "write `<mount>/<name>`, `<mount>/roles/<name>` or `<mount>/static-roles/<name>`";
    let (mount, word, name) = split_vault_id(id).map_err(|e| format!("{e}: {FORMS}"))?;
    let static_role = match word {
        None => None,
        Some("roles") => Some(false),
        Some("static-roles") => Some(true),
        Some(other) => {
            let what = if other == "config" {
                "a connection's"
            } else {
                "a credentials"
            };
            return Err(format!(
                "{id:?} is {what} path in Vault, or a role in a mount named `{mount}/{other}`: for that mount write `{mount}/{other}/roles/{name}` (or `{mount}/{other}/static-roles/{name}`), for a role in `{mount}` write `{mount}/roles/{name}`"
            ));
        }
    };
    let (mount, name) = checked(id, mount, name).map_err(|e| format!("{e}; {FORMS}"))?;
    Ok(RoleImportId {
        mount,
        name,
        static_role,
    })
}

/// Parses a `dbaas_vault_database_connection` import id: `<mount>/<name>` or the Vault
/// API path `<mount>/config/<name>`. A mount whose last segment is `config` is written in
/// the API form (`team/config/config/pg`); an id naming a role's or a credentials path is
/// refused, saying how to write it.
pub fn parse_connection_import_id(id: &str) -> Result<(&str, &str), String> {
    const FORMS: &str = "write `<mount>/<name>` or `<mount>/config/<name>`";
    let (mount, word, name) = split_vault_id(id).map_err(|e| format!("{e}: {FORMS}"))?;
    match word {
        None | Some("config") => {}
        Some(other) => {
            let what = if other.ends_with("roles") {
                "a role's"
            } else {
                "a credentials"
            };
            return Err(format!(
                "{id:?} is {what} path in Vault, or a connection in a mount named `{mount}/{other}`: for that mount write `{mount}/{other}/config/{name}`, for a connection in `{mount}` write `{mount}/config/{name}`"
            ));
        }
    }
    checked(id, mount, name).map_err(|e| format!("{e}; {FORMS}"))
}
