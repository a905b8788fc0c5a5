//! Runs one tool call in a fresh sandbox: a new `Store` per call from a pre-instantiated
//! component, with fuel, a summed memory limit and a wall-clock deadline, and nothing granted.

mod egress;
mod outbound;
mod state;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use wasmtime::component::{ComponentExportIndex, InstancePre, Linker, ResourceTable, Val};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::WasiCtxBuilder;

use crate::grants::Access;
use crate::policy::{Grants, Limits, Secret};
use crate::redact::{Redactor, Report};
use secrecy::ExposeSecret;
pub use state::{CallState, CapturedOutput, GuestReport, MemoryLimiter, SecretHandle, truncate};
use std::collections::BTreeMap;
use wasmtime_wasi::FsPerms;

/// Host bindings of Warden's WIT package (the `log`, `secrets`, `progress` and `content`
/// imports).
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "tool",
        with: { "warden:tool/secrets.secret": crate::sandbox::SecretHandle },
        // A question waits for the human (2025-11-25), or stops the call (2026-07-28).
        imports: { "warden:tool/elicitation.ask": async | trappable },
    });
}

/// How often the epoch advances: how often a running guest is checked for its deadline and
/// its cancellation.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Fuel burnt between yields to the async runtime (about 50 µs of a busy guest), so that a
/// busy guest cannot starve other calls or the transport on its worker thread.
const FUEL_YIELD_INTERVAL: u64 = 1_000_000;
/// Bytes of guest stdout, and of stderr, kept per call for the server log.
const CAPTURED_OUTPUT: usize = 16 << 10;
/// The wasm stack a call may use.
const MAX_WASM_STACK: usize = 1 << 20;
/// Bytes of each pooled memory and table that stay resident between calls (reset with
/// memset; the rest is decommitted with madvise). Small on purpose: wasmtime counts every
/// page the instance ever made private as dirty, so a larger value memsets that much on
/// every call (a raw-wasmtime `echo` call took 37 µs with 1 MiB, 16 µs with 16 KiB; see
/// BENCHMARKS.md).
const KEEP_RESIDENT: usize = 16 << 10;

/// The engine, the linker that defines what the host offers, and the call gate.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<CallState>,
    slots: Arc<Semaphore>,
    max_concurrent_calls: usize,
    secrets: Arc<BTreeMap<String, Secret>>,
    redactor: Arc<Redactor>,
    ticker: Arc<AtomicBool>,
    cache: Option<crate::cache::ArtifactCache>,
}

/// Why a call did not return a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The call used all its fuel.
    OutOfFuel {
        /// The fuel limit.
        limit: u64,
    },
    /// The guest tried to grow its memory past the limit and then failed.
    OutOfMemory {
        /// The memory limit, rendered.
        limit: String,
    },
    /// The call ran past its wall-clock limit.
    Timeout {
        /// The limit.
        limit: Duration,
    },
    /// The guest's wasm stack overflowed.
    StackOverflow,
    /// The guest panicked; the SDK's hook reported the message.
    Panicked(String),
    /// Any other trap.
    Trap(String),
    /// The client cancelled the request (or closed its response stream) while it ran.
    Cancelled,
    /// Every sandbox slot stayed busy for the whole timeout.
    Busy {
        /// `server.max_concurrent_calls`.
        slots: usize,
    },
    /// The guest asked the human a question that has no answer yet (2026-07-28): the call
    /// answers `input_required` with [`CallReport::question`].
    NeedsAnswer,
}

