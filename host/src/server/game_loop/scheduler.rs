//! The game loop's scheduler: which session's input runs next.
//!
//! Inputs are not run on arrival: each session has its own queue, and sessions are served
//! address group by address group, then within a group session by session, one unit of work
//! per turn ([`FairRing`]), so one client's flood, or one address's hundred flooding sessions,
//! cannot hold up everyone else. A session whose input is still being completed off the loop (a
//! password check) is *busy*: its later inputs, and its disconnect, wait until it is done. A
//! session whose commands keep running past the guest deadline is slowed down.
//!
//! The scheduler only decides; the game loop runs the work. Every decision that reads the clock
//! has an `_at(now)` form, so the tests choose the time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::link::{Msg, Sessid};

/// Consecutive deadline overruns after which a session's commands are slowed.
const OVERRUNS_BEFORE_SLOWING: u32 = 2;
/// Longest pause imposed between two commands of a session that keeps overrunning.
const MAX_SLOWDOWN: Duration = Duration::from_millis(500);

/// What the player whose commands are slowed is told (once per streak).
pub const SLOWED_TEXT: &str =
    "Your commands keep running past their time limit; your next commands are delayed so that other players are not held up.";

/// One unit of a session's queued work.
pub enum Work {
    /// An input from the portal, with its sequence number.
    Input { seq: u64, msg: Msg },
    /// The client went away; its sequence number follows the session's last input.
    Disconnect { seq: u64 },
}

impl Work {
    /// The unit's sequence number in its session (what its ack confirms).
    pub fn seq(&self) -> u64 {
        match self {
            Work::Input { seq, .. } | Work::Disconnect { seq } => *seq,
        }
    }
}

/// A session's queued work and scheduling state.
#[derive(Default)]
struct SessionQueue {
    work: VecDeque<Work>,
    /// An earlier input of this session is being completed off the loop.
    busy: bool,
    /// In the ready ring.
    ready: bool,
    /// Consecutive commands cut off at the deadline.
    overruns: u32,
    /// Not to be served before this moment (slowed for overrunning).
    not_before: Option<Instant>,
    /// The session's address group (`Config::address_group`): whose turns it shares.
    group: String,
}

/// Ready sessions in service order, fair across address groups first: each turn goes to the
/// group at the front, to its first session; the group then goes to the back (if it has more
/// ready sessions), and so does the session within its group. An address with a hundred
/// sessions gets one turn per round, as an address with one does.
#[derive(Default)]
struct FairRing {
    order: VecDeque<String>,
    groups: HashMap<String, VecDeque<Sessid>>,
    len: usize,
}

impl FairRing {
    fn push_back(&mut self, group: &str, sessid: Sessid) {
        let members = match self.groups.get_mut(group) {
            Some(m) => m,
            None => {
                self.order.push_back(group.to_string());
                self.groups.entry(group.to_string()).or_default()
            }
        };
        members.push_back(sessid);
        self.len += 1;
    }

