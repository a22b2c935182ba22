//! Issue 22, static roles complete: the pure rules for `rotation_schedule`,
//! `rotation_window`, `skip_import_rotation`, `create_login` and
//! `retain_previous_password` (what a configuration may combine, what the Vault server
//! and the database server must support, what a created login may be), each a typed
//! problem that renders its own diagnostic at its attribute.

use tfplugin::{AttributePath, Diagnostics, Error, Known};

use super::PlanView;
use crate::enums::Engine;

/// The issue 22 attributes that apply only to static roles.
pub const STATIC_ONLY: [&str; 5] = [
    "rotation_schedule",
    "rotation_window",
    "skip_import_rotation",
    "create_login",
    "retain_previous_password",
];

/// A combination of the static-role attributes that a configuration gets wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticProblem {
    /// A static-only attribute set on a dynamic role.
    DynamicRole(&'static str),
    /// Both `rotation_period` and `rotation_schedule`.
    PeriodAndSchedule,
    /// `rotation_window` without `rotation_schedule`.
    WindowWithoutSchedule,
    /// `rotation_schedule` that is not five cron fields; the reason.
    NotCron(String),
    /// `skip_import_rotation = true` with `create_login = true`.
    SkipWithCreatedLogin,
}

impl StaticProblem {
    /// The attribute the diagnostic points at.
    pub fn attribute(&self) -> &'static str {
        match self {
            StaticProblem::DynamicRole(a) => a,
            StaticProblem::PeriodAndSchedule | StaticProblem::NotCron(_) => "rotation_schedule",
            StaticProblem::WindowWithoutSchedule => "rotation_window",
            StaticProblem::SkipWithCreatedLogin => "skip_import_rotation",
        }
    }

    /// Reports the diagnostic at [`StaticProblem::attribute`].
    pub fn report(&self, diags: &mut Diagnostics) {
        let (summary, detail) = match self {
            StaticProblem::DynamicRole(a) => (
                format!("{a} does not apply to dynamic roles"),
                format!("`{a}` applies only to `mode = \"static\"` (a dynamic role issues a new login per lease; nothing is rotated): remove it, or set `mode = \"static\"`."),
            ),
            StaticProblem::PeriodAndSchedule => (
                "rotation_period and rotation_schedule conflict".to_string(),
                "A static role rotates either every `rotation_period` seconds or on the cron `rotation_schedule`: set exactly one of rotation_period and rotation_schedule (neither: every 86400 seconds).".to_string(),
            ),
            StaticProblem::WindowWithoutSchedule => (
                "rotation_window needs rotation_schedule".to_string(),
                "`rotation_window` is the time after each scheduled rotation in which Vault may still rotate; without `rotation_schedule` there is none. Set `rotation_schedule`, or remove `rotation_window`.".to_string(),
            ),
            StaticProblem::NotCron(why) => (
                "rotation_schedule is not a cron schedule".to_string(),
                format!("{why}. Write five fields (minute hour day-of-month month day-of-week, in UTC), e.g. `0 3 * * *` for 03:00 every day or `0 3 * * 1` for Mondays."),
            ),
            StaticProblem::SkipWithCreatedLogin => (
                "skip_import_rotation conflicts with create_login".to_string(),
                "create_login makes a login without a password: Vault must rotate it when the role is written so that the app gets one. Remove skip_import_rotation (or create_login).".to_string(),
            ),
        };
        diags.error_at(AttributePath::attr(self.attribute()), summary, detail);
    }
}

/// Whether a configured flag counts as set: an unknown one does (it will be), `false`
/// does not (so a module may pass `false` through to a dynamic role).
fn set(v: &Known<bool>) -> bool {
    !matches!(v, Known::Null | Known::Value(false))
}

/// Why `text` is not a five-field cron schedule (`None`: it is one). Fields may hold
/// digits, `*`, `,`, `-`, `/` and month or weekday names; Vault checks values.
pub fn cron_problem(text: &str) -> Option<String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 5 {
        return Some(format!(
            "{text:?} has {} field(s); a schedule has five fields",
            fields.len()
        ));
    }
    let odd = fields.iter().find(|f| {
        !f.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?'))
    });
    odd.map(|f| format!("field {f:?} of {text:?} holds a character a cron field cannot have"))
}

/// The problems of a configuration's static-role attributes (`is_static`: the mode, when
/// known; `None` while unknown, when only the mode-free rules apply).
pub fn static_problems(config: &PlanView, is_static: Option<bool>) -> Vec<StaticProblem> {
    let attrs = [
        !config.rotation_schedule.is_null(),
        !config.rotation_window.is_null(),
        set(&config.skip_import_rotation),
        set(&config.create_login),
        set(&config.retain_previous_password),
    ];
    let mut out = Vec::new();
    if is_static == Some(false) {
        out.extend(
            STATIC_ONLY
                .iter()
                .zip(attrs)
                .filter(|(_, on)| *on)
                .map(|(a, _)| StaticProblem::DynamicRole(a)),
        );
        return out;
    }
    if !config.rotation_period.is_null() && !config.rotation_schedule.is_null() {
        out.push(StaticProblem::PeriodAndSchedule);
    }
    if !config.rotation_window.is_null() && config.rotation_schedule.is_null() {
        out.push(StaticProblem::WindowWithoutSchedule);
    }
    if let Some(why) = config
        .rotation_schedule
        .as_option()
        .and_then(|s| cron_problem(s))
    {
        out.push(StaticProblem::NotCron(why));
    }
    if config.create_login == Known::Value(true)
        && config.skip_import_rotation == Known::Value(true)
    {
        out.push(StaticProblem::SkipWithCreatedLogin);
    }
    out
}

