//! The game's cmdset providers and permissions: cmdset stacks on every provider (session,
//! account, object), the modules a session gets from them for the merge, and account
//! permissions for locks.

use crate::cmd::{permission_name, Carrier, LockCaller};
use crate::link::Sessid;
use crate::shared::ids::{AccountId, ObjectId};
use crate::store::Holder;

use super::Game;
use crate::wasm::bindings::Answer;

/// A cmdset holder as the host API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmdsetHolder {
    /// A connected session.
    Session(Sessid),
    /// An account or an object in the world store.
    World(Holder),
}

impl Game {
    /// Who a session is for lock checks: superuser flag and account permission.
    pub fn lock_caller(&self, sessid: Sessid) -> (bool, Option<String>) {
        let account =
            self.sessions.get(sessid).and_then(|s| s.data.uid).and_then(|u| self.world.account(u));
        (account.is_some_and(|a| a.is_superuser), account.map(|a| a.permission.clone()))
    }

    /// The cmdset modules a session has from its providers, in Evennia's order, as
    /// (module, is-an-object's) pairs: session (config, persistent, temporary), account (config,
    /// stack), puppet (config, stack) and, unless `skip_objs`, the objects near the puppet
    /// (things in its location, in its inventory, the location itself; exits only unless
    /// `skip_exits`). Characters other than the puppet do not lend their cmdsets (Evennia's
    /// `call:false()` on characters).
    pub fn provider_modules(&self, sessid: Sessid) -> Option<ProviderModules> {
        let s = self.sessions.get(sessid)?;
        let cfg = &self.cfg;
        let mut own: Vec<String> = Vec::new();
        if !s.data.logged_in {
            own.extend(cfg.cmdset_unloggedin.iter().cloned());
            own.extend(s.data.cmdset_storage.iter().cloned());
            own.extend(s.temp_cmdsets.iter().cloned());
            return Some(ProviderModules { own, ..Default::default() });
        }
        own.extend(cfg.cmdset_session.iter().cloned());
        own.extend(s.data.cmdset_storage.iter().cloned());
        own.extend(s.temp_cmdsets.iter().cloned());
        own.extend(cfg.cmdset_account.iter().cloned());
        if let Some(uid) = s.data.uid {
            own.extend(
                self.world.cmdset_stack(Holder::Account(uid)).iter().map(|e| e.module.clone()),
            );
        }
        let (mut objects, mut exits, mut exit_objects) = (vec![], vec![], vec![]);
        if let Some(puid) = s.data.puid {
            own.extend(cfg.cmdset_character.iter().cloned());
            own.extend(
                self.world.cmdset_stack(Holder::Object(puid)).iter().map(|e| e.module.clone()),
            );
            let Some(puppet) = self.world.object(puid) else {
                return Some(ProviderModules { own, objects, exits, exit_objects });
            };
            let location = puppet.location.and_then(|l| self.world.object(l));
            let near = location
                .iter()
                .flat_map(|l| l.contents.iter())
                .filter(|&&id| id != puid)
                .chain(puppet.contents.iter())
                .chain(location.map(|l| &l.id));
            for &id in near {
                let Some(obj) = self.world.object(id) else { continue };
                let is_exit = obj.kind == "exit";
                if is_exit && obj.location == puppet.location {
                    let mut aliases = obj
                        .attrs
                        .get(crate::store::EXIT_ALIASES_ATTR)
                        .map(|a| exit_aliases(a))
                        .unwrap_or_default();
                    // Its object aliases (`alias-add`) name its command too.
                    aliases.extend(self.world.aliases(id).iter().cloned());
                    exit_objects.push(ExitBrief { id, name: obj.key.clone(), aliases });
                }
                if obj.kind == "character" || !self.world.carries_cmdsets(id) {
                    continue;
                }
                let carrier = Carrier { id, name: obj.key.clone(), exit: false };
                let stack = self
                    .world
                    .cmdset_stack(Holder::Object(id))
                    .iter()
                    .map(|e| (e.module.clone(), carrier.clone()));
                if is_exit {
                    exits.extend(stack);
                } else {
                    objects.extend(stack);
                }
            }
        }
        Some(ProviderModules { own, objects, exits, exit_objects })
    }

    /// A holder's stack, bottom first.
    pub fn cmdset_list(&self, holder: CmdsetHolder) -> Vec<String> {
        match holder {
            CmdsetHolder::Session(id) => self
                .sessions
                .get(id)
                .map(|s| s.data.cmdset_storage.iter().chain(&s.temp_cmdsets).cloned().collect())
                .unwrap_or_default(),
            CmdsetHolder::World(h) => {
                self.world.cmdset_stack(h).iter().map(|e| e.module.clone()).collect()
            }
        }
    }

