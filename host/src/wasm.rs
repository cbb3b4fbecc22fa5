//! WebAssembly game modules: the engine (every knob set here), the plugin registry, and sandboxed
//! guest calls.
//!
//! One `Engine` and one `Linker` live for the whole server process; each loaded module keeps one
//! pre-instantiated component and, between calls, one live instance with its `Store`
//! ([`LiveInstance`]): a call runs on the kept instance under an epoch deadline and a memory cap
//! (the per-call quotas and usage are reset first), and any failure — trap, deadline, memory,
//! quota, a write past the stderr cap — discards that instance and store, so the next call gets a
//! fresh one (SPEC §9) and no state of a failed call leaks into the next. A guest's own memory
//! (statics) thus lives on between successful calls; persistent game state lives in the host,
//! reached through the `host` imports.
//!
//! The sandbox is generic over the data a call carries (`D`, the embedder's: the server's
//! `Game`), as wasmtime's `Store<T>` is: it moves `D` into the store for a call and hands it back
//! after, and knows of it only what [`HostData`] says (a checkpoint to keep or undo a call, the
//! config). The `host` imports are implemented by the embedder for `HostCtx<D>`
//! (`server/imports/`), beside the state they touch; [`new_linker`] links whatever implements
//! them.

pub mod bindings;
pub mod cache;
pub mod compat;
pub mod import_checks;
pub mod memcap;
pub mod registry;
pub mod wasi;
pub mod watcher;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Instance, Linker, ResourceTable};
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::config::Config;
use crate::link::Sessid;

pub use registry::{ClassRunner, LoadedModule, PluginRegistry};

/// What the sandbox needs of the data a guest call carries (the embedder's: the server's game),
/// which it moves into the store for each call and takes back after. Nothing else of it is
/// known here: the host imports, which do know it, are the embedder's.
pub trait HostData: Sized + Send + 'static {
    /// A point a call can be undone to.
    type Checkpoint;
    /// Start an atomic step (a module's load, an atomic call).
    fn checkpoint(&mut self) -> Self::Checkpoint;
    /// Keep everything done since `cp`.
    fn keep(&mut self, cp: Self::Checkpoint);
    /// Undo everything done since `cp`.
    fn undo(&mut self, cp: Self::Checkpoint);
    /// The config a module's roles are read from (for the warnings of a misconfigured role).
    fn config(&self) -> &Config;
    /// Hand over the loaded object classes (replaced whenever modules change), so the host
    /// imports can run their hooks.
    fn set_class_runner(&mut self, runner: Arc<ClassRunner<Self>>);
}

/// Version of the WIT package this host implements (`mudhost:game@…`).
pub const WIT_VERSION: &str = "0.4.0";
/// The previous version, still accepted for every plugin kind (refusals as texts).
pub const WIT_VERSION_V0_3: &str = "0.3.0";
/// An older version, still accepted for every plugin kind (0.2.0 modules match it by semver).
pub const WIT_VERSION_V0_2: &str = "0.2.1";
/// The version before that, still accepted for cmdset modules.
pub const WIT_VERSION_COMPAT: &str = "0.1.0";
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
    /// Instances alive at once (the pooling allocator's size; `guest_instance_pool`).
    pub instances: u32,
}

impl GuestLimits {
    /// Deadline in epoch ticks; one extra tick because the first may fire anywhere within it.
    fn deadline_ticks(&self) -> u64 {
        (self.deadline.as_millis() as u64).div_ceil(EPOCH_TICK.as_millis() as u64) + 1
    }
}

