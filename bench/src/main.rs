//! `warden-load`: the end-to-end load tool of Warden's benchmarks (`BENCHMARKS.md`).
//!
//! It starts `warden serve --locked` on a manifest serving the `echo` plugin (auditing to a
//! file, `fsync = "interval"`) and the native baseline `native-echo` (the same tool compiled
//! into a plain rmcp server), drives both with rmcp's client over stdio and over Streamable
//! HTTP, alternating between the two servers round by round, and prints Markdown tables:
//!
//! - sequential: `--calls` (2,000) `tools/call` of `echo_echo` with a 32-byte message, after
//!   `--warmup` (200) calls: p50 and p99 latency, calls per second;
//! - concurrent: `--clients` (10) clients × `--per-client` (500) calls each: total calls per
//!   second (over HTTP each client has its own session; over stdio the ten callers share the
//!   one connection a stdio server has);
//! - memory: the server's RSS after the warm-up, its peak RSS during the concurrent load, and
//!   its RSS after it;
//! - start-up: from spawning `warden serve --locked` on a manifest of `--components` (20)
//!   components to the answer of its first `tools/list`, with an empty compiled-component
//!   cache and then with the cache it filled (median of `--startups` runs), and the native
//!   server's for scale.
//!
//! Ratios are Warden's figure over the native server's. `--smoke` runs a few hundred calls
//! and one start-up of three components, to check the tool still works (its numbers mean
//! nothing). The servers and this client share the machine's CPUs.

mod measure;
mod report;
mod servers;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use measure::Latency;
use servers::{Kind, Memory, Setup, Transport};

/// Command line of `warden-load`.
#[derive(Parser, Clone)]
#[command(about = "Load-test `warden serve` against a native rmcp server (see BENCHMARKS.md).")]
struct Args {
    /// The `warden` binary [default: `warden` beside this one].
    #[arg(long)]
    warden: Option<PathBuf>,
    /// The `native-echo` binary [default: `native-echo` beside this one].
    #[arg(long)]
    native: Option<PathBuf>,
    /// The folder of the example plugins.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins"))]
    plugins: PathBuf,
    /// Sequential calls timed per server and transport.
    #[arg(long, default_value_t = 2_000)]
    calls: usize,
    /// Untimed calls before them.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Rounds the sequential calls are split into, alternating which server goes first.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// Calls each concurrent client makes.
    #[arg(long, default_value_t = 500)]
    per_client: usize,
    /// Components in the start-up manifest (at most 26).
    #[arg(long, default_value_t = 20)]
    components: usize,
    /// Start-ups timed per cache state and transport.
    #[arg(long, default_value_t = 5)]
    startups: usize,
    /// Pin the servers to these CPUs (`taskset -c` syntax, e.g. `1`); pin the load tool
    /// itself with `taskset -c 0 warden-load ...`.
    #[arg(long)]
    server_cpus: Option<String>,
    /// Run only over this transport (the start-up too).
    #[arg(long, value_parser = ["stdio", "http"])]
    only: Option<String>,
    /// A short run that checks the tool works: 100 sequential calls, 10 clients × 10 calls,
    /// one start-up of 3 components (overrides the counts above).
    #[arg(long)]
    smoke: bool,
}

impl Args {
    /// The counts `--smoke` stands for.
    fn smoke(self) -> Self {
        Args {
            calls: 100,
            warmup: 10,
            rounds: 2,
            clients: 10,
            per_client: 10,
            components: 3,
            startups: 1,
            ..self
        }
    }
}

/// What one server did under load over one transport.
pub struct ServerLoad {
    /// Sequential latency.
    pub latency: Latency,
    /// Calls per second of the concurrent clients together.
    pub throughput: f64,
    /// Memory after the warm-up.
    pub warm: Memory,
    /// The peak RSS during the concurrent load (see [`Load::peak_reset`]).
    pub peak: u64,
    /// Memory after the load.
    pub after: Memory,
}

/// Both servers under load over one transport: Warden's first, then the native one's.
pub struct Load {
    /// The transport.
    pub transport: Transport,
    /// Warden, then native.
    pub servers: [ServerLoad; 2],
    /// Whether the peaks are of the concurrent load alone (the kernel let the count be
    /// reset), rather than of the servers' whole life.
    pub peak_reset: bool,
}

