//! The cost of a fresh sandbox per call, against the floor raw wasmtime sets.
//!
//! - `sandbox/warden_echo_call`: Warden's whole call path for `echo_echo` with a 32-byte
//!   message, as `warden serve` runs it: argument validation and conversion, a fresh
//!   `Store` + instance with fuel, memory limit, epoch deadline and a deny-all WASI context,
//!   the call, result shaping, redaction and the audit record (to a file, `fsync =
//!   "interval"`).
//! - `sandbox/warden_sandbox_call`: only the sandbox part of that call, `Sandbox::call`: a
//!   fresh `Store` + instance with fuel, memory limit, epoch deadline and a deny-all WASI
//!   context (captured stdout and stderr, the egress hooks), the call and the drop; the
//!   same work as the floor plus what Warden's sandbox adds.
//! - `sandbox/raw_wasmtime_floor`: raw wasmtime with `PoolingAllocationConfig::default()`:
//!   a fresh `Store` + instance + call of the same `echo` component and drop, with no fuel,
//!   no limits and an empty WASI context; no Warden code.
//! - `hot/validate_convert_redact_1kib`: what Warden adds around the sandbox for a 1 KiB
//!   argument: schema validation, JSON → component values, component value → JSON, and
//!   redaction of the 1 KiB result.
//! - `audit/record`: one audit record written to a file (`fsync = "interval"`).

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use wasmtime::component::{Component, Linker, ResourceTable, Val};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use warden::audit::{AuditLog, AuditSettings, Fsync, OnError, Outcome, Record};
use warden::authorize::{Caller, Transport};
use warden::clients::{Allowed, ClientLimits};
use warden::redact::Report;
use warden::sandbox::CallTarget;

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// A manifest serving the `echo` plugin, auditing to a file in `dir`.
fn manifest(dir: &std::path::Path) -> PathBuf {
    let echo = root().join("plugins/echo.wasm");
    let digest = warden::digest::Sha256Digest::of(&std::fs::read(&echo).expect("echo.wasm"));
    let path = dir.join("warden.toml");
    std::fs::write(
        &path,
        format!(
            "[audit]\npath = \"audit.jsonl\"\n\n[components.echo]\nsource = {:?}\nsha256 = \"{digest}\"\n",
            echo.display().to_string()
        ),
    )
    .expect("write the manifest");
    path
}

fn arguments(message: &str) -> Map<String, Value> {
    let Value::Object(map) = json!({ "message": message }) else {
        unreachable!()
    };
    map
}

fn warden_echo_call(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let prepared = warden::prepare(&manifest(dir.path()), None).expect("the manifest loads");
    let audit = AuditLog::open(
        &prepared.policy.audit,
        Arc::clone(prepared.sandbox.redactor()),
    )
    .expect("the audit file opens");
    let tool = prepared
        .catalog
        .get("echo_echo")
        .expect("echo_echo")
        .clone();
    let caller = Caller {
        identity: "bench".into(),
        allowed: Arc::new(Allowed::default()),
        limits: ClientLimits {
            rate: None,
            max_concurrency: 1,
        },
        transport: Transport::Stdio,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let message = "0123456789abcdef0123456789abcdef";
    c.bench_function("sandbox/warden_echo_call", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let result = warden::call::call(
                    &caller,
                    &tool,
                    &prepared.sandbox,
                    arguments(message),
                    &prepared.policy.server,
                    &audit,
                    "00000000000000000000000000000000",
                )
                .await;
                assert_ne!(result.is_error, Some(true), "{result:?}");
                black_box(result)
            })
        })
    });
}

fn warden_sandbox_call(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let prepared = warden::prepare(&manifest(dir.path()), None).expect("the manifest loads");
    let tool = prepared.catalog.get("echo_echo").expect("echo_echo");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let message = "0123456789abcdef0123456789abcdef";
    c.bench_function("sandbox/warden_sandbox_call", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let target = CallTarget {
                    tool: &tool.name,
                    pre: &tool.pre,
                    function: &tool.function.index,
                    result_count: 1,
                    limits: tool.limits,
                    grants: &tool.grants,
                };
                let report = prepared
                    .sandbox
                    .call(target, vec![Val::String(message.into())])
                    .await;
                assert!(report.outcome.is_ok(), "{report:?}");
                black_box(report)
            })
        })
    });
}

/// The raw floor's store data: an empty WASI context.
struct Floor {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Floor {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn raw_wasmtime_floor(c: &mut Criterion) {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(
        PoolingAllocationConfig::default(),
    ));
    let engine = Engine::new(&config).expect("the engine");
    let component =
        Component::from_file(&engine, root().join("plugins/echo.wasm")).expect("echo compiles");
    let mut linker: Linker<Floor> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("WASI links");
    // The one Warden import echo has: its log, as no-ops.
    let mut log = linker
        .instance("warden:tool/log@0.1.0")
        .expect("the log instance");
    for name in ["emit", "report-panic"] {
        log.func_new(name, |_, _, _, _| Ok(()))
            .expect("a log function");
    }
    let pre = linker.instantiate_pre(&component).expect("pre-instantiate");
    let index = pre
        .component()
        .get_export_index(None, "echo")
        .expect("the echo export");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let params = [Val::String("0123456789abcdef0123456789abcdef".into())];
    c.bench_function("sandbox/raw_wasmtime_floor", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut store = Store::new(
                    &engine,
                    Floor {
                        wasi: WasiCtx::builder().build(),
                        table: ResourceTable::new(),
                    },
                );
                let instance = pre.instantiate_async(&mut store).await.expect("instance");
                let func = instance.get_func(&mut store, index).expect("a function");
                let mut results = [Val::Bool(false)];
                func.call_async(&mut store, &params, &mut results)
                    .await
                    .expect("the call");
                black_box(results)
            })
        })
    });
}

fn validate_convert_redact(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let prepared = warden::prepare(&manifest(dir.path()), None).expect("the manifest loads");
    let tool = prepared.catalog.get("echo_echo").expect("echo_echo");
    let redactor = prepared.sandbox.redactor();
    let message: String = "Warden runs every call in a fresh sandbox. "
        .chars()
        .cycle()
        .take(1024)
        .collect();
    let arguments = Value::Object(arguments(&message));
    c.bench_function("hot/validate_convert_redact_1kib", |b| {
        b.iter(|| {
            let params = tool
                .admit(black_box(&arguments))
                .expect("the arguments pass and convert");
            let output = warden::values::to_json(&params[0]).expect("the value converts");
            let text = output.as_str().expect("a string");
            let mut report = Report::default();
            black_box(redactor.redact_str(text, &mut report).len())
        })
    });
}

fn audit_record(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let settings = AuditSettings {
        path: Some(dir.path().join("audit.jsonl")),
        fsync: Fsync::Interval,
        on_error: OnError::Refuse,
    };
    let redactor = Arc::new(warden::redact::Redactor::new([]));
    let audit = AuditLog::open(&settings, redactor).expect("the audit file opens");
    let args = arguments("0123456789abcdef0123456789abcdef");
    c.bench_function("audit/record", |b| {
        b.iter(|| {
            let mut record = Record::new(
                "00000000000000000000000000000000",
                "bench",
                "stdio",
                "echo_echo",
                Outcome::Ok,
            );
            record.args = warden::audit::summarize(&args, &[], audit.redactor().as_ref());
            assert!(audit.record(record));
        })
    });
}

criterion_group!(
    benches,
    raw_wasmtime_floor,
    warden_sandbox_call,
    warden_echo_call,
    validate_convert_redact,
    audit_record
);
criterion_main!(benches);