/// What one guest call may use of the host, and the sizes host imports accept. Every field is a
/// config key (`guest_*`, see [`Config`]); per-call counters start at zero for every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestQuotas {
    /// Text bytes sent to players per call (a text to N sessions counts N times).
    pub output_bytes_per_call: usize,
    /// Messages sent per call (one per recipient session).
    pub messages_per_call: usize,
    /// Messages sent to any one session per call.
    pub messages_per_session_per_call: usize,
    /// Objects created per call.
    pub objects_per_call: usize,
    /// `create-account` / `login` requests per call.
    pub auth_requests_per_call: usize,
    /// Log bytes written through `log` per call; also the stderr capacity of a call.
    pub log_bytes_per_call: usize,
    /// Longest log line; longer ones are cut.
    pub log_line_bytes: usize,
    /// Largest attribute value.
    pub attr_value_bytes: usize,
    /// Largest ndb of one session (keys plus values).
    pub ndb_bytes_per_session: usize,
    /// Longest name, key, kind, module or command name.
    pub name_bytes: usize,
    /// Longest text of one message (longer is cut), send-oob JSON, password or reason.
    pub text_bytes: usize,
    /// Most items of a list argument.
    pub list_items: usize,
    /// Deepest send-oob JSON nesting.
    pub json_depth: usize,
    /// Most commands per cmdset.
    pub commands_per_cmdset: usize,
    /// Most aliases per cmdset, over all its commands.
    pub aliases_per_cmdset: usize,
    /// Largest module file, bytes.
    pub module_bytes: u64,
    /// `wasi:random` bytes one call may draw.
    pub random_bytes_per_call: usize,
}

impl GuestQuotas {
    /// The quotas a config sets.
    pub fn from_config(cfg: &Config) -> GuestQuotas {
        GuestQuotas {
            output_bytes_per_call: cfg.guest_output_bytes_per_call,
            messages_per_call: cfg.guest_messages_per_call,
            messages_per_session_per_call: cfg.guest_messages_per_session_per_call,
            objects_per_call: cfg.guest_objects_per_call,
            auth_requests_per_call: cfg.guest_auth_requests_per_call,
            log_bytes_per_call: cfg.guest_log_bytes_per_call,
            log_line_bytes: cfg.guest_log_line_bytes,
            attr_value_bytes: cfg.guest_attr_value_bytes,
            ndb_bytes_per_session: cfg.guest_ndb_bytes_per_session,
            name_bytes: cfg.guest_name_bytes,
            text_bytes: cfg.guest_text_bytes,
            list_items: cfg.guest_list_items,
            json_depth: cfg.guest_json_depth,
            commands_per_cmdset: cfg.guest_commands_per_cmdset,
            aliases_per_cmdset: cfg.guest_aliases_per_cmdset,
            module_bytes: cfg.guest_module_bytes,
            random_bytes_per_call: cfg.guest_random_bytes_per_call,
        }
    }
}

impl Default for GuestQuotas {
    fn default() -> Self {
        GuestQuotas::from_config(&Config::default())
    }
}

/// What the current call has used so far, checked against [`GuestQuotas`].
#[derive(Debug, Default, Clone)]
pub struct CallUsage {
    /// Messages queued per recipient session.
    pub per_session: std::collections::HashMap<Sessid, usize>,
    /// Text bytes queued for players.
    pub output_bytes: usize,
    /// Messages queued.
    pub messages: usize,
    /// Objects created.
    pub objects: usize,
    /// `create-account` / `login` requests made.
    pub auth_requests: usize,
    /// Log bytes written through `log`.
    pub log_bytes: usize,
}

/// A host import refused a guest's request in a way that ends the call (the import has no error
/// value to return). The message names the quota and its config key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QuotaExceeded(pub String);

/// A guest called a WASI function that would block the game thread or read ambient state
/// (sleep, poll, random); the call ends at once.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Forbidden(pub String);

/// The memory caps of single modules (`guest_module_memory_mib`), bytes.
pub fn module_memory_caps(cfg: &Config) -> std::collections::BTreeMap<String, usize> {
    cfg.guest_module_memory_mib
        .iter()
        .map(|(m, mib)| (m.clone(), (*mib * 1024 * 1024) as usize))
        .collect()
}

/// The size of the pool's memory slots: the largest cap any module has (each store's limiter
/// then holds a module to its own cap).
pub fn pool_memory_bytes(cfg: &Config) -> usize {
    let common = (cfg.guest_memory_mib * 1024 * 1024) as usize;
    module_memory_caps(cfg).into_values().fold(common, usize::max)
}

