//! What the link carries about a session: its sync data ([`SessionData`], mirrored by the
//! portal), its protocol flags in their compact form, and its command counters, which travel on
//! their own after a command.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Sessid;
use crate::shared::ids::{AccountId, ObjectId};

/// Everything about a session that must survive a server restart (Evennia's sync data, plus the
/// session's ndb, which Evennia loses). The portal keeps a mirror of this for every session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    /// Portal-assigned id, never reused while the portal runs.
    pub sessid: Sessid,
    /// Client IP address.
    pub address: String,
    /// "websocket".
    pub protocol_key: String,
    /// ENCODING, SCREENREADER, NOCOLOR, CLIENTNAME, ... (Evennia's protocol_flags).
    pub protocol_flags: ProtocolFlags,
    /// Browser-session id from the websocket query string.
    pub csessid: Option<String>,
    /// Whether the session is logged in to an account.
    pub logged_in: bool,
    /// Account id when logged in.
    pub uid: Option<AccountId>,
    /// Account name when logged in.
    pub uname: Option<String>,
    /// Puppeted object id.
    pub puid: Option<ObjectId>,
    /// Connection time, reset at login (unix ms).
    pub conn_time: u64,
    /// Last input of any kind, keepalives included (unix ms).
    pub cmd_last: u64,
    /// Last visible input (unix ms).
    pub cmd_last_visible: u64,
    /// Commands entered, keepalives excluded.
    pub cmd_total: u64,
    /// Session-level cmdset modules added at run time (persist across server restarts).
    pub cmdset_storage: Vec<String>,
    /// Per-session scratch data.
    pub ndb: BTreeMap<String, String>,
}

/// A session's protocol flags (Evennia's `protocol_flags`): a small map from flag name to a JSON
/// value, kept as one sorted vector. Every session holds a dozen of them in both processes, and
/// a vector of exactly that many entries takes half the memory of a B-tree's nodes. On the link
/// it is a map, as a `BTreeMap` was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtocolFlags(Vec<(Box<str>, Value)>);

impl ProtocolFlags {
    /// Where the flag is (`Ok`), or where it would go (`Err`).
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(name))
    }

    /// The flag's value, if set.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// Set a flag, replacing its value if it was set.
    pub fn insert(&mut self, name: impl Into<String> + AsRef<str>, value: Value) {
        match self.find(name.as_ref()) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => {
                // Flags are set a few at a time: room for exactly one more, not a doubling.
                self.0.reserve_exact(1);
                self.0.insert(i, (name.into().into_boxed_str(), value));
            }
        }
    }

    /// The flags in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
}

impl<K: Into<String> + AsRef<str>> Extend<(K, Value)> for ProtocolFlags {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Into<String> + AsRef<str>> FromIterator<(K, Value)> for ProtocolFlags {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut flags = ProtocolFlags::default();
        flags.extend(iter);
        flags
    }
}

impl Serialize for ProtocolFlags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (&**k, v)))
    }
}

impl<'de> Deserialize<'de> for ProtocolFlags {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagsVisitor;
        impl<'de> serde::de::Visitor<'de> for FlagsVisitor {
            type Value = ProtocolFlags;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of protocol flags")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ProtocolFlags, A::Error> {
                // The size hint is the sender's claim: capped, so a hostile frame cannot make
                // it allocate ahead of the entries it really carries.
                let mut entries: Vec<(Box<str>, Value)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    entries.push((k.into_boxed_str(), v));
                }
                // Sorted, and the last of a repeated name wins, as inserting into a map would.
                entries.reverse();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                entries.dedup_by(|later, first| later.0 == first.0);
                entries.shrink_to_fit();
                Ok(ProtocolFlags(entries))
            }
        }
        deserializer.deserialize_map(FlagsVisitor)
    }
}
/// A session's command counters (see [`SessionData`]), sent on their own after a command that
/// changed nothing else of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCounters {
    /// The session they belong to.
    pub sessid: Sessid,
    /// As [`SessionData::cmd_last`].
    pub cmd_last: u64,
    /// As [`SessionData::cmd_last_visible`].
    pub cmd_last_visible: u64,
    /// As [`SessionData::cmd_total`].
    pub cmd_total: u64,
}

