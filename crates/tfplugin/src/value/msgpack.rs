//! The msgpack wire format of values (Terraform's `DynamicValue.msgpack`), including
//! unknowns with their refinements (extension 12).

use std::collections::BTreeMap;
use std::iter;

use super::{
    check_depth, child, decode_elements, decode_entries, err, infer_type, DecodeError, Number,
    Refinements, Step, Value,
};
use crate::types::Type;

pub(super) fn decode_msgpack(
    raw: rmpv::Value,
    ty: &Type,
    path: &str,
    depth: usize,
) -> Result<Value, DecodeError> {
    use rmpv::Value as R;
    check_depth(path, depth)?;
    match raw {
        R::Nil => return Ok(Value::Null),
        R::Ext(code, data) => return decode_unknown(code, &data, ty, path),
        _ => {}
    }
    match ty {
        Type::Bool => match raw {
            R::Boolean(b) => Ok(Value::Bool(b)),
            other => Err(err(path, format!("expected bool, got {}", kind(&other)))),
        },
        Type::Number => decode_number(raw, path).map(Value::Number),
        Type::String => match raw {
            R::String(s) => s
                .into_str()
                .map(Value::String)
                .ok_or_else(|| err(path, "string is not valid UTF-8")),
            other => Err(err(path, format!("expected string, got {}", kind(&other)))),
        },
        Type::List(elem) | Type::Set(elem) => match raw {
            R::Array(items) => decode_elements(
                items.into_iter().zip(iter::repeat(elem.as_ref())),
                path,
                depth,
                decode_msgpack,
            ),
            other => Err(err(path, format!("expected array, got {}", kind(&other)))),
        },
        Type::Tuple(elems) => match raw {
            R::Array(items) if items.len() == elems.len() => {
                decode_elements(items.into_iter().zip(elems), path, depth, decode_msgpack)
            }
            R::Array(items) => Err(err(
                path,
                format!(
                    "expected tuple of {}, got {} elements",
                    elems.len(),
                    items.len()
                ),
            )),
            other => Err(err(path, format!("expected array, got {}", kind(&other)))),
        },
        Type::Map(elem) => match raw {
            R::Map(entries) => decode_entries(
                entries.into_iter().map(|(k, v)| Ok((map_key(k, path)?, v))),
                elem,
                path,
                depth,
                decode_msgpack,
            ),
            other => Err(err(path, format!("expected map, got {}", kind(&other)))),
        },
        Type::Object(attrs) => match raw {
            R::Map(entries) => {
                let mut out = BTreeMap::new();
                for (k, v) in entries {
                    let key = map_key(k, path)?;
                    let p = child(path, Step::Attr(&key));
                    let Some(attr_ty) = attrs.get(&key) else {
                        return Err(err(&p, "unexpected attribute"));
                    };
                    out.insert(key, decode_msgpack(v, attr_ty, &p, depth + 1)?);
                }
                for name in attrs.keys() {
                    out.entry(name.clone()).or_insert(Value::Null);
                }
                Ok(Value::Map(out))
            }
            other => Err(err(path, format!("expected object, got {}", kind(&other)))),
        },
        Type::Dynamic => match raw {
            // A dynamic value travels as [type JSON, value].
            R::Array(mut pair) if pair.len() == 2 => {
                let value = pair.pop().unwrap_or(R::Nil);
                let type_json = match pair.pop() {
                    Some(R::Binary(b)) => b,
                    Some(R::String(s)) => s.into_bytes(),
                    _ => return Err(err(path, "dynamic value without a type")),
                };
                let json: serde_json::Value = serde_json::from_slice(&type_json)
                    .map_err(|e| err(path, format!("dynamic value type is not JSON: {e}")))?;
                let inner = Type::from_json(&json).map_err(|e| err(path, e.to_string()))?;
                decode_msgpack(value, &inner, path, depth + 1)
            }
            other => Err(err(
                path,
                format!("expected dynamic [type, value] pair, got {}", kind(&other)),
            )),
        },
    }
}

