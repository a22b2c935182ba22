//! A model's field names, and their check against a schema.

use std::fmt;

use serde::de::{self, DeserializeOwned};

use crate::schema::Block;

/// The attribute names a model struct reads, in declaration order (after renames).
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(Probe) {
        Err(ProbeError(Some(fields))) => fields,
        _ => &[],
    }
}

/// Checks that a model has exactly the block's attributes and nested blocks; `Err`
/// names what one has and the other lacks. The framework's `timeouts` block
/// ([`crate::timeouts`]) needs no field (a model may still have one).
pub fn check_model<T: DeserializeOwned>(block: &Block) -> Result<(), String> {
    let fields: std::collections::BTreeSet<&str> = fields_of::<T>().iter().copied().collect();
    let timeouts = crate::timeouts::TIMEOUTS;
    let schema: std::collections::BTreeSet<&str> = block
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .chain(block.blocks.iter().map(|b| b.name.as_str()))
        .filter(|name| *name != timeouts || fields.contains(timeouts))
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
