//! Characters and puppeting: creating and deleting an account's characters, puppeting and
//! unpuppeting them under the multisession policy ([`super::multisession`]), and the rule for
//! character names.

use crate::shared::ids::{AccountId, ObjectId};
use std::collections::BTreeSet;

use crate::link::Sessid;
use crate::store::OWNER_ATTR;

use super::multisession::SharedPuppet;
use super::{Game, QueuedCommand};
use crate::wasm::bindings::Answer;

/// Character names, checked wherever a character is created or renamed: 1 to `max`
/// printable characters — letters, digits, single spaces between words and `'`, `-`, `.`,
/// `_` — starting with a letter or digit. Every message that names a character carries its
/// name, so a name holding markup (`|r`, `|l` links), a line break or a control character
/// would let a player forge lines ("[Admin] Gandalf says ...") in others' output.
pub fn validate_character_name(name: &str, max: usize) -> Result<(), String> {
    let len = name.chars().count();
    let starts_well = name.chars().next().is_some_and(char::is_alphanumeric);
    let ok_chars =
        name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '\'' | '-' | '.' | '_'))
            && !name.contains("  ")
            && !name.ends_with(' ');
    if !(1..=max).contains(&len) || !starts_well || !ok_chars {
        return Err(format!(
            "|rCharacter names must be 1-{max} characters long, starting with a letter or digit and using only letters, digits, single spaces and ' - . _|n"
        ));
    }
    Ok(())
}

impl Game {
    /// Create a character owned by an account; it waits out of the world until first puppeted.
    pub(super) fn create_character(
        &mut self,
        uid: AccountId,
        name: &str,
    ) -> Result<ObjectId, crate::store::StoreError> {
        let id = self.world.create_object(name, "character", None)?;
        self.world.set_object_attr(id, OWNER_ATTR, Some(&uid.to_string()))?;
        let start = self.world.start_location().to_string();
        self.world.set_object_attr(id, "prelogout_location", Some(&start))?;
        // Evennia: the first character becomes the one `ic` and auto-puppet return to.
        let has_last =
            self.world.account(uid).is_some_and(|a| a.attrs.contains_key("_last_puppet"));
        if !has_last {
            self.world.set_account_attr(uid, "_last_puppet", Some(&id.to_string()))?;
        }
        Ok(id)
    }

