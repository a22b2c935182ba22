//! The framework's part of planning and of every state returned to Terraform: defaults,
//! unknowns for computed values, `use_state_for_unknown`, `requires_replace`, write-only
//! nulling and the write-only capability check. Pure functions of schema and values.

use crate::diagnostics::{AttributePath, Diagnostics};
use crate::schema::Schema;
use crate::value::Value;
use crate::ClientInfo;

/// Sets every write-only attribute to null: they never enter plan or state.
pub(crate) fn null_write_only(schema: &Schema, v: &mut Value) {
    if v.is_null() {
        return;
    }
    for a in schema.block.attributes.iter().filter(|a| a.write_only) {
        v.set(&a.name, Value::Null);
    }
}

/// Rejects write-only attributes set in configuration when the client cannot keep them
/// out of state (Terraform before 1.11 sends no such capability).
pub(crate) fn check_write_only(
    schema: &Schema,
    config: &Value,
    info: &ClientInfo,
    diags: &mut Diagnostics,
) {
    if info.write_only_attributes_allowed {
        return;
    }
    for a in schema.block.attributes.iter().filter(|a| a.write_only) {
        if !config.get(&a.name).is_null() {
            // By convention `x_wo` stands beside a stored `x`: name it as the alternative.
            let alternative = a
                .name
                .strip_suffix("_wo")
                .filter(|base| schema.block.attribute(base).is_some())
                .map(|base| format!("use `{base}` instead (stored in state, marked sensitive)"))
                .unwrap_or_else(|| "remove it".to_string());
            diags.error_at(
                AttributePath::attr(&a.name),
                format!("{} needs Terraform 1.11 or later", a.name),
                format!(
                    "`{}` is a write-only argument: it is never stored in plan or state, which needs Terraform 1.11 or later, and this Terraform cannot keep it out of state. Upgrade Terraform, or {alternative}.",
                    a.name
                ),
            );
        }
    }
}

/// The framework's part of planning: defaults, unknowns for computed values, prior
/// values kept where the schema says so, write-only values nulled, and the paths whose
/// change forces a replacement.
pub fn plan_attributes(
    schema: &Schema,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> (Value, Vec<AttributePath>) {
    let mut planned = proposed.clone();
    if proposed.is_null() {
        return (planned, Vec::new());
    }
    let creating = prior.is_null();
    for a in &schema.block.attributes {
        let cfg = config.get(&a.name);
        if a.write_only {
            planned.set(&a.name, Value::Null);
        } else if a.computed && cfg.is_null() {
            if let Some(d) = &a.default {
                planned.set(&a.name, d.clone());
            } else if creating {
                planned.set(&a.name, Value::unknown());
            } else if a.use_state_for_unknown {
                planned.set(&a.name, prior.get(&a.name).clone());
            }
        }
    }
    if creating {
        return (planned, Vec::new());
    }
    // On update, a computed value the configuration does not set may change as a
    // consequence of the other changes, unless it is declared stable. `timeouts` is no
    // such change: nothing on the server follows from it.
    let changed = schema
        .block
        .attributes
        .iter()
        .any(|a| !a.write_only && planned.get(&a.name) != prior.get(&a.name))
        || schema
            .block
            .blocks
            .iter()
            .filter(|b| b.name != crate::timeouts::TIMEOUTS)
            .any(|b| planned.get(&b.name) != prior.get(&b.name));
    if changed {
        for a in &schema.block.attributes {
            if a.computed
                && a.default.is_none()
                && !a.use_state_for_unknown
                && config.get(&a.name).is_null()
                && !a.write_only
            {
                planned.set(&a.name, Value::unknown());
            }
        }
    }
    let replace = schema
        .block
        .attributes
        .iter()
        .filter(|a| a.requires_replace && planned.get(&a.name) != prior.get(&a.name))
        .map(|a| AttributePath::attr(&a.name))
        .collect();
    (planned, replace)
}

/// The state an import starts from: every attribute at its default (or null), and `id`
/// set to the import id when the schema has one.
pub(crate) fn import_state(schema: &Schema, id: &str) -> Value {
    let mut state = Value::Map(
        schema
            .block
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.default.clone().unwrap_or(Value::Null)))
            .collect(),
    );
    if schema.block.attribute("id").is_some() {
        state.set("id", Value::string(id));
    }
    state
}

/// An ephemeral resource's result while its configuration is not wholly known
/// (planning): the configuration, with every computed attribute it leaves null unknown.
pub(crate) fn unknown_ephemeral_result(schema: &Schema, config: &Value) -> Value {
    let mut result = config.clone();
    for a in schema
        .block
        .attributes
        .iter()
        .filter(|a| a.computed && config.get(&a.name).is_null())
    {
        result.set(&a.name, Value::unknown());
    }
    result
}

