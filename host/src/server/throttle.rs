//! Login and account-creation throttles per client address group (Evennia's LOGIN_THROTTLE and
//! CREATION_THROTTLE), and a login throttle per account (failures from any address), kept in the
//! game database so a server restart does not reset them.
//!
//! Atomic by construction: the game loop handles one event at a time, and an attempt counts
//! *from when it is accepted for checking* (the game keeps it as pending, see `Game::attempts`),
//! so a burst of concurrent guesses finds the earlier ones already counted and at most `limit`
//! of them are ever checked. It is stored only with its completion (a wrong password, a created
//! account), in the transaction that acknowledges its input: a crash while the password is
//! being checked replays the input, which counts it again in memory, never twice in the table.
//!
//! Records carry wall-clock times (they must outlive a restart). A record dated in the future
//! (the clock stepped back) is moved to now, so it expires `timeout` after the step at the
//! latest instead of holding the address until the clock catches up.

use rusqlite::params;

use crate::config::Config;
use crate::store::WorldStore;

/// Evennia's login throttle text.
pub const LOGIN_THROTTLE_TEXT: &str = "Too many login failures; please try again in a few minutes.";
/// Evennia's creation throttle text.
pub const CREATION_THROTTLE_TEXT: &str =
    "You are creating too many accounts. Please log into an existing account.";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS throttle (
    kind TEXT NOT NULL,        -- 'login' or 'create'
    address TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS throttle_by_address ON throttle (kind, address);
";

/// One throttle: at most `limit` records per address, forgotten `timeout_ms` after the newest.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    kind: &'static str,
    limit: u32,
    timeout_ms: u64,
}

/// Both throttles of a game.
#[derive(Debug, Clone, Copy)]
pub struct Throttles {
    /// Failed (or still being checked) logins.
    pub login: Throttle,
    /// Failed logins to one account (keyed `#<account id>`), from any address.
    pub login_account: Throttle,
    /// Accounts created (or being created).
    pub creation: Throttle,
}

impl Throttles {
    /// The throttles configured in `cfg`, creating their table if needed.
    pub fn new(cfg: &Config, world: &WorldStore) -> Throttles {
        if let Err(e) = world.db().execute_batch(SCHEMA) {
            tracing::error!(cause = %e, "cannot create the throttle table; throttles will not hold");
        }
        Throttles {
            login: Throttle {
                kind: "login",
                limit: cfg.login_throttle_limit,
                timeout_ms: cfg.login_throttle_timeout_secs.saturating_mul(1000),
            },
            login_account: Throttle {
                kind: "login-account",
                limit: cfg.login_throttle_account_limit,
                timeout_ms: cfg.login_throttle_timeout_secs.saturating_mul(1000),
            },
            creation: Throttle {
                kind: "create",
                limit: cfg.creation_throttle_limit,
                timeout_ms: cfg.creation_throttle_timeout_secs.saturating_mul(1000),
            },
        }
    }
}

impl Throttle {
    /// Evennia's `Throttle.check`: whether `address` is held back now, counting its stored
    /// records and `pending` attempts still being checked. Records whose newest is older than
    /// the timeout are cleared. A database error lets the attempt through (logged): the
    /// password check still protects the account.
    pub fn check(&self, world: &WorldStore, address: &str, now_ms: u64, pending: u32) -> bool {
        if self.limit == 0 {
            return false;
        }
        if pending >= self.limit {
            return true;
        }
        self.undo_backward_step(world, now_ms);
        let db = world.db();
        let row: rusqlite::Result<(u32, Option<u64>)> = db.query_row(
            "SELECT COUNT(*), MAX(at_ms) FROM throttle WHERE kind = ?1 AND address = ?2",
            params![self.kind, address],
            |r| Ok((r.get(0)?, r.get(1)?)),
        );
        match row {
            Ok((_, Some(newest))) if now_ms.saturating_sub(newest) >= self.timeout_ms => {
                self.clear(world, address);
                false
            }
            Ok((count, _)) => count.saturating_add(pending) >= self.limit,
            Err(e) => {
                tracing::error!(cause = %e, kind = self.kind, "throttle check failed");
                false
            }
        }
    }

