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
    /// Lists/objects nested deeper than the limit.
    #[error("input dropped: the frame is nested deeper than {0} levels")]
    TooDeep(usize),
}

/// Nesting the decoders themselves accept before the depth check (they recurse; this keeps the
/// recursion shallow enough for any task stack, debug builds included).
const DECODE_DEPTH: usize = crate::shared::limits::MAX_INPUT_DEPTH + 2;

/// Parse client JSON. serde_json stops at 128 levels by itself; deeper input is refused as too
/// deep (reported against `max_depth`).
pub fn parse_json(text: &str, max_depth: usize) -> Result<Value, FrameError> {
    serde_json::from_str(text).map_err(|e| {
        if e.to_string().contains("recursion limit") {
            FrameError::TooDeep(max_depth)
        } else {
            FrameError::NotParsable("JSON")
        }
    })
}

/// Decode a v1 text frame whose arguments nest at most `max_depth` levels.
pub fn decode_text(text: &str, max_depth: usize) -> Result<Msg, FrameError> {
    checked(normalise(parse_json(text, max_depth)?)?, max_depth)
}

/// Decode a v1 binary frame (MessagePack of the same triple) nesting at most `max_depth` levels.
pub fn decode_binary(bytes: &[u8], max_depth: usize) -> Result<Msg, FrameError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(DECODE_DEPTH);
    let value =
        serde::Deserialize::deserialize(&mut de).map_err(|e: rmp_serde::decode::Error| {
            if matches!(e, rmp_serde::decode::Error::DepthLimitExceeded) {
                FrameError::TooDeep(max_depth)
            } else {
                FrameError::NotParsable("MessagePack")
            }
        })?;
    checked(normalise(value)?, max_depth)
}

