//! What an object carries: `set` (typed JSON attributes), `tag` (tags and `tag/search`) and
//! `lock` (lock strings).

use mudhost_sdk::args::split_eq;
use mudhost_sdk::{CmdResult, Command, Invocation, Obj};
use serde_json::Value;

use crate::search::{me, search, search_global};
use crate::shared::{check_len, shown, text_of};
use crate::{CATEGORY, LOCK};

// --- set ----------------------------------------------------------------------------------------

const SET_USAGE: &str = "Usage: set obj/attr[:category] = value. Use empty value to clear.";

/// `set obj/attr[:category] = value`, `set obj/attr`, `set/delete obj/attr` (or an empty
/// value), `set obj` (every attribute). Values are typed JSON attributes.
pub(crate) struct Set;
impl Command for Set {
    const KEY: &'static str = "set";
    const ALIASES: &'static [&'static str] = &["@set"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "set attribute on an object\n\nUsage:\n  set <obj>/<attr>[:category] = <value>\n  set <obj>/<attr>[:category] =\n  set/delete <obj>/<attr>[:category]\n  set <obj>/<attr>[:category]\n  set <obj>\n\nSets attributes on objects. The second example form clears a previously\nset attribute, as does the /delete switch; the fourth form shows it, the\nlast lists every attribute of the object.\n\nThe value is stored typed: JSON is kept as JSON (numbers, true/false,\n\"quoted strings\", [lists] and {objects}); anything else is kept as a\nstring, with a note. Examples:\n   set self/foo = \"bar\"\n   set box/hp = 10\n   set box/loot = [\"coin\", \"gem\"]\n   set box/hp:stats = 10";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let (lhs, rhs) = split_eq(rest);
        if lhs.is_empty() {
            return Err(SET_USAGE.into());
        }
        let Some((objname, attrs)) = lhs.split_once('/') else {
            // `set obj`: every attribute of the object.
            let obj = search(me, lhs)?;
            if rhs.is_some() {
                return Err(SET_USAGE.into());
            }
            return list_attrs(inv, obj);
        };
        let obj = search(me, objname)?;
        // `attr1/attr2:category`: one category for all (Evennia's ObjManipCommand option).
        let (attrs, category) = match attrs.rsplit_once(':') {
            Some((a, c)) => (a, Some(c.trim()).filter(|c| !c.is_empty())),
            None => (attrs, None),
        };
        let attrs: Vec<String> =
            attrs.split('/').map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty()).collect();
        if attrs.is_empty() {
            return Err(
                "No valid attributes were found. Usage: set obj/attr[:category] = value. Use empty value to clear."
                    .into(),
            );
        }
        for a in attrs.iter().map(String::as_str).chain(category) {
            check_len(a)?;
        }
        let name = obj.name();
        let cat = category.unwrap_or("None");
        let mut out = String::new();
        let delete = sw.iter().any(|s| s == "delete") || rhs == Some("");
        for attr in &attrs {
            if delete {
                out += &if obj.attr_json(attr, category).is_some() {
                    obj.del_attr_json(attr, category)?;
                    format!("\nDeleted attribute {name}/|w{attr}|n [category:{cat}].")
                } else {
                    format!(
                        "\nNo attribute {name}/|w{attr}|n [category: {cat}] was found to delete."
                    )
                };
            } else if let Some(value) = rhs {
                let (json, note) = typed(value);
                if let Some(note) = note {
                    inv.msg(note);
                }
                let verb =
                    if obj.attr_json(attr, category).is_some() { "Modified" } else { "Created" };
                // The host checks size and nesting; a refusal keeps the old value.
                obj.set_attr_json_text(attr, category, &json)?;
                out += &format!("\n{verb} attribute {name}/|w{attr}|n [category:{cat}] = {value}");
            } else {
                out += &match obj.attr_json(attr, category) {
                    Some(v) => {
                        format!("\nAttribute {name}/|w{attr}|n [category:{cat}] = {}", text_of(&v))
                    }
                    None => {
                        format!("\nAttribute {name}/|w{attr}|n [category:{cat}] does not exist.")
                    }
                };
            }
        }
        inv.msg(out.trim_start_matches('\n'));
        Ok(())
    }
}

/// `set obj`: one line per attribute (every category), as `set obj/attr` shows one.
fn list_attrs(inv: &Invocation, obj: Obj) -> CmdResult {
    let name = obj.name();
    let lines: Vec<String> = obj
        .attrs()
        .into_iter()
        .map(|a| {
            let value = serde_json::from_str::<Value>(&a.value_json)
                .map(|v| text_of(&v))
                .unwrap_or(a.value_json);
            let cat = a.category.as_deref().unwrap_or("None");
            format!("Attribute {name}/|w{}|n [category:{cat}] = {value}", a.key)
        })
        .collect();
    if lines.is_empty() {
        return Err(
            "No valid attributes were found. Usage: set obj/attr[:category] = value. Use empty value to clear."
                .into(),
        );
    }
    inv.msg(lines.join("\n"));
    Ok(())
}

