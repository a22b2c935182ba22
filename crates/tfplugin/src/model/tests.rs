//! Round trips between values and models.

use super::*;
use crate::schema::{Attribute, Block};
use crate::types::Type;
use crate::value::Number;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    Value::object(pairs)
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

#[test]
fn the_frameworks_timeouts_block_needs_no_model_field() {
    use crate::timeouts::Op;
    let block = Block::new("")
        .attr(Attribute::string("host"))
        .attr(Attribute::number("port"))
        .timeouts(&[Op::Delete]);
    assert!(check_model::<Endpoint>(&block).is_ok());
    let block = block.single_block("other", Block::new(""));
    let e = check_model::<Endpoint>(&block).unwrap_err();
    assert!(e.contains("other") && !e.contains("timeouts"), "{e}");
}

#[test]
fn write_errors_name_the_whole_path() {
    #[derive(serde::Serialize)]
    struct Inner {
        port: i64,
        blob: Blob,
    }
    /// Serializes as bytes, which have no Terraform type.
    struct Blob;
    impl serde::Serialize for Blob {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(b"x")
        }
    }
    #[derive(serde::Serialize)]
    struct Outer {
        postgres: Vec<Inner>,
        top: Blob,
    }
    let e = Value::from_model(&Outer {
        postgres: vec![Inner {
            port: 1,
            blob: Blob,
        }],
        top: Blob,
    })
    .unwrap_err();
    assert_eq!(e.path, ".postgres[0].blob", "{e}");
    let e = Value::from_model(&Blob).unwrap_err();
    assert_eq!(e.path, ".", "{e}");
    let e = Value::from_model(&Inner {
        port: 1,
        blob: Blob,
    })
    .unwrap_err();
    assert_eq!(e.path, ".blob", "{e}");
}
