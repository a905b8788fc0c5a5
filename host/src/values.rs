//! Converts JSON arguments into component values and component results into JSON,
//! following the encoding `schema` documents.

use serde_json::{Map, Value};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Why a call's arguments were refused before the guest ran.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The input schema refuses them: every violation, as `"<path>: <why>"`.
    #[error("invalid arguments:\n- {}", .0.join("\n- "))]
    Schema(Vec<String>),
    /// The schema accepts them but they do not convert to the parameters' types.
    #[error("invalid arguments: {0}")]
    Value(String),
}

/// The values of a call's parameters from its `arguments`, converted only once `validator`
/// (compiled from the parameters' derived schema, [`crate::schema::object`]) accepts them:
/// JSON the schema refuses never becomes a value a guest sees.
///
/// # Errors
/// Every schema violation, else the first mismatch the conversion finds.
pub fn admit(
    validator: &jsonschema::Validator,
    params: &[(String, Type)],
    arguments: &Value,
) -> Result<Vec<Val>, Refused> {
    let errors = crate::schema::errors(validator, arguments);
    if !errors.is_empty() {
        return Err(Refused::Schema(errors));
    }
    let Value::Object(object) = arguments else {
        unreachable!("the parameters' schema accepts only an object")
    };
    params_from_json(params, object).map_err(Refused::Value)
}

/// Converts the `arguments` object into one value per parameter.
///
/// # Errors
/// A message naming the parameter or field that does not fit its type.
fn params_from_json(
    params: &[(String, Type)],
    arguments: &Map<String, Value>,
) -> Result<Vec<Val>, String> {
    if let Some(unknown) = arguments
        .keys()
        .find(|key| !params.iter().any(|(name, _)| name == *key))
    {
        return Err(format!("`{unknown}`: unknown parameter"));
    }
    params
        .iter()
        .map(|(name, ty)| member(ty, arguments.get(name), name))
        .collect()
}

/// A record field or parameter: an `option<T>` member may be absent.
fn member(ty: &Type, value: Option<&Value>, path: &str) -> Result<Val, String> {
    match (ty, value) {
        (Type::Option(_), None) => Ok(Val::Option(None)),
        (Type::Option(option), Some(value)) => Ok(Val::Option(Some(Box::new(from_json(
            &option.ty(),
            value,
            path,
        )?)))),
        (_, None) => Err(format!("`{path}`: missing")),
        (ty, Some(value)) => from_json(ty, value, path),
    }
}

