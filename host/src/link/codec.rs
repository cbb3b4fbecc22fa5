//! Framing: a 4-byte big-endian length, then a MessagePack body. Encoding (several frames into
//! one buffer for one write), reading with a size cap (allocating only what arrives) and
//! decoding with the link's depth limit; the nesting depth of client input.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{LinkError, Msg, MAX_FRAME_BYTES, MAX_LINK_DEPTH};

/// Encode one message as a complete frame (length prefix included).
pub fn encode_frame<T: Serialize>(msg: &T) -> Result<Vec<u8>, LinkError> {
    let mut buf = Vec::new();
    encode_frame_into(&mut buf, msg)?;
    Ok(buf)
}

/// Append one message as a complete frame to `buf` (several frames queued together then go out
/// in one write); on an error `buf` is as it was.
pub fn encode_frame_into<T: Serialize>(buf: &mut Vec<u8>, msg: &T) -> Result<(), LinkError> {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; 4]);
    if let Err(e) = rmp_serde::encode::write(buf, msg) {
        buf.truncate(start);
        return Err(e.into());
    }
    let len = buf.len() - start - 4;
    if len > MAX_FRAME_BYTES {
        buf.truncate(start);
        return Err(LinkError::TooLarge(len));
    }
    buf[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(())
}

/// How many bytes of queued frames a link writer gathers into one write.
pub const WRITE_BATCH_BYTES: usize = 256 * 1024;

/// Read buffer of a link reader: frames that arrive together are taken in with one read.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Write one message as a single frame.
pub async fn write_frame<W, T>(w: &mut W, msg: &T) -> Result<(), LinkError>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let frame = encode_frame(msg)?;
    w.write_all(&frame).await?;
    Ok(())
}

/// Read one message; `Ok(None)` on a clean end of stream (a truncated last frame counts as end).
pub async fn read_frame<R, T>(r: &mut R) -> Result<Option<T>, LinkError>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    read_frame_limited(r, MAX_FRAME_BYTES).await
}

/// [`read_frame`] with a smaller size limit (for the unauthenticated first frame). The body is
/// read as it arrives instead of allocating the announced length up front, so a peer cannot make
/// us reserve memory it never sends.
pub async fn read_frame_limited<R, T>(r: &mut R, max: usize) -> Result<Option<T>, LinkError>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(LinkError::TooLarge(len));
    }
    let mut body = Vec::with_capacity(len.min(64 * 1024));
    let got = (&mut *r).take(len as u64).read_to_end(&mut body).await?;
    if got < len {
        return Ok(None);
    }
    Ok(Some(decode_body(&body)?))
}

/// Decode a frame body with the link's depth limit.
pub fn decode_body<T: for<'de> Deserialize<'de>>(
    body: &[u8],
) -> Result<T, rmp_serde::decode::Error> {
    let mut de = rmp_serde::Deserializer::from_read_ref(body);
    de.set_max_depth(MAX_LINK_DEPTH);
    T::deserialize(&mut de)
}

/// Nesting depth of a JSON value (a scalar is 0, `[]` is 1, `[[1]]` is 2).
pub fn json_depth(v: &Value) -> usize {
    // Iterative, so a deep value cannot overflow the stack while it is measured.
    let mut max = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(a) => {
                max = max.max(d + 1);
                stack.extend(a.iter().map(|x| (x, d + 1)));
            }
            Value::Object(o) => {
                max = max.max(d + 1);
                stack.extend(o.values().map(|x| (x, d + 1)));
            }
            _ => {}
        }
    }
    max
}

