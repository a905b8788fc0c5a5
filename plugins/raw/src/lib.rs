//! A tool built with plain wit-bindgen instead of the SDK: it has no `warden-docs` section and
//! no panic hook, so the host must cope without either.

// Warden's WIT is read from the repository, beside this workspace.
wit_bindgen::generate!({
    path: ["../../wit", "wit"],
    world: "warden-example:raw/raw",
    generate_all,
});

/// The `raw` world's implementation.
struct Raw;

impl Guest for Raw {
    fn boom() {
        panic!("boom");
    }

    fn hello() -> String {
        "hello".to_string()
    }
}

export!(Raw);