/// The JSON text `set` stores for a typed value: JSON as it is, anything else as a JSON string
/// with Evennia's note.
fn typed(value: &str) -> (String, Option<String>) {
    match serde_json::from_str::<Value>(value) {
        Ok(_) => (value.trim().to_string(), None),
        // JSON nested too deep to read here is JSON all the same: the host refuses it by its
        // `guest_json_depth`, instead of it being kept as a string.
        Err(e) if e.to_string().contains("recursion limit") => (value.trim().to_string(), None),
        Err(_) => (
            Value::String(value.to_string()).to_string(),
            Some(format!(
                "|RNote: name \"|r{value}|R\" was converted to a string. Make sure this is acceptable."
            )),
        ),
    }
}

// --- tag ----------------------------------------------------------------------------------------

const TAG_USAGE: &str = "Usage: tag[/switches] <obj> [= <tag>[:<category>]]";

/// `tag obj = key[:category]`, `tag obj`, `tag/del obj [= key[:category]]`, `tag/search key`.
pub(crate) struct Tag;
impl Command for Tag {
    const KEY: &'static str = "tag";
    const ALIASES: &'static [&'static str] = &["@tag", "tags", "@tags"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "handles the tags of an object\n\nUsage:\n  tag[/del] <obj> [= <tag>[:<category>]]\n  tag/search <tag>[:<category]\n\nSwitches:\n  search - return all objects with a given Tag\n  del - remove the given tag. If no tag is specified,\n        clear all tags on object.\n\nManipulates and lists tags on objects. Tags allow for quick\ngrouping of and searching for objects.  If only <obj> is given,\nlist all tags on the object.  If /search is used, list objects\nwith the given tag.\nThe category can be used for grouping tags themselves, but it\nshould be used with restrain - tags on their own are usually\nenough to for most grouping schemes.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(TAG_USAGE.into());
        }
        let has = |s: &str| sw.iter().any(|x| x == s);
        if has("search") {
            let (tag, category) = tag_and_category(rest);
            if tag.is_empty() {
                return Err(TAG_USAGE.into());
            }
            check_len(tag)?;
            let found = Obj::search_tag(tag, category, None);
            inv.msg(tag_search_text(tag, category, &found));
            return Ok(());
        }
        let (lhs, rhs) = split_eq(rest);
        let obj = search_global(me, lhs)?;
        let name = obj.name();
        let text = match rhs.filter(|r| !r.is_empty()) {
            Some(rhs) if has("del") => {
                let (tag, category) = tag_and_category(rhs);
                if obj.tag_remove(tag, category)? {
                    format!("Removed tag '{tag}'{} from {name}.", cat_note(category))
                } else {
                    format!("No tag '{tag}'{} to delete on {name}.", cat_note(category))
                }
            }
            None if has("del") => {
                let mut old: Vec<String> = obj
                    .tags()
                    .into_iter()
                    .map(|t| format!("{}{}", t.key, cat_note(t.category.as_deref())))
                    .collect();
                if old.is_empty() {
                    format!("No Tags to clear on {name}.")
                } else {
                    for t in obj.tags() {
                        obj.tag_remove(&t.key, t.category.as_deref())?;
                    }
                    old.sort();
                    format!("Cleared all tags from {name}: {}", old.join(", "))
                }
            }
            Some(rhs) => {
                let (tag, category) = tag_and_category(rhs);
                obj.tag_add(tag, category)?;
                format!("Added tag '{tag}'{} to {name}.", cat_note(category))
            }
            None => {
                let tags = obj.tags();
                let mut shown: Vec<String> = tags
                    .iter()
                    .map(|t| format!("'{}'{}", t.key, cat_note(t.category.as_deref())))
                    .collect();
                shown.sort();
                match shown.len() {
                    0 => format!("No tags attached to {name}."),
                    1 => format!("Tag on {name}: {}", shown[0]),
                    _ => format!("Tags on {name}: {}", shown.join(", ")),
                }
            }
        };
        inv.msg(text);
        Ok(())
    }
}

/// `key:category` (Evennia splits at the first colon).
pub(crate) fn tag_and_category(text: &str) -> (&str, Option<&str>) {
    match text.split_once(':') {
        Some((t, c)) => (t.trim(), Some(c.trim()).filter(|c| !c.is_empty())),
        None => (text.trim(), None),
    }
}