fn map_key(k: rmpv::Value, path: &str) -> Result<String, DecodeError> {
    match k {
        rmpv::Value::String(s) => s
            .into_str()
            .ok_or_else(|| err(path, "map key is not valid UTF-8")),
        other => Err(err(
            path,
            format!("map key must be a string, got {}", kind(&other)),
        )),
    }
}

fn kind(v: &rmpv::Value) -> &'static str {
    use rmpv::Value as R;
    match v {
        R::Nil => "nil",
        R::Boolean(_) => "bool",
        R::Integer(_) => "integer",
        R::F32(_) | R::F64(_) => "float",
        R::String(_) => "string",
        R::Binary(_) => "binary",
        R::Array(_) => "array",
        R::Map(_) => "map",
        R::Ext(..) => "extension",
    }
}

fn decode_number(raw: rmpv::Value, path: &str) -> Result<Number, DecodeError> {
    use rmpv::Value as R;
    match raw {
        R::Integer(i) => {
            if let Some(v) = i.as_i64() {
                Ok(Number::Int(v))
            } else {
                Ok(Number::Float(i.as_f64().unwrap_or(f64::MAX)))
            }
        }
        R::F32(f) => Ok(Number::Float(f as f64)),
        R::F64(f) => Ok(Number::Float(f)),
        // cty writes numbers that fit neither int64 nor float64 exactly as decimal text.
        R::String(s) => s
            .as_str()
            .and_then(Number::parse)
            .ok_or_else(|| err(path, "number string is not a decimal number")),
        other => Err(err(path, format!("expected number, got {}", kind(&other)))),
    }
}

fn decode_unknown(code: i8, data: &[u8], ty: &Type, path: &str) -> Result<Value, DecodeError> {
    if data.len() <= 1 {
        return Ok(Value::unknown());
    }
    if code != 12 {
        return Err(err(
            path,
            format!(
                "unsupported extension type {code} with {} bytes",
                data.len()
            ),
        ));
    }
    if data.len() > 1024 {
        return Err(err(path, "oversize unknown value refinement"));
    }
    let mut reader = data;
    let raw = rmpv::decode::read_value_with_max_depth(&mut reader, 16)
        .map_err(|e| err(path, format!("invalid refinement: {e}")))?;
    let rmpv::Value::Map(entries) = raw else {
        return Err(err(path, "refinement is not a map"));
    };
    let mut r = Refinements::default();
    if matches!(ty, Type::Dynamic) {
        return Ok(Value::unknown());
    }
    for (k, v) in entries {
        let Some(key) = k.as_i64() else {
            return Err(err(path, "refinement key is not an integer"));
        };
        match key {
            1 => {
                r.null = Some(
                    v.as_bool()
                        .ok_or_else(|| err(path, "null refinement is not a bool"))?,
                )
            }
            2 => {
                r.string_prefix = Some(
                    v.as_str()
                        .ok_or_else(|| err(path, "string prefix refinement is not a string"))?
                        .to_string(),
                )
            }
            3 | 4 => {
                let bound = match v {
                    rmpv::Value::Array(mut pair) if pair.len() == 2 => {
                        let inclusive = pair.pop().and_then(|b| b.as_bool());
                        let number = pair.pop().map(|n| decode_number(n, path)).transpose()?;
                        match (number, inclusive) {
                            (Some(n), Some(inc)) => (n, inc),
                            _ => return Err(err(path, "number bound must be [number, bool]")),
                        }
                    }
                    _ => return Err(err(path, "number bound must be [number, bool]")),
                };
                if key == 3 {
                    r.number_min = Some(bound);
                } else {
                    r.number_max = Some(bound);
                }
            }
            5 | 6 => {
                let n = v
                    .as_i64()
                    .ok_or_else(|| err(path, "length bound is not an integer"))?;
                if key == 5 {
                    r.length_min = Some(n);
                } else {
                    r.length_max = Some(n);
                }
            }
            // Future refinements are ignored, as cty does.
            _ => {}
        }
    }
    Ok(Value::Unknown(Box::new(r)))
}

