//! The read-time websocket frame counter (`portal::http::FrameScan`): whatever bytes a client
//! sends, in whatever pieces, it never panics and counts the same frames as when fed at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mudhost::portal::http::FrameScan;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let cut = (cut as usize).min(rest.len());
    let whole = FrameScan::default().feed(rest);
    let mut split = FrameScan::default();
    let pieces = split.feed(&rest[..cut]) + split.feed(&rest[cut..]);
    assert_eq!(whole, pieces);
    assert!(whole <= rest.len() as u64 / 2 + 1);
});
