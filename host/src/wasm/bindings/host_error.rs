//! The host's side of WIT `host-error` (0.4.0): the text an old module got for each refusal, and
//! the line between a refusal (a guest's mistake or a game rule, returned as a value) and a
//! failure of the host itself (its database), which is not the guest's to handle: it ends the
//! call ([`HostFailure`]), the game loop reports it, and the call is undone like any failed call.

use super::types::HostError;
use crate::store::StoreError;

/// A failure of the host itself inside an import (the database refused a write, the transaction
/// was spoiled): it ends the guest call instead of reaching the guest as text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostFailure(pub String);

impl HostError {
    /// The refusal's reason, worded for the player.
    pub fn reason(&self) -> &str {
        match self {
            Self::Quota(t)
            | Self::Invalid(t)
            | Self::NotFound(t)
            | Self::Denied(t)
            | Self::Refused(t) => t,
        }
    }

    /// The text WIT 0.3.0 answered for this refusal (and the SDK's `Display`): the reason, after
    /// `quota: ` for a quota.
    pub fn text(&self) -> String {
        match self {
            Self::Quota(t) => format!("quota: {t}"),
            other => other.reason().to_string(),
        }
    }
}

/// A store error met by an import, sorted: a missing object or account is the guest's mistake
/// (`not-found`), as is a move into itself (`invalid`); anything else is the host's failure and
/// ends the call.
pub fn store_refusal(e: StoreError) -> wasmtime::Result<HostError> {
    match e {
        StoreError::NoObject(_) | StoreError::NoAccount(_) => {
            Ok(HostError::NotFound(e.to_string()))
        }
        StoreError::MoveLoop(_) => Ok(HostError::Invalid(e.to_string())),
        StoreError::Sql(_) | StoreError::Spoiled(_) => {
            Err(wasmtime::Error::new(HostFailure(e.to_string())))
        }
    }
}

/// A store error where the import has no refusal to give (the objects concerned were checked, or
/// it returns no result): the host's failure, which ends the call.
pub fn store_failure(e: StoreError) -> wasmtime::Error {
    wasmtime::Error::new(HostFailure(e.to_string()))
}

/// [`store_refusal`] over a store result: `Ok(Ok(v))`, a refusal `Ok(Err(..))`, or the call's end.
pub fn refuse_or_fail<T>(r: Result<T, StoreError>) -> wasmtime::Result<Result<T, HostError>> {
    answer(r.map_err(Refusal::from))
}

/// Why an import's work stopped short: a refusal for the guest, or the host's own failure that
/// ends the call. `?` sorts a [`StoreError`] into one or the other ([`store_refusal`]).
#[derive(Debug)]
pub enum Refusal {
    /// Returned to the guest as the import's error.
    Guest(HostError),
    /// Ends the call.
    Host(wasmtime::Error),
}

impl From<HostError> for Refusal {
    fn from(e: HostError) -> Self {
        Self::Guest(e)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match store_refusal(e) {
            Ok(refusal) => Self::Guest(refusal),
            Err(failure) => Self::Host(failure),
        }
    }
}

/// A game rule's refusal text (Evennia's, for the player): the `refused` case.
impl From<&str> for Refusal {
    fn from(text: &str) -> Self {
        Self::Guest(HostError::Refused(text.to_string()))
    }
}

/// A game rule's refusal text (Evennia's, for the player): the `refused` case.
impl From<String> for Refusal {
    fn from(text: String) -> Self {
        Self::Guest(HostError::Refused(text))
    }
}

/// The work of an import that may be refused or fail: see [`answer`].
pub type Answer<T> = Result<T, Refusal>;

/// An import's [`Answer`] as the bindings want it: a refusal in the import's own result, a host
/// failure as the error that ends the call.
pub fn answer<T>(r: Answer<T>) -> wasmtime::Result<Result<T, HostError>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(Refusal::Guest(e)) => Ok(Err(e)),
        Err(Refusal::Host(failure)) => Err(failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::ids::{AccountId, ObjectId};

    #[test]
    fn an_old_module_gets_the_quota_prefix_and_every_other_reason_as_it_is() {
        assert_eq!(HostError::Quota("over x (2)".into()).text(), "quota: over x (2)");
        assert_eq!(HostError::NotFound("no object #9".into()).text(), "no object #9");
        assert_eq!(HostError::Denied("You may not.".into()).text(), "You may not.");
        assert_eq!(HostError::Quota("over x (2)".into()).reason(), "over x (2)");
    }

    #[test]
    fn a_missing_object_is_a_refusal_and_a_database_failure_ends_the_call() {
        assert!(
            matches!(store_refusal(StoreError::NoObject(ObjectId::new(9))), Ok(HostError::NotFound(t)) if t == "no object #9")
        );
        assert!(matches!(
            store_refusal(StoreError::NoAccount(AccountId::new(3))),
            Ok(HostError::NotFound(_))
        ));
        assert!(matches!(
            store_refusal(StoreError::MoveLoop(ObjectId::new(4))),
            Ok(HostError::Invalid(_))
        ));
        let failed = store_refusal(StoreError::Spoiled("disk full".into())).unwrap_err();
        assert!(failed.downcast_ref::<HostFailure>().is_some_and(|f| f.0.contains("disk full")));
        let sql = StoreError::Sql(rusqlite::Error::InvalidQuery);
        assert!(store_refusal(sql).unwrap_err().downcast_ref::<HostFailure>().is_some());
        assert!(matches!(refuse_or_fail::<u8>(Ok(1)), Ok(Ok(1))));
        assert!(matches!(
            refuse_or_fail::<u8>(Err(StoreError::NoObject(ObjectId::new(2)))),
            Ok(Err(_))
        ));
        assert!(refuse_or_fail::<u8>(Err(StoreError::Spoiled("x".into()))).is_err());
    }

    #[test]
    fn an_answer_puts_refusals_in_the_result_and_failures_in_the_trap() {
        let refused: Answer<()> = Err(HostError::Denied("no".into()).into());
        assert!(matches!(answer(refused), Ok(Err(HostError::Denied(_)))));
        let failed: Answer<()> = Err(StoreError::Spoiled("gone".into()).into());
        assert!(answer(failed).unwrap_err().downcast_ref::<HostFailure>().is_some());
        let missing: Answer<()> = Err(StoreError::NoAccount(AccountId::new(1)).into());
        assert!(matches!(answer(missing), Ok(Err(HostError::NotFound(_)))));
        let rule: Answer<()> = Err("You cannot.".into());
        assert!(matches!(answer(rule), Ok(Err(HostError::Refused(t))) if t == "You cannot."));
    }
}
