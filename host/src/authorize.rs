//! Authorization of each request: who is calling, what it may see, and whether its limits let
//! a call run now.
//!
//! Every transport turns its credentials into a [`Caller`] (stdio: the `[stdio]` client; HTTP:
//! the client a token, certificate or JWT proves). Tools, prompts and their limits are decided
//! here, never in a transport. Limits are per client (GCRA rate limiters from `governor`, and
//! semaphores for concurrency): one client's flood waits in its own queue and cannot take the
//! server-wide slots (`max_concurrent_calls`) from another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::catalog::Tool;
use crate::clients::{Allowed, ClientLimits, ClientPolicy, Rate};

/// How the caller reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// stdin/stdout of the server process.
    Stdio,
    /// Streamable HTTP.
    Http,
}

impl Transport {
    /// The name written to the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "http",
        }
    }
}

/// The authenticated caller of one request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The client's identity: its manifest name, or `oauth:<sub>` for a JWT subject.
    pub identity: Arc<str>,
    /// What it may use.
    pub allowed: Arc<Allowed>,
    /// Its limits.
    pub limits: ClientLimits,
    /// How it connected.
    pub transport: Transport,
}

impl Caller {
    /// The caller a manifest client stands for.
    pub fn of(client: &ClientPolicy, transport: Transport) -> Self {
        Caller {
            identity: client.name.as_str().into(),
            allowed: Arc::new(client.allowed.clone()),
            limits: client.limits,
            transport,
        }
    }

    /// Whether `tool` may be listed and called.
    pub fn may_use(&self, tool: &Tool) -> bool {
        self.allowed.tool(tool)
    }
}

/// Why a call may not start now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A rate limit: retry after this long.
    RateLimited {
        /// What was limited, for the message.
        scope: String,
        /// When a call will be admitted again.
        retry_after: Duration,
    },
    /// The tool's per-client concurrency is used up.
    ToolBusy {
        /// The limit.
        limit: usize,
    },
    /// The client's own concurrency stayed used up for the tool's whole timeout.
    ClientBusy {
        /// The limit.
        limit: usize,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::RateLimited { scope, retry_after } => write!(
                f,
                "rate limited ({scope}): retry in {:.3} s",
                retry_after.as_secs_f64()
            ),
            Refusal::ToolBusy { limit } => write!(
                f,
                "this client already has {limit} call(s) of this tool running (the tool's max_concurrency): retry when one finishes"
            ),
            Refusal::ClientBusy { limit } => write!(
                f,
                "this client had {limit} call(s) running (its max_concurrency) for the whole timeout of this tool: retry later"
            ),
        }
    }
}

/// A call admitted to run: holds its concurrency slots until dropped.
#[derive(Debug)]
pub struct Admission {
    _client: OwnedSemaphorePermit,
    _tool: Option<OwnedSemaphorePermit>,
}

type Limiters<K> = Mutex<HashMap<K, Arc<DefaultDirectRateLimiter>>>;
type Slots<K> = Mutex<HashMap<K, Arc<Semaphore>>>;

/// The limit state of every client, shared by all transports.
#[derive(Default)]
pub struct Authorizer {
    client_rates: Limiters<Arc<str>>,
    tool_rates: Limiters<(Arc<str>, Arc<str>)>,
    client_slots: Slots<Arc<str>>,
    tool_slots: Slots<(Arc<str>, Arc<str>)>,
}

impl Authorizer {
    /// Takes one call from the caller's own rate (all tools together).
    ///
    /// # Errors
    /// The caller is over its rate.
    pub fn client_rate(&self, caller: &Caller) -> Result<(), Refusal> {
        let Some(rate) = caller.limits.rate else {
            return Ok(());
        };
        let limiter = limiter(&self.client_rates, caller.identity.clone(), rate);
        check(&limiter).map_err(|retry_after| Refusal::RateLimited {
            scope: format!("client `{}`: {}", caller.identity, describe(rate)),
            retry_after,
        })
    }

