//! Property tests (see the design notes in `main.rs`).

use super::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Which refinements generated unknowns carry.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Refine {
    /// Plain unknowns only.
    None,
    /// Nullness and collection-length bounds: the kinds `from_msgpack` reads today.
    NullAndLength,
    /// Every kind, including string prefix and number bounds.
    All,
}

#[derive(Clone, Copy, Debug)]
struct Gen {
    unknowns: bool,
    refine: Refine,
}

const KNOWN: Gen = Gen {
    unknowns: false,
    refine: Refine::None,
};
const DECODABLE: Gen = Gen {
    unknowns: true,
    refine: Refine::NullAndLength,
};
const ALL_REFINEMENTS: Gen = Gen {
    unknowns: true,
    refine: Refine::All,
};

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z_][a-z0-9_]{0,7}", 1 => "\\PC{0,5}"]
}

/// A random type up to `depth` container levels; `dynamic` only as a leaf, when allowed.
fn arb_type(depth: u32, dynamic: bool) -> BoxedStrategy<Type> {
    let leaf = if dynamic {
        prop_oneof![
            Just(Type::Bool),
            Just(Type::Number),
            Just(Type::String),
            Just(Type::Dynamic)
        ]
        .boxed()
    } else {
        prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String)].boxed()
    };
    leaf.prop_recursive(depth, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list_of),
            inner.clone().prop_map(Type::set_of),
            inner.clone().prop_map(Type::map_of),
            btree_map(attr_name(), inner.clone(), 0..4).prop_map(Type::Object),
            vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
    .boxed()
}

fn finite_f64() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO
}

fn arb_number() -> BoxedStrategy<Number> {
    prop_oneof![
        3 => (-300i64..300).prop_map(Number::Int),
        2 => any::<i64>().prop_map(Number::Int),
        1 => prop_oneof![Just(i64::MIN), Just(i64::MAX)].prop_map(Number::Int),
        3 => finite_f64().prop_map(Number::Float),
        1 => (-1.0e12f64..1.0e12).prop_map(|f| Number::Float(f.trunc())),
    ]
    .boxed()
}

/// Refinements cty would allow on an unknown of type `ty`.
fn arb_refinements(ty: &Type, refine: Refine) -> BoxedStrategy<Refinements> {
    if refine == Refine::None || *ty == Type::Dynamic {
        return Just(Refinements::default()).boxed();
    }
    let null = prop::option::of(Just(false));
    let all = refine == Refine::All;
    match ty {
        Type::String if all => (null, prop::option::of("\\PC{0,8}"))
            .prop_map(|(null, string_prefix)| Refinements {
                null,
                string_prefix,
                ..Refinements::default()
            })
            .boxed(),
        Type::Number if all => {
            let bound = || prop::option::of((arb_number(), any::<bool>()));
            (null, bound(), bound())
                .prop_map(|(null, number_min, number_max)| Refinements {
                    null,
                    number_min,
                    number_max,
                    ..Refinements::default()
                })
                .boxed()
        }
        Type::List(_) | Type::Set(_) | Type::Map(_) => {
            let bound = || prop::option::of(prop_oneof![0i64..10, 0..=i64::MAX]);
            (null, bound(), bound())
                .prop_map(|(null, length_min, length_max)| Refinements {
                    null,
                    length_min,
                    length_max,
                    ..Refinements::default()
                })
                .boxed()
        }
        _ => null
            .prop_map(|null| Refinements {
                null,
                ..Refinements::default()
            })
            .boxed(),
    }
}

/// A value conforming to `ty`: null, unknown (when `g.unknowns`) or known, at any depth.
fn arb_value(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    let mut arms = vec![(1, Just(Value::Null).boxed()), (6, arb_known_value(ty, g))];
    if g.unknowns {
        let unknown = arb_refinements(ty, g.refine).prop_map(|r| Value::Unknown(Box::new(r)));
        arms.push((1, unknown.boxed()));
    }
    Union::new_weighted(arms).boxed()
}

/// A known (at the top level) value of type `ty`.
fn arb_known_value(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::List(t) | Type::Set(t) => vec(arb_value(t, g), 0..4).prop_map(Value::List).boxed(),
        Type::Map(t) => btree_map(any::<String>(), arb_value(t, g), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attrs) => {
            let names: Vec<String> = attrs.keys().cloned().collect();
            let values: Vec<BoxedStrategy<Value>> =
                attrs.values().map(|t| arb_value(t, g)).collect();
            values
                .prop_map(move |vals| Value::Map(names.iter().cloned().zip(vals).collect()))
                .boxed()
        }
        Type::Tuple(ts) => ts
            .iter()
            .map(|t| arb_value(t, g))
            .collect::<Vec<_>>()
            .prop_map(Value::List)
            .boxed(),
        Type::Dynamic => {
            // See the module docs: no refinements inside a dynamic value.
            let inner = Gen {
                refine: Refine::None,
                ..g
            };
            arb_type(2, false)
                .prop_flat_map(move |t| arb_known_value(&t, inner))
                .boxed()
        }
    }
}

