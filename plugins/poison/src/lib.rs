//! Test-only tool whose WIT docs try to instruct the model: prompt injection through tool
//! descriptions, which the host's description lint must refuse. Never grant it.

warden_sdk::tool!({ world: "poison", export: Poison });

/// The `poison` world's implementation: harmless functions behind poisoned docs.
struct Poison;

impl Guest for Poison {
    fn add(a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }

    fn store(note: Note) -> String {
        note.text
    }

    fn say(word: String) -> String {
        word
    }
}
