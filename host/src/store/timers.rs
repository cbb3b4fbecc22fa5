//! Module timers (Evennia's `utils.delay`, `TickerHandler`, a `Script`'s interval): one-shot or
//! repeating callbacks of a module, with a payload, optionally bound to an object. Persistent
//! timers are written to the `timers` table in the current transaction, so a firing's effects and
//! the timer's next due time (or its removal) commit together: a firing whose effects committed
//! never fires again after a crash, one that did not commit fires again. Non-persistent timers
//! live in memory until the server process stops. Every change is in the undo log, so a timer
//! created by a failed guest call does not exist.
//!
//! The queue is ordered by due time, so finding the due timers costs nothing when none is due.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

use super::{StoreError, Undo, WorldStore};
use crate::shared::ids::ObjectId;

/// One scheduled timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    /// Its id (unique among the timers alive).
    pub id: u64,
    /// The module whose `at-timer` it calls.
    pub module: Arc<str>,
    /// When it is due, unix milliseconds.
    pub due_ms: u64,
    /// Interval of a repeating timer; None for a one-shot.
    pub interval_ms: Option<u64>,
    /// The module's payload.
    pub payload: String,
    /// The object it is bound to (deleted with it).
    pub obj: Option<ObjectId>,
    /// Stored in the database.
    pub persistent: bool,
}

/// The timers in memory, by id, by due time, by module and by bound object.
#[derive(Default)]
pub(super) struct Timers {
    by_id: BTreeMap<u64, Timer>,
    queue: BTreeSet<(u64, u64)>,
    per_module: HashMap<Arc<str>, usize>,
    by_obj: HashMap<ObjectId, BTreeSet<u64>>,
    next_id: u64,
}

impl Timers {
    fn insert(&mut self, t: Timer) {
        self.queue.insert((t.due_ms, t.id));
        *self.per_module.entry(t.module.clone()).or_default() += 1;
        if let Some(o) = t.obj {
            self.by_obj.entry(o).or_default().insert(t.id);
        }
        self.by_id.insert(t.id, t);
    }

    fn remove(&mut self, id: u64) -> Option<Timer> {
        let t = self.by_id.remove(&id)?;
        self.queue.remove(&(t.due_ms, id));
        if let Some(n) = self.per_module.get_mut(&t.module) {
            *n -= 1;
            if *n == 0 {
                self.per_module.remove(&t.module);
            }
        }
        if let Some(o) = t.obj {
            if let Some(set) = self.by_obj.get_mut(&o) {
                set.remove(&id);
                if set.is_empty() {
                    self.by_obj.remove(&o);
                }
            }
        }
        Some(t)
    }

    fn set_due(&mut self, id: u64, due_ms: u64) -> Option<u64> {
        let t = self.by_id.get_mut(&id)?;
        let old = t.due_ms;
        self.queue.remove(&(old, id));
        t.due_ms = due_ms;
        self.queue.insert((due_ms, id));
        Some(old)
    }
}

/// A `timers` row: id, module, due time, interval, payload, bound object.
type StoredTimer = (u64, String, u64, Option<u64>, String, Option<ObjectId>);

/// An undoable timer change.
pub(super) enum TimerUndo {
    /// The timer was added: remove it.
    Added(u64),
    /// The timer was removed: put it back.
    Removed(Box<Timer>),
    /// The timer's due time changed: set it back.
    Due { id: u64, old: u64 },
}

/// Create the `timers` table in an older database.
pub(super) fn migrate(db: &Connection) -> Result<(), StoreError> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS timers (
            id INTEGER PRIMARY KEY,
            module TEXT NOT NULL,
            due_ms INTEGER NOT NULL,
            interval_ms INTEGER,
            payload TEXT NOT NULL,
            obj INTEGER
        );",
    )?;
    Ok(())
}

