//! What a running call tells the MCP client: its log messages (at the level the client asked
//! for) and its progress (on the request's `progressToken`), redacted and bounded in rate and
//! count, forwarded in order before the call's result.
//!
//! The guest's `warden:tool/log` and `warden:tool/progress` imports run synchronously inside
//! the store; they hand [`Notice`]s to a [`Notifier`], which filters them and queues them on a
//! channel. [`forward`] drains the channel into rmcp notifications on the call's `Peer`; the
//! channel closes when the store is dropped, and the caller runs the forwarder beside the call
//! until both end before it answers, so every notification precedes the response.
//!
//! Bounds, per call: at most [`MAX_LOG_NOTIFICATIONS`] log messages reach the client (one
//! more says that the rest were dropped; the server log gets them all, within its own byte
//! budget), and progress reports closer together than [`PROGRESS_INTERVAL`] are dropped,
//! except that the last report of the call is always sent when the call ends.

// MCP logging is deprecated by SEP-2577 (rmcp marks its types so) but still part of both
// eras Warden serves: 2025-11-25 `logging/setLevel` and the 2026-07-28 `_meta` log level.
#![allow(
    deprecated,
    reason = "rmcp marks MCP logging types deprecated (SEP-2577); both served eras still use them"
)]

use std::time::{Duration, Instant};

use rmcp::model::{
    LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, ProgressToken,
};
use rmcp::service::{Peer, RoleServer};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::redact::{Redactor, Report};

/// Log messages one call may send to the client; further ones go to the server log only.
pub const MAX_LOG_NOTIFICATIONS: usize = 100;
/// The shortest time between two progress notifications of one call (at most 10 a second).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// Bytes of a progress message kept; the rest is cut.
const MAX_PROGRESS_MESSAGE: usize = 1 << 10;

/// One notification for the client.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// A log message (already redacted and truncated).
    Log {
        /// Its MCP level.
        level: LoggingLevel,
        /// The message.
        message: String,
    },
    /// A progress report.
    Progress {
        /// How much is done.
        progress: f64,
        /// Of how much, when known.
        total: Option<f64>,
        /// What is going on (already redacted and truncated).
        message: Option<String>,
    },
}

/// A guest's log level, as MCP names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestLevel {
    /// `trace` (sent as MCP `debug`).
    Trace,
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `warn` (MCP `warning`).
    Warn,
    /// `error`.
    Error,
}

impl GuestLevel {
    fn mcp(self) -> LoggingLevel {
        match self {
            GuestLevel::Trace | GuestLevel::Debug => LoggingLevel::Debug,
            GuestLevel::Info => LoggingLevel::Info,
            GuestLevel::Warn => LoggingLevel::Warning,
            GuestLevel::Error => LoggingLevel::Error,
        }
    }
}

/// The severity rank of an MCP level: `debug` is 0, `emergency` is 7.
pub fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// The log level a 2025-11-25 client set with `logging/setLevel` for its session (shared
/// by the clones of one session's handler).
#[derive(Clone, Debug, Default)]
pub struct SessionLevel(std::sync::Arc<std::sync::Mutex<Option<LoggingLevel>>>);

impl SessionLevel {
    /// Sets the level.
    pub fn set(&self, level: LoggingLevel) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(level);
    }

    /// The level, if the client set one.
    pub fn get(&self) -> Option<LoggingLevel> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What one call may send, and what it has sent: lives in the call's store.
#[derive(Debug)]
pub struct Notifier {
    sender: Option<mpsc::UnboundedSender<Notice>>,
    /// The least severe level the client asked for; `None`: no log messages.
    log_level: Option<LoggingLevel>,
    /// Whether the request carried a `progressToken`.
    progress: bool,
    logs_sent: usize,
    last_progress: Option<(Instant, f64)>,
    /// A report held back by the rate limit: sent when the call ends unless a later one is.
    pending: Option<Notice>,
}

impl Notifier {
    /// A notifier that sends nothing (a call without a client to tell, e.g. in tests).
    pub fn none() -> Self {
        Notifier {
            sender: None,
            log_level: None,
            progress: false,
            logs_sent: 0,
            last_progress: None,
            pending: None,
        }
    }

    /// A notifier sending to the returned receiver: log messages at `log_level` or above, and
    /// progress when `progress` (the request had a token).
    pub fn new(
        log_level: Option<LoggingLevel>,
        progress: bool,
    ) -> (Self, mpsc::UnboundedReceiver<Notice>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let notifier = Notifier {
            sender: Some(sender),
            log_level,
            progress,
            ..Notifier::none()
        };
        (notifier, receiver)
    }

    fn send(&self, notice: Notice) {
        if let Some(sender) = &self.sender {
            // The receiver is gone only when the call's response was abandoned.
            let _ = sender.send(notice);
        }
    }

    /// Passes on a log message the guest wrote (already redacted), if the client asked for
    /// its level and the call's budget allows.
    pub fn log(&mut self, level: GuestLevel, message: &str) {
        let level = level.mcp();
        let Some(wanted) = self.log_level else {
            return;
        };
        if rank(level) < rank(wanted) || self.logs_sent > MAX_LOG_NOTIFICATIONS {
            return;
        }
        self.logs_sent += 1;
        if self.logs_sent > MAX_LOG_NOTIFICATIONS {
            if rank(LoggingLevel::Warning) >= rank(wanted) {
                self.send(Notice::Log {
                    level: LoggingLevel::Warning,
                    message: format!(
                        "warden: this call sent {MAX_LOG_NOTIFICATIONS} log messages; further ones go to the server log only"
                    ),
                });
            }
            return;
        }
        self.send(Notice::Log {
            level,
            message: message.to_string(),
        });
    }