impl Failure {
    /// A short name for audit records.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::OutOfFuel { .. } => "out_of_fuel",
            Failure::OutOfMemory { .. } => "out_of_memory",
            Failure::Timeout { .. } => "timeout",
            Failure::StackOverflow => "stack_overflow",
            Failure::Panicked(_) => "panic",
            Failure::Trap(_) => "trap",
            Failure::Busy { .. } => "busy",
            Failure::Cancelled => "cancelled",
            Failure::NeedsAnswer => "input_required",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::OutOfFuel { limit } => write!(
                f,
                "out of fuel: the call used all of its {limit} fuel (limits.fuel)"
            ),
            Failure::OutOfMemory { limit } => write!(
                f,
                "out of memory: the tool tried to grow past its {limit} limit (limits.memory)"
            ),
            Failure::Timeout { limit } => write!(
                f,
                "timed out: the call ran longer than {} (limits.timeout)",
                crate::units::format_duration(*limit)
            ),
            Failure::StackOverflow => write!(f, "stack overflow: the tool recursed too deeply"),
            Failure::Panicked(message) => write!(f, "panicked: {message}"),
            Failure::Trap(message) => write!(f, "trap: {message}"),
            Failure::Cancelled => write!(
                f,
                "cancelled: the client cancelled the request, so the tool was stopped"
            ),
            Failure::Busy { slots } => write!(
                f,
                "server busy: all {slots} sandboxes stayed in use for the call's whole timeout; try again later"
            ),
            Failure::NeedsAnswer => crate::elicit::NeedsAnswer.fmt(f),
        }
    }
}

/// What one call did.
#[derive(Debug)]
pub struct CallReport {
    /// The results, or why there are none.
    pub outcome: Result<Vec<Val>, Failure>,
    /// Fuel consumed.
    pub fuel_used: u64,
    /// Wall-clock time, including waiting for a slot.
    pub duration: Duration,
    /// The most linear memory and table space the instance held, if it ran.
    pub peak_memory: Option<u64>,
    /// Capabilities the sandbox refused during the call.
    pub denials: Vec<crate::audit::Denial>,
    /// The question the guest stopped at ([`Failure::NeedsAnswer`]).
    pub question: Option<crate::elicit::Question>,
}

/// What the sandbox needs to run one function of a component.
pub struct CallTarget<'a> {
    /// The tool name, for log lines.
    pub tool: &'a Arc<str>,
    /// The pre-instantiated component.
    pub pre: &'a InstancePre<CallState>,
    /// The exported function.
    pub function: &'a ComponentExportIndex,
    /// How many results it returns.
    pub result_count: usize,
    /// Its limits.
    pub limits: Limits,
    /// What it may touch.
    pub grants: &'a Arc<Grants>,
}

/// What a call may tell the client, and what stops it early.
pub struct CallExtras {
    /// Where its log messages and progress go.
    pub notifier: crate::notify::Notifier,
    /// Cancelled when the client cancels the request: the guest is stopped promptly (at its
    /// next yield, or on the next epoch tick).
    pub cancel: Option<CancellationToken>,
    /// How the guest's questions reach the human.
    pub questions: crate::elicit::Questions,
}

impl Default for CallExtras {
    fn default() -> Self {
        CallExtras {
            notifier: crate::notify::Notifier::none(),
            cancel: None,
            questions: crate::elicit::Questions::default(),
        }
    }
}

