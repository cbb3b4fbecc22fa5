//! The account imports with checks of their own: account attributes and character creation.

use super::Trappable;
use crate::server::game::Game;
use crate::shared::ids::{AccountId, ObjectId};
use crate::wasm::bindings::refuse_or_fail;
use crate::wasm::bindings::types::HostError;
use crate::wasm::import_checks::over;
use crate::wasm::HostCtx;

impl HostCtx<Game> {
    /// `account-attr-set`: key and value within their quotas.
    pub(super) fn set_account_attr(
        &mut self,
        account: u64,
        key: String,
        value: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        self.name("an attribute key", &key)?;
        if value.as_ref().is_some_and(|v| v.len() > self.q().attr_value_bytes) {
            return Err(over(format!(
                "an attribute value is over guest_attr_value_bytes ({} bytes)",
                self.q().attr_value_bytes
            )));
        }
        refuse_or_fail(self.game.world.set_account_attr(
            AccountId::new(account),
            &key,
            value.as_deref(),
        ))
    }

    /// `character-create` for the caller's account: name and description within their quotas.
    pub(super) fn create_character(
        &mut self,
        key: String,
        description: Option<String>,
    ) -> Trappable<Result<u64, HostError>> {
        if let Err(e) = self.name_value("the character name", &key) {
            return Ok(Err(e));
        }
        if description.as_ref().is_some_and(|d| d.len() > self.q().attr_value_bytes) {
            return Ok(Err(HostError::Quota(format!(
                "the description is over guest_attr_value_bytes ({} bytes)",
                self.q().attr_value_bytes
            ))));
        }
        let created = self.game.character_create(self.caller, &key, description.as_deref());
        Ok(created.map(ObjectId::get).map_err(HostError::Refused))
    }
}
