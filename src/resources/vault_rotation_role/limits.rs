//! Issue 22: `connection_limit`, the limit every login a dynamic role issues carries.
//! Pure: where it is refused (validate, apply) and how it enters the generated
//! statements (`sql::with_connection_limit`). Table-tested below.

use tfplugin::{AttributePath, Diagnostics, Error, Known, Number};

use super::PlanView;
use crate::enums::Engine;
use crate::sql::{self, LimitDialect, VaultStatements};

/// The attribute.
pub(super) const ATTR: &str = "connection_limit";

/// A configuration's `connection_limit`, when set and known.
fn configured(view: &PlanView) -> Option<&Number> {
    view.connection_limit.as_option()
}

/// Refusals the configuration alone decides: on a static role (the login is not Vault's
/// to create, it keeps its own limit) and beside custom `creation_statements` (the
/// provider does not edit statements it did not write).
pub(super) fn check(view: &PlanView, diags: &mut Diagnostics) {
    if configured(view).is_none() {
        return;
    }
    let at = AttributePath::attr(ATTR);
    if view.is_static() {
        diags.error_at(
            at.clone(),
            "connection_limit only applies to dynamic roles",
            "connection_limit is written into the statement that creates each login Vault issues; a static role rotates an existing login, which keeps its own limit (ALTER ROLE ... CONNECTION LIMIT). Remove connection_limit or use mode = \"dynamic\".",
        );
    }
    if !view.creation_statements.is_null() {
        diags.error_at(
            at,
            "connection_limit needs the generated creation statements",
            "With custom creation_statements the provider does not edit them: write the limit into them yourself (PostgreSQL `CONNECTION LIMIT n`, MySQL `WITH MAX_USER_CONNECTIONS n`) and remove connection_limit, or remove creation_statements.",
        );
    }
}

/// The generated statements of a role on `engine` with `limit` written in; Redis has no
/// per-user connection limit, so a limit there is refused (before anything is written).
pub(super) fn limited(
    engine: Engine,
    generated: VaultStatements,
    limit: Option<i64>,
) -> Result<VaultStatements, Error> {
    let Some(n) = limit else {
        return Ok(generated);
    };
    let n = u32::try_from(n).map_err(|_| {
        Error::at_attr(
            ATTR,
            "connection_limit out of range",
            format!("{n} is not a connection count; use 1 to 100000."),
        )
    })?;
    let dialect = match engine {
        Engine::Postgres => LimitDialect::Postgres,
        Engine::Mysql => LimitDialect::Mysql,
        Engine::Redis => return Err(redis_refusal()),
    };
    Ok(sql::with_connection_limit(dialect, generated, n))
}

/// The refusal of a limit on a Redis role.
pub(super) fn redis_refusal() -> Error {
    Error::at_attr(
        ATTR,
        "Redis has no per-user connection limit",
        "Redis ACL users carry no connection limit (only the server-wide maxclients), so Vault cannot give its Redis logins one. Remove connection_limit from this role. Nothing was written to Vault.",
    )
}

/// The limit recovered from a role's creation statements (import).
pub(super) fn imported(creation: &serde_json::Value) -> Option<i64> {
    let statements: Vec<&str> = creation
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    sql::connection_limit_of(&statements).map(i64::from)
}

/// The limit a plan generates statements with (unknown or null: none).
pub(super) fn planned(view: &PlanView) -> Option<i64> {
    configured(view).and_then(|n| n.as_i64())
}

/// Whether a plan's limit is still unknown (then the statements are too).
pub(super) fn unknown(view: &PlanView) -> bool {
    matches!(view.connection_limit, Known::Unknown)
}

#[cfg(test)]
mod tests {
    use tfplugin::Value;

    use super::*;
    use crate::resources::common::test_object;
    use crate::resources::vault_role_rules::generated_statements;
    use crate::sql::Access;

