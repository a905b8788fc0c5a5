//! JSON arguments → component values, against the schema derived from the parameters' WIT
//! types (`values::admit`, what every tool call goes through before its guest runs).
//!
//! Input: bytes that pick up to three parameters of made-up WIT types and a value of each,
//! then JSON arguments. Checked:
//! - the derived schema compiles; a value's JSON passes it and converts back to the value;
//! - JSON the schema refuses is refused before conversion; JSON that is admitted converts to
//!   values whose JSON the schema accepts again.

#![no_main]

#[path = "../../host/src/typegen.rs"]
mod typegen;

use std::sync::LazyLock;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use typegen::Ty;
use warden::{schema, values};
use wasmtime::Engine;
use wasmtime::component::Val;
use wasmtime::component::types::Type;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::default);

/// Deepest type tree.
const DEPTH: u32 = 4;

fuzz_target!(|data: &[u8]| {
    let mut input = Unstructured::new(data);
    let Ok(params) = params(&mut input) else {
        return;
    };
    let Ok(vals) = params
        .iter()
        .map(|(_, ty)| val(&mut input, ty))
        .collect::<Result<Vec<_>>>()
    else {
        return;
    };
    let types = typegen::param_types(&ENGINE, &params);
    let Ok(schema) = schema::object(types.iter().cloned()) else {
        return;
    };
    let validator = schema::validator(&schema).expect("a derived schema compiles");

    // A value's JSON passes the schema and converts back to the value.
    let json = arguments(&types, &vals);
    let admitted = values::admit(&validator, &types, &json)
        .unwrap_or_else(|refused| panic!("{json} of {schema}: {refused}"));
    assert_eq!(admitted, vals, "{json}");

    // Whatever JSON follows: refused by the schema, or admitted as values that map back to
    // JSON the schema accepts.
    let Ok(fuzzed) = serde_json::from_slice::<Value>(input.take_rest()) else {
        return;
    };
    match values::admit(&validator, &types, &fuzzed) {
        Err(values::Refused::Schema(errors)) => {
            assert!(!errors.is_empty());
            assert!(!validator.is_valid(&fuzzed), "{fuzzed}");
        }
        Err(values::Refused::Value(_)) => assert!(validator.is_valid(&fuzzed), "{fuzzed}"),
        Ok(admitted) => {
            let again = arguments(&types, &admitted);
            assert!(
                validator.is_valid(&again),
                "{fuzzed} -> {again} of {schema}"
            );
        }
    }
});

/// The arguments object of `vals`: an absent `option` parameter is left out.
fn arguments(types: &[(String, Type)], vals: &[Val]) -> Value {
    let mut object = Map::new();
    for ((name, ty), val) in types.iter().zip(vals) {
        let json = match (ty, val) {
            (Type::Option(_), Val::Option(None)) => continue,
            (Type::Option(_), Val::Option(Some(inner))) => values::to_json(inner),
            _ => values::to_json(val),
        };
        object.insert(name.clone(), json.expect("made-up values are finite"));
    }
    Value::Object(object)
}

fn params(input: &mut Unstructured<'_>) -> Result<Vec<(String, Ty)>> {
    let count = input.int_in_range(1..=3)?;
    (0..count)
        .map(|i| Ok((format!("p{i}"), ty(input, DEPTH)?)))
        .collect()
}

fn names(input: &mut Unstructured<'_>, prefix: &str, max: usize) -> Result<Vec<String>> {
    let count = input.int_in_range(1..=max)?;
    Ok((0..count).map(|i| format!("{prefix}{i}")).collect())
}

