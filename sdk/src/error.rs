//! [`HostError`]: why the host refused a request (WIT `host-error`, 0.4.0).

use std::fmt;

/// Why the host refused a request. Each case carries the reason, worded for the player (it names
/// the limit or the thing concerned); a refusal changed nothing. `Display` gives the text the
/// host answered before 0.4.0 (the reason, after `quota: ` for a quota), so code that showed an
/// error with `format!("{e}")` or returned it from a command with `?` (a [`CmdResult`] is a
/// `Result<(), String>`) keeps working; code that matched on a text prefix matches on the case.
///
/// A failure of the host itself (its database) is not a refusal: it ends the command, which is
/// undone, and the player sees "An untrapped error occurred.".
///
/// [`CmdResult`]: crate::CmdResult
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// Over a configured limit; the text names the key (`guest_attr_value_bytes`, ...).
    Quota(String),
    /// An argument the host cannot use: empty, malformed (JSON, a lock string), a kind or key the
    /// host keeps for itself.
    Invalid(String),
    /// The object, account, session, channel, module, prototype or timer named does not exist.
    NotFound(String),
    /// The caller may not do this: a permission, an ownership, a ban, a lock.
    Denied(String),
    /// The game's rules refuse it as things stand (Evennia's refusal texts: already logged in, a
    /// name taken, a character in play, too many attempts, an object class's refusal, ...).
    Refused(String),
}

impl HostError {
    /// The reason, worded for the player (without the `quota: ` that `Display` puts first).
    pub fn reason(&self) -> &str {
        match self {
            Self::Quota(t)
            | Self::Invalid(t)
            | Self::NotFound(t)
            | Self::Denied(t)
            | Self::Refused(t) => t,
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Quota(t) => write!(f, "quota: {t}"),
            other => f.write_str(other.reason()),
        }
    }
}

impl std::error::Error for HostError {}

/// A refusal returned from a command with `?` is the text the player sees.
impl From<HostError> for String {
    fn from(e: HostError) -> String {
        e.to_string()
    }
}

impl From<crate::bindings::mudhost::game::types::HostError> for HostError {
    fn from(e: crate::bindings::mudhost::game::types::HostError) -> Self {
        use crate::bindings::mudhost::game::types::HostError as Wit;
        match e {
            Wit::Quota(t) => Self::Quota(t),
            Wit::Invalid(t) => Self::Invalid(t),
            Wit::NotFound(t) => Self::NotFound(t),
            Wit::Denied(t) => Self::Denied(t),
            Wit::Refused(t) => Self::Refused(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_text_the_host_answered_before_the_variant() {
        assert_eq!(HostError::Quota("over x (2)".into()).to_string(), "quota: over x (2)");
        assert_eq!(HostError::NotFound("no object #9".into()).to_string(), "no object #9");
        assert_eq!(HostError::Quota("over x (2)".into()).reason(), "over x (2)");
        let text: String = HostError::Denied("You may not.".into()).into();
        assert_eq!(text, "You may not.");
    }

    #[test]
    fn a_refusal_returned_with_a_question_mark_is_the_commands_text() {
        fn command() -> crate::CmdResult {
            Err(HostError::Refused("Channel pub already exists.".into()))?;
            Ok(())
        }
        assert_eq!(command(), Err("Channel pub already exists.".to_string()));
    }
}
