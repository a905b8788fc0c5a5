//! End-to-end tests: the real `warden` binary, real compiled components, real MCP clients.

mod audit;
mod bad_input;
mod calls;
mod capabilities;
mod cli;
mod confirm;
mod elicit;
mod http;
mod httpd;
mod kill;
mod limits;
mod listing;
mod lock;
mod manifests;
mod network;
#[cfg(feature = "otlp")]
mod otlp;
mod prompts;
mod resources;
mod rich;
mod signatures;
mod support;
mod untrusted;
mod watch;