/// Build the engine. Each knob says its default and why we differ.
pub fn new_engine(limits: GuestLimits) -> anyhow::Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    // Each loaded module keeps one instance between calls, plus one for a call on a module whose
    // instance was discarded or for loading a module; the defaults (1000s) reserve far more
    // address space than we need. If the pool runs out (very many modules), kept instances are
    // let go (`PluginRegistry::instantiate`). A component instance has a few core instances and
    // tables but one linear memory.
    let instances = limits.instances.max(2);
    pool.total_component_instances(instances);
    pool.total_core_instances(instances * 4);
    pool.total_memories(instances);
    pool.total_tables(instances * 4);
    // Slots must fit the per-instance cap; the store limiter enforces the exact value.
    pool.max_memory_size(limits.memory_bytes);
    // Keep the memory a call typically touches resident per slot: a finished call's pages are
    // then zeroed in place instead of unmapped (madvise, page faults and TLB shoot-downs on the
    // next call). Measured under the `look` load: 256 KiB → 1 MiB took the server from ~167 to
    // ~140 µs per command; 4 MiB gave nothing more.
    pool.linear_memory_keep_resident(1024 * 1024);
    pool.table_keep_resident(64 * 1024);

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

/// The game inside a store: moved in for each call and taken back afterwards, so host imports
/// reach it without locks. Empty between the calls of an instance kept for reuse; host imports
/// run only during a call, so they always find it.
pub struct GameSlot<D>(Option<D>);

impl<D> GameSlot<D> {
    /// Take the game out (after a call, or for a host import to hand it to another instance
    /// for an object-class hook).
    pub fn take(&mut self) -> D {
        self.0.take().expect("the game is in the store after a call")
    }

    /// Put the game (back) in.
    pub fn put(&mut self, data: D) {
        self.0 = Some(data);
    }
}

impl<D> std::ops::Deref for GameSlot<D> {
    type Target = D;
    fn deref(&self) -> &D {
        self.0.as_ref().expect("the game is in the store during a call")
    }
}

impl<D> std::ops::DerefMut for GameSlot<D> {
    fn deref_mut(&mut self) -> &mut D {
        self.0.as_mut().expect("the game is in the store during a call")
    }
}

/// Host state of a guest instance's store: the game during a call plus the sandbox's own
/// bookkeeping, reset for every call.
pub struct HostCtx<D> {
    /// The whole game state, owned by the call that runs.
    pub game: GameSlot<D>,
    /// Session that entered the command (0 for module load hooks).
    pub caller: Sessid,
    /// Name of the module being called, for logs.
    pub module: Arc<str>,
    /// The quotas of this call.
    pub quotas: GuestQuotas,
    /// What this call has used so far (zero at the start of every call).
    pub used: CallUsage,
    /// The instance's deterministic `wasi:random` stream (`wasm/wasi.rs`).
    pub random: wasi::SeededRandom,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: memcap::MemoryCap,
}

impl<D: Send + 'static> WasiView for HostCtx<D> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Why a guest call failed.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The guest exited (`std::process::exit`, wasi:cli/exit) instead of returning.
    #[error("guest called exit with status {0}")]
    Exit(i32),
    /// The guest went over a quota (output, objects, log, value sizes, ...).
    #[error("guest over quota: {0}")]
    Quota(String),
    /// The host itself failed inside an import (its database): not the guest's doing.
    #[error("host failure in an import: {0}")]
    Host(String),
    /// The guest called a function it may not use (sleep, poll, random).
    #[error("guest called a forbidden function: {0}")]
    Forbidden(String),
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

/// Text of the error a guest's stderr write gets once it is past its capacity (wasmtime-wasi's
/// `MemoryOutputPipe`, which has no typed error for it); recognised to report a log quota
/// instead of a bare trap.
const STDERR_FULL: &str = "write beyond capacity of MemoryOutputPipe";

/// Make the store for one call: empty WASI context (no files, env, args, sockets or name lookup;
/// frozen clocks), stderr captured for the log (up to the call's log quota), memory cap and
/// deadline set.
fn new_store<D: HostData>(
    engine: &Engine,
    limits: GuestLimits,
    quotas: GuestQuotas,
    game: D,
    caller: Sessid,
    module: Arc<str>,
) -> (Store<HostCtx<D>>, MemoryOutputPipe) {
    let stderr = MemoryOutputPipe::new(quotas.log_bytes_per_call.max(1));
    let wasi = WasiCtx::builder()
        .stderr(stderr.clone())
        .wall_clock(FrozenWallClock)
        .monotonic_clock(FrozenMonotonicClock)
        // Sockets are refused before an OS socket exists: creating thousands of them in one call
        // would otherwise use up the server's file descriptors.
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let ctx = HostCtx {
        game: GameSlot(Some(game)),
        caller,
        random: wasi::SeededRandom::new(&module),
        module,
        quotas,
        used: CallUsage::default(),
        wasi,
        table: ResourceTable::new(),
        limits: memcap::MemoryCap::new(limits.memory_bytes),
    };
    let mut store = Store::new(engine, ctx);
    store.limiter(|c| &mut c.limits);
    store.set_epoch_deadline(limits.deadline_ticks());
    (store, stderr)
}