impl WorldStore {
    /// Read the persistent timers (startup). Timers bound to objects that no longer exist are
    /// dropped. Ids continue after the highest ever given (kept in `meta`).
    pub(super) fn load_timers(&mut self) -> Result<(), StoreError> {
        let rows: Vec<StoredTimer> = self
            .db
            .prepare("SELECT id, module, due_ms, interval_ms, payload, obj FROM timers")?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })?
            .collect::<Result<_, _>>()?;
        let stored_next: Option<String> = self
            .db
            .query_row("SELECT value FROM meta WHERE key = 'next_timer_id'", [], |r| r.get(0))
            .optional()?;
        let mut next = stored_next.and_then(|s| s.parse().ok()).unwrap_or(1u64).max(1);
        let mut modules: HashMap<String, Arc<str>> = HashMap::new();
        for (id, module, due_ms, interval_ms, payload, obj) in rows {
            next = next.max(id + 1);
            if obj.is_some_and(|o| !self.objects.contains_key(&o)) {
                self.db.execute("DELETE FROM timers WHERE id = ?1", params![id as i64])?;
                continue;
            }
            let module =
                modules.entry(module).or_insert_with_key(|m| Arc::from(m.as_str())).clone();
            self.timers.insert(Timer {
                id,
                module,
                due_ms,
                interval_ms,
                payload,
                obj,
                persistent: true,
            });
        }
        self.timers.next_id = next;
        Ok(())
    }

    /// Schedule a timer (in the current transaction, undone with the savepoint). Returns its id.
    pub fn timer_add(
        &mut self,
        module: &Arc<str>,
        due_ms: u64,
        interval_ms: Option<u64>,
        payload: &str,
        obj: Option<ObjectId>,
        persistent: bool,
    ) -> Result<u64, StoreError> {
        if let Some(o) = obj {
            if !self.objects.contains_key(&o) {
                return Err(StoreError::NoObject(o));
            }
        }
        let id = self.timers.next_id;
        self.timers.next_id += 1;
        if persistent {
            self.db
                .prepare_cached(
                    "INSERT INTO timers (id, module, due_ms, interval_ms, payload, obj)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    id as i64,
                    &**module,
                    due_ms as i64,
                    interval_ms.map(|i| i as i64),
                    payload,
                    obj
                ])?;
            self.db
                .prepare_cached(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_timer_id', ?1)",
                )?
                .execute(params![(id + 1).to_string()])?;
        }
        self.timers.insert(Timer {
            id,
            module: module.clone(),
            due_ms,
            interval_ms,
            payload: payload.to_string(),
            obj,
            persistent,
        });
        self.record(Undo::Timer(TimerUndo::Added(id)));
        Ok(id)
    }

    /// Remove a timer; returns it, or None if there is none with that id.
    pub fn timer_remove(&mut self, id: u64) -> Result<Option<Timer>, StoreError> {
        let Some(t) = self.timers.remove(id) else { return Ok(None) };
        if t.persistent {
            self.db
                .prepare_cached("DELETE FROM timers WHERE id = ?1")?
                .execute(params![id as i64])?;
        }
        self.record(Undo::Timer(TimerUndo::Removed(Box::new(t.clone()))));
        Ok(Some(t))
    }

    /// Move a timer's due time. `store`: also in the database (a firing's advance); otherwise in
    /// memory only (a retry later in this process, the stored due time still standing).
    pub fn timer_set_due(&mut self, id: u64, due_ms: u64, store: bool) -> Result<(), StoreError> {
        let Some(old) = self.timers.set_due(id, due_ms) else { return Ok(()) };
        if store && self.timers.by_id.get(&id).is_some_and(|t| t.persistent) {
            self.db
                .prepare_cached("UPDATE timers SET due_ms = ?2 WHERE id = ?1")?
                .execute(params![id as i64, due_ms as i64])?;
        }
        self.record(Undo::Timer(TimerUndo::Due { id, old }));
        Ok(())
    }

    /// One timer by id.
    pub fn timer(&self, id: u64) -> Option<&Timer> {
        self.timers.by_id.get(&id)
    }

    /// The earliest due time of any timer (None: no timers).
    pub fn timer_next_due(&self) -> Option<u64> {
        self.timers.queue.first().map(|&(due, _)| due)
    }

    /// The ids of up to `max` timers due at `now_ms`, soonest first.
    pub fn timers_due(&self, now_ms: u64, max: usize) -> Vec<u64> {
        self.timers
            .queue
            .iter()
            .take_while(|&&(due, _)| due <= now_ms)
            .take(max)
            .map(|&(_, id)| id)
            .collect()
    }

    /// How many timers a module has.
    pub fn timer_count(&self, module: &str) -> usize {
        self.timers.per_module.get(module).copied().unwrap_or(0)
    }

    /// A module's timers, soonest first.
    pub fn timers_of(&self, module: &str) -> Vec<&Timer> {
        if self.timer_count(module) == 0 {
            return vec![];
        }
        self.timers
            .queue
            .iter()
            .filter_map(|(_, id)| self.timers.by_id.get(id))
            .filter(|t| &*t.module == module)
            .collect()
    }

    /// Remove the timers bound to an object (it is being deleted).
    pub(super) fn drop_timers_of(&mut self, obj: ObjectId) -> Result<(), StoreError> {
        let Some(ids) = self.timers.by_obj.get(&obj).cloned() else { return Ok(()) };
        for id in ids {
            self.timer_remove(id)?;
        }
        Ok(())
    }

    pub(super) fn revert_timer(&mut self, u: TimerUndo) {
        match u {
            TimerUndo::Added(id) => {
                self.timers.remove(id);
            }
            TimerUndo::Removed(t) => self.timers.insert(*t),
            TimerUndo::Due { id, old } => {
                self.timers.set_due(id, old);
            }
        }
    }
}

