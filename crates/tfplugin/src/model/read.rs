//! Value -> model: a serde deserializer over a borrowed [`Value`].

use serde::de::{self, IntoDeserializer};

use super::{ModelError, KNOWN};
use crate::value::{Step, Value};

/// A deserializer over a borrowed value that knows where in the whole value it is.
pub(super) struct Reader<'a> {
    pub(super) v: &'a Value,
    pub(super) path: String,
}

impl<'a> Reader<'a> {
    fn child(&self, step: Step<'_>, v: &'a Value) -> Reader<'a> {
        Reader {
            v,
            path: format!("{}{step}", self.path),
        }
    }

    /// Reads child `v` (at `step` below this value) with `seed`; errors get its path.
    fn read<S: de::DeserializeSeed<'a>>(
        &self,
        step: Step<'_>,
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

    // Errors below carry no path of their own only when serde's derived code raised them;
    // `read` (and `to_model` at the root) gives them this value's path.
    fn deserialize_any<V: de::Visitor<'a>>(self, visitor: V) -> Result<V::Value, ModelError> {
        match self.present()? {
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
            Value::Map(entries) => visitor.visit_map(Pairs {
                pairs: entries.iter().map(|(k, v)| (k.as_str(), v)),
                step: Step::Key,
                unpaired: "map value without a key",
                pending: None,
                parent: &self,
            }),
            Value::Null | Value::Unknown(_) => Err(self.fail("no value")),
        }
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
        let Value::Map(_) = self.present()? else {
            return Err(self.fail("expected an object"));
        };
        visitor.visit_map(Pairs {
            pairs: fields.iter().map(|name| (*name, self.v.get(name))),
            step: Step::Attr,
            unpaired: "field value without a name",
            pending: None,
            parent: &self,
        })
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
            Some((i, v)) => self.parent.read(Step::Index(i), v, seed).map(Some),
            None => Ok(None),
        }
    }
}

/// Named values handed to a visitor as a map: the entries of a map (or of an object
/// read as a map), each at `["key"]`, or the fields a struct declares, each at `.name`
/// and read from the object (null when absent).
struct Pairs<'a, 'p, I> {
    pairs: I,
    /// How a name is spelled in the path: [`Step::Key`] or [`Step::Attr`].
    step: fn(&'a str) -> Step<'a>,
    /// The error when a value is asked for before its name.
    unpaired: &'static str,
    pending: Option<(&'a str, &'a Value)>,
    parent: &'p Reader<'a>,
}

impl<'a, I: Iterator<Item = (&'a str, &'a Value)>> de::MapAccess<'a> for Pairs<'a, '_, I> {
    type Error = ModelError;

    fn next_key_seed<K: de::DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ModelError> {
        match self.pairs.next() {
            Some((name, v)) => {
                self.pending = Some((name, v));
                seed.deserialize(name.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: de::DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ModelError> {
        let (name, v) = self
            .pending
            .take()
            .ok_or_else(|| self.parent.fail(self.unpaired))?;
        self.parent.read((self.step)(name), v, seed)
    }
}
