//! Misbehaving tools for limit tests: loops, allocations, deep recursion, panics, aborts,
//! printing, sleeping and log chatter. Never grant these to a real client.

use std::hint::black_box;
use std::time::Duration;

warden_sdk::tool!({ world: "hog", export: Hog });

/// The `hog` world's implementation.
struct Hog;

/// A wasm page: touching one byte in each makes the host commit the memory.
const PAGE: usize = 64 * 1024;

impl Guest for Hog {
    fn spin() {
        loop {
            black_box(());
        }
    }

    fn grow(mebibytes: u32) -> u32 {
        let mut held = vec![0_u8; mebibytes_to_bytes(mebibytes).expect("size overflows usize")];
        for page in held.chunks_mut(PAGE) {
            page[0] = 1;
        }
        let held = black_box(held);
        u32::try_from(held.len() >> 20).unwrap_or(u32::MAX)
    }

    fn try_grow(mebibytes: u32) -> bool {
        let Some(bytes) = mebibytes_to_bytes(mebibytes) else {
            return false;
        };
        let mut held = Vec::<u8>::new();
        black_box(held.try_reserve_exact(bytes).is_ok())
    }

    fn recurse(depth: u32) -> u32 {
        descend(depth)
    }

    fn panic(message: String) {
        panic!("{message}");
    }

    fn halt() {
        std::process::abort();
    }

    fn print(message: String) -> String {
        println!("{message}");
        eprintln!("{message}");
        "printed".to_string()
    }

    fn nap(milliseconds: u64) {
        std::thread::sleep(Duration::from_millis(milliseconds));
    }

    fn chatter(message: String) -> String {
        warden_sdk::log::trace(&message);
        warden_sdk::log::debug(&message);
        warden_sdk::log::info(&message);
        warden_sdk::log::warn(&message);
        warden_sdk::log::error(&message);
        message
    }
}

fn mebibytes_to_bytes(mebibytes: u32) -> Option<usize> {
    usize::try_from(mebibytes).ok()?.checked_mul(1 << 20)
}

/// Recurses `depth` levels, each with a stack frame the optimiser can neither remove nor
/// turn into a loop; returns the depth reached.
#[inline(never)]
fn descend(depth: u32) -> u32 {
    if depth == 0 {
        return 0;
    }
    let frame = black_box([0_u8; 64]);
    let below = black_box(descend(depth - 1));
    black_box(&frame);
    below + 1
}
