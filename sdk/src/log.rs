//! Logging to the Warden server's log through the `warden:tool/log` import.
//!
//! Messages always go to the server's log. They also reach the MCP client as
//! `notifications/message` when it asked for that level (`logging/setLevel` in MCP
//! 2025-11-25, the request's `_meta` log level in 2026-07-28), redacted, at most 100 per call.
//! The host truncates long messages.

pub use crate::bindings::warden::tool::log::{Level, emit};

/// Logs `message` at [`Level::Trace`].
pub fn trace(message: &str) {
    emit(Level::Trace, message);
}

/// Logs `message` at [`Level::Debug`].
pub fn debug(message: &str) {
    emit(Level::Debug, message);
}

/// Logs `message` at [`Level::Info`].
pub fn info(message: &str) {
    emit(Level::Info, message);
}

/// Logs `message` at [`Level::Warn`].
pub fn warn(message: &str) {
    emit(Level::Warn, message);
}

/// Logs `message` at [`Level::Error`].
pub fn error(message: &str) {
    emit(Level::Error, message);
}
