//! The websocket wire format: Evennia's v1 webclient frames (`[cmdname, args, kwargs]` as JSON
//! text, or MessagePack binary) decoded to [`Msg`] and encoded back, with outbound text rendered
//! from Evennia markup to HTML.

use serde_json::{Map, Value};

use super::markup::{self, RenderFlags};
use crate::link::Msg;

/// The subprotocol name of Evennia's webclient format.
pub const V1_EVENNIA: &str = "v1.evennia.com";

/// Why an inbound frame was refused; the text is shown to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not JSON / not MessagePack.
    #[error("input dropped: the frame is not valid {0}")]
    NotParsable(&'static str),
    /// Not `[cmdname, args, kwargs]`.
    #[error("input dropped: a frame must be [cmdname, args, kwargs]")]
    NotAnArray,
    /// cmdname not a string, or kwargs not an object.
    #[error("input dropped: {0}")]
    WrongType(&'static str),
}

/// Decode a v1 text frame.
pub fn decode_text(text: &str) -> Result<Msg, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(|_| FrameError::NotParsable("JSON"))?;
    normalise(value)
}

/// Decode a v1 binary frame (MessagePack of the same triple).
pub fn decode_binary(bytes: &[u8]) -> Result<Msg, FrameError> {
    let value: Value =
        rmp_serde::from_slice(bytes).map_err(|_| FrameError::NotParsable("MessagePack"))?;
    normalise(value)
}

/// Turn a decoded frame into a message, normalising as Evennia does: a scalar `args` becomes a
/// one-element list (`["text","look",{}]` works), an object `args` becomes kwargs, a missing
/// kwargs is `{}`; extra elements are ignored.
fn normalise(value: Value) -> Result<Msg, FrameError> {
    let Value::Array(mut items) = value else { return Err(FrameError::NotAnArray) };
    if items.is_empty() {
        return Err(FrameError::NotAnArray);
    }
    items.truncate(3);
    let mut it = items.into_iter();
    let cmd = match it.next() {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => return Err(FrameError::WrongType("cmdname must be a non-empty string")),
    };
    let mut kwargs = Map::new();
    let args = match it.next() {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a,
        Some(Value::Object(o)) => {
            kwargs = o;
            vec![]
        }
        Some(scalar) => vec![scalar],
    };
    match it.next() {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => kwargs.extend(o),
        Some(_) => return Err(FrameError::WrongType("kwargs must be an object")),
    }
    Ok(Msg { cmd, args, kwargs })
}

/// Longest string argument in a message, in characters (for the input length limit).
pub fn longest_string_arg(msg: &Msg) -> usize {
    msg.args.iter().filter_map(Value::as_str).map(|s| s.chars().count()).max().unwrap_or(0)
}

/// Encode an outbound message as a v1 JSON text frame. `text` and `prompt` have their first
/// argument rendered to HTML; the `options` kwarg is consumed; other commands pass through.
pub fn encode_v1(msg: &Msg, flags: RenderFlags) -> String {
    let mut kwargs = msg.kwargs.clone();
    kwargs.remove("options");
    let args: Vec<Value> = if matches!(msg.cmd.as_str(), "text" | "prompt") {
        msg.args
            .iter()
            .enumerate()
            .map(|(i, a)| match (i, a) {
                (0, Value::String(s)) => Value::String(markup::to_html(s, flags)),
                _ => a.clone(),
            })
            .collect()
    } else {
        msg.args.clone()
    };
    Value::Array(vec![Value::String(msg.cmd.clone()), Value::Array(args), Value::Object(kwargs)])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_text_frame_decodes_to_a_message() {
        let m = decode_text(r#"["text",["look"],{"cmdid":3}]"#).unwrap();
        assert_eq!(m.cmd, "text");
        assert_eq!(m.first_str(), Some("look"));
        assert_eq!(m.kwargs["cmdid"], json!(3));
    }

    #[test]
    fn a_scalar_args_and_missing_kwargs_are_normalised() {
        let m = decode_text(r#"["text","look"]"#).unwrap();
        assert_eq!(m.args, vec![json!("look")]);
        assert!(m.kwargs.is_empty());
    }

    #[test]
    fn malformed_frames_are_refused_with_a_reason() {
        assert_eq!(decode_text("look"), Err(FrameError::NotParsable("JSON")));
        assert_eq!(decode_text(r#"{"a":1}"#), Err(FrameError::NotAnArray));
        assert_eq!(decode_text("[]"), Err(FrameError::NotAnArray));
        assert!(matches!(decode_text(r#"[1,[],{}]"#), Err(FrameError::WrongType(_))));
        assert!(matches!(decode_text(r#"["text",[],5]"#), Err(FrameError::WrongType(_))));
        assert!(decode_binary(&[0xc1, 0xff, 0x00]).is_err());
    }

    #[test]
    fn a_messagepack_binary_frame_decodes_like_json() {
        let bytes = rmp_serde::to_vec(&json!(["text", ["say hi"], {}])).unwrap();
        assert_eq!(decode_binary(&bytes).unwrap().first_str(), Some("say hi"));
    }

    #[test]
    fn outbound_text_is_rendered_to_html_and_options_are_consumed() {
        let mut m = Msg::text("|rHi|n <you>");
        m.kwargs.insert("options".into(), json!({}));
        m.kwargs.insert("type".into(), json!("look"));
        let frame = encode_v1(&m, RenderFlags::default());
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v[0], "text");
        assert_eq!(v[1][0], r#"<span class="color-009">Hi</span> &lt;you&gt;"#);
        assert_eq!(v[2], json!({"type": "look"}));
    }

    /// A small deterministic generator, so the garbage below is the same on every run.
    fn garbage(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn garbage_never_panics_the_decoders() {
        let shapes: &[&[u8]] = &[b"[", b"[\"text\",", b"{", b"\x93", b"\x91\xa4text", b"\xdd\xff\xff\xff\xff"];
        for seed in 0..4000u64 {
            let mut bytes = shapes[seed as usize % shapes.len()].to_vec();
            bytes.extend(garbage(seed, (seed % 200) as usize));
            let _ = decode_binary(&bytes);
            let _ = decode_text(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn outbound_oob_passes_through() {
        let m = Msg::oob("logged_in", vec![], Map::new());
        assert_eq!(encode_v1(&m, RenderFlags::default()), r#"["logged_in",[],{}]"#);
    }
}
