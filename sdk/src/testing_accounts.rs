//! The test host's accounts and characters: accounts and superusers a test makes, characters
//! owned through their `owner_account` attribute, the multisession policy; the fakes of the
//! account, password, permission, character and puppet imports, with the host's refusal texts.

use std::collections::BTreeMap;

use super::sessions::sessions_from_puppet;
use super::{with, AccountData, Sent, TestHost};
use crate::bindings::mudhost::game::host::MultisessionPolicy;
use crate::{Account, AccountId, HostError, Obj, ObjectId};

/// Evennia's permission hierarchy, lowest first.
pub(super) const PERMISSIONS: [&str; 5] = ["Player", "Helper", "Builder", "Admin", "Developer"];

impl TestHost {
    /// An account (password `password`; the first one made is not special: see
    /// [`TestHost::superuser`]).
    pub fn account(&self, name: &str) -> Account {
        self.make_account(name, false)
    }

    /// A superuser account.
    pub fn superuser(&self, name: &str) -> Account {
        self.make_account(name, true)
    }

    fn make_account(&self, name: &str, superuser: bool) -> Account {
        Account(with(|s| {
            let id = s.next_id;
            s.next_id += 1;
            let permission = if superuser { "Developer" } else { "Player" };
            let data = AccountData {
                name: name.into(),
                password: "password".into(),
                superuser,
                permission: permission.into(),
                attrs: BTreeMap::new(),
            };
            s.accounts.insert(id, data);
            id
        }))
    }

    /// A character owned by `account` in `location`.
    pub fn character(&self, account: Account, key: &str, location: Option<Obj>) -> Obj {
        let ch = self.object(key, "character", location);
        self.set_attr(ch, "owner_account", &account.0.to_string());
        ch
    }

    /// The multisession policy `get-multisession-policy` answers.
    pub fn set_policy(&self, policy: MultisessionPolicy) {
        with(|s| s.policy = policy);
    }
}

pub fn create_account(name: &str, password: &str) -> Result<(), HostError> {
    let name = name.trim();
    if password.chars().count() < 8 {
        return Err(HostError::Refused(
            "This password is too short. It must contain at least 8 characters.".into(),
        ));
    }
    if account_search(name).is_some() {
        return Err(HostError::Refused(format!(
            "Sorry, there is already an account with the name '{name}'."
        )));
    }
    with(|s| {
        let id = s.next_id;
        s.next_id += 1;
        let data = AccountData {
            name: name.into(),
            password: password.into(),
            superuser: false,
            permission: "Player".into(),
            attrs: BTreeMap::new(),
        };
        s.accounts.insert(id, data);
        let c = s.caller();
        let text = format!("A new account '{name}' was created. Welcome!\n\nYou can now log with the command 'connect {name} <your password>'.");
        s.send(c, Sent::Text(text));
    });
    Ok(())
}

pub fn login(name: &str, password: &str) -> Result<(), HostError> {
    let found = account_search(name)
        .filter(|id| with(|s| s.accounts.get(id).is_some_and(|a| a.password == password)));
    with(|s| {
        let c = s.caller();
        match found {
            Some(id) => {
                let name = s.accounts.get(&id).map(|a| a.name.clone());
                let info = &mut s.session_mut(c).info;
                info.logged_in = true;
                info.account = Some(id);
                info.account_name = name;
            }
            None => s.send(c, Sent::Text("|RUsername and/or password is incorrect.|n".into())),
        }
    });
    Ok(())
}

pub fn account_search(name: &str) -> Option<AccountId> {
    let name = name.trim();
    with(|s| s.accounts.iter().find(|(_, a)| a.name.eq_ignore_ascii_case(name)).map(|(id, _)| *id))
}

pub fn account_name(account: AccountId) -> Option<String> {
    with(|s| s.accounts.get(&account).map(|a| a.name.clone()))
}

pub fn account_characters(account: AccountId) -> Vec<ObjectId> {
    with(|s| s.characters(account))
}

pub fn account_is_superuser(account: AccountId) -> bool {
    with(|s| s.superuser(Some(account)))
}

pub fn account_attr_get(account: AccountId, key: &str) -> Option<String> {
    with(|s| s.accounts.get(&account).and_then(|a| a.attrs.get(key).cloned()))
}

pub fn account_attr_set(
    account: AccountId,
    key: &str,
    value: Option<&str>,
) -> Result<(), HostError> {
    with(|s| {
        let a = s
            .accounts
            .get_mut(&account)
            .ok_or_else(|| HostError::NotFound(format!("no account {account}")))?;
        match value {
            Some(v) => a.attrs.insert(key.into(), v.into()),
            None => a.attrs.remove(key),
        };
        Ok(())
    })
}

pub fn account_set_password(old: &str, new: &str) -> Result<(), HostError> {
    with(|s| {
        let c = s.caller();
        let account = s
            .caller_account()
            .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
        let a = s
            .accounts
            .get_mut(&account)
            .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
        let text = if a.password != old {
            "The specified old password isn't correct."
        } else if new.chars().count() < 8 {
            "This password is too short. It must contain at least 8 characters."
        } else {
            a.password = new.into();
            "Password changed."
        };
        s.send(c, Sent::Text(text.into()));
        Ok(())
    })
}

