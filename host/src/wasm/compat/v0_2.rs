//! The `mudhost:game@0.2.1` host imports (a 0.2.0 module's imports match them by semver): 0.3.0's,
//! taken as they are, but for the records 0.2.1 defines in its own `host` (`object-brief`,
//! `contents-packed`, `multisession-policy`); the `types` records are shared (see
//! [`bindings::v0_2`](super::super::bindings::v0_2)).

use super::super::bindings::types;
use super::super::bindings::v0_2::mudhost::game::host::{
    self as v0_2, ContentsPacked, MultisessionPolicy, ObjectBrief,
};
use super::super::bindings::v0_3::mudhost::game::host as v0_3;

record_from!(v0_3 => v0_2: ObjectBrief, ContentsPacked, MultisessionPolicy);

v0_2_imports! { delegate! { v0_2 => v0_3::Host, refusals kept {} } }
