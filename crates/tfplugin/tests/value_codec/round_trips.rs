//! Hand-written round trips through msgpack and JSON.

use super::*;

#[test]
fn nulls_round_trip_everywhere() {
    for ty in sample_types() {
        assert_round_trips_everywhere(&ty, &Value::Null);
    }
}

#[test]
fn plain_unknowns_round_trip_everywhere() {
    for ty in sample_types() {
        assert_round_trips_everywhere(&ty, &Value::unknown());
    }
}

#[test]
fn not_null_refinement_round_trips_everywhere() {
    for ty in sample_types().into_iter().filter(|t| *t != Type::Dynamic) {
        assert_round_trips_everywhere(&ty, &unknown_with(not_null()));
    }
}

#[test]
fn length_refinements_round_trip_everywhere() {
    let collections = [
        Type::list_of(Type::String),
        Type::set_of(Type::Number),
        Type::map_of(Type::Bool),
    ];
    let refinements = [
        length(Some(1), Some(3)),
        length(Some(0), None),
        length(None, Some(1000)),
        length(Some(70_000), Some(i64::MAX)),
        Refinements {
            null: Some(false),
            ..length(Some(2), Some(2))
        },
    ];
    for ty in &collections {
        for r in &refinements {
            assert_round_trips_everywhere(ty, &unknown_with(r.clone()));
        }
    }
}

#[test]
fn string_prefix_refinement_round_trips_everywhere() {
    for prefix in ["pre-", "", "日本-🦀", "x"] {
        assert_round_trips_everywhere(&Type::String, &unknown_with(prefixed(prefix)));
    }
}

#[test]
fn number_bound_refinements_round_trip_everywhere() {
    let refinements = [
        bounded(Some((Number::Int(0), true)), Some((Number::Int(10), false))),
        bounded(Some((Number::Int(-5), false)), None),
        bounded(None, Some((Number::Float(2.5), true))),
        bounded(
            Some((Number::Float(-1e300), true)),
            Some((Number::Int(i64::MAX), true)),
        ),
        Refinements {
            null: Some(false),
            ..bounded(Some((Number::Int(1), true)), None)
        },
    ];
    for r in refinements {
        assert_round_trips_everywhere(&Type::Number, &unknown_with(r));
    }
}

/// The exact nested-block shape with unknowns at each of its levels.
#[test]
fn nested_block_shape_with_unknowns_at_every_level() {
    let ty = nested_block_ty(Type::String);
    let rule = |name: Value, hosts: Value| obj(&[("name", name), ("hosts", hosts)]);
    let cases = [
        // Unknown id, known rules.
        obj(&[
            ("id", unknown_with(not_null())),
            (
                "rule",
                list(&[rule(Value::string("a"), Value::from_strings(["h1", "h2"]))]),
            ),
        ]),
        // Unknown set of hosts with length bounds, unknown set element.
        obj(&[
            ("id", Value::string("x")),
            (
                "rule",
                list(&[
                    rule(Value::string("a"), unknown_with(length(Some(1), Some(5)))),
                    rule(
                        Value::unknown(),
                        list(&[
                            Value::string("h"),
                            Value::unknown(),
                            unknown_with(not_null()),
                        ]),
                    ),
                ]),
            ),
        ]),
        // Unknown block in the list, and a wholly unknown list of blocks.
        obj(&[
            ("id", Value::Null),
            (
                "rule",
                list(&[unknown_with(not_null()), rule(Value::Null, Value::Null)]),
            ),
        ]),
        obj(&[
            ("id", Value::string("y")),
            ("rule", unknown_with(length(Some(0), Some(3)))),
        ]),
        unknown_with(not_null()),
        Value::unknown(),
        Value::Null,
    ];
    for v in &cases {
        assert_round_trips(v, &ty);
    }
}

