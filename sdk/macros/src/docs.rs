//! Builds the `warden-docs` JSON: the WIT doc comments of every function a world exports.
//!
//! wit-bindgen drops doc comments from the built component, so the host reads them from this
//! JSON instead. The format (version 1) is a contract with the host:
//! `{ "version": 1, "world": "<ns:pkg/world@ver>", "functions": [..] }`, one entry per exported
//! function, each `{ "interface", "name", "docs", "params": [{ "name", "docs", "fields" }], "result" }`.

use serde_json::{Map, Value, json};
use wit_parser::{
    Docs, Function, FunctionKind, Resolve, Type, TypeDefKind, TypeId, WorldId, WorldItem,
};

/// The version of the JSON format, bumped on any incompatible change.
const FORMAT_VERSION: u32 = 1;

/// Namespaces whose exported interfaces are plumbing, not tools.
const SKIPPED_NAMESPACES: [&str; 2] = ["wasi", "warden"];

/// The `warden-docs` JSON for `world`.
pub fn world_docs(resolve: &Resolve, world: WorldId) -> Value {
    let mut functions = Vec::new();
    for (key, item) in &resolve.worlds[world].exports {
        match item {
            WorldItem::Function(func) => functions.push(function_entry(resolve, None, func)),
            WorldItem::Interface { id, .. } => {
                let iface = &resolve.interfaces[*id];
                let namespace = iface
                    .package
                    .map(|pkg| resolve.packages[pkg].name.namespace.as_str());
                if namespace.is_some_and(|ns| SKIPPED_NAMESPACES.contains(&ns)) {
                    continue;
                }
                let export_name = resolve.name_world_key(key);
                functions.extend(
                    iface
                        .functions
                        .values()
                        .filter(|func| is_freestanding(func))
                        .map(|func| function_entry(resolve, Some(&export_name), func)),
                );
            }
            WorldItem::Type { .. } => {}
        }
    }
    json!({
        "version": FORMAT_VERSION,
        "world": world_name(resolve, world),
        "functions": functions,
    })
}

/// The fully qualified name of a world, e.g. `warden-example:echo/echo@0.1.0`.
pub fn world_name(resolve: &Resolve, world: WorldId) -> String {
    let world = &resolve.worlds[world];
    match world.package {
        Some(pkg) => resolve.id_of_name(pkg, &world.name),
        None => world.name.clone(),
    }
}

/// Resource constructors and methods are not tools; only plain functions are.
fn is_freestanding(func: &Function) -> bool {
    matches!(
        func.kind,
        FunctionKind::Freestanding | FunctionKind::AsyncFreestanding
    )
}

fn function_entry(resolve: &Resolve, interface: Option<&str>, func: &Function) -> Value {
    let params: Vec<Value> = func
        .params
        .iter()
        .map(|param| {
            let (docs, fields) = type_docs(resolve, param_target(resolve, &param.ty));
            json!({ "name": param.name, "docs": docs, "fields": fields })
        })
        .collect();
    let result = func.result.as_ref().map(|ty| {
        let (docs, fields) = type_docs(resolve, result_target(resolve, ty));
        json!({ "docs": docs, "fields": fields })
    });
    json!({
        "interface": interface,
        "name": func.name,
        "docs": docs_text(&func.docs),
        "params": params,
        "result": result,
    })
}

/// The named type a parameter is documented by: the type itself, or what an anonymous
/// `option<T>` or `list<T>` holds, repeatedly.
fn param_target(resolve: &Resolve, ty: &Type) -> Option<TypeId> {
    let Type::Id(id) = ty else {
        return None;
    };
    let def = &resolve.types[*id];
    if def.name.is_some() {
        return Some(*id);
    }
    match &def.kind {
        TypeDefKind::Option(inner) | TypeDefKind::List(inner) => param_target(resolve, inner),
        _ => None,
    }
}

/// Like [`param_target`], but an anonymous `result<T, E>` is documented by `T`.
fn result_target(resolve: &Resolve, ty: &Type) -> Option<TypeId> {
    if let Type::Id(id) = ty {
        let def = &resolve.types[*id];
        if let (None, TypeDefKind::Result(result)) = (&def.name, &def.kind) {
            return result.ok.as_ref().and_then(|ok| param_target(resolve, ok));
        }
    }
    param_target(resolve, ty)
}