/// Start-up times over one transport.
pub struct Startup {
    /// The transport.
    pub transport: Transport,
    /// Warden with an empty cache (median).
    pub cold: Duration,
    /// Warden with the cache it filled (median).
    pub warm: Duration,
    /// The native server (median).
    pub native: Duration,
    /// The tools Warden listed.
    pub tools: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args = args.smoke();
    }
    let beside = |name: &str| -> anyhow::Result<PathBuf> {
        Ok(std::env::current_exe()
            .context("cannot find this binary")?
            .with_file_name(name))
    };
    let warden = args.warden.clone().map_or_else(|| beside("warden"), Ok)?;
    let native = args
        .native
        .clone()
        .map_or_else(|| beside("native-echo"), Ok)?;
    let setup = Setup::new(warden, native, &args.plugins, args.server_cpus.clone())?;

    let transports: Vec<Transport> = [Transport::Stdio, Transport::Http]
        .into_iter()
        .filter(|transport| {
            args.only
                .as_deref()
                .is_none_or(|only| only.eq_ignore_ascii_case(transport.name()))
        })
        .collect();
    let cache = setup.fresh_cache();
    let mut loads = Vec::new();
    for &transport in &transports {
        loads.push(load(&setup, transport, &cache, &args).await?);
    }
    let mut startups = Vec::new();
    let many = setup.many_manifest(args.components, &args.plugins)?;
    for &transport in &transports {
        startups.push(startup(&setup, transport, &many, args.startups).await?);
    }
    report::print(&args, &loads, &startups);
    Ok(())
}

/// Runs the warm-up, the sequential and the concurrent load on both servers over
/// `transport`, alternating between them.
async fn load(
    setup: &Setup,
    transport: Transport,
    cache: &std::path::Path,
    args: &Args,
) -> anyhow::Result<Load> {
    let clients = args.clients.max(1);
    let connections = match transport {
        Transport::Stdio => 1,
        Transport::Http => clients,
    };
    let servers = [
        setup
            .start(Kind::Warden, transport, connections, cache)
            .await?,
        setup
            .start(Kind::Native, transport, connections, cache)
            .await?,
    ];
    // Alternate which server goes first, round by round, so that neither always runs on a
    // machine the other just warmed (or heated).
    let order = |round: usize| {
        if round.is_multiple_of(2) {
            [0, 1]
        } else {
            [1, 0]
        }
    };

    let mut warm = Vec::new();
    for server in &servers {
        measure::sequential(&server.peer(0), args.warmup, &mut Vec::new()).await?;
        for client in 1..connections {
            let calls = (args.warmup / connections).max(1);
            measure::sequential(&server.peer(client), calls, &mut Vec::new()).await?;
        }
        warm.push(server.memory()?);
    }

    let rounds = args.rounds.max(1);
    let per_round = args.calls.div_ceil(rounds);
    let mut latencies = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for index in order(round) {
            let peer = servers[index].peer(0);
            measure::sequential(&peer, per_round, &mut latencies[index]).await?;
        }
    }

    let peak_reset = servers.iter().all(|server| server.reset_peak().is_ok());
    let halves = [args.per_client / 2, args.per_client - args.per_client / 2];
    let mut walls = [Duration::ZERO; 2];
    for (round, calls) in halves.into_iter().enumerate() {
        for index in order(round) {
            let peers = (0..clients).map(|c| servers[index].peer(c)).collect();
            walls[index] += measure::concurrent(peers, calls).await?;
        }
    }
    let peaks = [servers[0].memory()?.peak, servers[1].memory()?.peak];
    // Let the last responses and sessions settle before the after-load reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = [servers[0].memory()?, servers[1].memory()?];

    let total = (clients * args.per_client) as f64;
    let results = [0, 1].map(|index| ServerLoad {
        latency: Latency::of(std::mem::take(&mut latencies[index])),
        throughput: total / walls[index].as_secs_f64(),
        warm: warm[index],
        peak: peaks[index],
        after: after[index],
    });
    for server in servers {
        server.stop().await?;
    }
    Ok(Load {
        transport,
        servers: results,
        peak_reset,
    })
}

/// Times `startups` start-ups of Warden on `manifest` with a fresh cache, then with the
/// cache that start filled, and of the native server, over `transport`.
async fn startup(
    setup: &Setup,
    transport: Transport,
    manifest: &std::path::Path,
    startups: usize,
) -> anyhow::Result<Startup> {
    let (mut cold, mut warm, mut native) = (Vec::new(), Vec::new(), Vec::new());
    let mut tools = 0;
    for _ in 0..startups.max(1) {
        let cache = setup.fresh_cache();
        let (time, listed) = setup
            .time_to_list(Kind::Warden, transport, Some(manifest), &cache)
            .await?;
        cold.push(time);
        tools = listed;
        warm.push(
            setup
                .time_to_list(Kind::Warden, transport, Some(manifest), &cache)
                .await?
                .0,
        );
        native.push(
            setup
                .time_to_list(Kind::Native, transport, None, &cache)
                .await?
                .0,
        );
    }
    Ok(Startup {
        transport,
        cold: measure::median(cold),
        warm: measure::median(warm),
        native: measure::median(native),
        tools,
    })
}
