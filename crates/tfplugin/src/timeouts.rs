//! `timeouts { create, update, delete }`: how long an apply of one resource instance may
//! run, as in other providers (`"10m"`, `"1h30m"`). The block is the framework's: a
//! resource declares it in its schema ([`Block::timeouts`]) and nothing else; its model
//! needs no field for it. The values are checked at validate time, never force a
//! replacement, are never sent to the resource, and are carried from plan and prior
//! state into every state returned. When a deadline passes, the call's stop signal
//! ([`crate::Ctx::cancel`], a child of the provider-wide one) fires, so the work ends as
//! it ends on Ctrl-C, and the failure gets one more error naming the timeout and how to
//! raise it. Pure functions here; the service runs the deadline.

use std::time::Duration;

use crate::diagnostics::{AttributePath, Diagnostic, Severity};
use crate::schema::{Attribute, Block, Validator};
use crate::value::Value;

/// The name of the framework's nested block.
pub const TIMEOUTS: &str = "timeouts";

/// An apply operation that may carry a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Create (also the create half of a replacement).
    Create,
    /// Update in place.
    Update,
    /// Destroy (also the destroy half of a replacement).
    Delete,
}

impl Op {
    /// Create, update and delete: for a type whose every operation may wait long.
    pub const ALL: &'static [Op] = &[Op::Create, Op::Update, Op::Delete];

    /// The attribute name inside `timeouts`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    /// What Terraform records when this operation stops early, for the error's detail.
    fn outcome(self) -> &'static str {
        match self {
            Op::Create => "What was made before it stopped is removed, or recorded as tainted so that the next apply replaces it.",
            Op::Update => "The state keeps what is known to have been applied; plan again to see what is left.",
            Op::Delete => "The object is kept in the state; destroy again once the cause is fixed.",
        }
    }
}

impl Block {
    /// Adds the framework's `timeouts` block with one optional duration per operation
    /// in `ops` (see [`crate::timeouts`]).
    pub fn timeouts(self, ops: &[Op]) -> Self {
        let mut block = Block::new(
            "How long each operation may run before it stops (as on Ctrl-C) with an error naming the timeout. Durations such as `\"30s\"`, `\"10m\"` or `\"1h30m\"`; unset, an operation has no limit. Changing them changes nothing on the server.",
        );
        for op in ops {
            block = block.attr(
                Attribute::string(op.name())
                    .optional()
                    .description(format!(
                        "How long {} may run.",
                        match op {
                            Op::Create => "creating the object",
                            Op::Update => "an in-place update",
                            Op::Delete => "destroying the object",
                        }
                    ))
                    .validate(duration_validator()),
            );
        }
        self.single_block(TIMEOUTS, block)
    }
}

/// The check of a `timeouts` value: a positive duration.
fn duration_validator() -> Validator {
    Validator::new(
        "a positive duration: numbers with units `h`, `m`, `s` or `ms`, e.g. `\"10m\"`, `\"1h30m\"`",
        |v| match v.as_str() {
            Some(s) => parse_duration(s).map(drop),
            None => Ok(()),
        },
    )
}

/// Parses a duration as Go's `time.ParseDuration` does for the units `h`, `m`, `s` and
/// `ms` (`"10m"`, `"1h30m"`, `"1.5h"`, `"90s"`); zero and negative durations are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let refuse = |why: &str| {
        Err(format!(
            "{text:?} is not a duration ({why}); write numbers with units h, m, s or ms, e.g. \"10m\" or \"1h30m\""
        ))
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return refuse("empty");
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let Ok(amount) = number.parse::<f64>() else {
            return refuse("a number is missing or malformed");
        };
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let seconds = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "" => return refuse("a unit is missing"),
            _ => return refuse("unknown unit"),
        };
        total += amount * seconds;
        rest = next;
    }
    match Duration::try_from_secs_f64(total) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => refuse("it must be longer than zero"),
        Err(_) => refuse("too long"),
    }
}

/// The timeout set for `op` in `value` (the configuration or a state): its text and
/// length, or `None` when unset (no limit) or not a valid duration (validation said so).
pub fn limit(value: &Value, op: Op) -> Option<(String, Duration)> {
    let text = value.get(TIMEOUTS).get(op.name()).as_str()?;
    parse_duration(text).ok().map(|d| (text.to_string(), d))
}

