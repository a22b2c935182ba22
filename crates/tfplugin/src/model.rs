//! Typed models: serde between [`Value`] and plain Rust structs, so a resource reads
//! `let plan: Model = planned.to_model()?` and returns `Value::from_model(&state)?`
//! instead of reaching attributes by name.
//!
//! The mapping: objects <-> structs (field names are attribute names; an attribute
//! missing from the value reads as null), null <-> `None`, unknown <-> [`Known::Unknown`],
//! lists, sets and tuples <-> `Vec`/`BTreeSet`, maps <-> `BTreeMap<String, _>`, numbers
//! <-> any integer or float type, strings <-> `String` and unit-variant enums. A plain
//! field (`String`, `Option<String>`) refuses an unknown value: use [`Known`] where the
//! value may not be known yet (computed attributes in a plan, any attribute of a
//! configuration). [`fields_of`] lists a model's attribute names, so a unit test can
//! check them against the schema with [`check_model`].

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, IntoDeserializer};
use serde::ser::{self, Serialize};
use serde::Deserialize;

use crate::schema::Block;
use crate::value::{Number, Value};

/// The serde name by which [`Known`] finds the [`Value`] (de)serializers.
const KNOWN: &str = "$tfplugin::Known";

/// A value that may be unknown (decided at apply) or null, as Terraform plans it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Known<T> {
    /// Not known until apply.
    Unknown,
    /// A present null.
    #[default]
    Null,
    /// A known value.
    Value(T),
}

impl<T> Known<T> {
    /// The value, if known and not null.
    pub fn as_option(&self) -> Option<&T> {
        match self {
            Known::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value, if known and not null, by value.
    pub fn into_option(self) -> Option<T> {
        match self {
            Known::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Whether it is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Known::Unknown)
    }

    /// Whether it is a known null.
    pub fn is_null(&self) -> bool {
        matches!(self, Known::Null)
    }
}

impl<T> From<Option<T>> for Known<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Known::Null, Known::Value)
    }
}

impl<T: Serialize> Serialize for Known<T> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // Other serializers see a null; ours turns the marker into an unknown.
            Known::Unknown => s.serialize_newtype_struct(KNOWN, &()),
            Known::Null => s.serialize_none(),
            Known::Value(v) => s.serialize_some(v),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Known<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for V<T> {
            type Value = Known<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value, null or unknown")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Known::Unknown)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Known::Null)
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                T::deserialize(d).map(Known::Value)
            }
            fn visit_newtype_struct<D: de::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Self::Value, D::Error> {
                T::deserialize(d).map(Known::Value)
            }
        }
        d.deserialize_newtype_struct(KNOWN, V(PhantomData))
    }
}

impl Serialize for Number {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Number::Int(i) => s.serialize_i64(i),
            Number::Float(f) => s.serialize_f64(f),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(i64::try_from(v).map_or(Number::Float(v as f64), Number::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number::Float(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Why a value does not fit a model (or a model cannot become a value).
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{path}: {message}")]
pub struct ModelError {
    /// Where in the value, like `.postgres.port` (`.` for the whole value).
    pub path: String,
    /// What did not fit.
    pub message: String,
}

impl ModelError {
    fn at(path: &str, message: impl Into<String>) -> Self {
        ModelError {
            path: if path.is_empty() {
                ".".into()
            } else {
                path.into()
            },
            message: message.into(),
        }
    }

    /// Errors raised by serde's derived code carry no path: give them this one.
    fn within(mut self, path: &str) -> Self {
        if self.path.is_empty() {
            self.path = if path.is_empty() {
                ".".into()
            } else {
                path.into()
            };
        }
        self
    }
}

impl de::Error for ModelError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        ModelError {
            path: String::new(),
            message: msg.to_string(),
        }
    }
}

impl ser::Error for ModelError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        <ModelError as de::Error>::custom(msg)
    }
}

impl Value {
    /// Decodes this value (an object) into a model.
    pub fn to_model<T: DeserializeOwned>(&self) -> Result<T, ModelError> {
        T::deserialize(Reader {
            v: self,
            path: String::new(),
        })
        .map_err(|e| e.within(""))
    }

    /// Encodes a model as a value.
    pub fn from_model<T: Serialize + ?Sized>(model: &T) -> Result<Value, ModelError> {
        model.serialize(Writer).map_err(|e| e.within(""))
    }

    /// Overwrites the attributes of this object that `part` (a partial model) has.
    pub fn merge_model<T: Serialize + ?Sized>(&mut self, part: &T) -> Result<(), ModelError> {
        match (Value::from_model(part)?, self) {
            (Value::Map(new), Value::Map(entries)) => {
                entries.extend(new);
                Ok(())
            }
            _ => Err(ModelError::at("", "merge needs two objects")),
        }
    }
}