/// The docs of a named type and of its fields, cases or flags (only those that have docs).
fn type_docs(resolve: &Resolve, target: Option<TypeId>) -> (Option<String>, Map<String, Value>) {
    let Some(id) = target else {
        return (None, Map::new());
    };
    let docs = docs_text(&resolve.types[id].docs);
    let fields = match &resolve.types[alias_target(resolve, id)].kind {
        TypeDefKind::Record(record) => documented(record.fields.iter().map(|f| (&f.name, &f.docs))),
        TypeDefKind::Variant(variant) => {
            documented(variant.cases.iter().map(|c| (&c.name, &c.docs)))
        }
        TypeDefKind::Enum(enum_) => documented(enum_.cases.iter().map(|c| (&c.name, &c.docs))),
        TypeDefKind::Flags(flags) => documented(flags.flags.iter().map(|f| (&f.name, &f.docs))),
        _ => Map::new(),
    };
    (docs, fields)
}

/// Follows `type a = b;` aliases to the type that defines the fields.
fn alias_target(resolve: &Resolve, id: TypeId) -> TypeId {
    match resolve.types[id].kind {
        TypeDefKind::Type(Type::Id(inner)) => alias_target(resolve, inner),
        _ => id,
    }
}

fn documented<'a>(items: impl Iterator<Item = (&'a String, &'a Docs)>) -> Map<String, Value> {
    items
        .filter_map(|(name, docs)| Some((name.clone(), Value::String(docs_text(docs)?))))
        .collect()
}

fn docs_text(docs: &Docs) -> Option<String> {
    docs.contents.clone()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wit_parser::Resolve;

    use super::world_docs;

    const WARDEN: &str = include_str!("../../../wit/tool.wit");

    fn docs_for(source: &str) -> serde_json::Value {
        let mut resolve = Resolve::default();
        resolve.push_str("tool.wit", WARDEN).unwrap();
        let pkg = resolve.push_str("world.wit", source).unwrap();
        let world = resolve.select_world(&[pkg], None).unwrap();
        world_docs(&resolve, world)
    }

    #[test]
    fn world_functions_with_named_and_anonymous_types() {
        let docs = docs_for(
            r#"
            package demo:shapes@1.2.3;
            world shapes {
                include warden:tool/tool@0.1.0;
                /// A point.
                record point {
                    /// Across.
                    x: f64,
                    y: f64,
                }
                /// Where to look.
                flags where { /// Up.
                    up, down }
                type spot = point;
                /// Move points.
                export shift: func(points: list<point>, by: option<spot>, how: where, n: u32) -> result<list<point>, string>;
                export nothing: func();
                export count: func() -> u32;
            }
            "#,
        );
        assert_eq!(
            docs,
            json!({
                "version": 1,
                "world": "demo:shapes/shapes@1.2.3",
                "functions": [
                    {
                        "interface": null,
                        "name": "shift",
                        "docs": "Move points.",
                        "params": [
                            { "name": "points", "docs": "A point.", "fields": { "x": "Across." } },
                            { "name": "by", "docs": null, "fields": { "x": "Across." } },
                            { "name": "how", "docs": "Where to look.", "fields": { "up": "Up." } },
                            { "name": "n", "docs": null, "fields": {} },
                        ],
                        "result": { "docs": "A point.", "fields": { "x": "Across." } },
                    },
                    { "interface": null, "name": "nothing", "docs": null, "params": [], "result": null },
                    {
                        "interface": null,
                        "name": "count",
                        "docs": null,
                        "params": [],
                        "result": { "docs": null, "fields": {} },
                    },
                ],
            })
        );
    }

    #[test]
    fn interface_exports_keep_order_and_skip_plumbing() {
        let docs = docs_for(
            r#"
            package demo:multi;
            interface named {
                /// Variant docs.
                variant answer { /// Yes.
                    yes(u8), no }
                resource thing { poke: func(); }
                /// Ask.
                ask: func() -> answer;
                make: func() -> thing;
            }
            world multi {
                include warden:tool/tool@0.1.0;
                export first: func();
                export named;
                export inline: interface {
                    /// Enum docs.
                    enum tone { /// High.
                        high, low }
                    pitch: func(tone: tone) -> result<_, string>;
                }
                export warden:tool/log@0.1.0;
            }
            "#,
        );
        let functions = docs["functions"].as_array().unwrap();
        let names: Vec<_> = functions
            .iter()
            .map(|f| (f["interface"].clone(), f["name"].clone()))
            .collect();
        assert_eq!(
            names,
            [
                (json!(null), json!("first")),
                (json!("demo:multi/named"), json!("ask")),
                (json!("demo:multi/named"), json!("make")),
                (json!("inline"), json!("pitch")),
            ]
        );
        assert_eq!(docs["world"], "demo:multi/multi");
        assert_eq!(
            functions[1]["result"],
            json!({ "docs": "Variant docs.", "fields": { "yes": "Yes." } })
        );
        assert_eq!(
            functions[3]["params"][0],
            json!({ "name": "tone", "docs": "Enum docs.", "fields": { "high": "High." } })
        );
        assert_eq!(
            functions[3]["result"],
            json!({ "docs": null, "fields": {} })
        );
    }
}
