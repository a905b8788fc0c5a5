//! Component value types made up by tests: a type tree, and the wasmtime [`Type`]s of it.
//!
//! wasmtime hands out `Type`s only from a component, so [`param_types`] encodes a component
//! that imports one function `f` taking the trees as parameters (records, variants, enums and
//! flags imported as named types, as the component model requires), and reads `f`'s
//! parameter types back. The component has no core module: nothing is compiled.
//!
//! Shared by the property tests (`values`) and the `values` fuzz target (`fuzz/`), which
//! includes this file by path.

use wasm_encoder::{
    ComponentImportSection, ComponentTypeRef, ComponentTypeSection, ComponentValType,
    PrimitiveValType, TypeBounds,
};
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::{ComponentItem, Type};

/// A WIT value type. Names (fields, cases, flags) must be kebab-case and unique where WIT
/// says so; lists of fields, cases, flags and tuple members must not be empty.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    /// `bool`.
    Bool,
    /// `s8`.
    S8,
    /// `u8`.
    U8,
    /// `s16`.
    S16,
    /// `u16`.
    U16,
    /// `s32`.
    S32,
    /// `u32`.
    U32,
    /// `s64`.
    S64,
    /// `u64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char`.
    Char,
    /// `string`.
    String,
    /// `list<T>`.
    List(Box<Ty>),
    /// `tuple<..>`.
    Tuple(Vec<Ty>),
    /// `option<T>`.
    Option(Box<Ty>),
    /// `result<T, E>`, either side optional.
    Result(Option<Box<Ty>>, Option<Box<Ty>>),
    /// `record { .. }`.
    Record(Vec<(String, Ty)>),
    /// `variant { .. }`.
    Variant(Vec<(String, Option<Ty>)>),
    /// `enum { .. }`.
    Enum(Vec<String>),
    /// `flags { .. }` (at most 32).
    Flags(Vec<String>),
}

/// The wasmtime types of `params` (name, type), as a component function sees them.
///
/// # Panics
/// The trees break a rule of [`Ty`], so the component does not validate.
pub fn param_types(engine: &Engine, params: &[(String, Ty)]) -> Vec<(String, Type)> {
    let bytes = component(params);
    let component = Component::new(engine, &bytes).expect("the made-up component validates");
    let component_type = component.component_type();
    let (_, item) = component_type
        .imports(engine)
        .find(|(name, _)| *name == "f")
        .expect("the component imports `f`");
    let ComponentItem::ComponentFunc(func) = item.ty else {
        unreachable!("`f` is a function")
    };
    func.params()
        .map(|(name, ty)| (name.to_string(), ty))
        .collect()
}

/// A component that imports `f: func(params)` and nothing else.
fn component(params: &[(String, Ty)]) -> Vec<u8> {
    let mut encoder = Encoder {
        component: wasm_encoder::Component::new(),
        types: 0,
        named: 0,
    };
    let params: Vec<(&str, ComponentValType)> = params
        .iter()
        .map(|(name, ty)| (name.as_str(), encoder.val(ty)))
        .collect();
    let mut section = ComponentTypeSection::new();
    section.function().params(params).result(None);
    encoder.component.section(&section);
    let mut imports = ComponentImportSection::new();
    imports.import("f", ComponentTypeRef::Func(encoder.types));
    encoder.component.section(&imports);
    encoder.component.finish()
}

struct Encoder {
    component: wasm_encoder::Component,
    /// Types defined or imported so far: the next type's index.
    types: u32,
    /// Named types imported so far.
    named: u32,
}

impl Encoder {
    /// The value type of `ty`, defining (and naming) what it needs first.
    fn val(&mut self, ty: &Ty) -> ComponentValType {
        let primitive = match ty {
            Ty::Bool => PrimitiveValType::Bool,
            Ty::S8 => PrimitiveValType::S8,
            Ty::U8 => PrimitiveValType::U8,
            Ty::S16 => PrimitiveValType::S16,
            Ty::U16 => PrimitiveValType::U16,
            Ty::S32 => PrimitiveValType::S32,
            Ty::U32 => PrimitiveValType::U32,
            Ty::S64 => PrimitiveValType::S64,
            Ty::U64 => PrimitiveValType::U64,
            Ty::F32 => PrimitiveValType::F32,
            Ty::F64 => PrimitiveValType::F64,
            Ty::Char => PrimitiveValType::Char,
            Ty::String => PrimitiveValType::String,
            _ => return self.defined(ty),
        };
        ComponentValType::Primitive(primitive)
    }

    fn defined(&mut self, ty: &Ty) -> ComponentValType {
        let mut section = ComponentTypeSection::new();
        let named = match ty {
            Ty::List(item) => {
                let item = self.val(item);
                section.defined_type().list(item);
                false
            }
            Ty::Tuple(items) => {
                let items: Vec<_> = items.iter().map(|item| self.val(item)).collect();
                section.defined_type().tuple(items);
                false
            }
            Ty::Option(inner) => {
                let inner = self.val(inner);
                section.defined_type().option(inner);
                false
            }
            Ty::Result(ok, err) => {
                let ok = ok.as_deref().map(|ty| self.val(ty));
                let err = err.as_deref().map(|ty| self.val(ty));
                section.defined_type().result(ok, err);
                false
            }
            Ty::Record(fields) => {
                let fields: Vec<_> = fields
                    .iter()
                    .map(|(name, ty)| (name.as_str(), self.val(ty)))
                    .collect();
                section.defined_type().record(fields);
                true
            }
            Ty::Variant(cases) => {
                let cases: Vec<_> = cases
                    .iter()
                    .map(|(name, ty)| (name.as_str(), ty.as_ref().map(|ty| self.val(ty))))
                    .collect();
                section.defined_type().variant(cases);
                true
            }
            Ty::Enum(names) => {
                section
                    .defined_type()
                    .enum_type(names.iter().map(String::as_str));
                true
            }
            Ty::Flags(names) => {
                section
                    .defined_type()
                    .flags(names.iter().map(String::as_str));
                true
            }
            _ => unreachable!("primitives are not defined types"),
        };
        self.component.section(&section);
        let mut index = self.types;
        self.types += 1;
        if named {
            // A function signature may use a record, variant, enum or flags type only
            // through a name: import it as one.
            let mut imports = ComponentImportSection::new();
            let name = format!("t{}", self.named);
            imports.import(&name, ComponentTypeRef::Type(TypeBounds::Eq(index)));
            self.component.section(&imports);
            self.named += 1;
            index = self.types;
            self.types += 1;
        }
        ComponentValType::Type(index)
    }
}
