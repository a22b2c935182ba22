//! Typed Terraform values (cty) and their two wire encodings: msgpack (every RPC's
//! `DynamicValue`) and JSON (stored state handed to `UpgradeResourceState`).
//!
//! msgpack carries no type information for collections, so decoding always takes the
//! schema's [`Type`]. Unknown values arrive as extension 0 (Terraform <= 1.5) or
//! extension 12 with refinements (1.6 and later); we always answer with extension 0,
//! which every client understands, unless asked for refinements explicitly.

use std::collections::BTreeMap;
use std::fmt;

use crate::types::Type;

mod json;
mod msgpack;

use json::{decode_json, encode_json};
use msgpack::{decode_msgpack, encode_msgpack};

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
