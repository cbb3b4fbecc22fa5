//! The test host's sessions and what they are sent: sessions made, logged in and puppeting
//! ([`TestHost::player`] in one step), what each was sent ([`TestHost::output`]) and every room
//! message ([`TestHost::room_messages`]); the fakes of the messaging, session-query, ndb and
//! disconnect imports, with the host's permission rules and texts.

use std::collections::BTreeMap;

use super::{strip_markup, with, Sent, SessData, TestHost};
use crate::{Account, AccountId, HostError, Obj, ObjectId, Sessid, SessionInfo};

impl TestHost {
    /// A connected session, not logged in. The first session made is the default caller of
    /// [`TestHost::call`] (see [`TestHost::set_caller`]).
    pub fn session(&self) -> Sessid {
        with(|s| {
            let sessid = s.next_sessid;
            s.next_sessid += 1;
            let info = SessionInfo {
                sessid,
                address: "127.0.0.1".into(),
                protocol_key: "websocket".into(),
                csessid: None,
                logged_in: false,
                account: None,
                account_name: None,
                puppet: None,
                conn_time: s.now_ms,
                cmd_last: s.now_ms,
                cmd_last_visible: s.now_ms,
                cmd_total: 0,
                protocol_flags: vec![],
            };
            let data = SessData { info, ndb: BTreeMap::new(), sent: vec![], closed: None };
            s.sessions.insert(sessid, data);
            s.default_caller.get_or_insert(sessid);
            sessid
        })
    }

    /// Log a session in to an account.
    pub fn login(&self, sessid: Sessid, account: Account) {
        with(|s| {
            let name = s.accounts.get(&account.0).map(|a| a.name.clone());
            let info = &mut s.session_mut(sessid).info;
            info.logged_in = true;
            info.account = Some(account.0);
            info.account_name = name;
        })
    }

    /// Make a session puppet an object.
    pub fn puppet(&self, sessid: Sessid, obj: Obj) {
        with(|s| s.session_mut(sessid).info.puppet = Some(obj.0));
    }

    /// A player in one step: an account named `name`, its character `name` in `room`, a session
    /// logged in and puppeting it. Returns the session (the default caller if it is the first).
    pub fn player(&self, name: &str, room: Obj) -> Sessid {
        let account = self.account(name);
        let ch = self.character(account, name, Some(room));
        let sessid = self.session();
        self.login(sessid, account);
        self.puppet(sessid, ch);
        sessid
    }

    /// The session [`TestHost::call`] runs commands for.
    pub fn set_caller(&self, sessid: Sessid) {
        with(|s| s.default_caller = Some(sessid));
    }

    /// A session as the host would pass it (None once it is disconnected).
    pub fn session_info(&self, sessid: Sessid) -> Option<SessionInfo> {
        with(|s| s.live(sessid).map(|d| d.info.clone()))
    }

    /// The character a session puppets.
    pub fn puppet_of(&self, sessid: Sessid) -> Option<Obj> {
        self.session_info(sessid).and_then(|i| i.puppet).map(Obj)
    }

    /// Why a session was disconnected, if it was.
    pub fn disconnected(&self, sessid: Sessid) -> Option<String> {
        with(|s| s.sessions.get(&sessid).and_then(|d| d.closed.clone()))
    }

    /// A session's ndb value.
    pub fn ndb(&self, sessid: Sessid, key: &str) -> Option<String> {
        with(|s| s.sessions.get(&sessid).and_then(|d| d.ndb.get(key).cloned()))
    }

    /// Everything sent to a session so far, in order.
    pub fn sent(&self, sessid: Sessid) -> Vec<Sent> {
        with(|s| s.sessions.get(&sessid).map(|d| d.sent.clone()).unwrap_or_default())
    }

    /// The texts sent to a session so far, markup stripped.
    pub fn output(&self, sessid: Sessid) -> Vec<String> {
        self.sent(sessid)
            .into_iter()
            .filter_map(|m| match m {
                Sent::Text(t) => Some(strip_markup(&t)),
                Sent::Oob(..) => None,
            })
            .collect()
    }

    /// The texts sent to a session so far (markup stripped), and forget them.
    pub fn take_output(&self, sessid: Sessid) -> Vec<String> {
        let out = self.output(sessid);
        with(|s| {
            if let Some(d) = s.sessions.get_mut(&sessid) {
                d.sent.clear();
            }
        });
        out
    }

    /// Every `msg-contents` so far: the room and the text (markup kept).
    pub fn room_messages(&self) -> Vec<(Obj, String)> {
        with(|s| s.room_messages.iter().map(|(r, t)| (Obj(*r), t.clone())).collect())
    }
}

pub fn msg_caller(text: &str) {
    with(|s| {
        // A timer firing has no caller: its `msg_caller` reaches nobody, as on the host.
        if s.firing && s.current.is_none() {
            return;
        }
        let c = s.caller();
        s.send(c, Sent::Text(text.into()))
    })
}

pub fn msg_session(session: Sessid, text: &str) {
    with(|s| s.send(session, Sent::Text(text.into())))
}

pub fn msg_account(account: AccountId, text: &str) {
    with(|s| {
        let to: Vec<Sessid> =
            s.infos(|i| i.account == Some(account)).iter().map(|i| i.sessid).collect();
        for sid in to {
            s.send(sid, Sent::Text(text.into()));
        }
    })
}

pub fn msg_object(obj: ObjectId, text: &str) {
    with(|s| s.msg_object(obj, text))
}

pub fn msg_contents(location: ObjectId, text: &str, exclude: &[ObjectId]) {
    with(|s| {
        s.room_messages.push((location, text.into()));
        for obj in s.contents(location) {
            if !exclude.contains(&obj) {
                s.msg_object(obj, text);
            }
        }
    })
}

