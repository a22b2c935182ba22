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

mod check;
mod known;
mod read;
#[cfg(test)]
mod tests;
mod write;

use std::fmt;

use serde::de::{self, DeserializeOwned};
use serde::ser::{self, Serialize};

use crate::value::{shown_path, Step, Value};

pub use check::{check_model, fields_of};
pub use known::Known;
use read::Reader;
use write::Writer;

/// The serde name by which [`Known`] finds the [`Value`] (de)serializers.
const KNOWN: &str = "$tfplugin::Known";

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{path}: {message}")]
pub struct ModelError {
    /// Where in the value, like `.postgres.port` (`.` for the whole value).
    pub path: String,
    /// What did not fit.
    pub message: String,
}

impl ModelError {
    pub(super) fn at(path: &str, message: impl Into<String>) -> Self {
        ModelError {
            path: shown_path(path),
            message: message.into(),
        }
    }

    /// An error from below `step` on the way out of the writer: the path gets `step` in
    /// front, one level at a time (`.` is the error's own level).
    pub(super) fn under(mut self, step: Step<'_>) -> Self {
        let rest = if self.path == "." { "" } else { &self.path };
        self.path = format!("{step}{rest}");
        self
    }

    /// Errors raised by serde's derived code carry no path: give them this one.
    pub(super) fn within(mut self, path: &str) -> Self {
        if self.path.is_empty() {
            self.path = shown_path(path);
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

/// Declares a data source's or ephemeral resource's name and its model inside its
/// `impl DataSource` (or `EphemeralResource`) block: writes `type_name` and
/// `check_model` (the model against the schema's block), so each type names its model once:
/// `tfplugin::typed!("x_thing", Model);`. A [`crate::TypedResource`] names its model as
/// `type Model` and the adapter derives the check.
#[macro_export]
macro_rules! typed {
    ($name:literal, $model:ty) => {
        fn type_name(&self) -> &'static str {
            $name
        }

        fn check_model(
            &self,
            block: &$crate::Block,
        ) -> ::std::result::Result<(), ::std::string::String> {
            $crate::model::check_model::<$model>(block)
        }
    };
}
