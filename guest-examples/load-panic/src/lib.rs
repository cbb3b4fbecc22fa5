//! A cmdset module that panics while the host reads its metadata (`info`): the host must reject
//! it at load, log why, and keep serving the previous version of the module, if any.

use mudhost_sdk::{export_cmdset, CmdsetInfo, Guest, Invocation};

struct LoadPanic;

impl Guest for LoadPanic {
    fn info() -> CmdsetInfo {
        panic!("load-time panic")
    }

    fn key_mergetypes() -> Vec<(String, mudhost_sdk::MergeType)> {
        vec![]
    }
    fn at_load() {
        panic!("load-time panic (at_load)")
    }

    fn execute(_inv: Invocation) {
        unreachable!("never loaded")
    }

    fn at_timer(_timer: mudhost_sdk::TimerInfo) {}
}

export_cmdset!(LoadPanic);
