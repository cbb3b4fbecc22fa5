//! What the command groups share: the object lists builders type (`name;alias:option, ...`),
//! names as a builder sees them, exits and the room messages of a move.

use mudhost_sdk::host;
use mudhost_sdk::{CmdResult, Obj};
use serde_json::Value;

/// One `name;alias;alias:option` of an object list (Evennia's ObjManipCommand parse).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObjDef {
    pub(crate) name: String,
    pub(crate) aliases: Vec<String>,
    pub(crate) option: Option<String>,
}

/// The comma-separated object definitions of one side of `=`.
pub(crate) fn objdefs(side: &str) -> Vec<ObjDef> {
    if side.trim().is_empty() {
        return vec![];
    }
    side.split(',')
        .map(|def| {
            let (def, option) = match def.rsplit_once(':') {
                Some((d, o)) => (d, Some(o.trim().to_string()).filter(|o| !o.is_empty())),
                None => (def, None),
            };
            let mut parts = def.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default().to_string();
            let aliases = parts.filter(|a| !a.is_empty()).map(String::from).collect();
            ObjDef { name, aliases, option }
        })
        .collect()
}

/// How a builder sees an object: its name and dbref (Evennia's `get_display_name` for someone
/// with build rights).
pub(crate) fn shown(obj: Obj) -> String {
    format!("{}({obj})", obj.name())
}

/// `" (a, b)"` for a list of aliases, or nothing.
pub(crate) fn paren(aliases: &[String]) -> String {
    if aliases.is_empty() {
        String::new()
    } else {
        format!(" ({})", aliases.join(", "))
    }
}

/// A name the host would refuse by size is refused here with a text, instead of ending the
/// command.
pub(crate) fn check_len(text: &str) -> CmdResult {
    let max = host::building_limits().name_bytes as usize;
    if text.len() > max {
        let start: String = text.chars().take(20).collect();
        return Err(format!("'{start}...' is too long for a name (at most {max} bytes)."));
    }
    Ok(())
}

/// Give an object aliases (the host's object aliases: every search finds it by them, and an
/// exit's command answers to them). `Err` is the host's refusal (too many, too long).
pub(crate) fn add_aliases(obj: Obj, aliases: &[String]) -> CmdResult {
    for a in aliases {
        obj.alias_add(a)?;
    }
    Ok(())
}

/// Create an exit named by `def` in `from`, leading to `to`.
pub(crate) fn new_exit(def: &ObjDef, from: Obj, to: Obj) -> Result<Obj, String> {
    let kind = def.option.as_deref().unwrap_or("exit");
    let exit = host::build_object(&def.name, kind, Some(from.id()))
        .map(Obj)
        .map_err(|e| format!("|rError creating exit:|n {e}"))?;
    exit.set_attr("destination", to.id().to_string())?;
    add_aliases(exit, &def.aliases)?;
    Ok(exit)
}

/// Tell the rooms about a move (Evennia's `announce_move_from` / `announce_move_to`).
pub(crate) fn announce(obj: Obj, from: Option<Obj>, to: Obj) {
    let name = obj.name();
    if let Some(from) = from {
        from.msg_contents(
            format!("{name} is leaving {}, heading for {}.", from.name(), to.name()),
            &[obj],
        );
        to.msg_contents(format!("{name} arrives to {} from {}.", to.name(), from.name()), &[obj]);
    } else {
        to.msg_contents(format!("{name} arrives to {}.", to.name()), &[obj]);
    }
}

/// A JSON value as a player reads it: a string without its quotes.
pub(crate) fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_definitions_split_as_evennia_parses_them() {
        let defs = objdefs(" orchard;o;orch , back;b:door,");
        assert_eq!(
            defs,
            [
                ObjDef {
                    name: "orchard".into(),
                    aliases: vec!["o".into(), "orch".into()],
                    option: None
                },
                ObjDef {
                    name: "back".into(),
                    aliases: vec!["b".into()],
                    option: Some("door".into())
                },
                ObjDef { name: "".into(), aliases: vec![], option: None },
            ]
        );
        assert!(objdefs("  ").is_empty());
    }
}
