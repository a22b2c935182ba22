//! Value -> model: a serde deserializer over a borrowed [`Value`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, IntoDeserializer};

use super::{ModelError, KNOWN};
use crate::value::Value;

/// A deserializer over a borrowed value that knows where in the whole value it is.
pub(super) struct Reader<'a> {
    pub(super) v: &'a Value,
    pub(super) path: String,
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
