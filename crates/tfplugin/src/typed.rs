//! Types written on their model: [`TypedResource`] takes and returns the type's model
//! struct instead of [`Value`]s, like terraform-plugin-framework's `req.Plan.Get(ctx,
//! &model)`. One blanket adapter implements [`Resource`] for every [`TypedResource`]:
//! it decodes plan and state (a value that does not fit is an error
//! diagnostic at the attribute it names), calls the typed method and encodes its answer.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::diagnostics::{AttributePath, Diagnostics};
use crate::model::ModelError;
use crate::outcome::{Applied, Error, Failure};
use crate::value::Value;
use crate::{Ctx, Resource, ResourceType};

/// The top-level attribute a model error's path (`.name.sub[0]`) starts with, if any.
fn error_path(e: &ModelError) -> Option<AttributePath> {
    let name = e.path.strip_prefix('.')?.split(['.', '[']).next()?;
    (!name.is_empty()).then(|| AttributePath::attr(name))
}

/// Records an internal error about a value that does not fit a model (a bug of the
/// provider: its schema and model disagree), at the attribute the error names.
fn model_error(diags: &mut Diagnostics, summary: &str, e: ModelError) {
    let detail = format!("{e}. This is a bug in the provider; please report it.");
    match error_path(&e) {
        Some(path) => diags.error_at(path, summary, detail),
        None => diags.error(summary, detail),
    }
}

/// Decodes a plan, state or configuration into a model; a value that does not fit is
/// an error diagnostic and `None`.
pub fn decode<M: DeserializeOwned>(diags: &mut Diagnostics, v: &Value) -> Option<M> {
    v.to_model()
        .map_err(|e| {
            model_error(
                diags,
                "Internal error: value does not fit the resource model",
                e,
            )
        })
        .ok()
}

/// Encodes a model as a value; a model that cannot be encoded is an error diagnostic
/// and `None`.
pub fn encode<M: Serialize>(diags: &mut Diagnostics, m: &M) -> Option<Value> {
    Value::from_model(m)
        .map_err(|e| {
            model_error(
                diags,
                "Internal error: the resource model cannot be encoded",
                e,
            )
        })
        .ok()
}

/// Decodes like [`decode`], as an [`Error`] for the CRUD adapter's `?`.
pub fn try_decode<M: DeserializeOwned>(v: &Value) -> Result<M, Error> {
    let mut diags = Diagnostics::default();
    decode(&mut diags, v).ok_or_else(|| fault(diags))
}

/// Encodes like [`encode`], as an [`Error`].
pub fn try_encode<M: Serialize>(m: &M) -> Result<Value, Error> {
    let mut diags = Diagnostics::default();
    encode(&mut diags, m).ok_or_else(|| fault(diags))
}

fn fault(mut diags: Diagnostics) -> Error {
    Error::take_from(&mut diags).unwrap_or_else(|| Error::new("Internal error", ""))
}

/// A failure on the model as one on values: a partial object that cannot be encoded
/// is reported with its own error (nothing is recorded).
fn encode_failure<M: Serialize>(f: Failure<M>) -> Failure<Value> {
    match f {
        Failure::Error(e) => Failure::Error(e),
        Failure::Tainted { partial, error } => match try_encode(&partial) {
            Ok(v) => error.tainted(v),
            Err(e) => Failure::Error(error.and(e)),
        },
    }
}

/// A managed resource type's CRUD written on its model: every [`TypedResource`] is a
/// [`Resource`] through the blanket adapter of this module. Name, schema and plan
/// hooks come from its [`ResourceType`].
#[async_trait::async_trait]
pub trait TypedResource<C>: ResourceType<C> {
    /// The model: one field per schema attribute (checked at start-up).
    type Model: Serialize + DeserializeOwned + Send + Sync;

    /// Creates the object; returns the new state or a failure (an error, or a partial
    /// object recorded tainted). The configuration stays a [`Value`]: attributes left to
    /// their defaults are null in it, which a model's plain fields refuse.
    async fn create(
        &self,
        ctx: &mut Ctx<'_, C>,
        planned: Self::Model,
        config: &Value,
    ) -> Applied<Self::Model>;

    /// Reads the object; `Ok(None)` means it no longer exists.
    async fn read(
        &self,
        ctx: &mut Ctx<'_, C>,
        state: Self::Model,
    ) -> Result<Option<Self::Model>, Error>;

    /// Updates in place; returns the new state (the configuration as in `create`).
    async fn update(
        &self,
        ctx: &mut Ctx<'_, C>,
        prior: Self::Model,
        planned: Self::Model,
        config: &Value,
    ) -> Applied<Self::Model>;

    /// Deletes the object.
    async fn delete(&self, ctx: &mut Ctx<'_, C>, prior: Self::Model) -> Result<(), Error>;
}

/// The adapter: decode, call the typed method, encode; a failure's partial object is
/// encoded here, once for every type.
#[async_trait::async_trait]
impl<C: Send + Sync, T: TypedResource<C>> Resource<C> for T {
    fn check_model(&self, block: &crate::Block) -> Result<(), String> {
        crate::model::check_model::<T::Model>(block)
    }

    async fn create(
        &self,
        ctx: &mut Ctx<'_, C>,
        planned: &Value,
        config: &Value,
    ) -> Applied<Value> {
        let planned = try_decode(planned)?;
        let state = TypedResource::create(self, ctx, planned, config)
            .await
            .map_err(encode_failure)?;
        Ok(try_encode(&state)?)
    }

    async fn read(&self, ctx: &mut Ctx<'_, C>, state: &Value) -> Result<Option<Value>, Error> {
        let state = try_decode(state)?;
        match TypedResource::read(self, ctx, state).await? {
            Some(fresh) => Ok(Some(try_encode(&fresh)?)),
            None => Ok(None),
        }
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_, C>,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Applied<Value> {
        let prior = try_decode(prior)?;
        let planned = try_decode(planned)?;
        let state = TypedResource::update(self, ctx, prior, planned, config)
            .await
            .map_err(encode_failure)?;
        Ok(try_encode(&state)?)
    }

    async fn delete(&self, ctx: &mut Ctx<'_, C>, prior: &Value) -> Result<(), Error> {
        let prior = try_decode(prior)?;
        TypedResource::delete(self, ctx, prior).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_error_points_at_its_top_level_attribute() {
        let at = |p: &str| {
            error_path(&ModelError {
                path: p.into(),
                message: String::new(),
            })
        };
        assert_eq!(at(".port"), Some(AttributePath::attr("port")));
        assert_eq!(at(".postgres.port"), Some(AttributePath::attr("postgres")));
        assert_eq!(at(".hosts[1]"), Some(AttributePath::attr("hosts")));
        assert_eq!(at("."), None);
    }

    #[test]
    fn a_value_that_does_not_fit_is_an_error_at_its_attribute() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct M {
            port: i64,
        }
        let mut diags = Diagnostics::default();
        let v = Value::object(&[("port", Value::string("x"))]);
        assert!(decode::<M>(&mut diags, &v).is_none());
        assert_eq!(diags.0.len(), 1);
        assert_eq!(diags.0[0].attribute, Some(AttributePath::attr("port")));
        assert!(diags.has_errors());
    }
}