#[test]
fn numbers_round_trip_and_keep_their_variant() {
    let numbers = [
        Number::Int(0),
        Number::Int(1),
        Number::Int(-1),
        Number::Int(127),
        Number::Int(128),
        Number::Int(255),
        Number::Int(256),
        Number::Int(-32),
        Number::Int(-33),
        Number::Int(-129),
        Number::Int(65_536),
        Number::Int(4_294_967_296),
        Number::Int(-2_147_483_649),
        Number::Int(i64::MAX),
        Number::Int(i64::MIN),
        Number::Float(0.5),
        Number::Float(-1.25),
        Number::Float(2.0),
        Number::Float(-0.0),
        Number::Float(0.1),
        Number::Float(1e300),
        Number::Float(-1e-300),
        Number::Float(f64::MIN_POSITIVE),
        Number::Float(5e-324),
        Number::Float(f64::MAX),
        Number::Float(9_007_199_254_740_992.0),
        Number::Float(4_503_599_627_370_495.5),
    ];
    for n in numbers {
        let v = Value::Number(n);
        assert_round_trips(&v, &Type::Number);
        assert_round_trips(
            &list(&[v.clone(), Value::Null]),
            &Type::list_of(Type::Number),
        );
        for back in [
            Value::from_msgpack(&v.to_msgpack(&Type::Number), &Type::Number).unwrap(),
            Value::from_json(&v.to_json(&Type::Number), &Type::Number).unwrap(),
        ] {
            match (n, back) {
                (Number::Int(a), Value::Number(Number::Int(b))) => assert_eq!(a, b),
                (Number::Float(a), Value::Number(Number::Float(b))) => {
                    assert_eq!(a.to_bits(), b.to_bits(), "{a} came back as {b}")
                }
                (n, back) => panic!("{n:?} came back as {back:?}"),
            }
        }
    }
    // Infinity is a cty number and survives msgpack (JSON cannot hold it).
    for f in [f64::INFINITY, f64::NEG_INFINITY] {
        assert_msgpack_round_trip(&float(f), &Type::Number);
    }
}

