//! The command handler: collect a session's cmdsets from its providers (session, account,
//! puppet, and the objects near the puppet), merge them (cached per session until a provider or
//! a module changes), parse the line, and run the matched command in its module.

use crate::shared::ids::{AccountId, ObjectId};
use std::collections::HashMap;
use std::sync::Arc;

use crate::cmd::parser::{self, ParseOutcome};
use crate::cmd::{Carrier, CmdSet, CommandDef, LockCaller, CMD_EXIT};
use crate::link::Sessid;
use crate::server::imports::convert::session_info;
use crate::wasm::bindings::types::Invocation;

use super::GameLoop;

/// Priority of the exits' generated commands (Evennia's ExitCmdSet: above every default set).
const EXIT_CMDSET_PRIORITY: i32 = 101;

/// A cmdset lent by an object near the caller: its commands name the object, and (as Evennia
/// merges objects' sets) `duplicates` is on unless the set says otherwise, so two objects'
/// same-named commands stay apart (a multimatch, `look-2`).
fn lent_cmdset(set: &CmdSet, carrier: &Carrier) -> CmdSet {
    CmdSet {
        duplicates: set.duplicates.or(Some(true)),
        commands: set.commands.iter().map(|c| Arc::new(c.lent_by(carrier.clone()))).collect(),
        ..set.clone()
    }
}

/// The sets objects lend (one per module and carrier) and the exits' generated sets (one per
/// room and traversal module), built once and shared by every session near them, so sessions in
/// one room merge to one shared set (`CmdCache::merged` caches by the sets' identity). Emptied
/// whenever the world's cmdsets or the modules change (names, exits and stacks may have).
#[derive(Default)]
pub struct LentSets {
    generation: (u64, u64),
    sets: HashMap<(LentBy, Arc<str>), Arc<CmdSet>>,
}

/// What a shared lent set belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LentBy {
    /// The set an object (thing, room or exit) lends, by its id.
    Object(ObjectId),
    /// The generated commands of the exits in a room, by the room's id.
    Exits(Option<ObjectId>),
}

/// Entries kept before the shared lent sets are dropped and rebuilt as needed.
const LENT_SETS_MAX: usize = 4096;

impl LentSets {
    /// The shared set for `by` and `module`, made by `make` if missing.
    fn get(
        &mut self,
        generation: (u64, u64),
        by: LentBy,
        module: &Arc<str>,
        make: impl FnOnce() -> CmdSet,
    ) -> Arc<CmdSet> {
        if self.generation != generation || self.sets.len() > LENT_SETS_MAX {
            self.sets.clear();
            self.generation = generation;
        }
        self.sets.entry((by, module.clone())).or_insert_with(|| Arc::new(make())).clone()
    }
}

/// What a player sees when a guest command fails (Evennia's text).
pub const UNTRAPPED_ERROR: &str = "An untrapped error occurred.";

/// What a session's merged cmdset was computed from: while none of it changes, the merge is
/// reused, so the cost of a command does not depend on how many cmdsets are around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeKey {
    /// [`crate::store::WorldStore::cmdset_generation`]: any provider stack changed, or a carrier
    /// moved.
    world: u64,
    /// [`crate::wasm::PluginRegistry::generation`]: a module was (re)loaded or unloaded.
    plugins: u64,
    logged_in: bool,
    account: Option<AccountId>,
    puppet: Option<ObjectId>,
    /// The puppet's location: moving changes which objects lend their cmdsets.
    location: Option<ObjectId>,
}

/// Most stacks whose merge is kept before the cache is emptied and refilled as needed.
const MERGED_MAX: usize = 1000;

/// The command handler's caches: merged cmdsets by the identity of the sets they merge, each
/// session's merged cmdset with what it was computed from, and the sets objects lend.
#[derive(Default)]
pub struct CmdCache {
    /// Merges by the fingerprint of their stack (`cmd::merge::fingerprint`), with the stack.
    merged: HashMap<u64, (Vec<Arc<CmdSet>>, Arc<CmdSet>)>,
    /// The module registry's generation the merges were made under.
    merged_generation: u64,
    /// Each session's merged cmdset and what it was computed from.
    sessions: HashMap<Sessid, (MergeKey, Arc<CmdSet>)>,
    /// Sets lent by objects and the exits' generated sets, shared by every session near them.
    lent: LentSets,
}