/// The error added to a failure that the deadline cut short: which timeout passed, what
/// became of the object, and how to allow longer. At `timeouts.<op>`, so Terraform shows
/// the line that set it.
pub fn passed(type_name: &str, op: Op, text: &str) -> Diagnostic {
    let name = op.name();
    Diagnostic {
        severity: Severity::Error,
        summary: format!("Timeout: {type_name} {name} did not finish within {text}"),
        detail: format!(
            "The `timeouts.{name}` of this {type_name} is {text:?}; when it passed, the work was stopped as Ctrl-C stops it (the other errors say where). {} To allow longer, raise it, e.g. `timeouts {{ {name} = \"30m\" }}`, or remove it for no limit.",
            op.outcome()
        ),
        attribute: Some(AttributePath::attr(TIMEOUTS).join(name)),
    }
}

/// Whether `block` declares the framework's `timeouts` block.
pub(crate) fn declared(block: &Block) -> bool {
    block.nested(TIMEOUTS).is_some()
}

/// Whether `prior` and `planned` differ in `timeouts` alone, with nothing left unknown:
/// an update that changes nothing the resource manages (the service records it without
/// calling the resource).
pub(crate) fn only_timeouts_differ(block: &Block, prior: &Value, planned: &Value) -> bool {
    if !declared(block) || prior.get(TIMEOUTS) == planned.get(TIMEOUTS) {
        return false;
    }
    if !planned.is_wholly_known() {
        return false;
    }
    let mut a = prior.clone();
    let mut b = planned.clone();
    a.set(TIMEOUTS, Value::Null);
    b.set(TIMEOUTS, Value::Null);
    a == b
}

/// Writes `source`'s `timeouts` into `state` where `state` has none (a state a typed
/// resource returned: its model has no such field). The block is the framework's:
/// carried as planned, or as stored; a state that has the attribute keeps its own.
pub(crate) fn carry(block: &Block, source: &Value, state: &mut Value) {
    let Value::Map(entries) = state else {
        return;
    };
    if declared(block) && !entries.contains_key(TIMEOUTS) {
        entries.insert(TIMEOUTS.to_string(), source.get(TIMEOUTS).clone());
    }
}

