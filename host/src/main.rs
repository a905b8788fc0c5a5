//! The `warden` binary: parses the command line, starts logging on stderr (and span export,
//! with the `otlp` feature), runs the command.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = warden::cli::Cli::parse();
    #[cfg(not(feature = "otlp"))]
    warden::cli::init_logging(&cli);
    #[cfg(feature = "otlp")]
    let telemetry = match warden::cli::init_logging(&cli) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = match warden::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    };
    // Spans still batched are sent before the process ends.
    #[cfg(feature = "otlp")]
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    code
}