/// A module instance with its store, kept between calls while they succeed (SPEC §9: an
/// instance is discarded and recreated after a trap). Reusing it saves making a store and an
/// instance, and dropping them, on every call; guest memory (statics) lives on between calls,
/// as a Python module's globals do in Evennia.
pub struct LiveInstance<D: 'static> {
    store: Store<HostCtx<D>>,
    instance: Instance,
    stderr: MemoryOutputPipe,
}

impl<D: HostData> LiveInstance<D> {
    /// A new instance of `pre` holding `game` for its first call (the game is in the store while
    /// instantiating: a start function may call host imports); on failure the game comes back
    /// with the error.
    pub fn new(
        engine: &Engine,
        pre: &wasmtime::component::InstancePre<HostCtx<D>>,
        limits: GuestLimits,
        quotas: GuestQuotas,
        game: D,
        caller: Sessid,
        module: Arc<str>,
    ) -> Result<LiveInstance<D>, Box<(D, wasmtime::Error)>> {
        let (mut store, stderr) = new_store(engine, limits, quotas, game, caller, module);
        match pre.instantiate(&mut store) {
            Ok(instance) => {
                // Instantiating (and a start function) had a deadline of its own; the call
                // gets a whole one, so a module whose instance takes long to make (a Python
                // runtime's) is not failed for it when its instance was discarded before.
                store.set_epoch_deadline(limits.deadline_ticks());
                Ok(LiveInstance { store, instance, stderr })
            }
            Err(e) => Err(Box::new((store.into_data().game.take(), e))),
        }
    }

    /// Make a kept instance ready for another call: the game moves in, and the call gets its
    /// own caller, quotas, usage counters and deadline.
    pub fn enter(&mut self, game: D, caller: Sessid, limits: GuestLimits, quotas: GuestQuotas) {
        let ctx = self.store.data_mut();
        ctx.game = GameSlot(Some(game));
        ctx.caller = caller;
        ctx.quotas = quotas;
        ctx.used = CallUsage::default();
        ctx.random.new_call();
        self.store.set_epoch_deadline(limits.deadline_ticks());
    }

    /// Run one call on the instance.
    pub fn call<R>(
        &mut self,
        f: impl FnOnce(&Instance, &mut Store<HostCtx<D>>) -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        f(&self.instance, &mut self.store)
    }

    /// What the guest wrote to stderr since the instance was made (a kept instance has written
    /// nothing: one that writes is not kept, so this is the last call's).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).into_owned()
    }

    /// Take the game back after a call.
    pub fn leave(&mut self) -> D {
        self.store.data_mut().game.take()
    }
}

/// Classify a wasmtime error from a guest call, in one line (the wasm backtrace goes to the
/// debug log). `stderr` is what the guest printed: a Rust panic message makes the reason.
fn classify(
    err: wasmtime::Error,
    limits: GuestLimits,
    quotas: GuestQuotas,
    stderr: &str,
) -> GuestError {
    tracing::debug!("guest call failed: {err:?}");
    let grow_refused = err.downcast_ref::<memcap::MemoryRefused>().is_some();
    // wasmtime-wasi's `MemoryOutputPipe` refuses a write past its capacity with an untyped
    // `StreamError::Trap(format_err!(..))`: it offers no type or code to recognise, so its text
    // is matched here (a typed refusal would need an output stream of our own).
    let stderr_full = err.chain().any(|c| c.to_string().contains(STDERR_FULL));
    if let Some(q) = err.downcast_ref::<QuotaExceeded>() {
        return GuestError::Quota(q.0.clone());
    }
    if let Some(h) = err.downcast_ref::<bindings::HostFailure>() {
        return GuestError::Host(h.0.clone());
    }
    if let Some(f) = err.downcast_ref::<Forbidden>() {
        return GuestError::Forbidden(f.0.clone());
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return GuestError::Exit(exit.0);
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => GuestError::Deadline(limits.deadline),
        _ if grow_refused => GuestError::Memory,
        _ if stderr_full => GuestError::Quota(format!(
            "stderr over guest_log_bytes_per_call ({} bytes)",
            quotas.log_bytes_per_call
        )),
        _ if panic_message(stderr).is_some() => GuestError::Panic(escape_line(
            &panic_message(stderr).unwrap_or_default(),
            quotas.log_line_bytes,
        )),
        Some(t) => GuestError::Trap(t.to_string()),
        None => GuestError::Trap(escape_line(&first_line(&err.to_string()), quotas.log_line_bytes)),
    }
}

