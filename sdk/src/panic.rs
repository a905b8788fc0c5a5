//! The panic hook that tells the host why a tool panicked.

use std::any::Any;
use std::panic;
use std::sync::Once;

use crate::bindings::warden::tool::log::report_panic;

/// Installs the SDK panic hook; later calls do nothing.
///
/// The hook sends the panic payload's text to the host's `report-panic`, then runs the
/// previous (default) hook, after which the panic aborts the instance as usual. `tool!`
/// registers this function as a wasm constructor, so it runs before the first export of
/// every instance.
pub extern "C" fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            report_panic(payload_text(info.payload()));
            previous(info);
        }));
    });
}

/// The text of a `&str` or `String` panic payload; `"Box<dyn Any>"` for any other payload,
/// as std's own hook says.
fn payload_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "Box<dyn Any>"
    }
}

#[cfg(test)]
mod tests {
    use super::payload_text;

    #[test]
    fn payload_text_reads_str_and_string_payloads() {
        assert_eq!(payload_text(&"static text"), "static text");
        assert_eq!(payload_text(&String::from("formatted 7")), "formatted 7");
        assert_eq!(payload_text(&7_u32), "Box<dyn Any>");
    }
}