fn ty(input: &mut Unstructured<'_>, depth: u32) -> Result<Ty> {
    let leaf = depth == 0;
    let kind = input.int_in_range(0..=if leaf { 12 } else { 20 })?;
    let inner = |input: &mut Unstructured<'_>| ty(input, depth - 1).map(Box::new);
    Ok(match kind {
        0 => Ty::Bool,
        1 => Ty::S8,
        2 => Ty::U8,
        3 => Ty::S16,
        4 => Ty::U16,
        5 => Ty::S32,
        6 => Ty::U32,
        7 => Ty::S64,
        8 => Ty::U64,
        9 => Ty::F32,
        10 => Ty::F64,
        11 => Ty::Char,
        12 => Ty::String,
        13 => Ty::List(inner(input)?),
        14 => {
            let count = input.int_in_range(1..=3)?;
            Ty::Tuple(
                (0..count)
                    .map(|_| ty(input, depth - 1))
                    .collect::<Result<_>>()?,
            )
        }
        15 => Ty::Option(inner(input)?),
        16 => Ty::Result(
            input
                .arbitrary::<bool>()?
                .then(|| inner(input))
                .transpose()?,
            input
                .arbitrary::<bool>()?
                .then(|| inner(input))
                .transpose()?,
        ),
        17 => Ty::Record(
            names(input, "field-", 4)?
                .into_iter()
                .map(|name| Ok((name, ty(input, depth - 1)?)))
                .collect::<Result<_>>()?,
        ),
        18 => Ty::Variant(
            names(input, "case-", 4)?
                .into_iter()
                .map(|name| {
                    let payload = input.arbitrary::<bool>()?;
                    Ok((name, payload.then(|| ty(input, depth - 1)).transpose()?))
                })
                .collect::<Result<_>>()?,
        ),
        19 => Ty::Enum(names(input, "e", 5)?),
        _ => Ty::Flags(names(input, "flag-", 6)?),
    })
}

/// A value of `ty`. Floats are finite: JSON has no other numbers.
fn val(input: &mut Unstructured<'_>, ty: &Ty) -> Result<Val> {
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    Ok(match ty {
        Ty::Bool => Val::Bool(input.arbitrary()?),
        Ty::S8 => Val::S8(input.arbitrary()?),
        Ty::U8 => Val::U8(input.arbitrary()?),
        Ty::S16 => Val::S16(input.arbitrary()?),
        Ty::U16 => Val::U16(input.arbitrary()?),
        Ty::S32 => Val::S32(input.arbitrary()?),
        Ty::U32 => Val::U32(input.arbitrary()?),
        Ty::S64 => Val::S64(input.arbitrary()?),
        Ty::U64 => Val::U64(input.arbitrary()?),
        Ty::F32 => Val::Float32(finite(f64::from(input.arbitrary::<f32>()?)) as f32),
        Ty::F64 => Val::Float64(finite(input.arbitrary()?)),
        Ty::Char => Val::Char(input.arbitrary()?),
        Ty::String => Val::String(input.arbitrary()?),
        Ty::List(item) => {
            let count = input.int_in_range(0..=3)?;
            Val::List(
                (0..count)
                    .map(|_| val(input, item))
                    .collect::<Result<_>>()?,
            )
        }
        Ty::Tuple(items) => Val::Tuple(
            items
                .iter()
                .map(|item| val(input, item))
                .collect::<Result<_>>()?,
        ),
        Ty::Option(inner) => Val::Option(
            input
                .arbitrary::<bool>()?
                .then(|| val(input, inner).map(Box::new))
                .transpose()?,
        ),
        Ty::Result(ok, err) => {
            let side = |input: &mut Unstructured<'_>, ty: &Option<Box<Ty>>| {
                ty.as_deref()
                    .map(|ty| val(input, ty).map(Box::new))
                    .transpose()
            };
            if input.arbitrary()? {
                Val::Result(Ok(side(input, ok)?))
            } else {
                Val::Result(Err(side(input, err)?))
            }
        }
        Ty::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(name, ty)| Ok((name.clone(), val(input, ty)?)))
                .collect::<Result<_>>()?,
        ),
        Ty::Variant(cases) => {
            let (name, payload) = input.choose(cases)?;
            let payload = payload
                .as_ref()
                .map(|ty| val(input, ty).map(Box::new))
                .transpose()?;
            Val::Variant(name.clone(), payload)
        }
        Ty::Enum(names) => Val::Enum(input.choose(names)?.clone()),
        Ty::Flags(names) => {
            let mut set = Vec::new();
            for name in names {
                if input.arbitrary()? {
                    set.push(name.clone());
                }
            }
            Val::Flags(set)
        }
    })
}
