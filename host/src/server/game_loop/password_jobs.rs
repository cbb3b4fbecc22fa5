//! The password work a unit defers off the game loop (a login's check, a new account's hash, a
//! password change) as jobs for the hashing pool, each sending its outcome back to the loop as
//! an event. The loop submits them; when the pool's queue is full it answers the request itself.

use tokio::sync::mpsc;

use super::GameEvent;
use crate::link::Sessid;
use crate::server::game::Deferred;
use crate::server::hashing::{HashJob, PasswordHasher};

/// What a player changing their password with a wrong old one is told (Evennia's text).
const WRONG_OLD_PASSWORD: &str = "The specified old password isn't correct.";

/// Which request a job serves: what the loop answers when the pool refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A login or an account creation: the game's "busy, try again".
    Login,
    /// A password change: refused with the pool's busy text.
    Change,
}

/// A job for the hashing pool and the request it serves.
pub struct PasswordJob {
    /// The session that asked.
    pub sessid: Sessid,
    /// The input whose ack waits for the job's outcome.
    pub ack: Option<(Sessid, u64)>,
    /// Which request it serves.
    pub kind: JobKind,
    /// The job itself, run on a hashing thread.
    pub run: HashJob,
}

/// The hashing pool's job for a piece of deferred work; None when it is not password work (a
/// reload request).
pub fn password_job(work: Deferred, events: mpsc::Sender<GameEvent>) -> Option<PasswordJob> {
    Some(match work {
        Deferred::CheckPassword { sessid, account, hash, password, ack } => PasswordJob {
            sessid,
            ack,
            kind: JobKind::Login,
            run: Box::new(move |hasher: &mut PasswordHasher| {
                let ok = hasher.verify(hash.as_deref(), &password);
                let _ =
                    events.blocking_send(GameEvent::PasswordChecked { sessid, account, ok, ack });
            }),
        },
        Deferred::HashPassword { sessid, name, password, ack } => PasswordJob {
            sessid,
            ack,
            kind: JobKind::Login,
            run: Box::new(move |hasher: &mut PasswordHasher| {
                let hash = hasher.hash(&password);
                let _ = events.blocking_send(GameEvent::PasswordHashed { sessid, name, hash, ack });
            }),
        },
        Deferred::ChangePassword { sessid, uid, hash, old, new, invalid, ack } => PasswordJob {
            sessid,
            ack,
            kind: JobKind::Change,
            run: Box::new(move |hasher: &mut PasswordHasher| {
                // Evennia's order: a wrong old password is reported before a bad new one.
                let outcome = if !hasher.verify(Some(&hash), &old) {
                    Err(WRONG_OLD_PASSWORD.to_string())
                } else if let Some(why) = invalid {
                    Err(why)
                } else {
                    hasher.hash(&new).map_err(|e| {
                        tracing::error!(%sessid, cause = %e, "password hashing failed");
                        "|rAn error occurred. Please e-mail an admin if the problem persists.|n"
                            .to_string()
                    })
                };
                let _ =
                    events.blocking_send(GameEvent::PasswordChanged { sessid, uid, outcome, ack });
            }),
        },
        Deferred::Reload { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::ids::AccountId;

    /// Run the job for `work` on a cheap hasher; the event it sends back.
    fn run(work: Deferred) -> (PasswordJob, GameEvent) {
        let (tx, mut rx) = mpsc::channel(1);
        let mut job = password_job(work, tx).expect("a password job");
        let run = std::mem::replace(&mut job.run, Box::new(|_: &mut PasswordHasher| {}));
        run(&mut PasswordHasher::new(64, 1));
        (job, rx.try_recv().expect("the job answers"))
    }

    fn hash_of(password: &str) -> String {
        PasswordHasher::new(64, 1).hash(password).unwrap()
    }

    #[test]
    fn a_login_check_answers_whether_the_password_matches_with_its_ack() {
        let ack = Some((Sessid::new(3), 9));
        for (given, right) in [("secret", true), ("guess", false)] {
            let work = Deferred::CheckPassword {
                sessid: Sessid::new(3),
                account: Some(AccountId::new(7)),
                hash: Some(hash_of("secret")),
                password: given.into(),
                ack,
            };
            let (job, event) = run(work);
            assert_eq!((job.sessid, job.ack, job.kind), (Sessid::new(3), ack, JobKind::Login));
            let GameEvent::PasswordChecked { sessid, account, ok, ack: a } = event else {
                panic!("a check's answer")
            };
            assert_eq!(
                (sessid, account, ok, a),
                (Sessid::new(3), Some(AccountId::new(7)), right, ack),
                "{given}"
            );
        }
    }

    #[test]
    fn an_unknown_account_s_check_fails() {
        let work = Deferred::CheckPassword {
            sessid: Sessid::new(1),
            account: None,
            hash: None,
            password: "anything".into(),
            ack: None,
        };
        assert!(matches!(run(work).1, GameEvent::PasswordChecked { ok: false, .. }));
    }

    #[test]
    fn a_new_account_s_hash_verifies_its_password() {
        let work = Deferred::HashPassword {
            sessid: Sessid::new(2),
            name: "ann".into(),
            password: "pw1".into(),
            ack: Some((Sessid::new(2), 1)),
        };
        let GameEvent::PasswordHashed { name, hash: Ok(hash), .. } = run(work).1 else {
            panic!("a hash")
        };
        assert_eq!(name, "ann");
        assert!(PasswordHasher::new(64, 1).verify(Some(&hash), "pw1"));
    }

    #[test]
    fn a_password_change_reports_a_wrong_old_password_before_a_bad_new_one() {
        let change = |old: &str, invalid: Option<&str>| Deferred::ChangePassword {
            sessid: Sessid::new(4),
            uid: AccountId::new(8),
            hash: hash_of("old"),
            old: old.into(),
            new: "new".into(),
            invalid: invalid.map(str::to_owned),
            ack: Some((Sessid::new(4), 2)),
        };
        let outcome = |work| match run(work) {
            (job, GameEvent::PasswordChanged { uid, outcome, .. }) if uid == AccountId::new(8) => {
                assert_eq!(job.kind, JobKind::Change);
                outcome
            }
            _ => panic!("a change's answer"),
        };
        assert_eq!(outcome(change("wrong", Some("too short"))), Err(WRONG_OLD_PASSWORD.into()));
        assert_eq!(outcome(change("old", Some("too short"))), Err("too short".into()));
        let hash = outcome(change("old", None)).expect("the new hash");
        assert!(PasswordHasher::new(64, 1).verify(Some(&hash), "new"));
    }

    #[test]
    fn a_reload_request_is_not_a_password_job() {
        let (tx, _rx) = mpsc::channel(1);
        let work = Deferred::Reload { reason: "r".into(), by: Sessid::new(1) };
        assert!(password_job(work, tx).is_none());
    }
}
