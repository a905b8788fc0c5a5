//! The `tool!` macro of `warden-sdk`: one call turns a crate with a WIT world into a Warden tool.
//!
//! Use it through `warden_sdk::tool!`; its documentation lives there.

mod docs;
mod input;

use std::path::PathBuf;

use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;
use syn::LitStr;
use wit_parser::{PackageId, Resolve, WorldId};

use crate::input::ToolInput;

/// The folder holding Warden's `warden:tool` package.
///
/// Read from the repository for now; publishing this crate would need a copy inside it.
const WARDEN_WIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit");

/// The import that the SDK's own bindings provide, and that every tool world must include.
const LOG_INTERFACE: &str = "warden:tool/log@0.1.0";

/// An import of `warden:tool/tool` whose bindings the SDK provides.
const SECRETS_INTERFACE: &str = "warden:tool/secrets@0.1.0";

/// The progress interface, whose bindings the SDK provides.
const PROGRESS_INTERFACE: &str = "warden:tool/progress@0.1.0";

/// The content types, whose bindings the SDK provides (so `warden_sdk::Content` is the type
/// in every tool's signatures).
const CONTENT_INTERFACE: &str = "warden:tool/content@0.1.0";

/// The elicitation interface, whose bindings the SDK provides.
const ELICITATION_INTERFACE: &str = "warden:tool/elicitation@0.1.0";

/// The name of the custom section that carries the docs JSON; the host reads it.
const DOCS_SECTION: &str = "warden-docs";

