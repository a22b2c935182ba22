//! Helpers every resource file shares: turning backend errors into diagnostics and
//! the identifier rules of the spec.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tfplugin::{AttributePath, Diagnostics, Plan, Validator, Value};

use crate::backends::{BackendError, Backends};
pub use crate::domain::checks::{
    check_no_nul, check_vault_mount, check_vault_name, is_pg_identifier,
    parse_connection_import_id, parse_role_import_id, RoleImportId,
};

/// What every operation of this provider's types gets: [`tfplugin::Ctx`] with the
/// configured [`Backends`].
pub type Ctx<'a> = tfplugin::Ctx<'a, Backends>;

/// Records a backend failure as an error diagnostic. The error text names the host,
/// port and provider block; it never carries a secret.
pub fn backend_error(
    diags: &mut Diagnostics,
    summary: impl Into<String>,
    err: impl std::fmt::Display,
) {
    diags.error(summary, err.to_string());
}

/// A backend getter's failure as an error whose summary says what failed (see
/// [`BackendError::summary`]): `ctx.client.postgres().await.or_reach("PostgreSQL")?`.
pub trait OrReach<T> {
    /// The error, summarised for the backend `what`, with its text as the detail.
    fn or_reach(self, what: &str) -> Result<T, tfplugin::Error>;
}

impl<T> OrReach<T> for Result<T, BackendError> {
    fn or_reach(self, what: &str) -> Result<T, tfplugin::Error> {
        self.map_err(|e| tfplugin::Error::new(e.summary(what), e.to_string()))
    }
}

/// Records a failure that is about one attribute.
pub fn attribute_error(
    diags: &mut Diagnostics,
    attr: &str,
    summary: impl Into<String>,
    detail: impl Into<String>,
) {
    diags.error_at(AttributePath::attr(attr), summary, detail);
}

/// Runs a backend getter, recording its error; `None` means the error is recorded.
pub fn need<T>(diags: &mut Diagnostics, what: &str, r: Result<T, BackendError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            backend_error(diags, e.summary(what), e);
            None
        }
    }
}

/// The write-only password's rules, for every type that takes `password` or
/// `password_wo` (+ `password_wo_version`): not both passwords (on `password_wo`), and no
/// `password_wo_version` without `password_wo` (on `password_wo_version`).
pub fn check_password_settings<A, B, C>(
    diags: &mut Diagnostics,
    password: &tfplugin::Known<A>,
    password_wo: &tfplugin::Known<B>,
    password_wo_version: &tfplugin::Known<C>,
) {
    if !password.is_null() && !password_wo.is_null() {
        diags.error_at(
            AttributePath::attr("password_wo"),
            "Conflicting password settings",
            "Set either `password` (stored in state, sensitive) or `password_wo` (write-only, Terraform 1.11+), not both.",
        );
    }
    if !password_wo_version.is_null() && password_wo.is_null() {
        diags.error_at(
            AttributePath::attr("password_wo_version"),
            "password_wo_version without password_wo",
            "`password_wo_version` only says when to re-apply `password_wo`; set `password_wo` too, or remove it.",
        );
    }
}

pub use tfplugin::typed::{decode, encode};

/// The configuration and the plan of `plan` read as views (see [`decode`]); `None` when
/// one does not fit (recorded).
pub fn plan_views<V: DeserializeOwned>(plan: &mut Plan<'_>) -> Option<(V, V)> {
    let config = decode(&mut plan.diags, plan.config);
    let planned = decode(&mut plan.diags, &plan.planned);
    config.zip(planned)
}

/// [`plan_views`] with the prior state first; `None` on create (no prior state) too.
pub fn plan_views_with_prior<V: DeserializeOwned>(plan: &mut Plan<'_>) -> Option<(V, V, V)> {
    let prior = match plan.prior {
        Value::Null => None,
        prior => decode(&mut plan.diags, prior),
    }?;
    let (config, planned) = plan_views(plan)?;
    Some((prior, config, planned))
}