/// The attribute names a model struct reads, in declaration order (after renames).
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(Probe) {
        Err(ProbeError(Some(fields))) => fields,
        _ => &[],
    }
}

/// Checks that a model has exactly the block's attributes and nested blocks; `Err`
/// names what one has and the other lacks.
pub fn check_model<T: DeserializeOwned>(block: &Block) -> Result<(), String> {
    let fields: std::collections::BTreeSet<&str> = fields_of::<T>().iter().copied().collect();
    let schema: std::collections::BTreeSet<&str> = block
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .chain(block.blocks.iter().map(|b| b.name.as_str()))
        .collect();
    let only_model: Vec<_> = fields.difference(&schema).collect();
    let only_schema: Vec<_> = schema.difference(&fields).collect();
    if only_model.is_empty() && only_schema.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "model fields not in the schema: {only_model:?}; schema attributes not in the model: {only_schema:?}"
        ))
    }
}

// ---- Value -> model ----

/// A deserializer over a borrowed value that knows where in the whole value it is.
struct Reader<'a> {
    v: &'a Value,
    path: String,
}

static NULL: Value = Value::Null;

impl<'a> Reader<'a> {
    fn child(&self, step: impl fmt::Display, v: &'a Value) -> Reader<'a> {
        Reader {
            v,
            path: format!("{}{step}", self.path),
        }
    }

    /// Reads child `v` (at `step` below this value) with `seed`; errors get its path.
    fn read<S: de::DeserializeSeed<'a>>(
        &self,
        step: impl fmt::Display,
        v: &'a Value,
        seed: S,
    ) -> Result<S::Value, ModelError> {
        let r = self.child(step, v);
        let path = r.path.clone();
        seed.deserialize(r).map_err(|e| e.within(&path))
    }

    fn fail(&self, message: impl Into<String>) -> ModelError {
        ModelError::at(&self.path, message)
    }

    /// The value when it is known and not null.
    fn present(&self) -> Result<&'a Value, ModelError> {
        match self.v {
            Value::Null => Err(self.fail("is null, but a value is required")),
            Value::Unknown(_) => {
                Err(self.fail("is not known until apply, but a known value is required"))
            }
            v => Ok(v),
        }
    }
}

macro_rules! forward_to_any {
    ($($method:ident)*) => {
        $(fn $method<V: de::Visitor<'a>>(self, visitor: V) -> Result<V::Value, ModelError> {
            self.deserialize_any(visitor)
        })*
    };
}

impl<'a> de::Deserializer<'a> for Reader<'a> {
    type Error = ModelError;

    fn deserialize_any<V: de::Visitor<'a>>(self, visitor: V) -> Result<V::Value, ModelError> {
        let path = self.path.clone();
        let r = match self.present()? {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => visitor.visit_i64(i),
                None => visitor.visit_f64(n.as_f64()),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::List(items) => visitor.visit_seq(Items {
                items: items.iter().enumerate(),
                parent: &self,
            }),
            Value::Map(entries) => visitor.visit_map(Entries {
                entries: entries.iter(),
                pending: None,
                parent: &self,
            }),
            Value::Null | Value::Unknown(_) => Err(self.fail("no value")),
        };
        r.map_err(|e| e.within(&path))
    }

    fn deserialize_option<V: de::Visitor<'a>>(self, visitor: V) -> Result<V::Value, ModelError> {
        match self.v {
            Value::Null => visitor.visit_none(),
            Value::Unknown(_) => {
                Err(self
                    .fail("is not known until apply, but the model needs it known (use Known<T>)"))
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: de::Visitor<'a>>(self, visitor: V) -> Result<V::Value, ModelError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: de::Visitor<'a>>(
        self,
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: de::Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        if name == KNOWN {
            return match self.v {
                Value::Unknown(_) => visitor.visit_unit(),
                Value::Null => visitor.visit_none(),
                _ => visitor.visit_some(self),
            };
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: de::Visitor<'a>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        let Value::Map(entries) = self.present()? else {
            return Err(self.fail("expected an object"));
        };
        let path = self.path.clone();
        visitor
            .visit_map(Fields {
                fields: fields.iter(),
                entries,
                pending: None,
                parent: &self,
            })
            .map_err(|e| e.within(&path))
    }

    fn deserialize_enum<V: de::Visitor<'a>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        match self.present()? {
            Value::String(s) => {
                visitor
                    .visit_enum(s.as_str().into_deserializer())
                    .map_err(|_: ModelError| {
                        self.fail(format!("{s:?} is not one of {}", variants.join(", ")))
                    })
            }
            _ => Err(self.fail("expected a string naming one of its variants")),
        }
    }

    forward_to_any! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32
        deserialize_f64 deserialize_char deserialize_str deserialize_string deserialize_bytes
        deserialize_byte_buf deserialize_seq deserialize_map deserialize_identifier
    }

    fn deserialize_unit_struct<V: de::Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        visitor.visit_unit()
    }

    fn deserialize_tuple<V: de::Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple_struct<V: de::Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        self.deserialize_any(visitor)
    }
}

