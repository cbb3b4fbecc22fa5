//! The building imports (`building-limits`, `build-object`, `prototype-list`, `prototype-get`):
//! what the builder commands need beyond the object imports. Every refusal is a `host-error`
//! with a text for the builder, never the end of the call; a database failure ends it.

use crate::server::game::Game;
use crate::shared::ids::ObjectId;
use crate::wasm::bindings::mudhost::game::host::{BuildLimits, PrototypeCatalog, PrototypeEntry};
use crate::wasm::bindings::types::HostError;
use crate::wasm::bindings::HostFailure;
use crate::wasm::HostCtx;

impl HostCtx<Game> {
    /// The limits a builder command checks its input against.
    pub(super) fn building_limits_now(&self) -> BuildLimits {
        let clip = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        BuildLimits {
            name_bytes: clip(self.quotas.name_bytes),
            attr_value_bytes: clip(self.quotas.attr_value_bytes),
        }
    }

    /// `object-create` with its refusals as text (see the WIT). A failing database is no refusal
    /// but a host fault: it ends the call (which is undone), and the log says why.
    pub(super) fn build_object_checked(
        &mut self,
        key: &str,
        kind: &str,
        location: Option<u64>,
    ) -> wasmtime::Result<Result<u64, HostError>> {
        Ok(match self.build_checks(key, kind, location) {
            Err(refusal) => Err(refusal),
            Ok(()) => {
                let id = self
                    .game
                    .world
                    .create_object(key.trim(), kind, location.map(ObjectId::new))
                    .map_err(|e| {
                        tracing::error!(module = %self.module, cause = %e, "build-object failed");
                        wasmtime::Error::new(HostFailure(format!("build-object: {e}")))
                    })?;
                self.used.objects += 1;
                Ok(id.get())
            }
        })
    }

    /// Why `build-object` refuses these arguments, if it does.
    fn build_checks(&self, key: &str, kind: &str, location: Option<u64>) -> Result<(), HostError> {
        let max = self.quotas.name_bytes;
        let trimmed = key.trim();
        if trimmed.is_empty() {
            return Err(HostError::Invalid("The name must not be empty.".into()));
        }
        if key.len() > max {
            return Err(HostError::Invalid(format!(
                "The name is too long (over guest_name_bytes, {max} bytes)."
            )));
        }
        if key.chars().any(char::is_control) {
            return Err(HostError::Invalid(
                "The name must not hold a line break or control character.".into(),
            ));
        }
        let kind_ok = !kind.is_empty()
            && kind.len() <= max
            && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !kind_ok {
            let shown: String = kind.chars().take(40).collect();
            return Err(HostError::Invalid(format!(
                "'{shown}' is not a kind of object (letters, digits and _)."
            )));
        }
        if kind == "character" {
            return Err(HostError::Invalid(
                "Characters are made with charcreate, not built.".into(),
            ));
        }
        if let Some(l) = location {
            if self.game.world.object(ObjectId::new(l)).is_none() {
                return Err(HostError::NotFound(format!("There is no object #{l} to put it in.")));
            }
        }
        if self.used.objects >= self.quotas.objects_per_call {
            return Err(HostError::Quota(format!(
                "objects created over guest_objects_per_call ({})",
                self.quotas.objects_per_call
            )));
        }
        Ok(())
    }

    /// The prototypes folder as it is now.
    pub(super) fn prototype_catalog(&mut self) -> PrototypeCatalog {
        let catalog = self.game.prototypes.catalog();
        let entries = catalog
            .protos
            .values()
            .map(|p| PrototypeEntry {
                key: p.key.clone(),
                desc: p.data.get("prototype_desc").and_then(|d| d.as_str()).unwrap_or("").into(),
                tags: match p.data.get("prototype_tags") {
                    Some(serde_json::Value::String(t)) => vec![t.clone()],
                    Some(serde_json::Value::Array(a)) => {
                        a.iter().filter_map(|t| t.as_str().map(String::from)).collect()
                    }
                    _ => vec![],
                },
                file: p.file.clone(),
            })
            .collect();
        PrototypeCatalog { entries, problems: catalog.problems.clone() }
    }

    /// One prototype with its parents applied, as JSON text.
    pub(super) fn prototype_json(&mut self, key: &str) -> Result<String, HostError> {
        if key.len() > self.quotas.name_bytes {
            return Err(HostError::Invalid(format!(
                "A prototype key is at most guest_name_bytes ({} bytes).",
                self.quotas.name_bytes
            )));
        }
        // No such prototype, or a parent missing, in a cycle or too deep: it cannot be found.
        let proto = self.game.prototypes.get(key).map_err(HostError::NotFound)?;
        Ok(serde_json::Value::Object(proto).to_string())
    }
}
