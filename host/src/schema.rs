//! Derives strict JSON Schema (2020-12) from WIT types, and the encoding it documents.
//!
//! The encoding (also in the README):
//! - integers are `integer` with the type's `minimum`/`maximum`; floats are `number`;
//!   `char` is a one-character string;
//! - records are objects with `required` and `additionalProperties: false`; property names
//!   are the WIT names as written (kebab-case); an `option<T>` field or parameter may be
//!   left out (it is not `null`);
//! - `option<T>` anywhere else is `T` or `null`;
//! - enums are strings; flags are arrays of unique strings;
//! - variants (and `result` inside a value) are the case name as a string when the case
//!   has no payload, else an object with the case name as its only key: `{"circle": 2.0}`;
//! - tuples are fixed-length arrays; lists are arrays; `map<string, V>` is an object;
//! - resources, futures and streams are refused: they cannot cross the MCP boundary.

use serde_json::{Map, Value, json};
use wasmtime::component::types::{OptionType, Type};

/// JSON Schema of a value of `ty`.
///
/// # Errors
/// `ty` cannot be represented in JSON (a resource, future or stream, a map with non-string
/// keys, or `option<option<T>>` outside a record field or parameter).
pub fn of(ty: &Type) -> Result<Value, String> {
    Ok(match ty {
        Type::Bool => json!({"type": "boolean"}),
        Type::S8 => integer(i8::MIN, i8::MAX),
        Type::U8 => integer(u8::MIN, u8::MAX),
        Type::S16 => integer(i16::MIN, i16::MAX),
        Type::U16 => integer(u16::MIN, u16::MAX),
        Type::S32 => integer(i32::MIN, i32::MAX),
        Type::U32 => integer(u32::MIN, u32::MAX),
        Type::S64 => integer(i64::MIN, i64::MAX),
        Type::U64 => integer(u64::MIN, u64::MAX),
        Type::Float32 | Type::Float64 => json!({"type": "number"}),
        Type::Char => json!({"type": "string", "minLength": 1, "maxLength": 1}),
        Type::String => json!({"type": "string"}),
        Type::List(list) => json!({"type": "array", "items": of(&list.ty())?}),
        Type::FixedLengthList(list) => {
            let len = list.len();
            json!({"type": "array", "items": of(&list.ty())?, "minItems": len, "maxItems": len})
        }
        Type::Map(map) => match map.key() {
            Type::String => json!({"type": "object", "additionalProperties": of(&map.value())?}),
            _ => return Err("a map whose keys are not strings has no JSON form".into()),
        },
        Type::Record(record) => object(
            record
                .fields()
                .map(|field| (field.name.to_string(), field.ty)),
        )?,
        Type::Tuple(tuple) => {
            let items = tuple
                .types()
                .map(|ty| of(&ty))
                .collect::<Result<Vec<_>, _>>()?;
            let len = items.len();
            json!({"type": "array", "prefixItems": items, "items": false, "minItems": len, "maxItems": len})
        }
        Type::Variant(variant) => {
            cases(variant.cases().map(|case| (case.name.to_string(), case.ty)))?
        }
        Type::Result(result) => cases([
            ("ok".to_string(), result.ok()),
            ("err".to_string(), result.err()),
        ])?,
        Type::Enum(e) => json!({"type": "string", "enum": e.names().collect::<Vec<_>>()}),
        Type::Flags(flags) => json!({
            "type": "array",
            "items": {"type": "string", "enum": flags.names().collect::<Vec<_>>()},
            "uniqueItems": true,
        }),
        Type::Option(option) => {
            if matches!(option.ty(), Type::Option(_)) {
                return Err("option<option<T>> has no unambiguous JSON form here; it is allowed only as a record field or parameter".into());
            }
            json!({"anyOf": [of(&option.ty())?, {"type": "null"}]})
        }
        Type::Own(_) | Type::Borrow(_) => {
            return Err("a resource type cannot cross the MCP boundary: tool signatures may use only value types".into());
        }
        Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            return Err(
                "futures, streams and error contexts are not supported in tool signatures".into(),
            );
        }
    })
}

/// JSON Schema of an object with the named members `fields` (record fields or parameters).
///
/// # Errors
/// As [`of`].
pub fn object(fields: impl IntoIterator<Item = (String, Type)>) -> Result<Value, String> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, ty) in fields {
        let schema = match &ty {
            Type::Option(option) => member_option(option),
            other => {
                required.push(Value::String(name.clone()));
                of(other)
            }
        }
        .map_err(|e| format!("`{name}`: {e}"))?;
        properties.insert(name, schema);
    }
    Ok(json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    }))
}

/// The schema of an optional member: its inner type (the member may be left out).
fn member_option(option: &OptionType) -> Result<Value, String> {
    of(&option.ty())
}

/// The schema of a variant-like type from its cases.
fn cases(cases: impl IntoIterator<Item = (String, Option<Type>)>) -> Result<Value, String> {
    let mut bare = Vec::new();
    let mut alternatives = Vec::new();
    for (name, payload) in cases {
        match payload {
            None => bare.push(name),
            Some(ty) => alternatives.push(json!({
                "type": "object",
                "properties": {name.clone(): of(&ty).map_err(|e| format!("case `{name}`: {e}"))?},
                "required": [name],
                "additionalProperties": false,
            })),
        }
    }
    if !bare.is_empty() {
        alternatives.insert(0, json!({"type": "string", "enum": bare}));
    }
    Ok(match alternatives.len() {
        1 => alternatives.remove(0),
        _ => json!({"oneOf": alternatives}),
    })
}

/// Compiles a derived schema into the validator that checks values against it.
///
/// # Errors
/// `schema` is not a valid JSON Schema (2020-12).
pub fn validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::draft202012::new(schema).map_err(|e| format!("derived an invalid schema: {e}"))
}

/// Every way `value` breaks the schema of `validator`, as `"<path>: <why>"` (the path of the
/// root is `/`).
pub fn errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|error| {
            let path = error.instance_path().to_string();
            let path = if path.is_empty() { "/".into() } else { path };
            format!("{path}: {error}")
        })
        .collect()
}

fn integer(min: impl Into<Value>, max: impl Into<Value>) -> Value {
    json!({"type": "integer", "minimum": min.into(), "maximum": max.into()})
}