    fn view(pairs: &[(&str, Value)]) -> PlanView {
        match test_object(pairs).to_model::<PlanView>() {
            Ok(v) => v,
            Err(e) => panic!("the view decodes: {e:?}"),
        }
    }

    #[test]
    fn the_configuration_alone_refuses_a_limit_where_it_cannot_apply() {
        let limit = ("connection_limit", Value::int(5));
        let custom = (
            "creation_statements",
            Value::from_strings(["CREATE ROLE \"{{name}}\" LOGIN"]),
        );
        for (situation, pairs, refused) in [
            (
                "dynamic role with generated statements",
                vec![limit.clone()],
                None,
            ),
            (
                "no limit on a static role",
                vec![("mode", Value::string("static"))],
                None,
            ),
            (
                "no limit beside custom statements",
                vec![custom.clone()],
                None,
            ),
            (
                "static role",
                vec![limit.clone(), ("mode", Value::string("static"))],
                Some("only applies to dynamic roles"),
            ),
            (
                "custom creation statements",
                vec![limit.clone(), custom.clone()],
                Some("needs the generated creation statements"),
            ),
        ] {
            let mut diags = Diagnostics::default();
            check(&view(&pairs), &mut diags);
            let got: Vec<_> = diags.iter().collect();
            match refused {
                None => assert!(got.is_empty(), "{situation}: {got:?}"),
                Some(says) => {
                    assert_eq!(got.len(), 1, "{situation}: {got:?}");
                    assert!(
                        got[0].summary.contains(says),
                        "{situation}: {}",
                        got[0].summary
                    );
                    assert_eq!(
                        got[0].attribute,
                        Some(AttributePath::attr(ATTR)),
                        "{situation}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_limit_is_written_per_engine_and_refused_on_redis() {
        let pg = generated_statements(Engine::Postgres, "shop", None, Access::ReadWrite)
            .unwrap_or_default();
        let my = generated_statements(Engine::Mysql, "shop", None, Access::ReadWrite)
            .unwrap_or_default();
        let redis = generated_statements(Engine::Redis, "shop", None, Access::ReadWrite)
            .unwrap_or_default();
        for (situation, engine, statements, limit, has) in [
            (
                "postgres, no limit",
                Engine::Postgres,
                pg.clone(),
                None,
                None,
            ),
            (
                "postgres",
                Engine::Postgres,
                pg.clone(),
                Some(7),
                Some("CONNECTION LIMIT 7 IN ROLE"),
            ),
            (
                "mysql",
                Engine::Mysql,
                my.clone(),
                Some(2),
                Some("WITH MAX_USER_CONNECTIONS 2;"),
            ),
            ("redis, no limit", Engine::Redis, redis.clone(), None, None),
        ] {
            let got = limited(engine, statements.clone(), limit)
                .unwrap_or_else(|e| panic!("{situation}: {e:?}"));
            match has {
                None => assert_eq!(got, statements, "{situation}"),
                Some(text) => assert!(
                    got.creation[0].contains(text),
                    "{situation}: {:?}",
                    got.creation
                ),
            }
        }
        let refused = limited(Engine::Redis, redis, Some(2)).expect_err("redis refuses a limit");
        let d = refused.diagnostics();
        assert!(d[0]
            .summary
            .contains("Redis has no per-user connection limit"));
        assert_eq!(d[0].attribute, Some(AttributePath::attr(ATTR)));
    }

    #[test]
    fn import_reads_the_limit_from_the_creation_statements() {
        let pg =
            generated_statements(Engine::Postgres, "shop", None, Access::Owner).unwrap_or_default();
        let limited_pg = limited(Engine::Postgres, pg.clone(), Some(9)).unwrap_or_default();
        for (situation, creation, want) in [
            ("with a limit", limited_pg.creation, Some(9)),
            ("without", pg.creation, None),
        ] {
            assert_eq!(imported(&serde_json::json!(creation)), want, "{situation}");
        }
        assert_eq!(imported(&serde_json::json!(null)), None);
    }
}