/// Builds a Warden tool from the crate's WIT world: bindings, exports, docs and panic hook.
///
/// See `warden_sdk::tool!` for the options and an example.
#[proc_macro]
pub fn tool(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as ToolInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand(input: &ToolInput) -> syn::Result<TokenStream> {
    let (resolve, world) = resolve_world(input)?;
    let world_id = docs::world_name(&resolve, world);
    let imports_log = resolve.worlds[world]
        .imports
        .keys()
        .any(|key| resolve.name_world_key(key) == LOG_INTERFACE);
    if !imports_log {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("world `{world_id}` must contain `include warden:tool/tool@0.1.0;`"),
        ));
    }

    check_export_names(&resolve, world)?;
    let docs = docs::world_docs(&resolve, world).to_string();
    let docs_len = docs.len();
    let docs_bytes = Literal::byte_string(docs.as_bytes());
    let warden_wit = LitStr::new(WARDEN_WIT, Span::call_site());
    let source = match &input.inline {
        Some(inline) => quote!(path: [#warden_wit], inline: #inline,),
        None => quote!(path: [#warden_wit, "wit"],),
    };
    let export = &input.export;

    Ok(quote! {
        // Generated code: neither documented nor shaped to please clippy (a WIT function with
        // eight parameters makes an eight-parameter trait method).
        #[doc(hidden)]
        #[allow(missing_docs, clippy::all)]
        mod __warden_bindings {
            ::warden_sdk::wit_bindgen::generate!({
                #source
                world: #world_id,
                runtime_path: "::warden_sdk::wit_bindgen::rt",
                with: {
                    #LOG_INTERFACE: ::warden_sdk::__private::log_bindings,
                    #SECRETS_INTERFACE: ::warden_sdk::__private::secrets_bindings,
                    #PROGRESS_INTERFACE: ::warden_sdk::__private::progress_bindings,
                    #CONTENT_INTERFACE: ::warden_sdk::__private::content_bindings,
                    #ELICITATION_INTERFACE: ::warden_sdk::__private::elicitation_bindings,
                },
                generate_all,
                export_macro_name: "__warden_export",
            });
        }

        // The bindings appear at the crate root, as a bare `generate!` would put them.
        #[allow(unused_imports)]
        use __warden_bindings::*;

        __warden_bindings::__warden_export!(#export with_types_in __warden_bindings);

        const _: () = {
            // `link_section` is an unsafe attribute. The section holds plain bytes (no pointers),
            // which is what a wasm custom section needs.
            #[cfg(target_arch = "wasm32")]
            #[allow(unsafe_code)]
            #[used]
            #[unsafe(link_section = #DOCS_SECTION)]
            static WARDEN_DOCS: [u8; #docs_len] = *#docs_bytes;

            // A function pointer in `.init_array` becomes a wasm constructor: wasm-ld calls it
            // from `__wasm_call_ctors`, which wit-bindgen's export glue runs before the first
            // export of every instance. `link_section` is an unsafe attribute.
            #[cfg(target_arch = "wasm32")]
            #[allow(unsafe_code)]
            #[used]
            #[unsafe(link_section = ".init_array")]
            static INSTALL_PANIC_HOOK: extern "C" fn() =
                ::warden_sdk::__private::install_panic_hook;
        };
    })
}

/// C library functions that a world-level export must not be named after.
///
/// A world-level export's name is also its core-wasm symbol name. wasm-ld takes a symbol the
/// crate defines over the C library's, so an export named `abort` becomes libc's `abort`:
/// std's abort then calls the export, which aborts, and the guest recurses until its stack
/// overflows. Exports inside an interface have qualified symbol names and cannot collide.
const LIBC_SYMBOLS: &[&str] = &[
    "abort", "accept", "atexit", "bind", "calloc", "chdir", "clock", "close", "connect", "dup",
    "exit", "fclose", "fflush", "fopen", "fprintf", "fread", "free", "fstat", "fwrite", "getcwd",
    "getenv", "isatty", "kill", "listen", "lseek", "main", "malloc", "memcmp", "memcpy", "memmove",
    "memset", "mkdir", "open", "pipe", "poll", "printf", "puts", "qsort", "raise", "rand", "read",
    "realloc", "recv", "rename", "rmdir", "select", "send", "signal", "sleep", "snprintf",
    "socket", "sprintf", "srand", "stat", "strcmp", "strerror", "strlen", "time", "unlink", "wait",
    "write",
];

/// Refuses world-level exports named like a C library function (see [`LIBC_SYMBOLS`]).
fn check_export_names(resolve: &Resolve, world: WorldId) -> syn::Result<()> {
    for item in resolve.worlds[world].exports.values() {
        if let wit_parser::WorldItem::Function(func) = item
            && LIBC_SYMBOLS.contains(&func.name.as_str())
        {
            return Err(syn::Error::new(
                Span::call_site(),
                format!(
                    "the world-level export `{0}` would replace the C library's `{0}` in the built \
                     module (its name is also its linker symbol); rename it, or export it from an \
                     interface",
                    func.name
                ),
            ));
        }
    }
    Ok(())
}

/// Parses Warden's package, then the author's (the crate's `wit/` folder or `inline`), and
/// selects the world.
fn resolve_world(input: &ToolInput) -> syn::Result<(Resolve, WorldId)> {
    let call_site = Span::call_site();
    let mut resolve = Resolve::default();
    resolve
        .push_path(WARDEN_WIT)
        .map_err(|e| wit_error(&resolve, call_site, &e))?;
    let package: PackageId = match &input.inline {
        Some(inline) => resolve
            .push_str("inline.wit", &inline.value())
            .map_err(|e| wit_error(&resolve, inline.span(), &e))?,
        None => {
            let dir = author_wit_dir().map_err(|e| syn::Error::new(call_site, e))?;
            resolve
                .push_path(&dir)
                .map_err(|e| wit_error(&resolve, call_site, &e))?
                .0
        }
    };
    let world_name = input.world.as_ref().map(LitStr::value);
    let world = resolve
        .select_world(&[package], world_name.as_deref())
        .map_err(|e| {
            let span = input.world.as_ref().map_or(call_site, LitStr::span);
            wit_error(&resolve, span, &e)
        })?;
    Ok((resolve, world))
}

/// A WIT error as a compile error: its causes, with file, line and source snippet where known.
fn wit_error(resolve: &Resolve, span: Span, err: &anyhow::Error) -> syn::Error {
    syn::Error::new(span, resolve.render_error(err))
}

/// The `wit/` folder of the crate that calls `tool!`.
fn author_wit_dir() -> Result<PathBuf, String> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or("CARGO_MANIFEST_DIR is not set; build with cargo, or pass `inline: \"..\"`")?;
    Ok(PathBuf::from(manifest_dir).join("wit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(source: &str) -> (Resolve, WorldId) {
        let mut resolve = Resolve::default();
        resolve.push_path(WARDEN_WIT).unwrap();
        let package = resolve.push_str("test.wit", source).unwrap();
        let world = resolve.select_world(&[package], None).unwrap();
        (resolve, world)
    }

    #[test]
    fn refuses_world_exports_named_like_libc_functions() {
        let (resolve, id) = world(
            "package t:t;\nworld w {\n include warden:tool/tool@0.1.0;\n export abort: func();\n}",
        );
        let error = check_export_names(&resolve, id).unwrap_err().to_string();
        assert!(
            error.contains("would replace the C library's `abort`"),
            "{error}"
        );

        let (resolve, id) = world(
            "package t:t;\ninterface i { abort: func(); }\nworld w {\n include warden:tool/tool@0.1.0;\n export i;\n export halt: func();\n}",
        );
        assert!(
            check_export_names(&resolve, id).is_ok(),
            "interface exports are qualified"
        );
    }
}
