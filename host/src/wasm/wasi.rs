//! The WASI a guest sees. `wasm32-wasip2` std imports a dozen WASI interfaces whether or not a
//! module uses them, so they are linked (with an empty context: no files, environment, sockets or
//! real clocks); but every function that could block the game thread or hand out ambient
//! randomness is replaced here by one that ends the call at once with [`Forbidden`].
//!
//! Why trapping rather than returning early: the epoch deadline only interrupts WebAssembly code,
//! never a host function, so a guest `std::thread::sleep` (a monotonic-clock subscription blocked
//! on through `wasi:io/poll`) used to hold the game thread for as long as it asked. A sleep that
//! returned early would silently change the guest's meaning; an error names the mistake.
//!
//! Randomness is deterministic, not ambient: `insecure-seed` (Rust std's `HashMap` seed) is a
//! fixed pair, and `wasi:random` (which Python's runtime reads at start and for `random`,
//! `os.urandom`, `secrets`, `uuid4`) answers from a [`SeededRandom`] of the instance: a SHA-256
//! counter-mode stream keyed by the module's name. So a module's bytes depend only on its name
//! and on how much it has drawn since its instance was made — never on the host's state, other
//! modules, time or other players — and a fresh instance (after a failure) draws the same
//! sequence again. No side channel, no nondeterminism; not secret either (anyone who knows the
//! name can compute it), which is why it is documented as unfit for secrets. Each call may draw at
//! most `guest_random_bytes_per_call` bytes (a `get-random-bytes(2^40)` ends the call with a
//! quota error instead of allocating).

use sha2::{Digest, Sha256};
use wasmtime::component::Linker;

use super::{Forbidden, HostCtx, QuotaExceeded};

/// The WASI version wasmtime-wasi 48 links (`wasi:io@0.2.12`, ...). Guests built against any
/// 0.2.x resolve to it by semver, so the replacements below must use exactly this version or
/// they would sit beside the real functions instead of replacing them (a unit test checks).
pub const WASI_P2_VERSION: &str = "0.2.12";

/// Functions that wait (poll, block, clock subscriptions): "interface", "function".
const BLOCKING: &[(&str, &str)] = &[
    ("wasi:io/poll", "poll"),
    ("wasi:io/poll", "[method]pollable.block"),
    ("wasi:clocks/monotonic-clock", "subscribe-instant"),
    ("wasi:clocks/monotonic-clock", "subscribe-duration"),
];

/// Functions that hand out randomness (answered from the instance's [`SeededRandom`]).
const RANDOM: &[(&str, &str)] = &[
    ("wasi:random/random", "get-random-bytes"),
    ("wasi:random/random", "get-random-u64"),
    ("wasi:random/insecure", "get-insecure-random-bytes"),
    ("wasi:random/insecure", "get-insecure-random-u64"),
];

/// The fixed `insecure-seed` (the digits of pi, so it is plainly not a secret).
const FIXED_SEED: (u64, u64) = (0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344);

/// Replace the blocking and random WASI functions of a linker that already holds wasmtime-wasi's
/// p2 implementation.
pub fn restrict<D: Send + 'static>(linker: &mut Linker<HostCtx<D>>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = replace_all(linker);
    linker.allow_shadowing(false);
    result
}

fn replace_all<D: Send + 'static>(linker: &mut Linker<HostCtx<D>>) -> wasmtime::Result<()> {
    for (iface, func) in BLOCKING {
        let what = format!("{iface}.{func} would wait; modules may not sleep, poll or block");
        refuse(linker, iface, func, what)?;
    }
    for (iface, func) in RANDOM {
        let mut inst = linker.instance(&format!("{iface}@{WASI_P2_VERSION}"))?;
        if func.ends_with("-u64") {
            inst.func_wrap(func, |mut store, (): ()| {
                let ctx = store.data_mut();
                let max = ctx.quotas.random_bytes_per_call;
                let b = ctx.random.take(8, max)?;
                Ok((u64::from_le_bytes(b.try_into().expect("8 bytes asked")),))
            })?;
        } else {
            inst.func_wrap(func, |mut store, (len,): (u64,)| {
                let ctx = store.data_mut();
                let max = ctx.quotas.random_bytes_per_call;
                Ok((ctx.random.take(len, max)?,))
            })?;
        }
    }
    let mut seed = linker.instance(&format!("wasi:random/insecure-seed@{WASI_P2_VERSION}"))?;
    seed.func_wrap("insecure-seed", |_, (): ()| Ok((FIXED_SEED,)))?;
    Ok(())
}

