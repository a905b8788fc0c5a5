//! Logging to the Warden server's log through the `warden:tool/log` import.
//!
//! Messages go to the server's log only; they never reach the MCP client. The host truncates
//! long messages.

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
