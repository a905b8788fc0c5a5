//! The CI smoke run of the load tool: `warden-load --smoke` against the `warden` binary the
//! same `cargo test --workspace` built and the native baseline, over stdio and HTTP. Only
//! that it runs to the end and reports every table is checked: never its timings.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_load_tool_runs_against_warden_and_the_native_server() {
    let load = PathBuf::from(env!("CARGO_BIN_EXE_warden-load"));
    // `warden` is built into the same folder by `cargo test --workspace` (the host's
    // end-to-end tests need it); `WARDEN_BIN` names another one.
    let warden =
        std::env::var_os("WARDEN_BIN").map_or_else(|| load.with_file_name("warden"), PathBuf::from);
    assert!(
        warden.is_file(),
        "{} is missing: run `cargo test --workspace` or set WARDEN_BIN",
        warden.display()
    );
    let output = Command::new(&load)
        .arg("--smoke")
        .arg("--warden")
        .arg(&warden)
        .arg("--native")
        .arg(env!("CARGO_BIN_EXE_native-echo"))
        .output()
        .expect("warden-load runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "warden-load failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for heading in ["## Sequential", "## Concurrent", "## Memory", "## Start-up"] {
        assert!(report.contains(heading), "no {heading} table:\n{report}");
    }
    for transport in ["| stdio |", "| HTTP |"] {
        assert!(report.contains(transport), "no {transport} rows:\n{report}");
    }
}