impl SessionCounters {
    /// The counters of a session's data.
    pub fn of(d: &SessionData) -> SessionCounters {
        SessionCounters {
            sessid: d.sessid,
            cmd_last: d.cmd_last,
            cmd_last_visible: d.cmd_last_visible,
            cmd_total: d.cmd_total,
        }
    }

    /// Set them in a session's data.
    pub fn apply_to(self, d: &mut SessionData) {
        d.cmd_last = self.cmd_last;
        d.cmd_last_visible = self.cmd_last_visible;
        d.cmd_total = self.cmd_total;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;

    #[test]
    fn protocol_flags_are_a_map_on_the_wire_sorted_with_the_last_of_a_repeated_name_winning() {
        let mut flags = ProtocolFlags::default();
        flags.insert("NOCOLOR", Value::Bool(false));
        flags.insert("ANSI", Value::Bool(true));
        flags.insert("NOCOLOR", Value::Bool(true));
        assert_eq!(flags.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["ANSI", "NOCOLOR"]);
        assert_eq!(flags.get("NOCOLOR"), Some(&Value::Bool(true)));
        assert_eq!(flags.get("XTERM256"), None);
        // Encoded exactly as the map it replaced (frames already in a server's outbox decode).
        let as_map: BTreeMap<String, Value> =
            flags.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(rmp_serde::to_vec(&flags).unwrap(), rmp_serde::to_vec(&as_map).unwrap());
        // A map naming a flag twice (hand-made: maps cannot) keeps the later value.
        let mut twice = vec![0x83];
        for (k, v) in [("B", true), ("A", true), ("B", false)] {
            twice.extend(rmp_serde::to_vec(k).unwrap());
            twice.extend(rmp_serde::to_vec(&v).unwrap());
        }
        let back: ProtocolFlags = rmp_serde::from_slice(&twice).unwrap();
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            [("A", &Value::Bool(true)), ("B", &Value::Bool(false))]
        );
        // A map header claiming four billion entries allocates for at most a handful.
        assert!(rmp_serde::from_slice::<ProtocolFlags>(&[0xdf, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn session_data_with_json_flags_round_trips() {
        let mut d = SessionData {
            sessid: Sessid::new(4),
            address: "127.0.0.1".into(),
            ..Default::default()
        };
        d.protocol_flags.insert("SCREENWIDTH", serde_json::json!({"0": 80}));
        d.protocol_flags.insert("NOCOLOR", Value::Bool(true));
        d.ndb.insert("k".into(), "v".into());
        let bytes = rmp_serde::to_vec(&d).unwrap();
        let back: SessionData = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn session_data_ids_travel_as_the_bare_numbers_they_replaced() {
        let d = SessionData {
            sessid: Sessid::new(4),
            logged_in: true,
            uid: Some(AccountId::new(12)),
            puid: Some(ObjectId::new(7)),
            ..Default::default()
        };
        let bytes = rmp_serde::to_vec(&d).unwrap();
        // The same fields as plain numbers, in the same order (an older peer's or a stored
        // frame's encoding): byte for byte what the typed ids write.
        let plain = (4u64, "", "", BTreeMap::<String, Value>::new(), None::<String>, true);
        let mut want = rmp_serde::to_vec(&plain).unwrap();
        want[0] = 0x90 | 15; // the struct's 15 fields, not the tuple's 6
        want.extend(rmp_serde::to_vec(&Some(12u64)).unwrap());
        want.extend(rmp_serde::to_vec(&None::<String>).unwrap());
        want.extend(rmp_serde::to_vec(&Some(7u64)).unwrap());
        assert!(bytes.starts_with(&want), "{bytes:?} / {want:?}");
        let back: SessionData = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!((back.uid, back.puid), (Some(AccountId::new(12)), Some(ObjectId::new(7))));
    }
}
