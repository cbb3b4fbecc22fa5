//! A module's metadata made into a cmdset, every command checked against the cmdset quotas.

use std::sync::Arc;

use crate::cmd::{CmdSet, CommandDef, MergeType};
use crate::wasm::bindings::types as wit;
use crate::wasm::GuestQuotas;

/// Turn a module's metadata into a cmdset, validating every command against the cmdset quotas
/// (a refusal names the limit and its config key).
pub(super) fn build_cmdset(
    info: wit::CmdsetInfo,
    key_mergetypes: Vec<(String, wit::MergeType)>,
    module: &Arc<str>,
    q: &GuestQuotas,
) -> Result<CmdSet, String> {
    if key_mergetypes.len() > q.list_items
        || key_mergetypes.iter().any(|(k, _)| k.len() > q.name_bytes)
    {
        return Err(format!(
            "key-mergetypes over guest_list_items ({}) or a key over guest_name_bytes ({} bytes)",
            q.list_items, q.name_bytes
        ));
    }
    if info.key.trim().is_empty() {
        return Err("cmdset key is empty".into());
    }
    if info.key.len() > q.name_bytes {
        return Err(format!("cmdset key is over guest_name_bytes ({} bytes)", q.name_bytes));
    }
    if info.commands.len() > q.commands_per_cmdset {
        return Err(format!(
            "{} commands, over guest_commands_per_cmdset ({})",
            info.commands.len(),
            q.commands_per_cmdset
        ));
    }
    let aliases: usize = info.commands.iter().map(|c| c.aliases.len()).sum();
    if aliases > q.aliases_per_cmdset {
        return Err(format!(
            "{aliases} aliases, over guest_aliases_per_cmdset ({})",
            q.aliases_per_cmdset
        ));
    }
    let mut commands = Vec::with_capacity(info.commands.len());
    for c in info.commands {
        if c.key.trim().is_empty() {
            return Err("a command has an empty key".into());
        }
        if std::iter::once(&c.key).chain(&c.aliases).any(|n| n.len() > q.name_bytes) {
            return Err(format!(
                "command {:?}: a name is over guest_name_bytes ({} bytes)",
                short_name(&c.key),
                q.name_bytes
            ));
        }
        if c.help.len() > q.text_bytes
            || c.arg_regex.as_ref().is_some_and(|r| r.len() > q.name_bytes)
        {
            return Err(format!(
                "command {:?}: help over guest_text_bytes ({} bytes) or arg_regex over guest_name_bytes ({} bytes)",
                short_name(&c.key),
                q.text_bytes,
                q.name_bytes
            ));
        }
        let def = CommandDef::new(
            &c.key,
            &c.aliases,
            &c.help,
            &c.help_category,
            c.arg_regex.as_deref(),
            &c.locks,
            module.clone(),
        )
        .map_err(|e| format!("command {:?}: {e}", c.key))?;
        commands.push(Arc::new(def));
    }
    let merge_type = |m: wit::MergeType| match m {
        wit::MergeType::Union => MergeType::Union,
        wit::MergeType::Intersect => MergeType::Intersect,
        wit::MergeType::Replace => MergeType::Replace,
        wit::MergeType::Remove => MergeType::Remove,
    };
    Ok(CmdSet {
        key: info.key,
        priority: info.priority,
        merge_type: merge_type(info.merge_type),
        key_mergetypes: key_mergetypes.into_iter().map(|(k, m)| (k, merge_type(m))).collect(),
        duplicates: info.duplicates,
        no_exits: info.no_exits,
        no_objs: info.no_objs,
        commands,
        index: Default::default(),
    })
}

/// A name cut short for an error message.
fn short_name(name: &str) -> String {
    name.chars().take(40).collect()
}
