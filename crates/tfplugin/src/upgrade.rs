//! State history: the chain of upgraders that brings state JSON stored by any earlier
//! schema version to the current one, and moves of state from another resource type.
//! Pure functions over JSON, so each step is unit-tested on its own; the service applies
//! them in `UpgradeResourceState` and `MoveResourceState`.

/// One step of a resource type's state history: rewrites state JSON stored by schema
/// version `from` into the shape of version `from + 1`.
#[derive(Clone, Copy, Debug)]
pub struct StateUpgrader {
    /// The version this step reads.
    pub from: i64,
    /// The rewrite; an error becomes a diagnostic naming the versions.
    pub upgrade: fn(serde_json::Value) -> Result<serde_json::Value, String>,
}

/// A resource type whose state may be moved into this one (a `moved` block from another
/// type, Terraform 1.8 and later).
#[derive(Clone, Copy, Debug)]
pub struct MoveSource {
    /// Provider address of the source (`registry.terraform.io/infra/dbaas`); `""` for any.
    pub provider: &'static str,
    /// Source resource type name.
    pub type_name: &'static str,
    /// The newest source schema version this conversion understands.
    pub max_version: i64,
    /// Rewrites the source's state JSON into this type's current shape.
    pub convert: fn(serde_json::Value) -> Result<serde_json::Value, String>,
}

/// Runs the upgraders from `version` up to `current`, one step per version. A missing step
/// or a failing one is an error naming it; state from a newer schema is refused.
pub fn upgrade_json(
    mut state: serde_json::Value,
    version: i64,
    current: i64,
    upgraders: &[StateUpgrader],
) -> Result<serde_json::Value, String> {
    if version > current {
        return Err(format!("it was stored by schema version {version}, newer than this provider's {current}: use the newer provider version (or restore the state backup taken before upgrading)"));
    }
    if version < 0 {
        return Err(format!("schema version {version} is not valid"));
    }
    for from in version..current {
        let step = upgraders.iter().find(|u| u.from == from).ok_or_else(|| {
            format!(
                "no state upgrader from schema version {from} to {}: this is a bug in the provider",
                from + 1
            )
        })?;
        state = (step.upgrade)(state)
            .map_err(|e| format!("upgrading from schema version {from} to {}: {e}", from + 1))?;
    }
    Ok(state)
}

/// The steps missing for a resource whose schema is at `current` (every version below it
/// needs exactly one upgrader); for the start-up self-check.
pub fn missing_steps(current: i64, upgraders: &[StateUpgrader]) -> Vec<String> {
    let mut problems = Vec::new();
    for from in 0..current.max(0) {
        match upgraders.iter().filter(|u| u.from == from).count() {
            1 => {}
            0 => problems.push(format!("no state upgrader from version {from}")),
            n => problems.push(format!("{n} state upgraders from version {from}")),
        }
    }
    for u in upgraders {
        if u.from < 0 || u.from >= current {
            problems.push(format!(
                "a state upgrader from version {} is outside 0..{current}",
                u.from
            ));
        }
    }
    problems
}

/// The message for state stored in the pre-0.12 flatmap form (Terraform 0.11 and older
/// wrote it; no version of this provider ever did).
pub fn flatmap_refusal(type_name: &str) -> String {
    format!("This {type_name} is stored in the flatmap format of Terraform 0.11 and older, which this provider never wrote and cannot read. Upgrade the state with Terraform 0.12 first (or remove the instance from state and import it again).")
}

/// Finds how to move `source_type` (from `provider`, at `version`) into this type, and
/// converts `state`.
pub fn move_json(
    sources: &[MoveSource],
    provider: &str,
    source_type: &str,
    version: i64,
    state: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let source = sources
        .iter()
        .find(|s| {
            s.type_name == source_type
                && (s.provider.is_empty() || provider.is_empty() || s.provider == provider)
        })
        .ok_or_else(|| format!("state of {source_type} cannot be moved into this resource type"))?;
    if version > source.max_version {
        return Err(format!(
            "{source_type} state of schema version {version} is newer than this provider understands ({})",
            source.max_version
        ));
    }
    (source.convert)(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add_flag(mut v: serde_json::Value) -> Result<serde_json::Value, String> {
        v["flag"] = json!(false);
        Ok(v)
    }

    fn rename_x(mut v: serde_json::Value) -> Result<serde_json::Value, String> {
        let x = v
            .as_object_mut()
            .and_then(|o| o.remove("x"))
            .ok_or("no x")?;
        v["y"] = x;
        Ok(v)
    }

    const CHAIN: &[StateUpgrader] = &[
        StateUpgrader {
            from: 0,
            upgrade: add_flag,
        },
        StateUpgrader {
            from: 1,
            upgrade: rename_x,
        },
    ];

    #[test]
    fn the_chain_runs_from_any_earlier_version() {
        let v0 = json!({"x": 1});
        assert_eq!(
            upgrade_json(v0, 0, 2, CHAIN).unwrap(),
            json!({"y": 1, "flag": false})
        );
        let v1 = json!({"x": 1, "flag": true});
        assert_eq!(
            upgrade_json(v1, 1, 2, CHAIN).unwrap(),
            json!({"y": 1, "flag": true})
        );
        let v2 = json!({"y": 3});
        assert_eq!(upgrade_json(v2.clone(), 2, 2, CHAIN).unwrap(), v2);
    }

    #[test]
    fn newer_missing_and_failing_steps_are_errors() {
        let e = upgrade_json(json!({}), 3, 2, CHAIN).unwrap_err();
        assert!(e.contains("newer"), "{e}");
        let e = upgrade_json(json!({"x": 1}), 0, 3, CHAIN).unwrap_err();
        assert!(e.contains("no state upgrader from schema version 2"), "{e}");
        let e = upgrade_json(json!({"z": 1}), 1, 2, CHAIN).unwrap_err();
        assert!(e.contains("from schema version 1 to 2: no x"), "{e}");
    }

    #[test]
    fn the_self_check_finds_gaps_and_strays() {
        assert!(missing_steps(2, CHAIN).is_empty());
        assert!(missing_steps(0, &[]).is_empty());
        assert_eq!(
            missing_steps(3, CHAIN),
            vec!["no state upgrader from version 2"]
        );
        let p = missing_steps(1, CHAIN);
        assert!(p.iter().any(|s| s.contains("outside 0..1")), "{p:?}");
    }

    #[test]
    fn moves_only_from_declared_types() {
        const SOURCES: &[MoveSource] = &[MoveSource {
            provider: "registry.terraform.io/infra/dbaas",
            type_name: "dbaas_old_name",
            max_version: 0,
            convert: add_flag,
        }];
        let moved = move_json(
            SOURCES,
            "registry.terraform.io/infra/dbaas",
            "dbaas_old_name",
            0,
            json!({"a": 1}),
        )
        .unwrap();
        assert_eq!(moved, json!({"a": 1, "flag": false}));
        assert!(move_json(SOURCES, "", "dbaas_other", 0, json!({})).is_err());
        assert!(move_json(
            SOURCES,
            "registry.terraform.io/someone/else",
            "dbaas_old_name",
            0,
            json!({})
        )
        .is_err());
        assert!(move_json(SOURCES, "", "dbaas_old_name", 1, json!({})).is_err());
    }
}
