//! Deterministic fault injection for the crash-safety tests: `MUDHOST_FAILPOINT=KIND:TEXT` makes
//! the server die at one exact moment of the first input whose command line is `TEXT`, once per
//! data folder (a marker file records that it fired, so the restarted server does not fire it
//! again). Without the variable this is one `OnceLock` read per input.
//!
//! Kinds:
//! - `after-commit`: die after the input's transaction (world changes, outbox frame) committed
//!   and before its effects frame is sent;
//! - `truncated-frame`: the same, but after sending the first half of the frame;
//! - `poison`: die as soon as the input starts running, every time (no marker): an input that
//!   kills every server it reaches, for the quarantine test.
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
            _ => {
                tracing::warn!(%spec, "unknown failpoint ignored");
                return None;
            }
        };
        let marker = data_dir.join("failpoint.fired");
        if marker.exists() && kind != Kind::Poison {
            return None;
        }
        tracing::warn!(?kind, %text, "failpoint armed");
        Some(Armed { kind, text: text.to_string(), marker })
    });
}

/// The failpoint to fire for this input, if it is the one (and it has not fired yet).
pub fn for_input(msg: &Msg) -> Option<Kind> {
    let armed = ARMED.get()?.as_ref()?;
    if msg.cmd != "text" || msg.first_str() != Some(armed.text.as_str()) {
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

/// The failpoint to fire for this timer firing, if it is the one (and it has not fired yet).
pub fn for_timer(payload: &str) -> Option<Kind> {
    let armed = ARMED.get()?.as_ref()?;
    if armed.kind == Kind::Poison || armed.text.strip_prefix("timer:") != Some(payload) {
        return None;
    }
    if armed.marker.exists() {
        return None;
    }
    let _ = std::fs::write(&armed.marker, b"fired");
    Some(armed.kind)
}

/// Die the way a `kill -9` would: no unwinding, no flushing, no goodbye.
pub fn die() -> ! {
    tracing::warn!("failpoint: the server dies now");
    std::process::abort()
}