    /// Puppet `obj` with a session (Evennia's Account.puppet_object and Character hooks). This
    /// is where the multisession policy is applied: take over (modes 0, 2) or share (1, 3) a
    /// character another of the account's sessions holds, and MAX_NR_SIMULTANEOUS_PUPPETS.
    ///
    /// A refusal is sent, as in Evennia, to every session of the account, and also returned
    /// (so callers must not show it again). `Err` without a message to anyone only for a
    /// missing session or object (Evennia's RuntimeErrors, which the `ic` command words).
    pub fn puppet(&mut self, sessid: Sessid, obj: ObjectId) -> Result<(), String> {
        let s = self.sessions.get(sessid).ok_or("Session not found")?;
        let uid = s.data.uid.filter(|_| s.data.logged_in).ok_or("You are not logged in.")?;
        let key = self.world.object(obj).ok_or("Object not found")?.key.clone();
        let refuse = |game: &mut Game, text: String| {
            game.msg_account(uid, &text);
            Err(text)
        };
        if s.data.puid == Some(obj) {
            return refuse(self, "You are already puppeting this object.".into());
        }
        let superuser = self.world.account(uid).is_some_and(|a| a.is_superuser);
        // The object's `puppet` lock (a character's default: its owner, or a Developer).
        let accessor = super::locks::Accessor::Account(uid);
        if !superuser && !self.access(obj, accessor, "puppet") {
            return refuse(self, format!("You don't have permission to puppet '{key}'."));
        }
        let holders: Vec<(Sessid, Option<AccountId>)> = self
            .sessions
            .from_puppet(obj)
            .filter(|h| h.sessid() != sessid)
            .map(|h| (h.sessid(), h.data.uid))
            .collect();
        if holders.iter().any(|(_, u)| *u != Some(uid)) {
            return refuse(self, format!("|c{key}|R is already puppeted by another Account."));
        }
        // Puppet limit: puppets held by the account's other sessions, not counting `obj`.
        let held: BTreeSet<ObjectId> = self
            .sessions
            .from_account(uid)
            .filter(|h| h.sessid() != sessid)
            .filter_map(|h| h.data.puid)
            .filter(|&p| p != obj)
            .collect();
        if let Some(limit) = self.multisession().puppet_limit_reached(held.len(), superuser) {
            return refuse(self, format!("You cannot control any more puppets (max {limit})"));
        }
        let already_in_world = !holders.is_empty();
        if already_in_world {
            if self.multisession().shared_puppet() == SharedPuppet::Share {
                self.msg_session(
                    sessid,
                    &format!("Sharing |c{key}|n with another of your sessions."),
                );
                for (h, _) in &holders {
                    self.msg_session(
                        *h,
                        &format!("|c{key}|n|G is now shared from another of your sessions.|n"),
                    );
                }
            } else {
                self.msg_session(
                    sessid,
                    &format!("Taking over |c{key}|n from another of your sessions."),
                );
                for (h, _) in &holders {
                    self.msg_session(
                        *h,
                        &format!("|c{key}|n|R is now acted from another of your sessions.|n"),
                    );
                    if let Some(hs) = self.sessions.get_mut(*h) {
                        hs.data.puid = None;
                    }
                    self.touch(*h);
                }
            }
        }
        // Leave the current puppet first.
        if self.sessions.get(sessid).and_then(|s| s.data.puid).is_some() {
            let _ = self.unpuppet_quietly(sessid, "");
        }
        // at_pre_puppet: come back to where the character logged out (or the start room).
        if self.world.object(obj).and_then(|o| o.location).is_none() {
            let back = self
                .world
                .object(obj)
                .and_then(|o| o.attrs.get("prelogout_location"))
                .and_then(|v| v.parse::<ObjectId>().ok())
                .filter(|l| self.world.object(*l).is_some())
                .unwrap_or(self.world.start_location());
            if let Err(e) = self.world.move_object(obj, Some(back)) {
                tracing::warn!(%obj, cause = %e, "could not restore the character's location");
            }
        }
        if let Some(s) = self.sessions.get_mut(sessid) {
            s.data.puid = Some(obj);
        }
        self.touch(sessid);
        if let Err(e) = self.world.set_account_attr(uid, "_last_puppet", Some(&obj.to_string())) {
            tracing::warn!(%uid, cause = %e, "could not store _last_puppet");
        }
        // at_post_puppet: Evennia's `self.msg`, so every session sharing the character hears it.
        self.msg_object(obj, &format!("\nYou become |c{key}|n.\n"));
        self.queue_command(sessid, QueuedCommand::PuppetLook);
        if !already_in_world {
            if let Some(loc) = self.world.object(obj).and_then(|o| o.location) {
                self.msg_contents(loc, &format!("{key} has entered the game."), &[obj]);
            }
        }
        Ok(())
    }

    /// Stop puppeting (the `ooc` command's host part).
    pub fn unpuppet(&mut self, sessid: Sessid) -> Result<(), String> {
        self.unpuppet_quietly(sessid, "")
    }

    /// Unpuppet; if this was the last session on the character, it leaves the world.
    pub(super) fn unpuppet_quietly(&mut self, sessid: Sessid, reason: &str) -> Result<(), String> {
        let s = self.sessions.get_mut(sessid).ok_or("Session not found")?;
        let obj = s.data.puid.take().ok_or("You are not puppeting anything.")?;
        self.touch(sessid);
        if self.sessions.from_puppet(obj).next().is_some() {
            return Ok(());
        }
        let Some(o) = self.world.object(obj) else { return Ok(()) };
        let (key, loc) = (o.key.clone(), o.location);
        if let Some(loc) = loc {
            self.msg_contents(loc, &format!("{key} has left the game{reason}."), &[obj]);
            let res = self
                .world
                .set_object_attr(obj, "prelogout_location", Some(&loc.to_string()))
                .and_then(|_| self.world.move_object(obj, None));
            if let Err(e) = res {
                tracing::warn!(%obj, cause = %e, "could not store the character's location");
            }
        }
        Ok(())
    }

    /// Unpuppet every session (server shutdown): characters leave the world cleanly.
    pub fn unpuppet_all(&mut self) {
        for id in self.sessions.ids() {
            let _ = self.unpuppet_quietly(id, "");
        }
    }

