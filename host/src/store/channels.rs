//! Channels (Evennia's comms): channels, subscriptions (with mute), bans and the message history,
//! kept only in SQLite. Every read is a query and every write goes through the current
//! transaction, so a failed guest call's savepoint undoes channel changes with the rest, and
//! channels survive reloads and crashes like the world. The game's channel count is bounded
//! (`channel_max_count`), so the queries that read every channel are bounded too.

use rusqlite::{params, Connection, OptionalExtension};

use super::{StoreError, Undo, WorldStore};
use crate::shared::ids::AccountId;

/// The default channel every account joins (Evennia's `DEFAULT_CHANNELS`).
pub const PUBLIC_CHANNEL: &str = "public";

/// One channel as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Database id.
    pub id: u64,
    /// Name as created (lookups ignore case).
    pub name: String,
    /// Other names it answers to, lower case (Evennia's channel aliases: `pub` for `public`).
    pub aliases: Vec<String>,
    /// Shown by `channel/list`.
    pub description: String,
    /// The account that created it (may mute, ban and unban); none for the game's own.
    pub owner: Option<AccountId>,
}

impl Channel {
    /// Whether `name` is this channel's name or one of its aliases (case-insensitive).
    pub fn answers_to(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS channels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    aliases TEXT NOT NULL DEFAULT '',      -- ';'-separated, lower case
    description TEXT NOT NULL DEFAULT '',
    owner INTEGER,                         -- account id; NULL = the game's own
    auto_join INTEGER NOT NULL DEFAULT 0   -- every new account subscribes
);
CREATE TABLE IF NOT EXISTS channel_subs (
    channel INTEGER NOT NULL,
    account INTEGER NOT NULL,
    muted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, account)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS channel_subs_by_account ON channel_subs (account);
CREATE TABLE IF NOT EXISTS channel_bans (
    channel INTEGER NOT NULL,
    account INTEGER NOT NULL,
    PRIMARY KEY (channel, account)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channel_history (
    id INTEGER PRIMARY KEY,
    channel INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS channel_history_by_channel ON channel_history (channel, id);
";

/// Create the channel tables; a database without channels gets `public` (alias `pub`), joined by
/// every account it already has.
pub(super) fn migrate(db: &Connection) -> Result<(), StoreError> {
    db.execute_batch(SCHEMA)?;
    let seeded: Option<String> = db
        .query_row("SELECT value FROM meta WHERE key = 'channels_seeded'", [], |r| r.get(0))
        .optional()?;
    if seeded.is_none() {
        db.execute(
            "INSERT OR IGNORE INTO channels (name, aliases, description, owner, auto_join) VALUES (?1, 'pub', 'Public discussion', NULL, 1)",
            params![PUBLIC_CHANNEL],
        )?;
        db.execute_batch(
            "INSERT OR IGNORE INTO channel_subs (channel, account, muted)
                 SELECT c.id, a.id, 0 FROM channels c, accounts a WHERE c.auto_join = 1;
             INSERT OR REPLACE INTO meta (key, value) VALUES ('channels_seeded', '1');",
        )?;
    }
    Ok(())
}

fn row_channel(r: &rusqlite::Row<'_>) -> rusqlite::Result<Channel> {
    let aliases: String = r.get(2)?;
    Ok(Channel {
        id: r.get(0)?,
        name: r.get(1)?,
        aliases: aliases.split(';').filter(|a| !a.is_empty()).map(str::to_string).collect(),
        description: r.get(3)?,
        owner: r.get(4)?,
    })
}

impl WorldStore {
    /// Every channel, by name.
    pub fn channels(&self) -> Result<Vec<Channel>, StoreError> {
        let rows = self
            .db
            .prepare_cached(
                "SELECT id, name, aliases, description, owner FROM channels ORDER BY name COLLATE NOCASE",
            )?
            .query_map([], row_channel)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The channel with this name or alias (case-insensitive).
    pub fn channel_find(&self, name: &str) -> Result<Option<Channel>, StoreError> {
        Ok(self.channels()?.into_iter().find(|c| c.answers_to(name)))
    }

    /// Create a channel owned by `owner`. The caller checks names and limits.
    pub fn channel_create(
        &mut self,
        name: &str,
        aliases: &[String],
        description: &str,
        owner: Option<AccountId>,
    ) -> Result<u64, StoreError> {
        self.db.execute(
            "INSERT INTO channels (name, aliases, description, owner) VALUES (?1, ?2, ?3, ?4)",
            params![name, aliases.join(";"), description, owner],
        )?;
        Ok(self.db.last_insert_rowid() as u64)
    }

    /// The subscribers of a channel: `(account, muted)`, by account id.
    pub fn channel_subscribers(&self, id: u64) -> Result<Vec<(AccountId, bool)>, StoreError> {
        let rows = self
            .db
            .prepare_cached(
                "SELECT account, muted FROM channel_subs WHERE channel = ?1 ORDER BY account",
            )?
            .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Whether an account subscribes to a channel: None = no, Some(muted).
    pub fn channel_subscription(
        &self,
        id: u64,
        account: AccountId,
    ) -> Result<Option<bool>, StoreError> {
        Ok(self
            .db
            .prepare_cached("SELECT muted FROM channel_subs WHERE channel = ?1 AND account = ?2")?
            .query_row(params![id, account], |r| r.get(0))
            .optional()?)
    }

    /// The channels an account subscribes to, with whether it muted each, by name.
    pub fn account_channels(&self, account: AccountId) -> Result<Vec<(Channel, bool)>, StoreError> {
        let rows = self
            .db
            .prepare_cached(
                "SELECT c.id, c.name, c.aliases, c.description, c.owner, s.muted
                 FROM channel_subs s JOIN channels c ON c.id = s.channel
                 WHERE s.account = ?1 ORDER BY c.name COLLATE NOCASE",
            )?
            .query_map(params![account], |r| Ok((row_channel(r)?, r.get(5)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Subscribe an account (unmuted); subscribing again changes nothing.
    pub fn channel_subscribe(&mut self, id: u64, account: AccountId) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT OR IGNORE INTO channel_subs (channel, account, muted) VALUES (?1, ?2, 0)",
            params![id, account],
        )?;
        self.channels_changed();
        Ok(())
    }

    /// End a subscription.
    pub fn channel_unsubscribe(&mut self, id: u64, account: AccountId) -> Result<(), StoreError> {
        self.db.execute(
            "DELETE FROM channel_subs WHERE channel = ?1 AND account = ?2",
            params![id, account],
        )?;
        self.channels_changed();
        Ok(())
    }

    /// Mute or unmute a subscription (a muted subscriber receives nothing, keeps its place).
    pub fn channel_set_muted(
        &mut self,
        id: u64,
        account: AccountId,
        muted: bool,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE channel_subs SET muted = ?3 WHERE channel = ?1 AND account = ?2",
            params![id, account, muted],
        )?;
        Ok(())
    }

    /// Whether an account is banned from a channel.
    pub fn channel_banned(&self, id: u64, account: AccountId) -> Result<bool, StoreError> {
        Ok(self
            .db
            .prepare_cached("SELECT 1 FROM channel_bans WHERE channel = ?1 AND account = ?2")?
            .query_row(params![id, account], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The accounts banned from a channel, by id.
    pub fn channel_bans(&self, id: u64) -> Result<Vec<AccountId>, StoreError> {
        let rows = self
            .db
            .prepare_cached("SELECT account FROM channel_bans WHERE channel = ?1 ORDER BY account")?
            .query_map(params![id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Ban (true) or unban an account; a ban also ends its subscription.
    pub fn channel_set_banned(
        &mut self,
        id: u64,
        account: AccountId,
        banned: bool,
    ) -> Result<(), StoreError> {
        if banned {
            self.db.execute(
                "INSERT OR IGNORE INTO channel_bans (channel, account) VALUES (?1, ?2)",
                params![id, account],
            )?;
            self.channel_unsubscribe(id, account)?;
        } else {
            self.db.execute(
                "DELETE FROM channel_bans WHERE channel = ?1 AND account = ?2",
                params![id, account],
            )?;
        }
        Ok(())
    }

    /// Append a message to a channel's history, keeping its last `keep` messages.
    pub fn channel_history_add(
        &mut self,
        id: u64,
        at_ms: u64,
        text: &str,
        keep: usize,
    ) -> Result<(), StoreError> {
        self.db.execute_cached(
            "INSERT INTO channel_history (channel, at_ms, text) VALUES (?1, ?2, ?3)",
            params![id, at_ms as i64, text],
        )?;
        // Everything older than the `keep`-th newest goes (the index makes this a range delete).
        self.db.execute_cached(
            "DELETE FROM channel_history WHERE channel = ?1 AND id <= (
                 SELECT id FROM channel_history WHERE channel = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            params![id, keep as i64],
        )?;
        Ok(())
    }

    /// A channel's last `n` messages, oldest first: `(unix ms, text)`.
    pub fn channel_history(&self, id: u64, n: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let mut rows: Vec<(u64, String)> = self
            .db
            .prepare_cached(
                "SELECT at_ms, text FROM channel_history WHERE channel = ?1 ORDER BY id DESC LIMIT ?2",
            )?
            .query_map(params![id, n as i64], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// Subscribe a new account to the channels every account joins (`public`), as far as each
    /// has room under `max_subscribers`.
    pub fn channel_join_defaults(
        &mut self,
        account: AccountId,
        max_subscribers: usize,
    ) -> Result<(), StoreError> {
        let ids: Vec<u64> = self
            .db
            .prepare_cached("SELECT id FROM channels WHERE auto_join = 1")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in ids {
            if self.channel_subscribers(id)?.len() < max_subscribers {
                self.channel_subscribe(id, account)?;
            } else {
                tracing::warn!(channel = id, %account, "a default channel is full (channel_max_subscribers); the new account was not subscribed");
            }
        }
        Ok(())
    }

    /// Subscriptions changed: the generated channel commands must be rebuilt, also after a
    /// rolled-back call (the undo log bumps the generation again).
    fn channels_changed(&mut self) {
        self.cmdset_gen += 1;
        self.record(Undo::Channels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, WorldStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = WorldStore::open(&dir.path().join("w.sqlite3")).unwrap();
        (dir, s)
    }

    #[test]
    fn a_new_database_has_public_with_its_alias() {
        let (_d, s) = store();
        let c = s.channel_find("PUB").unwrap().expect("public by alias");
        assert_eq!(c.name, PUBLIC_CHANNEL);
        assert_eq!(c.owner, None);
    }

    #[test]
    fn history_keeps_the_newest_messages_only() {
        let (_d, mut s) = store();
        let id = s.channel_find("public").unwrap().unwrap().id;
        for i in 0..10 {
            s.channel_history_add(id, i, &format!("m{i}"), 3).unwrap();
        }
        let h: Vec<String> =
            s.channel_history(id, 100).unwrap().into_iter().map(|(_, t)| t).collect();
        assert_eq!(h, ["m7", "m8", "m9"]);
    }

    #[test]
    fn a_rolled_back_subscription_is_gone_and_the_generation_moves() {
        let (_d, mut s) = store();
        let acct = s.create_account("Ann", "hash", false, 1).unwrap();
        s.begin().unwrap();
        let id = s.channel_create("ooc", &[], "", Some(acct)).unwrap();
        let sp = s.savepoint().unwrap();
        s.channel_subscribe(id, acct).unwrap();
        let gen = s.cmdset_generation();
        s.rollback_to(sp).unwrap();
        assert_eq!(s.channel_subscription(id, acct).unwrap(), None);
        assert!(s.cmdset_generation() > gen);
        s.commit().unwrap();
    }
}

/// Figures, not checks of behaviour: `cargo test -p mudhost --lib measure_ -- --ignored --nocapture`.
#[cfg(test)]
mod measure {
    use super::*;
    #[test]
    #[ignore]
    fn measure_channel_send_store_work() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = WorldStore::open(&dir.path().join("w.sqlite3")).unwrap();
        s.begin().unwrap();
        let id = s.channel_find("public").unwrap().unwrap().id;
        for i in 0..5000u64 {
            s.channel_subscribe(id, AccountId::new(i + 1)).unwrap();
        }
        s.commit().unwrap();
        let t = std::time::Instant::now();
        for i in 0..1000u64 {
            s.begin().unwrap();
            let subs = s.channel_subscribers(id).unwrap();
            assert_eq!(subs.len(), 5000);
            s.channel_history_add(id, i, "[public] Ann: hello there", 200).unwrap();
            s.commit().unwrap();
        }
        eprintln!(
            "MEASURE channel send store work, 5000 subscribers, history 200: {:?} per message",
            t.elapsed() / 1000
        );
    }
}
