//! Deterministic fault injection for the crash-safety tests: `MUDHOST_FAILPOINT=KIND:TEXT` makes
//! the server die at one exact moment of the first input whose command line is `TEXT`, once per
//! data folder (a marker file records that it fired, so the restarted server does not fire it
//! again). Without the variable this is one `OnceLock` read per input.
//!
//! Kinds:
//! - `after-commit`: die after the input's transaction (world changes, outbox frame) committed
//!   and before its effects frame is sent. For an input completed off the loop (a login's
//!   password check), "its transaction" is the completion's, which commits its effects and ack;
//! - `truncated-frame`: the same, but after sending the first half of the frame;
//! - `during-check`: die while the input's off-loop work (a password check) is running, before
//!   its completion is applied;
//! - `poison`: die as soon as the input starts running, every time (no marker): an input that
//!   kills every server it reaches, for the quarantine test;
//! - `panic`: a Rust panic on the game thread as the input starts (once);
//! - `portal-panic`: a Rust panic in the portal's hub as it queues the input (every time);
//! - `slow-start:MS`: every server waits MS milliseconds before it says hello (a slow start, so
//!   a test can act while a server process exists but has not joined the link).
//! - `poison-unit:UNIT`: die every time the game loop starts a unit of work of that kind
//!   (`disconnect`, `login` — a login's completion —, `connect`, `restore`, `sweep`), for the
//!   quarantine of work that is not a text input.
//!
//! Both processes read it (the portal for `portal-panic`), so it sits below both, beside the link.
//! The wall clock's test seam is [`crate::shared::clock`]'s.
//!
//! `TEXT` of the form `timer:PAYLOAD` names instead the first timer firing with that payload
//! (`after-commit` and `truncated-frame`: die once the firing's round has committed).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::link::Msg;

/// Environment variable naming the fault to inject.
pub const ENV: &str = "MUDHOST_FAILPOINT";

/// Where in the processing of an input to die.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// After commit, before sending.
    AfterCommit,
    /// After commit, after sending half of the effects frame.
    TruncatedFrame,
    /// At the start of the input, every time.
    Poison,
    /// While the input's password check runs off the loop.
    DuringCheck,
    /// At the start of every unit of this kind.
    PoisonUnit(Unit),
}

/// Kinds of work the game loop runs that are not text inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A client went away.
    Disconnect,
    /// A login's password check finished.
    Login,
    /// A new connection.
    Connect,
    /// A session handed over by the portal (`SyncAll`).
    Restore,
    /// A session disconnected by the idle sweep.
    Sweep,
}

/// What an armed failpoint does: one of the game loop's [`Kind`]s, or a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Loop(Kind),
    /// A panic on the game thread at the start of the input, once.
    Panic,
    /// A panic in the portal's hub when it queues the input, every time.
    PortalPanic,
}

struct Armed {
    kind: What,
    text: String,
    marker: PathBuf,
}

static ARMED: OnceLock<Option<Armed>> = OnceLock::new();

/// Read the variable once, at start-up.
pub fn init(data_dir: &Path) {
    ARMED.get_or_init(|| {
        let spec = std::env::var(ENV).ok()?;
        let (kind, text) = spec.split_once(':')?;
        let kind = match kind {
            "after-commit" => What::Loop(Kind::AfterCommit),
            "truncated-frame" => What::Loop(Kind::TruncatedFrame),
            "poison" => What::Loop(Kind::Poison),
            "during-check" => What::Loop(Kind::DuringCheck),
            "poison-unit" => What::Loop(Kind::PoisonUnit(match text {
                "disconnect" => Unit::Disconnect,
                "login" => Unit::Login,
                "connect" => Unit::Connect,
                "restore" => Unit::Restore,
                "sweep" => Unit::Sweep,
                _ => {
                    tracing::warn!(%spec, "unknown failpoint unit ignored");
                    return None;
                }
            })),
            "panic" => What::Panic,
            "portal-panic" => What::PortalPanic,
            "slow-start" => return None,
            _ => {
                tracing::warn!(%spec, "unknown failpoint ignored");
                return None;
            }
        };
        let marker = data_dir.join("failpoint.fired");
        let every_time =
            matches!(kind, What::Loop(Kind::Poison | Kind::PoisonUnit(_)) | What::PortalPanic);
        if marker.exists() && !every_time {
            return None;
        }
        tracing::warn!(?kind, %text, "failpoint armed");
        Some(Armed { kind, text: text.to_string(), marker })
    });
}

/// `slow-start:MS`: wait before saying hello. Read before anything else, as the server starts.
pub async fn slow_start() {
    let Some(ms) = std::env::var(ENV)
        .ok()
        .and_then(|s| s.strip_prefix("slow-start:").and_then(|ms| ms.parse::<u64>().ok()))
    else {
        return;
    };
    tracing::warn!(ms, "failpoint: slow start");
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// The failpoint to fire for this input, if it is the one (and it has not fired yet).
pub fn for_input(msg: &Msg) -> Option<Kind> {
    let armed = ARMED.get()?.as_ref()?;
    if matches!(armed.kind, What::Loop(Kind::PoisonUnit(_)))
        || msg.cmd != "text"
        || msg.first_str() != Some(armed.text.as_str())
    {
        return None;
    }
    match armed.kind {
        What::Loop(Kind::Poison) => die(),
        What::PortalPanic => return None,
        _ => {}
    }
    if armed.marker.exists() {
        return None;
    }
    let _ = std::fs::write(&armed.marker, b"fired");
    match armed.kind {
        What::Loop(kind) => Some(kind),
        _ => panic!("failpoint: a deliberate panic on the game thread"),
    }
}

/// `portal-panic`: panic in the portal's hub if `msg` is the failpoint's input.
pub fn portal_input(msg: &Msg) {
    let Some(armed) = ARMED.get().and_then(|a| a.as_ref()) else { return };
    if armed.kind == What::PortalPanic
        && msg.cmd == "text"
        && msg.first_str() == Some(armed.text.as_str())
    {
        panic!("failpoint: a deliberate panic in the portal's hub");
    }
}

/// Die here if a `poison-unit` failpoint names this kind of unit.
pub fn for_unit(unit: Unit) {
    let Some(Some(armed)) = ARMED.get() else { return };
    if armed.kind == What::Loop(Kind::PoisonUnit(unit)) {
        die();
    }
}

/// The failpoint to fire for this timer firing, if it is the one (and it has not fired yet).
pub fn for_timer(payload: &str) -> Option<Kind> {
    let armed = ARMED.get()?.as_ref()?;
    let What::Loop(kind) = armed.kind else { return None };
    if matches!(kind, Kind::Poison | Kind::PoisonUnit(_))
        || armed.text.strip_prefix("timer:") != Some(payload)
        || armed.marker.exists()
    {
        return None;
    }
    let _ = std::fs::write(&armed.marker, b"fired");
    Some(kind)
}

/// Die the way a `kill -9` would: no unwinding, no flushing, no goodbye.
pub fn die() -> ! {
    tracing::warn!("failpoint: the server dies now");
    std::process::abort()
}