/// Define `iface.func` as a function that fails the call with `message`.
fn refuse<D: Send + 'static>(
    linker: &mut Linker<HostCtx<D>>,
    iface: &str,
    func: &str,
    message: String,
) -> wasmtime::Result<()> {
    let mut inst = linker.instance(&format!("{iface}@{WASI_P2_VERSION}"))?;
    inst.func_new(func, move |_, _, _, _| Err(wasmtime::Error::new(Forbidden(message.clone()))))?;
    Ok(())
}

/// The deterministic random stream of one instance (see the module doc): block `i` is
/// SHA-256(key ‖ i), key = SHA-256("mudhost wasi:random" ‖ module name).
pub struct SeededRandom {
    key: [u8; 32],
    counter: u64,
    block: [u8; 32],
    /// Bytes of `block` already handed out (32 = draw a new block).
    used: usize,
    /// Bytes drawn in the current call (reset by [`SeededRandom::new_call`]).
    drawn: u64,
}

impl SeededRandom {
    /// The stream of a new instance of `module`.
    pub fn new(module: &str) -> SeededRandom {
        let mut h = Sha256::new();
        h.update(b"mudhost wasi:random\0");
        h.update(module.as_bytes());
        SeededRandom { key: h.finalize().into(), counter: 0, block: [0; 32], used: 32, drawn: 0 }
    }

    /// A new call starts: its draw count starts at zero (the stream goes on).
    pub fn new_call(&mut self) {
        self.drawn = 0;
    }

    /// The next `len` bytes, unless the call would then have drawn more than `max`.
    pub fn take(&mut self, len: u64, max: usize) -> wasmtime::Result<Vec<u8>> {
        let total = self.drawn.saturating_add(len);
        if total > max as u64 {
            return Err(wasmtime::Error::new(QuotaExceeded(format!(
                "wasi:random: {len} bytes asked, {} drawn in this call, more than guest_random_bytes_per_call ({max})",
                self.drawn
            ))));
        }
        self.drawn = total;
        let mut out = Vec::with_capacity(len as usize);
        while out.len() < len as usize {
            if self.used == 32 {
                let mut h = Sha256::new();
                h.update(self.key);
                h.update(self.counter.to_le_bytes());
                self.block = h.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            let n = (32 - self.used).min(len as usize - out.len());
            out.extend_from_slice(&self.block[self.used..self.used + n]);
            self.used += n;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// If wasmtime-wasi moves to another WASI version, the replacements above would no longer
    /// shadow its functions; this notices.
    #[test]
    fn the_replaced_interfaces_are_the_ones_wasmtime_wasi_links() {
        let engine = wasmtime::Engine::default();
        let mut linker: Linker<HostCtx<()>> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        // Re-opening an existing instance without shadowing and defining a new name works; but
        // redefining an existing function is refused, which proves the name exists already.
        for (iface, func) in BLOCKING.iter().chain(RANDOM) {
            let mut inst = linker.instance(&format!("{iface}@{WASI_P2_VERSION}")).unwrap();
            let again = inst.func_new(func, |_, _, _, _| Ok(()));
            assert!(again.is_err(), "{iface}@{WASI_P2_VERSION} does not define {func}");
        }
        restrict(&mut linker).unwrap();
    }

    #[test]
    fn a_modules_random_stream_depends_on_its_name_and_draws_only() {
        let mut a = SeededRandom::new("pyhello");
        let mut again = SeededRandom::new("pyhello");
        let mut other = SeededRandom::new("character");
        let first = a.take(40, 1 << 20).unwrap();
        // Drawn in other pieces, the same stream.
        let mut pieces = again.take(7, 1 << 20).unwrap();
        pieces.extend(again.take(33, 1 << 20).unwrap());
        assert_eq!(first, pieces);
        assert_ne!(first, other.take(40, 1 << 20).unwrap());
        assert_ne!(first[..20], first[20..]);
    }

    #[test]
    fn a_call_drawing_more_than_its_quota_is_ended_without_allocating() {
        let mut r = SeededRandom::new("m");
        assert!(r.take(1000, 1024).is_ok());
        let err = r.take(u64::MAX / 2, 1024).unwrap_err();
        assert!(err.to_string().contains("guest_random_bytes_per_call"), "{err}");
        assert!(r.take(25, 1024).is_err(), "1000 + 25 is over 1024");
        r.new_call();
        assert_eq!(r.take(1024, 1024).unwrap().len(), 1024);
    }
}
