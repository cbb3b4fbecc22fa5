//! World-model probes for the host's tests (`tests/world.rs`): each command calls one import and
//! shows what came back, so a test reads the host's answer as a player would. Objects are named
//! `#id`, `here`, `me`, or by a name in the caller's room or inventory. A refusal shows its case
//! (`tag refused (quota): ...`), matched on [`HostError`], not on its text.

use mudhost_sdk::{cmdset, CmdResult, Command, HostError, Invocation, Obj};

/// A refusal as the tests read it: what was refused, the case, the reason.
fn refused(what: &str, e: HostError) -> String {
    let case = match &e {
        HostError::Quota(_) => "quota",
        HostError::Invalid(_) => "invalid",
        HostError::NotFound(_) => "not found",
        HostError::Denied(_) => "denied",
        HostError::Refused(_) => "refused",
    };
    format!("{what} refused ({case}): {}", e.reason())
}

/// The caller's character.
fn me(inv: &Invocation) -> Result<Obj, String> {
    inv.puppet().ok_or_else(|| "not puppeting".to_string())
}

/// An object by `#id`, `here`, `me` or name (room, then inventory).
fn obj(inv: &Invocation, name: &str) -> Result<Obj, String> {
    let me = me(inv)?;
    match name {
        "here" => me.location().ok_or_else(|| "nowhere".into()),
        "me" => Ok(me),
        n if n.starts_with('#') => Obj::parse(n).ok_or_else(|| format!("bad id {n}")),
        n => Obj::find(n, &me.location().into_iter().chain([me]).collect::<Vec<_>>()),
    }
}

/// The words of the arguments.
fn words(inv: &Invocation) -> Vec<&str> {
    inv.args_trimmed().split_whitespace().collect()
}

/// `-` for no category.
fn category(word: Option<&&str>) -> Option<String> {
    word.filter(|c| **c != "-").map(|c| c.to_string())
}

/// `key(#id), ...` of a list of objects, or `none`.
fn list(objs: &[Obj]) -> String {
    if objs.is_empty() {
        return "none".into();
    }
    objs.iter().map(|o| format!("{}({o})", o.name())).collect::<Vec<_>>().join(", ")
}

/// `wtag <obj> <key> [category|-]`.
struct TagAdd;
impl Command for TagAdd {
    const KEY: &'static str = "wtag";
    const HELP: &'static str = "Tag an object.";
    fn func(inv: &Invocation) -> CmdResult {
        let w = words(inv);
        let o = obj(inv, w.first().ok_or("tag what?")?)?;
        let key = w.get(1).ok_or("tag key?")?;
        o.tag_add(key, category(w.get(2)).as_deref()).map_err(|e| refused("tag", e))?;
        inv.msg(format!("tagged {}", o.name()));
        Ok(())
    }
}

/// `wuntag <obj> <key> [category|-]`.
struct TagRemove;
impl Command for TagRemove {
    const KEY: &'static str = "wuntag";
    const HELP: &'static str = "Remove a tag.";
    fn func(inv: &Invocation) -> CmdResult {
        let w = words(inv);
        let o = obj(inv, w.first().ok_or("untag what?")?)?;
        let key = w.get(1).ok_or("tag key?")?;
        let had = o.tag_remove(key, category(w.get(2)).as_deref())?;
        inv.msg(format!("untagged {}: {had}", o.name()));
        Ok(())
    }
}

/// `wtags <obj>`.
struct Tags;
impl Command for Tags {
    const KEY: &'static str = "wtags";
    const HELP: &'static str = "List an object's tags.";
    fn func(inv: &Invocation) -> CmdResult {
        let o = obj(inv, inv.args_trimmed())?;
        let tags: Vec<String> = o
            .tags()
            .into_iter()
            .map(|t| format!("{}[{}]", t.key, t.category.unwrap_or_default()))
            .collect();
        inv.msg(format!("tags of {}: {}", o.name(), tags.join(" ")));
        Ok(())
    }
}

/// `wfindtag <key> [category|-] [here]`.
struct SearchTag;
impl Command for SearchTag {
    const KEY: &'static str = "wfindtag";
    const HELP: &'static str = "Search objects by tag.";
    fn func(inv: &Invocation) -> CmdResult {
        let w = words(inv);
        let key = w.first().ok_or("tag key?")?;
        let here = if w.get(2) == Some(&"here") { me(inv)?.location() } else { None };
        let found = Obj::search_tag(key, category(w.get(1)).as_deref(), here);
        inv.msg(format!("tagged {key}: {}", list(&found)));
        Ok(())
    }
}

/// `walias <obj> <alias>`.
struct AliasAdd;
impl Command for AliasAdd {
    const KEY: &'static str = "walias";
    const HELP: &'static str = "Give an object an alias.";
    fn func(inv: &Invocation) -> CmdResult {
        let args = inv.args_trimmed();
        let (name, alias) = args.split_once(' ').ok_or("walias <obj> <alias>")?;
        let o = obj(inv, name)?;
        o.alias_add(alias.trim()).map_err(|e| refused("alias", e))?;
        inv.msg(format!("aliases of {}: {}", o.name(), o.aliases().join(", ")));
        Ok(())
    }
}

/// `wfind <name>`: a global search by key or alias.
struct Find;
impl Command for Find {
    const KEY: &'static str = "wfind";
    const HELP: &'static str = "Search everywhere by key or alias.";
    fn func(inv: &Invocation) -> CmdResult {
        let name = inv.args_trimmed();
        inv.msg(format!("found {name}: {}", list(&Obj::search(name, None))));
        Ok(())
    }
}

