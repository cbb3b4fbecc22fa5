//! The telnet input path: option negotiation (libmudtelnet's parser under our subnegotiation
//! cap), then line assembly and GMCP decoding of what it hands on. The first byte cuts the rest
//! into two reads, as a stream arrives in pieces; the line buffer must never hold more than its
//! limit, whatever arrives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mudhost::portal::telnet::gmcp;
use mudhost::portal::telnet::lines::{Line, LineBuffer};
use mudhost::portal::telnet::options::{Event, Negotiator};

const MAX_CHARS: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let cut = (cut as usize).min(rest.len());
    let mut negotiator = Negotiator::new(1024);
    let _ = negotiator.start();
    let mut lines = LineBuffer::new(MAX_CHARS);
    let (mut events, mut out) = (Vec::new(), Vec::new());
    for part in [&rest[..cut], &rest[cut..]] {
        negotiator.receive(part, &mut events);
        for event in events.drain(..) {
            match event {
                Event::Data(bytes) => lines.push(&bytes, &mut out),
                Event::Gmcp(payload) => {
                    let _ = gmcp::decode(&payload, 32);
                }
                _ => {}
            }
        }
        assert!(lines.held() <= MAX_CHARS * 4, "the line buffer went over its limit");
        for line in out.drain(..) {
            if let Line::Text(text) = line {
                assert!(text.chars().count() <= MAX_CHARS, "a line over the limit came through");
            }
        }
    }
    let _ = negotiator.flags();
});
