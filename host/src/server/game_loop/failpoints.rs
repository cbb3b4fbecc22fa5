//! The test failpoints armed on the game loop (see [`crate::failpoint`]): the one to fire when
//! the current unit of work commits, and the one of an input whose completion was deferred (a
//! password check), which fires when that completion arrives (`during-check`) or commits
//! (`after-commit`, `truncated-frame`). Without `MUDHOST_FAILPOINT` nothing is ever armed.

use crate::failpoint::Kind;
use crate::link::Sessid;

/// The failpoints waiting for a moment of the loop's work.
#[derive(Debug, Default)]
pub struct Failpoints {
    /// To fire when the current unit of work commits.
    at_commit: Option<Kind>,
    /// The input `(sessid, seq)` whose completion was deferred, and its failpoint.
    deferred: Option<((Sessid, u64), Kind)>,
}

impl Failpoints {
    /// Fire `kind` when the current unit of work commits.
    pub fn arm(&mut self, kind: Kind) {
        self.at_commit = Some(kind);
    }

    /// The completion of `input` was deferred: the failpoint armed for it waits for that
    /// completion instead of the unit's commit.
    pub fn defer_to(&mut self, input: (Sessid, u64)) {
        if let Some(kind) = self.at_commit.take() {
            self.deferred = Some((input, kind));
        }
    }

    /// A deferred completion acknowledging `ack` arrived. True when the server is to die now
    /// (`during-check`); any other failpoint of that input is armed for the completion's commit.
    pub fn completion_arrived(&mut self, ack: Option<(Sessid, u64)>) -> bool {
        let Some((of, kind)) = self.deferred else { return false };
        if ack != Some(of) {
            return false;
        }
        self.deferred = None;
        match kind {
            Kind::DuringCheck => true,
            kind => {
                self.at_commit = Some(kind);
                false
            }
        }
    }

    /// The unit of work commits: the failpoint to fire now, if any (once).
    pub fn take_at_commit(&mut self) -> Option<Kind> {
        self.at_commit.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_failpoint_fires_at_the_unit_s_commit_once() {
        let mut f = Failpoints::default();
        assert_eq!(f.take_at_commit(), None);
        f.arm(Kind::AfterCommit);
        assert_eq!(f.take_at_commit(), Some(Kind::AfterCommit));
        assert_eq!(f.take_at_commit(), None);
    }

    #[test]
    fn a_deferred_input_s_failpoint_waits_for_its_own_completion_and_fires_at_its_commit() {
        let mut f = Failpoints::default();
        f.arm(Kind::TruncatedFrame);
        f.defer_to((Sessid::new(1), 5));
        assert_eq!(f.take_at_commit(), None, "not at the input's own commit");
        assert!(!f.completion_arrived(Some((Sessid::new(2), 1))));
        assert!(!f.completion_arrived(None));
        assert_eq!(f.take_at_commit(), None, "not at another input's completion");
        assert!(!f.completion_arrived(Some((Sessid::new(1), 5))));
        assert_eq!(f.take_at_commit(), Some(Kind::TruncatedFrame));
        assert!(!f.completion_arrived(Some((Sessid::new(1), 5))));
        assert_eq!(f.take_at_commit(), None, "fired once");
    }

    #[test]
    fn during_check_dies_when_the_completion_arrives() {
        let mut f = Failpoints::default();
        f.arm(Kind::DuringCheck);
        f.defer_to((Sessid::new(3), 2));
        assert!(f.completion_arrived(Some((Sessid::new(3), 2))));
        assert_eq!(f.take_at_commit(), None);
    }

    #[test]
    fn an_input_without_a_failpoint_defers_none() {
        let mut f = Failpoints::default();
        f.defer_to((Sessid::new(1), 1));
        assert!(!f.completion_arrived(Some((Sessid::new(1), 1))));
        assert_eq!(f.take_at_commit(), None);
    }
}
