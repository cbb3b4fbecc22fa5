//! `examine`: everything the world keeps about an object, for builders (Evennia's `examine`,
//! its layout as far as this world has the fields: key, aliases, class, location, destination,
//! locks, tags, attributes, stored cmdsets, exits, characters and contents).

use mudhost_sdk::{host, CmdResult, CmdsetHolder, Command, Invocation, Obj};

/// Evennia's `utils.crop` at its default width: long values end in `[...]`.
const WIDTH: usize = 78;

fn crop(text: &str) -> String {
    if text.chars().count() <= WIDTH {
        return text.to_string();
    }
    let kept: String = text.chars().take(WIDTH - 5).collect();
    format!("{kept}[...]")
}

/// Markup in stored text is shown as typed, not rendered (Evennia's `ansi_raw`).
fn raw(text: &str) -> String {
    text.replace('|', "||")
}

/// `key (#id)`, as Evennia's `format_location`.
fn named(obj: Obj) -> String {
    format!("{} ({obj})", obj.name())
}

/// An attribute line: `key=value` or `key[category]=value`, with Evennia's type note for values
/// that are not strings.
fn attribute_line(key: &str, category: Option<&str>, value_json: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(value_json).unwrap_or(serde_json::Value::Null);
    let (text, typ) = match &value {
        serde_json::Value::String(s) => (s.clone(), None),
        serde_json::Value::Bool(_) => (value_json.to_string(), Some("bool")),
        serde_json::Value::Number(n) if n.is_f64() => (value_json.to_string(), Some("float")),
        serde_json::Value::Number(_) => (value_json.to_string(), Some("int")),
        serde_json::Value::Array(_) => (value_json.to_string(), Some("list")),
        serde_json::Value::Object(_) => (value_json.to_string(), Some("dict")),
        serde_json::Value::Null => ("None".to_string(), Some("NoneType")),
    };
    let name = match category {
        Some(c) => format!("|w{key}|n[{c}]"),
        None => format!("|w{key}|n"),
    };
    let typ = typ.map(|t| format!(" |B[type: {t}]|n")).unwrap_or_default();
    format!("{name}={}{typ}", raw(&crop(&text)))
}

/// Evennia's examine page: a `header: block` line per field that has a value, between two
/// separator lines.
pub fn examine_text(obj: Obj) -> String {
    let mut fields: Vec<(&str, String)> = vec![("Name/key", named(obj))];
    let aliases = obj.aliases();
    if !aliases.is_empty() {
        fields.push(("Aliases", aliases.join(", ")));
    }
    // The object class it is bound to (Evennia's typeclass).
    if let Some(class) = obj.class() {
        fields.push(("Typeclass", class));
    }
    if let Some(loc) = obj.location() {
        fields.push(("Location", named(loc)));
    }
    if let Some(dest) = obj.attr_obj("destination").filter(|d| d.exists()) {
        fields.push(("Destination", named(dest)));
    }
    let locks = obj.locks();
    fields.push(("Locks", if locks.is_empty() { "Default".into() } else { locks.join("; ") }));
    let tags: Vec<String> = obj
        .tags()
        .into_iter()
        .map(|t| match t.category {
            Some(c) => format!("{}[{c}]", t.key),
            None => t.key,
        })
        .collect();
    if !tags.is_empty() {
        fields.push(("Tags", tags.join(", ")));
    }
    let mut attrs: Vec<String> = obj
        .attrs()
        .iter()
        .map(|a| attribute_line(&a.key, a.category.as_deref(), &a.value_json))
        .collect();
    attrs.sort();
    if !attrs.is_empty() {
        fields.push(("Persistent Attributes", format!("\n  {}", attrs.join("\n  "))));
    }
    // The cmdsets stored on the object (Evennia's "Stored Cmdset(s)"), by module.
    let cmdsets = host::cmdset_list(CmdsetHolder::Object(obj.id()));
    if !cmdsets.is_empty() {
        fields.push(("Stored Cmdset(s)", cmdsets.join(", ")));
    }
    let (mut exits, mut chars, mut things) = (vec![], vec![], vec![]);
    for b in obj.contents_briefs() {
        let entry = format!("{}(#{})", b.key, b.id);
        match b.kind.as_str() {
            "exit" => exits.push(entry),
            "character" => chars.push(entry),
            _ => things.push(entry),
        }
    }
    for (header, list) in [("Exits", exits), ("Characters", chars), ("Content", things)] {
        if !list.is_empty() {
            fields.push((header, list.join(", ")));
        }
    }
    let body: Vec<String> = fields.iter().map(|(h, b)| format!("|w{h}|n: {b}")).collect();
    // The separator is as wide as the widest line, at most the client's default width.
    let widest = body
        .iter()
        .flat_map(|b| b.split('\n'))
        .map(mudhost_sdk::text::display_width)
        .max()
        .unwrap_or(0)
        .min(WIDTH);
    let sep = "-".repeat(widest);
    format!("{sep}\n{}\n{sep}", body.join("\n"))
}

/// Examine an object.
pub struct Examine;
impl Command for Examine {
    const KEY: &'static str = "examine";
    const ALIASES: &'static [&'static str] = &["exam", "ex"];
    const LOCKS: &'static str = "cmd:perm(Builder)";
    const HELP_CATEGORY: &'static str = "building";
    const HELP: &'static str = "Get detailed information about an object.\n\nUsage:\n  examine [<object>]\n\nThe examine command shows detailed game info about an object: its key, aliases, location, locks, tags and attributes. If no object is given, your current location is examined. An object can be named by its #dbref.";
    fn func(inv: &Invocation) -> CmdResult {
        let me = inv.puppet().ok_or("You are not puppeting a character.")?;
        let arg = inv.args_trimmed();
        let here = me.location();
        let target = match arg.to_lowercase().as_str() {
            "" | "here" => here.ok_or("You have no location to examine.")?,
            "me" | "self" => me,
            _ if arg.starts_with('#') => {
                Obj::parse(arg).filter(|o| o.exists()).ok_or(format!("Could not find '{arg}'."))?
            }
            _ => Obj::find(arg, &here.into_iter().chain([me]).collect::<Vec<_>>())?,
        };
        inv.msg(examine_text(target));
        Ok(())
    }
}