/// Make guest text safe for one log line: line breaks and other control characters are
/// escaped (so a guest cannot forge log lines), and the result is cut to `max` bytes.
pub fn escape_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 8);
    for ch in text.chars() {
        let piece: String = match ch {
            '\n' => "\\n".into(),
            '\r' => "\\r".into(),
            '\t' => "\\t".into(),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                format!("\\u{{{:x}}}", c as u32)
            }
            c => c.to_string(),
        };
        if out.len() + piece.len() > max {
            out.push_str(" [cut]");
            return out;
        }
        out.push_str(&piece);
    }
    out
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

/// Link the host imports and WASI (with the empty context above, blocking and ambient functions
/// replaced by [`wasi::restrict`]) once per engine. The imports are the embedder's: whatever
/// implements the current `host` interface for `HostCtx<D>` (the old versions delegate to it,
/// [`compat`]).
pub fn new_linker<D: HostData>(engine: &Engine) -> anyhow::Result<Linker<HostCtx<D>>>
where
    HostCtx<D>: bindings::mudhost::game::host::Host + bindings::types::Host,
{
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    wasi::restrict(&mut linker)?;
    // Every version of `host`: a 0.1.0 module imports `mudhost:game/host@0.1.0`, a 0.2.x one
    // `…@0.2.1` (or `…@0.2.0`, matched by semver), a 0.3.0 one `…@0.3.0`, a current one
    // `…@0.4.0`; all reach the same implementation.
    bindings::Plugins::add_to_linker::<HostCtx<D>, HasSelf<HostCtx<D>>>(&mut linker, |c| c)?;
    bindings::v0_3::Plugins::add_to_linker::<HostCtx<D>, HasSelf<HostCtx<D>>>(&mut linker, |c| c)?;
    bindings::v0_2::Plugins::add_to_linker::<HostCtx<D>, HasSelf<HostCtx<D>>>(&mut linker, |c| c)?;
    bindings::v0_1::CmdsetModule::add_to_linker::<HostCtx<D>, HasSelf<HostCtx<D>>>(
        &mut linker,
        |c| c,
    )?;
    Ok(linker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_text_for_the_log_is_escaped_and_cut() {
        assert_eq!(escape_line("a\nb\r\tc", 100), "a\\nb\\r\\tc");
        assert_eq!(escape_line("x\x1b[2Ky", 100), "x\\u{1b}[2Ky");
        assert_eq!(escape_line("abcdef", 3), "abc [cut]");
        assert_eq!(escape_line("ééé", 5), "éé [cut]");
    }

    #[test]
    fn the_slot_hands_back_the_data_put_in_and_changed_through_it() {
        let mut slot = GameSlot(Some(1u32));
        *slot += 1;
        assert_eq!(slot.take(), 2);
        assert!(slot.0.is_none(), "empty between calls");
        slot.put(7);
        assert_eq!(*slot, 7);
    }

    #[test]
    fn a_rust_panic_message_is_found_in_stderr() {
        let stderr = "thread '<unnamed>' panicked at src/lib.rs:20:9:\ndeliberate panic\nnote: run with `RUST_BACKTRACE=1`";
        assert_eq!(panic_message(stderr).as_deref(), Some("deliberate panic"));
        assert_eq!(panic_message("just noise"), None);
    }
}