/// `" (category: c)"`, or nothing for an uncategorised tag.
fn cat_note(category: Option<&str>) -> String {
    category.map(|c| format!(" (category: {c})")).unwrap_or_default()
}

/// The `tag/search` answer (Evennia's texts).
fn tag_search_text(tag: &str, category: Option<&str>, found: &[Obj]) -> String {
    if found.is_empty() {
        return format!("No objects found with tag '{tag}{}'.", cat_note(category));
    }
    let catstr = match category {
        Some(c) => format!(" (category: '|w{c}|n')"),
        None if found.len() == 1 => String::new(),
        None => " (may have different tag categories)".into(),
    };
    let names: Vec<String> = found.iter().map(|o| shown(*o)).collect();
    format!(
        "Found |w{}|n object{} with tag '|w{tag}|n'{catstr}:\n {}",
        found.len(),
        if found.len() > 1 { "s" } else { "" },
        names.join(", ")
    )
}

// --- lock ---------------------------------------------------------------------------------------

const LOCK_USAGE: &str =
    "Usage: lock <object>[ = <lockstring>] or lock[/switch] <object>/<access_type>";

/// `lock obj = get:false()`, `lock obj`, `lock obj/get`, `lock/del obj/get`.
pub(crate) struct Lock;
impl Command for Lock {
    const KEY: &'static str = "lock";
    const ALIASES: &'static [&'static str] = &["@lock", "locks", "@locks"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "assign a lock definition to an object\n\nUsage:\n  lock <object>[ = <lockstring>]\n  or\n  lock[/switch] <object>/<access_type>\n\nSwitch:\n  del - delete given access type\n  view - view lock associated with given access type (default)\n\nIf no lockstring is given, shows all locks on\nobject.\n\nLockstring is of the form\n   access_type:[NOT] func1(args)[ AND|OR][ NOT] func2(args) ...]\nWhere func1, func2 ... valid lockfuncs with or without arguments.\nSeparator expressions need not be capitalized.\n\nFor example:\n   'get: id(25) or perm(Admin)'\nThe 'get' lock access_type is checked e.g. by the 'get' command.\nAn object locked with this example lock will only be possible to pick up\nby Admins or by an object with id=25.\n\nYou can add several access_types after one another by separating\nthem by ';', i.e:\n   'get:id(25); delete:perm(Builder)'";
    fn func(inv: &Invocation) -> CmdResult {
        let me = me(inv)?;
        let (sw, rest) = inv.switches();
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(LOCK_USAGE.into());
        }
        let (lhs, rhs) = split_eq(rest);
        if let Some((objname, access_type)) = lhs.split_once('/') {
            let obj = search(me, objname)?;
            let access_type = access_type.trim();
            let prefix = format!("{}:", access_type.to_lowercase());
            let lockdef = obj.locks().into_iter().find(|l| l.to_lowercase().starts_with(&prefix));
            let text = match lockdef {
                None => format!("{} has no lock of access type '{access_type}'.", obj.name()),
                Some(l) if sw.iter().any(|s| s == "del") => {
                    if obj.lock_remove(access_type)? {
                        format!("deleted lock {l}")
                    } else {
                        // Only the kind's default is left: nothing of the object's own to delete.
                        format!(
                            "{} has only its default lock {l}, which cannot be deleted.",
                            obj.name()
                        )
                    }
                }
                Some(l) => l,
            };
            inv.msg(text);
            return Ok(());
        }
        if let Some(lockdef) = rhs.filter(|r| !r.is_empty()) {
            if !sw.is_empty() {
                return Err(format!(
                    "Switch(es) |w{}|n can not be used with a lock assignment. Use e.g. |wlock/del objname/locktype|n instead.",
                    sw.join(", ")
                ));
            }
            let obj = search(me, lhs)?;
            let lockdef = lockdef.replace(['\'', '"'], "");
            // The host reads the lock string and refuses it, with the reason, if it cannot.
            obj.lock_add(&lockdef)?;
            inv.msg(format!("Added lock '{lockdef}' to {}.", obj.name()));
            return Ok(());
        }
        let obj = search(me, lhs)?;
        inv.msg(obj.locks().join("\n"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keeps_json_as_json_and_notes_plain_text() {
        assert_eq!(typed("10"), ("10".into(), None));
        assert_eq!(typed("\"bar\""), ("\"bar\"".into(), None));
        assert_eq!(typed("[1, \"a\"]"), ("[1, \"a\"]".into(), None));
        let (text, note) = typed("a red ball");
        assert_eq!(text, "\"a red ball\"");
        assert!(note.unwrap().contains("was converted to a string"));
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert_eq!(typed(&deep), (deep.clone(), None));
    }
}