pub fn account_permission(account: AccountId) -> Option<String> {
    with(|s| s.accounts.get(&account).map(|a| a.permission.clone()))
}

pub fn account_set_permission(account: AccountId, permission: &str) -> Result<(), HostError> {
    with(|s| {
        let caller = s.caller_account();
        let developer = caller
            .and_then(|c| s.accounts.get(&c))
            .is_some_and(|a| a.superuser || a.permission == "Developer");
        if !developer {
            return Err(HostError::Refused("You are not allowed to change permissions.".into()));
        }
        let perm = PERMISSIONS
            .iter()
            .find(|p| p.eq_ignore_ascii_case(permission.trim()))
            .ok_or_else(|| {
                HostError::Refused(format!(
                    "No permission '{permission}' (one of {}).",
                    PERMISSIONS.join(", ")
                ))
            })?;
        let a = s
            .accounts
            .get_mut(&account)
            .ok_or_else(|| HostError::Refused("No such account.".into()))?;
        a.permission = (*perm).into();
        Ok(())
    })
}

pub fn get_multisession_policy() -> MultisessionPolicy {
    with(|s| s.policy)
}

pub fn character_create(key: &str, description: Option<&str>) -> Result<ObjectId, HostError> {
    with(|s| {
        let account = s
            .caller_account()
            .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(HostError::Refused("Usage: charcreate <charname> [= description]".into()));
        }
        let max = s.policy.max_nr_characters;
        if max > 0 && !s.superuser(Some(account)) && s.characters(account).len() >= max as usize {
            return Err(HostError::Refused(format!(
                "You may only have a maximum of {max} character{}.",
                if max == 1 { "" } else { "s" }
            )));
        }
        let taken =
            s.objects.values().any(|o| o.kind == "character" && o.key.eq_ignore_ascii_case(key));
        if taken {
            return Err(HostError::Refused(format!(
                "|rA character named '|w{key}|r' already exists.|n"
            )));
        }
        let id = s.create(key, "character", None);
        let o = s.objects.get_mut(&id).expect("just made");
        o.attrs.insert("owner_account".into(), account.to_string());
        if let Some(d) = description {
            o.attrs.insert("desc".into(), d.into());
        }
        Ok(id)
    })
}

pub fn character_delete(obj: ObjectId) -> Result<(), HostError> {
    let played = !sessions_from_puppet(obj).is_empty();
    with(|s| {
        let account = s
            .caller_account()
            .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
        if !s.characters(account).contains(&obj) {
            return Err(HostError::Refused("You have no such character to delete.".into()));
        }
        if played {
            return Err(HostError::Refused(
                "You cannot delete a character that is being played.".into(),
            ));
        }
        s.objects.remove(&obj);
        Ok(())
    })
}

pub fn puppet(obj: ObjectId) -> Result<(), HostError> {
    with(|s| {
        let c = s.caller();
        let account = s
            .session(c)
            .info
            .account
            .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
        let key = s
            .objects
            .get(&obj)
            .map(|o| o.key.clone())
            .ok_or_else(|| HostError::Refused("No such object.".into()))?;
        let own = s.characters(account).contains(&obj);
        if !own && !s.superuser(Some(account)) {
            return Err(HostError::Refused(format!(
                "You don't have permission to puppet '{key}'."
            )));
        }
        if s.objects.get(&obj).is_some_and(|o| o.location.is_none()) {
            let start = s.start_location;
            if let Some(o) = s.objects.get_mut(&obj) {
                o.location = Some(start);
            }
        }
        s.session_mut(c).info.puppet = Some(obj);
        s.msg_object(obj, &format!("\nYou become |c{key}|n.\n"));
        Ok(())
    })
}

pub fn unpuppet() -> Result<(), HostError> {
    with(|s| {
        let c = s.caller();
        s.session_mut(c)
            .info
            .puppet
            .take()
            .map(|_| ())
            .ok_or_else(|| HostError::Refused("You are already OOC.".into()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_made_and_logged_in_with_the_hosts_refusals_and_texts() {
        let host = TestHost::new();
        let s = host.session();
        host.as_session(s, || {
            let short = "This password is too short. It must contain at least 8 characters.";
            assert_eq!(create_account("Anna", "short"), Err(HostError::Refused(short.into())));
            create_account("Anna", "longenough").unwrap();
            let taken = "Sorry, there is already an account with the name 'anna'.";
            assert_eq!(create_account("anna", "longenough"), Err(HostError::Refused(taken.into())));
            login("Anna", "wrong").unwrap();
        });
        assert!(!host.session_info(s).unwrap().logged_in);
        assert!(host.output(s).iter().any(|t| t == "Username and/or password is incorrect."));
        host.as_session(s, || login("ANNA", "longenough").unwrap());
        assert_eq!(host.session_info(s).unwrap().account_name.as_deref(), Some("Anna"));
    }

    #[test]
    fn a_second_character_is_refused_under_the_default_policy() {
        let host = TestHost::new();
        let s = host.session();
        host.login(s, host.account("Bob"));
        host.as_session(s, || {
            character_create("Bob", None).unwrap();
            let max = "You may only have a maximum of 1 character.";
            assert_eq!(character_create("Rob", None), Err(HostError::Refused(max.into())));
        });
    }
}