/// The Vault parameters a static role's body uses beyond those every Vault has, with the
/// attribute each comes from (for [`unsupported_parameter`]).
pub fn newer_parameters(body: &serde_json::Value) -> Vec<&'static str> {
    [
        "rotation_schedule",
        "rotation_window",
        "skip_import_rotation",
    ]
    .into_iter()
    .filter(|p| !body[*p].is_null())
    .collect()
}

/// Refuses a role whose body uses a parameter the server's static-role endpoint does not
/// take (`accepted`: the endpoint's parameters, from Vault's own help; `None`: unknown,
/// Vault's answer to the write stands). OpenBao ignores unknown parameters, which would
/// leave a schedule in state that Vault never keeps.
pub fn unsupported_parameter(
    used: &[&'static str],
    accepted: Option<&[String]>,
    address: &str,
) -> Result<(), Error> {
    let Some(accepted) = accepted else {
        return Ok(());
    };
    let Some(missing) = used.iter().find(|p| !accepted.iter().any(|a| a == *p)) else {
        return Ok(());
    };
    let needs = if *missing == "skip_import_rotation" {
        "HashiCorp Vault 1.18 or later"
    } else {
        "HashiCorp Vault 1.15 or later"
    };
    Err(Error::at_attr(
        missing,
        format!("This Vault server does not support {missing}"),
        format!("The static roles of the Vault at {address} take only {}: `{missing}` needs {needs} (OpenBao 2.x has no rotation_schedule, rotation_window or skip_import_rotation). Use `rotation_period` there. Nothing was written to Vault.", accepted.join(", ")),
    ))
}

/// The MySQL rotation statements with `RETAIN CURRENT PASSWORD` (dual passwords): each
/// generated `ALTER USER ... IDENTIFIED BY '{{password}}'` keeps the previous password.
pub fn retaining_previous(rotation: Vec<String>) -> Vec<String> {
    rotation
        .into_iter()
        .map(|s| match s.strip_suffix(';') {
            Some(body) if body.starts_with("ALTER USER ") => {
                format!("{body} RETAIN CURRENT PASSWORD;")
            }
            _ => s,
        })
        .collect()
}

/// Whether a MySQL server whose `SELECT VERSION()` said `version` keeps a retained
/// password (`RETAIN CURRENT PASSWORD`: MySQL 8.0.14 and later; MariaDB never). Refused
/// with the reason otherwise.
pub fn dual_password_support(engine: Engine, version: Option<&str>) -> Result<(), Error> {
    let refuse = |why: String| {
        Err(Error::at_attr(
            "retain_previous_password",
            "retain_previous_password is not supported here",
            format!("{why}. Remove retain_previous_password: rotation then replaces the password at once. Nothing was written to Vault."),
        ))
    };
    if engine != Engine::Mysql {
        return refuse(format!(
            "retain_previous_password applies to MySQL connections; this one is {}",
            engine.as_str()
        ));
    }
    let Some(version) = version else {
        return refuse("the MySQL server's version could not be read".to_string());
    };
    if version.to_ascii_lowercase().contains("mariadb") {
        return refuse(format!("The server is MariaDB ({version}), which has no RETAIN CURRENT PASSWORD: an account holds one password"));
    }
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    if v < (8, 0, 14) {
        return refuse(format!(
            "RETAIN CURRENT PASSWORD needs MySQL 8.0.14 or later; the server is {version}"
        ));
    }
    Ok(())
}

/// What a create with `create_login` does about the login `username` before anything is
/// made: `Ok` to make it; refused when it exists (never adopted: its password, grants and
/// objects are someone's) or is one of the platform's logins.
pub fn login_to_create(
    username: &str,
    exists: bool,
    forbidden: &[(String, String)],
) -> Result<(), Error> {
    if exists {
        return Err(Error::at_attr(
            "username",
            format!("Login {username:?} already exists"),
            format!("create_login makes a new login and never adopts an existing one (its password, grants and objects belong to someone). Pick a login name that does not exist, or remove create_login to have Vault rotate {username:?} (a plain tenant login only). Nothing was made and nothing was written to Vault."),
        ));
    }
    if let Some((_, why)) = forbidden.iter().find(|(n, _)| n == username) {
        return Err(Error::at_attr(
            "username",
            "Static login refused",
            format!("{username:?} is {why}: a static role never rotates it. Nothing was made and nothing was written to Vault."),
        ));
    }
    Ok(())
}

/// The comment that marks a login made by `create_login` for Vault role `<mount>/<name>`.
pub fn login_marker(mount: &str, name: &str) -> String {
    format!("terraform-provider-dbaas: static login of Vault role {mount}/{name}")
}

/// What destroy does about the login of a role with `create_login`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAtDestroy {
    /// Gone already.
    Gone,
    /// Carries this role's marker: end its sessions and drop it.
    Drop,
    /// Someone else's now (no marker, or another role's): left in place, with a warning.
    Keep(String),
}

/// [`LoginAtDestroy`] for a login whose comment is `comment` (`None`: no such login).
pub fn login_at_destroy(comment: Option<Option<&str>>, marker: &str) -> LoginAtDestroy {
    match comment {
        None => LoginAtDestroy::Gone,
        Some(Some(c)) if c == marker => LoginAtDestroy::Drop,
        Some(other) => LoginAtDestroy::Keep(format!(
            "the login does not carry this role's marker (its comment is {:?}), so it was not made here",
            other.unwrap_or("")
        )),
    }
}