    /// Takes one call from the tool's per-client rate, if it has one.
    ///
    /// # Errors
    /// The caller is over the tool's rate.
    pub fn tool_rate(&self, caller: &Caller, tool: &Tool) -> Result<(), Refusal> {
        let Some(rate) = tool.client_limits.rate else {
            return Ok(());
        };
        let key = (caller.identity.clone(), tool.name.clone());
        let limiter = limiter(&self.tool_rates, key, rate);
        check(&limiter).map_err(|retry_after| Refusal::RateLimited {
            scope: format!("tool `{}` per client: {}", tool.name, describe(rate)),
            retry_after,
        })
    }

    /// Admits a call of `tool` by `caller` to run: a slot of the tool's per-client concurrency
    /// (refused at once when none is free), then a slot of the caller's own concurrency
    /// (waited for up to `wait`, so a client's excess calls queue behind its own).
    ///
    /// # Errors
    /// No slot is free.
    pub async fn admit(
        &self,
        caller: &Caller,
        tool: &Tool,
        wait: Duration,
    ) -> Result<Admission, Refusal> {
        let tool_permit = match tool.client_limits.max_concurrency {
            None => None,
            Some(limit) => {
                let key = (caller.identity.clone(), tool.name.clone());
                let slots = slots(&self.tool_slots, key, limit);
                Some(
                    slots
                        .try_acquire_owned()
                        .map_err(|_| Refusal::ToolBusy { limit })?,
                )
            }
        };
        let slots = slots(
            &self.client_slots,
            caller.identity.clone(),
            caller.limits.max_concurrency,
        );
        let client_permit = tokio::time::timeout(wait, slots.acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(Refusal::ClientBusy {
                limit: caller.limits.max_concurrency,
            })?;
        Ok(Admission {
            _client: client_permit,
            _tool: tool_permit,
        })
    }
}

fn describe(rate: Rate) -> String {
    let unit = match rate.period.as_secs() {
        1 => "s",
        60 => "m",
        _ => "h",
    };
    format!("{}/{unit}, burst {}", rate.count, rate.burst)
}

fn limiter<K: std::hash::Hash + Eq>(
    map: &Limiters<K>,
    key: K,
    rate: Rate,
) -> Arc<DefaultDirectRateLimiter> {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(key)
        .or_insert_with(|| {
            let quota = Quota::with_period(rate.interval())
                .unwrap_or(Quota::per_second(rate.count))
                .allow_burst(rate.burst);
            Arc::new(RateLimiter::direct(quota))
        })
        .clone()
}

fn slots<K: std::hash::Hash + Eq>(map: &Slots<K>, key: K, limit: usize) -> Arc<Semaphore> {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(key)
        .or_insert_with(|| Arc::new(Semaphore::new(limit)))
        .clone()
}

fn check(limiter: &DefaultDirectRateLimiter) -> Result<(), Duration> {
    limiter
        .check()
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn caller(rate: Option<Rate>) -> Caller {
        Caller {
            identity: "a".into(),
            allowed: Arc::new(Allowed::everything()),
            limits: ClientLimits {
                rate,
                max_concurrency: 1,
            },
            transport: Transport::Http,
        }
    }

    #[test]
    fn client_rate_allows_the_burst_then_refuses_with_a_retry_time() {
        let authorizer = Authorizer::default();
        let rate = Rate {
            count: NonZeroU32::new(1).unwrap(),
            period: Duration::from_secs(60),
            burst: NonZeroU32::new(2).unwrap(),
        };
        let a = caller(Some(rate));
        assert!(authorizer.client_rate(&a).is_ok());
        assert!(authorizer.client_rate(&a).is_ok());
        match authorizer.client_rate(&a) {
            Err(Refusal::RateLimited { retry_after, .. }) => {
                assert!(retry_after > Duration::from_secs(1), "{retry_after:?}");
            }
            other => panic!("{other:?}"),
        }
        // Another client has its own budget.
        let mut b = caller(Some(rate));
        b.identity = "b".into();
        assert!(authorizer.client_rate(&b).is_ok());
        // No rate: never limited.
        let free = caller(None);
        for _ in 0..100 {
            assert!(authorizer.client_rate(&free).is_ok());
        }
    }
}