    /// Passes on a progress report, if the request had a token, `progress` increased, and
    /// the rate allows (otherwise it is held back as the pending last report).
    pub fn progress(
        &mut self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
        redactor: &Redactor,
    ) {
        if !self.progress || !progress.is_finite() {
            return;
        }
        let total = total.filter(|total| total.is_finite());
        let now = Instant::now();
        if let Some((_, last)) = self.last_progress
            && progress <= last
        {
            return;
        }
        let message = message.map(|message| {
            let message = crate::sandbox::truncate(message, MAX_PROGRESS_MESSAGE);
            redactor
                .redact_str(&message, &mut Report::default())
                .into_owned()
        });
        let notice = Notice::Progress {
            progress,
            total,
            message,
        };
        let due = self
            .last_progress
            .is_none_or(|(at, _)| now.duration_since(at) >= PROGRESS_INTERVAL);
        self.last_progress = Some((if due { now } else { self.sent_at(now) }, progress));
        if due {
            self.pending = None;
            self.send(notice);
        } else {
            self.pending = Some(notice);
        }
    }

    /// When the last sent report went out (a held-back report does not move it).
    fn sent_at(&self, now: Instant) -> Instant {
        self.last_progress.map_or(now, |(at, _)| at)
    }

    /// Sends the report held back by the rate limit, if any: the call has ended.
    pub fn finish(&mut self) {
        if let Some(notice) = self.pending.take() {
            self.send(notice);
        }
        self.sender = None;
    }
}

/// Sends every notice from `receiver` to `peer` as MCP notifications (progress on `token`),
/// until the call's notifier is dropped. `tool` names the logger.
pub async fn forward(
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
    tool: String,
    mut receiver: mpsc::UnboundedReceiver<Notice>,
) {
    while let Some(notice) = receiver.recv().await {
        let sent = match notice {
            Notice::Log { level, message } => {
                peer.notify_logging_message(
                    LoggingMessageNotificationParam::new(level, Value::String(message))
                        .with_logger(tool.clone()),
                )
                .await
            }
            Notice::Progress {
                progress,
                total,
                message,
            } => {
                let Some(token) = &token else { continue };
                let mut param = ProgressNotificationParam::new(token.clone(), progress);
                param.total = total;
                param.message = message;
                peer.notify_progress(param).await
            }
        };
        if let Err(error) = sent {
            tracing::debug!(%error, tool, "a notification to the client could not be sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(receiver: &mut mpsc::UnboundedReceiver<Notice>) -> Vec<Notice> {
        let mut notices = Vec::new();
        while let Ok(notice) = receiver.try_recv() {
            notices.push(notice);
        }
        notices
    }

    #[test]
    fn logs_below_the_asked_level_or_unasked_are_not_sent() {
        let (mut notifier, mut receiver) = Notifier::new(Some(LoggingLevel::Warning), false);
        notifier.log(GuestLevel::Info, "quiet");
        notifier.log(GuestLevel::Error, "loud");
        assert_eq!(
            drain(&mut receiver),
            vec![Notice::Log {
                level: LoggingLevel::Error,
                message: "loud".into()
            }]
        );
        let (mut notifier, mut receiver) = Notifier::new(None, false);
        notifier.log(GuestLevel::Error, "nobody asked");
        assert!(drain(&mut receiver).is_empty());
    }

    #[test]
    fn log_notifications_are_bounded_per_call() {
        let (mut notifier, mut receiver) = Notifier::new(Some(LoggingLevel::Debug), false);
        for i in 0..MAX_LOG_NOTIFICATIONS + 50 {
            notifier.log(GuestLevel::Info, &format!("line {i}"));
        }
        let notices = drain(&mut receiver);
        assert_eq!(notices.len(), MAX_LOG_NOTIFICATIONS + 1);
        assert!(
            matches!(&notices[MAX_LOG_NOTIFICATIONS], Notice::Log { level: LoggingLevel::Warning, message } if message.contains("server log only"))
        );
    }

    #[test]
    fn progress_is_rate_limited_but_the_last_report_is_kept() {
        let redactor = Redactor::new(std::iter::empty());
        let (mut notifier, mut receiver) = Notifier::new(None, true);
        for step in 1..=50 {
            notifier.progress(f64::from(step), Some(50.0), None, &redactor);
        }
        notifier.progress(10.0, Some(50.0), None, &redactor);
        notifier.finish();
        let notices = drain(&mut receiver);
        assert!(notices.len() < 50, "{notices:?}");
        assert_eq!(
            notices.first(),
            Some(&Notice::Progress {
                progress: 1.0,
                total: Some(50.0),
                message: None
            })
        );
        assert_eq!(
            notices.last(),
            Some(&Notice::Progress {
                progress: 50.0,
                total: Some(50.0),
                message: None
            })
        );
    }

    #[test]
    fn progress_without_a_token_is_ignored() {
        let redactor = Redactor::new(std::iter::empty());
        let (mut notifier, mut receiver) = Notifier::new(Some(LoggingLevel::Debug), false);
        notifier.progress(1.0, None, Some("x".into()), &redactor);
        notifier.finish();
        assert!(drain(&mut receiver).is_empty());
    }
}
