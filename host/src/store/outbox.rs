//! The server's outbox table: every effects frame is stored in the same transaction as the
//! world changes it reports, and deleted once the portal confirms it (see `link.rs`).

use rusqlite::params;

use super::{StoreError, WorldStore};

impl WorldStore {
    /// Store an effects frame under `id` (in the current transaction).
    pub fn outbox_put(&mut self, id: u64, frame: &[u8]) -> Result<(), StoreError> {
        self.db.execute_cached(
            "INSERT OR REPLACE INTO outbox (id, frame) VALUES (?1, ?2)",
            params![id as i64, frame],
        )?;
        Ok(())
    }

    /// Frames with an id above `id`, in order.
    pub fn outbox_after(&self, id: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut stmt = self.db.prepare("SELECT id, frame FROM outbox WHERE id > ?1 ORDER BY id")?;
        let rows =
            stmt.query_map(params![id as i64], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forget frames up to and including `id` (the portal has applied them).
    pub fn outbox_prune(&mut self, upto: u64) -> Result<(), StoreError> {
        self.db.execute_cached("DELETE FROM outbox WHERE id <= ?1", params![upto as i64])?;
        Ok(())
    }

    /// Forget every frame (a new portal knows none of their sessions).
    pub fn outbox_clear(&mut self) -> Result<(), StoreError> {
        self.db.execute("DELETE FROM outbox", [])?;
        Ok(())
    }

    /// The highest frame id stored, 0 if none.
    pub fn outbox_max_id(&self) -> Result<u64, StoreError> {
        let id: Option<i64> = self.db.query_row("SELECT MAX(id) FROM outbox", [], |r| r.get(0))?;
        Ok(id.unwrap_or(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::temp_store;

    #[test]
    fn outbox_frames_are_kept_until_pruned() {
        let (_d, mut s) = temp_store();
        s.begin().unwrap();
        s.outbox_put(1, b"one").unwrap();
        s.outbox_put(2, b"two").unwrap();
        s.commit().unwrap();
        assert_eq!(s.outbox_after(0).unwrap(), vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
        s.outbox_prune(1).unwrap();
        assert_eq!(s.outbox_after(0).unwrap(), vec![(2, b"two".to_vec())]);
        assert_eq!(s.outbox_max_id().unwrap(), 2);
    }
}
