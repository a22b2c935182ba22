//! Exact msgpack bytes, including bytes built the way Terraform / cty writes them, and minimal failing cases for known bugs (ignored until fixed).

use super::*;

#[test]
fn plain_unknown_is_ext0() {
    assert_eq!(Value::unknown().to_msgpack(&Type::String), [0xd4, 0, 0]);
    assert_eq!(
        Value::unknown().to_msgpack_refined(&Type::String),
        [0xd4, 0, 0]
    );
    for ty in sample_types() {
        assert_eq!(Value::unknown().to_msgpack(&ty), [0xd4, 0, 0], "{ty:?}");
        assert_eq!(
            Value::from_msgpack(&[0xd4, 0, 0], &ty),
            Ok(Value::unknown()),
            "{ty:?}"
        );
        // A zero-length extension (fixext would be 1 byte; ext8 with length 0) is unknown too.
        assert_eq!(
            Value::from_msgpack(&[0xc7, 0, 0], &ty),
            Ok(Value::unknown()),
            "{ty:?}"
        );
    }
    assert_eq!(Value::Null.to_msgpack(&Type::String), [0xc0]);
}

#[test]
fn refined_unknown_without_refined_encoding_is_plain_ext0() {
    let refined = [
        unknown_with(not_null()),
        unknown_with(prefixed("pre-")),
        unknown_with(bounded(Some((Number::Int(0), true)), None)),
        unknown_with(length(Some(1), Some(2))),
    ];
    for v in &refined {
        assert_eq!(v.to_msgpack(&Type::String), [0xd4, 0, 0], "{v:?}");
        assert_eq!(
            list(std::slice::from_ref(v)).to_msgpack(&Type::list_of(Type::String)),
            [0x91, 0xd4, 0, 0],
            "{v:?}"
        );
    }
}

#[test]
fn refined_unknown_encodes_as_ext12_refinement_map() {
    // {1: false} is 3 bytes: ext8 header c7 03 0c.
    assert_eq!(
        unknown_with(not_null()).to_msgpack_refined(&Type::String),
        [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2]
    );
    // {1: false, 2: "pre-"} is 9 bytes.
    assert_eq!(
        unknown_with(prefixed("pre-")).to_msgpack_refined(&Type::String),
        [0xc7, 0x09, 0x0c, 0x82, 0x01, 0xc2, 0x02, 0xa4, b'p', b'r', b'e', b'-']
    );
    // {5: 1, 6: 3}
    assert_eq!(
        unknown_with(length(Some(1), Some(3))).to_msgpack_refined(&Type::list_of(Type::String)),
        [0xc7, 0x05, 0x0c, 0x82, 0x05, 0x01, 0x06, 0x03]
    );
    // {3: [0, true], 4: [10, false]}
    assert_eq!(
        unknown_with(bounded(
            Some((Number::Int(0), true)),
            Some((Number::Int(10), false))
        ))
        .to_msgpack_refined(&Type::Number),
        [0xc7, 0x09, 0x0c, 0x82, 0x03, 0x92, 0x00, 0xc3, 0x04, 0x92, 0x0a, 0xc2]
    );
    // Refinements on a dynamic unknown are dropped, as cty does.
    assert_eq!(
        unknown_with(not_null()).to_msgpack_refined(&Type::Dynamic),
        [0xd4, 0, 0]
    );
    // An unknown with empty refinements is the plain form.
    assert_eq!(
        unknown_with(Refinements::default()).to_msgpack_refined(&Type::String),
        [0xd4, 0, 0]
    );
}

#[test]
fn object_encoding_writes_every_attribute() {
    let ty = obj_ty(&[
        ("a", Type::String),
        ("b", Type::Number),
        ("c", Type::list_of(Type::Bool)),
    ]);
    let v = obj(&[("a", Value::string("x"))]);
    let expected = [
        0x83, // fixmap, 3 entries
        0xa1, b'a', 0xa1, b'x', // "a": "x"
        0xa1, b'b', 0xc0, // "b": nil
        0xa1, b'c', 0xc0, // "c": nil
    ];
    assert_eq!(v.to_msgpack(&ty), expected);
    assert_eq!(v.to_msgpack_refined(&ty), expected);
    assert_eq!(
        Value::from_msgpack(&expected, &ty),
        Ok(obj(&[
            ("a", Value::string("x")),
            ("b", Value::Null),
            ("c", Value::Null)
        ]))
    );
    // Attributes missing on the wire decode as null, too.
    assert_eq!(
        Value::from_msgpack(&[0x81, 0xa1, b'b', 0x07], &ty),
        Ok(obj(&[
            ("a", Value::Null),
            ("b", Value::int(7)),
            ("c", Value::Null)
        ]))
    );
    // And in JSON.
    assert_eq!(v.to_json(&ty), json!({"a": "x", "b": null, "c": null}));
}