/// Overwrites the attributes of `target` that the partial model `part` has.
pub fn merge<M: Serialize>(diags: &mut Diagnostics, target: &mut Value, part: &M) {
    if let Err(e) = target.merge_model(part) {
        diags.error(
            "Internal error: the resource model cannot be encoded",
            format!("{e}. This is a bug in the provider; please report it."),
        );
    }
}

/// A planned value derived from another one (a default made from the name, say): known
/// once `from` is, unknown until then (and for a null `from`).
pub fn derived<T, U>(from: &tfplugin::Known<T>, make: impl FnOnce(&T) -> U) -> tfplugin::Known<U> {
    from.as_option().map_or(tfplugin::Known::Unknown, |v| {
        tfplugin::Known::Value(make(v))
    })
}

/// Fills `name` of an imported state with the import id; read does the rest.
pub fn import_name(diags: &mut Diagnostics, state: &mut Value, name: &str) {
    #[derive(Serialize)]
    struct NamePart<'a> {
        name: &'a str,
    }
    merge(diags, state, &NamePart { name });
}

/// The refusal of an import id, one sentence: `why` (what is wrong and how to write it)
/// and a whole `terraform import` command for `type_name` with the id `example`.
pub fn import_id_refusal(type_name: &str, why: &str, example: &str) -> (String, String) {
    (
        format!("Invalid import id for {type_name}"),
        format!("{why} (e.g. `terraform import {type_name}.this {example}`)."),
    )
}

/// Records [`import_id_refusal`] as an error.
pub fn refuse_import_id(diags: &mut Diagnostics, type_name: &str, why: &str, example: &str) {
    let (summary, detail) = import_id_refusal(type_name, why, example);
    diags.error(summary, detail);
}

/// A state upgrader's step for an attribute that was a list and becomes a set: its
/// duplicates dropped, the first of each kept in order (Terraform orders sets itself). A
/// null or missing attribute stays as it is; anything but a list is refused.
pub fn list_to_set(state: &mut serde_json::Value, attr: &str) -> Result<(), String> {
    let obj = state
        .as_object_mut()
        .ok_or("the stored state is not an object")?;
    match obj.get_mut(attr) {
        None | Some(serde_json::Value::Null) => Ok(()),
        Some(serde_json::Value::Array(items)) => {
            let mut seen = Vec::with_capacity(items.len());
            items.retain(|v| {
                let first = !seen.contains(v);
                if first {
                    seen.push(v.clone());
                }
                first
            });
            Ok(())
        }
        Some(other) => Err(format!("`{attr}` is stored as {other}, not as a list")),
    }
}