    /// Create a character for the calling session's account (Evennia's charcreate and
    /// create_character): names are unique among characters, MAX_NR_CHARACTERS applies to
    /// everyone but superusers.
    pub fn character_create(
        &mut self,
        sessid: Sessid,
        key: &str,
        desc: Option<&str>,
    ) -> Result<ObjectId, String> {
        let uid = self.account_of(sessid).ok_or("You are not logged in.")?;
        let key = key.trim();
        if key.is_empty() {
            return Err("Usage: charcreate <charname> [= description]".into());
        }
        validate_character_name(key, self.cfg.max_name_chars)?;
        let count = self.world.account_characters(uid).len();
        let admin = self.is_admin(sessid);
        if let Some(max) = self.multisession().character_limit_reached(count, admin) {
            return Err(format!(
                "You may only have a maximum of {max} character{}.",
                if max == 1 { "" } else { "s" }
            ));
        }
        let taken = self.world.search(key, None).into_iter().any(|id| {
            self.world
                .object(id)
                .is_some_and(|o| o.kind == "character" && o.key.eq_ignore_ascii_case(key))
        });
        if taken {
            return Err(format!("|rA character named '|w{key}|r' already exists.|n"));
        }
        let desc = desc.map(str::trim).filter(|d| !d.is_empty()).unwrap_or("This is a character.");
        let created = self.create_character(uid, key).and_then(|id| {
            self.world.set_object_attr(id, "desc", Some(desc))?;
            Ok(id)
        });
        created.map_err(|e| {
            tracing::error!(%sessid, cause = %e, "character creation failed");
            "|rAn error occurred. Please e-mail an admin if the problem persists.|n".to_string()
        })
    }

