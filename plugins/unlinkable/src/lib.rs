//! A tool that imports `warden-example:missing/nothing`, which no host provides: loading it
//! must fail at link time, before any call.

use crate::warden_example::missing::nothing;

warden_sdk::tool!({ world: "unlinkable", export: Unlinkable });

/// The `unlinkable` world's implementation.
struct Unlinkable;

impl Guest for Unlinkable {
    fn call_it() -> String {
        nothing::hello()
    }
}
