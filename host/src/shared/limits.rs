//! Fixed bounds on client input that more than one part of the host applies: the config checks
//! its keys against them and the link's decoder is sized by them. Kept here, below both, so the
//! config and the link need not import each other.

/// Upper bound for the configurable input nesting depth (`max_input_depth`), kept well under
/// the link decoder's depth (`link::MAX_LINK_DEPTH`) so everything the portal accepts also
/// decodes on the server.
pub const MAX_INPUT_DEPTH: usize = 128;
