//! Model -> value: a serde serializer producing [`Value`]s.

use std::collections::BTreeMap;

use serde::ser::{self, Serialize};

use super::{ModelError, KNOWN};
use crate::value::{Number, Step, Value};

/// A serializer producing [`Value`]s.
pub(super) struct Writer;

/// The error for an enum variant that carries data (newtype, tuple or struct variant).
fn variant_with_data(name: &str, variant: &str) -> ModelError {
    ModelError::at(
        "",
        format!("{name}::{variant}: enum variants with data have no Terraform type"),
    )
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
        Ok(Value::int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ModelError> {
        Ok(Value::int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ModelError> {
        Ok(Value::int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ModelError> {
        Ok(Value::int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ModelError> {
        Ok(Value::int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ModelError> {
        Ok(Value::int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ModelError> {
        Ok(Value::int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ModelError> {
        match i64::try_from(v) {
            Ok(i) => Ok(Value::int(i)),
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
        Err(variant_with_data(name, variant))
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
        Err(variant_with_data(name, variant))
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
        Err(variant_with_data(name, variant))
    }
}

/// A list being written.
pub(super) struct Seq(Vec<Value>);

impl ser::SerializeSeq for Seq {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ModelError> {
        let i = self.0.len();
        self.0
            .push(v.serialize(Writer).map_err(|e| e.under(Step::Index(i)))?);
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
pub(super) struct Object {
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
        let value = v.serialize(Writer).map_err(|e| e.under(Step::Key(&key)))?;
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
        let value = v.serialize(Writer).map_err(|e| e.under(Step::Attr(name)))?;
        self.entries.insert(name.to_string(), value);
        Ok(())
    }
    fn end(self) -> Result<Value, ModelError> {
        Ok(Value::Map(self.entries))
    }
}