    /// Delete one of the calling account's characters; refused while anyone puppets it.
    pub fn character_delete(&mut self, sessid: Sessid, obj: ObjectId) -> Answer<()> {
        let uid = self.account_of(sessid).ok_or("You are not logged in.")?;
        let o = self.world.object(obj).ok_or("That is not a valid character choice.")?;
        let owned = o.kind == "character" && o.attrs.get(OWNER_ATTR) == Some(&uid.to_string());
        if !owned && !self.is_admin(sessid) {
            return Err("You do not have permission to delete this character.".into());
        }
        if self.sessions.from_puppet(obj).next().is_some() {
            return Err("You cannot delete a character that is being played.".into());
        }
        // A database failure is no refusal: `?` sorts it into the call's end.
        self.world.delete_object(obj)?;
        let last = self.world.account(uid).and_then(|a| a.attrs.get("_last_puppet").cloned());
        if last == Some(obj.to_string()) {
            if let Err(e) = self.world.set_account_attr(uid, "_last_puppet", None) {
                tracing::warn!(%uid, cause = %e, "could not clear _last_puppet");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{account, connect, game_with, texts};
    use super::*;
    use crate::config::Config;

    /// Two sessions of one (not superuser) account, both logged in without puppeting; the
    /// account's id.
    fn two_sessions(cfg: Config) -> (tempfile::TempDir, Game, AccountId) {
        let cfg = Config { auto_puppet_on_login: false, ..cfg };
        let (dir, mut game) = game_with(cfg);
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        connect(&mut game, Sessid::new(2), "10.0.0.2");
        account(&mut game, Sessid::new(1), "root"); // the first account is the superuser, exempt from limits
        let uid = account(&mut game, Sessid::new(1), "alice");
        game.login(Sessid::new(1), uid);
        game.login(Sessid::new(2), uid);
        game.take_effects();
        game.take_queued();
        (dir, game, uid)
    }

    fn mode(multisession_mode: u8, max_nr_simultaneous_puppets: u32) -> Config {
        Config { multisession_mode, max_nr_simultaneous_puppets, ..Config::default() }
    }

    fn puppet_of(game: &Game, sessid: Sessid) -> Option<ObjectId> {
        game.sessions.get(sessid).and_then(|s| s.data.puid)
    }

    fn the_character(game: &Game) -> ObjectId {
        game.world.search("alice", None)[0]
    }

    #[test]
    fn puppeting_what_another_own_session_holds_takes_it_over_in_mode_2() {
        let (_dir, mut game, _) = two_sessions(mode(2, 1));
        let alice = the_character(&game);
        game.puppet(Sessid::new(1), alice).unwrap();
        game.take_effects();
        game.puppet(Sessid::new(2), alice).unwrap();
        assert_eq!(
            (puppet_of(&game, Sessid::new(1)), puppet_of(&game, Sessid::new(2))),
            (None, Some(alice))
        );
        let told = texts(&game.take_effects());
        assert!(told.contains(&(
            Sessid::new(1),
            "|calice|n|R is now acted from another of your sessions.|n".into()
        )));
        assert!(told.contains(&(
            Sessid::new(2),
            "Taking over |calice|n from another of your sessions.".into()
        )));
    }

    #[test]
    fn puppeting_what_another_own_session_holds_shares_it_in_mode_3() {
        let (_dir, mut game, _) = two_sessions(mode(3, 1));
        let alice = the_character(&game);
        game.puppet(Sessid::new(1), alice).unwrap();
        game.take_effects();
        game.puppet(Sessid::new(2), alice).unwrap();
        assert_eq!(
            (puppet_of(&game, Sessid::new(1)), puppet_of(&game, Sessid::new(2))),
            (Some(alice), Some(alice))
        );
        let told = texts(&game.take_effects());
        assert!(told.contains(&(
            Sessid::new(2),
            "Sharing |calice|n with another of your sessions.".into()
        )));
        // One session leaving leaves the character in the world for the other.
        game.unpuppet(Sessid::new(2)).unwrap();
        assert!(game.world.object(alice).is_some_and(|o| o.location.is_some()));
    }

    #[test]
    fn a_second_puppet_over_the_limit_is_refused_to_every_session_of_the_account() {
        let cfg = Config { max_nr_characters: 2, ..mode(2, 1) };
        let (_dir, mut game, _) = two_sessions(cfg);
        let alice = the_character(&game);
        let bob = game.character_create(Sessid::new(2), "Bob", None).unwrap();
        game.puppet(Sessid::new(1), alice).unwrap();
        game.take_effects();
        let refusal = "You cannot control any more puppets (max 1)".to_string();
        assert_eq!(game.puppet(Sessid::new(2), bob), Err(refusal.clone()));
        let told = texts(&game.take_effects());
        assert_eq!(told, vec![(Sessid::new(1), refusal.clone()), (Sessid::new(2), refusal)]);
        assert_eq!(puppet_of(&game, Sessid::new(2)), None);
    }

    #[test]
    fn the_last_session_to_let_go_takes_the_character_out_of_the_world() {
        let (_dir, mut game, _) = two_sessions(mode(2, 1));
        let alice = the_character(&game);
        game.puppet(Sessid::new(1), alice).unwrap();
        let room = game.world.object(alice).and_then(|o| o.location).expect("in the world");
        game.unpuppet(Sessid::new(1)).unwrap();
        let o = game.world.object(alice).unwrap();
        assert_eq!(o.location, None);
        assert_eq!(o.attrs.get("prelogout_location"), Some(&room.to_string()));
        assert_eq!(game.unpuppet(Sessid::new(1)), Err("You are not puppeting anything.".into()));
    }

    #[test]
    fn character_creation_keeps_to_the_limit_and_unique_valid_names() {
        let (_dir, mut game, uid) = two_sessions(Config { max_nr_characters: 2, ..mode(2, 1) });
        assert!(game
            .character_create(Sessid::new(1), "Al|rice", None)
            .unwrap_err()
            .contains("Character names"));
        assert!(game
            .character_create(Sessid::new(1), "ALICE", None)
            .unwrap_err()
            .contains("already exists"));
        let bob = game.character_create(Sessid::new(1), "Bob", Some(" tall ")).unwrap();
        assert_eq!(game.world.object(bob).unwrap().attrs.get("desc"), Some(&"tall".to_string()));
        assert_eq!(game.world.object(bob).unwrap().attrs.get(OWNER_ATTR), Some(&uid.to_string()));
        let over = game.character_create(Sessid::new(1), "Carol", None);
        assert_eq!(over, Err("You may only have a maximum of 2 characters.".into()));
    }

    #[test]
    fn a_played_character_cannot_be_deleted_and_a_deleted_one_is_no_last_puppet() {
        let (_dir, mut game, uid) = two_sessions(mode(2, 1));
        let alice = the_character(&game);
        game.puppet(Sessid::new(1), alice).unwrap();
        let refused = game.character_delete(Sessid::new(2), alice).map_err(|e| format!("{e:?}"));
        assert!(refused
            .unwrap_err()
            .contains("You cannot delete a character that is being played."));
        game.unpuppet(Sessid::new(1)).unwrap();
        game.character_delete(Sessid::new(2), alice).unwrap();
        assert!(game.world.object(alice).is_none());
        assert_eq!(game.world.account(uid).unwrap().attrs.get("_last_puppet"), None);
    }

    #[test]
    fn character_names_refuse_markup_line_breaks_and_bad_spacing() {
        assert!(validate_character_name("Ann Marie O'Neil-Jr.", 30).is_ok());
        for bad in ["", " Ann", "Ann ", "Ann  Lee", "|rAnn", "Ann\nLee", "-Ann", "Ann|lx"] {
            assert!(validate_character_name(bad, 30).is_err(), "{bad:?}");
        }
        assert!(validate_character_name("Annabel", 5).is_err());
    }
}
