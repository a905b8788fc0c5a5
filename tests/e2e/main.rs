//! End-to-end tests: the real `warden` binary, real compiled components, real MCP clients.

mod bad_input;
mod calls;
mod cli;
mod limits;
mod listing;
mod manifests;
mod support;
