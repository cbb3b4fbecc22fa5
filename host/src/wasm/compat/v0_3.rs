//! The `mudhost:game@0.3.0` host imports, for modules built against the previous WIT: each is the
//! current import of the same name (same checks, same quotas), and a refusal, a
//! [`HostError`](super::super::bindings::types::HostError) since 0.4.0, reaches the module as the
//! very text 0.3.0 gave it ([`HostError::text`]), so an old module that matched on `"quota: "`
//! behaves exactly as it did. The records defined in `host` itself are converted; the `types`
//! records are shared (see [`bindings::v0_3`](super::super::bindings::v0_3)).

use super::super::bindings::mudhost::game::host::{self as current, Host};
use super::super::bindings::types::{self, HostError};
use super::super::bindings::v0_3::mudhost::game::host::{
    self as v0_3, AttrEntry, BuildLimits, ChannelInfo, ContentsPacked, HelpTopic,
    MultisessionPolicy, ObjectBrief, PrototypeCatalog, Tag,
};

/// A current import's refusal as 0.3.0 answered it: its text.
fn refusal_text<T>(r: Result<T, HostError>) -> Result<T, String> {
    r.map_err(|e| e.text())
}

record_from!(current => v0_3:
    ObjectBrief, ContentsPacked, MultisessionPolicy, BuildLimits, PrototypeEntry, ChannelInfo,
    HelpTopic, Tag, AttrEntry,
);

impl From<current::PrototypeCatalog> for v0_3::PrototypeCatalog {
    fn from(c: current::PrototypeCatalog) -> Self {
        Self { entries: c.entries.into_iter().map(Into::into).collect(), problems: c.problems }
    }
}

v0_3_imports! {
    delegate! {
        v0_3 => Host, refusals refusal_text {
            fn account_attr_set(
                &mut self,
                account: u64,
                key: String,
                value: Option<String>,
            ) -> wasmtime::Result<()> {
                // 0.3.0 had no result here: a refusal (no such account) was only logged, as it
                // still is.
                if let Err(e) = <Self as Host>::account_attr_set(self, account, key, value)? {
                    let (module, cause) = (&self.module, e.text());
                    tracing::warn!(%module, account, %cause, "account-attr-set failed");
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reaches_a_0_3_0_module_as_the_text_0_3_0_gave() {
        let quota: Result<(), _> = Err(HostError::Quota("guest_attr_value_bytes".into()));
        assert_eq!(refusal_text(quota), Err("quota: guest_attr_value_bytes".to_string()));
        let missing: Result<(), _> = Err(HostError::NotFound("no object #7".into()));
        assert_eq!(refusal_text(missing), Err("no object #7".to_string()));
        assert_eq!(refusal_text::<u64>(Ok(3)), Ok(3));
    }

    #[test]
    fn a_record_keeps_every_field_on_its_way_to_0_3_0() {
        let brief = current::ObjectBrief { id: 4, key: "rock".into(), kind: "thing".into() };
        let old: v0_3::ObjectBrief = brief.into();
        assert_eq!((old.id, old.key.as_str(), old.kind.as_str()), (4, "rock", "thing"));
        let catalog = current::PrototypeCatalog {
            entries: vec![current::PrototypeEntry {
                key: "goblin".into(),
                desc: "a goblin".into(),
                tags: vec!["monster".into()],
                file: "mobs.toml".into(),
            }],
            problems: vec!["bad.toml: unreadable".into()],
        };
        let old: v0_3::PrototypeCatalog = catalog.into();
        let entry = &old.entries[0];
        assert_eq!(
            (entry.key.as_str(), entry.desc.as_str(), entry.tags.clone(), entry.file.as_str()),
            ("goblin", "a goblin", vec!["monster".to_string()], "mobs.toml")
        );
        assert_eq!(old.problems, vec!["bad.toml: unreadable".to_string()]);
    }
}
