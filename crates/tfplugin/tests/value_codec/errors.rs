//! Decode errors and their attribute paths.

use super::*;

#[test]
fn wrong_type_is_an_error_with_path() {
    // Top level: a string where a number is expected.
    assert_err_at(&decode_err(&[0xa1, b'x'], &Type::Number), ".", "number");
    // Nested: encode with a looser type, decode with the schema's.
    let loose = obj_ty(&[("a", Type::Tuple(vec![Type::Number, Type::String]))]);
    let strict = obj_ty(&[("a", Type::Tuple(vec![Type::Number, Type::Number]))]);
    let v = obj(&[("a", list(&[Value::int(1), Value::string("x")]))]);
    assert_err_at(
        &decode_err(&v.to_msgpack(&loose), &strict),
        ".a[1]",
        "number",
    );
    // JSON reports the same path.
    let e = Value::from_json(&v.to_json(&loose), &strict).unwrap_err();
    assert_eq!(e.path, ".a[1]");

    let cases: Vec<(Type, Value, Type, &str, &str)> = vec![
        (
            Type::Number,
            Value::Bool(true),
            Type::String,
            ".",
            "expected string",
        ),
        (
            Type::String,
            Value::string("t"),
            Type::Bool,
            ".",
            "expected bool",
        ),
        (
            Type::list_of(Type::String),
            list(&[]),
            Type::map_of(Type::String),
            ".",
            "expected map",
        ),
        (
            Type::map_of(Type::String),
            obj(&[("k", Value::string("v"))]),
            Type::list_of(Type::String),
            ".",
            "expected array",
        ),
        (
            Type::map_of(Type::String),
            obj(&[("k", Value::string("v"))]),
            Type::map_of(Type::Number),
            "[\"k\"]",
            "number",
        ),
        (
            nested_block_ty(Type::Number),
            obj(&[(
                "rule",
                list(&[obj(&[("hosts", list(&[Value::Null, Value::int(2)]))])]),
            )]),
            nested_block_ty(Type::String),
            ".rule[0].hosts[1]",
            "expected string",
        ),
        (
            Type::String,
            Value::string("x"),
            Type::Dynamic,
            ".",
            "dynamic",
        ),
    ];
    for (enc_ty, v, dec_ty, path, msg) in cases {
        let e = decode_err(&v.to_msgpack(&enc_ty), &dec_ty);
        assert_err_at(&e, path, msg);
    }
}

#[test]
fn unexpected_object_attribute_is_an_error_with_path() {
    let loose = obj_ty(&[("a", Type::String), ("extra", Type::Number)]);
    let strict = obj_ty(&[("a", Type::String)]);
    let v = obj(&[("a", Value::string("x")), ("extra", Value::int(1))]);
    assert_err_at(
        &decode_err(&v.to_msgpack(&loose), &strict),
        ".extra",
        "unexpected attribute",
    );
    // Inside a nested block.
    let nested_loose = obj_ty(&[("blocks", Type::list_of(loose))]);
    let nested_strict = obj_ty(&[("blocks", Type::list_of(strict))]);
    let nested = obj(&[("blocks", list(&[v]))]);
    assert_err_at(
        &decode_err(&nested.to_msgpack(&nested_loose), &nested_strict),
        ".blocks[0].extra",
        "unexpected attribute",
    );
}

#[test]
fn tuple_length_mismatch_is_an_error_with_path() {
    let three = Type::Tuple(vec![Type::Number; 3]);
    let two = Type::Tuple(vec![Type::Number; 2]);
    let v = list(&[Value::int(1), Value::int(2), Value::int(3)]);
    assert_err_at(&decode_err(&v.to_msgpack(&three), &two), ".", "tuple of 2");
    let in_obj = obj(&[("t", v.clone())]);
    assert_err_at(
        &decode_err(
            &in_obj.to_msgpack(&obj_ty(&[("t", three.clone())])),
            &obj_ty(&[("t", two.clone())]),
        ),
        ".t",
        "tuple of 2",
    );
    // Too short as well.
    assert_err_at(&decode_err(&[0x91, 0x01], &two), ".", "got 1");
    let e = Value::from_json(
        &in_obj.to_json(&obj_ty(&[("t", three)])),
        &obj_ty(&[("t", two)]),
    )
    .unwrap_err();
    assert_eq!(e.path, ".t");
}

#[test]
fn unsupported_extension_is_an_error_with_path() {
    let ext5 = [0xc7, 0x03, 0x05, 0x01, 0x02, 0x03];
    assert_err_at(&decode_err(&ext5, &Type::String), ".", "extension type 5");
    let mut in_list = vec![0x92, 0xc0];
    in_list.extend_from_slice(&ext5);
    assert_err_at(
        &decode_err(&in_list, &Type::list_of(Type::String)),
        "[1]",
        "extension type 5",
    );
    let mut in_obj = vec![0x81, 0xa1, b'a', 0x92, 0xc0];
    in_obj.extend_from_slice(&ext5);
    assert_err_at(
        &decode_err(
            &in_obj,
            &obj_ty(&[("a", Type::Tuple(vec![Type::Bool, Type::Bool]))]),
        ),
        ".a[1]",
        "extension type 5",
    );
    // Ext 12 whose payload is not a map, or is oversized.
    assert_err_at(
        &decode_err(&[0xc7, 0x02, 0x0c, 0x91, 0x01], &Type::String),
        ".",
        "not a map",
    );
    let mut oversize = vec![0xc8, 0x04, 0x01, 0x0c];
    oversize.extend(std::iter::repeat_n(0xc0, 1025));
    assert_err_at(&decode_err(&oversize, &Type::String), ".", "oversize");
    // Refinement values of the wrong kind.
    assert!(Value::from_msgpack(&[0xc7, 0x03, 0x0c, 0x81, 0x01, 0x01], &Type::String).is_err());
    assert!(Value::from_msgpack(
        &[0xc7, 0x03, 0x0c, 0x81, 0x05, 0xc2],
        &Type::set_of(Type::String)
    )
    .is_err());
    assert!(Value::from_msgpack(&[0xc7, 0x03, 0x0c, 0x81, 0xc0, 0xc2], &Type::String).is_err());
}

