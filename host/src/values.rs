//! Converts JSON arguments into component values and component results into JSON,
//! following the encoding `schema` documents.

use serde_json::{Map, Value};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Converts the `arguments` object into one value per parameter.
///
/// # Errors
/// A message naming the parameter or field that does not fit its type.
pub fn params_from_json(
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
pub fn from_json(ty: &Type, value: &Value, path: &str) -> Result<Val, String> {
    let mismatch = |expected: &str| format!("`{path}`: expected {expected}, found {value}");
    macro_rules! int {
        ($variant:ident, $t:ty) => {{
            let n = value
                .as_i64()
                .map(i128::from)
                .or_else(|| value.as_u64().map(i128::from))
                .ok_or_else(|| mismatch("an integer"))?;
            Val::$variant(
                <$t>::try_from(n)
                    .map_err(|_| format!("`{path}`: {n} is out of range for {}", stringify!($t)))?,
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
        Type::Float32 => Val::Float32(value.as_f64().ok_or_else(|| mismatch("a number"))? as f32),
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
