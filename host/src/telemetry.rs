//! OpenTelemetry export (cargo feature `otlp`): Warden's tracing spans, the per-call
//! `warden.tool.call` span among them, go over OTLP/HTTP (protobuf) to a collector.
//!
//! `warden serve` exports only when an endpoint is configured: `--otlp-endpoint URL` or the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` is appended to both) or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is). Only spans are exported, never log
//! events, so nothing a tool prints leaves this way. A call's span joins the caller's trace
//! when the request carried a W3C `traceparent` (and follows its sampled flag); otherwise its
//! trace id is the call's correlation id. Either way the span's trace id is the
//! `correlation_id` of the call's audit record. Spans are sent in batches from a thread of
//! their own; [`Telemetry::shutdown`] sends what is left.

use std::cell::Cell;
use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{SpanId, TraceContextExt as _, TraceId, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

/// The command-line flag naming the collector.
pub const FLAG: &str = "--otlp-endpoint";
/// The standard variable naming the collector's base URL (`/v1/traces` is appended).
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The standard variable naming the traces URL itself.
pub const TRACES_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The path of OTLP/HTTP trace export under a base URL.
pub const TRACES_PATH: &str = "/v1/traces";

/// Why span export cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The configured endpoint is not a plain `http://` URL.
    #[error(
        "the OTLP endpoint `{endpoint}` (from {from}) {problem}: give the collector's http:// URL, e.g. http://127.0.0.1:4318"
    )]
    Endpoint {
        /// The value as configured.
        endpoint: String,
        /// The flag or variable it came from.
        from: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The exporter could not be built.
    #[error("cannot set up the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The URL spans are sent to, and where it was configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The full traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub url: String,
    /// The flag or variable that named it.
    pub from: &'static str,
}

/// The endpoint configured by `flag` (the value of `--otlp-endpoint`) or, without it, by the
/// environment `var` reads; `None` when neither names one (an empty variable names none).
///
/// # Errors
/// The endpoint is not an `http://` URL with a host (HTTPS is not built: no TLS stack is
/// linked into the exporter).
pub fn endpoint(
    flag: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Endpoint>, TelemetryError> {
    let set = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    let (configured, from, base) = if let Some(flag) = flag {
        (flag.to_string(), FLAG, true)
    } else if let Some(url) = set(TRACES_ENDPOINT_VAR) {
        (url, TRACES_ENDPOINT_VAR, false)
    } else if let Some(url) = set(ENDPOINT_VAR) {
        (url, ENDPOINT_VAR, true)
    } else {
        return Ok(None);
    };
    let configured = configured.trim().to_string();
    let invalid = |problem: String| TelemetryError::Endpoint {
        endpoint: configured.clone(),
        from,
        problem,
    };
    let uri: http::Uri = configured
        .parse()
        .map_err(|e| invalid(format!("is not a URL ({e})")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(invalid(
                "uses https, which this build cannot send (no TLS stack is linked into the exporter); send to a collector on this host or a trusted network".into(),
            ));
        }
        _ => return Err(invalid("is not an http:// URL".into())),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("names no host".into()));
    }
    let url = if base {
        format!("{}{TRACES_PATH}", configured.trim_end_matches('/'))
    } else {
        configured.clone()
    };
    Ok(Some(Endpoint { url, from }))
}

/// The running exporter: shut it down on exit to send the spans not yet sent.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Starts exporting to `endpoint` and returns the tracing layer that feeds it: Warden's
    /// spans at `info` and above, whatever `WARDEN_LOG` says, and no events.
    ///
    /// # Errors
    /// The exporter could not be built.
    pub fn start<S>(endpoint: &Endpoint) -> Result<(Self, impl Layer<S> + 'static), TelemetryError>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.url.clone())
            .build()?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_id_generator(CorrelatedIds::default())
            .with_resource(
                Resource::builder()
                    .with_service_name(env!("CARGO_PKG_NAME"))
                    .build(),
            )
            .build();
        let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
        // The level hint keeps callsites below `info` (cranelift's `log::trace!` among them)
        // disabled where the stderr filter disables them, rather than filtered one by one.
        let spans = tracing_subscriber::filter::filter_fn(|metadata| {
            metadata.is_span()
                && *metadata.level() <= tracing::Level::INFO
                && metadata.target().split("::").next() == Some(env!("CARGO_CRATE_NAME"))
        })
        .with_max_level_hint(tracing::Level::INFO);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(spans);
        Ok((Telemetry { provider }, layer))
    }

    /// Sends the spans not yet sent and stops the exporter.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "the OTLP exporter did not shut down cleanly");
        }
    }
}