    fn pop_front(&mut self) -> Option<Sessid> {
        let group = self.order.pop_front()?;
        let members = self.groups.get_mut(&group)?;
        let sessid = members.pop_front();
        if members.is_empty() {
            self.groups.remove(&group);
        } else {
            self.order.push_back(group);
        }
        self.len -= usize::from(sessid.is_some());
        sessid
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// The sessions' queues, the ring of those ready, and the loop's pending wake-up.
#[derive(Default)]
pub struct Scheduler {
    queues: HashMap<Sessid, SessionQueue>,
    /// Sessions with work to do, in service order.
    ring: FairRing,
    /// When the pending wake-up timer fires, if one is pending.
    wake_at: Option<Instant>,
}

impl Scheduler {
    /// Queue a unit of work for `sessid`; `group` gives the session's address group the first
    /// time the session is seen (it is read from the game only then).
    pub fn enqueue(&mut self, sessid: Sessid, work: Work, group: impl FnOnce() -> String) {
        let q = self
            .queues
            .entry(sessid)
            .or_insert_with(|| SessionQueue { group: group(), ..Default::default() });
        q.work.push_back(work);
        if !q.busy && !q.ready {
            q.ready = true;
            self.ring.push_back(&q.group, sessid);
        }
    }

    /// The next session to serve, or how long to wait for one (None: until an event arrives).
    pub fn next_ready(&mut self) -> Result<Sessid, Option<Duration>> {
        self.next_ready_at(Instant::now())
    }

    /// [`Scheduler::next_ready`] at `now`. The session returned is out of the ring until
    /// [`Scheduler::served`] puts it back.
    pub fn next_ready_at(&mut self, now: Instant) -> Result<Sessid, Option<Duration>> {
        let mut earliest: Option<Instant> = None;
        for _ in 0..self.ring.len() {
            let Some(sessid) = self.ring.pop_front() else { break };
            let Some(q) = self.queues.get_mut(&sessid) else { continue };
            if q.busy || q.work.is_empty() {
                q.ready = false;
                continue;
            }
            match q.not_before {
                Some(t) if t > now => {
                    earliest = Some(earliest.map_or(t, |e| e.min(t)));
                    self.ring.push_back(&q.group, sessid);
                }
                _ => return Ok(sessid),
            }
        }
        Err(earliest.map(|t| t.saturating_duration_since(now)))
    }

    /// The session's next unit of work, taken off its queue.
    pub fn take_work(&mut self, sessid: Sessid) -> Option<Work> {
        self.queues.get_mut(&sessid).and_then(|q| q.work.pop_front())
    }

    /// Forget the session's queue (it disconnected: nothing more will come for it).
    pub fn forget(&mut self, sessid: Sessid) {
        self.queues.remove(&sessid);
    }

    /// After serving one unit of `sessid`'s work: back in the ring if it has more and is not
    /// busy; forgotten if the session is `gone` (disconnected from the server side) with nothing
    /// left to do.
    pub fn served(&mut self, sessid: Sessid, gone: bool) {
        let Some(q) = self.queues.get_mut(&sessid) else { return };
        if q.busy || q.work.is_empty() {
            q.ready = false;
            if gone && q.work.is_empty() && !q.busy {
                self.queues.remove(&sessid);
            }
        } else {
            self.ring.push_back(&q.group, sessid);
        }
    }

    /// Bookkeeping after one input: busy while it is `deferred` (its ack is with an off-loop
    /// job); slowed while its commands keep overrunning `deadline`. Returns the pause imposed
    /// when this input starts a session's slow-down (the player is to be told once per streak).
    pub fn after_input(
        &mut self,
        sessid: Sessid,
        deferred: bool,
        overran: bool,
        deadline: Duration,
    ) -> Option<Duration> {
        self.after_input_at(Instant::now(), sessid, deferred, overran, deadline)
    }

    /// [`Scheduler::after_input`] at `now`. The pause doubles with each overrun past the first
    /// ones (twice the deadline at first), up to [`MAX_SLOWDOWN`]; one input that keeps to its
    /// deadline ends the slow-down.
    pub fn after_input_at(
        &mut self,
        now: Instant,
        sessid: Sessid,
        deferred: bool,
        overran: bool,
        deadline: Duration,
    ) -> Option<Duration> {
        let q = self.queues.get_mut(&sessid)?;
        q.busy = deferred;
        if !overran {
            q.overruns = 0;
            q.not_before = None;
            return None;
        }
        q.overruns += 1;
        if q.overruns < OVERRUNS_BEFORE_SLOWING {
            return None;
        }
        let factor = 1u32 << (q.overruns - OVERRUNS_BEFORE_SLOWING).min(8);
        let pause = (deadline * 2 * factor).min(MAX_SLOWDOWN);
        q.not_before = Some(now + pause);
        (q.overruns == OVERRUNS_BEFORE_SLOWING).then_some(pause)
    }

    /// The session's deferred work is done: it may be served again.
    pub fn unbusy(&mut self, sessid: Sessid) {
        if let Some(q) = self.queues.get_mut(&sessid) {
            q.busy = false;
            if !q.work.is_empty() && !q.ready {
                q.ready = true;
                self.ring.push_back(&q.group, sessid);
            }
        }
    }

    /// Whether a wake-up timer must be set for `d` from now: not when one already pending fires
    /// no later. Records the new one when it must.
    pub fn wake_needed(&mut self, d: Duration) -> bool {
        self.wake_needed_at(Instant::now(), d)
    }

    /// [`Scheduler::wake_needed`] at `now`.
    pub fn wake_needed_at(&mut self, now: Instant, d: Duration) -> bool {
        let due = now + d;
        if self.wake_at.is_some_and(|w| w <= due && w > now) {
            return false;
        }
        self.wake_at = Some(due);
        true
    }

    /// The pending wake-up fired.
    pub fn woke(&mut self) {
        self.wake_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(seq: u64) -> Work {
        Work::Input { seq, msg: Msg::text("x") }
    }

    /// Serve every ready unit at `now`, as the loop does (no overruns, nothing deferred), and
    /// return `(sessid, seq)` in service order.
    fn serve_all(s: &mut Scheduler, now: Instant) -> Vec<(Sessid, u64)> {
        let mut order = vec![];
        while let Ok(sessid) = s.next_ready_at(now) {
            let work = s.take_work(sessid).expect("a ready session has work");
            order.push((sessid, work.seq()));
            s.after_input_at(now, sessid, false, false, Duration::from_millis(100));
            s.served(sessid, false);
        }
        order
    }

    #[test]
    fn the_ring_takes_turns_by_address_group_then_by_session() {
        let mut ring = FairRing::default();
        // One address with four sessions, then two addresses with one each.
        for s in 1..=4 {
            ring.push_back("10.0.0.1", Sessid::new(s));
        }
        ring.push_back("10.0.0.2", Sessid::new(5));
        ring.push_back("10.0.0.3", Sessid::new(6));
        assert_eq!(ring.len(), 6);
        let mut order = vec![];
        while let Some(s) = ring.pop_front() {
            order.push(s);
        }
        assert_eq!(
            order,
            [
                Sessid::new(1),
                Sessid::new(5),
                Sessid::new(6),
                Sessid::new(2),
                Sessid::new(3),
                Sessid::new(4)
            ]
        );
        assert_eq!(ring.len(), 0);
    }

    #[test]
    fn a_session_s_inputs_run_in_order_one_per_turn_between_other_sessions() {
        let mut s = Scheduler::default();
        for seq in 1..=3 {
            s.enqueue(Sessid::new(1), input(seq), || "a".into());
        }
        s.enqueue(Sessid::new(2), input(1), || "b".into());
        s.enqueue(Sessid::new(2), input(2), || "b".into());
        let order = serve_all(&mut s, Instant::now());
        assert_eq!(
            order,
            [
                (Sessid::new(1), 1),
                (Sessid::new(2), 1),
                (Sessid::new(1), 2),
                (Sessid::new(2), 2),
                (Sessid::new(1), 3)
            ]
        );
    }

    #[test]
    fn a_flooding_address_gets_one_turn_per_round_like_everyone_else() {
        let mut s = Scheduler::default();
        // Three sessions of one address with two inputs each, then one session elsewhere.
        for sessid in 1..=3 {
            s.enqueue(Sessid::new(sessid), input(1), || "flood".into());
            s.enqueue(Sessid::new(sessid), input(2), || "flood".into());
        }
        s.enqueue(Sessid::new(9), input(1), || "quiet".into());
        s.enqueue(Sessid::new(9), input(2), || "quiet".into());
        let order: Vec<Sessid> =
            serve_all(&mut s, Instant::now()).into_iter().map(|u| u.0).collect();
        assert_eq!(
            order[..4],
            [Sessid::new(1), Sessid::new(9), Sessid::new(2), Sessid::new(9)],
            "the quiet session's inputs are not held up"
        );
        assert_eq!(order.len(), 8);
    }

    #[test]
    fn the_group_is_asked_for_once_when_a_session_is_first_seen() {
        let mut s = Scheduler::default();
        s.enqueue(Sessid::new(1), input(1), || "a".into());
        s.enqueue(Sessid::new(1), input(2), || panic!("the group is known"));
        assert_eq!(serve_all(&mut s, Instant::now()).len(), 2);
    }

    #[test]
    fn a_busy_session_waits_with_its_later_inputs_and_its_disconnect_until_unbusy() {
        let mut s = Scheduler::default();
        let now = Instant::now();
        s.enqueue(Sessid::new(1), input(1), || "a".into());
        s.enqueue(Sessid::new(1), input(2), || "a".into());
        s.enqueue(Sessid::new(1), Work::Disconnect { seq: 3 }, || "a".into());
        assert_eq!(s.next_ready_at(now), Ok(Sessid::new(1)));
        assert_eq!(s.take_work(Sessid::new(1)).map(|w| w.seq()), Some(1));
        // The input's completion is deferred (a password check).
        s.after_input_at(now, Sessid::new(1), true, false, Duration::from_millis(100));
        s.served(Sessid::new(1), false);
        assert_eq!(s.next_ready_at(now), Err(None), "nothing to serve, nothing to wait for");
        s.enqueue(Sessid::new(1), input(4), || "a".into());
        assert_eq!(s.next_ready_at(now), Err(None), "still busy");
        s.unbusy(Sessid::new(1));
        assert_eq!(
            serve_all(&mut s, now),
            [(Sessid::new(1), 2), (Sessid::new(1), 3), (Sessid::new(1), 4)]
        );
    }

    #[test]
    fn a_session_that_keeps_overrunning_is_slowed_more_each_time_then_freed() {
        let mut s = Scheduler::default();
        let deadline = Duration::from_millis(50);
        let now = Instant::now();
        for seq in 1..=6 {
            s.enqueue(Sessid::new(1), input(seq), || "a".into());
        }
        let run = |s: &mut Scheduler, now: Instant, overran: bool| {
            assert_eq!(s.next_ready_at(now), Ok(Sessid::new(1)));
            s.take_work(Sessid::new(1));
            let told = s.after_input_at(now, Sessid::new(1), false, overran, deadline);
            s.served(Sessid::new(1), false);
            told
        };
        assert_eq!(run(&mut s, now, true), None, "one overrun is forgiven");
        assert_eq!(run(&mut s, now, true), Some(deadline * 2), "the second slows, once told");
        assert_eq!(s.next_ready_at(now), Err(Some(deadline * 2)), "the loop waits for it");
        let later = now + deadline * 2;
        assert_eq!(run(&mut s, later, true), None, "told once per streak");
        assert_eq!(s.next_ready_at(later), Err(Some(deadline * 4)), "the pause doubles");
        let later = later + MAX_SLOWDOWN;
        run(&mut s, later, true);
        run(&mut s, later + MAX_SLOWDOWN, true);
        assert_eq!(
            s.next_ready_at(later + MAX_SLOWDOWN),
            Err(Some(MAX_SLOWDOWN)),
            "never more than the longest pause"
        );
        let later = later + MAX_SLOWDOWN * 2;
        assert_eq!(run(&mut s, later, false), None);
        assert_eq!(s.next_ready_at(later), Err(None), "in time once: no pause left");
    }

    #[test]
    fn a_slowed_session_does_not_hold_up_the_others() {
        let mut s = Scheduler::default();
        let now = Instant::now();
        s.enqueue(Sessid::new(1), input(1), || "a".into());
        s.enqueue(Sessid::new(1), input(2), || "a".into());
        s.enqueue(Sessid::new(1), input(3), || "a".into());
        for _ in 0..2 {
            assert_eq!(s.next_ready_at(now), Ok(Sessid::new(1)));
            s.take_work(Sessid::new(1));
            s.after_input_at(now, Sessid::new(1), false, true, Duration::from_millis(50));
            s.served(Sessid::new(1), false);
        }
        s.enqueue(Sessid::new(2), input(1), || "b".into());
        assert_eq!(s.next_ready_at(now), Ok(Sessid::new(2)));
    }

    #[test]
    fn a_session_gone_with_nothing_left_is_forgotten() {
        let mut s = Scheduler::default();
        s.enqueue(Sessid::new(1), input(1), || "a".into());
        assert_eq!(s.next_ready_at(Instant::now()), Ok(Sessid::new(1)));
        s.take_work(Sessid::new(1));
        s.served(Sessid::new(1), true);
        assert!(s.queues.is_empty());
        // A session still connected keeps its queue (and its group) for its next input.
        s.enqueue(Sessid::new(2), input(1), || "b".into());
        s.next_ready_at(Instant::now()).unwrap();
        s.take_work(Sessid::new(2));
        s.served(Sessid::new(2), false);
        assert!(s.queues.contains_key(&Sessid::new(2)));
    }

    #[test]
    fn a_wake_up_is_set_only_when_none_pending_fires_in_time() {
        let mut s = Scheduler::default();
        let now = Instant::now();
        assert!(s.wake_needed_at(now, Duration::from_millis(100)));
        assert!(!s.wake_needed_at(now, Duration::from_millis(200)), "the pending one is sooner");
        assert!(s.wake_needed_at(now, Duration::from_millis(50)), "sooner than the pending one");
        s.woke();
        assert!(s.wake_needed_at(now, Duration::from_millis(200)), "none pending after it fired");
        let later = now + Duration::from_millis(300);
        assert!(s.wake_needed_at(later, Duration::from_millis(10)), "the pending one is past");
    }
}