/// Nesting depth of a message's arguments (the deepest of args and kwargs, counting the list /
/// object that holds them).
pub fn msg_depth(msg: &Msg) -> usize {
    let args = msg.args.iter().map(json_depth).max().unwrap_or(0);
    let kwargs = msg.kwargs.values().map(json_depth).max().unwrap_or(0);
    1 + args.max(kwargs)
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;
    use crate::link::{PortalMsg, ServerMsg, Sessid, LINK_VERSION, MAX_HELLO_BYTES};

    #[tokio::test]
    async fn a_frame_round_trips_through_a_pipe() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let msg = PortalMsg::Input { sessid: Sessid::new(7), seq: 3, msg: Msg::text("look") };
        write_frame(&mut a, &msg).await.unwrap();
        let got: PortalMsg = read_frame(&mut b).await.unwrap().unwrap();
        match got {
            PortalMsg::Input { sessid, seq: 3, msg } if sessid == Sessid::new(7) => {
                assert_eq!(msg, Msg::text("look"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_truncated_last_frame_reads_as_end_of_stream() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let frame = encode_frame(&ServerMsg::Synced).unwrap();
        a.write_all(&frame[..frame.len() - 1]).await.unwrap();
        drop(a);
        let got: Option<ServerMsg> = read_frame(&mut b).await.unwrap();
        assert!(got.is_none());
    }

    #[tokio::test]
    async fn an_oversized_length_is_refused_without_allocating() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        let got: Result<Option<ServerMsg>, _> = read_frame(&mut b).await;
        assert!(matches!(got, Err(LinkError::TooLarge(_))));
    }

    #[tokio::test]
    async fn garbage_frames_are_errors_not_panics_and_the_next_frame_still_reads() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let good = encode_frame(&PortalMsg::Input {
            sessid: Sessid::new(1),
            seq: 2,
            msg: Msg::text("ok"),
        })
        .unwrap();
        let mut refused = 0;
        for len in 0..2000usize {
            let mut body = Vec::with_capacity(len % 300);
            for _ in 0..len % 300 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                body.push((x >> 24) as u8);
            }
            let mut frame = (body.len() as u32).to_be_bytes().to_vec();
            frame.extend(&body);
            let mut r = &frame[..];
            refused += usize::from(read_frame::<_, ServerMsg>(&mut r).await.is_err());
            // A garbage body is consumed whole, so the frame after it reads intact.
            frame.extend(&good);
            let mut r = &frame[..];
            refused += usize::from(read_frame::<_, PortalMsg>(&mut r).await.is_err());
            match read_frame::<_, PortalMsg>(&mut r).await {
                Ok(Some(PortalMsg::Input { sessid, seq: 2, msg })) if sessid == Sessid::new(1) => {
                    assert_eq!(msg, Msg::text("ok"))
                }
                other => panic!("the frame after {len} garbage bytes read as {other:?}"),
            }
        }
        // Random bytes are almost never a valid message: the decoder refuses them.
        assert!(refused > 3000, "only {refused} of 4000 garbage frames were refused");
    }

    #[tokio::test]
    async fn a_length_prefix_alone_allocates_nothing_and_the_hello_cap_holds() {
        // Claims 60 MiB, sends 10 bytes: a truncated frame, read without reserving 60 MiB.
        let mut frame = (60u32 * 1024 * 1024).to_be_bytes().to_vec();
        frame.extend([0u8; 10]);
        let mut r = &frame[..];
        assert!(matches!(read_frame::<_, ServerMsg>(&mut r).await, Ok(None)));
        // Before Hello only a small frame is read at all.
        let hello =
            encode_frame(&ServerMsg::Hello { version: LINK_VERSION, pid: 1, secret: "s".into() })
                .unwrap();
        let mut r = &hello[..];
        assert!(matches!(
            read_frame_limited::<_, ServerMsg>(&mut r, MAX_HELLO_BYTES).await,
            Ok(Some(_))
        ));
        let big = encode_frame(&ServerMsg::RequestReload { reason: "x".repeat(MAX_HELLO_BYTES) })
            .unwrap();
        let mut r = &big[..];
        assert!(matches!(
            read_frame_limited::<_, ServerMsg>(&mut r, MAX_HELLO_BYTES).await,
            Err(LinkError::TooLarge(_))
        ));
    }
}