impl CmdCache {
    /// The merged cmdset for a stack of sets, cached by the sets' identity until modules change
    /// (`generation`: the module registry's).
    pub fn merged(&mut self, generation: u64, stack: Vec<Arc<CmdSet>>) -> Arc<CmdSet> {
        if self.merged_generation != generation {
            self.merged.clear();
            self.merged_generation = generation;
        }
        let key = crate::cmd::merge::fingerprint(&stack);
        if let Some((sets, merged)) = self.merged.get(&key) {
            if sets.len() == stack.len() && sets.iter().zip(&stack).all(|(a, b)| Arc::ptr_eq(a, b))
            {
                return merged.clone();
            }
        }
        let merged = Arc::new(crate::cmd::merge::merge_stack(&stack));
        if self.merged.len() > MERGED_MAX {
            self.merged.clear();
        }
        self.merged.insert(key, (stack, merged.clone()));
        merged
    }
}

impl GameLoop {
    fn merge_key(&mut self, sessid: Sessid) -> Option<MergeKey> {
        let plugins = self.plugins.generation();
        let game = self.game();
        let s = game.sessions.get(sessid)?;
        let puppet = s.data.puid;
        Some(MergeKey {
            world: game.world.cmdset_generation(),
            plugins,
            logged_in: s.data.logged_in,
            account: s.data.uid,
            puppet,
            location: puppet.and_then(|p| game.world.object(p)).and_then(|o| o.location),
        })
    }

    /// The merged cmdset for a stack of sets (see [`CmdCache::merged`]).
    pub(super) fn merged(&mut self, stack: Vec<Arc<CmdSet>>) -> Arc<CmdSet> {
        let generation = self.plugins.generation();
        self.cmds.merged(generation, stack)
    }

    /// The session's merged cmdset from every provider (Evennia's get_and_merge_cmdsets); None
    /// (and the player told why) when not even one of its own modules is loaded.
    pub(super) fn session_cmdset(&mut self, sessid: Sessid) -> Option<Arc<CmdSet>> {
        match self.merged_cmdset(sessid)? {
            Ok(set) => Some(set),
            Err(missing) => {
                let game = self.game();
                let logged_in = game.sessions.get(sessid).is_some_and(|s| s.data.logged_in);
                let missing = missing.join(", ");
                let text = if logged_in {
                    format!("No commands are available right now (module {missing} is not loaded). Please try again shortly.")
                } else {
                    format!("The login screen is not available right now (module {missing} is not loaded). Please try again shortly.")
                };
                game.msg_session(sessid, &text);
                None
            }
        }
    }

    /// The session's merged cmdset, from the per-session cache or built now; `Err` names the
    /// session's own modules when none of them is loaded; None for an unknown session.
    pub(super) fn merged_cmdset(
        &mut self,
        sessid: Sessid,
    ) -> Option<Result<Arc<CmdSet>, Vec<String>>> {
        let key = self.merge_key(sessid)?;
        if let Some((k, set)) = self.cmds.sessions.get(&sessid) {
            if *k == key {
                return Some(Ok(set.clone()));
            }
        }
        let providers = self.game().provider_modules(sessid)?;
        let mut stack: Vec<Arc<CmdSet>> = providers
            .own
            .iter()
            .filter_map(|n| self.plugins.get(n))
            .map(|m| m.cmdset.clone())
            .collect();
        if stack.is_empty() {
            return Some(Err(providers.own));
        }
        // The session's own sets merge through the shared cache: sessions with the same
        // providers share one merged set (and its name index) until objects lend them more.
        let mut set = self.merged(stack.clone());
        let own_sets = stack.len();
        let no_objs = set.no_objs == Some(true);
        let no_exits = no_objs || set.no_exits == Some(true);
        let lent = (if no_objs { &[][..] } else { &providers.objects[..] })
            .iter()
            .chain(if no_exits { &[][..] } else { &providers.exits[..] });
        let generation = (key.world, key.plugins);
        for (name, carrier) in lent {
            let Some(m) = self.plugins.get(name) else { continue };
            let by = LentBy::Object(carrier.id);
            stack.push(
                self.cmds.lent.get(generation, by, &m.name, || lent_cmdset(&m.cmdset, carrier)),
            );
        }
        if stack.len() > own_sets {
            set = self.merged(stack.clone());
        }
        // Each exit in the room gets a command named after it, run by the game's `__exit_command`.
        if let Some(traverse) =
            set.get(CMD_EXIT).filter(|_| !no_exits && !providers.exit_objects.is_empty())
        {
            let module = traverse.module.clone();
            let exits = &providers.exit_objects;
            let exit_set =
                self.cmds.lent.get(generation, LentBy::Exits(key.location), &module, || CmdSet {
                    priority: EXIT_CMDSET_PRIORITY,
                    duplicates: Some(true),
                    commands: exits
                        .iter()
                        .filter_map(|e| {
                            CommandDef::exit_command(e.id, &e.name, &e.aliases, module.clone())
                        })
                        .map(Arc::new)
                        .collect(),
                    ..CmdSet::empty("ExitCmdSet")
                });
            // The exits' set merges last when every other set's priority is below it (the usual
            // case): on top of the merge so far, instead of merging the whole stack again.
            set = if stack.iter().all(|s| s.priority < EXIT_CMDSET_PRIORITY) {
                self.merged(vec![set, exit_set])
            } else {
                stack.push(exit_set);
                self.merged(stack)
            };
        }
        // Each channel the account subscribes to gets a command, run by `__channel_command`.
        if let Some(chan) = set.get(crate::cmd::CMD_CHANNEL).map(|c| c.module.clone()) {
            if let Some(channels) = key.account.and_then(|a| self.channel_cmdset(a, &chan)) {
                set = self.merged(vec![set, channels]);
            }
        }
        if self.cmds.sessions.len() > 2 * self.game().sessions.len() + 64 {
            let live: std::collections::HashSet<Sessid> =
                self.game().sessions.ids().into_iter().collect();
            self.cmds.sessions.retain(|id, _| live.contains(id));
        }
        self.cmds.sessions.insert(sessid, (key, set.clone()));
        Some(Ok(set))
    }