/// Refuse a message nested deeper than `max_depth`: everything accepted here must also cross
/// the link to the server and back (the link codec accepts far more, see `link::MAX_LINK_DEPTH`).
fn checked(msg: Msg, max_depth: usize) -> Result<Msg, FrameError> {
    if crate::link::msg_depth(&msg) > max_depth {
        return Err(FrameError::TooDeep(max_depth));
    }
    Ok(msg)
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

/// Longest string argument or keyword value in a message, in characters (for the input length
/// limit).
pub fn longest_string_arg(msg: &Msg) -> usize {
    // Keyword arguments too (`client_options {"version": ...}`): a client must not get past the
    // length limit by moving its text into a keyword.
    msg.args
        .iter()
        .chain(msg.kwargs.values())
        .filter_map(Value::as_str)
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
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
    use crate::link::Sessid;
    use serde_json::json;

    #[test]
    fn a_text_frame_decodes_to_a_message() {
        let m = decode_text(r#"["text",["look"],{"cmdid":3}]"#, 32).unwrap();
        assert_eq!(m.cmd, "text");
        assert_eq!(m.first_str(), Some("look"));
        assert_eq!(m.kwargs["cmdid"], json!(3));
    }

    #[test]
    fn a_scalar_args_and_missing_kwargs_are_normalised() {
        let m = decode_text(r#"["text","look"]"#, 32).unwrap();
        assert_eq!(m.args, vec![json!("look")]);
        assert!(m.kwargs.is_empty());
    }

    #[test]
    fn malformed_frames_are_refused_with_a_reason() {
        assert_eq!(decode_text("look", 32), Err(FrameError::NotParsable("JSON")));
        assert_eq!(decode_text(r#"{"a":1}"#, 32), Err(FrameError::NotAnArray));
        assert_eq!(decode_text("[]", 32), Err(FrameError::NotAnArray));
        assert!(matches!(decode_text(r#"[1,[],{}]"#, 32), Err(FrameError::WrongType(_))));
        assert!(matches!(decode_text(r#"["text",[],5]"#, 32), Err(FrameError::WrongType(_))));
        assert!(decode_binary(&[0xc1, 0xff, 0x00], 32).is_err());
    }

    #[test]
    fn a_messagepack_binary_frame_decodes_like_json() {
        let bytes = rmp_serde::to_vec(&json!(["text", ["say hi"], {}])).unwrap();
        assert_eq!(decode_binary(&bytes, 32).unwrap().first_str(), Some("say hi"));
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
        let shapes: &[&[u8]] =
            &[b"[", b"[\"text\",", b"{", b"\x93", b"\x91\xa4text", b"\xdd\xff\xff\xff\xff"];
        for seed in 0..4000u64 {
            let mut bytes = shapes[seed as usize % shapes.len()].to_vec();
            bytes.extend(garbage(seed, (seed % 200) as usize));
            let _ = decode_binary(&bytes, 32);
            let _ = decode_text(&String::from_utf8_lossy(&bytes), 32);
        }
    }

    /// `["text", [[[...]]], {}]` with `depth` list levels in args, as JSON and as MessagePack
    /// (built as bytes: a deep `Value` would itself be deep to build, print and drop).
    fn nested(depth: usize) -> (String, Vec<u8>) {
        let json = format!("[\"text\",{}\"x\"{},{{}}]", "[".repeat(depth), "]".repeat(depth));
        let mut mp = vec![0x93, 0xa4];
        mp.extend(b"text");
        mp.extend(std::iter::repeat_n(0x91u8, depth));
        mp.extend([0xa1, b'x', 0x80]);
        (json, mp)
    }

    #[test]
    fn deeply_nested_frames_are_refused_as_too_deep_in_both_formats() {
        for depth in [40, 200, 1000, 100_000] {
            let (json, mp) = nested(depth);
            assert_eq!(decode_text(&json, 32), Err(FrameError::TooDeep(32)), "json {depth}");
            assert_eq!(decode_binary(&mp, 32), Err(FrameError::TooDeep(32)), "msgpack {depth}");
        }
        // kwargs nested 100 deep: {"deep": {"k": {"k": ... 1}}}
        let mut mp = vec![0x93, 0xae];
        mp.extend(b"client_options");
        mp.push(0x90);
        mp.extend([0x81, 0xa4]);
        mp.extend(b"deep");
        for _ in 0..100 {
            mp.extend([0x81, 0xa1, b'k']);
        }
        mp.push(0x01);
        assert_eq!(decode_binary(&mp, 32), Err(FrameError::TooDeep(32)));
        let (json, mp) = nested(30);
        assert!(decode_text(&json, 32).is_ok());
        assert!(decode_binary(&mp, 32).is_ok());
    }

    /// Random values in the shape of client input, up to `depth` levels.
    fn random_value(x: &mut u64, depth: usize) -> Value {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        match (*x % 7, depth) {
            (0, _) => Value::Null,
            (1, _) => json!(x.is_multiple_of(2)),
            (2, _) => json!(*x as i64),
            (3, _) => json!((*x % 1000) as f64 / 7.0),
            (4, _) | (_, 0) => json!(format!("s{}", *x % 97)),
            (5, d) => Value::Array((0..(*x % 4)).map(|_| random_value(x, d - 1)).collect()),
            (_, d) => Value::Object(
                (0..(*x % 4)).map(|i| (format!("k{i}"), random_value(x, d - 1))).collect(),
            ),
        }
    }

    #[test]
    fn everything_the_wire_decoder_accepts_round_trips_the_link_codec() {
        use crate::link::{decode_body, encode_frame, PortalMsg, ServerMsg, SessionData};
        let mut x = 0x2545F4914F6CDD1Du64;
        let mut accepted = 0;
        for i in 0..3000 {
            // Build frames right at (and around) the depth limit, in both wire formats.
            let depth = 28 + i % 8;
            let mut arg = random_value(&mut x, 3);
            for _ in 0..depth {
                arg = json!([arg]);
            }
            let frame = json!(["client_options", [arg.clone()], { "k": random_value(&mut x, 4) }]);
            for msg in [
                decode_text(&frame.to_string(), 32),
                decode_binary(&rmp_serde::to_vec(&frame).unwrap(), 32),
            ]
            .into_iter()
            .flatten()
            {
                accepted += 1;
                let input = PortalMsg::Input { sessid: Sessid::new(1), seq: 2, msg: msg.clone() };
                let bytes = encode_frame(&input).unwrap();
                match decode_body::<PortalMsg>(&bytes[4..]).unwrap() {
                    PortalMsg::Input { msg: back, .. } => assert_eq!(back, msg),
                    other => panic!("{other:?}"),
                }
                // The server may store the kwargs in the session's flags and send them back.
                let mut data = SessionData::default();
                data.protocol_flags.extend(msg.kwargs.clone());
                let e = crate::link::Effects {
                    syncs: vec![data.clone()],
                    outputs: vec![(Sessid::new(1), msg.clone())],
                    ..Default::default()
                };
                let bytes = encode_frame(&ServerMsg::Effects { id: 1, effects: e }).unwrap();
                match decode_body::<ServerMsg>(&bytes[4..]).unwrap() {
                    ServerMsg::Effects { effects, .. } => {
                        assert_eq!(effects.syncs[0], data);
                        assert_eq!(effects.outputs[0].1, msg);
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        assert!(accepted > 1000, "the test must exercise accepted frames ({accepted})");
    }

    #[test]
    fn outbound_oob_passes_through() {
        let m = Msg::oob("logged_in", vec![], Map::new());
        assert_eq!(encode_v1(&m, RenderFlags::default()), r#"["logged_in",[],{}]"#);
    }
}
