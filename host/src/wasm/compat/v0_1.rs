//! The `mudhost:game@0.1.0` host imports (cmdset modules only): 0.3.0's, taken as they are, but
//! for the records 0.1.0 defines in its own `host` (`object-brief`, `multisession-policy`).

use super::super::bindings::types;
use super::super::bindings::v0_1::mudhost::game::host::{
    self as v0_1, MultisessionPolicy, ObjectBrief,
};
use super::super::bindings::v0_3::mudhost::game::host as v0_3;

record_from!(v0_3 => v0_1: ObjectBrief, MultisessionPolicy);

v0_1_imports! { delegate! { v0_1 => v0_3::Host, refusals kept {} } }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multisession_policy_keeps_every_field_on_its_way_to_0_1_0() {
        let policy = v0_3::MultisessionPolicy {
            mode: 2,
            max_nr_characters: 3,
            max_nr_simultaneous_puppets: 4,
            auto_create_character_with_account: true,
            auto_puppet_on_login: false,
        };
        let old: MultisessionPolicy = policy.into();
        assert_eq!(
            (
                old.mode,
                old.max_nr_characters,
                old.max_nr_simultaneous_puppets,
                old.auto_create_character_with_account,
                old.auto_puppet_on_login,
            ),
            (2, 3, 4, true, false)
        );
    }
}