    /// Put a module's cmdset on a holder's stack (the module need not be loaded yet: a world
    /// built at load time may name a module that loads after it; an unloaded module's cmdset is
    /// skipped when merging).
    pub fn cmdset_add(
        &mut self,
        holder: CmdsetHolder,
        module: &str,
        persistent: bool,
    ) -> Answer<()> {
        if module.trim().is_empty() {
            return Err("The module name is empty.".into());
        }
        match holder {
            CmdsetHolder::Session(id) => {
                let s = self.sessions.get_mut(id).ok_or_else(|| format!("No session {id}."))?;
                s.data.cmdset_storage.retain(|m| m != module);
                s.temp_cmdsets.retain(|m| m != module);
                if persistent {
                    s.data.cmdset_storage.push(module.to_string());
                } else {
                    s.temp_cmdsets.push(module.to_string());
                }
                self.touch(id);
                self.world.bump_cmdset_generation();
                Ok(())
            }
            // A database failure is no refusal: `?` sorts it into the call's end.
            CmdsetHolder::World(h) => {
                self.world.cmdset_add(h, module, persistent)?;
                Ok(())
            }
        }
    }

    /// Take a module's cmdset off a holder's stack.
    pub fn cmdset_remove(&mut self, holder: CmdsetHolder, module: &str) -> Answer<()> {
        let removed = match holder {
            CmdsetHolder::Session(id) => {
                let s = self.sessions.get_mut(id).ok_or_else(|| format!("No session {id}."))?;
                let before = s.data.cmdset_storage.len() + s.temp_cmdsets.len();
                s.data.cmdset_storage.retain(|m| m != module);
                s.temp_cmdsets.retain(|m| m != module);
                let removed = s.data.cmdset_storage.len() + s.temp_cmdsets.len() != before;
                if removed {
                    self.touch(id);
                    self.world.bump_cmdset_generation();
                }
                removed
            }
            CmdsetHolder::World(h) => self.world.cmdset_remove(h, module)?,
        };
        if removed {
            Ok(())
        } else {
            Err(format!("There is no cmdset from '{module}' there.").into())
        }
    }

    /// Set an account's permission on behalf of `caller` (a superuser or a Developer).
    pub fn set_account_permission(
        &mut self,
        caller: Sessid,
        account: AccountId,
        perm: &str,
    ) -> Answer<()> {
        let (superuser, held) = self.lock_caller(caller);
        let developer = crate::cmd::CmdLock::parse("cmd:perm(Developer)")
            .allows(&LockCaller { superuser, permission: held.as_deref() });
        if !developer {
            return Err("You don't have permission to change permissions.".into());
        }
        let name = permission_name(perm).ok_or_else(|| {
            format!(
                "'{perm}' is not a permission (one of {}).",
                crate::cmd::PERMISSION_HIERARCHY.join(", ")
            )
        })?;
        Ok(self.world.set_account_permission(account, name)?)
    }
}

/// A session's cmdset modules by provider group (see [`Game::provider_modules`]).
#[derive(Debug, Default, Clone)]
pub struct ProviderModules {
    /// Session, account and puppet sets, in order.
    pub own: Vec<String>,
    /// Sets of objects near the puppet, with the object lending each (dropped when the merge
    /// says `no-objs`).
    pub objects: Vec<(String, Carrier)>,
    /// Sets carried by exits in the location (dropped when the merge says `no-exits`).
    pub exits: Vec<(String, Carrier)>,
    /// The exits in the puppet's location: each gets a generated command unless the merge says
    /// `no-exits` (Evennia's ExitCmdSet).
    pub exit_objects: Vec<ExitBrief>,
}

/// An exit as its generated command needs it.
#[derive(Debug, Clone)]
pub struct ExitBrief {
    /// The exit's id.
    pub id: ObjectId,
    /// Its name: the command's key.
    pub name: String,
    /// The names in its `aliases` attribute.
    pub aliases: Vec<String>,
}

/// Aliases an exit's command takes at most from its `aliases` attribute.
const MAX_EXIT_ALIASES: usize = 32;

/// The `;`-separated names of an exit's `aliases` attribute (blanks dropped, at most
/// [`MAX_EXIT_ALIASES`]).
fn exit_aliases(attr: &str) -> Vec<String> {
    attr.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .take(MAX_EXIT_ALIASES)
        .map(str::to_owned)
        .collect()
}
