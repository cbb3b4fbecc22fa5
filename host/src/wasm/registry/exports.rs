//! A module's exports as the host calls them, whatever WIT version it was built against: each
//! export's indices looked up once at load, and one method per call that picks the version's
//! bindings (the argument and result types are shared between the versions).

use wasmtime::component::{Instance, InstancePre};
use wasmtime::Store;

use super::ModuleKind;
use crate::wasm::bindings::{self, types as wit};
use crate::wasm::HostCtx;

/// The `cmdset` export of a module, at the WIT version the module was built against.
#[derive(Clone)]
pub(super) enum CmdsetExport {
    Current(bindings::cmdset::GuestIndices),
    V0_2(bindings::v0_2::cmdset::GuestIndices),
    V0_1(bindings::v0_1::exports::mudhost::game::cmdset::GuestIndices),
}

/// The `input-hook` export of a module, at the WIT version the module was built against.
#[derive(Clone)]
pub(super) enum HookExport {
    Current(bindings::input_hook::GuestIndices),
    V0_2(bindings::v0_2::input_hook::GuestIndices),
}

/// The `session-class` export of a module, at the WIT version the module was built against.
#[derive(Clone)]
pub(super) enum ClassExport {
    Current(bindings::session_class::GuestIndices),
    V0_2(bindings::v0_2::session_class::GuestIndices),
}

/// A session class's hooks, loaded from its instance for one call, whatever WIT version it was
/// built against (the argument and result types are shared between the versions).
pub enum SessionClassGuest {
    /// Built against the current WIT.
    Current(bindings::session_class::Guest),
    /// Built against 0.2.x.
    V0_2(bindings::v0_2::session_class::Guest),
}

impl SessionClassGuest {
    /// `at-sync`.
    pub fn call_at_sync<D>(
        &self,
        store: &mut Store<HostCtx<D>>,
        session: &wit::SessionInfo,
    ) -> wasmtime::Result<()> {
        match self {
            Self::Current(g) => g.call_at_sync(store, session),
            Self::V0_2(g) => g.call_at_sync(store, session),
        }
    }

    /// `at-login`.
    pub fn call_at_login<D>(
        &self,
        store: &mut Store<HostCtx<D>>,
        session: &wit::SessionInfo,
    ) -> wasmtime::Result<()> {
        match self {
            Self::Current(g) => g.call_at_login(store, session),
            Self::V0_2(g) => g.call_at_login(store, session),
        }
    }

    /// `at-disconnect`.
    pub fn call_at_disconnect<D>(
        &self,
        store: &mut Store<HostCtx<D>>,
        session: &wit::SessionInfo,
        reason: &str,
    ) -> wasmtime::Result<()> {
        match self {
            Self::Current(g) => g.call_at_disconnect(store, session, reason),
            Self::V0_2(g) => g.call_at_disconnect(store, session, reason),
        }
    }

    /// `data-in`.
    pub fn call_data_in<D>(
        &self,
        store: &mut Store<HostCtx<D>>,
        msg: &wit::Message,
        session: &wit::SessionInfo,
    ) -> wasmtime::Result<wit::HookResult> {
        match self {
            Self::Current(g) => g.call_data_in(store, msg, session),
            Self::V0_2(g) => g.call_data_in(store, msg, session),
        }
    }

    /// `data-out`.
    pub fn call_data_out<D>(
        &self,
        store: &mut Store<HostCtx<D>>,
        session: &wit::SessionInfo,
        messages: &[wit::Message],
    ) -> wasmtime::Result<Vec<wit::Message>> {
        match self {
            Self::Current(g) => g.call_data_out(store, session, messages),
            Self::V0_2(g) => g.call_data_out(store, session, messages),
        }
    }
}

/// A module's pre-instance and the exports the host calls, looked up once at load.
pub(super) struct Exports<D: 'static> {
    pub(super) pre: InstancePre<HostCtx<D>>,
    pub(super) cmdset: CmdsetExport,
    pub(super) hook: Option<HookExport>,
    pub(super) class: Option<ClassExport>,
    /// The `object-class` export (only modules built against 0.3.0 or later have one).
    pub(super) objclass: Option<bindings::object_class::GuestIndices>,
    /// The WIT version the component names.
    pub(super) built_against: String,
}

impl<D: 'static> Exports<D> {
    /// Which plugin kind the exports make.
    pub(super) fn kind(&self) -> ModuleKind {
        if self.objclass.is_some() {
            ModuleKind::ObjectClass
        } else if self.class.is_some() {
            ModuleKind::SessionClass
        } else if self.hook.is_some() {
            ModuleKind::InputHook
        } else {
            ModuleKind::Cmdset
        }
    }

    /// The WIT version the component names.
    pub(super) fn version(&self) -> &str {
        &self.built_against
    }

    /// `cmdset.info`: the cmdset metadata.
    pub(super) fn info(
        &self,
        inst: &Instance,
        store: &mut Store<HostCtx<D>>,
    ) -> wasmtime::Result<wit::CmdsetInfo> {
        match &self.cmdset {
            CmdsetExport::Current(ix) => ix.load(&mut *store, inst)?.call_info(store),
            CmdsetExport::V0_2(ix) => ix.load(&mut *store, inst)?.call_info(store),
            CmdsetExport::V0_1(ix) => ix.load(&mut *store, inst)?.call_info(store),
        }
    }

    /// `cmdset.at-load`.
    pub(super) fn at_load(
        &self,
        inst: &Instance,
        store: &mut Store<HostCtx<D>>,
    ) -> wasmtime::Result<()> {
        match &self.cmdset {
            CmdsetExport::Current(ix) => ix.load(&mut *store, inst)?.call_at_load(store),
            CmdsetExport::V0_2(ix) => ix.load(&mut *store, inst)?.call_at_load(store),
            CmdsetExport::V0_1(ix) => ix.load(&mut *store, inst)?.call_at_load(store),
        }
    }

    /// `cmdset.key-mergetypes` (none before 0.2).
    pub(super) fn key_mergetypes(
        &self,
        inst: &Instance,
        store: &mut Store<HostCtx<D>>,
    ) -> wasmtime::Result<Vec<(String, wit::MergeType)>> {
        match &self.cmdset {
            CmdsetExport::Current(ix) => ix.load(&mut *store, inst)?.call_key_mergetypes(store),
            CmdsetExport::V0_2(ix) => ix.load(&mut *store, inst)?.call_key_mergetypes(store),
            CmdsetExport::V0_1(_) => Ok(vec![]),
        }
    }

    /// `cmdset.execute`: one command.
    pub(super) fn execute(
        &self,
        inst: &Instance,
        store: &mut Store<HostCtx<D>>,
        inv: &wit::Invocation,
    ) -> wasmtime::Result<()> {
        match &self.cmdset {
            CmdsetExport::Current(ix) => ix.load(&mut *store, inst)?.call_execute(store, inv),
            CmdsetExport::V0_2(ix) => ix.load(&mut *store, inst)?.call_execute(store, inv),
            CmdsetExport::V0_1(ix) => ix.load(&mut *store, inst)?.call_execute(store, inv),
        }
    }
}

// Not derived: a derive would ask `D: Clone` of the game.
impl<D: 'static> Clone for Exports<D> {
    fn clone(&self) -> Self {
        Exports {
            pre: self.pre.clone(),
            cmdset: self.cmdset.clone(),
            hook: self.hook.clone(),
            class: self.class.clone(),
            objclass: self.objclass.clone(),
            built_against: self.built_against.clone(),
        }
    }
}