thread_local! {
    /// The trace id the next root span started on this thread gets (see [`join_trace`]).
    static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// Random ids, except a root span's trace id when [`join_trace`] chose it.
#[derive(Debug, Default)]
struct CorrelatedIds(RandomIdGenerator);

impl IdGenerator for CorrelatedIds {
    fn new_trace_id(&self) -> TraceId {
        NEXT_TRACE_ID
            .take()
            .unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        self.0.new_span_id()
    }
}

/// Puts a call's `span` in the trace its audit record names: the caller's, as the child of
/// the `traceparent`'s span, when it is valid; else a new trace whose id is `correlation_id`.
/// Does nothing when spans are not exported.
pub fn join_trace(span: &tracing::Span, traceparent: Option<&str>, correlation_id: &str) {
    let remote = traceparent
        .filter(|header| crate::audit::trace_id(header).is_some())
        .map(|header| {
            let carrier = HashMap::from([("traceparent".to_string(), header.trim().to_string())]);
            TraceContextPropagator::new().extract(&carrier)
        })
        .filter(|context| context.span().span_context().is_valid());
    if let Some(context) = remote {
        // Fails only when the span is not exported, which leaves nothing to join.
        let _ = span.set_parent(context);
        return;
    }
    let Ok(trace_id) = TraceId::from_hex(correlation_id) else {
        return;
    };
    // Start the span now, on this thread, so that the id generator hands it `trace_id`.
    NEXT_TRACE_ID.set(Some(trace_id));
    let _ = span.context();
    NEXT_TRACE_ID.set(None);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_flag_then_the_traces_variable_then_the_base_variable_name_the_endpoint() {
        let both = env(&[
            (ENDPOINT_VAR, "http://base:4318/"),
            (TRACES_ENDPOINT_VAR, "http://traces:9/custom"),
        ]);
        let from_flag = endpoint(Some("http://flag:4318"), &both).unwrap().unwrap();
        assert_eq!(from_flag.url, "http://flag:4318/v1/traces");
        assert_eq!(from_flag.from, FLAG);
        let traces = endpoint(None, &both).unwrap().unwrap();
        assert_eq!(traces.url, "http://traces:9/custom", "used as is");
        let base = endpoint(None, env(&[(ENDPOINT_VAR, "http://base:4318/")]))
            .unwrap()
            .unwrap();
        assert_eq!(base.url, "http://base:4318/v1/traces");
        assert_eq!(base.from, ENDPOINT_VAR);
        assert_eq!(endpoint(None, env(&[])).unwrap(), None);
        assert_eq!(endpoint(None, env(&[(ENDPOINT_VAR, " ")])).unwrap(), None);
    }

    #[test]
    fn endpoints_that_cannot_be_sent_to_are_refused_naming_their_source() {
        for (value, problem) in [
            ("https://collector:4318", "uses https"),
            ("collector:4318", "is not an http:// URL"),
            ("http://", "is not a URL"),
            ("not a url", "is not a URL"),
        ] {
            let error = endpoint(None, env(&[(ENDPOINT_VAR, value)]))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(problem) && error.contains(ENDPOINT_VAR),
                "{value}: {error}"
            );
        }
    }

    #[test]
    fn a_root_span_takes_the_trace_id_it_was_given_once() {
        let ids = CorrelatedIds::default();
        let chosen = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        NEXT_TRACE_ID.set(Some(chosen));
        assert_eq!(ids.new_trace_id(), chosen);
        let next = ids.new_trace_id();
        assert_ne!(next, chosen);
        assert_ne!(next, TraceId::INVALID);
    }
}
