//! The toolkit for writing Warden tools in Rust.
//!
//! A Warden tool is a WebAssembly component (`wasm32-wasip2`) whose exported functions become
//! MCP tools. You describe them in a WIT world and implement them in Rust; this crate does the
//! rest:
//!
//! - [`tool!`] generates the bindings for your world (with [`wit_bindgen`], re-exported here
//!   so you depend on `warden-sdk` only), exports your type, embeds your WIT doc comments for
//!   the host (wit-bindgen drops them from the component), and installs the SDK panic hook.
//! - [`log`] writes to the Warden server's log, and to the MCP client when it asked for log
//!   messages.
//! - [`progress`] reports a long call's progress to the client.
//! - [`elicitation`] asks the human a question through the client (when the operator grants
//!   `elicitation = true`).
//! - [`Content`] (in [`content`]) is what a tool returns to answer with content blocks:
//!   text, images, audio, embedded resources.
//! - [`http`] sends HTTP requests through `wasi:http/outgoing-handler`, to the hosts the
//!   operator granted.
//! - [`resources`] helps serve MCP resources (export `warden:tool/resources@0.1.0`): paging,
//!   and reading a URI back against its template.
//! - [`secrets`] hands out tokens for the secrets the operator granted, to put in HTTP
//!   request headers; the host swaps in the plaintext, which the tool never sees.
//! - The panic hook sends the panic message to the host before the tool aborts, so the client
//!   gets `panicked: <message>` rather than a bare trap.
//!
//! # Writing a tool
//!
//! `Cargo.toml`: a `cdylib` that depends on `warden-sdk`.
//!
//! `wit/world.wit`: your package and one world. Include `warden:tool/tool@0.1.0` (the SDK
//! supplies that package; don't copy it) and export functions, or interfaces of functions.
//! Doc comments on functions, on their parameter and result types, and on those types' fields
//! and cases become the tool's documentation.
//!
//! ```wit
//! package my-org:greeter@0.1.0;
//!
//! world greeter {
//!     include warden:tool/tool@0.1.0;
//!
//!     /// Greet someone by name.
//!     export greet: func(name: string) -> string;
//! }
//! ```
//!
//! `src/lib.rs`: call [`tool!`] once, then implement the generated `Guest` trait(s). Build
//! with `cargo build --release --target wasm32-wasip2`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is the tool.
//!
//! # Examples
//!
//! The same tool with its WIT inline (a crate normally keeps it in `wit/` instead):
//!
//! ```no_run
//! warden_sdk::tool!({
//!     inline: r#"
//!         package my-org:greeter@0.1.0;
//!
//!         world greeter {
//!             include warden:tool/tool@0.1.0;
//!
//!             /// Greet someone by name.
//!             export greet: func(name: string) -> string;
//!         }
//!     "#,
//!     export: Greeter,
//! });
//!
//! struct Greeter;
//!
//! impl Guest for Greeter {
//!     fn greet(name: String) -> String {
//!         warden_sdk::log::info(&format!("greeting {name}"));
//!         format!("Hello, {name}!")
//!     }
//! }
//! # fn main() {}
//! ```

mod bindings;
pub mod content;
pub mod elicitation;
pub mod http;
pub mod log;
mod panic;
pub mod progress;
pub mod resources;
pub mod secrets;

pub use content::Content;

/// The bindings generator [`tool!`] uses, re-exported so tools need no dependency of their own.
pub use wit_bindgen;

/// Turns this crate into a Warden tool. Call it once, at the crate root, in this form
/// (a complete, compiled example is in the crate docs):
///
/// ```text
/// warden_sdk::tool!({ world: "echo", export: Echo });
/// ```
///
/// Options (the braces are optional):
///
/// - `export: Type` (required): the type that implements the generated `Guest` trait of the
///   world's own functions and the `exports::<ns>::<pkg>::<interface>::Guest` trait of each
///   exported interface. It must be a name in scope, not a path.
/// - `world: "name"`: the world to build, by name or fully qualified
///   (`"my-org:greeter/greeter@0.1.0"`). Optional when the package has one world.
/// - `inline: "wit source"`: the package's WIT, instead of reading the crate's `wit/` folder.
///
/// The call expands, at the crate root, to:
///
/// - `wit_bindgen::generate!` for the world, in a hidden module whose items are imported at the
///   crate root: the `Guest` traits, the types of the world and of its interfaces, the
///   `exports::..` modules, and bindings for any imports. `warden:tool/log`,
///   `warden:tool/secrets`, `warden:tool/progress`, `warden:tool/content` and
///   `warden:tool/elicitation` are not generated again: they are the SDK's (use [`log`],
///   [`secrets`], [`progress`], [`Content`] and [`elicitation`]). The world must `include warden:tool/tool@0.1.0;`.
/// - the export of `Type` for every exported function.
/// - a `warden-docs` custom section: JSON with the doc comments of every exported function, its
///   parameter types and its result type, which the host shows to MCP clients.
/// - a wasm constructor that installs the SDK panic hook before the first export of every
///   instance runs.
///
/// WIT errors (syntax, unknown world, missing include) are reported as compile errors.
pub use warden_sdk_macros::tool;

/// What the code that [`tool!`] generates refers to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::warden::tool::content as content_bindings;
    pub use crate::bindings::warden::tool::elicitation as elicitation_bindings;
    pub use crate::bindings::warden::tool::log as log_bindings;
    pub use crate::bindings::warden::tool::progress as progress_bindings;
    pub use crate::bindings::warden::tool::secrets as secrets_bindings;
    pub use crate::panic::install as install_panic_hook;
}
