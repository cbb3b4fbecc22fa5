//! Typed ids, named as the SDK and the WIT name them (`ObjectId`, `AccountId`, `Sessid`): each a
//! `u64` in a type of its own, so that an object's id cannot be passed where an account's or a
//! session's is meant, and the mix-up is a compile error instead of a lookup that finds nothing
//! (or the wrong thing).
//!
//! They change nothing outside the process: each is serde-transparent (on the link, in a stored
//! outbox frame and in JSON it is the bare integer it replaces) and binds to SQLite as the
//! INTEGER the store writes today (`id as i64`), reading back as a `u64` column does. `get()` and
//! `From` convert at the WIT boundary, where ids are plain `u64`s.
//!
//! ```compile_fail
//! use mudhost::shared::ids::{AccountId, ObjectId};
//! fn owner(_: AccountId) {}
//! owner(ObjectId::new(7)); // an object's id is not an account's
//! ```

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

/// Makes one id type: the newtype, its conversions, text form and SQLite binding.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(u64);

        impl $name {
            /// The id whose number is `raw`.
            pub const fn new(raw: u64) -> Self {
                $name(raw)
            }

            /// The bare number, where ids are plain `u64`s (the WIT, the in-flight file).
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(raw: u64) -> Self {
                $name(raw)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        /// The bare number, as a `u64` prints: ids are stored in attributes as this text.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        /// Parses the text [`Display`](fmt::Display) writes (an attribute's value).
        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        /// Written as the store writes an id today: the same bits as an `i64`.
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.0 as i64))
            }
        }

        /// Read as a `u64` column is (a negative value is out of range).
        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                u64::column_result(value).map($name)
            }
        }
    };
}

id_type! {
    /// A world object's id (room, character, exit, thing): its row in the `objects` table.
    ObjectId
}

id_type! {
    /// An account's id: its row in the `accounts` table.
    AccountId
}

id_type! {
    /// A session's id, assigned by the portal from 1 and never reused while it runs.
    Sessid
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rusqlite::{params, Connection};
    use serde::{Deserialize, Serialize};

    use super::*;

    #[test]
    fn an_id_is_the_bare_integer_on_the_link_and_in_json() {
        for raw in [0, 7, 300, u64::from(u32::MAX) + 1, u64::MAX] {
            assert_eq!(
                rmp_serde::to_vec(&ObjectId::new(raw)).unwrap(),
                rmp_serde::to_vec(&raw).unwrap()
            );
            assert_eq!(
                rmp_serde::to_vec(&Sessid::new(raw)).unwrap(),
                rmp_serde::to_vec(&raw).unwrap()
            );
            assert_eq!(serde_json::to_string(&AccountId::new(raw)).unwrap(), raw.to_string());
        }
        // A message written with plain numbers (a frame already in an outbox) reads typed, and
        // back: the wire does not change.
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Before {
            sessid: u64,
            uid: Option<u64>,
            outputs: Vec<(u64, String)>,
        }
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct After {
            sessid: Sessid,
            uid: Option<AccountId>,
            outputs: Vec<(Sessid, String)>,
        }
        let before = Before { sessid: 4, uid: Some(12), outputs: vec![(4, "hi".into())] };
        let bytes = rmp_serde::to_vec(&before).unwrap();
        let after: After = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(
            after,
            After {
                sessid: Sessid::new(4),
                uid: Some(AccountId::new(12)),
                outputs: vec![(Sessid::new(4), "hi".into())]
            }
        );
        assert_eq!(rmp_serde::to_vec(&after).unwrap(), bytes);
        // As map keys too (JSON objects keyed by id).
        let map: BTreeMap<ObjectId, u8> = [(ObjectId::new(3), 1)].into();
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"3":1}"#);
    }

    #[test]
    fn an_id_is_stored_as_the_integer_the_store_writes_and_read_back_as_a_u64_column() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE t (id INTEGER)").unwrap();
        db.execute("INSERT INTO t (id) VALUES (?1)", params![ObjectId::new(42)]).unwrap();
        db.execute("INSERT INTO t (id) VALUES (?1)", params![42u64 as i64]).unwrap();
        let raw: Vec<i64> = db
            .prepare("SELECT id FROM t")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(raw, [42, 42], "the same INTEGER as before");
        let typed: ObjectId = db.query_row("SELECT id FROM t LIMIT 1", [], |r| r.get(0)).unwrap();
        assert_eq!(typed, ObjectId::new(42));
        // A row that a u64 column would refuse is refused typed, not wrapped around.
        let negative: rusqlite::Result<AccountId> = db.query_row("SELECT -1", [], |r| r.get(0));
        let as_u64: rusqlite::Result<u64> = db.query_row("SELECT -1", [], |r| r.get(0));
        assert!(
            matches!(
                (&negative, &as_u64),
                (
                    Err(rusqlite::Error::IntegralValueOutOfRange(0, -1)),
                    Err(rusqlite::Error::IntegralValueOutOfRange(0, -1))
                )
            ),
            "{negative:?} / {as_u64:?}"
        );
        // A NULL location stays None.
        let none: Option<ObjectId> = db.query_row("SELECT NULL", [], |r| r.get(0)).unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn an_id_prints_and_parses_as_its_number() {
        // Ids are kept in attributes as text (`owner_account`, `_last_puppet`).
        assert_eq!(AccountId::new(17).to_string(), 17u64.to_string());
        assert_eq!(format!("#{}", ObjectId::new(5)), "#5");
        assert_eq!("17".parse::<AccountId>(), Ok(AccountId::new(17)));
        assert!("#17".parse::<AccountId>().is_err());
        assert!("-1".parse::<ObjectId>().is_err());
        assert_eq!(u64::from(Sessid::from(9)), 9);
        assert_eq!(Sessid::new(9).get(), 9);
        // Ordered as their numbers are (ids sort in creation order).
        assert!(ObjectId::new(2) < ObjectId::new(10));
        assert_eq!(Sessid::default().get(), 0);
    }
}