/// Checks a state the provider returned before it goes back to Terraform.
pub(crate) fn finish_state(schema: &Schema, v: &mut Value, diags: &mut Diagnostics) {
    null_write_only(schema, v);
    if !v.is_wholly_known() && diags.has_errors() && !v.is_null() {
        // A partial state returned with an error (an object that may exist): keep it,
        // so Terraform records the instance (tainted after a create) instead of losing
        // track of it; values never learned are null.
        *v = std::mem::take(v).unknown_as_null();
    } else if !v.is_wholly_known() {
        diags.error(
            "Provider returned an unknown value after apply",
            "This is a bug in the provider: every value must be known once apply completes.",
        );
        *v = Value::Null;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, Block};

    fn schema() -> Schema {
        Schema::new(
            Block::new("t")
                .attr(Attribute::string("id").computed().use_state_for_unknown())
                .attr(Attribute::string("name").required().requires_replace())
                .attr(Attribute::number("limit").default(Value::int(-1)))
                .attr(Attribute::string("host").computed())
                .attr(Attribute::string("secret_wo").optional().write_only()),
        )
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs)
    }

    #[test]
    fn a_partial_state_with_an_error_is_kept_with_unknowns_nulled() {
        let s = schema();
        let partial = obj(&[
            ("name", Value::string("a")),
            ("id", Value::string("a")),
            ("host", Value::unknown()),
        ]);
        let mut v = partial.clone();
        let mut diags = Diagnostics::default();
        diags.error("connection lost", "after the write");
        finish_state(&s, &mut v, &mut diags);
        assert_eq!(
            v.get("name").as_str(),
            Some("a"),
            "the partial state is kept"
        );
        assert!(v.get("host").is_null() && v.is_wholly_known());
        assert_eq!(diags.iter().count(), 1, "no extra diagnostic");

        // Without an error, an unknown is the provider's bug.
        let mut v = partial;
        let mut diags = Diagnostics::default();
        finish_state(&s, &mut v, &mut diags);
        assert!(v.is_null() && diags.has_errors());
    }

    #[test]
    fn create_plans_defaults_and_unknown_computed() {
        let s = schema();
        let config = obj(&[
            ("name", Value::string("a")),
            ("secret_wo", Value::string("s")),
        ]);
        let (planned, replace) = plan_attributes(&s, &Value::Null, &config, &config);
        assert_eq!(planned.get("limit"), &Value::int(-1));
        assert!(planned.get("id").is_unknown());
        assert!(planned.get("host").is_unknown());
        assert!(
            planned.get("secret_wo").is_null(),
            "write-only values never enter the plan"
        );
        assert!(replace.is_empty());
    }

    #[test]
    fn unchanged_update_keeps_prior_and_name_change_replaces() {
        let s = schema();
        let prior = obj(&[
            ("id", Value::string("a")),
            ("name", Value::string("a")),
            ("limit", Value::int(-1)),
            ("host", Value::string("h")),
            ("secret_wo", Value::Null),
        ]);
        let config = obj(&[("name", Value::string("a"))]);
        let proposed = obj(&[
            ("id", Value::string("a")),
            ("name", Value::string("a")),
            ("limit", Value::int(-1)),
            ("host", Value::string("h")),
        ]);
        let (planned, replace) = plan_attributes(&s, &prior, &proposed, &config);
        assert_eq!(planned, prior);
        assert!(replace.is_empty());

        let config = obj(&[("name", Value::string("b"))]);
        let mut proposed = proposed;
        proposed.set("name", Value::string("b"));
        let (planned, replace) = plan_attributes(&s, &prior, &proposed, &config);
        assert_eq!(replace, vec![AttributePath::attr("name")]);
        assert_eq!(
            planned.get("id"),
            &Value::string("a"),
            "use_state_for_unknown keeps the id"
        );
        assert!(
            planned.get("host").is_unknown(),
            "other computed values may change"
        );
    }

    #[test]
    fn a_change_of_timeouts_alone_leaves_every_computed_value_known() {
        use crate::timeouts::{Op, TIMEOUTS};
        let s = Schema::new(schema().block.timeouts(&[Op::Delete]));
        let t = |d: &str| Value::object(&[("delete", Value::string(d))]);
        let prior = obj(&[
            ("id", Value::string("a")),
            ("name", Value::string("a")),
            ("limit", Value::int(-1)),
            ("host", Value::string("h")),
            ("secret_wo", Value::Null),
            (TIMEOUTS, t("3s")),
        ]);
        let mut proposed = prior.clone();
        proposed.set(TIMEOUTS, t("10m"));
        let config = obj(&[("name", Value::string("a")), (TIMEOUTS, t("10m"))]);
        let (planned, replace) = plan_attributes(&s, &prior, &proposed, &config);
        assert_eq!(
            planned, proposed,
            "host stays known, timeouts are the new ones"
        );
        assert!(replace.is_empty(), "timeouts never force a replacement");
    }

    #[test]
    fn write_only_without_capability_is_refused_on_the_attribute() {
        let s = schema();
        let config = obj(&[
            ("name", Value::string("a")),
            ("secret_wo", Value::string("s")),
        ]);
        let mut diags = Diagnostics::default();
        check_write_only(&s, &config, &ClientInfo::default(), &mut diags);
        assert!(diags.has_errors());
        assert_eq!(diags.0[0].attribute, Some(AttributePath::attr("secret_wo")));
        assert!(diags.0[0].summary.contains("1.11"));
        let mut diags = Diagnostics::default();
        check_write_only(
            &s,
            &config,
            &ClientInfo {
                write_only_attributes_allowed: true,
                ..Default::default()
            },
            &mut diags,
        );
        assert!(!diags.has_errors());
    }
}