    /// Count one attempt from `address`, and forget addresses whose records have all expired.
    pub fn record(&self, world: &WorldStore, address: &str, now_ms: u64) {
        if self.limit == 0 {
            return;
        }
        self.undo_backward_step(world, now_ms);
        let db = world.db();
        let res = db
            .execute("INSERT INTO throttle (kind, address, at_ms) VALUES (?1, ?2, ?3)", params![self.kind, address, now_ms])
            .and_then(|_| {
                db.execute(
                    "DELETE FROM throttle WHERE kind = ?1 AND address IN \
                     (SELECT address FROM throttle WHERE kind = ?1 GROUP BY address HAVING MAX(at_ms) < ?2)",
                    params![self.kind, now_ms.saturating_sub(self.timeout_ms)],
                )
            });
        if let Err(e) = res {
            tracing::error!(cause = %e, kind = self.kind, "cannot record a throttle attempt");
        }
    }

    /// Records dated after `now_ms` (the wall clock stepped back) are dated now.
    fn undo_backward_step(&self, world: &WorldStore, now_ms: u64) {
        if let Err(e) = world.db().execute(
            "UPDATE throttle SET at_ms = ?2 WHERE kind = ?1 AND at_ms > ?2",
            params![self.kind, now_ms],
        ) {
            tracing::error!(cause = %e, kind = self.kind, "cannot update throttle records");
        }
    }

    fn clear(&self, world: &WorldStore, address: &str) {
        if let Err(e) = world.db().execute(
            "DELETE FROM throttle WHERE kind = ?1 AND address = ?2",
            params![self.kind, address],
        ) {
            tracing::error!(cause = %e, kind = self.kind, "cannot clear a throttle record");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(dir: &tempfile::TempDir) -> WorldStore {
        WorldStore::open(&dir.path().join("t.sqlite3")).unwrap()
    }

    #[test]
    fn the_limit_holds_until_the_timeout_after_the_newest_record() {
        let dir = tempfile::tempdir().unwrap();
        let w = world(&dir);
        let t = Throttles::new(&Config::default(), &w).login;
        for i in 0..5 {
            assert!(!t.check(&w, "1.2.3.4", 1000 + i, 0));
            t.record(&w, "1.2.3.4", 1000 + i);
        }
        assert!(t.check(&w, "1.2.3.4", 2000, 0));
        assert!(!t.check(&w, "5.6.7.8", 2000, 0), "another address is not held back");
        assert!(t.check(&w, "1.2.3.4", 1004 + 299_999, 0));
        assert!(!t.check(&w, "1.2.3.4", 1004 + 300_000, 0), "cleared after the timeout");
        assert!(!t.check(&w, "1.2.3.4", 1004 + 300_001, 0));
    }

    #[test]
    fn attempts_being_checked_count_with_the_stored_records_which_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let w = world(&dir);
            let t = Throttles::new(&Config::default(), &w).creation;
            t.record(&w, "a", 10);
            assert!(!t.check(&w, "a", 12, 0));
            assert!(t.check(&w, "a", 12, 1), "one stored and one pending reach the limit of 2");
            t.record(&w, "a", 13);
        }
        let w = world(&dir);
        let t = Throttles::new(&Config::default(), &w).creation;
        assert!(t.check(&w, "a", 14, 0), "the records were kept in the database");
    }

    #[test]
    fn a_backward_step_of_the_wall_clock_does_not_keep_records_alive() {
        let dir = tempfile::tempdir().unwrap();
        let w = world(&dir);
        let t = Throttles::new(&Config::default(), &w).login;
        let later = 50_000_000;
        for i in 0..5 {
            t.record(&w, "a", later + i);
        }
        // The clock steps back by about half a day: still held back right after the step...
        assert!(t.check(&w, "a", 1_000, 0));
        // ...and free once the timeout has passed since the step, not since the future.
        assert!(!t.check(&w, "a", 1_000 + 300_000, 0));
    }

    #[test]
    fn a_zero_limit_is_off() {
        let dir = tempfile::tempdir().unwrap();
        let w = world(&dir);
        let cfg = Config { login_throttle_limit: 0, ..Config::default() };
        let t = Throttles::new(&cfg, &w).login;
        for i in 0..10 {
            t.record(&w, "a", i);
        }
        assert!(!t.check(&w, "a", 10, 5));
    }
}