#[test]
fn invalid_utf8_is_an_error_with_path() {
    // fixstr of 2 bytes that are not UTF-8.
    let bad = [0xa2, 0xff, 0xfe];
    assert_err_at(&decode_err(&bad, &Type::String), ".", "UTF-8");
    // As a map value under key "k".
    let mut in_map = vec![0x81, 0xa1, b'k'];
    in_map.extend_from_slice(&bad);
    assert_err_at(
        &decode_err(&in_map, &Type::map_of(Type::String)),
        "[\"k\"]",
        "UTF-8",
    );
    // As a map key, and as an object attribute name.
    let mut bad_key = vec![0x81];
    bad_key.extend_from_slice(&bad);
    bad_key.push(0xc0);
    assert!(Value::from_msgpack(&bad_key, &Type::map_of(Type::String)).is_err());
    assert!(Value::from_msgpack(&bad_key, &obj_ty(&[("a", Type::String)])).is_err());
    // Deep inside the nested-block shape.
    let mut deep = vec![0x81, 0xa4];
    deep.extend_from_slice(b"rule");
    deep.extend_from_slice(&[0x91, 0x81, 0xa5]);
    deep.extend_from_slice(b"hosts");
    deep.extend_from_slice(&[0x92, 0xa1, b'h']);
    deep.extend_from_slice(&bad);
    assert_err_at(
        &decode_err(&deep, &nested_block_ty(Type::String)),
        ".rule[0].hosts[1]",
        "UTF-8",
    );
    // Invalid UTF-8 in a string-prefix refinement.
    let prefix = [0xc7, 0x05, 0x0c, 0x81, 0x02, 0xa2, 0xff, 0xfe];
    assert!(Value::from_msgpack(&prefix, &Type::String).is_err());
}

#[test]
fn malformed_input_is_an_error() {
    let cases: [(&[u8], Type); 9] = [
        (&[], Type::String),
        (&[0xa5, b'a'], Type::String), // truncated string
        (&[0x92, 0x01], Type::list_of(Type::Number)), // truncated array
        (&[0xcb, 0x3f], Type::Number), // truncated float
        (&[0x93, 0xc4, 0x02, b'"', b'"', 0xc0], Type::Dynamic), // 3-element dynamic
        (&[0x92, 0x01, 0x02], Type::Dynamic), // type is not bytes
        (&[0x92, 0xc4, 0x01, b'{', 0x02], Type::Dynamic), // type is not JSON
        (
            &[0x92, 0xc4, 0x05, b'"', b'b', b'a', b'g', b'"', 0x02],
            Type::Dynamic,
        ), // unknown type
        (&[0x81, 0x01, 0x02], Type::map_of(Type::Number)), // integer map key
    ];
    for (bytes, ty) in cases {
        decode_err(bytes, &ty);
    }
    // Deep nesting is rejected rather than overflowing the stack.
    let deep = vec![0x91; 100_000];
    let mut ty = Type::String;
    for _ in 0..70 {
        ty = Type::list_of(ty);
    }
    decode_err(&deep, &ty);
    decode_err(&deep, &Type::Dynamic);
}

#[test]
fn json_errors_have_paths() {
    let ty = obj_ty(&[
        ("n", Type::Number),
        ("t", Type::Tuple(vec![Type::Bool, Type::Number])),
    ]);
    for (j, path) in [
        (json!({"n": "x"}), ".n"),
        (json!({"n": [1]}), ".n"),
        (json!({"t": [true, "y"]}), ".t[1]"),
        (json!({"t": [true]}), ".t"),
        (json!([]), "."),
    ] {
        let e = Value::from_json(&j, &ty).unwrap_err();
        assert_eq!(e.path, path, "{j}: {e}");
    }
    assert!(Value::from_json(&json!("x"), &Type::Dynamic).is_err());
    assert!(Value::from_json(&json!({"value": 1, "type": "bag"}), &Type::Dynamic).is_err());
}

/// Headers claiming enormous lengths fail fast, without allocating for the claim.
#[test]
fn huge_length_claims_fail_without_allocating() {
    for header in HUGE_HEADERS {
        let mut bytes = header.to_vec();
        bytes.extend(std::iter::repeat_n(0x00, 60 * 1024));
        for ty in sample_types() {
            assert!(
                Value::from_msgpack(&bytes, &ty).is_err(),
                "{} accepted as {ty:?}",
                hex(header)
            );
        }
    }
    // Nested huge claims.
    let nested: Vec<u8> = std::iter::repeat_n([0xdd, 0xff, 0xff, 0xff, 0xff], 50)
        .flatten()
        .collect();
    assert!(Value::from_msgpack(&nested, &Type::list_of(Type::list_of(Type::Number))).is_err());
}