    /// Let the guest call about to run for `sessid` (a command or a hook) see that session's
    /// merged cmdset through `caller-commands` (nothing when it has none). `put_game` clears it
    /// when the call is over.
    pub(in crate::server) fn expose_caller_cmdset(&mut self, sessid: Sessid) {
        let set = self.merged_cmdset(sessid).and_then(Result::ok);
        self.game().current_cmdset = set;
    }

    /// Run one command line for a session (Evennia's cmdhandler).
    pub fn run_command_line(&mut self, sessid: Sessid, line: &str) {
        let Some(set) = self.session_cmdset(sessid) else { return };
        let (superuser, permission) = self.game().lock_caller(sessid);
        let who = LockCaller { superuser, permission: permission.as_deref() };
        let can_use = |c: &CommandDef| c.lock.allows(&who);
        let line = line.trim();
        match parser::parse(line, &set, &can_use) {
            ParseOutcome::NoInput(Some(cmd)) => {
                self.execute(sessid, &cmd, &cmd.key, "", line, vec![])
            }
            ParseOutcome::NoInput(None) => {}
            ParseOutcome::Match(m) => {
                self.execute(sessid, &m.cmd, &m.cmdname, &m.args, line, vec![])
            }
            ParseOutcome::NoMatch { system: Some(cmd), .. } => {
                self.execute(sessid, &cmd, &cmd.key, line, line, vec![])
            }
            ParseOutcome::NoMatch { system: None, message } => {
                self.game().msg_session(sessid, &message)
            }
            ParseOutcome::MultiMatch { system: Some(cmd), candidates, .. } => {
                let keys = candidates.iter().map(|c| c.key.clone()).collect();
                self.execute(sessid, &cmd, &cmd.key, line, line, keys)
            }
            ParseOutcome::MultiMatch { system: None, message, .. } => {
                self.game().msg_session(sessid, &message)
            }
        }
    }

    /// Run a system command by key (e.g. the connection screen), else `fallback` as a line.
    pub fn run_system_command(&mut self, sessid: Sessid, key: &str, fallback: &str) {
        let Some(set) = self.session_cmdset(sessid) else { return };
        match set.commands.iter().find(|c| c.key == key).cloned() {
            Some(cmd) => self.execute(sessid, &cmd, key, "", key, vec![]),
            None => self.run_command_line(sessid, fallback),
        }
    }

