//! Two exported interfaces, `left` and `right`, each with `hello`: their tools collide by
//! name, which the host must report.

use crate::exports::warden_example::twin::{left, right};

warden_sdk::tool!({ world: "twin", export: Twin });

/// The `twin` world's implementation.
struct Twin;

impl left::Guest for Twin {
    fn hello() -> String {
        "left".to_string()
    }
}

impl right::Guest for Twin {
    fn hello() -> String {
        "right".to_string()
    }
}