/// `wkind <kind> [here]`.
struct Kind;
impl Command for Kind {
    const KEY: &'static str = "wkind";
    const HELP: &'static str = "Search by kind.";
    fn func(inv: &Invocation) -> CmdResult {
        let w = words(inv);
        let kind = w.first().ok_or("kind?")?;
        let here = if w.get(1) == Some(&"here") { me(inv)?.location() } else { None };
        inv.msg(format!("kind {kind}: {}", list(&Obj::search_kind(kind, here))));
        Ok(())
    }
}

/// `wsetj <obj> <key> <category|-> <json>`: the JSON text is passed to the host as typed.
struct SetJson;
impl Command for SetJson {
    const KEY: &'static str = "wsetj";
    const HELP: &'static str = "Set a typed attribute from JSON text.";
    fn func(inv: &Invocation) -> CmdResult {
        let args = inv.args_trimmed();
        let mut parts = args.splitn(4, ' ');
        let (o, key, cat, json) = (parts.next(), parts.next(), parts.next(), parts.next());
        let (Some(o), Some(key), Some(cat), Some(json)) = (o, key, cat, json) else {
            return Err("wsetj <obj> <key> <category|-> <json>".into());
        };
        let o = obj(inv, o)?;
        let cat = category(Some(&cat));
        o.set_attr_json_text(key, cat.as_deref(), json).map_err(|e| refused("attribute", e))?;
        inv.msg(format!("set {key} on {}", o.name()));
        Ok(())
    }
}

/// `wsetbig <obj> <key> <depth|bytes> <n>`: a JSON value nested `n` deep, or `n` bytes long.
struct SetBig;
impl Command for SetBig {
    const KEY: &'static str = "wsetbig";
    const HELP: &'static str = "Set a deep or large JSON attribute.";
    fn func(inv: &Invocation) -> CmdResult {
        let w = words(inv);
        let (Some(o), Some(key), Some(how), Some(n)) = (w.first(), w.get(1), w.get(2), w.get(3))
        else {
            return Err("wsetbig <obj> <key> <depth|bytes> <n>".into());
        };
        let o = obj(inv, o)?;
        let n: usize = n.parse().map_err(|_| "n?".to_string())?;
        let json = match *how {
            "depth" => format!("{}{}", "[".repeat(n), "]".repeat(n)),
            _ => format!("\"{}\"", "x".repeat(n)),
        };
        o.set_attr_json_text(key, None, &json).map_err(|e| refused("attribute", e))?;
        inv.msg(format!("set {key} on {}", o.name()));
        Ok(())
    }
}

/// `wgetj <obj> <key> [category|-]`: the value as the SDK reads it, and as the old string
/// import reads it.
struct GetJson;
impl Command for GetJson {
    const KEY: &'static str = "wgetj";
    const HELP: &'static str = "Read a typed attribute.";
    fn func(inv: &Invocation) -> CmdResult {
        let w = words(inv);
        let o = obj(inv, w.first().ok_or("which object?")?)?;
        let key = w.get(1).ok_or("key?")?;
        let value = o.attr_json(key, category(w.get(2)).as_deref());
        let value = value.map(|v| v.to_string()).unwrap_or_else(|| "none".into());
        let string = o.attr(key).unwrap_or_else(|| "none".into());
        inv.msg(format!("{key} = {value} (as a string: {string})"));
        Ok(())
    }
}

/// `wlock <obj> <lockstring>`.
struct LockAdd;
impl Command for LockAdd {
    const KEY: &'static str = "wlock";
    const HELP: &'static str = "Add locks to an object.";
    fn func(inv: &Invocation) -> CmdResult {
        let args = inv.args_trimmed();
        let (name, locks) = args.split_once(' ').ok_or("wlock <obj> <lockstring>")?;
        let o = obj(inv, name)?;
        o.lock_add(locks.trim()).map_err(|e| refused("lock", e))?;
        inv.msg(format!("locks of {}: {}", o.name(), o.locks().join("; ")));
        Ok(())
    }
}

/// `waccess <obj> <type>`: whether the caller's character passes.
struct Access;
impl Command for Access {
    const KEY: &'static str = "waccess";
    const HELP: &'static str = "Check a lock.";
    fn func(inv: &Invocation) -> CmdResult {
        let w = words(inv);
        let o = obj(inv, w.first().ok_or("which object?")?)?;
        let t = w.get(1).ok_or("access type?")?;
        inv.msg(format!("access {t} to {}: {}", o.name(), o.access(me(inv)?, t)));
        Ok(())
    }
}

/// `wtagfail <obj> <key>`: tags, aliases and locks the object, then panics (nothing may stay).
struct TagFail;
impl Command for TagFail {
    const KEY: &'static str = "wtagfail";
    const HELP: &'static str = "Change the world model, then fail.";
    fn func(inv: &Invocation) -> CmdResult {
        let w = words(inv);
        let o = obj(inv, w.first().ok_or("which object?")?)?;
        let key = w.get(1).ok_or("key?")?;
        o.tag_add(key, None)?;
        o.alias_add(key)?;
        o.lock_add("get:false()")?;
        o.set_attr_json(key, Some("failing"), &serde_json::json!([1]))?;
        panic!("wtagfail: failing after changing the world model");
    }
}

cmdset! {
    key: "WorldTestCmdSet", priority: 0, merge_type: Union,
    commands: [TagAdd, TagRemove, Tags, SearchTag, AliasAdd, Find, Kind, SetJson, SetBig, GetJson,
               LockAdd, Access, TagFail],
}
