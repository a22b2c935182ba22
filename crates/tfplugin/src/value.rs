//! Typed Terraform values (cty) and their two wire encodings: msgpack (every RPC's
//! `DynamicValue`) and JSON (stored state handed to `UpgradeResourceState`).
//!
//! msgpack carries no type information for collections, so decoding always takes the
//! schema's [`Type`]. Unknown values arrive as extension 0 (Terraform <= 1.5) or
//! extension 12 with refinements (1.6 and later); we always answer with extension 0,
//! which every client understands, unless asked for refinements explicitly.

use std::collections::BTreeMap;
use std::fmt;
use std::iter;

use crate::types::Type;

/// A number as cty carries it over the wire.
#[derive(Debug, Clone, Copy)]
pub enum Number {
    /// Integral value that fits in 64 bits.
    Int(i64),
    /// Anything else.
    Float(f64),
}

impl Number {
    /// The value as `i64` when it is integral and in range.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Number::Int(i) => Some(i),
            Number::Float(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
                Some(f as i64)
            }
            Number::Float(_) => None,
        }
    }

    /// The value as `f64` (possibly rounded).
    pub fn as_f64(&self) -> f64 {
        match *self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    fn parse(text: &str) -> Option<Number> {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::Int(i));
        }
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Number::Float)
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        match (self.as_i64(), other.as_i64()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.as_f64() == other.as_f64(),
            _ => false,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// What Terraform 1.6+ knows about a value it cannot know yet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refinements {
    /// `Some(false)`: definitely not null.
    pub null: Option<bool>,
    /// Known prefix of an unknown string.
    pub string_prefix: Option<String>,
    /// Lower bound of an unknown number and whether it is inclusive.
    pub number_min: Option<(Number, bool)>,
    /// Upper bound of an unknown number and whether it is inclusive.
    pub number_max: Option<(Number, bool)>,
    /// Lower bound of an unknown collection's length.
    pub length_min: Option<i64>,
    /// Upper bound of an unknown collection's length.
    pub length_max: Option<i64>,
}

impl Refinements {
    fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }
}

/// A value of some cty type. Sets keep their wire order; lists, sets and tuples share
/// one representation because the type says which one a value is.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// A present nil.
    #[default]
    Null,
    /// Not known until apply; refinements are empty for Terraform before 1.6.
    Unknown(Box<Refinements>),
    /// `bool`.
    Bool(bool),
    /// `number`.
    Number(Number),
    /// `string`.
    String(String),
    /// `list(T)`, `set(T)` or `tuple([...])` elements.
    List(Vec<Value>),
    /// `map(T)` entries or `object({...})` attributes.
    Map(BTreeMap<String, Value>),
}

/// Why bytes could not be read as a value of the expected type.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{path}: {message}")]
pub struct DecodeError {
    /// Where in the value the problem is, like `.postgres[0].port`.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> DecodeError {
    DecodeError {
        path: shown_path(path),
        message: message.into(),
    }
}

/// A path built from [`Step`]s as an error shows it: `.` for the whole value.
pub(crate) fn shown_path(path: &str) -> String {
    if path.is_empty() {
        ".".into()
    } else {
        path.into()
    }
}

