//! `spawn`: objects made from the game's prototypes (`spawn/list`, `spawn/show`).

use mudhost_sdk::host;
use mudhost_sdk::{CmdResult, Command, Invocation, Obj};
use serde_json::{Map, Value};

use crate::attributes::tag_and_category;
use crate::search::me;
use crate::shared::{add_aliases, shown, text_of};
use crate::{CATEGORY, LOCK};

/// Prototype keys that are not attributes of the spawned object.
const NOT_ATTRS: &[&str] = &[
    "prototype_key",
    "prototype_parent",
    "prototype_desc",
    "prototype_tags",
    "prototype_locks",
    "key",
    "aliases",
    "desc",
    "attrs",
    "tags",
    "locks",
    "typeclass",
    "location",
    "home",
    "destination",
    "permissions",
    "exec",
];

/// `spawn KEY`, `spawn/list`, `spawn/show KEY`.
pub(crate) struct Spawn;
impl Command for Spawn {
    const KEY: &'static str = "spawn";
    const ALIASES: &'static [&'static str] = &["@spawn"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "spawn objects from prototype\n\nUsage:\n  spawn[/noloc] <prototype_key>\n  spawn/list\n  spawn/show <prototype_key>\n\nSwitches:\n  noloc - allow location to be None if not specified explicitly. Otherwise,\n          location will default to caller's current location.\n  list - list available prototypes.\n  show, examine - inspect prototype by key, its parents applied.\n\nPrototypes are .toml or .json files in the game's prototypes folder, read\nagain when they change. Keys: prototype_key, prototype_parent (a key or a\nlist, inherited left to right), prototype_desc, prototype_tags, key,\naliases, desc, attrs (a table), tags, locks, typeclass; any other key is an\nattribute. Tags (key or key:category) and locks become the object's own;\na typeclass naming a loaded object class binds the object to it.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let key = rest.trim();
        let has = |s: &str| sw.iter().any(|x| x == s);
        if has("list") || key.is_empty() {
            inv.msg(list_prototypes());
            return Ok(());
        }
        let proto: Map<String, Value> = match serde_json::from_str(&host::prototype_get(key)?) {
            Ok(Value::Object(m)) => m,
            _ => return Err(format!("Prototype '{key}' could not be read.")),
        };
        if has("show") || has("examine") {
            let text = serde_json::to_string_pretty(&proto).unwrap_or_default();
            inv.msg(text.replace('|', "||"));
            return Ok(());
        }
        // A prototype's own `location` (a #dbref) wins; else here, unless /noloc.
        let location = match proto.get("location").map(text_of) {
            Some(l) => Some(Obj::parse(&l).filter(|o| o.exists()).ok_or_else(|| {
                format!("Prototype '{key}': location '{l}' is not an object (#dbref).")
            })?),
            None if has("noloc") => None,
            None => me.location(),
        };
        let obj = spawn(&proto, location)?;
        inv.msg(format!("Spawned {}.", shown(obj)));
        Ok(())
    }
}

/// The `spawn/list` text: every prototype, then what could not be read.
fn list_prototypes() -> String {
    let catalog = host::prototype_list();
    let mut text = if catalog.entries.is_empty() {
        "No prototypes found.".to_string()
    } else {
        let mut table = mudhost_sdk::text::Table::new(["|wKey|n", "|wTags|n", "|wDesc|n"]);
        for e in &catalog.entries {
            table.row([e.key.clone(), e.tags.join(", "), e.desc.clone()]);
        }
        table.to_string()
    };
    if !catalog.problems.is_empty() {
        text += "\n|rPrototype files with problems:|n";
        for p in &catalog.problems {
            text += &format!("\n  {p}");
        }
    }
    text
}

fn list_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(text_of).collect(),
        Some(Value::String(s)) => {
            s.split([';', ',']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
        }
        _ => vec![],
    }
}

/// The kinds a prototype's `typeclass` names directly (no object class is looked for).
const KINDS: &[&str] = &["thing", "room", "exit"];

