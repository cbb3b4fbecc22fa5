//! Telnet option negotiation on top of `libmudtelnet`'s parser: which options the portal offers
//! and asks for, what the client's answers mean (NAWS, TTYPE/MTTS, CHARSET, SGA, EOR, GMCP,
//! MCCP2, MSSP, ECHO), and the session flags they set (Evennia's telnet protocol flags).
//!
//! libmudtelnet answers requests it did not make itself; an answer to a request *we* made
//! (ours are sent as raw negotiations, so its table does not know them) would make it reply
//! a second time, so such echoes are dropped here.

use std::collections::BTreeMap;

use libmudtelnet::bytes::Bytes;
use libmudtelnet::compatibility::{CompatibilityEntry, CompatibilityTable};
use libmudtelnet::events::TelnetEvents;
use libmudtelnet::telnet::op_command::{DO, DONT, EOR as CMD_EOR, GA, IAC, SB, SE, WILL, WONT};
use libmudtelnet::telnet::op_option::{ECHO, EOR, GMCP, MCCP2, MSSP, NAWS, SGA, TTYPE};
use libmudtelnet::Parser;
use serde_json::{json, Value};

/// The CHARSET option (RFC 2066); libmudtelnet has no constant for it.
pub const CHARSET: u8 = 42;
const CHARSET_REQUEST: u8 = 1;
const CHARSET_ACCEPTED: u8 = 2;
const TTYPE_IS: u8 = 0;
const TTYPE_SEND: u8 = 1;
const MSSP_VAR: u8 = 1;
const MSSP_VAL: u8 = 2;

/// MTTS bits (the third TTYPE answer, `MTTS <n>`) and the flags they set, as Evennia's ttype.py.
const MTTS: &[(u32, &str)] = &[
    (2048, "SSL"),
    (1024, "MSLP"),
    (512, "MNES"),
    (256, "TRUECOLOR"),
    (128, "PROXY"),
    (64, "SCREENREADER"),
    (32, "OSC_COLOR_PALETTE"),
    (16, "MOUSE_TRACKING"),
    (8, "XTERM256"),
    (4, "UTF-8"),
    (2, "VT100"),
    (1, "ANSI"),
];

/// Clients Evennia knows to draw xterm 256 colours by their TTYPE name alone.
const XTERM256_CLIENTS: &[&str] = &[
    "ATLANTIS",
    "CMUD",
    "KILDCLIENT",
    "MUDLET",
    "MUSHCLIENT",
    "PUTTY",
    "BEIP",
    "POTATO",
    "TINYFUGUE",
];

/// What the connection must do after bytes from the client were parsed, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Write these bytes (a negotiation answer or request).
    Send(Vec<u8>),
    /// Ordinary input bytes (for the line buffer).
    Data(Bytes),
    /// A GMCP message from the client (`Package.Name json`).
    Gmcp(Bytes),
    /// The client agreed to MCCP2: send `IAC SB MCCP2 IAC SE` and compress from then on.
    StartCompression,
    /// The client turned MCCP2 off: end the compressed stream.
    StopCompression,
    /// The client asked for MSSP: send the server status.
    SendMssp,
    /// The session flags changed (see [`Negotiator::flags`]).
    FlagsChanged,
}

/// Per-connection negotiation state.
pub struct Negotiator {
    parser: Parser,
    /// The request we made per option and still wait to see answered: the parser's own reply
    /// to that answer is a duplicate and is dropped.
    asked: [bool; 256],
    /// Bytes fed since the parser last produced anything. It keeps an unfinished subnegotiation
    /// in its buffer; past the limit the parser is replaced, so a client that opens one and never
    /// closes it cannot grow the portal's memory.
    unproductive: usize,
    max_subnegotiation: usize,
    flags: BTreeMap<String, Value>,
    ttype_step: u8,
    ttype_done: bool,
    naws_done: bool,
    /// Whether the client accepted EOR / GMCP, and suppressed go-ahead.
    pub eor: bool,
    /// GMCP is on.
    pub gmcp: bool,
    /// The client does not want IAC GA after prompts.
    pub nogoahead: bool,
    /// The client is told not to echo (password input).
    pub echo_off: bool,
    /// Commands and subnegotiations received, for the inbound budget.
    frames: u64,
}

