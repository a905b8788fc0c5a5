//! Rust bindings for Warden's `warden:tool` package, generated once and shared by every tool.

// The WIT has no doc comments on the cases of `log.level`; wit-bindgen turns those into
// undocumented enum variants.
#![allow(missing_docs)]

// Warden's WIT is read from the repository root (`../wit`, relative to this crate's manifest).
// Publishing this crate would need a copy of it inside the crate.
wit_bindgen::generate!({
    path: "../wit",
    world: "warden:tool/tool",
    // `content` holds only types, which no import uses: generate them anyway (for
    // `warden_sdk::Content`).
    generate_unused_types: true,
});
