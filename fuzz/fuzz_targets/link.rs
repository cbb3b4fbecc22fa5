//! The link codec: length-prefixed MessagePack frames of `PortalMsg` / `ServerMsg`, read the way
//! each side reads them (the portal before Hello with the small cap), and the bodies decoded
//! directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mudhost::link::{self, PortalMsg, ServerMsg};

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    rt.block_on(async {
        let mut r = data;
        while let Ok(Some(_)) = link::read_frame::<_, PortalMsg>(&mut r).await {}
        let mut r = data;
        while let Ok(Some(_)) = link::read_frame::<_, ServerMsg>(&mut r).await {}
        let mut r = data;
        let _ = link::read_frame_limited::<_, ServerMsg>(&mut r, link::MAX_HELLO_BYTES).await;
    });
    let _ = rmp_serde::from_slice::<PortalMsg>(data);
    let _ = rmp_serde::from_slice::<ServerMsg>(data);
});