#[test]
fn dynamic_value_wire_bytes() {
    // [type JSON as bin, value]
    let mut expected = vec![0x92, 0xc4, 8];
    expected.extend_from_slice(b"\"string\"");
    expected.extend_from_slice(&[0xa1, b'x']);
    assert_eq!(Value::string("x").to_msgpack(&Type::Dynamic), expected);
    assert_eq!(
        Value::from_msgpack(&expected, &Type::Dynamic),
        Ok(Value::string("x"))
    );
    // The type JSON may also arrive as a msgpack str.
    let mut as_str = vec![0x92, 0xa8];
    as_str.extend_from_slice(b"\"number\"");
    as_str.push(0x05);
    assert_eq!(
        Value::from_msgpack(&as_str, &Type::Dynamic),
        Ok(Value::int(5))
    );
    // A typed list inside a dynamic.
    let ty_json = br#"["list","string"]"#;
    let mut list_bytes = vec![0x92, 0xc4, ty_json.len() as u8];
    list_bytes.extend_from_slice(ty_json);
    list_bytes.extend_from_slice(&[0x92, 0xa1, b'a', 0xc0]);
    assert_eq!(
        Value::from_msgpack(&list_bytes, &Type::Dynamic),
        Ok(list(&[Value::string("a"), Value::Null]))
    );
    assert_eq!(
        Value::string("x").to_json(&Type::Dynamic),
        json!({"value": "x", "type": "string"})
    );
}

/// What Terraform 1.6+ sends for `refined unknown, not null` (no prefix involved).
#[test]
fn terraform_bytes_for_not_null_unknown_decode() {
    let bytes = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2];
    assert_eq!(
        Value::from_msgpack(&bytes, &Type::String),
        Ok(unknown_with(not_null()))
    );
    // Nested in an object attribute.
    let mut nested = vec![0x81, 0xa1, b'a'];
    nested.extend_from_slice(&bytes);
    assert_eq!(
        Value::from_msgpack(&nested, &obj_ty(&[("a", Type::String)])),
        Ok(obj(&[("a", unknown_with(not_null()))]))
    );
    // On a dynamic attribute refinements are ignored, as cty does.
    assert_eq!(
        Value::from_msgpack(&bytes, &Type::Dynamic),
        Ok(Value::unknown())
    );
}

/// Length bounds as cty writes them: {1: false, 5: 1, 6: 3}; and {5: 200} whose
/// 4-byte payload cty writes as fixext4 (d6).
#[test]
fn terraform_bytes_for_length_refined_unknown_decode() {
    let ty = Type::set_of(Type::String);
    let bytes = [0xc7, 0x07, 0x0c, 0x83, 0x01, 0xc2, 0x05, 0x01, 0x06, 0x03];
    assert_eq!(
        Value::from_msgpack(&bytes, &ty),
        Ok(unknown_with(Refinements {
            null: Some(false),
            ..length(Some(1), Some(3))
        }))
    );
    let fixext4 = [0xd6, 0x0c, 0x81, 0x05, 0xcc, 200];
    assert_eq!(
        Value::from_msgpack(&fixext4, &ty),
        Ok(unknown_with(length(Some(200), None)))
    );
    // Unknown refinement keys are ignored (forward compatibility, as in cty).
    let future = [0xc7, 0x05, 0x0c, 0x82, 0x01, 0xc2, 0x63, 0x00];
    assert_eq!(
        Value::from_msgpack(&future, &ty),
        Ok(unknown_with(not_null()))
    );
}

/// The bytes Terraform 1.11 sends for an unknown string known to be non-null and to
/// start with "pre-": ext8, length 9, type 12, payload fixmap {1: false, 2: "pre-"}.
const TF_PREFIX_NOT_NULL: [u8; 12] = [
    0xc7, 0x09, 0x0c, // ext8, 9 bytes, ext type 12
    0x82, // fixmap, 2 entries
    0x01, 0xc2, // 1 (nullness): false
    0x02, 0xa4, b'p', b'r', b'e', b'-', // 2 (string prefix): "pre-"
];

