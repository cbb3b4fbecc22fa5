//! [`Db`]: the game's SQLite connection. A failure of the database itself (busy, full,
//! failing) spoils the transaction it happens in, so that nothing the event wrote commits without
//! the failed write, nor alone after SQLite rolled the transaction back on its own.

use std::cell::{Cell, RefCell};

use rusqlite::{Connection, ErrorCode, Params};

/// The game's database connection, remembering failures that spoil the current transaction.
/// Writes go through its `execute*` methods; reads use the connection directly.
pub struct Db {
    pub(super) conn: Connection,
    /// Why the current transaction cannot commit, if something spoiled it.
    pub(super) spoiled: RefCell<Option<String>>,
    /// A game event's transaction is open.
    pub(super) in_tx: Cell<bool>,
}

impl std::ops::Deref for Db {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Db {
    /// Run one write statement.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.guard();
        let r = self.conn.execute(sql, params);
        self.check(&r);
        r
    }

    /// Run one write statement through the statement cache.
    pub fn execute_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.guard();
        let r = self.conn.prepare_cached(sql).and_then(|mut st| st.execute(params));
        self.check(&r);
        r
    }

    /// Run statements without parameters.
    pub fn execute_batch(&self, sql: &str) -> rusqlite::Result<()> {
        self.guard();
        let r = self.conn.execute_batch(sql);
        self.check(&r);
        r
    }

    /// Before a write: if SQLite rolled the event's transaction back on its own, the write
    /// must not run outside one (it would commit alone, without its event's ack).
    pub(super) fn guard(&self) {
        if self.in_tx.get() && self.conn.is_autocommit() {
            self.spoil("the database rolled the transaction back".into());
        }
    }

    fn check<T>(&self, r: &rusqlite::Result<T>) {
        let Err(e) = r else { return };
        if spoils(e) {
            self.spoil(e.to_string());
        }
        self.guard();
    }

    /// Mark the current transaction spoiled; if SQLite ended it, open another, which will be
    /// rolled back too, so that nothing written from now on commits.
    pub(super) fn spoil(&self, why: String) {
        if !self.in_tx.get() {
            return;
        }
        if self.spoiled.borrow().is_none() {
            tracing::error!(cause = %why, "a database failure spoils the current event; it will not commit");
            *self.spoiled.borrow_mut() = Some(why);
        }
        if self.conn.is_autocommit() {
            if let Err(e) = self.conn.execute_batch("BEGIN") {
                tracing::error!(cause = %e, "cannot reopen a transaction after a database failure");
            }
        }
    }
}

/// Failures of the database itself (not of one statement's data): busy or locked by another
/// process, full, failing, read-only, corrupt.
fn spoils(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::DatabaseCorrupt
                | ErrorCode::NotADatabase
                | ErrorCode::ReadOnly
                | ErrorCode::CannotOpen
                | ErrorCode::OutOfMemory
        )
    )
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, ErrorCode};

    use crate::store::tests::temp_store;
    use crate::store::{StoreError, WorldStore};

    #[test]
    fn a_write_failing_for_a_full_database_spoils_its_transaction_and_nothing_commits_alone() {
        let (dir, mut s) = temp_store();
        let limbo = s.start_location();
        s.begin().unwrap();
        // A full disk: the database may not grow by a single page.
        let pages: i64 = s.db.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        s.db.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(())).unwrap();
        let sp = s.savepoint().unwrap();
        let big = "x".repeat(1 << 20);
        let full = s.set_object_attr(limbo, "big", Some(&big));
        assert!(
            matches!(&full, Err(StoreError::Sql(e)) if e.sqlite_error_code() == Some(ErrorCode::DiskFull)),
            "{full:?}"
        );
        let _ = s.rollback_to(sp);
        // Later calls of the same event: whatever they write must not commit on its own.
        if let Ok(sp) = s.savepoint() {
            let _ = s.set_object_attr(limbo, "after", Some("1"));
            let _ = s.release(sp);
        }
        assert!(
            matches!(s.commit(), Err(StoreError::Spoiled(_))),
            "a spoiled event does not commit"
        );
        // The next event starts clean.
        s.begin().unwrap();
        s.commit().unwrap();
        drop(s);
        let s = WorldStore::open(&dir.path().join("w.db")).unwrap();
        let attrs = &s.object(limbo).unwrap().attrs;
        assert!(!attrs.contains_key("big") && !attrs.contains_key("after"), "{attrs:?}");
    }

    #[test]
    fn a_write_while_another_connection_holds_the_lock_spoils_its_transaction() {
        let (dir, mut s) = temp_store();
        s.set_busy_timeout(std::time::Duration::from_millis(10)).unwrap();
        let limbo = s.start_location();
        let other = Connection::open(dir.path().join("w.db")).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        s.begin().unwrap();
        let busy = s.set_object_attr(limbo, "k", Some("v"));
        assert!(
            matches!(&busy, Err(StoreError::Sql(e)) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)),
            "{busy:?}"
        );
        assert!(matches!(s.commit(), Err(StoreError::Spoiled(_))));
        other.execute_batch("COMMIT").unwrap();
        s.begin().unwrap();
        s.set_object_attr(limbo, "k", Some("v")).unwrap();
        s.commit().unwrap();
    }
}
