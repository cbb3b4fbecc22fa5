//! WebAssembly game modules: the engine (every knob set here), the plugin registry, and sandboxed
//! guest calls.
//!
//! One `Engine` and one `Linker` live for the whole server process; each loaded module keeps one
//! pre-instantiated component. Every guest call gets a fresh `Store` (≈13 µs with the pooling
//! allocator on this hardware) under an epoch deadline and a memory cap, so a trap costs only that
//! store and no state leaks between calls. Persistent state lives in the host, reached through the
//! `host` imports implemented in [`host_api`].

pub mod bindings;
pub mod host_api;
pub mod registry;
pub mod watcher;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{
    Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder, Trap,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::link::Sessid;
use crate::server::game::Game;

pub use registry::{LoadedModule, PluginRegistry};

/// Version of the WIT package this host implements (`mudhost:game@…`).
pub const WIT_VERSION: &str = "0.1.0";
/// The WIT package name, without version.
pub const WIT_PACKAGE: &str = "mudhost:game";

/// How often the epoch ticker advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Per-call sandbox limits.
#[derive(Debug, Clone, Copy)]
pub struct GuestLimits {
    /// Wall-clock budget of one call.
    pub deadline: Duration,
    /// Linear-memory cap of one instance, bytes.
    pub memory_bytes: usize,
}

impl GuestLimits {
    /// Deadline in epoch ticks; one extra tick because the first may fire anywhere within it.
    fn deadline_ticks(&self) -> u64 {
        (self.deadline.as_millis() as u64).div_ceil(EPOCH_TICK.as_millis() as u64) + 1
    }
}

/// Build the engine. Each knob says its default and why we differ.
pub fn new_engine(limits: GuestLimits) -> anyhow::Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    // Calls are sequential on the game thread, plus a few for validation; the defaults (1000s)
    // reserve far more address space than we need.
    pool.total_component_instances(64);
    pool.total_core_instances(512);
    pool.total_memories(256);
    pool.total_tables(512);
    // Slots must fit the per-instance cap; the store limiter enforces the exact value.
    pool.max_memory_size(limits.memory_bytes);
    // Keep a little memory resident per slot: fresh instances then avoid page faults (measured
    // 9-10 µs → 4-6 µs per instantiation).
    pool.linear_memory_keep_resident(256 * 1024);

    let mut cfg = wasmtime::Config::new();
    cfg.wasm_component_model(true);
    // Deadlines: an epoch check is cheaper than fuel on call-heavy code and enough for wall-clock
    // budgets (default: off).
    cfg.epoch_interruption(true);
    // Parallel compilation (wasmtime's default) is left out at build time (the
    // `parallel-compilation` feature is off): a background compile then stalled concurrent guest
    // calls by up to 5.5 ms on 2 cores; serial compilation keeps the game loop smooth on reload.
    // Default on-demand allocation reserves 4 GiB of address space per instance at instantiate
    // time; pooling pre-reserves slots and halves instantiation cost.
    cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // Guests get a bounded native stack (default 512 KiB) so deep recursion traps quickly.
    cfg.max_wasm_stack(256 * 1024);
    Ok(Engine::new(&cfg)?)
}

/// Start the thread that advances the engine's epoch; it stops when `stop` is set.
pub fn start_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning a thread at startup");
}

/// Host state of one guest call: the game (moved in for the call and taken back afterwards, so
/// host imports reach it without locks) plus the sandbox's own bookkeeping.
pub struct HostCtx {
    /// The whole game state, owned by this call while it runs.
    pub game: Game,
    /// Session that entered the command (0 for module load hooks).
    pub caller: Sessid,
    /// Name of the module being called, for logs.
    pub module: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for HostCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Why a guest call failed.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// The call ran past its wall-clock deadline.
    #[error("guest ran past its {0:?} deadline")]
    Deadline(Duration),
    /// The instance tried to grow memory past its cap.
    #[error("guest exceeded its memory cap")]
    Memory,
    /// The guest panicked; the message is from its stderr.
    #[error("guest panicked: {0}")]
    Panic(String),
    /// Any other trap (unreachable, stack overflow, ...).
    #[error("guest trapped: {0}")]
    Trap(String),
}

/// A wall clock that always reads the Unix epoch: guests get time only from `host.now-ms`.
struct FrozenWallClock;
impl wasmtime_wasi::HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A monotonic clock that never advances.
struct FrozenMonotonicClock;
impl wasmtime_wasi::HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Largest stderr a guest may write in one call before output is cut off (it goes to the log).
const GUEST_STDERR_BYTES: usize = 16 * 1024;

/// Make the store for one call: empty WASI context (no files, env, args, sockets; frozen
/// clocks), stderr captured for the log, memory cap and deadline set.
fn new_store(
    engine: &Engine,
    limits: GuestLimits,
    game: Game,
    caller: Sessid,
    module: Arc<str>,
) -> (Store<HostCtx>, MemoryOutputPipe) {
    let stderr = MemoryOutputPipe::new(GUEST_STDERR_BYTES);
    let wasi = WasiCtx::builder()
        .stderr(stderr.clone())
        .wall_clock(FrozenWallClock)
        .monotonic_clock(FrozenMonotonicClock)
        .build();
    let ctx = HostCtx {
        game,
        caller,
        module,
        wasi,
        table: ResourceTable::new(),
        limits: StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .trap_on_grow_failure(true)
            .build(),
    };
    let mut store = Store::new(engine, ctx);
    store.limiter(|c| &mut c.limits);
    store.set_epoch_deadline(limits.deadline_ticks());
    (store, stderr)
}

/// Classify a wasmtime error from a guest call, in one line (the wasm backtrace goes to the
/// debug log). `stderr` is what the guest printed: a Rust panic message makes the reason.
fn classify(err: wasmtime::Error, limits: GuestLimits, stderr: &str) -> GuestError {
    tracing::debug!("guest call failed: {err:?}");
    let grow_refused = err.chain().any(|c| c.to_string().contains("forcing trap when growing memory"));
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => GuestError::Deadline(limits.deadline),
        _ if grow_refused => GuestError::Memory,
        _ if panic_message(stderr).is_some() => GuestError::Panic(panic_message(stderr).unwrap_or_default()),
        Some(t) => GuestError::Trap(t.to_string()),
        None => GuestError::Trap(first_line(&err.to_string())),
    }
}

/// The message of a Rust panic printed to stderr ("thread '…' panicked at FILE:\nMESSAGE\nnote: …").
fn panic_message(stderr: &str) -> Option<String> {
    let mut lines = stderr.lines().skip_while(|l| !l.contains("panicked at"));
    lines.next()?;
    let msg: Vec<&str> = lines.take_while(|l| !l.starts_with("note:")).collect();
    Some(msg.join(" ").trim().to_string()).filter(|m| !m.is_empty())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(300).collect()
}

/// Link the host imports and WASI (with the empty context above) once per engine.
pub fn new_linker(engine: &Engine) -> anyhow::Result<Linker<HostCtx>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    bindings::CmdsetModule::add_to_linker::<HostCtx, wasmtime::component::HasSelf<HostCtx>>(
        &mut linker,
        |c| c,
    )?;
    Ok(linker)
}