pub fn announce_all(text: &str) {
    with(|s| {
        let all: Vec<Sessid> = s.infos(|_| true).iter().map(|i| i.sessid).collect();
        for sid in all {
            s.send(sid, Sent::Text(text.into()));
        }
    })
}

pub fn send_oob(
    session: Sessid,
    cmdname: &str,
    args_json: &str,
    kwargs_json: &str,
) -> Result<(), HostError> {
    with(|s| s.send(session, Sent::Oob(cmdname.into(), args_json.into(), kwargs_json.into())));
    Ok(())
}

pub fn current_session() -> SessionInfo {
    with(|s| s.session(s.caller()).info.clone())
}

pub fn get_session(session: Sessid) -> Option<SessionInfo> {
    with(|s| s.live(session).map(|d| d.info.clone()))
}

pub fn get_sessions(include_unloggedin: bool) -> Vec<SessionInfo> {
    with(|s| s.infos(|i| include_unloggedin || i.logged_in))
}

pub fn sessions_from_account(account: AccountId) -> Vec<SessionInfo> {
    with(|s| s.infos(|i| i.account == Some(account)))
}

pub fn sessions_from_puppet(obj: ObjectId) -> Vec<SessionInfo> {
    with(|s| s.infos(|i| i.puppet == Some(obj)))
}

pub fn sessions_from_csessid(csessid: &str) -> Vec<SessionInfo> {
    if csessid.is_empty() {
        return vec![];
    }
    with(|s| s.infos(|i| i.csessid.as_deref() == Some(csessid)))
}

pub fn account_count() -> u32 {
    with(|s| {
        let mut ids: Vec<AccountId> =
            s.infos(|i| i.logged_in).iter().filter_map(|i| i.account).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len() as u32
    })
}

pub fn all_connected_accounts() -> Vec<AccountId> {
    with(|s| {
        let mut ids: Vec<AccountId> =
            s.infos(|i| i.logged_in).iter().filter_map(|i| i.account).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    })
}

pub fn ndb_get(key: &str) -> Option<String> {
    with(|s| s.session(s.caller()).ndb.get(key).cloned())
}

pub fn ndb_set(key: &str, value: Option<&str>) {
    with(|s| {
        let c = s.caller();
        let ndb = &mut s.session_mut(c).ndb;
        match value {
            Some(v) => ndb.insert(key.into(), v.into()),
            None => ndb.remove(key),
        };
    })
}

pub fn session_data(session: Sessid) -> Result<String, HostError> {
    with(|s| {
        let caller = s.caller_account();
        let target =
            s.live(session).ok_or_else(|| HostError::Refused("No such session.".into()))?;
        if target.info.account != caller && !s.superuser(caller) && s.caller() != session {
            return Err(HostError::Refused("You may only inspect your own sessions.".into()));
        }
        let i = &target.info;
        Ok(serde_json::json!({
            "sessid": i.sessid,
            "address": i.address,
            "protocol_key": i.protocol_key,
            "logged_in": i.logged_in,
            "uid": i.account,
            "uname": i.account_name,
            "puid": i.puppet,
            "ndb": target.ndb,
        })
        .to_string())
    })
}

pub fn disconnect(session: Sessid, reason: &str) {
    let _ = disconnect_session(session, reason);
}

pub fn disconnect_session(session: Sessid, reason: &str) -> Result<(), HostError> {
    with(|s| {
        let caller = s.current.and_then(|c| s.sessions.get(&c)).map(|d| d.info.clone());
        let target = s
            .live(session)
            .ok_or_else(|| HostError::Refused("No such session.".into()))?
            .info
            .account;
        let allowed = caller
            .as_ref()
            .is_some_and(|c| c.sessid == session || (c.account.is_some() && c.account == target))
            || s.superuser(caller.and_then(|c| c.account));
        if !allowed {
            return Err(HostError::Refused("You may only disconnect your own sessions.".into()));
        }
        s.close(session, reason);
        Ok(())
    })
}

pub fn disconnect_all(reason: &str) -> Result<(), HostError> {
    with(|s| {
        if !s.superuser(s.caller_account()) {
            return Err(HostError::Denied("Only a superuser may disconnect everyone.".into()));
        }
        let reason = if reason.is_empty() { "You have been disconnected." } else { reason };
        let all: Vec<Sessid> = s.infos(|_| true).iter().map(|i| i.sessid).collect();
        for sid in all {
            s.close(sid, reason);
        }
        Ok(())
    })
}

pub fn disconnect_duplicates(reason: &str) -> u32 {
    with(|s| {
        let c = s.caller();
        let Some(account) = s.session(c).info.account else { return 0 };
        let reason =
            if reason.is_empty() { "Logged in from elsewhere. Disconnecting." } else { reason };
        let others: Vec<Sessid> = s
            .infos(|i| i.account == Some(account) && i.sessid != c)
            .iter()
            .map(|i| i.sessid)
            .collect();
        for sid in &others {
            s.close(*sid, reason);
        }
        others.len() as u32
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_player_disconnects_only_their_own_sessions() {
        let host = TestHost::new();
        let room = host.limbo();
        let (a, b) = (host.player("Anna", room), host.player("Bob", room));
        host.as_session(a, || {
            let others = HostError::Refused("You may only disconnect your own sessions.".into());
            assert_eq!(disconnect_session(b, "bye"), Err(others));
            disconnect_session(a, "bye").unwrap();
        });
        assert_eq!(host.disconnected(a).as_deref(), Some("bye"));
        assert_eq!(host.disconnected(b), None);
        assert!(host.session_info(a).is_none());
        host.as_session(b, || msg_session(a, "after"));
        assert!(host.output(a).is_empty(), "a closed session is sent nothing");
    }
}
