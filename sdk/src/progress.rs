//! Reporting a long call's progress to the MCP client through `warden:tool/progress`.
//!
//! Each report becomes a `notifications/progress` on the request's `progressToken`; without
//! a token the host ignores it. `progress` must increase from one report to the next (the
//! host drops the others), and the host sends at most about ten a second, always including
//! the call's last report.

/// Reports that `progress` of `total` (when known) is done, with an optional message.
pub fn report(progress: f64, total: Option<f64>, message: Option<&str>) {
    crate::bindings::warden::tool::progress::report(progress, total, message);
}