/// Runs `work` to its end; when `limit` passes first, trips `call` (the call's stop
/// signal) and waits for `work` to end as it ends on Ctrl-C, with what it made recorded.
pub(crate) async fn run_until<F: std::future::Future>(
    limit: Option<Duration>,
    call: &crate::Cancel,
    work: F,
) -> F::Output {
    let Some(limit) = limit else {
        return work.await;
    };
    tokio::pin!(work);
    tokio::select! {
        out = &mut work => out,
        () = tokio::time::sleep(limit) => {
            call.cancel();
            work.await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_go_reads_them() {
        let secs = |s: &str| parse_duration(s).map(|d| d.as_secs_f64());
        let table: &[(&str, &str, Result<f64, ()>)] = &[
            ("minutes", "10m", Ok(600.0)),
            ("hours_and_minutes", "1h30m", Ok(5400.0)),
            ("fractional_hours", "1.5h", Ok(5400.0)),
            ("seconds", "3s", Ok(3.0)),
            ("milliseconds", "250ms", Ok(0.25)),
            ("every_unit", "1h1m1s1ms", Ok(3661.001)),
            ("empty", "", Err(())),
            ("no_unit", "10", Err(())),
            ("unknown_unit", "10d", Err(())),
            ("unit_without_number", "m", Err(())),
            ("zero", "0s", Err(())),
            ("negative", "-5m", Err(())),
            ("words", "ten minutes", Err(())),
            ("too_long", "1e400h", Err(())),
        ];
        for (situation, text, want) in table {
            let got = secs(text);
            match (want, &got) {
                (Ok(w), Ok(g)) => assert!((w - g).abs() < 1e-9, "{situation}: {got:?}"),
                (Err(()), Err(why)) => {
                    assert!(why.contains("not a duration"), "{situation}: {why}");
                    assert!(why.contains("\"10m\""), "{situation}: gives an example");
                }
                _ => panic!("{situation}: {text:?} gave {got:?}"),
            }
        }
    }

    fn resource_block() -> Block {
        Block::new("r")
            .attr(Attribute::string("name").required())
            .timeouts(&[Op::Create, Op::Delete])
    }

    fn with_timeouts(name: &str, timeouts: Value) -> Value {
        Value::object(&[("name", Value::string(name)), (TIMEOUTS, timeouts)])
    }

    #[test]
    fn the_block_holds_optional_validated_durations_for_the_ops_named() {
        let b = resource_block();
        let t = b.nested(TIMEOUTS).expect("the block");
        let names: Vec<&str> = t.block.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["create", "delete"]);
        for a in &t.block.attributes {
            assert!(a.optional && !a.required && !a.computed && !a.requires_replace);
        }
        let config = with_timeouts(
            "x",
            Value::object(&[("create", Value::string("10x")), ("delete", Value::Null)]),
        );
        let mut diags = crate::Diagnostics::default();
        b.validate_value(&config, &AttributePath::default(), &mut diags);
        assert_eq!(diags.0.len(), 1, "{diags:?}");
        assert_eq!(
            diags.0[0].attribute,
            Some(AttributePath::attr(TIMEOUTS).join("create"))
        );
    }

    #[test]
    fn limits_come_from_the_operations_own_attribute() {
        let v = with_timeouts(
            "x",
            Value::object(&[("create", Value::string("2m")), ("delete", Value::Null)]),
        );
        let table: &[(&str, &Value, Op, Option<u64>)] = &[
            ("create_set", &v, Op::Create, Some(120)),
            ("delete_unset", &v, Op::Delete, None),
            ("update_not_declared", &v, Op::Update, None),
            ("no_block", &Value::Null, Op::Create, None),
        ];
        for (situation, value, op, want) in table {
            let got = limit(value, *op).map(|(_, d)| d.as_secs());
            assert_eq!(got, *want, "{situation}");
        }
    }

    #[test]
    fn the_timeout_error_names_the_timeout_the_outcome_and_how_to_raise_it() {
        let d = passed("dbaas_x", Op::Delete, "3s");
        assert_eq!(
            d.attribute,
            Some(AttributePath::attr(TIMEOUTS).join("delete"))
        );
        assert!(
            d.summary.contains("delete did not finish within 3s"),
            "{d:?}"
        );
        assert!(d.detail.contains("`timeouts.delete`"), "{d:?}");
        assert!(d.detail.contains("kept in the state"), "{d:?}");
        assert!(d.detail.contains("delete = \"30m\""), "{d:?}");
        let c = passed("dbaas_x", Op::Create, "1m");
        assert!(c.detail.contains("tainted"), "{c:?}");
    }

    #[test]
    fn timeouts_are_carried_and_a_change_of_them_alone_is_recognised() {
        let b = resource_block();
        let t1 = Value::object(&[("create", Value::Null), ("delete", Value::string("3s"))]);
        let t2 = Value::object(&[("create", Value::Null), ("delete", Value::string("9m"))]);
        let prior = with_timeouts("x", t1.clone());
        let table: &[(&str, Value, bool)] = &[
            ("timeouts_changed", with_timeouts("x", t2.clone()), true),
            ("timeouts_removed", with_timeouts("x", Value::Null), true),
            ("nothing_changed", prior.clone(), false),
            ("name_changed_too", with_timeouts("y", t2.clone()), false),
            ("name_changed_alone", with_timeouts("y", t1.clone()), false),
            (
                "a_value_left_unknown",
                with_timeouts("x", Value::object(&[("delete", Value::unknown())])),
                false,
            ),
        ];
        for (situation, planned, want) in table {
            assert_eq!(
                only_timeouts_differ(&b, &prior, planned),
                *want,
                "{situation}"
            );
        }
        let mut state = Value::object(&[("name", Value::string("x"))]);
        carry(&b, &prior, &mut state);
        assert_eq!(
            state.get(TIMEOUTS),
            &t1,
            "a typed resource's state gets them"
        );
        let mut own = with_timeouts("x", t2.clone());
        carry(&b, &prior, &mut own);
        assert_eq!(
            own.get(TIMEOUTS),
            &t2,
            "a state that has them keeps its own"
        );
        let mut gone = Value::Null;
        carry(&b, &prior, &mut gone);
        assert!(
            gone.is_null(),
            "nothing is made up for an object that is gone"
        );
    }

    #[tokio::test]
    async fn a_deadline_trips_the_calls_token_and_waits_for_the_work_to_end() {
        let call = crate::Cancel::new();
        let token = call.clone();
        let work = async move {
            token.cancelled().await;
            "stopped, partial recorded"
        };
        let started = std::time::Instant::now();
        let out = run_until(Some(Duration::from_millis(50)), &call, work).await;
        assert_eq!(out, "stopped, partial recorded");
        assert!(call.is_cancelled());
        assert!(started.elapsed() < Duration::from_secs(5));

        let call = crate::Cancel::new();
        let quick = run_until(Some(Duration::from_secs(60)), &call, async { 7 }).await;
        assert_eq!(quick, 7);
        assert!(!call.is_cancelled(), "work that ends in time trips nothing");
        assert_eq!(run_until(None, &call, async { 8 }).await, 8);
    }
}