/// Reads a resource's private state (JSON); empty bytes (a release that kept none) or
/// unreadable ones give the default (so a field a release adds wants `#[serde(default)]`,
/// or the older state reads as empty).
pub fn read_private<P: DeserializeOwned + Default>(bytes: &[u8]) -> P {
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// The bytes Terraform keeps as a resource's private state (see [`read_private`]).
pub fn write_private<P: Serialize>(private: &P) -> Vec<u8> {
    serde_json::to_vec(private).unwrap_or_default()
}

/// An object value from attribute pairs (unit tests build plans and states with it).
#[cfg(test)]
pub fn test_object(pairs: &[(&str, Value)]) -> Value {
    Value::object(pairs)
}

/// A plan as Terraform hands it to `modify_plan` and the later planning hooks (unit tests).
#[cfg(test)]
pub fn test_plan<'a>(prior: &'a Value, config: &'a Value, planned: Value) -> Plan<'a> {
    Plan {
        prior,
        config,
        planned,
        requires_replace: vec![],
        diags: Default::default(),
        info: Default::default(),
    }
}

/// Gives each word enum of [`crate::enums`] its schema validator, `X::validator()`,
/// here on the schema side: the enums themselves know nothing of Terraform.
macro_rules! word_validators {
    ($($word:ident),+) => {
        $(impl crate::enums::$word {
            /// A schema validator that accepts exactly these values.
            pub fn validator() -> Validator {
                Validator::one_of(Self::NAMES)
            }
        })+
    };
}

word_validators!(Engine, Access, RoleMode, SslMode, MysqlTls, PgBouncerVerb);

/// Validator for a lower-case PostgreSQL name of at most `max` bytes, not in `reserved`.
pub fn pg_name_validator(max: usize, reserved: &'static [&'static str]) -> Validator {
    Validator::new(
        if reserved.is_empty() {
            format!("lower-case letters, digits and `_`, starting with a letter or `_`, at most {max} characters; not `pg_*`")
        } else {
            format!("lower-case letters, digits and `_`, starting with a letter or `_`, at most {max} characters; not {} or `pg_*`", reserved.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "))
        },
        move |v| {
            let s = v.as_str().unwrap_or_default();
            if s.is_empty() {
                return Err("must not be empty".into());
            }
            if !is_pg_identifier(s, usize::MAX) {
                return Err(format!("{s:?} may contain only lower-case letters a-z, digits and `_`, and must start with a letter or `_` (so it never needs quoting in an app's connection string)"));
            }
            if s.len() > max {
                return Err(format!(
                    "{s:?} is {} characters long; at most {max} are allowed",
                    s.len()
                ));
            }
            if reserved.contains(&s) || s.starts_with("pg_") {
                return Err(format!("{s:?} is reserved by PostgreSQL"));
            }
            Ok(())
        },
    )
}

/// Validator for a string that becomes an SQL identifier or literal: no NUL byte.
pub fn no_nul_validator() -> Validator {
    Validator::new("no NUL byte", |v| match v.as_str() {
        Some(s) => check_no_nul(s),
        None => Ok(()),
    })
}

/// Validator for a Vault mount path (see [`check_vault_mount`]).
pub fn vault_mount_validator() -> Validator {
    Validator::new(
        "`/`-separated segments of letters, digits, `-`, `_` and `.`, none empty, `.` or holding `..`; no `/` at either end",
        |v| match v.as_str() {
            Some(s) => check_vault_mount(s),
            None => Ok(()),
        },
    )
}

/// Validator for a Vault connection or role name (see [`check_vault_name`]).
pub fn vault_name_validator() -> Validator {
    Validator::new("1-128 letters, digits, `-` or `_`", |v| match v.as_str() {
        Some(s) => check_vault_name(s),
        None => Ok(()),
    })
}

/// Asserts that `check` accepts every `ok` and refuses every `bad` (unit tests of
/// validators).
#[cfg(test)]
pub fn assert_verdicts<E>(check: impl Fn(&str) -> Result<(), E>, ok: &[&str], bad: &[&str]) {
    for s in ok {
        assert!(check(s).is_ok(), "{s:?} is accepted");
    }
    for s in bad {
        assert!(check(s).is_err(), "{s:?} is refused");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_mounts_and_names() {
        assert_verdicts(
            check_vault_mount,
            &["database", "team/database", "kv.v2/db-1_x", "A/b/C"],
            &[
                "database%2F..%2Fsys",
                "database%2fsys",
                "%2e%2e/sys",
                "a b/c%d",
                "x.y/..z",
                "database?x=1",
                "database#frag",
                "data\\base",
                "database/*",
                "database/+",
                " database",
                "database\u{7f}",
                "base\u{2028}x",
                "dätabase",
                "",
                "/database",
                "database/",
                "a//b",
                "..",
                "a/../b",
                "vmsafe/../sys/policy",
                "./a",
                "a/.",
                "data\tbase",
                "a\0b",
            ],
        );
        assert!(check_vault_mount("a\0b").unwrap_err().contains("NUL"));
        assert_verdicts(
            check_vault_name,
            &["postgres", "pg-app_1", &"a".repeat(128)],
            &[
                "",
                "..",
                "a/b",
                "../sys/policy/x",
                "a/../../b",
                "a.b",
                "a\0",
                &"a".repeat(129),
            ],
        );
        assert!(check_vault_name("../x").unwrap_err().contains("`..`"));
        for bad in [
            "pg",
            "database/",
            "/database/pg",
            "x/../../sys/policy/p",
            "database/pg/..",
            "a//b/c",
        ] {
            assert!(parse_role_import_id(bad).is_err(), "{bad:?}");
            assert!(parse_connection_import_id(bad).is_err(), "{bad:?}");
        }
    }

    /// A table row of import ids: situation, id, and what it names or the words its
    /// refusal must hold.
    type IdRow<'a, T> = (&'a str, &'a str, Result<T, &'a [&'a str]>);

    /// Checks each row's id against `parse`: the parsed value, or a refusal holding
    /// every listed word.
    fn check_id_rows<'a, T: PartialEq + std::fmt::Debug>(
        rows: &[IdRow<'a, T>],
        parse: impl Fn(&'a str) -> Result<T, String>,
    ) {
        for (situation, id, want) in rows {
            match (parse(id), want) {
                (Ok(got), Ok(w)) => assert_eq!(&got, w, "{situation}"),
                (Err(e), Err(words)) => {
                    for w in *words {
                        assert!(e.contains(w), "{situation}: {e:?} lacks {w:?}");
                    }
                }
                (got, want) => panic!("{situation}: {id:?} gave {got:?}, expected {want:?}"),
            }
        }
    }

    /// One row per way a user writes a rotation role's import id: what it names, or the
    /// words the refusal must hold.
    #[test]
    fn role_import_ids() {
        let role = |mount, name, static_role| {
            Ok(RoleImportId {
                mount,
                name,
                static_role,
            })
        };
        let rows: &[IdRow<RoleImportId>] = &[
            (
                "mount_and_name",
                "database/app",
                role("database", "app", None),
            ),
            (
                "nested_mount_and_name",
                "team/db/app",
                role("team/db", "app", None),
            ),
            (
                "vault_api_dynamic_path",
                "database/roles/app",
                role("database", "app", Some(false)),
            ),
            (
                "vault_api_static_path",
                "database/static-roles/app",
                role("database", "app", Some(true)),
            ),
            (
                "nested_mount_api_path",
                "team/db/roles/app",
                role("team/db", "app", Some(false)),
            ),
            (
                "mount_ending_in_roles_api_path",
                "team/roles/roles/app",
                role("team/roles", "app", Some(false)),
            ),
            (
                "mount_named_roles_alone",
                "roles/app",
                role("roles", "app", None),
            ),
            (
                "no_mount",
                "app",
                Err(&["\"app\" has no mount", "<mount>/roles/<name>"]),
            ),
            (
                "connection_path",
                "database/config/pg",
                Err(&[
                    "a connection's path",
                    "`database/config/roles/pg`",
                    "`database/roles/pg`",
                ]),
            ),
            (
                "credentials_path",
                "database/creds/app",
                Err(&["a credentials path", "`database/roles/app`"]),
            ),
            (
                "static_credentials_path",
                "database/static-creds/app",
                Err(&["a credentials path"]),
            ),
            (
                "traversal_in_mount",
                "x/../../sys/policy/roles/p",
                Err(&["the mount in", "`..`"]),
            ),
            (
                "empty_name",
                "database/roles/",
                Err(&["the name in", "must not be empty"]),
            ),
        ];
        check_id_rows(rows, parse_role_import_id);
    }

    /// One row per way a user writes a connection's import id.
    #[test]
    fn connection_import_ids() {
        let rows: &[IdRow<(&str, &str)>] = &[
            ("mount_and_name", "database/pg", Ok(("database", "pg"))),
            ("nested_mount_and_name", "team/db/pg", Ok(("team/db", "pg"))),
            (
                "vault_api_path",
                "database/config/pg",
                Ok(("database", "pg")),
            ),
            (
                "mount_ending_in_config_api_path",
                "team/config/config/pg",
                Ok(("team/config", "pg")),
            ),
            (
                "mount_named_config_alone",
                "config/pg",
                Ok(("config", "pg")),
            ),
            (
                "no_mount",
                "pg",
                Err(&["\"pg\" has no mount", "<mount>/config/<name>"]),
            ),
            (
                "role_path",
                "database/roles/x",
                Err(&[
                    "a role's path",
                    "`database/roles/config/x`",
                    "`database/config/x`",
                ]),
            ),
            (
                "static_role_path",
                "database/static-roles/x",
                Err(&["a role's path"]),
            ),
            (
                "credentials_path",
                "database/creds/x",
                Err(&["a credentials path"]),
            ),
            ("bad_name", "database/config/a.b", Err(&["the name in"])),
        ];
        check_id_rows(rows, parse_connection_import_id);
    }

    /// One row per stored shape a list-to-set upgrade meets.
    #[test]
    fn list_to_set_upgrades() {
        use serde_json::json;
        let rows: &[(&str, serde_json::Value, Result<serde_json::Value, &str>)] = &[
            (
                "duplicates_dropped_first_kept",
                json!({"l": ["b", "a", "b"]}),
                Ok(json!({"l": ["b", "a"]})),
            ),
            (
                "no_duplicates_unchanged",
                json!({"l": ["b", "a"], "x": 1}),
                Ok(json!({"l": ["b", "a"], "x": 1})),
            ),
            (
                "empty_list_stays_empty",
                json!({"l": []}),
                Ok(json!({"l": []})),
            ),
            (
                "null_stays_null",
                json!({"l": null}),
                Ok(json!({"l": null})),
            ),
            (
                "missing_stays_missing",
                json!({"x": 1}),
                Ok(json!({"x": 1})),
            ),
            (
                "not_a_list_refused",
                json!({"l": "a"}),
                Err("not as a list"),
            ),
            ("not_an_object_refused", json!(["a"]), Err("not an object")),
        ];
        for (situation, before, want) in rows {
            let mut state = before.clone();
            match (list_to_set(&mut state, "l"), want) {
                (Ok(()), Ok(w)) => assert_eq!(&state, w, "{situation}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{situation}: {e}"),
                (got, _) => panic!("{situation}: {got:?}"),
            }
        }
    }

    #[test]
    fn import_refusals_are_one_sentence_with_type_and_example() {
        let (summary, detail) = import_id_refusal(
            "dbaas_x",
            "\"a\" has no mount: write `<mount>/<name>`",
            "database/a",
        );
        assert_eq!(summary, "Invalid import id for dbaas_x");
        assert_eq!(
            detail,
            "\"a\" has no mount: write `<mount>/<name>` (e.g. `terraform import dbaas_x.this database/a`)."
        );
        let sentences = detail.replace("e.g. ", "").matches(". ").count() + 1;
        assert_eq!(sentences, 1, "one sentence: {detail}");
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert!(check_no_nul("app").is_ok());
        assert!(check_no_nul("a\0b").unwrap_err().contains("NUL"));
        assert!(no_nul_validator().check(&Value::string("a\0")).is_err());
        assert!(no_nul_validator().check(&Value::Null).is_ok());
    }

    #[test]
    fn pg_names() {
        let v = pg_name_validator(53, &["postgres", "template0", "template1"]);
        for ok in ["app", "_x", "a1_b2", &"a".repeat(53)] {
            assert!(v.check(&Value::string(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "App",
            "1app",
            "a-b",
            "a;drop",
            "a\"b",
            "postgres",
            "template1",
            "pg_app",
            &"a".repeat(54),
            "é",
        ] {
            assert!(v.check(&Value::string(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn word_validators_accept_exactly_the_words() {
        use crate::enums::{Access, Engine, MysqlTls, PgBouncerVerb, RoleMode, SslMode};
        let cases: [(&str, Validator, &[&str], &[&str]); 6] = [
            (
                "engine",
                Engine::validator(),
                Engine::NAMES,
                &["postgresql", "Postgres"],
            ),
            ("access", Access::validator(), Access::NAMES, &["admin"]),
            (
                "mode",
                RoleMode::validator(),
                RoleMode::NAMES,
                &["rotating"],
            ),
            (
                "sslmode",
                SslMode::validator(),
                SslMode::NAMES,
                &["verify_full", ""],
            ),
            (
                "tls",
                MysqlTls::validator(),
                MysqlTls::NAMES,
                &["verify-ca"],
            ),
            (
                "verb",
                PgBouncerVerb::validator(),
                PgBouncerVerb::NAMES,
                &["kill", "SHUTDOWN"],
            ),
        ];
        for (attr, v, ok, bad) in cases {
            for w in ok {
                assert!(v.check(&Value::string(*w)).is_ok(), "{attr}: {w:?}");
            }
            for w in bad {
                assert!(v.check(&Value::string(*w)).is_err(), "{attr}: {w:?}");
            }
        }
    }
}
