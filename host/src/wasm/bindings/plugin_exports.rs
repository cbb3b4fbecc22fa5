//! The plugin exports of a module built against the current WIT (0.4.0) or against 0.3.0, behind
//! one type each. 0.4.0 changed only the `host` imports (refusals became `host-error`), so the
//! exports are the same functions with the same types under other names: [`cmdset`],
//! [`input_hook`], [`session_class`] and [`object_class`] look a module's export up under either
//! name and call it, and the registry serves both versions as the current one.

/// One plugin interface served at 0.4.0 or 0.3.0: its `GuestIndices` (found once per module)
/// and `Guest` (loaded per instance), each with the generated functions' signatures.
macro_rules! either_version {
    ($(#[$doc:meta])* $iface:ident {
        $( fn $call:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*
    }) => {
        $(#[$doc])*
        pub mod $iface {
            use super::super::exports::mudhost::game::$iface as v0_4;
            use super::super::v0_3::$iface as v0_3;
            #[allow(unused_imports)]
            use crate::wasm::bindings::types;
            use wasmtime::component::{Instance, InstancePre};
            use wasmtime::AsContextMut;

            /// Where the export's functions are in a module, under the name of its version.
            #[derive(Clone)]
            pub enum GuestIndices {
                /// Exported as `mudhost:game/…@0.4.0`.
                V0_4(v0_4::GuestIndices),
                /// Exported as `mudhost:game/…@0.3.0`.
                V0_3(v0_3::GuestIndices),
            }

            impl GuestIndices {
                /// Find the export in a module: under its 0.4.0 name, else its 0.3.0 name (the
                /// error is the 0.4.0 lookup's, naming the current version).
                pub fn new<T>(pre: &InstancePre<T>) -> wasmtime::Result<Self> {
                    match v0_4::GuestIndices::new(pre) {
                        Ok(ix) => Ok(Self::V0_4(ix)),
                        Err(e) => v0_3::GuestIndices::new(pre).map(Self::V0_3).map_err(|_| e),
                    }
                }

                /// The export's functions in one instance (type-checked).
                pub fn load(
                    &self,
                    store: impl AsContextMut,
                    instance: &Instance,
                ) -> wasmtime::Result<Guest> {
                    Ok(match self {
                        Self::V0_4(ix) => Guest::V0_4(ix.load(store, instance)?),
                        Self::V0_3(ix) => Guest::V0_3(ix.load(store, instance)?),
                    })
                }
            }

            /// The export's functions in one instance, at the module's version.
            pub enum Guest {
                /// A 0.4.0 module's.
                V0_4(v0_4::Guest),
                /// A 0.3.0 module's.
                V0_3(v0_3::Guest),
            }

            impl Guest {
                $(
                    /// Call the export of this name.
                    pub fn $call<S: AsContextMut>(&self, store: S, $($arg: $ty),*) -> wasmtime::Result<$ret> {
                        match self {
                            Self::V0_4(g) => g.$call(store, $($arg),*),
                            Self::V0_3(g) => g.$call(store, $($arg),*),
                        }
                    }
                )*
            }
        }
    };
}

either_version! {
    /// `cmdset`, exported by every module.
    cmdset {
        fn call_info() -> types::CmdsetInfo;
        fn call_at_load() -> ();
        fn call_key_mergetypes() -> Vec<(String, types::MergeType)>;
        fn call_execute(inv: &types::Invocation) -> ();
        fn call_at_timer(timer: &types::TimerInfo) -> ();
    }
}

either_version! {
    /// `input-hook`.
    input_hook {
        fn call_data_in(msg: &types::Message, session: &types::SessionInfo) -> types::HookResult;
    }
}

either_version! {
    /// `session-class`.
    session_class {
        fn call_at_sync(session: &types::SessionInfo) -> ();
        fn call_at_login(session: &types::SessionInfo) -> ();
        fn call_at_disconnect(session: &types::SessionInfo, reason: &str) -> ();
        fn call_data_in(msg: &types::Message, session: &types::SessionInfo) -> types::HookResult;
        fn call_data_out(
            session: &types::SessionInfo,
            messages: &[types::Message]
        ) -> Vec<types::Message>;
    }
}

either_version! {
    /// `object-class`.
    object_class {
        fn call_at_object_creation(this: u64) -> ();
        fn call_at_pre_move(this: u64, destination: Option<u64>) -> Result<(), String>;
        fn call_at_object_receive(this: u64, obj: u64, source: Option<u64>) -> ();
        fn call_at_object_leave(this: u64, obj: u64, destination: Option<u64>) -> ();
        fn call_at_pre_traverse(this: u64, traverser: u64) -> Result<(), String>;
        fn call_at_traverse(this: u64, traverser: u64, destination: u64) -> ();
        fn call_return_appearance(this: u64, looker: u64, default: &str) -> String;
        fn call_at_msg_receive(this: u64, text: &str, from: Option<u64>) -> ();
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use wasmtime::component::{Component, InstancePre, Linker};

    use crate::wasm::{new_engine, GuestLimits};

    /// A fixture module, compiled, its imports linked to traps: finding exports needs no host.
    fn pre(fixture: &str) -> InstancePre<()> {
        let limits =
            GuestLimits { deadline: Duration::from_secs(1), memory_bytes: 64 << 20, instances: 2 };
        let engine = new_engine(limits).unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(fixture);
        let component = Component::from_file(&engine, path).unwrap();
        let mut linker = Linker::new(&engine);
        linker.define_unknown_imports_as_traps(&component).unwrap();
        linker.instantiate_pre(&component).unwrap()
    }

    #[test]
    fn a_0_3_0_modules_exports_are_found_under_their_0_3_0_names_and_others_are_not() {
        let v0_3 = pre("worldtest_0_3_0.wasm");
        let cmdset = super::cmdset::GuestIndices::new(&v0_3).unwrap();
        assert!(matches!(cmdset, super::cmdset::GuestIndices::V0_3(_)));
        // A cmdset module exports no object class: the error names the current version.
        let missing = super::object_class::GuestIndices::new(&v0_3).err().unwrap();
        assert!(format!("{missing:#}").contains("0.4.0"), "{missing:#}");
        // A 0.2.1 module is neither (it is served through its own bindings).
        assert!(super::input_hook::GuestIndices::new(&pre("nick_0_2_1.wasm")).is_err());
    }
}