fn arb_typed_value(depth: u32, g: Gen) -> impl Strategy<Value = (Type, Value)> {
    arb_type(depth, true).prop_flat_map(move |t| {
        let v = arb_value(&t, g);
        (Just(t), v)
    })
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<u64>().prop_map(J::from),
        finite_f64().prop_map(J::from),
        "\\PC{0,6}".prop_map(J::String),
        prop_oneof![
            Just("string"),
            Just("number"),
            Just("bool"),
            Just("dynamic"),
            Just("list"),
            Just("set"),
            Just("map"),
            Just("object"),
            Just("tuple"),
            Just("true"),
            Just("1.5"),
        ]
        .prop_map(|s| J::String(s.into())),
    ];
    let key = prop_oneof![
        Just("type".to_string()),
        Just("value".to_string()),
        Just("a".to_string()),
        "\\PC{0,4}"
    ];
    leaf.prop_recursive(5, 48, 4, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(J::Array),
            btree_map(key.clone(), inner, 0..4).prop_map(|m| J::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn prop_msgpack_refined_round_trip((ty, v) in arb_typed_value(3, DECODABLE)) {
        let bytes = v.to_msgpack_refined(&ty);
        let back = Value::from_msgpack(&bytes, &ty);
        prop_assert_eq!(back, Ok(v.clone()), "type {:?}, bytes {}", ty, hex(&bytes));
    }

    /// Plain encoding keeps unknowns but drops their refinements, and is byte-for-byte
    /// the refined encoding of the value without refinements.
    #[test]
    fn prop_msgpack_plain_round_trip((ty, v) in arb_typed_value(3, DECODABLE)) {
        let bytes = v.to_msgpack(&ty);
        let stripped = strip_refinements(&v);
        prop_assert_eq!(&bytes, &stripped.to_msgpack_refined(&ty));
        prop_assert_eq!(Value::from_msgpack(&bytes, &ty), Ok(stripped), "type {:?}, bytes {}", ty, hex(&bytes));
    }

    /// Wholly-known values survive JSON exactly (lists and sets keep their order).
    /// Through JSON text they survive up to float precision (see
    /// `bug_json_text_round_trip_loses_float_precision`).
    #[test]
    fn prop_json_round_trip_known((ty, v) in arb_typed_value(3, KNOWN)) {
        prop_assert!(v.is_wholly_known());
        let json = v.to_json(&ty);
        prop_assert_eq!(Value::from_json(&json, &ty), Ok(v.clone()), "JSON {}", json);
        let text = json.to_string();
        let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let back = Value::from_json(&reparsed, &ty).map(|b| strip_floats(&b));
        prop_assert_eq!(back, Ok(strip_floats(&v)), "text {}", text);
    }

    /// With unknowns, JSON keeps everything but writes unknowns as null.
    #[test]
    fn prop_json_round_trip_nulls_unknowns((ty, v) in arb_typed_value(3, DECODABLE)) {
        let json = v.to_json(&ty);
        prop_assert_eq!(Value::from_json(&json, &ty), Ok(unknowns_to_null(&v)), "JSON {}", json);
    }

    #[test]
    fn prop_type_json_round_trip(ty in arb_type(4, true)) {
        prop_assert_eq!(Type::from_json(&ty.to_json()), Ok(ty.clone()));
        let bytes = ty.to_json_bytes();
        let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(Type::from_json(&parsed), Ok(ty));
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn prop_from_msgpack_never_panics_on_random_bytes(
        bytes in vec(any::<u8>(), 0..64),
        ty in arb_type(3, true),
    ) {
        let _ = Value::from_msgpack(&bytes, &ty);
    }

    #[test]
    fn prop_from_msgpack_rejects_huge_length_claims(
        header in prop::sample::select(HUGE_HEADERS),
        tail in vec(any::<u8>(), 0..64),
        ty in arb_type(3, true),
    ) {
        let mut bytes = header.to_vec();
        bytes.extend_from_slice(&tail);
        prop_assert!(Value::from_msgpack(&bytes, &ty).is_err(), "accepted {}", hex(&bytes));
    }

    /// Valid encodings with a few bytes overwritten and/or truncated reach deep into
    /// the typed decoder; it must still return `Ok` or `Err`.
    #[test]
    fn prop_from_msgpack_never_panics_on_mutated_encodings(
        (ty, bytes, edits, cut) in arb_typed_value(3, ALL_REFINEMENTS).prop_flat_map(|(ty, v)| {
            let bytes = v.to_msgpack_refined(&ty);
            let n = bytes.len();
            (Just(ty), Just(bytes), vec((0..n, any::<u8>()), 0..4), 0..=n)
        }),
    ) {
        let mut bytes = bytes;
        for (i, b) in edits {
            bytes[i] = b;
        }
        let _ = Value::from_msgpack(&bytes, &ty);
        let _ = Value::from_msgpack(&bytes[..cut], &ty);
    }

    #[test]
    fn prop_from_json_never_panics(json in arb_json(), ty in arb_type(3, true)) {
        let _ = Value::from_json(&json, &ty);
        let _ = Type::from_json(&json);
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Same as `prop_msgpack_refined_round_trip` with string-prefix and number-bound
    /// refinements as well.
    #[test]
    fn prop_msgpack_refined_round_trip_all_refinement_kinds((ty, v) in arb_typed_value(3, ALL_REFINEMENTS)) {
        let bytes = v.to_msgpack_refined(&ty);
        let back = Value::from_msgpack(&bytes, &ty);
        prop_assert_eq!(back, Ok(v.clone()), "type {:?}, bytes {}", ty, hex(&bytes));
    }
}