impl Negotiator {
    /// A negotiator accepting subnegotiations of at most `max_subnegotiation` bytes.
    pub fn new(max_subnegotiation: usize) -> Negotiator {
        let mut table = CompatibilityTable::new();
        for opt in [SGA, ECHO, EOR, GMCP, MCCP2, MSSP, CHARSET] {
            table.support_local(opt);
        }
        // Client-side options: the parser only passes on subnegotiations of options it thinks
        // are enabled locally, so NAWS and TTYPE are marked so from the start.
        for opt in [NAWS, TTYPE] {
            table.set_option(opt, CompatibilityEntry::new(true, true, true, false));
        }
        let mut flags = BTreeMap::new();
        for (k, v) in [
            ("ENCODING", json!("utf-8")),
            ("SCREENREADER", json!(false)),
            ("INPUTDEBUG", json!(false)),
            ("RAW", json!(false)),
            ("NOCOLOR", json!(false)),
            ("LOCALECHO", json!(false)),
            ("TTYPE", json!(false)),
            ("NOGOAHEAD", json!(false)),
            ("OOB", json!(false)),
            ("MCCP", json!(false)),
            ("CLIENTNAME", json!("unknown")),
            ("SCREENWIDTH", json!({"0": 78})),
            ("SCREENHEIGHT", json!({"0": 45})),
        ] {
            flags.insert(k.to_string(), v);
        }
        Negotiator {
            parser: Parser::with_support(table),
            asked: [false; 256],
            unproductive: 0,
            max_subnegotiation,
            flags,
            ttype_step: 0,
            ttype_done: false,
            naws_done: false,
            eor: false,
            gmcp: false,
            nogoahead: false,
            echo_off: false,
            frames: 0,
        }
    }

    /// The opening negotiation: what the portal offers and asks for.
    pub fn start(&mut self) -> Vec<u8> {
        let mut out = vec![];
        for opt in [SGA, EOR, GMCP, MCCP2, MSSP, CHARSET] {
            out.extend(self.request(WILL, opt));
        }
        for opt in [NAWS, TTYPE] {
            out.extend(self.request(DO, opt));
        }
        out
    }

    fn request(&mut self, command: u8, option: u8) -> [u8; 3] {
        self.asked[option as usize] = true;
        [IAC, command, option]
    }

    /// Whether the answers that shape the first screen (terminal type, window size) are in.
    pub fn handshake_done(&self) -> bool {
        self.ttype_done && self.naws_done
    }

    /// Telnet commands and subnegotiations received since the last call.
    pub fn take_frames(&mut self) -> u64 {
        std::mem::take(&mut self.frames)
    }

    /// The session flags negotiated so far (Evennia's telnet protocol flags).
    pub fn flags(&self) -> &BTreeMap<String, Value> {
        &self.flags
    }

    /// Ask the client to stop (`off`) or resume local echo; None if already so.
    pub fn set_echo_off(&mut self, off: bool) -> Option<Vec<u8>> {
        if off == self.echo_off {
            return None;
        }
        self.echo_off = off;
        let mut e = self.parser.options.get_option(ECHO);
        e.local_state = false;
        self.parser.options.set_option(ECHO, e);
        Some(self.request(if off { WILL } else { WONT }, ECHO).to_vec())
    }