pub(super) fn encode_msgpack(v: &Value, ty: &Type, refined: bool, out: &mut Vec<u8>) {
    use rmp::encode as e;
    // Writes into a Vec cannot fail; the results are ignored deliberately.
    match v {
        Value::Null => {
            let _ = e::write_nil(out);
        }
        Value::Unknown(r) => {
            if refined && !r.is_empty() && !matches!(ty, Type::Dynamic) {
                let body = encode_refinements(r);
                let _ = e::write_ext_meta(out, body.len() as u32, 12);
                out.extend_from_slice(&body);
            } else {
                out.extend_from_slice(&[0xd4, 0, 0]);
            }
        }
        _ if matches!(ty, Type::Dynamic) => {
            let inner = infer_type(v);
            let _ = e::write_array_len(out, 2);
            let _ = e::write_bin(out, inner.to_json().to_string().as_bytes());
            encode_msgpack(v, &inner, refined, out);
        }
        Value::Bool(b) => {
            let _ = e::write_bool(out, *b);
        }
        Value::Number(n) => write_number(*n, out),
        Value::String(s) => {
            let _ = e::write_str(out, s);
        }
        Value::List(items) => {
            let _ = e::write_array_len(out, items.len() as u32);
            for (i, item) in items.iter().enumerate() {
                let elem_ty = match ty {
                    Type::List(t) | Type::Set(t) => t.as_ref(),
                    Type::Tuple(ts) => ts.get(i).unwrap_or(&Type::Dynamic),
                    _ => &Type::Dynamic,
                };
                encode_msgpack(item, elem_ty, refined, out);
            }
        }
        Value::Map(entries) => match ty {
            Type::Object(attrs) => {
                // Every attribute of the type is written, absent ones as null.
                let _ = e::write_map_len(out, attrs.len() as u32);
                for (name, attr_ty) in attrs {
                    let _ = e::write_str(out, name);
                    encode_msgpack(
                        entries.get(name).unwrap_or(&Value::Null),
                        attr_ty,
                        refined,
                        out,
                    );
                }
            }
            _ => {
                let elem_ty = match ty {
                    Type::Map(t) => t.as_ref(),
                    _ => &Type::Dynamic,
                };
                let _ = e::write_map_len(out, entries.len() as u32);
                for (k, item) in entries {
                    let _ = e::write_str(out, k);
                    encode_msgpack(item, elem_ty, refined, out);
                }
            }
        },
    }
}

fn write_number(n: Number, out: &mut Vec<u8>) {
    match n {
        Number::Int(i) => {
            let _ = rmp::encode::write_sint(out, i);
        }
        Number::Float(f) => {
            let _ = rmp::encode::write_f64(out, f);
        }
    }
}

fn encode_refinements(r: &Refinements) -> Vec<u8> {
    use rmp::encode as e;
    let mut body = Vec::new();
    let count = [
        r.null.is_some(),
        r.string_prefix.is_some(),
        r.number_min.is_some(),
        r.number_max.is_some(),
        r.length_min.is_some(),
        r.length_max.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    let _ = e::write_map_len(&mut body, count as u32);
    if let Some(null) = r.null {
        let _ = e::write_sint(&mut body, 1);
        let _ = e::write_bool(&mut body, null);
    }
    if let Some(prefix) = &r.string_prefix {
        // Decoders (ours and cty's) refuse refinements over 1 KiB: keep a shorter
        // prefix, cut on a character boundary; a shorter prefix is still true.
        let mut end = prefix.len().min(256);
        while !prefix.is_char_boundary(end) {
            end -= 1;
        }
        let _ = e::write_sint(&mut body, 2);
        let _ = e::write_str(&mut body, &prefix[..end]);
    }
    for (key, bound) in [(3, r.number_min), (4, r.number_max)] {
        if let Some((n, inclusive)) = bound {
            let _ = e::write_sint(&mut body, key);
            let _ = e::write_array_len(&mut body, 2);
            write_number(n, &mut body);
            let _ = e::write_bool(&mut body, inclusive);
        }
    }
    for (key, bound) in [(5, r.length_min), (6, r.length_max)] {
        if let Some(n) = bound {
            let _ = e::write_sint(&mut body, key);
            let _ = e::write_sint(&mut body, n);
        }
    }
    body
}
