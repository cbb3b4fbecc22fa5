//! Server sessions and the session handler's queries (Evennia's ServerSessionHandler, without its
//! bugs: sessions are keyed and compared by sessid, and `from_puppet` works).

use crate::shared::ids::{AccountId, ObjectId};
use std::collections::{BTreeMap, BTreeSet};

use crate::link::{Sessid, SessionData};

/// One connected session as the server sees it. Everything that must survive a server restart is
/// in `data`, which the portal mirrors.
#[derive(Debug, Clone)]
pub struct ServerSession {
    /// The synced session data.
    pub data: SessionData,
    /// Non-persistent cmdsets added at run time (module names, bottom first): unlike
    /// `data.cmdset_storage` they are not handed over to the next server.
    pub temp_cmdsets: Vec<String>,
}

impl PartialEq for ServerSession {
    fn eq(&self, other: &Self) -> bool {
        self.data.sessid == other.data.sessid
    }
}

impl ServerSession {
    /// The session id.
    pub fn sessid(&self) -> Sessid {
        self.data.sessid
    }

    /// Whether a protocol flag is set to `true`.
    pub fn flag(&self, name: &str) -> bool {
        self.data.protocol_flags.get(name).and_then(|v| v.as_bool()).unwrap_or(false)
    }
}

/// All sessions by sessid.
#[derive(Debug, Default)]
pub struct SessionHandler {
    sessions: BTreeMap<Sessid, ServerSession>,
    /// While a guest call runs: each changed session as it was before its first change (None:
    /// it did not exist), so a failed call can be undone.
    journal: Option<BTreeMap<Sessid, Option<ServerSession>>>,
}

impl SessionHandler {
    /// Start recording changes (a guest call begins).
    pub fn begin_journal(&mut self) {
        self.journal = Some(BTreeMap::new());
    }

    /// Keep the changes made since [`SessionHandler::begin_journal`].
    pub fn commit_journal(&mut self) {
        self.journal = None;
    }

    /// Undo the changes made since [`SessionHandler::begin_journal`].
    pub fn rollback_journal(&mut self) {
        for (sessid, before) in self.journal.take().unwrap_or_default() {
            match before {
                Some(s) => self.sessions.insert(sessid, s),
                None => self.sessions.remove(&sessid),
            };
        }
    }

    fn remember(&mut self, sessid: Sessid) {
        if let Some(j) = self.journal.as_mut() {
            j.entry(sessid).or_insert_with(|| self.sessions.get(&sessid).cloned());
        }
    }

    /// Add or replace a session.
    pub fn insert(&mut self, data: SessionData) {
        self.remember(data.sessid);
        self.sessions.insert(data.sessid, ServerSession { data, temp_cmdsets: Vec::new() });
    }

    /// Remove a session.
    pub fn remove(&mut self, sessid: Sessid) -> Option<ServerSession> {
        self.remember(sessid);
        self.sessions.remove(&sessid)
    }

    /// A session by id (Evennia's session_from_sessid).
    pub fn get(&self, sessid: Sessid) -> Option<&ServerSession> {
        self.sessions.get(&sessid)
    }

    /// A session by id, mutably.
    pub fn get_mut(&mut self, sessid: Sessid) -> Option<&mut ServerSession> {
        self.remember(sessid);
        self.sessions.get_mut(&sessid)
    }

    /// Number of sessions, logged in or not.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// All sessions; unlogged-in ones only when asked (Evennia's get_sessions).
    pub fn all(&self, include_unloggedin: bool) -> impl Iterator<Item = &ServerSession> {
        self.sessions.values().filter(move |s| include_unloggedin || s.data.logged_in)
    }

    /// Logged-in sessions of an account.
    pub fn from_account(&self, uid: AccountId) -> impl Iterator<Item = &ServerSession> {
        self.sessions.values().filter(move |s| s.data.logged_in && s.data.uid == Some(uid))
    }

    /// Sessions puppeting an object.
    pub fn from_puppet(&self, obj: ObjectId) -> impl Iterator<Item = &ServerSession> {
        self.sessions.values().filter(move |s| s.data.puid == Some(obj))
    }

    /// Sessions from one browser session (`[]` for an empty csessid).
    pub fn from_csessid<'a>(&'a self, csessid: &'a str) -> impl Iterator<Item = &'a ServerSession> {
        self.sessions
            .values()
            .filter(move |s| !csessid.is_empty() && s.data.csessid.as_deref() == Some(csessid))
    }

    /// Number of distinct logged-in accounts.
    pub fn account_count(&self) -> usize {
        self.sessions
            .values()
            .filter_map(|s| s.data.uid.filter(|_| s.data.logged_in))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Every session id.
    pub fn ids(&self) -> Vec<Sessid> {
        self.sessions.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sessid: Sessid, uid: Option<AccountId>, puid: Option<ObjectId>) -> SessionData {
        SessionData {
            sessid,
            address: "127.0.0.1".into(),
            logged_in: uid.is_some(),
            uid,
            puid,
            ..Default::default()
        }
    }

    #[test]
    fn sessions_from_one_address_are_still_different_sessions() {
        let mut h = SessionHandler::default();
        h.insert(session(Sessid::new(1), Some(AccountId::new(10)), Some(ObjectId::new(100))));
        h.insert(session(Sessid::new(2), Some(AccountId::new(11)), Some(ObjectId::new(101))));
        assert_ne!(h.get(Sessid::new(1)), h.get(Sessid::new(2)));
    }

    #[test]
    fn sessions_from_puppet_finds_every_puppeteer() {
        let mut h = SessionHandler::default();
        h.insert(session(Sessid::new(1), Some(AccountId::new(10)), Some(ObjectId::new(100))));
        h.insert(session(Sessid::new(2), Some(AccountId::new(10)), Some(ObjectId::new(100))));
        h.insert(session(Sessid::new(3), Some(AccountId::new(11)), Some(ObjectId::new(101))));
        let ids: Vec<_> = h.from_puppet(ObjectId::new(100)).map(|s| s.sessid()).collect();
        assert_eq!(ids, vec![Sessid::new(1), Sessid::new(2)]);
    }

    #[test]
    fn account_count_counts_distinct_logged_in_accounts() {
        let mut h = SessionHandler::default();
        h.insert(session(Sessid::new(1), Some(AccountId::new(10)), None));
        h.insert(session(Sessid::new(2), Some(AccountId::new(10)), None));
        h.insert(session(Sessid::new(3), None, None));
        assert_eq!(h.account_count(), 1);
        assert_eq!(h.all(false).count(), 2);
        assert_eq!(h.all(true).count(), 3);
    }
}