    /// The bytes that end a prompt: IAC EOR if the client asked for it, else IAC GA unless it
    /// suppressed go-ahead.
    pub fn prompt_end(&self) -> &'static [u8] {
        if self.eor {
            &[IAC, CMD_EOR]
        } else if self.nogoahead {
            &[]
        } else {
            &[IAC, GA]
        }
    }

    /// A subnegotiation frame (IAC doubled inside).
    pub fn subnegotiation(option: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![IAC, SB, option];
        for &b in data {
            out.push(b);
            if b == IAC {
                out.push(IAC);
            }
        }
        out.extend([IAC, SE]);
        out
    }

    /// The MSSP subnegotiation for these variables.
    pub fn mssp(vars: &[(&str, String)]) -> Vec<u8> {
        let mut data = vec![];
        for (k, v) in vars {
            data.push(MSSP_VAR);
            data.extend(k.bytes().filter(|b| *b > 2));
            data.push(MSSP_VAL);
            data.extend(v.bytes().filter(|b| *b > 2));
        }
        Self::subnegotiation(MSSP, &data)
    }

    /// Parse bytes from the client.
    pub fn receive(&mut self, data: &[u8], out: &mut Vec<Event>) {
        let events = self.parser.receive(data);
        // Every command and subnegotiation is a frame of the inbound budget: each costs work
        // (an answer, a zlib stream, a flag update), however few bytes it takes.
        self.frames += events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    TelnetEvents::Negotiation(_)
                        | TelnetEvents::Subnegotiation(_)
                        | TelnetEvents::IAC(_)
                )
            })
            .count() as u64;
        if events.is_empty() {
            self.unproductive += data.len();
            if self.unproductive > self.max_subnegotiation {
                tracing::debug!(
                    bytes = self.unproductive,
                    "unfinished telnet subnegotiation over the limit; discarded"
                );
                let table = self.parser.options.clone();
                self.parser = Parser::with_support(table);
                self.unproductive = 0;
            }
            return;
        }
        self.unproductive = 0;
        let mut events = events.into_iter().peekable();
        while let Some(ev) = events.next() {
            match ev {
                TelnetEvents::DataSend(bytes) => {
                    // The parser's answer to the answer of a request we made: already said.
                    if let Some(TelnetEvents::Negotiation(n)) = events.peek() {
                        if self.asked[n.option as usize] {
                            continue;
                        }
                    }
                    out.push(Event::Send(bytes.to_vec()));
                }
                TelnetEvents::DataReceive(bytes) => out.push(Event::Data(bytes)),
                TelnetEvents::Negotiation(n) => {
                    self.asked[n.option as usize] = false;
                    self.negotiated(n.command, n.option, out);
                }
                TelnetEvents::Subnegotiation(sub) => {
                    let data = Parser::unescape_iac(sub.buffer);
                    self.subnegotiated(sub.option, &data, out);
                }
                // Clients never compress towards us (no MCCP3): what follows is plain telnet.
                TelnetEvents::DecompressImmediate(rest) => self.receive(&rest, out),
                TelnetEvents::IAC(_) => {}
            }
        }
    }

    fn set_flag(&mut self, key: &str, value: Value, out: &mut Vec<Event>) {
        if self.flags.get(key) != Some(&value) {
            self.flags.insert(key.to_string(), value);
            if !out.contains(&Event::FlagsChanged) {
                out.push(Event::FlagsChanged);
            }
        }
    }

    fn negotiated(&mut self, command: u8, option: u8, out: &mut Vec<Event>) {
        let on = matches!(command, DO | WILL);
        match (command, option) {
            (DO | DONT, SGA) => {
                self.nogoahead = on;
                self.set_flag("NOGOAHEAD", json!(on), out);
            }
            (DO | DONT, EOR) => self.eor = on,
            (DO | DONT, GMCP) => {
                self.gmcp = on;
                self.set_flag("OOB", json!(on), out);
            }
            (DO, MCCP2) => {
                out.push(Event::StartCompression);
                self.set_flag("MCCP", json!(true), out);
            }
            (DONT, MCCP2) => {
                out.push(Event::StopCompression);
                self.set_flag("MCCP", json!(false), out);
            }
            (DO, MSSP) => out.push(Event::SendMssp),
            (DO, CHARSET) => out.push(Event::Send(Self::subnegotiation(
                CHARSET,
                &[&[CHARSET_REQUEST][..], b";UTF-8"].concat(),
            ))),
            (WILL, TTYPE) => out.push(Event::Send(Self::subnegotiation(TTYPE, &[TTYPE_SEND]))),
            (WONT, TTYPE) => {
                self.ttype_done = true;
                self.set_flag("TTYPE", json!(false), out);
            }
            (WONT, NAWS) => self.naws_done = true,
            _ => {}
        }
    }

    fn subnegotiated(&mut self, option: u8, data: &[u8], out: &mut Vec<Event>) {
        match option {
            NAWS => {
                if let [w1, w0, h1, h0] = *data {
                    let (w, h) = (u16::from_be_bytes([w1, w0]), u16::from_be_bytes([h1, h0]));
                    // 0 means "unknown" (RFC 1073): keep the default then.
                    if w > 0 {
                        self.set_flag("SCREENWIDTH", json!({"0": w}), out);
                    }
                    if h > 0 {
                        self.set_flag("SCREENHEIGHT", json!({"0": h}), out);
                    }
                }
                self.naws_done = true;
            }
            TTYPE => {
                if let [TTYPE_IS, rest @ ..] = data {
                    let answer = String::from_utf8_lossy(rest).trim().to_string();
                    self.ttype(&answer, out);
                }
            }
            CHARSET => {
                if let [CHARSET_ACCEPTED, rest @ ..] = data {
                    if String::from_utf8_lossy(rest).trim().eq_ignore_ascii_case("utf-8") {
                        self.set_flag("UTF-8", json!(true), out);
                        self.set_flag("ENCODING", json!("utf-8"), out);
                    }
                }
            }
            GMCP => out.push(Event::Gmcp(Bytes::copy_from_slice(data))),
            _ => {}
        }
    }

    /// One TTYPE answer: the client name, then the terminal type, then the MTTS bits (Evennia's
    /// ttype.py, step by step).
    fn ttype(&mut self, answer: &str, out: &mut Vec<Event>) {
        if self.ttype_done {
            return;
        }
        self.ttype_step += 1;
        let upper = answer.to_uppercase();
        match self.ttype_step {
            1 => {
                let mut xterm256 = upper.starts_with("XTERM")
                    || upper.ends_with("-256COLOR")
                    || XTERM256_CLIENTS.contains(&upper.as_str());
                if let Some(version) = upper.strip_prefix("MUDLET") {
                    xterm256 = version.trim() >= "1.1";
                }
                // Every client that speaks TTYPE at all draws ANSI colour.
                self.set_flag("ANSI", json!(true), out);
                self.set_flag("XTERM256", json!(xterm256), out);
                self.set_flag("CLIENTNAME", json!(upper.chars().take(64).collect::<String>()), out);
                out.push(Event::Send(Self::subnegotiation(TTYPE, &[TTYPE_SEND])));
            }
            2 => {
                let xterm256 = upper.ends_with("-256COLOR")
                    || (upper.ends_with("XTERM") && !upper.ends_with("-COLOR"));
                if xterm256 {
                    self.set_flag("ANSI", json!(true), out);
                    self.set_flag("XTERM256", json!(true), out);
                }
                self.set_flag("TERM", json!(answer.chars().take(64).collect::<String>()), out);
                out.push(Event::Send(Self::subnegotiation(TTYPE, &[TTYPE_SEND])));
            }
            _ => {
                if let Some(bits) = upper.strip_prefix("MTTS") {
                    let bits = bits.trim();
                    if let Ok(n) = bits.parse::<u32>() {
                        for (bit, name) in MTTS {
                            if n & bit != 0 {
                                self.set_flag(name, json!(true), out);
                            }
                        }
                    } else if !bits.is_empty() && bits.len() <= 32 {
                        self.set_flag(bits, json!(true), out);
                    }
                }
                self.ttype_done = true;
                self.set_flag("TTYPE", json!(true), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(n: &mut Negotiator, bytes: &[u8]) -> Vec<Event> {
        let mut out = vec![];
        n.receive(bytes, &mut out);
        out
    }

    fn sent(events: &[Event]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter_map(|e| if let Event::Send(b) = e { Some(b.clone()) } else { None })
            .collect()
    }

    #[test]
    fn answers_to_our_requests_are_not_answered_again() {
        let mut n = Negotiator::new(1024);
        n.start();
        let ev = feed(&mut n, &[IAC, DO, SGA, IAC, DO, GMCP, IAC, WILL, NAWS]);
        assert!(sent(&ev).is_empty(), "{ev:?}");
        assert!(n.nogoahead && n.gmcp);
        // An unsolicited request is still answered (refused: we do not do it).
        let ev = feed(&mut n, &[IAC, WILL, 99]);
        assert_eq!(sent(&ev), [vec![IAC, DONT, 99]]);
    }

    #[test]
    fn naws_sets_screen_size_and_ttype_walks_name_terminal_mtts() {
        let mut n = Negotiator::new(1024);
        n.start();
        feed(&mut n, &[IAC, WILL, NAWS, IAC, SB, NAWS, 0, 120, 0, 40, IAC, SE]);
        assert_eq!(n.flags()["SCREENWIDTH"], json!({"0": 120}));
        assert_eq!(n.flags()["SCREENHEIGHT"], json!({"0": 40}));
        // A width of 255 arrives with its IAC doubled.
        feed(&mut n, &[IAC, SB, NAWS, 0, 255, 255, 0, 50, IAC, SE]);
        assert_eq!(n.flags()["SCREENWIDTH"], json!({"0": 255}));
        let ev = feed(&mut n, &[IAC, WILL, TTYPE]);
        assert_eq!(sent(&ev), [vec![IAC, SB, TTYPE, TTYPE_SEND, IAC, SE]]);
        feed(&mut n, &[&[IAC, SB, TTYPE, TTYPE_IS][..], b"tintin++", &[IAC, SE]].concat());
        assert_eq!(n.flags()["CLIENTNAME"], "TINTIN++");
        assert_eq!(n.flags()["XTERM256"], false);
        feed(&mut n, &[&[IAC, SB, TTYPE, TTYPE_IS][..], b"xterm-256color", &[IAC, SE]].concat());
        assert_eq!(n.flags()["XTERM256"], true);
        assert!(!n.handshake_done());
        feed(&mut n, &[&[IAC, SB, TTYPE, TTYPE_IS][..], b"MTTS 2381", &[IAC, SE]].concat());
        // 2381 = 2048 + 256 + 64 + 8 + 4 + 1
        for f in ["SSL", "TRUECOLOR", "SCREENREADER", "XTERM256", "UTF-8", "ANSI", "TTYPE"] {
            assert_eq!(n.flags()[f], true, "{f}");
        }
        assert!(!n.flags().contains_key("VT100"));
        assert!(n.handshake_done());
    }

    #[test]
    fn an_endless_subnegotiation_is_dropped_and_the_stream_recovers() {
        let mut n = Negotiator::new(1000);
        n.start();
        feed(&mut n, &[IAC, DO, GMCP, IAC, SB, GMCP]);
        for _ in 0..1000 {
            feed(&mut n, &[b'x'; 100]);
        }
        // After the discard the stream is plain data again.
        let ev = feed(&mut n, b"look\r\n");
        assert!(
            ev.iter().any(|e| matches!(e, Event::Data(d) if d.ends_with(b"look\r\n"))),
            "{ev:?}"
        );
        // And GMCP still works.
        let ev = feed(&mut n, &[&[IAC, SB, GMCP][..], b"Core.Ping", &[IAC, SE]].concat());
        assert_eq!(ev, [Event::Gmcp(Bytes::from_static(b"Core.Ping"))]);
    }

    #[test]
    fn echo_is_turned_off_and_on_once_each() {
        let mut n = Negotiator::new(1024);
        assert_eq!(n.set_echo_off(true), Some(vec![IAC, WILL, ECHO]));
        assert_eq!(n.set_echo_off(true), None);
        assert!(sent(&feed(&mut n, &[IAC, DO, ECHO])).is_empty());
        assert_eq!(n.set_echo_off(false), Some(vec![IAC, WONT, ECHO]));
        assert!(sent(&feed(&mut n, &[IAC, DONT, ECHO])).is_empty());
    }

    #[test]
    fn mccp2_charset_and_mssp_requests_become_events() {
        let mut n = Negotiator::new(1024);
        n.start();
        let ev = feed(&mut n, &[IAC, DO, MCCP2, IAC, DO, MSSP, IAC, DO, CHARSET]);
        assert!(ev.contains(&Event::StartCompression));
        assert!(ev.contains(&Event::SendMssp));
        assert!(sent(&ev)
            .contains(&[&[IAC, SB, CHARSET, CHARSET_REQUEST][..], b";UTF-8", &[IAC, SE]].concat()));
        feed(&mut n, &[&[IAC, SB, CHARSET, CHARSET_ACCEPTED][..], b"UTF-8", &[IAC, SE]].concat());
        assert_eq!(n.flags()["UTF-8"], true);
        assert_eq!(
            Negotiator::mssp(&[("NAME", "x".into())]),
            [&[IAC, SB, MSSP, MSSP_VAR][..], b"NAME", &[MSSP_VAL], b"x", &[IAC, SE]].concat()
        );
    }
}
