//! Protocol flags as a session keeps them: every value bounded to `session_flag_value_bytes`
//! (Evennia keeps short strings), and the bytes a session's flags take, checked against
//! `session_flag_bytes`. Both the input functions (flags a client sets) and the session
//! lifecycle (flags a new or handed-over session arrives with) apply them.

use serde_json::Value;

use crate::link::ProtocolFlags;

/// A protocol flag value as a session keeps it (Evennia keeps short strings): a string is cut
/// to `max` bytes at a character boundary; a list or map longer than that as JSON becomes its
/// cut JSON text.
pub(super) fn bounded_flag(value: Value, max: usize) -> Value {
    let cut = |mut text: String| {
        if text.len() > max {
            let mut end = max;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Value::String(text)
    };
    match value {
        Value::String(text) => cut(text),
        Value::Array(_) | Value::Object(_) => {
            let text = value.to_string();
            if text.len() <= max {
                value
            } else {
                cut(text)
            }
        }
        scalar => scalar,
    }
}

/// Cut every flag value of a session handed to the server (a new connection, a hand-over) to
/// `max` bytes; true if one was cut. The portal fills them from what a client sent (its
/// browser string, its terminal type), so they are bounded like the ones a client sets.
pub(super) fn bound_flags(flags: &mut ProtocolFlags, max: usize) -> bool {
    let cut: Vec<(String, Value)> = flags
        .iter()
        .filter_map(|(k, v)| {
            let b = bounded_flag(v.clone(), max);
            (b != *v).then(|| (k.to_string(), b))
        })
        .collect();
    let changed = !cut.is_empty();
    for (k, v) in cut {
        flags.insert(k, v);
    }
    changed
}

/// Bytes a session's protocol flags take (names and encoded values).
pub(super) fn flags_bytes(flags: &ProtocolFlags) -> usize {
    flags.iter().map(|(k, v)| k.len() + crate::link::encoded_len(v)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flag_values_are_cut_at_a_character_boundary_and_small_structures_kept() {
        assert_eq!(bounded_flag(json!("ab"), 4), json!("ab"));
        assert_eq!(bounded_flag(json!("abcdef"), 4), json!("abcd"));
        assert_eq!(bounded_flag(json!("aéé"), 4), json!("aé"), "é is two bytes");
        assert_eq!(bounded_flag(json!({"0": 80}), 32), json!({"0": 80}));
        assert_eq!(bounded_flag(json!([1, 2, 3, 4, 5]), 4), json!("[1,2"));
        assert_eq!(bounded_flag(json!(true), 1), json!(true));
    }

    #[test]
    fn bounding_a_session_s_flags_cuts_only_the_long_ones_and_says_so() {
        let mut flags: ProtocolFlags =
            [("CLIENTNAME", json!("abcdefgh")), ("SCREENWIDTH", json!({"0": 80}))]
                .into_iter()
                .collect();
        assert!(!bound_flags(&mut flags, 12), "nothing over 12 bytes");
        assert!(bound_flags(&mut flags, 4), "the name was cut");
        assert_eq!(flags.get("CLIENTNAME"), Some(&json!("abcd")));
        assert_eq!(flags.get("SCREENWIDTH"), Some(&json!("{\"0\"")), "its JSON text, cut");
        assert!(!bound_flags(&mut flags, 4), "already bounded");
    }

    #[test]
    fn a_session_s_flags_take_their_names_and_encoded_values() {
        let flags: ProtocolFlags = [("AB", json!(true))].into_iter().collect();
        assert_eq!(flags_bytes(&flags), 2 + crate::link::encoded_len(&json!(true)));
        assert_eq!(flags_bytes(&ProtocolFlags::default()), 0);
    }
}