impl Sandbox {
    /// Creates the engine (fuel and epoch interruption on, instances from a pool sized for
    /// `max_concurrent_calls` instances of at most `largest_memory` bytes of linear memory
    /// each), the linker with WASI p2 (nothing granted) and `warden:tool/log`, and starts the
    /// epoch ticker.
    ///
    /// # Errors
    /// The engine cannot be configured, or the pool cannot be reserved.
    pub fn new(
        max_concurrent_calls: usize,
        largest_memory: u64,
        secrets: Arc<BTreeMap<String, Secret>>,
    ) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(
            max_concurrent_calls,
            largest_memory,
        )));
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::Tool::add_to_linker::<CallState, wasmtime::component::HasSelf<CallState>>(
            &mut linker,
            |state| state,
        )?;

        let ticker = Arc::new(AtomicBool::new(true));
        let running = Arc::clone(&ticker);
        let ticking = engine.weak();
        std::thread::Builder::new()
            .name("warden-epoch".into())
            .spawn(move || {
                while running.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match ticking.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;

        Ok(Sandbox {
            engine,
            linker,
            slots: Arc::new(Semaphore::new(max_concurrent_calls)),
            max_concurrent_calls,
            redactor: Arc::new(Redactor::new(
                secrets
                    .iter()
                    .map(|(name, secret)| (name.as_str(), secret.value.expose_secret())),
            )),
            secrets,
            ticker,
            cache: None,
        })
    }

    /// Keeps compiled components in (and loads them from) the cache folder `dir`.
    ///
    /// # Errors
    /// The folder cannot be used; components are then compiled every time.
    pub fn use_cache(&mut self, dir: &std::path::Path) -> Result<(), crate::cache::CacheError> {
        self.cache = Some(crate::cache::ArtifactCache::open(dir, &self.engine)?);
        Ok(())
    }

    /// The component `bytes`, whose digest is `digest`, compiled for this engine (from the
    /// cache when one is in use and holds it).
    ///
    /// # Errors
    /// The bytes do not compile.
    pub fn compile(
        &self,
        digest: &crate::digest::Sha256Digest,
        bytes: &[u8],
    ) -> wasmtime::Result<wasmtime::component::Component> {
        match &self.cache {
            Some(cache) => {
                let (component, source) = cache.load(&self.engine, digest, bytes)?;
                tracing::debug!(%digest, ?source, "component ready");
                Ok(component)
            }
            None => wasmtime::component::Component::from_binary(&self.engine, bytes),
        }
    }

    /// The engine components are compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The redactor of every text that leaves the server: built from every defined secret
    /// plus the credential rules.
    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.redactor
    }

    /// The linker components are pre-instantiated with.
    pub fn linker(&self) -> &Linker<CallState> {
        &self.linker
    }

    /// Calls `target` with `params` in a fresh store under its limits.
    ///
    /// Never fails: a guest that traps, runs out of anything or overruns its deadline is
    /// reported in [`CallReport::outcome`], and the store is thrown away either way.
    pub async fn call(&self, target: CallTarget<'_>, params: Vec<Val>) -> CallReport {
        self.call_with(target, params, CallExtras::default()).await
    }

    /// Like [`Sandbox::call`], with a notifier for the client and a cancellation token.
    ///
    /// The call runs in the caller's task. While the guest runs wasm, the epoch callback
    /// checks its cancellation and deadline on every tick ([`EPOCH_TICK`]) and stops it
    /// there; whenever it yields (every [`FUEL_YIELD_INTERVAL`] fuel, and in host calls that
    /// wait), the cancellation and the deadline end the call at once. A cancelled call reports
    /// [`Failure::Cancelled`]; either way its instance is dropped and its slot freed.
    /// Progress held back by the rate limit is flushed when the call ends, and the notifier
    /// is dropped with the store, so its channel closes.
    pub async fn call_with(
        &self,
        target: CallTarget<'_>,
        params: Vec<Val>,
        extras: CallExtras,
    ) -> CallReport {
        let started = Instant::now();
        let failed = |failure| CallReport {
            outcome: Err(failure),
            fuel_used: 0,
            duration: started.elapsed(),
            peak_memory: None,
            denials: Vec::new(),
            question: None,
        };
        let cancel = extras.cancel.unwrap_or_default();
        if cancel.is_cancelled() {
            return failed(Failure::Cancelled);
        }
        let limits = target.limits;
        let slot = match self.slot(limits.timeout, &cancel).await {
            Ok(slot) => slot,
            Err(failure) => return failed(failure),
        };
        let deadline = Instant::now() + limits.timeout;
        let (mut store, output) = match self.store(
            &target,
            extras.notifier,
            extras.questions,
            &cancel,
            deadline,
        ) {
            Ok(store) => store,
            Err(failure) => return failed(failure),
        };

        let run = async {
            let instance = target.pre.instantiate_async(&mut store).await?;
            let func = instance
                .get_func(&mut store, *target.function)
                .ok_or_else(|| wasmtime::format_err!("the export is not a function"))?;
            let mut results = vec![Val::Bool(false); target.result_count];
            func.call_async(&mut store, &params, &mut results).await?;
            wasmtime::Result::<Vec<Val>>::Ok(results)
        };
        // `run` first: a call that finishes in its first poll never arms the timer. The
        // other two end a wait in a host call (the epoch callback cannot run there).
        let result = tokio::select! {
            biased;
            result = run => result,
            () = cancel.cancelled() => Err(wasmtime::Error::new(Stop::Cancelled)),
            () = tokio::time::sleep_until(deadline.into()) => Err(wasmtime::Error::new(Stop::Deadline)),
        };

        let fuel_used = limits.fuel - store.get_fuel().unwrap_or(0);
        let mut state = store.into_data();
        // The instance went back to the pool with the store: only now may another call take
        // the slot, so the pool never holds more instances than there are slots.
        drop(slot);
        state.notifier.finish();
        log_output(target.tool, "stdout", &output.stdout, &self.redactor);
        log_output(target.tool, "stderr", &output.stderr, &self.redactor);
        let outcome = result.map_err(|error| classify(&error, &state, limits));
        let denials = std::mem::take(
            &mut *state
                .egress
                .denials
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        CallReport {
            outcome,
            fuel_used,
            duration: started.elapsed(),
            peak_memory: Some(state.limiter.peak as u64),
            denials,
            question: state.questions.take_pending(),
        }
    }

    /// A sandbox slot: at once when one is free, else the first to free up within `timeout`
    /// (a call cancelled while it waits gives up its place at once).
    async fn slot(
        &self,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<OwnedSemaphorePermit, Failure> {
        if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(slot);
        }
        tokio::select! {
            waited = tokio::time::timeout(timeout, Arc::clone(&self.slots).acquire_owned()) => match waited {
                Ok(Ok(slot)) => Ok(slot),
                _ => Err(Failure::Busy {
                    slots: self.max_concurrent_calls,
                }),
            },
            () = cancel.cancelled() => Err(Failure::Cancelled),
        }
    }

    /// A fresh store for one call of `target`: a deny-all WASI context with only the granted
    /// directories and environment, captured stdout and stderr, the memory limiter, the fuel,
    /// and the epoch callback that stops the guest once `cancel` fires or `deadline` passes.
    fn store(
        &self,
        target: &CallTarget<'_>,
        notifier: crate::notify::Notifier,
        questions: crate::elicit::Questions,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<(Store<CallState>, Output), Failure> {
        let output = Output {
            stdout: CapturedOutput::new(CAPTURED_OUTPUT),
            stderr: CapturedOutput::new(CAPTURED_OUTPUT),
        };
        // Deny by default: no args, no stdin, no sockets or name lookups; only the granted
        // directories and environment variables.
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(output.stdout.clone())
            .stderr(output.stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for (name, value) in &target.grants.env {
            wasi.env(name, value);
        }
        for dir in &target.grants.dirs {
            let perms = match dir.access {
                Access::ReadOnly => FsPerms::ReadOnly,
                Access::ReadWrite => FsPerms::ReadWrite,
            };
            wasi.preopened_dir(&dir.host, &dir.guest, perms)
                .map_err(|error| {
                    Failure::Trap(format!(
                        "cannot open the granted directory {}: {error}",
                        dir.guest
                    ))
                })?;
        }
        let state = CallState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(target.limits.memory.bytes()),
            guest: GuestReport::new(Arc::clone(target.tool), Arc::clone(&self.redactor)),
            grants: Arc::clone(target.grants),
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            egress: egress::EgressHooks::new(
                Arc::clone(target.tool),
                Arc::clone(target.grants),
                Arc::clone(&self.secrets),
            ),
            notifier,
            questions,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store
            .set_fuel(target.limits.fuel)
            .and_then(|()| store.fuel_async_yield_interval(Some(FUEL_YIELD_INTERVAL)))
            .map_err(|error| Failure::Trap(format!("cannot set up the sandbox: {error}")))?;
        let cancel = cancel.clone();
        store.epoch_deadline_callback(move |_| {
            if cancel.is_cancelled() {
                Err(wasmtime::Error::new(Stop::Cancelled))
            } else if Instant::now() >= deadline {
                Err(wasmtime::Error::new(Stop::Deadline))
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
        store.set_epoch_deadline(1);
        Ok((store, output))
    }
}

/// What a guest printed during one call.
struct Output {
    stdout: CapturedOutput,
    stderr: CapturedOutput,
}

/// Why the host stopped a running call.
#[derive(Debug, thiserror::Error)]
enum Stop {
    /// The client cancelled the request.
    #[error("the client cancelled the call")]
    Cancelled,
    /// The call's wall-clock deadline passed.
    #[error("the call's deadline passed")]
    Deadline,
}

/// The instance pool: every call's instance, memories, tables and async stack come from
/// slots reserved once, with copy-on-write memory images, instead of an mmap and munmap
/// per call.
///
/// A call holds its slot of `max_concurrent_calls` until its store is dropped, so the pool
/// needs one instance per slot (two spare). Components built for wasm32-wasip2 have a few
/// core instances each (the program and its shims); the pool allows 16 on average.
fn pool(max_concurrent_calls: usize, largest_memory: u64) -> PoolingAllocationConfig {
    let instances = u32::try_from(max_concurrent_calls)
        .unwrap_or(u32::MAX)
        .saturating_add(2);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(16))
        .total_memories(instances.saturating_mul(4))
        .total_tables(instances.saturating_mul(4))
        .total_stacks(instances)
        // The store's limiter enforces each component's own limit; the pool only needs
        // room for the largest.
        .max_memory_size(usize::try_from(largest_memory.max(64 << 10)).unwrap_or(usize::MAX))
        // Reset the first pages of a used memory and table with memset rather than
        // madvise, keeping them resident: the next call does not fault them in again.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT);
    pool
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker.store(false, Ordering::Relaxed);
    }
}

/// Names the reason a call failed.
fn classify(error: &wasmtime::Error, state: &CallState, limits: Limits) -> Failure {
    let out_of_memory = || Failure::OutOfMemory {
        limit: limits.memory.to_string(),
    };
    tracing::debug!(error = ?error, "call failed");
    if error.downcast_ref::<crate::elicit::NeedsAnswer>().is_some() {
        return Failure::NeedsAnswer;
    }
    match error.downcast_ref::<Stop>() {
        Some(Stop::Cancelled) => return Failure::Cancelled,
        Some(Stop::Deadline) => {
            return Failure::Timeout {
                limit: limits.timeout,
            };
        }
        None => {}
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::OutOfFuel { limit: limits.fuel },
        Some(Trap::StackOverflow) => Failure::StackOverflow,
        Some(Trap::UnreachableCodeReached) => match &state.guest.panic {
            Some(message) => Failure::Panicked(message.clone()),
            None if state.limiter.refused => out_of_memory(),
            None => Failure::Trap("unreachable (possibly a panic)".into()),
        },
        Some(trap) if state.limiter.refused => {
            tracing::debug!(%trap, "trap after a refused memory grow");
            out_of_memory()
        }
        Some(trap) => Failure::Trap(trap.to_string()),
        None => Failure::Trap(format!("{error:#}")),
    }
}

/// Sends what the guest printed to the server log (never to the MCP stdout).
fn log_output(tool: &str, stream: &str, output: &CapturedOutput, redactor: &Redactor) {
    let text = output.text();
    if !text.is_empty() {
        let text = redactor.redact_str(&text, &mut Report::default());
        tracing::info!(target: "warden::guest", tool, stream, "{}", text.trim_end());
    }
}
