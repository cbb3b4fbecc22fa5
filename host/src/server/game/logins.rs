//! Logins, account creation and password changes: the quick refusals and throttles on the
//! loop, the password work handed off the loop ([`Deferred`]) and its completion. [`Logins`]
//! holds the bookkeeping of the checks in flight, undone with a failed guest call.

use crate::shared::ids::{AccountId, ObjectId};
use std::collections::{BTreeMap, BTreeSet};

use crate::link::{Msg, Sessid};
use crate::server::now_ms;
use crate::server::throttle::{Throttles, CREATION_THROTTLE_TEXT, LOGIN_THROTTLE_TEXT};

use super::{ClassEvent, Deferred, Game, QueuedCommand, DUPLICATE_REASON};

/// Login and account-creation checks in flight, and the throttles they are counted against.
pub struct Logins {
    /// Sessions whose login is being checked off the loop.
    auth_pending: BTreeSet<Sessid>,
    /// Login and creation attempts accepted for checking and not completed yet, per session.
    /// A throttle counts them with its stored records; each is stored (or not) with its
    /// completion, in the transaction that acknowledges its input, so a crash in between
    /// neither loses nor doubles it (the replayed input makes it again).
    attempts: BTreeMap<Sessid, Attempt>,
    throttles: Throttles,
}

/// What [`Logins::mark`] remembers: the checks in flight when a guest call began.
#[derive(Debug, Clone)]
pub struct LoginsMark {
    auth_pending: BTreeSet<Sessid>,
    attempts: BTreeMap<Sessid, Attempt>,
}

/// A login or account creation being checked off the loop (see `Logins::attempts`).
#[derive(Debug, Clone)]
struct Attempt {
    login: bool,
    address: String,
    /// The account a login names, if it exists (for the per-account throttle).
    account: Option<AccountId>,
}

impl Logins {
    /// No checks in flight.
    pub fn new(throttles: Throttles) -> Logins {
        Logins { auth_pending: BTreeSet::new(), attempts: BTreeMap::new(), throttles }
    }

    /// Remember the checks in flight (a failed call's requests are forgotten by [`Logins::undo`]).
    pub fn mark(&self) -> LoginsMark {
        LoginsMark { auth_pending: self.auth_pending.clone(), attempts: self.attempts.clone() }
    }

    /// Go back to the checks in flight at `mark`.
    pub fn undo(&mut self, mark: LoginsMark) {
        self.auth_pending = mark.auth_pending;
        self.attempts = mark.attempts;
    }

    /// A session left: a login of it still being checked no longer blocks anything (its
    /// attempt stays, to be stored with the check's completion).
    pub fn forget(&mut self, sessid: Sessid) {
        self.auth_pending.remove(&sessid);
    }

    /// Attempts of this kind from `address` accepted for checking and not completed yet.
    pub(super) fn pending_from(&self, login: bool, address: &str) -> u32 {
        self.attempts.values().filter(|a| a.login == login && a.address == address).count() as u32
    }

    /// Login attempts at account `uid` accepted for checking and not completed yet.
    pub(super) fn pending_for_account(&self, uid: AccountId) -> u32 {
        self.attempts.values().filter(|a| a.account == Some(uid)).count() as u32
    }
}

impl Game {
    /// Validate a new account and start hashing its password off the loop.
    pub fn request_create_account(
        &mut self,
        sessid: Sessid,
        name: &str,
        password: String,
    ) -> Result<(), String> {
        let name = name.trim();
        let s = self.sessions.get(sessid).ok_or("No calling session.")?;
        if s.data.logged_in {
            return Err("You are already logged in.".into());
        }
        validate_account_name(name, self.cfg.max_name_chars)?;
        if password.chars().count() < 8 {
            return Err("This password is too short. It must contain at least 8 characters.".into());
        }
        if self.world.account_by_name(name).is_some() {
            return Err(format!("Sorry, there is already an account with the name '{name}'."));
        }
        let address = self.cfg.address_group_text(&s.data.address);
        let pending = self.logins.pending_from(false, &address);
        if self.logins.throttles.creation.check(&self.world, &address, now_ms(), pending) {
            return Err(CREATION_THROTTLE_TEXT.into());
        }
        // Counted from now on, so concurrent requests see it; stored if the account is created.
        self.logins.attempts.insert(sessid, Attempt { login: false, address, account: None });
        let ack = self.journal.take_ack();
        self.journal.defer(Deferred::HashPassword { sessid, name: name.into(), password, ack });
        Ok(())
    }

