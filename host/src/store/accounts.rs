//! Accounts: name (unique without case), password hash, superuser flag, Evennia permission and
//! string attributes, in memory and in the `accounts` / `attributes` tables, undoable.

use std::collections::HashMap;

use rusqlite::params;

use super::{write_attr, StoreError, Undo, WorldStore};
use crate::shared::ids::{AccountId, ObjectId};

/// A player account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Database id.
    pub id: AccountId,
    /// Name as created (lookups ignore case).
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// May reload the server and use admin commands.
    pub is_superuser: bool,
    /// Evennia permission (one of [`crate::cmd::PERMISSION_HIERARCHY`]), for `cmd:perm(...)` locks.
    pub permission: String,
    /// Persistent attributes.
    pub attrs: HashMap<String, String>,
}

/// Attribute naming the account that owns a character.
pub const OWNER_ATTR: &str = "owner_account";

impl WorldStore {
    /// Look an account up by name, ignoring case.
    pub fn account_by_name(&self, name: &str) -> Option<&Account> {
        self.account_by_name.get(&name.to_lowercase()).and_then(|id| self.accounts.get(id))
    }

    /// An account by id.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(&id)
    }

    /// Number of accounts (the first one created becomes the superuser).
    pub fn account_total(&self) -> usize {
        self.accounts.len()
    }

    /// Create an account with an already computed password hash.
    pub fn create_account(
        &mut self,
        name: &str,
        password_hash: &str,
        is_superuser: bool,
        now_ms: u64,
    ) -> Result<AccountId, StoreError> {
        // Evennia: the superuser is a Developer, everyone else starts as a Player.
        let permission = if is_superuser { "Developer" } else { "Player" };
        self.db.execute(
            "INSERT INTO accounts (name, password_hash, is_superuser, created_ms, permission) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, password_hash, is_superuser, now_ms as i64, permission],
        )?;
        let id = AccountId::new(self.db.last_insert_rowid() as u64);
        self.record(Undo::AccountCreated(id));
        self.account_by_name.insert(name.to_lowercase(), id);
        self.accounts.insert(
            id,
            Account {
                id,
                name: name.into(),
                password_hash: password_hash.into(),
                is_superuser,
                permission: permission.into(),
                attrs: HashMap::new(),
            },
        );
        Ok(id)
    }

    /// Set (Some) or delete (None) an account attribute.
    pub fn set_account_attr(
        &mut self,
        id: AccountId,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        let acct = self.accounts.get_mut(&id).ok_or(StoreError::NoAccount(id))?;
        write_attr(&self.db, "a", id.get(), key, value)?;
        let old = match value {
            Some(v) => acct.attrs.insert(key.into(), v.into()),
            None => acct.attrs.remove(key),
        };
        self.record(Undo::AccountAttr { id, key: key.into(), old });
        Ok(())
    }

    /// Replace an account's password hash.
    pub fn set_account_password(
        &mut self,
        id: AccountId,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let acct = self.accounts.get_mut(&id).ok_or(StoreError::NoAccount(id))?;
        self.db.execute(
            "UPDATE accounts SET password_hash = ?1 WHERE id = ?2",
            params![password_hash, id],
        )?;
        let old = std::mem::replace(&mut acct.password_hash, password_hash.into());
        self.record(Undo::AccountPassword { id, old });
        Ok(())
    }

    /// Characters owned by an account, by id order.
    pub fn account_characters(&self, account: AccountId) -> Vec<ObjectId> {
        let owner = account.to_string();
        let mut ids: Vec<ObjectId> = self
            .objects
            .values()
            .filter(|o| o.attrs.get(OWNER_ATTR) == Some(&owner))
            .map(|o| o.id)
            .collect();
        ids.sort_unstable();
        ids
    }
}
