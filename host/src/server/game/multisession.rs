//! The multisession policy: what Evennia's `MULTISESSION_MODE` and its limits decide
//! (EVENNIA-REFERENCE §6), as answers the login and puppeting code asks for instead of
//! comparing mode numbers itself.
//!
//! | mode | a second login of the account | puppeting what another of its sessions holds |
//! |------|-------------------------------|----------------------------------------------|
//! | 0    | closes the older sessions     | takes it over                                |
//! | 1    | keeps them                    | shares it                                    |
//! | 2    | keeps them                    | takes it over                                |
//! | 3    | keeps them                    | shares it                                    |

use crate::config::Config;

/// What puppeting a character that another session of the same account holds does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedPuppet {
    /// Both sessions play it (modes 1 and 3).
    Share,
    /// The other session lets go of it (modes 0 and 2).
    TakeOver,
}

/// `multisession_mode` with `max_nr_simultaneous_puppets` and `max_nr_characters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multisession {
    mode: u8,
    /// Puppets an account may hold at once (0: unlimited).
    max_puppets: u32,
    /// Characters an account may own (0: unlimited).
    max_characters: u32,
}

impl Multisession {
    /// The policy a configuration sets.
    pub fn new(cfg: &Config) -> Multisession {
        Multisession {
            mode: cfg.multisession_mode,
            max_puppets: cfg.max_nr_simultaneous_puppets,
            max_characters: cfg.max_nr_characters,
        }
    }

    /// Whether a login closes the account's other sessions (mode 0).
    pub fn login_closes_others(&self) -> bool {
        self.mode == 0
    }

    /// What puppeting a character another session of the account holds does.
    pub fn shared_puppet(&self) -> SharedPuppet {
        match self.mode {
            1 | 3 => SharedPuppet::Share,
            _ => SharedPuppet::TakeOver,
        }
    }

    /// The limit, if an account whose other sessions hold `held` other puppets may not take one
    /// more (MAX_NR_SIMULTANEOUS_PUPPETS; superusers are exempt).
    pub fn puppet_limit_reached(&self, held: usize, superuser: bool) -> Option<u32> {
        let limit = self.max_puppets;
        (!superuser && limit > 0 && held as u32 >= limit).then_some(limit)
    }

    /// The limit, if an account owning `count` characters may not create one more
    /// (MAX_NR_CHARACTERS; admins are exempt).
    pub fn character_limit_reached(&self, count: usize, admin: bool) -> Option<u32> {
        let max = self.max_characters;
        (max > 0 && !admin && count >= max as usize).then_some(max)
    }
}

impl super::Game {
    /// The multisession policy of the running configuration.
    pub fn multisession(&self) -> Multisession {
        Multisession::new(&self.cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: u8, max_puppets: u32, max_characters: u32) -> Multisession {
        let cfg = Config {
            multisession_mode: mode,
            max_nr_simultaneous_puppets: max_puppets,
            max_nr_characters: max_characters,
            ..Config::default()
        };
        Multisession::new(&cfg)
    }

    #[test]
    fn only_mode_0_closes_the_older_sessions_on_login() {
        assert!(policy(0, 1, 1).login_closes_others());
        for mode in 1..=3 {
            assert!(!policy(mode, 1, 1).login_closes_others(), "mode {mode}");
        }
    }

    #[test]
    fn modes_0_and_2_take_a_held_puppet_over_and_1_and_3_share_it() {
        assert_eq!(policy(0, 1, 1).shared_puppet(), SharedPuppet::TakeOver);
        assert_eq!(policy(1, 1, 1).shared_puppet(), SharedPuppet::Share);
        assert_eq!(policy(2, 1, 1).shared_puppet(), SharedPuppet::TakeOver);
        assert_eq!(policy(3, 1, 1).shared_puppet(), SharedPuppet::Share);
    }

    #[test]
    fn the_puppet_limit_counts_the_other_puppets_held_and_spares_superusers() {
        let p = policy(2, 2, 1);
        assert_eq!(p.puppet_limit_reached(1, false), None);
        assert_eq!(p.puppet_limit_reached(2, false), Some(2));
        assert_eq!(p.puppet_limit_reached(5, true), None);
        assert_eq!(policy(3, 0, 1).puppet_limit_reached(1000, false), None, "0 is unlimited");
    }

    #[test]
    fn the_default_allows_one_puppet_at_a_time() {
        let p = Multisession::new(&Config::default());
        assert_eq!(p.puppet_limit_reached(0, false), None);
        assert_eq!(p.puppet_limit_reached(1, false), Some(1));
    }

    #[test]
    fn the_character_limit_spares_admins_and_zero_is_unlimited() {
        let p = policy(0, 1, 3);
        assert_eq!(p.character_limit_reached(2, false), None);
        assert_eq!(p.character_limit_reached(3, false), Some(3));
        assert_eq!(p.character_limit_reached(3, true), None);
        assert_eq!(policy(0, 1, 0).character_limit_reached(99, false), None);
    }
}
