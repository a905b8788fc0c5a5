//! The workloads, timed from the client: sequential calls (each latency kept), concurrent
//! clients (total throughput), and the latency statistics reported.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rmcp::RoleClient;
use rmcp::model::CallToolRequestParams;
use rmcp::service::Peer;
use serde_json::{Map, Value};

/// The tool every call calls.
pub const TOOL: &str = "echo_echo";
/// The message every call sends: 32 bytes.
pub const MESSAGE: &str = "0123456789abcdef0123456789abcdef";

/// One `tools/call` of [`TOOL`] with [`MESSAGE`], checked to echo it back.
///
/// # Errors
/// The call fails, or answers something else.
pub async fn echo(peer: &Peer<RoleClient>) -> anyhow::Result<()> {
    let mut arguments = Map::new();
    arguments.insert("message".into(), Value::String(MESSAGE.into()));
    let result = peer
        .call_tool(CallToolRequestParams::new(TOOL).with_arguments(arguments))
        .await
        .context("tools/call failed")?;
    let text = result
        .content
        .first()
        .and_then(|block| block.as_text())
        .map(|text| text.text.as_str());
    if result.is_error == Some(true) || text != Some(MESSAGE) {
        bail!("{TOOL} did not echo its message: {result:?}");
    }
    Ok(())
}

/// `calls` calls one after the other, adding each one's latency to `latencies`.
///
/// # Errors
/// A call fails.
pub async fn sequential(
    peer: &Peer<RoleClient>,
    calls: usize,
    latencies: &mut Vec<Duration>,
) -> anyhow::Result<()> {
    for _ in 0..calls {
        let started = Instant::now();
        echo(peer).await?;
        latencies.push(started.elapsed());
    }
    Ok(())
}

/// `peers.len()` clients making `calls` sequential calls each, all at once; the wall time
/// until the last one finished.
///
/// # Errors
/// A call fails.
pub async fn concurrent(peers: Vec<Peer<RoleClient>>, calls: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let tasks: Vec<_> = peers
        .into_iter()
        .map(|peer| {
            tokio::spawn(async move {
                for _ in 0..calls {
                    echo(&peer).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

/// Latency statistics of a set of calls.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// Calls per second, one after the other: the count over the summed latencies.
    pub per_second: f64,
}

impl Latency {
    /// The statistics of `latencies` (nearest-rank percentiles).
    ///
    /// # Panics
    /// `latencies` is empty.
    pub fn of(mut latencies: Vec<Duration>) -> Self {
        assert!(!latencies.is_empty(), "no calls were timed");
        latencies.sort_unstable();
        let rank = |p: f64| {
            let index = (p * latencies.len() as f64).ceil() as usize;
            latencies[index.clamp(1, latencies.len()) - 1]
        };
        let total: Duration = latencies.iter().sum();
        Latency {
            p50: rank(0.50),
            p99: rank(0.99),
            per_second: latencies.len() as f64 / total.as_secs_f64(),
        }
    }
}

/// The median of `durations`.
///
/// # Panics
/// `durations` is empty.
pub fn median(mut durations: Vec<Duration>) -> Duration {
    durations.sort_unstable();
    durations[(durations.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let latencies: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let latency = Latency::of(latencies);
        assert_eq!(latency.p50, Duration::from_micros(50));
        assert_eq!(latency.p99, Duration::from_micros(99));
        let one = Latency::of(vec![Duration::from_micros(7)]);
        assert_eq!(
            (one.p50, one.p99),
            (Duration::from_micros(7), Duration::from_micros(7))
        );
        assert_eq!(
            median(vec![
                Duration::from_millis(3),
                Duration::from_millis(1),
                Duration::from_millis(2)
            ]),
            Duration::from_millis(2)
        );
    }
}
