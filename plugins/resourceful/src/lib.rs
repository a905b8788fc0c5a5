//! A tool whose export returns a resource (`counter`): resources cannot cross an MCP call, so
//! the host must refuse to load it.

use crate::exports::warden_example::resourceful::counters::{Guest, GuestCounter};

warden_sdk::tool!({ world: "resourceful", export: Resourceful });

/// The `resourceful` world's implementation.
struct Resourceful;

/// The state behind a `counter` handle.
struct Counter {
    value: u32,
}

impl Guest for Resourceful {
    type Counter = Counter;

    fn make_counter() -> exports::warden_example::resourceful::counters::Counter {
        exports::warden_example::resourceful::counters::Counter::new(Counter { value: 0 })
    }
}

impl GuestCounter for Counter {
    fn value(&self) -> u32 {
        self.value
    }
}