#[test]
fn terraform_bytes_for_prefix_refined_unknown_decode() {
    let expected = Refinements {
        null: Some(false),
        string_prefix: Some("pre-".into()),
        ..Refinements::default()
    };
    assert_eq!(
        Value::from_msgpack(&TF_PREFIX_NOT_NULL, &Type::String),
        Ok(unknown_with(expected.clone()))
    );
    let mut in_list = vec![0x92, 0xa1, b'a'];
    in_list.extend_from_slice(&TF_PREFIX_NOT_NULL);
    assert_eq!(
        Value::from_msgpack(&in_list, &Type::list_of(Type::String)),
        Ok(list(&[Value::string("a"), unknown_with(expected)]))
    );
}

// ---------------------------------------------------------------------------------
// Minimal failing cases for bugs found in src (ignored until fixed)
// ---------------------------------------------------------------------------------

/// `decode_unknown` reads the refinement payload with
/// `rmpv::decode::read_value_with_max_depth(&mut reader, 4)`. rmpv charges one depth
/// unit per `read_value_inner` *and* one per array/map/str/bin body, so map -> string
/// needs 5 units and map -> [number, bool] needs 5-7: every string-prefix and
/// number-bound refinement is rejected with "invalid refinement: depth limit exceeded".
#[test]
fn bug_refined_unknown_with_string_prefix_fails_to_decode() {
    // fixext4, type 12, {2: "p"}: about the smallest possible prefix refinement.
    let bytes = [0xd6, 0x0c, 0x81, 0x02, 0xa1, b'p'];
    assert_eq!(
        Value::from_msgpack(&bytes, &Type::String),
        Ok(unknown_with(Refinements {
            string_prefix: Some("p".into()),
            ..Refinements::default()
        }))
    );
}

#[test]
fn bug_refined_unknown_with_number_bounds_fails_to_decode() {
    // {3: [0, true]}
    let bytes = [0xc7, 0x05, 0x0c, 0x81, 0x03, 0x92, 0x00, 0xc3];
    assert_eq!(
        Value::from_msgpack(&bytes, &Type::Number),
        Ok(unknown_with(bounded(Some((Number::Int(0), true)), None)))
    );
}

/// `to_msgpack_refined` writes refinement payloads of any size, but `from_msgpack`
/// (like cty) rejects payloads over 1024 bytes, so a long prefix cannot be read back.
/// Whatever the fix (truncating the prefix on encode, as a prefix stays a prefix), the
/// encoder's output must decode to a not-null unknown whose prefix starts the original.
#[test]
fn bug_long_string_prefix_refinement_is_not_readable() {
    let long = "p".repeat(2000);
    let bytes = unknown_with(prefixed(&long)).to_msgpack_refined(&Type::String);
    match Value::from_msgpack(&bytes, &Type::String) {
        Ok(Value::Unknown(r)) => {
            assert_eq!(r.null, Some(false));
            let p = r.string_prefix.clone().unwrap_or_default();
            assert!(
                long.starts_with(&p),
                "prefix {p:?} is not a prefix of the original"
            );
        }
        other => panic!("own encoding of a 2000-byte prefix decodes to {other:?}"),
    }
}

/// `Number::as_i64` checks `f <= i64::MAX as f64`, but `i64::MAX as f64` rounds up to
/// 2^63, so `Float(2^63)` (one more than `i64::MAX`) passes the check, saturates in the
/// cast, and compares equal to `Int(i64::MAX)`. Same for the decimal text
/// "9223372036854775808" that cty writes for that number.
#[test]
fn bug_float_two_pow_63_equals_i64_max() {
    let two_pow_63 = 9_223_372_036_854_775_808.0_f64;
    assert_eq!(Number::Float(two_pow_63).as_i64(), None);
    assert_ne!(Number::Float(two_pow_63), Number::Int(i64::MAX));
    let text = b"\xb39223372036854775808";
    assert_ne!(
        Value::from_msgpack(text, &Type::Number),
        Ok(Value::int(i64::MAX))
    );
}

/// Not in value.rs: serde_json is built without its `float_roundtrip` feature, so
/// parsing JSON text (as server.rs does for `UpgradeResourceState`'s `json` state)
/// can be off by one ULP: "4503599627370495.5" parses as 4503599627370495.0.
/// Fix: `serde_json = { version = "1", features = ["float_roundtrip"] }`.
#[test]
fn bug_json_text_round_trip_loses_float_precision() {
    for f in [4_503_599_627_370_495.5, -1.481_964_776_104_614_5e-214] {
        let text = float(f).to_json(&Type::Number).to_string();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            Value::from_json(&parsed, &Type::Number),
            Ok(float(f)),
            "text {text}"
        );
    }
}