    /// A new account's password hash is ready: create the account (and its character).
    pub fn finish_create_account(
        &mut self,
        sessid: Sessid,
        name: &str,
        hash: Result<String, String>,
    ) {
        let attempt = self.logins.attempts.remove(&sessid);
        let created = self.create_account_from_hash(sessid, name, hash);
        if let Some(a) = attempt.filter(|_| created) {
            self.logins.throttles.creation.record(&self.world, &a.address, now_ms());
        }
    }

    /// The rest of [`Game::finish_create_account`]; true if the account was created.
    fn create_account_from_hash(
        &mut self,
        sessid: Sessid,
        name: &str,
        hash: Result<String, String>,
    ) -> bool {
        let hash = match hash {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(%sessid, cause = %e, "password hashing failed");
                self.msg_session(
                    sessid,
                    "|RAn error occurred. Please e-mail an admin if the problem persists.|n",
                );
                return false;
            }
        };
        if self.world.account_by_name(name).is_some() {
            self.msg_session(
                sessid,
                &format!("|RSorry, there is already an account with the name '{name}'.|n"),
            );
            return false;
        }
        let superuser = self.world.account_total() == 0;
        let created = self.world.create_account(name, &hash, superuser, now_ms()).and_then(|uid| {
            if self.cfg.auto_create_character_with_account {
                self.create_character(uid, name)?;
            }
            self.world.channel_join_defaults(uid, self.cfg.channel_max_subscribers)?;
            Ok(uid)
        });
        match created {
            Ok(uid) => {
                tracing::info!(%sessid, %uid, account = name, superuser, "account created");
                self.msg_session(
                    sessid,
                    &format!(
                        "A new account '{name}' was created. Welcome!\n\nYou can now log with the command 'connect {name} <your password>'."
                    ),
                );
                true
            }
            Err(e) => {
                tracing::error!(%sessid, cause = %e, "account creation failed");
                self.msg_session(
                    sessid,
                    "|RAn error occurred. Please e-mail an admin if the problem persists.|n",
                );
                false
            }
        }
    }

    /// Check quick refusals for a login, then start the password check off the loop.
    pub fn request_login(
        &mut self,
        sessid: Sessid,
        name: &str,
        password: String,
    ) -> Result<(), String> {
        let s = self.sessions.get(sessid).ok_or("No calling session.")?;
        if s.data.logged_in {
            return Err("You are already logged in.".into());
        }
        if self.logins.auth_pending.contains(&sessid) {
            return Err("Your previous login is still being checked.".into());
        }
        let address = self.cfg.address_group_text(&s.data.address);
        let now = now_ms();
        let pending = self.logins.pending_from(true, &address);
        if self.logins.throttles.login.check(&self.world, &address, now, pending) {
            return Err(LOGIN_THROTTLE_TEXT.into());
        }
        let (account, hash) = match self.world.account_by_name(name.trim()) {
            Some(a) => (Some(a.id), Some(a.password_hash.clone())),
            None => (None, None),
        };
        // Guesses at one account from many addresses are held back too.
        if let Some(uid) = account {
            let pending = self.logins.pending_for_account(uid);
            if self.logins.throttles.login_account.check(
                &self.world,
                &account_key(uid),
                now,
                pending,
            ) {
                return Err(LOGIN_THROTTLE_TEXT.into());
            }
        }
        // Counted as a failure from now on, so a burst of concurrent guesses checks at most the
        // limit; stored as one in `finish_login` if the password is wrong.
        self.logins.attempts.insert(sessid, Attempt { login: true, address, account });
        self.logins.auth_pending.insert(sessid);
        let ack = self.journal.take_ack();
        self.journal.defer(Deferred::CheckPassword { sessid, account, hash, password, ack });
        Ok(())
    }

    /// A password check finished.
    pub fn finish_login(&mut self, sessid: Sessid, account: Option<AccountId>, ok: bool) {
        self.logins.auth_pending.remove(&sessid);
        let attempt = self.logins.attempts.remove(&sessid);
        let uid = account.filter(|_| ok);
        if let Some(a) = attempt.filter(|_| uid.is_none()) {
            // Stored with the completion (a session that left before its check finished too).
            self.logins.throttles.login.record(&self.world, &a.address, now_ms());
        }
        let Some(s) = self.sessions.get(sessid) else { return };
        if s.data.logged_in {
            return;
        }
        match uid {
            Some(uid) => self.login(sessid, uid),
            None => {
                // The account's own count: failures only (a busy answer checked nothing).
                if let Some(uid) = account {
                    self.logins.throttles.login_account.record(
                        &self.world,
                        &account_key(uid),
                        now_ms(),
                    );
                }
                self.msg_session(sessid, "|RUsername and/or password is incorrect.|n")
            }
        }
    }

    /// The hashing queue was full: answer at once and undo the request's bookkeeping (its
    /// pending mark and its throttle attempt), since nothing was checked.
    pub fn hashing_busy(&mut self, sessid: Sessid) {
        self.logins.auth_pending.remove(&sessid);
        self.logins.attempts.remove(&sessid);
        self.msg_session(sessid, &format!("|R{}|n", crate::server::hashing::BUSY_TEXT));
    }

    /// Log a session in (Evennia's SessionHandler.login + Account.at_post_login).
    pub fn login(&mut self, sessid: Sessid, uid: AccountId) {
        let Some(name) = self.world.account(uid).map(|a| a.name.clone()) else { return };
        let Some(s) = self.sessions.get_mut(sessid) else { return };
        s.data.logged_in = true;
        s.data.uid = Some(uid);
        s.data.uname = Some(name.clone());
        s.data.conn_time = now_ms();
        s.data.puid = None;
        let address = s.data.address.clone();
        self.touch(sessid);
        if self.multisession().login_closes_others() {
            self.disconnect_duplicates(sessid, DUPLICATE_REASON);
        }
        let total = self.sessions.from_account(uid).count();
        tracing::info!(%sessid, "Logged in: {name} {address} ({total} session(s) total)");
        self.class_event(sessid, ClassEvent::Login);
        self.send(sessid, Msg::oob("logged_in", vec![], Default::default()));
        let last = self
            .world
            .account(uid)
            .and_then(|a| a.attrs.get("_last_puppet"))
            .and_then(|v| v.parse::<ObjectId>().ok())
            .filter(|id| self.world.object(*id).is_some());
        if !self.cfg.auto_puppet_on_login {
            self.queue_command(sessid, QueuedCommand::Line("look".into()));
        } else if let Some(obj) = last {
            // A refusal has already been told to the account's sessions.
            let _ = self.puppet(sessid, obj);
        } else {
            self.msg_account(uid, "The Character does not exist.");
        }
    }

    /// Start changing the calling account's password (Evennia's `password` command): the old
    /// password is checked and the new one hashed off the loop; the host tells the outcome.
    pub fn request_password_change(
        &mut self,
        sessid: Sessid,
        old: String,
        new: String,
    ) -> Result<(), String> {
        let uid = self.account_of(sessid).ok_or("You are not logged in.")?;
        let hash = self.world.account(uid).ok_or("You are not logged in.")?.password_hash.clone();
        let invalid = (new.chars().count() < 8).then(|| {
            "This password is too short. It must contain at least 8 characters.".to_string()
        });
        let ack = self.journal.take_ack();
        self.journal.defer(Deferred::ChangePassword { sessid, uid, hash, old, new, invalid, ack });
        Ok(())
    }

    /// The old password was checked and, if right, the new one hashed (`Err` is the text to tell).
    pub fn finish_password_change(
        &mut self,
        sessid: Sessid,
        uid: AccountId,
        outcome: Result<String, String>,
    ) {
        let text = match outcome {
            Ok(hash) => match self.world.set_account_password(uid, &hash) {
                Ok(()) => {
                    tracing::info!(%sessid, %uid, "password changed");
                    "Password changed.".to_string()
                }
                Err(e) => {
                    tracing::error!(%sessid, %uid, cause = %e, "cannot store a new password");
                    "|rAn error occurred. Please e-mail an admin if the problem persists.|n"
                        .to_string()
                }
            },
            Err(text) => text,
        };
        self.msg_session(sessid, &text);
    }
}

