//! Conversions between the crate's types and the generated protocol types: msgpack/JSON
//! `DynamicValue`s, diagnostics with attribute paths, schemas, timestamps.

use crate::diagnostics::{AttributePath, Diagnostics, PathStep, Severity};
use crate::proto::tfplugin6 as pb;
use crate::schema::{Block, Nesting, Schema};
use crate::types::Type;
use crate::value::Value;

/// Decodes a `DynamicValue` (msgpack, or JSON when that is what was sent); an absent one
/// is null. A value that does not decode is an error diagnostic about `what`, and `None`.
pub(crate) fn decode(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Some(dv) = dv else {
        return Some(Value::Null);
    };
    let result = if !dv.msgpack.is_empty() {
        Value::from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        serde_json::from_slice::<serde_json::Value>(&dv.json)
            .map_err(|e| crate::value::DecodeError {
                path: ".".into(),
                message: e.to_string(),
            })
            .and_then(|j| Value::from_json(&j, ty))
    } else {
        Ok(Value::Null)
    };
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            diags.error(format!("Invalid {what} from Terraform"), format!("The provider could not decode the {what}: {e}. This is a bug in the provider or an incompatible Terraform version."));
            None
        }
    }
}

/// Encodes a value as a msgpack `DynamicValue` of type `ty`.
pub(crate) fn encode(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: v.to_msgpack(ty),
        json: Vec::new(),
    })
}

/// The protocol form of diagnostics.
pub(crate) fn diags_to_proto(diags: &Diagnostics) -> Vec<pb::Diagnostic> {
    diags
        .iter()
        .map(|d| pb::Diagnostic {
            severity: match d.severity {
                Severity::Error => pb::diagnostic::Severity::Error as i32,
                Severity::Warning => pb::diagnostic::Severity::Warning as i32,
            },
            summary: d.summary.clone(),
            detail: d.detail.clone(),
            attribute: d.attribute.as_ref().map(path_to_proto),
        })
        .collect()
}

/// The protocol form of an attribute path.
pub(crate) fn path_to_proto(p: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(a) => Selector::AttributeName(a.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

/// The protocol form of a schema.
pub(crate) fn schema_to_proto(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block_to_proto(&s.block)),
    }
}

fn block_to_proto(b: &Block) -> pb::schema::Block {
    const MARKDOWN: i32 = pb::StringKind::Markdown as i32;
    pb::schema::Block {
        version: 0,
        attributes: b
            .attributes
            .iter()
            .map(|a| pb::schema::Attribute {
                name: a.name.clone(),
                r#type: a.ty.to_json_bytes(),
                nested_type: None,
                description: a.description.clone(),
                required: a.required,
                optional: a.optional,
                computed: a.computed,
                sensitive: a.sensitive,
                description_kind: MARKDOWN,
                deprecated: a.deprecated,
                write_only: a.write_only,
            })
            .collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| pb::schema::NestedBlock {
                type_name: nb.name.clone(),
                block: Some(block_to_proto(&nb.block)),
                nesting: match nb.nesting {
                    Nesting::Single => pb::schema::nested_block::NestingMode::Single,
                    Nesting::List => pb::schema::nested_block::NestingMode::List,
                    Nesting::Set => pb::schema::nested_block::NestingMode::Set,
                } as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: MARKDOWN,
        deprecated: b.deprecated,
    }
}

/// The protocol form of a point in time (before the epoch reads as the epoch).
pub(crate) fn timestamp(t: std::time::SystemTime) -> prost_types::Timestamp {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}