/// The next due time of a repeating timer that was due at `due_ms`: its first tick after
/// `now_ms` on the original schedule (ticks missed while the server was down or busy are
/// skipped, so a late timer fires once, never in a burst).
pub fn next_tick(due_ms: u64, interval_ms: u64, now_ms: u64) -> u64 {
    let interval = interval_ms.max(1);
    if due_ms > now_ms {
        return due_ms;
    }
    let missed = (now_ms - due_ms) / interval + 1;
    due_ms + missed * interval
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_repeating_timer_skips_to_its_next_tick_after_now() {
        assert_eq!(next_tick(1000, 100, 1000), 1100);
        assert_eq!(next_tick(1000, 100, 1050), 1100);
        assert_eq!(next_tick(1000, 100, 61_000), 61_100);
        assert_eq!(next_tick(5000, 100, 1000), 5000);
    }

    #[test]
    fn deleting_an_object_cancels_the_timers_bound_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WorldStore::open(&dir.path().join("w.db")).unwrap();
        let m: Arc<str> = Arc::from("game");
        w.begin().unwrap();
        let gate = w.create_object("gate", "exit", None).unwrap();
        let bound = w.timer_add(&m, 500, None, "close", Some(gate), true).unwrap();
        let free = w.timer_add(&m, 500, None, "other", None, true).unwrap();
        w.delete_object(gate).unwrap();
        w.commit().unwrap();
        assert!(w.timer(bound).is_none());
        assert!(w.timer(free).is_some());
        assert_eq!(w.timer_count("game"), 1);
    }

    #[test]
    fn timers_survive_reopening_and_a_rolled_back_one_does_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let m: Arc<str> = Arc::from("game");
        {
            let mut w = WorldStore::open(&path).unwrap();
            w.begin().unwrap();
            let kept = w.timer_add(&m, 500, Some(100), "tick", None, true).unwrap();
            let sp = w.savepoint().unwrap();
            let undone = w.timer_add(&m, 600, None, "gone", None, true).unwrap();
            w.rollback_to(sp).unwrap();
            assert!(w.timer(undone).is_none());
            assert_eq!(w.timer_count("game"), 1);
            w.timer_add(&m, 700, None, "memory", None, false).unwrap();
            w.commit().unwrap();
            assert_eq!(w.timer(kept).unwrap().payload, "tick");
        }
        let w = WorldStore::open(&path).unwrap();
        let left: Vec<&str> = w.timers_of("game").iter().map(|t| t.payload.as_str()).collect();
        assert_eq!(left, ["tick"]);
        assert_eq!(w.timers_due(550, 10).len(), 1);
        assert!(w.timers_due(499, 10).is_empty());
    }
}