/// Elements of a list, set or tuple.
struct Items<'a, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
    parent: &'p Reader<'a>,
}

impl<'a> de::SeqAccess<'a> for Items<'a, '_> {
    type Error = ModelError;

    fn next_element_seed<S: de::DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ModelError> {
        match self.items.next() {
            Some((i, v)) => self.parent.read(format_args!("[{i}]"), v, seed).map(Some),
            None => Ok(None),
        }
    }
}

/// Entries of a map (or of an object read as a map).
struct Entries<'a, 'p> {
    entries: std::collections::btree_map::Iter<'a, String, Value>,
    pending: Option<(&'a String, &'a Value)>,
    parent: &'p Reader<'a>,
}

impl<'a> de::MapAccess<'a> for Entries<'a, '_> {
    type Error = ModelError;

    fn next_key_seed<K: de::DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ModelError> {
        match self.entries.next() {
            Some((k, v)) => {
                self.pending = Some((k, v));
                seed.deserialize(k.as_str().into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: de::DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ModelError> {
        let (k, v) = self
            .pending
            .take()
            .ok_or_else(|| self.parent.fail("map value without a key"))?;
        self.parent.read(format_args!("[{k:?}]"), v, seed)
    }
}

/// The attributes a struct declares, each read from the object (null when absent).
struct Fields<'a, 'p> {
    fields: std::slice::Iter<'static, &'static str>,
    entries: &'a BTreeMap<String, Value>,
    pending: Option<&'static str>,
    parent: &'p Reader<'a>,
}

impl<'a> de::MapAccess<'a> for Fields<'a, '_> {
    type Error = ModelError;

    fn next_key_seed<K: de::DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ModelError> {
        match self.fields.next() {
            Some(name) => {
                self.pending = Some(name);
                seed.deserialize((*name).into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: de::DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ModelError> {
        let name = self
            .pending
            .take()
            .ok_or_else(|| self.parent.fail("field value without a name"))?;
        let v = self.entries.get(name).unwrap_or(&NULL);
        self.parent.read(format_args!(".{name}"), v, seed)
    }
}

// ---- field names ----

/// Carries a struct's field list out of [`Probe`].
#[derive(Debug)]
struct ProbeError(Option<&'static [&'static str]>);

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a struct")
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<M: fmt::Display>(_: M) -> Self {
        ProbeError(None)
    }
}

/// A deserializer that only asks a struct for its field names.
struct Probe;

impl<'de> de::Deserializer<'de> for Probe {
    type Error = ProbeError;

    fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeError> {
        Err(ProbeError(None))
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ProbeError> {
        Err(ProbeError(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

// ---- model -> Value ----

/// A serializer producing [`Value`]s.
struct Writer;

fn int(i: i64) -> Result<Value, ModelError> {
    Ok(Value::Number(Number::Int(i)))
}

impl ser::Serializer for Writer {
    type Ok = Value;
    type Error = ModelError;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = ser::Impossible<Value, ModelError>;
    type SerializeMap = Object;
    type SerializeStruct = Object;
    type SerializeStructVariant = ser::Impossible<Value, ModelError>;

    fn serialize_bool(self, v: bool) -> Result<Value, ModelError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ModelError> {
        int(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ModelError> {
        int(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ModelError> {
        int(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ModelError> {
        int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ModelError> {
        int(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ModelError> {
        int(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ModelError> {
        int(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ModelError> {
        match i64::try_from(v) {
            Ok(i) => int(i),
            Err(_) => Ok(Value::Number(Number::Float(v as f64))),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ModelError> {
        Ok(Value::Number(Number::Float(v.into())))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ModelError> {
        Ok(Value::Number(Number::Float(v)))
    }
    fn serialize_char(self, v: char) -> Result<Value, ModelError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ModelError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Value, ModelError> {
        Err(ModelError::at("", "bytes have no Terraform type"))
    }
    fn serialize_none(self) -> Result<Value, ModelError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ModelError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ModelError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, ModelError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, ModelError> {
        Ok(Value::string(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, ModelError> {
        if name == KNOWN {
            return Ok(Value::unknown());
        }
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<Value, ModelError> {
        Err(ModelError::at(
            "",
            format!("{name}::{variant}: enum variants with data have no Terraform type"),
        ))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, ModelError> {
        Ok(Seq(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, ModelError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq, ModelError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ModelError> {
        Err(ModelError::at(
            "",
            format!("{name}::{variant}: enum variants with data have no Terraform type"),
        ))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object, ModelError> {
        Ok(Object::default())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object, ModelError> {
        Ok(Object::default())
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ModelError> {
        Err(ModelError::at(
            "",
            format!("{name}::{variant}: enum variants with data have no Terraform type"),
        ))
    }
}

/// A list being written.
struct Seq(Vec<Value>);

impl ser::SerializeSeq for Seq {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        let i = self.0.len();
        self.0.push(
            v.serialize(Writer)
                .map_err(|e| e.within(&format!("[{i}]")))?,
        );
        Ok(())
    }
    fn end(self) -> Result<Value, ModelError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ModelError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ModelError> {
        ser::SerializeSeq::end(self)
    }
}

/// An object or map being written.
#[derive(Default)]
struct Object {
    entries: BTreeMap<String, Value>,
    key: Option<String>,
}

impl ser::SerializeMap for Object {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ModelError> {
        match k.serialize(Writer)? {
            Value::String(s) => {
                self.key = Some(s);
                Ok(())
            }
            _ => Err(ModelError::at("", "map keys must be strings")),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ModelError::at("", "map value without a key"))?;
        let value = v
            .serialize(Writer)
            .map_err(|e| e.within(&format!("[{key:?}]")))?;
        self.entries.insert(key, value);
        Ok(())
    }
    fn end(self) -> Result<Value, ModelError> {
        Ok(Value::Map(self.entries))
    }
}

impl ser::SerializeStruct for Object {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), ModelError> {
        let value = v
            .serialize(Writer)
            .map_err(|e| e.within(&format!(".{name}")))?;
        self.entries.insert(name.to_string(), value);
        Ok(())
    }
    fn end(self) -> Result<Value, ModelError> {
        Ok(Value::Map(self.entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;
    use crate::types::Type;
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeSet;

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Dynamic,
        Static,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Endpoint {
        host: String,
        port: u16,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Model {
        id: Known<String>,
        name: String,
        owner: Option<String>,
        limit: i64,
        ratio: f64,
        enabled: bool,
        mode: Mode,
        tags: Vec<String>,
        extensions: BTreeSet<String>,
        labels: BTreeMap<String, String>,
        endpoint: Option<Endpoint>,
        replicas: Vec<Endpoint>,
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn sample() -> Value {
        obj(&[
            ("id", Value::unknown()),
            ("name", Value::string("app")),
            ("owner", Value::Null),
            ("limit", Value::int(-1)),
            ("ratio", Value::Number(Number::Float(0.5))),
            ("enabled", Value::Bool(true)),
            ("mode", Value::string("static")),
            ("tags", Value::from_strings(["b", "a"])),
            ("extensions", Value::from_strings(["citext", "hstore"])),
            ("labels", obj(&[("team", Value::string("x"))])),
            (
                "endpoint",
                obj(&[("host", Value::string("h")), ("port", Value::int(6432))]),
            ),
            ("replicas", Value::List(vec![])),
        ])
    }

    #[test]
    fn objects_round_trip_through_structs() {
        let v = sample();
        let m: Model = v.to_model().unwrap();
        assert_eq!(m.id, Known::Unknown);
        assert_eq!(m.name, "app");
        assert_eq!(m.owner, None);
        assert_eq!(m.limit, -1);
        assert_eq!(m.ratio, 0.5);
        assert!(m.enabled);
        assert_eq!(m.mode, Mode::Static);
        assert_eq!(m.tags, ["b", "a"]);
        assert!(m.extensions.contains("hstore"));
        assert_eq!(m.labels["team"], "x");
        assert_eq!(
            m.endpoint,
            Some(Endpoint {
                host: "h".into(),
                port: 6432
            })
        );
        assert_eq!(Value::from_model(&m).unwrap(), v);
    }

    #[test]
    fn missing_attributes_read_as_null_and_extra_ones_are_ignored() {
        #[derive(Deserialize)]
        struct Part {
            name: String,
            owner: Option<String>,
            id: Known<String>,
        }
        let mut v = sample();
        v.set("id", Value::Null);
        let p: Part = obj(&[("name", Value::string("x")), ("other", Value::Bool(true))])
            .to_model()
            .unwrap();
        assert_eq!((p.name.as_str(), p.owner, p.id), ("x", None, Known::Null));
    }

    #[test]
    fn errors_name_the_attribute_path() {
        let mut v = sample();
        v.set("name", Value::unknown());
        assert_eq!(v.to_model::<Model>().unwrap_err().path, ".name");
        let mut v = sample();
        v.set("owner", Value::unknown());
        assert_eq!(v.to_model::<Model>().unwrap_err().path, ".owner");
        let mut v = sample();
        v.set("mode", Value::string("both"));
        let e = v.to_model::<Model>().unwrap_err();
        assert_eq!(e.path, ".mode");
        assert!(e.message.contains("dynamic, static"), "{e}");
        let mut v = sample();
        v.set("endpoint", obj(&[("host", Value::string("h"))]));
        assert_eq!(v.to_model::<Model>().unwrap_err().path, ".endpoint.port");
        let mut v = sample();
        v.set(
            "replicas",
            Value::List(vec![obj(&[
                ("host", Value::string("h")),
                ("port", Value::string("x")),
            ])]),
        );
        assert_eq!(v.to_model::<Model>().unwrap_err().path, ".replicas[0].port");
        let mut v = sample();
        v.set("limit", Value::Number(Number::Float(1.5)));
        assert_eq!(v.to_model::<Model>().unwrap_err().path, ".limit");
        let mut v = sample();
        v.set(
            "endpoint",
            obj(&[("host", Value::string("h")), ("port", Value::int(70000))]),
        );
        assert_eq!(v.to_model::<Model>().unwrap_err().path, ".endpoint.port");
    }

    #[test]
    fn known_maps_null_unknown_and_values() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct K {
            a: Known<i64>,
            b: Known<i64>,
            c: Known<Vec<String>>,
        }
        let v = obj(&[
            ("a", Value::unknown()),
            ("b", Value::Null),
            ("c", Value::from_strings(["x"])),
        ]);
        let k: K = v.to_model().unwrap();
        assert_eq!(
            k,
            K {
                a: Known::Unknown,
                b: Known::Null,
                c: Known::Value(vec!["x".into()])
            }
        );
        assert_eq!(Value::from_model(&k).unwrap(), v);
        assert_eq!(k.c.as_option().map(Vec::len), Some(1));
        assert_eq!(Known::from(Some(1)), Known::Value(1));
        let n: Number = Value::Number(Number::Float(1.5)).to_model().unwrap();
        assert_eq!(
            Value::from_model(&n).unwrap(),
            Value::Number(Number::Float(1.5))
        );
    }

    #[test]
    fn merge_overwrites_only_the_parts_attributes() {
        #[derive(Serialize)]
        struct Part {
            owner: Known<String>,
        }
        let mut v = sample();
        v.merge_model(&Part {
            owner: Known::Unknown,
        })
        .unwrap();
        assert!(v.get("owner").is_unknown());
        assert_eq!(v.get("name").as_str(), Some("app"));
    }

    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            Just(Value::unknown()),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::int),
            (-1e9f64..1e9).prop_map(|f| Value::Number(Number::Float(f))),
            "[a-z]{0,3}".prop_map(Value::String),
            prop_oneof![Just("static"), Just("dynamic")].prop_map(Value::string),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            let names = prop_oneof![
                Just("id"),
                Just("name"),
                Just("owner"),
                Just("limit"),
                Just("mode"),
                Just("tags"),
                Just("endpoint"),
                Just("host"),
                Just("port"),
                Just("replicas"),
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                proptest::collection::btree_map(names.prop_map(String::from), inner, 0..10)
                    .prop_map(Value::Map),
            ]
        })
    }

    proptest::proptest! {
        /// Values come from Terraform: any shape is an error or a model, never a panic,
        /// and a model read from a value writes back to a value that reads the same.
        #[test]
        fn any_value_decodes_or_fails_without_panicking(v in any_value()) {
            if let Ok(m) = v.to_model::<Model>() {
                let again: Model = Value::from_model(&m).unwrap().to_model().unwrap();
                proptest::prop_assert_eq!(again, m);
            }
        }
    }

    #[test]
    fn field_names_are_checked_against_the_schema() {
        assert_eq!(fields_of::<Endpoint>(), ["host", "port"]);
        let block = Block::new("")
            .attr(Attribute::string("host"))
            .attr(Attribute::number("port"));
        assert!(check_model::<Endpoint>(&block).is_ok());
        let block = block.attr(Attribute::typed("tags", Type::list_of(Type::String)));
        let e = check_model::<Endpoint>(&block).unwrap_err();
        assert!(e.contains("tags"), "{e}");
    }
}
