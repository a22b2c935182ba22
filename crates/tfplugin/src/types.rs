//! cty types and their JSON form, which Terraform uses in schemas (`Attribute.type`)
//! and inside dynamic values: `"string"`, `["list","number"]`, `["object",{"a":"bool"}]`.

use std::collections::BTreeMap;

/// A cty type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`
    Bool,
    /// `number`
    Number,
    /// `string`
    String,
    /// `dynamic`: the type is carried beside the value.
    Dynamic,
    /// `list(T)`
    List(Box<Type>),
    /// `set(T)`
    Set(Box<Type>),
    /// `map(T)`
    Map(Box<Type>),
    /// `object({...})`
    Object(BTreeMap<String, Type>),
    /// `tuple([...])`
    Tuple(Vec<Type>),
}

/// A JSON document that is not a cty type.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid cty type JSON: {0}")]
pub struct TypeError(pub String);

impl Type {
    /// `list(string)`, the commonest collection in schemas.
    pub fn list_of(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    /// `set(T)`.
    pub fn set_of(t: Type) -> Type {
        Type::Set(Box::new(t))
    }

    /// `map(T)`.
    pub fn map_of(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    /// The JSON form Terraform expects in `Schema.Attribute.type`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Type::Bool => json!("bool"),
            Type::Number => json!("number"),
            Type::String => json!("string"),
            Type::Dynamic => json!("dynamic"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(attrs) => {
                let obj: serde_json::Map<_, _> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                json!(["object", obj])
            }
            Type::Tuple(ts) => json!(["tuple", ts.iter().map(Type::to_json).collect::<Vec<_>>()]),
        }
    }

    /// The type JSON as bytes, ready for the protocol's `bytes type` field.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses cty type JSON. Optional-attribute markers (a third element of an object
    /// type) are accepted and ignored.
    pub fn from_json(json: &serde_json::Value) -> Result<Type, TypeError> {
        Self::from_json_depth(json, 0)
    }

    fn from_json_depth(json: &serde_json::Value, depth: usize) -> Result<Type, TypeError> {
        use serde_json::Value as J;
        if depth > 64 {
            return Err(TypeError("nested too deeply".into()));
        }
        match json {
            J::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(TypeError(format!("unknown primitive type {other:?}"))),
            },
            J::Array(parts) if parts.len() >= 2 => {
                let kind = parts[0]
                    .as_str()
                    .ok_or_else(|| TypeError("type kind must be a string".into()))?;
                let arg = &parts[1];
                let elem = || Self::from_json_depth(arg, depth + 1).map(Box::new);
                match kind {
                    "list" if parts.len() == 2 => Ok(Type::List(elem()?)),
                    "set" if parts.len() == 2 => Ok(Type::Set(elem()?)),
                    "map" if parts.len() == 2 => Ok(Type::Map(elem()?)),
                    "object" if parts.len() <= 3 => {
                        let attrs = arg.as_object().ok_or_else(|| {
                            TypeError("object attributes must be a JSON object".into())
                        })?;
                        attrs
                            .iter()
                            .map(|(k, v)| Ok((k.clone(), Self::from_json_depth(v, depth + 1)?)))
                            .collect::<Result<_, _>>()
                            .map(Type::Object)
                    }
                    "tuple" if parts.len() == 2 => {
                        let elems = arg
                            .as_array()
                            .ok_or_else(|| TypeError("tuple elements must be an array".into()))?;
                        elems
                            .iter()
                            .map(|v| Self::from_json_depth(v, depth + 1))
                            .collect::<Result<_, _>>()
                            .map(Type::Tuple)
                    }
                    other => Err(TypeError(format!("unknown type kind {other:?}"))),
                }
            }
            other => Err(TypeError(format!("unexpected {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_json_matches_terraform_spelling() {
        let ty = Type::Object(BTreeMap::from([
            ("names".to_string(), Type::list_of(Type::String)),
            ("limits".to_string(), Type::map_of(Type::Number)),
            ("tags".to_string(), Type::set_of(Type::Bool)),
            (
                "pair".to_string(),
                Type::Tuple(vec![Type::String, Type::Dynamic]),
            ),
        ]));
        let expected = json!(["object", {
            "limits": ["map", "number"],
            "names": ["list", "string"],
            "pair": ["tuple", ["string", "dynamic"]],
            "tags": ["set", "bool"],
        }]);
        assert_eq!(ty.to_json(), expected);
        assert_eq!(Type::from_json(&expected).unwrap(), ty);
    }

    #[test]
    fn optional_attribute_marker_is_accepted() {
        let j = json!(["object", {"a": "string"}, ["a"]]);
        assert_eq!(
            Type::from_json(&j).unwrap(),
            Type::Object(BTreeMap::from([("a".into(), Type::String)]))
        );
    }

    #[test]
    fn malformed_type_json_is_an_error() {
        for bad in [
            json!("text"),
            json!(["list"]),
            json!(["list", "string", "x"]),
            json!(["bag", "string"]),
            json!(3),
            json!(["object", []]),
        ] {
            assert!(Type::from_json(&bad).is_err(), "{bad} accepted");
        }
    }
}
