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
//! The only ambient value left is `insecure-seed`, which Rust std reads to seed `HashMap`: it gets
//! a fixed pair, so every call of a module behaves the same way.

use wasmtime::component::Linker;

use super::{Forbidden, HostCtx};

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

/// Functions that hand out randomness.
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
pub fn restrict(linker: &mut Linker<HostCtx>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = replace_all(linker);
    linker.allow_shadowing(false);
    result
}

fn replace_all(linker: &mut Linker<HostCtx>) -> wasmtime::Result<()> {
    for (iface, func) in BLOCKING {
        let what = format!("{iface}.{func} would wait; modules may not sleep, poll or block");
        refuse(linker, iface, func, what)?;
    }
    for (iface, func) in RANDOM {
        let what = format!("{iface}.{func}: wasi:random is off for modules");
        refuse(linker, iface, func, what)?;
    }
    let mut seed = linker.instance(&format!("wasi:random/insecure-seed@{WASI_P2_VERSION}"))?;
    seed.func_wrap("insecure-seed", |_, (): ()| Ok((FIXED_SEED,)))?;
    Ok(())
}

/// Define `iface.func` as a function that fails the call with `message`.
fn refuse(
    linker: &mut Linker<HostCtx>,
    iface: &str,
    func: &str,
    message: String,
) -> wasmtime::Result<()> {
    let mut inst = linker.instance(&format!("{iface}@{WASI_P2_VERSION}"))?;
    inst.func_new(func, move |_, _, _, _| Err(wasmtime::Error::new(Forbidden(message.clone()))))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// If wasmtime-wasi moves to another WASI version, the replacements above would no longer
    /// shadow its functions; this notices.
    #[test]
    fn the_replaced_interfaces_are_the_ones_wasmtime_wasi_links() {
        let engine = wasmtime::Engine::default();
        let mut linker: Linker<HostCtx> = Linker::new(&engine);
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
}
