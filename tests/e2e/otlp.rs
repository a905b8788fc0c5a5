//! OpenTelemetry export (the `otlp` feature): the real binary sends each call's span over
//! OTLP/HTTP to a collector started here, in the trace its audit record names.

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::httpd::TestServer;
use crate::support::{WARDEN, call, client_with, manifest, run};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// A collector on 127.0.0.1: answers every request 200, keeping it.
struct Collector(TestServer);

impl Collector {
    fn start() -> Collector {
        Collector(TestServer::start(|_| (200, Vec::new(), String::new())))
    }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    fn endpoint(&self) -> String {
        self.0.origin()
    }

    /// Every span posted to `/v1/traces` so far, with its resource's `service.name`.
    fn spans(&self) -> Vec<(String, Span)> {
        let mut spans = Vec::new();
        for request in self.0.requests() {
            assert_eq!(
                (request.method.as_str(), request.target.as_str()),
                ("POST", "/v1/traces")
            );
            assert_eq!(
                request.header("content-type"),
                Some("application/x-protobuf")
            );
            let request =
                ExportTraceServiceRequest::decode(&request.body[..]).expect("OTLP protobuf");
            for resource_spans in request.resource_spans {
                let service = resource_spans
                    .resource
                    .as_ref()
                    .and_then(|resource| string_attribute(&resource.attributes, "service.name"))
                    .unwrap_or_default();
                for scope_spans in resource_spans.scope_spans {
                    for span in scope_spans.spans {
                        spans.push((service.clone(), span));
                    }
                }
            }
        }
        spans
    }
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
        .and_then(|value| match value {
            AnyValue::StringValue(text) => Some(text.clone()),
            _ => None,
        })
}

#[tokio::test]
async fn each_call_s_span_reaches_the_collector_in_the_trace_its_audit_record_names() {
    let collector = Collector::start();
    let manifest = manifest(
        &[("echo", "echo")],
        "[audit]\npath = \"audit.jsonl\"\nfsync = \"always\"\n",
    );
    // WARDEN_LOG=warn (as every test client runs): the log level does not decide what is
    // exported.
    let endpoint = collector.endpoint();
    let client = client_with(
        &manifest,
        Command::new(WARDEN),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    )
    .await;
    let mut meta = RequestMetaObject::default();
    meta.set_traceparent(format!("00-{TRACE_ID}-{PARENT_ID}-01"));
    let Value::Object(arguments) = json!({"message": "traced"}) else {
        unreachable!()
    };
    let mut params = CallToolRequestParams::new("echo_echo").with_arguments(arguments);
    params.meta = Some(meta);
    client.call_tool(params).await.unwrap();
    call(&client, "echo_echo", json!({"message": "untraced"})).await;
    // Closing stdin ends the server, which sends the spans still batched.
    client.cancel().await.unwrap();

    let audit = manifest.dir.path().join("audit.jsonl");
    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["correlation_id"], TRACE_ID);
    let generated = records[1]["correlation_id"].as_str().unwrap().to_string();
    assert_ne!(generated, TRACE_ID);
    let (code, stdout, stderr) = run(&["audit", "verify", audit.to_str().unwrap()]);
    assert_eq!((code, stdout.trim()), (0, "ok: 2 records"), "{stderr}");

    let deadline = Instant::now() + Duration::from_secs(60);
    let calls = loop {
        let calls: Vec<(String, Span)> = collector
            .spans()
            .into_iter()
            .filter(|(_, span)| span.name == "warden.tool.call")
            .collect();
        if calls.len() >= 2 || Instant::now() > deadline {
            break calls;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(calls.len(), 2, "two call spans reach the collector");
    let find = |trace: &str| {
        calls
            .iter()
            .find(|(_, span)| hex::encode(&span.trace_id) == trace)
            .unwrap_or_else(|| {
                let traces: Vec<String> = calls
                    .iter()
                    .map(|(_, span)| hex::encode(&span.trace_id))
                    .collect();
                panic!("no span in trace {trace}: {traces:?}")
            })
    };
    // The request's traceparent: the span is a child of the caller's span, in its trace.
    let (service, traced) = find(TRACE_ID);
    assert_eq!(service, "warden");
    assert_eq!(hex::encode(&traced.parent_span_id), PARENT_ID);
    assert_eq!(
        string_attribute(&traced.attributes, "correlation_id").as_deref(),
        Some(TRACE_ID)
    );
    assert_eq!(
        string_attribute(&traced.attributes, "client").as_deref(),
        Some("stdio")
    );
    // No traceparent: a trace of its own, whose id is the record's correlation id.
    let (_, untraced) = find(&generated);
    assert!(untraced.parent_span_id.is_empty(), "{untraced:?}");
    assert_eq!(
        string_attribute(&untraced.attributes, "correlation_id").as_deref(),
        Some(generated.as_str())
    );
}

#[test]
fn an_endpoint_the_exporter_cannot_send_to_refuses_the_start() {
    let manifest = manifest(&[("echo", "echo")], "");
    let path = manifest.path.to_str().unwrap();
    let (code, _, stderr) = run(&[
        "serve",
        "--manifest",
        path,
        "--otlp-endpoint",
        "https://collector.example:4318",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--otlp-endpoint") && stderr.contains("uses https"),
        "{stderr}"
    );
    // Other commands do not export, so the variable does not concern them.
    let output = std::process::Command::new(WARDEN)
        .args(["check", "--manifest", path])
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://collector.example:4318",
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}
