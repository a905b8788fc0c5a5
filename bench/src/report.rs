//! The results as Markdown tables, with the ratio of Warden's figure to the native one's and
//! the target beside each.

use std::time::Duration;

use crate::{Args, Load, Startup};

/// Prints every table to stdout.
pub fn print(args: &Args, loads: &[Load], startups: &[Startup]) {
    println!(
        "# warden-load{}\n",
        if args.smoke { " --smoke" } else { "" }
    );
    println!("{}\n", machine());

    println!(
        "## Sequential: {} calls of `echo_echo` (32-byte message) per server, after {} warm-up calls\n",
        args.calls, args.warmup
    );
    println!("| transport | server | p50 | p99 | calls/s |");
    println!("|---|---|---|---|---|");
    for load in loads {
        let [warden, native] = &load.servers;
        for (name, server) in [("warden", warden), ("native", native)] {
            println!(
                "| {} | {name} | {} | {} | {:.0} |",
                load.transport.name(),
                micros(server.latency.p50),
                micros(server.latency.p99),
                server.latency.per_second,
            );
        }
        println!(
            "| {} | **ratio** (target ≤ 1.5×, stretch 1.3×) | **{}** | **{}** | {} |",
            load.transport.name(),
            ratio(
                warden.latency.p50.as_secs_f64(),
                native.latency.p50.as_secs_f64()
            ),
            ratio(
                warden.latency.p99.as_secs_f64(),
                native.latency.p99.as_secs_f64()
            ),
            ratio(warden.latency.per_second, native.latency.per_second),
        );
    }

    println!(
        "\n## Concurrent: {} clients × {} calls\n",
        args.clients, args.per_client
    );
    println!("| transport | warden calls/s | native calls/s | ratio (HTTP target ≥ 0.7×) |");
    println!("|---|---|---|---|");
    for load in loads {
        let [warden, native] = &load.servers;
        println!(
            "| {} | {:.0} | {:.0} | **{}** |",
            load.transport.name(),
            warden.throughput,
            native.throughput,
            ratio(warden.throughput, native.throughput),
        );
    }

    println!("\n## Memory (RSS)\n");
    println!(
        "| transport | server | after warm-up | peak under the concurrent load | after the load | after / after warm-up (target ≤ 1.10×) |"
    );
    println!("|---|---|---|---|---|---|");
    for load in loads {
        for (name, server) in [("warden", &load.servers[0]), ("native", &load.servers[1])] {
            println!(
                "| {} | {name} | {} | {}{} | {} | {} |",
                load.transport.name(),
                mib(server.warm.rss),
                mib(server.peak),
                if load.peak_reset { "" } else { " (whole life)" },
                mib(server.after.rss),
                ratio(server.after.rss as f64, server.warm.rss as f64),
            );
        }
        println!(
            "| {} | **peak ratio** | | **{}** | | |",
            load.transport.name(),
            ratio(load.servers[0].peak as f64, load.servers[1].peak as f64),
        );
    }

    println!(
        "\n## Start-up: spawn to the first `tools/list` answer, {} components (median of {})\n",
        args.components, args.startups
    );
    println!(
        "| transport | warden, cold cache | warden, warm cache (target ≤ 25 ms) | native (1 tool) | tools listed |"
    );
    println!("|---|---|---|---|---|");
    for startup in startups {
        println!(
            "| {} | {} | **{}** | {} | {} |",
            startup.transport.name(),
            millis(startup.cold),
            millis(startup.warm),
            millis(startup.native),
            startup.tools,
        );
    }
}

/// The CPU model and count, and the kernel, as the machine reports them.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "Machine: {cpus} CPUs ({model}), Linux {}; servers and client share them.",
        kernel.trim()
    )
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

fn ratio(ours: f64, theirs: f64) -> String {
    format!("{:.2}×", ours / theirs)
}