/// Account names: 2 to `max` characters of letters, digits and `.`, `_`, `-` (so no markup,
/// control character, space or line break can reach a message that names the account).
fn validate_account_name(name: &str, max: usize) -> Result<(), String> {
    let ok_chars = name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let len = name.chars().count();
    if !(2..=max).contains(&len) || !ok_chars {
        return Err(format!(
            "Account names must be 2-{max} characters long, using only letters, digits and . _ -"
        ));
    }
    Ok(())
}

/// The per-account login throttle's key for account `uid` (apart from addresses by the `#`).
fn account_key(uid: AccountId) -> String {
    format!("#{uid}")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{account, connect, game_with, texts};
    use super::*;
    use crate::config::Config;

    fn mode(multisession_mode: u8) -> Config {
        Config { multisession_mode, ..Config::default() }
    }

    #[test]
    fn a_second_login_in_mode_0_disconnects_the_first() {
        let (_dir, mut game) = game_with(mode(0));
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        connect(&mut game, Sessid::new(2), "10.0.0.2");
        let uid = account(&mut game, Sessid::new(1), "alice");
        game.login(Sessid::new(1), uid);
        game.take_effects();
        game.login(Sessid::new(2), uid);
        let effects = game.take_effects();
        assert_eq!(effects.disconnects, vec![(Sessid::new(1), DUPLICATE_REASON.to_string())]);
        assert!(game.sessions.get(Sessid::new(1)).is_none());
        assert_eq!(game.sessions.get(Sessid::new(2)).and_then(|s| s.data.uid), Some(uid));
    }

    #[test]
    fn a_second_login_in_modes_1_to_3_keeps_the_first() {
        for m in 1..=3 {
            let (_dir, mut game) = game_with(mode(m));
            connect(&mut game, Sessid::new(1), "10.0.0.1");
            connect(&mut game, Sessid::new(2), "10.0.0.2");
            let uid = account(&mut game, Sessid::new(1), "alice");
            game.login(Sessid::new(1), uid);
            game.login(Sessid::new(2), uid);
            assert!(game.take_effects().disconnects.is_empty(), "mode {m}");
            assert_eq!(game.sessions.from_account(uid).count(), 2, "mode {m}");
        }
    }

    #[test]
    fn a_login_puppets_the_last_character_and_tells_the_client() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        let uid = account(&mut game, Sessid::new(1), "alice");
        game.take_effects();
        game.login(Sessid::new(1), uid);
        let puid = game.sessions.get(Sessid::new(1)).and_then(|s| s.data.puid).expect("puppeting");
        assert_eq!(game.world.object(puid).map(|o| o.key.as_str()), Some("alice"));
        let effects = game.take_effects();
        assert!(effects.outputs.iter().any(|(_, m)| m.cmd == "logged_in"));
        assert!(
            texts(&effects).contains(&(Sessid::new(1), "\nYou become |calice|n.\n".to_string()))
        );
        assert_eq!(game.take_queued(), vec![(Sessid::new(1), QueuedCommand::PuppetLook)]);
    }

    #[test]
    fn a_login_request_hands_the_check_off_with_the_ack_and_refuses_a_second_meanwhile() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        let uid = account(&mut game, Sessid::new(1), "alice");
        game.hold_ack((Sessid::new(1), 4));
        game.request_login(Sessid::new(1), " alice ", "secret123".into()).unwrap();
        let jobs = game.take_deferred();
        let [Deferred::CheckPassword { sessid, account, hash, ack, .. }] = &jobs[..] else {
            panic!("{jobs:?}")
        };
        assert_eq!(
            (*sessid, *account, hash.as_deref(), *ack),
            (Sessid::new(1), Some(uid), Some("hash"), Some((Sessid::new(1), 4)))
        );
        assert!(!game.ack_is_held());
        let again = game.request_login(Sessid::new(1), "alice", "secret123".into());
        assert_eq!(again, Err("Your previous login is still being checked.".into()));
        assert_eq!(game.logins.pending_for_account(uid), 1);
        game.finish_login(Sessid::new(1), Some(uid), true);
        assert_eq!(game.logins.pending_for_account(uid), 0);
        assert!(game.sessions.get(Sessid::new(1)).is_some_and(|s| s.data.logged_in));
    }

    #[test]
    fn a_wrong_password_is_told_and_leaves_the_session_logged_out() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        let uid = account(&mut game, Sessid::new(1), "alice");
        game.take_effects();
        game.request_login(Sessid::new(1), "alice", "wrong-one".into()).unwrap();
        game.finish_login(Sessid::new(1), Some(uid), false);
        let told = texts(&game.take_effects());
        assert_eq!(
            told,
            vec![(Sessid::new(1), "|RUsername and/or password is incorrect.|n".to_string())]
        );
        assert!(game.sessions.get(Sessid::new(1)).is_some_and(|s| !s.data.logged_in));
    }

    #[test]
    fn a_busy_hashing_pool_forgets_the_request() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        game.request_login(Sessid::new(1), "nobody", "secret123".into()).unwrap();
        assert_eq!(game.logins.pending_from(true, "10.0.0.1"), 1);
        game.hashing_busy(Sessid::new(1));
        assert_eq!(game.logins.pending_from(true, "10.0.0.1"), 0);
        assert!(game.request_login(Sessid::new(1), "nobody", "secret123".into()).is_ok());
    }

    #[test]
    fn account_creation_refuses_bad_names_short_passwords_and_taken_names() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        account(&mut game, Sessid::new(1), "alice");
        let create = |game: &mut Game, name: &str, pw: &str| {
            game.request_create_account(Sessid::new(1), name, pw.into()).unwrap_err()
        };
        assert!(create(&mut game, "a|rb", "password1").starts_with("Account names must be 2-"));
        assert!(create(&mut game, "bob", "short").contains("too short"));
        assert!(create(&mut game, "Alice", "password1").contains("already an account"));
        assert!(game.take_deferred().is_empty());
    }

    #[test]
    fn account_names_are_two_to_max_letters_digits_and_dot_underscore_dash() {
        assert!(validate_account_name("al", 30).is_ok());
        assert!(validate_account_name("a.b_c-d9", 30).is_ok());
        assert!(validate_account_name("a", 30).is_err());
        assert!(validate_account_name("abcd", 3).is_err());
        for bad in ["a b", "a|r", "a\nb", "a\u{7}b"] {
            assert!(validate_account_name(bad, 30).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_password_change_hands_the_check_off_and_tells_the_outcome() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        let uid = account(&mut game, Sessid::new(1), "alice");
        game.login(Sessid::new(1), uid);
        game.take_effects();
        game.request_password_change(Sessid::new(1), "old".into(), "short".into()).unwrap();
        let jobs = game.take_deferred();
        let [Deferred::ChangePassword { uid: u, invalid: Some(_), .. }] = &jobs[..] else {
            panic!("{jobs:?}")
        };
        assert_eq!(*u, uid);
        game.finish_password_change(Sessid::new(1), uid, Ok("newhash".into()));
        assert_eq!(game.world.account(uid).map(|a| a.password_hash.as_str()), Some("newhash"));
        assert_eq!(
            texts(&game.take_effects()),
            vec![(Sessid::new(1), "Password changed.".to_string())]
        );
    }

    #[test]
    fn marks_restore_the_checks_in_flight() {
        let (_dir, mut game) = game_with(Config::default());
        connect(&mut game, Sessid::new(1), "10.0.0.1");
        let mark = game.logins.mark();
        game.request_login(Sessid::new(1), "nobody", "secret123".into()).unwrap();
        game.logins.undo(mark);
        assert_eq!(game.logins.pending_from(true, "10.0.0.1"), 0);
        assert!(game.request_login(Sessid::new(1), "nobody", "secret123".into()).is_ok());
    }
}