    /// Call the command's module. A trap, timeout or memory blow-up gives the caller Evennia's
    /// "An untrapped error occurred." and everyone else carries on; the failed call changed
    /// nothing (see `PluginRegistry::execute`).
    fn execute(
        &mut self,
        sessid: Sessid,
        cmd: &Arc<CommandDef>,
        cmdname: &str,
        args: &str,
        raw: &str,
        matches: Vec<String>,
    ) {
        // Clone the Arc so a module swapped in by this very command cannot pull it from under us.
        let Some(module) = self.plugins.get(&cmd.module).cloned() else {
            self.game()
                .msg_session(sessid, &format!("Command '{cmdname}' is not available right now."));
            return;
        };
        let Some(session) = self.game().sessions.get(sessid).map(session_info) else { return };
        if let (Some(c), Some(me)) = (cmd.carrier.as_ref().filter(|c| c.exit), session.puppet) {
            // The exit's `traverse` lock, checked before the game's traversal runs (Evennia's
            // ExitCommand): its `err_traverse` attribute, else Evennia's `at_failed_traverse`.
            let game = self.game();
            if !game.access(
                c.id,
                crate::server::game::locks::Accessor::Object(ObjectId::new(me)),
                "traverse",
            ) {
                let text =
                    game.world.object(c.id).and_then(|o| o.attrs.get("err_traverse").cloned());
                game.msg_session(sessid, text.as_deref().unwrap_or("You cannot go there."));
                return;
            }
        }
        // A lent command learns its object as `#id` (Evennia's `self.obj`); an exit's command runs
        // the game's `__exit_command` with the exit.
        let (key, matches) = match (&cmd.carrier, &cmd.channel) {
            (_, Some(channel)) => (crate::cmd::CMD_CHANNEL.to_string(), vec![channel.clone()]),
            (Some(c), None) => (
                if c.exit { CMD_EXIT.to_string() } else { cmd.key.clone() },
                vec![format!("#{}", c.id)],
            ),
            (None, None) => (cmd.key.clone(), matches),
        };
        let inv = Invocation {
            key,
            cmdname: cmdname.to_string(),
            args: args.to_string(),
            raw: raw.to_string(),
            session,
            matches,
        };
        self.expose_caller_cmdset(sessid);
        let game = self.take_game();
        let (game, result) = {
            // A debug span: building one per call at the default level cost ≈ 3 % of a command
            // (the subscriber formats its fields). What a guest logs carries its module and
            // session itself, and a failed call is logged with its command below.
            let _span =
                tracing::debug_span!("guest", %sessid, module = %module.name, cmd = %cmd.key)
                    .entered();
            self.run_guest_command(&module, game, sessid, &inv)
        };
        self.put_game(game);
        if let Err(e) = result {
            self.note_guest_error(&e);
            // A line run by `execute-cmd` fails its whole unit, reported by the command that ran it.
            if self.executed_line_failed(&e) {
                tracing::error!(%sessid, module = %module.name, cmd = %cmd.key, cause = %e, "executed command failed");
                return;
            }
            tracing::error!(%sessid, module = %module.name, cmd = %cmd.key, cause = %e, "command failed");
            let game = self.game();
            let text = if game.cfg.in_game_errors {
                format!("{UNTRAPPED_ERROR} ({e})")
            } else {
                UNTRAPPED_ERROR.to_string()
            };
            game.msg_session(sessid, &text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_of_the_same_sets_is_merged_once_until_the_modules_change() {
        let mut cache = CmdCache::default();
        let (a, b) = (Arc::new(CmdSet::empty("A")), Arc::new(CmdSet::empty("B")));
        let first = cache.merged(1, vec![a.clone(), b.clone()]);
        let again = cache.merged(1, vec![a.clone(), b.clone()]);
        assert!(Arc::ptr_eq(&first, &again), "the same sets: the cached merge");
        // Equal sets that are not the same ones merge anew: identity, not contents, is the key.
        let other = cache.merged(1, vec![Arc::new(CmdSet::empty("A")), b.clone()]);
        assert!(!Arc::ptr_eq(&first, &other));
        let reloaded = cache.merged(2, vec![a, b]);
        assert!(!Arc::ptr_eq(&first, &reloaded), "a module changed: merged again");
    }

    #[test]
    fn a_lent_set_is_built_once_per_carrier_and_module_until_the_world_or_modules_change() {
        let mut lent = LentSets::default();
        let module: Arc<str> = "box".into();
        let make = || CmdSet::empty("x");
        let one = lent.get((1, 1), LentBy::Object(ObjectId::new(5)), &module, make);
        let again =
            lent.get((1, 1), LentBy::Object(ObjectId::new(5)), &module, || panic!("built once"));
        assert!(Arc::ptr_eq(&one, &again));
        let other = lent.get((1, 1), LentBy::Object(ObjectId::new(6)), &module, make);
        assert!(!Arc::ptr_eq(&one, &other), "each carrier lends its own");
        let exits = lent.get((1, 1), LentBy::Exits(Some(ObjectId::new(5))), &module, make);
        assert!(!Arc::ptr_eq(&one, &exits), "a room's exits are not the room's own set");
        let changed = lent.get((2, 1), LentBy::Object(ObjectId::new(5)), &module, make);
        assert!(!Arc::ptr_eq(&one, &changed), "the world's cmdsets changed: built again");
    }
}