#[test]
fn number_wire_bytes() {
    let cases: [(Number, &[u8]); 8] = [
        (Number::Int(1), &[0x01]),
        (Number::Int(-1), &[0xff]),
        (Number::Int(200), &[0xcc, 200]),
        (Number::Int(-100), &[0xd0, 0x9c]),
        (Number::Int(1000), &[0xcd, 0x03, 0xe8]),
        (Number::Int(i64::MIN), &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        (Number::Float(0.5), &[0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]),
        (Number::Float(2.0), &[0xcb, 0x40, 0x00, 0, 0, 0, 0, 0, 0]),
    ];
    for (n, bytes) in cases {
        assert_eq!(Value::Number(n).to_msgpack(&Type::Number), bytes, "{n:?}");
    }
}

#[test]
fn numbers_in_other_wire_forms_decode() {
    // cty writes numbers that fit neither int64 nor float64 as decimal strings.
    let from_str = |s: &str| {
        let mut bytes = vec![0xa0 | s.len() as u8];
        bytes.extend_from_slice(s.as_bytes());
        Value::from_msgpack(&bytes, &Type::Number)
    };
    assert_eq!(from_str("10"), Ok(Value::int(10)));
    assert_eq!(from_str("1.5"), Ok(float(1.5)));
    assert_eq!(from_str("-7"), Ok(Value::int(-7)));
    assert!(from_str("1e400").is_err(), "infinite decimal text accepted");
    assert!(from_str("ten").is_err());
    // float32
    assert_eq!(
        Value::from_msgpack(&[0xca, 0x3f, 0xc0, 0, 0], &Type::Number),
        Ok(float(1.5))
    );
    // uint64 above i64::MAX becomes a float.
    let big = Value::from_msgpack(
        &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &Type::Number,
    )
    .unwrap();
    assert!(
        matches!(big, Value::Number(Number::Float(f)) if f == 2f64.powi(64)),
        "{big:?}"
    );
    // int8 / int64 markers for small values are accepted.
    assert_eq!(
        Value::from_msgpack(&[0xd0, 0x05], &Type::Number),
        Ok(Value::int(5))
    );
    assert_eq!(
        Value::from_msgpack(&[0xd3, 0, 0, 0, 0, 0, 0, 0, 0x2a], &Type::Number),
        Ok(Value::int(42))
    );
}

#[test]
fn empty_collections_round_trip() {
    let cases = [
        (
            Type::list_of(Type::String),
            list(&[]),
            vec![0x90],
            json!([]),
        ),
        (Type::set_of(Type::Number), list(&[]), vec![0x90], json!([])),
        (Type::map_of(Type::Bool), obj(&[]), vec![0x80], json!({})),
        (
            Type::Object(BTreeMap::new()),
            obj(&[]),
            vec![0x80],
            json!({}),
        ),
        (Type::Tuple(vec![]), list(&[]), vec![0x90], json!([])),
        (
            Type::list_of(Type::list_of(Type::String)),
            list(&[list(&[]), list(&[])]),
            vec![0x92, 0x90, 0x90],
            json!([[], []]),
        ),
    ];
    for (ty, v, bytes, j) in cases {
        assert_eq!(v.to_msgpack(&ty), bytes, "{ty:?}");
        assert_eq!(v.to_json(&ty), j, "{ty:?}");
        assert_round_trips(&v, &ty);
    }
}

#[test]
fn unicode_strings_round_trip() {
    let strings = [
        String::new(),
        "ascii".to_string(),
        "héllo wörld".to_string(),
        "日本語テキスト".to_string(),
        "🦀🚀 emoji".to_string(),
        "nul\u{0}inside".to_string(),
        "\u{10FFFF}\u{FEFF}".to_string(),
        "e\u{301} combining".to_string(),
        "line\nbreak\t\"quoted\"\\".to_string(),
        "é".repeat(20),      // str8
        "ж".repeat(200),     // str16
        "🦀".repeat(20_000), // str32
    ];
    for s in &strings {
        let v = Value::string(s.as_str());
        assert_round_trips(&v, &Type::String);
        assert_round_trips(&list(std::slice::from_ref(&v)), &Type::set_of(Type::String));
        // Unicode map keys and values.
        let m = Value::Map(BTreeMap::from([(s.clone(), v.clone())]));
        assert_round_trips(&m, &Type::map_of(Type::String));
        assert_round_trips(&v, &Type::Dynamic);
    }
    let marker = |s: &str| Value::string(s).to_msgpack(&Type::String)[0];
    assert_eq!(marker("abc"), 0xa3);
    assert_eq!(marker(&"é".repeat(20)), 0xd9);
    assert_eq!(marker(&"ж".repeat(200)), 0xda);
    assert_eq!(marker(&"🦀".repeat(20_000)), 0xdb);
}

#[test]
fn dynamic_values_round_trip() {
    let cases = [
        Value::string("x"),
        Value::int(3),
        Value::Bool(true),
        list(&[
            Value::string("a"),
            Value::int(1),
            Value::Null,
            Value::unknown(),
        ]),
        obj(&[
            ("a", Value::string("b")),
            ("n", Value::Null),
            ("nested", obj(&[("l", list(&[float(0.25)]))])),
        ]),
        list(&[]),
        obj(&[]),
        Value::Null,
        Value::unknown(),
    ];
    for v in &cases {
        assert_round_trips(v, &Type::Dynamic);
        assert_round_trips(
            &obj(&[("d", v.clone()), ("s", Value::string("s"))]),
            &obj_ty(&[("d", Type::Dynamic), ("s", Type::String)]),
        );
        assert_round_trips(
            &list(&[v.clone(), Value::int(1)]),
            &Type::list_of(Type::Dynamic),
        );
    }
}
