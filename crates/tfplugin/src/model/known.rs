//! [`Known`]: a value that may be unknown or null, and serde for [`Number`].

use std::fmt;
use std::marker::PhantomData;

use serde::de;
use serde::ser::{self, Serialize};
use serde::Deserialize;

use super::KNOWN;
use crate::value::Number;

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
