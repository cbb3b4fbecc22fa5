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
//! - `poison-unit:UNIT`: die every time the game loop starts a unit of work of that kind
//!   (`disconnect`, `login` — a login's completion —, `connect`, `restore`, `sweep`), for the
//!   quarantine of work that is not a text input.
//!
//! `MUDHOST_CLOCK_OFFSET_FILE=PATH` is the test seam of the wall clock: the host adds the number
//! of milliseconds written in that file (read at each reading of the clock) to the time it reads,
//! so a test can step the wall clock forwards or backwards under a running game.

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

struct Armed {
    kind: Kind,
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
            "after-commit" => Kind::AfterCommit,
            "truncated-frame" => Kind::TruncatedFrame,
            "poison" => Kind::Poison,
            "during-check" => Kind::DuringCheck,
            "poison-unit" => Kind::PoisonUnit(match text {
                "disconnect" => Unit::Disconnect,
                "login" => Unit::Login,
                "connect" => Unit::Connect,
                "restore" => Unit::Restore,
                "sweep" => Unit::Sweep,
                _ => {
                    tracing::warn!(%spec, "unknown failpoint unit ignored");
                    return None;
                }
            }),
            _ => {
                tracing::warn!(%spec, "unknown failpoint ignored");
                return None;
            }
        };
        let marker = data_dir.join("failpoint.fired");
        let every_time = matches!(kind, Kind::Poison | Kind::PoisonUnit(_));
        if marker.exists() && !every_time {
            return None;
        }
        tracing::warn!(?kind, %text, "failpoint armed");
        Some(Armed { kind, text: text.to_string(), marker })
    });
}

/// The failpoint to fire for this input, if it is the one (and it has not fired yet).
pub fn for_input(msg: &Msg) -> Option<Kind> {
    let armed = ARMED.get()?.as_ref()?;
    if matches!(armed.kind, Kind::PoisonUnit(_))
        || msg.cmd != "text"
        || msg.first_str() != Some(armed.text.as_str())
    {
        return None;
    }
    if armed.kind == Kind::Poison {
        die();
    }
    if armed.marker.exists() {
        return None;
    }
    let _ = std::fs::write(&armed.marker, b"fired");
    Some(armed.kind)
}

/// Die here if a `poison-unit` failpoint names this kind of unit.
pub fn for_unit(unit: Unit) {
    let Some(Some(armed)) = ARMED.get() else { return };
    if armed.kind == Kind::PoisonUnit(unit) {
        die();
    }
}

/// The test offset of the wall clock in milliseconds (see the module docs); 0 without the
/// variable, which is read once.
pub fn clock_offset_ms() -> i64 {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    let Some(path) = FILE.get_or_init(|| std::env::var_os(CLOCK_ENV).map(PathBuf::from)) else {
        return 0;
    };
    std::fs::read_to_string(path).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

/// Environment variable naming the file of the wall clock's test offset.
pub const CLOCK_ENV: &str = "MUDHOST_CLOCK_OFFSET_FILE";

/// Die the way a `kill -9` would: no unwinding, no flushing, no goodbye.
pub fn die() -> ! {
    tracing::warn!("failpoint: the server dies now");
    std::process::abort()
}
