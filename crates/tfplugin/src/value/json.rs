//! The JSON form of values: stored state handed to `UpgradeResourceState` (`RawState.json`).

use std::collections::BTreeMap;
use std::iter;

use super::{
    check_depth, child, decode_elements, decode_entries, err, infer_type, DecodeError, Number,
    Step, Value,
};
use crate::types::Type;

pub(super) fn decode_json(
    json: &serde_json::Value,
    ty: &Type,
    path: &str,
    depth: usize,
) -> Result<Value, DecodeError> {
    use serde_json::Value as J;
    check_depth(path, depth)?;
    if json.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        Type::Bool => match json {
            J::Bool(b) => Ok(Value::Bool(*b)),
            // cty's JSON decoder accepts the strings "true"/"false" too.
            J::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => Err(err(path, "expected bool")),
        },
        Type::Number => match json {
            J::Number(n) => n
                .as_i64()
                .map(Number::Int)
                .or_else(|| n.as_f64().map(Number::Float))
                .map(Value::Number)
                .ok_or_else(|| err(path, "number out of range")),
            J::String(s) => Number::parse(s)
                .map(Value::Number)
                .ok_or_else(|| err(path, "expected number")),
            _ => Err(err(path, "expected number")),
        },
        Type::String => match json {
            J::String(s) => Ok(Value::String(s.clone())),
            J::Number(n) => Ok(Value::String(n.to_string())),
            J::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(err(path, "expected string")),
        },
        Type::List(elem) | Type::Set(elem) => match json {
            J::Array(items) => decode_elements(
                items.iter().zip(iter::repeat(elem.as_ref())),
                path,
                depth,
                decode_json,
            ),
            _ => Err(err(path, "expected array")),
        },
        Type::Tuple(elems) => match json {
            J::Array(items) if items.len() == elems.len() => {
                decode_elements(items.iter().zip(elems), path, depth, decode_json)
            }
            _ => Err(err(path, format!("expected array of {}", elems.len()))),
        },
        Type::Map(elem) => match json {
            J::Object(entries) => decode_entries(
                entries.iter().map(|(k, v)| Ok((k.clone(), v))),
                elem,
                path,
                depth,
                decode_json,
            ),
            _ => Err(err(path, "expected object")),
        },
        Type::Object(attrs) => match json {
            J::Object(entries) => {
                let mut out = BTreeMap::new();
                for (name, attr_ty) in attrs {
                    let p = child(path, Step::Attr(name));
                    let v = match entries.get(name) {
                        Some(j) => decode_json(j, attr_ty, &p, depth + 1)?,
                        None => Value::Null,
                    };
                    out.insert(name.clone(), v);
                }
                Ok(Value::Map(out))
            }
            _ => Err(err(path, "expected object")),
        },
        Type::Dynamic => match json {
            J::Object(o) if o.contains_key("type") && o.contains_key("value") => {
                let inner = Type::from_json(&o["type"]).map_err(|e| err(path, e.to_string()))?;
                decode_json(&o["value"], &inner, path, depth + 1)
            }
            _ => Err(err(path, "dynamic value must be {\"value\", \"type\"}")),
        },
    }
}

pub(super) fn encode_json(v: &Value, ty: &Type) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null | Value::Unknown(_) => J::Null,
        _ if matches!(ty, Type::Dynamic) => {
            let inner = infer_type(v);
            serde_json::json!({ "value": encode_json(v, &inner), "type": inner.to_json() })
        }
        Value::Bool(b) => J::Bool(*b),
        Value::Number(Number::Int(i)) => J::from(*i),
        Value::Number(Number::Float(f)) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::String(s) => J::String(s.clone()),
        Value::List(items) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let t = match ty {
                        Type::List(t) | Type::Set(t) => t.as_ref(),
                        Type::Tuple(ts) => ts.get(i).unwrap_or(&Type::Dynamic),
                        _ => &Type::Dynamic,
                    };
                    encode_json(item, t)
                })
                .collect(),
        ),
        Value::Map(entries) => match ty {
            Type::Object(attrs) => J::Object(
                attrs
                    .iter()
                    .map(|(name, t)| {
                        (
                            name.clone(),
                            encode_json(entries.get(name).unwrap_or(&Value::Null), t),
                        )
                    })
                    .collect(),
            ),
            Type::Map(t) => J::Object(
                entries
                    .iter()
                    .map(|(k, item)| (k.clone(), encode_json(item, t)))
                    .collect(),
            ),
            _ => J::Object(
                entries
                    .iter()
                    .map(|(k, item)| (k.clone(), encode_json(item, &Type::Dynamic)))
                    .collect(),
            ),
        },
    }
}