/// One step down into a value, as error paths spell it: `.name`, `["key"]` or `[0]`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    /// An object attribute (or a model's field).
    Attr(&'a str),
    /// A map key.
    Key(&'a str),
    /// An element of a list, set or tuple.
    Index(usize),
}

impl fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Attr(name) => write!(f, ".{name}"),
            Step::Key(key) => write!(f, "[{key:?}]"),
            Step::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Nesting bound for untrusted input: deeper than any schema we serve.
const MAX_DEPTH: usize = 64;

impl Value {
    /// A plain unknown with no refinements.
    pub fn unknown() -> Value {
        Value::Unknown(Box::default())
    }

    /// Shorthand for a string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// Shorthand for an integer value.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }

    /// An object from attribute pairs (a later pair wins over an earlier one).
    pub fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    /// Whether this is a present null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this value is unknown at the top level.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }

    /// Whether this value is known all the way down (no unknown nested anywhere).
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(entries) => entries.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// This value with every unknown inside replaced by null (cty's `UnknownAsNull`).
    pub fn unknown_as_null(self) -> Value {
        match self {
            Value::Unknown(_) => Value::Null,
            Value::List(items) => {
                Value::List(items.into_iter().map(Value::unknown_as_null).collect())
            }
            Value::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, v.unknown_as_null()))
                    .collect(),
            ),
            other => other,
        }
    }

    /// The string inside, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean inside, if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer inside, if this is a known integral number.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The elements, if this is a known list, set or tuple.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a known map or object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// Attribute `name` of an object; `Null` when absent or when `self` is not an object.
    pub fn get(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Map(entries) => entries.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// Mutable attribute `name` of an object, created as null when missing.
    /// Does nothing useful (returns a scratch value) when `self` is not an object.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Map(entries) => Some(entries.entry(name.to_string()).or_default()),
            _ => None,
        }
    }

    /// Sets attribute `name` of an object; no-op on anything else.
    pub fn set(&mut self, name: &str, value: Value) {
        if let Value::Map(entries) = self {
            entries.insert(name.to_string(), value);
        }
    }

    /// A list of known strings, skipping anything else; empty for null.
    pub fn string_list(&self) -> Vec<String> {
        self.as_list()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Builds a list/set value of strings.
    pub fn from_strings<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
        Value::List(items.into_iter().map(|s| Value::String(s.into())).collect())
    }

    // ---- msgpack ----

    /// Decodes msgpack bytes as a value of type `ty`.
    pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
        let mut reader = bytes;
        let raw = rmpv::decode::read_value_with_max_depth(&mut reader, MAX_DEPTH)
            .map_err(|e| err("", format!("invalid msgpack: {e}")))?;
        decode_msgpack(raw, ty, "", 0)
    }

    /// Encodes as msgpack for type `ty`, writing every unknown as the plain extension 0
    /// that all Terraform versions read.
    pub fn to_msgpack(&self, ty: &Type) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        encode_msgpack(self, ty, false, &mut out);
        out
    }

    /// Encodes as msgpack keeping refinements of unknowns (extension 12), as Terraform
    /// 1.6+ writes them.
    pub fn to_msgpack_refined(&self, ty: &Type) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        encode_msgpack(self, ty, true, &mut out);
        out
    }

    // ---- JSON ----

    /// Reads a JSON value (Terraform's state encoding) as type `ty`. Object attributes
    /// missing from the JSON become null; attributes the type does not have are dropped.
    pub fn from_json(json: &serde_json::Value, ty: &Type) -> Result<Value, DecodeError> {
        decode_json(json, ty, "", 0)
    }

    /// Writes the value as JSON for type `ty`; unknowns (never valid in state) become null.
    pub fn to_json(&self, ty: &Type) -> serde_json::Value {
        encode_json(self, ty)
    }
}

fn child(path: &str, step: Step<'_>) -> String {
    format!("{path}{step}")
}

/// Refuses input nested deeper than [`MAX_DEPTH`]; both decoders call it on each value.
fn check_depth(path: &str, depth: usize) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(err(path, "value nested too deeply"));
    }
    Ok(())
}

/// Decodes the elements of a list, set or tuple, each with its type, into a list value;
/// element `i` is at `path[i]`. `decode` is the decoder of the wire format.
fn decode_elements<'t, T>(
    items: impl Iterator<Item = (T, &'t Type)>,
    path: &str,
    depth: usize,
    decode: impl Fn(T, &Type, &str, usize) -> Result<Value, DecodeError>,
) -> Result<Value, DecodeError> {
    items
        .enumerate()
        .map(|(i, (item, ty))| decode(item, ty, &child(path, Step::Index(i)), depth + 1))
        .collect::<Result<_, _>>()
        .map(Value::List)
}

/// Decodes the entries of a map of `elem` (keys already read, or the error reading
/// one) into a map value; the entry with key `k` is at `path["k"]`.
fn decode_entries<T>(
    entries: impl Iterator<Item = Result<(String, T), DecodeError>>,
    elem: &Type,
    path: &str,
    depth: usize,
    decode: impl Fn(T, &Type, &str, usize) -> Result<Value, DecodeError>,
) -> Result<Value, DecodeError> {
    let mut out = BTreeMap::new();
    for entry in entries {
        let (key, v) = entry?;
        let p = child(path, Step::Key(&key));
        out.insert(key, decode(v, elem, &p, depth + 1)?);
    }
    Ok(Value::Map(out))
}

fn decode_msgpack(
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

fn encode_msgpack(v: &Value, ty: &Type, refined: bool, out: &mut Vec<u8>) {
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

/// The most specific type a known value has, for encoding inside a dynamic attribute.
fn infer_type(v: &Value) -> Type {
    match v {
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::List(items) => Type::Tuple(items.iter().map(infer_type).collect()),
        Value::Map(entries) => Type::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), infer_type(v)))
                .collect(),
        ),
        Value::Null | Value::Unknown(_) => Type::Dynamic,
    }
}

fn decode_json(
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

fn encode_json(v: &Value, ty: &Type) -> serde_json::Value {
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