/// Create an object from a resolved prototype (Evennia's spawner: the object class first, so
/// its `at_object_creation` runs, then the prototype's aliases, tags, locks and attributes over
/// it). Sizes are checked before the object is made; a refusal of the host after that (a bad
/// lock string, too many tags, JSON nested too deep) deletes the object again, so a bad
/// prototype leaves nothing half-built.
fn spawn(proto: &Map<String, Value>, location: Option<Obj>) -> Result<Obj, String> {
    let limits = host::building_limits();
    let pkey = proto.get("prototype_key").map(text_of).unwrap_or_default();
    let key = proto.get("key").map(text_of).unwrap_or_else(|| pkey.clone());
    let typeclass = proto.get("typeclass").and_then(Value::as_str).map(str::trim);
    let mut attrs: Vec<(String, Value)> = vec![("prototype_key".into(), pkey.clone().into())];
    if let Some(d) = proto.get("desc") {
        attrs.push(("desc".into(), text_of(d).into()));
    }
    if let Some(Value::Object(a)) = proto.get("attrs") {
        attrs.extend(a.iter().map(|(k, v)| (k.to_lowercase(), v.clone())));
    }
    for (k, v) in proto {
        if !NOT_ATTRS.contains(&k.as_str()) && !k.starts_with("ndb_") {
            attrs.push((k.to_lowercase(), v.clone()));
        }
    }
    let destination = match proto.get("destination").map(text_of) {
        Some(d) => Some(Obj::parse(&d).filter(|o| o.exists()).ok_or_else(|| {
            format!("Prototype '{pkey}': destination '{d}' is not an object (#dbref).")
        })?),
        None => None,
    };
    for (k, v) in &attrs {
        if k.is_empty() || k.len() > limits.name_bytes as usize || k == "owner" {
            return Err(format!("Prototype '{pkey}': '{k}' cannot be an attribute name."));
        }
        if v.to_string().len() > limits.attr_value_bytes as usize {
            return Err(format!(
                "Prototype '{pkey}': the value of '{k}' is over {} bytes.",
                limits.attr_value_bytes
            ));
        }
    }
    let place = location.map(|l| l.id());
    let build = |kind: &str| {
        host::build_object(&key, kind, place)
            .map(Obj)
            .map_err(|e| format!("Prototype '{pkey}': {e}"))
    };
    // A loaded object class binds the object; else the typeclass names its kind (a word) or is
    // kept as an attribute, as before object classes.
    let obj = match typeclass.filter(|t| !t.is_empty()) {
        None => build("thing")?,
        Some(t) if KINDS.contains(&t.to_lowercase().as_str()) => build(&t.to_lowercase())?,
        Some(t) => {
            let obj = build("thing")?;
            match obj.set_class(Some(t)) {
                Ok(()) => obj,
                Err(_) if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    obj.delete()?;
                    build(&t.to_lowercase())?
                }
                Err(_) => {
                    attrs.push(("typeclass".into(), t.into()));
                    obj
                }
            }
        }
    };
    if let Err(e) = dress(obj, proto, &attrs, destination) {
        // Nothing half-built: the object goes again (its tags, locks and attributes with it).
        let _ = obj.delete();
        return Err(format!("Prototype '{pkey}': {e}"));
    }
    Ok(obj)
}

/// Give a spawned object the prototype's aliases, tags (`key` or `key:category`), locks and
/// attributes (typed: a number stays a number).
fn dress(
    obj: Obj,
    proto: &Map<String, Value>,
    attrs: &[(String, Value)],
    destination: Option<Obj>,
) -> CmdResult {
    add_aliases(obj, &list_of(proto.get("aliases")))?;
    for tag in list_of(proto.get("tags")) {
        let (key, category) = tag_and_category(&tag);
        obj.tag_add(key, category)?;
    }
    if let Some(l) = proto.get("locks").map(text_of).filter(|l| !l.trim().is_empty()) {
        obj.lock_add(&l)?;
    }
    for (k, v) in attrs {
        obj.set_attr_json(k, None, v)?;
    }
    if let Some(d) = destination {
        obj.set_attr("destination", d.id().to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::limbo;

    #[test]
    fn spawn_applies_a_prototype_and_its_parent() {
        let host = limbo();
        host.prototype("goblin", r#"{"key": "goblin", "desc": "A goblin.", "attrs": {"hp": 10}}"#);
        host.prototype("chief", r#"{"prototype_parent": "goblin", "key": "chief", "attrs": {"hp": 30}, "mood": "grim"}"#);
        host.call::<Spawn>("chief", "Spawned chief(#");
        let chief = Obj::search("chief", Some(host.limbo()))[0];
        assert_eq!(chief.attr("desc").as_deref(), Some("A goblin."));
        assert_eq!(chief.attr_json("hp", None), Some(serde_json::json!(30)));
        assert_eq!(chief.attr("mood").as_deref(), Some("grim"));
        assert_eq!(chief.attr("prototype_key").as_deref(), Some("chief"));
        let vault = host.room("Vault", "");
        host.prototype("coin", &format!(r#"{{"key": "coin", "location": "{vault}"}}"#));
        host.call::<Spawn>("coin", "Spawned coin(#");
        assert_eq!(Obj::search("coin", Some(vault)).len(), 1);
        host.prototype("lost", r##"{"key": "lost", "location": "#999"}"##);
        host.call::<Spawn>("lost", "Prototype 'lost': location '#999' is not an object (#dbref).");
        host.call::<Spawn>("dragon", "No prototype named 'dragon' was found.");
        host.call::<Spawn>("/list", "+--");
    }
}