/// Converts `value` into a value of `ty`; `path` names it in errors.
///
/// # Errors
/// A message naming the part of `value` that does not fit `ty`.
fn from_json(ty: &Type, value: &Value, path: &str) -> Result<Val, String> {
    let mismatch = |expected: &str| format!("`{path}`: expected {expected}, found {value}");
    // JSON has one kind of number: `1.0` is the integer 1, as the schema's `integer` says.
    macro_rules! int {
        ($variant:ident, $t:ty) => {{
            let n = value
                .as_i64()
                .map(i128::from)
                .or_else(|| value.as_u64().map(i128::from))
                .or_else(|| {
                    value
                        .as_f64()
                        .filter(|x| x.fract() == 0.0 && x.abs() < 2f64.powi(64))
                        .map(|x| x as i128)
                })
                .ok_or_else(|| mismatch("an integer"))?;
            Val::$variant(
                <$t>::try_from(n).map_err(|_| {
                    format!("`{path}`: {value} is out of range for {}", stringify!($t))
                })?,
            )
        }};
    }
    Ok(match ty {
        Type::Bool => Val::Bool(value.as_bool().ok_or_else(|| mismatch("a boolean"))?),
        Type::S8 => int!(S8, i8),
        Type::U8 => int!(U8, u8),
        Type::S16 => int!(S16, i16),
        Type::U16 => int!(U16, u16),
        Type::S32 => int!(S32, i32),
        Type::U32 => int!(U32, u32),
        Type::S64 => int!(S64, i64),
        Type::U64 => int!(U64, u64),
        Type::Float32 => {
            let x = value.as_f64().ok_or_else(|| mismatch("a number"))? as f32;
            if x.is_infinite() {
                return Err(format!("`{path}`: {value} is out of range for f32"));
            }
            Val::Float32(x)
        }
        Type::Float64 => Val::Float64(value.as_f64().ok_or_else(|| mismatch("a number"))?),
        Type::Char => {
            let text = value
                .as_str()
                .ok_or_else(|| mismatch("a one-character string"))?;
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(mismatch("a one-character string")),
            }
        }
        Type::String => Val::String(
            value
                .as_str()
                .ok_or_else(|| mismatch("a string"))?
                .to_string(),
        ),
        Type::List(list) => Val::List(elements(&list.ty(), value, path, &mismatch)?),
        Type::FixedLengthList(list) => {
            let items = elements(&list.ty(), value, path, &mismatch)?;
            if items.len() != list.len() as usize {
                return Err(mismatch(&format!("an array of {} items", list.len())));
            }
            Val::FixedLengthList(items)
        }
        Type::Map(map) => {
            let object = value.as_object().ok_or_else(|| mismatch("an object"))?;
            let value_ty = map.value();
            Val::Map(
                object
                    .iter()
                    .map(|(key, item)| {
                        Ok((
                            Val::String(key.clone()),
                            from_json(&value_ty, item, &format!("{path}.{key}"))?,
                        ))
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        Type::Record(record) => {
            let object = value.as_object().ok_or_else(|| mismatch("an object"))?;
            if let Some(unknown) = object
                .keys()
                .find(|key| !record.fields().any(|field| field.name == *key))
            {
                return Err(format!("`{path}.{unknown}`: unknown field"));
            }
            Val::Record(
                record
                    .fields()
                    .map(|field| {
                        let field_path = format!("{path}.{}", field.name);
                        Ok((
                            field.name.to_string(),
                            member(&field.ty, object.get(field.name), &field_path)?,
                        ))
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        Type::Tuple(tuple) => {
            let items = value.as_array().ok_or_else(|| mismatch("an array"))?;
            if items.len() != tuple.types().len() {
                return Err(mismatch(&format!(
                    "an array of {} items",
                    tuple.types().len()
                )));
            }
            Val::Tuple(
                tuple
                    .types()
                    .zip(items)
                    .enumerate()
                    .map(|(i, (ty, item))| from_json(&ty, item, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Variant(variant) => {
            let (name, payload) = case(value, &mismatch)?;
            let case = variant
                .cases()
                .find(|case| case.name == name)
                .ok_or_else(|| format!("`{path}`: unknown case `{name}`"))?;
            Val::Variant(name, case_payload(case.ty, payload, path)?)
        }
        Type::Result(result) => {
            let (name, payload) = case(value, &mismatch)?;
            match name.as_str() {
                "ok" => Val::Result(Ok(case_payload(result.ok(), payload, path)?)),
                "err" => Val::Result(Err(case_payload(result.err(), payload, path)?)),
                other => {
                    return Err(format!(
                        "`{path}`: unknown case `{other}` (expected ok or err)"
                    ));
                }
            }
        }
        Type::Enum(e) => {
            let name = value.as_str().ok_or_else(|| mismatch("a string"))?;
            if !e.names().any(|n| n == name) {
                return Err(format!("`{path}`: unknown case `{name}`"));
            }
            Val::Enum(name.to_string())
        }
        Type::Flags(flags) => {
            let items = value
                .as_array()
                .ok_or_else(|| mismatch("an array of flag names"))?;
            let mut names = Vec::new();
            for item in items {
                let name = item
                    .as_str()
                    .ok_or_else(|| mismatch("an array of flag names"))?;
                if !flags.names().any(|n| n == name) {
                    return Err(format!("`{path}`: unknown flag `{name}`"));
                }
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
            Val::Flags(names)
        }
        Type::Option(option) => match value {
            Value::Null => Val::Option(None),
            other => Val::Option(Some(Box::new(from_json(&option.ty(), other, path)?))),
        },
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            return Err(format!("`{path}`: this type has no JSON form"));
        }
    })
}

fn elements(
    ty: &Type,
    value: &Value,
    path: &str,
    mismatch: &dyn Fn(&str) -> String,
) -> Result<Vec<Val>, String> {
    value
        .as_array()
        .ok_or_else(|| mismatch("an array"))?
        .iter()
        .enumerate()
        .map(|(i, item)| from_json(ty, item, &format!("{path}[{i}]")))
        .collect()
}

/// Reads a case: `"name"` or `{"name": payload}`.
fn case<'v>(
    value: &'v Value,
    mismatch: &dyn Fn(&str) -> String,
) -> Result<(String, Option<&'v Value>), String> {
    match value {
        Value::String(name) => Ok((name.clone(), None)),
        Value::Object(object) if object.len() == 1 => {
            let (name, payload) = object.iter().next().expect("one entry");
            Ok((name.clone(), Some(payload)))
        }
        _ => Err(mismatch(
            "a case name, or an object with the case name as its only key",
        )),
    }
}

fn case_payload(
    ty: Option<Type>,
    payload: Option<&Value>,
    path: &str,
) -> Result<Option<Box<Val>>, String> {
    match (ty, payload) {
        (None, None) => Ok(None),
        (Some(ty), Some(payload)) => Ok(Some(Box::new(from_json(&ty, payload, path)?))),
        (None, Some(_)) => Err(format!(
            "`{path}`: this case takes no payload; give its name as a string"
        )),
        (Some(_), None) => Err(format!(
            "`{path}`: this case needs a payload: {{\"<case>\": <value>}}"
        )),
    }
}

/// Converts a component value into JSON.
///
/// # Errors
/// The value holds a non-finite float or a resource, which JSON cannot carry.
pub fn to_json(val: &Val) -> Result<Value, String> {
    Ok(match val {
        Val::Bool(b) => Value::Bool(*b),
        Val::S8(n) => (*n).into(),
        Val::U8(n) => (*n).into(),
        Val::S16(n) => (*n).into(),
        Val::U16(n) => (*n).into(),
        Val::S32(n) => (*n).into(),
        Val::U32(n) => (*n).into(),
        Val::S64(n) => (*n).into(),
        Val::U64(n) => (*n).into(),
        Val::Float32(x) => float(f64::from(*x))?,
        Val::Float64(x) => float(*x)?,
        Val::Char(c) => Value::String(c.to_string()),
        Val::String(s) => Value::String(s.clone()),
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Val::Map(entries) => {
            let mut object = Map::new();
            for (key, value) in entries {
                let Val::String(key) = key else {
                    return Err("a map key that is not a string has no JSON form".into());
                };
                object.insert(key.clone(), to_json(value)?);
            }
            Value::Object(object)
        }
        Val::Record(fields) => {
            let mut object = Map::new();
            for (name, value) in fields {
                match value {
                    // An absent optional field is left out, as the schema says.
                    Val::Option(None) => {}
                    Val::Option(Some(inner)) => {
                        object.insert(name.clone(), to_json(inner)?);
                    }
                    other => {
                        object.insert(name.clone(), to_json(other)?);
                    }
                }
            }
            Value::Object(object)
        }
        Val::Variant(name, payload) => tagged(name, payload.as_deref())?,
        Val::Result(Ok(payload)) => tagged("ok", payload.as_deref())?,
        Val::Result(Err(payload)) => tagged("err", payload.as_deref())?,
        Val::Enum(name) => Value::String(name.clone()),
        Val::Flags(names) => Value::Array(names.iter().cloned().map(Value::String).collect()),
        Val::Option(None) => Value::Null,
        Val::Option(Some(inner)) => to_json(inner)?,
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => {
            return Err("the tool returned a handle, which has no JSON form".into());
        }
    })
}

fn tagged(name: &str, payload: Option<&Val>) -> Result<Value, String> {
    Ok(match payload {
        None => Value::String(name.to_string()),
        Some(payload) => {
            let mut object = Map::new();
            object.insert(name.to_string(), to_json(payload)?);
            Value::Object(object)
        }
    })
}

fn float(x: f64) -> Result<Value, String> {
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .ok_or_else(|| format!("the tool returned {x}, which JSON cannot carry"))
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::schema;
    use crate::typegen::{self, Ty};

    static ENGINE: LazyLock<wasmtime::Engine> = LazyLock::new(wasmtime::Engine::default);

    /// `n` names, `prefix0`, `prefix1`, ...
    fn names(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    /// Any WIT value type, up to four levels deep.
    fn ty() -> impl Strategy<Value = Ty> {
        let leaf = prop_oneof![
            Just(Ty::Bool),
            Just(Ty::S8),
            Just(Ty::U8),
            Just(Ty::S16),
            Just(Ty::U16),
            Just(Ty::S32),
            Just(Ty::U32),
            Just(Ty::S64),
            Just(Ty::U64),
            Just(Ty::F32),
            Just(Ty::F64),
            Just(Ty::Char),
            Just(Ty::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            let boxed = || inner.clone().prop_map(Box::new);
            prop_oneof![
                boxed().prop_map(Ty::List),
                prop::collection::vec(inner.clone(), 1..=3).prop_map(Ty::Tuple),
                boxed().prop_map(Ty::Option),
                (prop::option::of(boxed()), prop::option::of(boxed()))
                    .prop_map(|(ok, err)| Ty::Result(ok, err)),
                prop::collection::vec(inner.clone(), 1..=4).prop_map(|types| {
                    Ty::Record(
                        names("field-", types.len())
                            .into_iter()
                            .zip(types)
                            .collect(),
                    )
                }),
                prop::collection::vec(prop::option::of(inner.clone()), 1..=4).prop_map(
                    |payloads| Ty::Variant(
                        names("case-", payloads.len())
                            .into_iter()
                            .zip(payloads)
                            .collect()
                    )
                ),
                (1..=5usize).prop_map(|n| Ty::Enum(names("e", n))),
                (1..=6usize).prop_map(|n| Ty::Flags(names("flag-", n))),
            ]
        })
    }

    /// Any value of `ty`; floats are finite (JSON has no other numbers).
    fn val(ty: &Ty) -> BoxedStrategy<Val> {
        use prop::num::{f32 as f32s, f64 as f64s};
        let side = |ty: &Option<Box<Ty>>| match ty {
            None => Just(None).boxed(),
            Some(ty) => val(ty).prop_map(|v| Some(Box::new(v))).boxed(),
        };
        match ty {
            Ty::Bool => any::<bool>().prop_map(Val::Bool).boxed(),
            Ty::S8 => any::<i8>().prop_map(Val::S8).boxed(),
            Ty::U8 => any::<u8>().prop_map(Val::U8).boxed(),
            Ty::S16 => any::<i16>().prop_map(Val::S16).boxed(),
            Ty::U16 => any::<u16>().prop_map(Val::U16).boxed(),
            Ty::S32 => any::<i32>().prop_map(Val::S32).boxed(),
            Ty::U32 => any::<u32>().prop_map(Val::U32).boxed(),
            Ty::S64 => any::<i64>().prop_map(Val::S64).boxed(),
            Ty::U64 => any::<u64>().prop_map(Val::U64).boxed(),
            Ty::F32 => {
                (f32s::POSITIVE | f32s::NEGATIVE | f32s::NORMAL | f32s::SUBNORMAL | f32s::ZERO)
                    .prop_map(Val::Float32)
                    .boxed()
            }
            Ty::F64 => {
                (f64s::POSITIVE | f64s::NEGATIVE | f64s::NORMAL | f64s::SUBNORMAL | f64s::ZERO)
                    .prop_map(Val::Float64)
                    .boxed()
            }
            Ty::Char => any::<char>().prop_map(Val::Char).boxed(),
            Ty::String => any::<String>().prop_map(Val::String).boxed(),
            Ty::List(item) => prop::collection::vec(val(item), 0..=3)
                .prop_map(Val::List)
                .boxed(),
            Ty::Tuple(items) => items
                .iter()
                .map(val)
                .collect::<Vec<_>>()
                .prop_map(Val::Tuple)
                .boxed(),
            Ty::Option(inner) => prop::option::of(val(inner))
                .prop_map(|v| Val::Option(v.map(Box::new)))
                .boxed(),
            Ty::Result(ok, err) => prop_oneof![
                side(ok).prop_map(|v| Val::Result(Ok(v))),
                side(err).prop_map(|v| Val::Result(Err(v))),
            ]
            .boxed(),
            Ty::Record(fields) => fields
                .iter()
                .map(|(name, ty)| {
                    let name = name.clone();
                    val(ty).prop_map(move |v| (name.clone(), v))
                })
                .collect::<Vec<_>>()
                .prop_map(Val::Record)
                .boxed(),
            Ty::Variant(cases) => prop::sample::select(cases.clone())
                .prop_flat_map(|(name, payload)| match payload {
                    None => Just(Val::Variant(name, None)).boxed(),
                    Some(ty) => val(&ty)
                        .prop_map(move |v| Val::Variant(name.clone(), Some(Box::new(v))))
                        .boxed(),
                })
                .boxed(),
            Ty::Enum(names) => prop::sample::select(names.clone())
                .prop_map(Val::Enum)
                .boxed(),
            Ty::Flags(names) => prop::sample::subsequence(names.clone(), 0..=names.len())
                .prop_map(Val::Flags)
                .boxed(),
        }
    }

    /// Up to three parameters of any types, and a value of each.
    fn call() -> impl Strategy<Value = (Vec<(String, Ty)>, Vec<Val>)> {
        prop::collection::vec(ty(), 1..=3).prop_flat_map(|types| {
            let params: Vec<(String, Ty)> =
                names("p", types.len()).into_iter().zip(types).collect();
            let vals: Vec<_> = params.iter().map(|(_, ty)| val(ty)).collect();
            (Just(params), vals)
        })
    }

    /// The wasmtime types of `params`, and their schema's validator; `None` for types the
    /// schema refuses (`option<option<T>>` outside a member).
    fn derive(params: &[(String, Ty)]) -> Option<(Vec<(String, Type)>, jsonschema::Validator)> {
        let types = typegen::param_types(&ENGINE, params);
        let schema = schema::object(types.iter().cloned()).ok()?;
        let validator = schema::validator(&schema).expect("a derived schema compiles");
        Some((types, validator))
    }

    /// The arguments object of `vals`: an absent `option` parameter is left out.
    fn arguments(types: &[(String, Type)], vals: &[Val]) -> Value {
        let mut object = Map::new();
        for ((name, ty), val) in types.iter().zip(vals) {
            let json = match (ty, val) {
                (Type::Option(_), Val::Option(None)) => continue,
                (Type::Option(_), Val::Option(Some(inner))) => to_json(inner),
                _ => to_json(val),
            };
            object.insert(name.clone(), json.expect("finite values have JSON"));
        }
        Value::Object(object)
    }

    /// One change to a JSON document: at its `node`-th node (pre-order, wrapping), `edit`.
    #[derive(Clone, Debug)]
    struct Mutation {
        node: usize,
        edit: Edit,
    }

    #[derive(Clone, Debug)]
    enum Edit {
        /// The node becomes this value.
        Replace(Value),
        /// An object loses its first member, an array its last item.
        Shrink,
        /// An object gains an unknown member, an array repeats its first item.
        Grow,
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let replacement = prop::sample::select(vec![
            Value::Null,
            json!(true),
            json!(0),
            json!(-1),
            json!(1.5),
            json!(2.0),
            json!(1e300),
            json!(256),
            json!(65536),
            json!(4_294_967_296u64),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(""),
            json!("xy"),
            json!("e0"),
            json!("case-0"),
            json!("flag-0"),
            json!([]),
            json!(["flag-0", "flag-0"]),
            json!({}),
            json!({"ok": 1}),
            json!({"case-0": null}),
        ]);
        (
            any::<usize>(),
            prop_oneof![
                4 => replacement.prop_map(Edit::Replace),
                1 => Just(Edit::Shrink),
                1 => Just(Edit::Grow),
            ],
        )
            .prop_map(|(node, edit)| Mutation { node, edit })
    }

    fn count(value: &Value) -> usize {
        1 + match value {
            Value::Array(items) => items.iter().map(count).sum(),
            Value::Object(map) => map.values().map(count).sum(),
            _ => 0,
        }
    }

    /// Applies `edit` to the `index`-th node of `value` (pre-order); returns what is left of
    /// `index` when the node is not in `value`.
    fn apply(value: &mut Value, index: usize, edit: &Edit) -> Option<usize> {
        if index == 0 {
            match (edit, &mut *value) {
                (Edit::Replace(new), _) => *value = new.clone(),
                (Edit::Shrink, Value::Object(map)) => {
                    let first = map.keys().next().cloned();
                    first.map(|key| map.shift_remove(&key));
                }
                (Edit::Shrink, Value::Array(items)) => {
                    items.pop();
                }
                (Edit::Grow, Value::Object(map)) => {
                    map.insert("unknown-member".into(), json!(1));
                }
                (Edit::Grow, Value::Array(items)) => {
                    if let Some(first) = items.first().cloned() {
                        items.push(first);
                    }
                }
                (Edit::Shrink | Edit::Grow, _) => *value = json!("not this type"),
            }
            return None;
        }
        let mut left = index - 1;
        let children: Vec<&mut Value> = match value {
            Value::Array(items) => items.iter_mut().collect(),
            Value::Object(map) => map.values_mut().collect(),
            _ => Vec::new(),
        };
        for child in children {
            left = apply(child, left, edit)?;
        }
        Some(left)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any value of any WIT type: its JSON passes the derived schema and converts back
        /// to the same value.
        #[test]
        fn a_value_passes_its_schema_and_converts_back((params, vals) in call()) {
            let Some((types, validator)) = derive(&params) else {
                return Ok(());
            };
            let arguments = arguments(&types, &vals);
            prop_assert!(validator.is_valid(&arguments), "{}", arguments);
            let admitted = admit(&validator, &types, &arguments);
            prop_assert_eq!(admitted.ok(), Some(vals), "{}", arguments);
        }

        /// JSON the schema refuses is refused before it is converted, so it never reaches a
        /// guest; JSON that is admitted becomes values whose JSON the schema accepts.
        #[test]
        fn json_the_schema_refuses_never_becomes_a_value(
            (params, vals) in call(),
            mutations in prop::collection::vec(mutation(), 1..=3),
        ) {
            let Some((types, validator)) = derive(&params) else {
                return Ok(());
            };
            let mut json = arguments(&types, &vals);
            for Mutation { node, edit } in &mutations {
                let nodes = count(&json);
                apply(&mut json, node % nodes, edit);
            }
            // A validator of its own, so the check does not trust the one under test.
            let schema = schema::object(types.iter().cloned()).expect("derived above");
            let accepted = jsonschema::draft202012::is_valid(&schema, &json);
            match admit(&validator, &types, &json) {
                Err(Refused::Schema(errors)) => {
                    prop_assert!(!accepted && !errors.is_empty(), "{}", json);
                }
                // The conversion is stricter than the schema in one place only: an f32 out
                // of its range.
                Err(Refused::Value(why)) => {
                    prop_assert!(accepted && why.contains("out of range for f32"), "{}: {}", json, why);
                }
                Ok(admitted) => {
                    prop_assert!(accepted, "{}", json);
                    let again = arguments(&types, &admitted);
                    prop_assert!(validator.is_valid(&again), "{} -> {}", json, again);
                }
            }
        }
    }

    #[test]
    fn integral_floats_are_integers_and_f32_has_a_range() {
        let u8_ty = typegen::param_types(&ENGINE, &[("n".into(), Ty::U8)])
            .remove(0)
            .1;
        assert_eq!(from_json(&u8_ty, &json!(7.0), "n"), Ok(Val::U8(7)));
        assert!(from_json(&u8_ty, &json!(7.5), "n").is_err());
        assert_eq!(
            from_json(&u8_ty, &json!(256.0), "n"),
            Err("`n`: 256.0 is out of range for u8".into())
        );
        let f32_ty = typegen::param_types(&ENGINE, &[("x".into(), Ty::F32)])
            .remove(0)
            .1;
        assert_eq!(from_json(&f32_ty, &json!(1.5), "x"), Ok(Val::Float32(1.5)));
        assert_eq!(
            from_json(&f32_ty, &json!(1e300), "x"),
            Err("`x`: 1e+300 is out of range for f32".into())
        );
    }
}
