//! The test host's fake of the world-model imports: tags, aliases, searches by tag and kind,
//! typed attributes and object locks. Lock expressions are read as the host reads them for the
//! common lock functions (`all`, `true`, `false`, `none`, `superuser`, `perm`, `pperm`,
//! `perm_above`, `id`, `dbref`, `pid`, `attr`, `objattr`, `tag`, `objtag`, `holds`, `inside`,
//! `has_account`, with `and`, `or`, `not` and parentheses); an unknown function is refused, as
//! the host does. Kinds' default locks are the host's for `get` and `traverse`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::{with, State};
use crate::bindings::mudhost::game::host::{AttrEntry, Tag};
use crate::{HostError, ObjectId};

#[derive(Default)]
struct Fake {
    tags: BTreeMap<ObjectId, BTreeSet<(String, String)>>,
    aliases: BTreeMap<ObjectId, Vec<String>>,
    locks: BTreeMap<ObjectId, Vec<(String, String)>>,
    typed: BTreeMap<ObjectId, BTreeMap<(String, String), String>>,
}

thread_local! {
    static FAKE: RefCell<Fake> = RefCell::new(Fake::default());
}

fn fake<R>(f: impl FnOnce(&mut Fake) -> R) -> R {
    FAKE.with(|w| f(&mut w.borrow_mut()))
}

/// Forget everything (a new test host).
pub(super) fn reset() {
    fake(|w| *w = Fake::default());
}

/// Whether `name` (lower case) is one of the object's aliases (for the fake `object-search`).
pub(super) fn has_alias(obj: ObjectId, name: &str) -> bool {
    fake(|w| w.aliases.get(&obj).is_some_and(|a| a.iter().any(|a| a.to_lowercase() == name)))
}

fn exists(obj: ObjectId) -> Result<(), HostError> {
    with(|s| s.objects.contains_key(&obj))
        .then_some(())
        .ok_or_else(|| HostError::NotFound(format!("no object #{obj}")))
}

fn tag_of(key: &str, category: Option<&str>) -> (String, String) {
    (category.unwrap_or_default().trim().to_lowercase(), key.trim().to_lowercase())
}

pub fn tag_add(obj: ObjectId, key: &str, category: Option<&str>) -> Result<(), HostError> {
    exists(obj)?;
    if key.trim().is_empty() {
        return Err(HostError::Invalid("a tag key cannot be empty".into()));
    }
    fake(|w| w.tags.entry(obj).or_default().insert(tag_of(key, category)));
    Ok(())
}

pub fn tag_remove(obj: ObjectId, key: &str, category: Option<&str>) -> Result<bool, HostError> {
    Ok(fake(|w| w.tags.get_mut(&obj).is_some_and(|t| t.remove(&tag_of(key, category)))))
}

pub fn tags(obj: ObjectId) -> Vec<Tag> {
    fake(|w| {
        w.tags
            .get(&obj)
            .into_iter()
            .flatten()
            .map(|(c, k)| Tag {
                key: k.clone(),
                category: Some(c.clone()).filter(|c| !c.is_empty()),
            })
            .collect()
    })
}

/// Ids inside `location` (all of them when None) that `keep` accepts, by id.
fn select(location: Option<ObjectId>, keep: impl Fn(ObjectId, &str) -> bool) -> Vec<ObjectId> {
    let candidates: Vec<(ObjectId, String)> = with(|s| {
        s.objects
            .iter()
            .filter(|(_, o)| location.is_none() || o.location == location)
            .map(|(id, o)| (*id, o.kind.clone()))
            .collect()
    });
    candidates.into_iter().filter(|(id, kind)| keep(*id, kind)).map(|(id, _)| id).collect()
}

pub fn search_tag(key: &str, category: Option<&str>, location: Option<ObjectId>) -> Vec<ObjectId> {
    let t = tag_of(key, category);
    select(location, |id, _| fake(|w| w.tags.get(&id).is_some_and(|s| s.contains(&t))))
}

pub fn alias_add(obj: ObjectId, alias: &str) -> Result<(), HostError> {
    exists(obj)?;
    let alias = alias.trim();
    if alias.is_empty() {
        return Err(HostError::Invalid("an alias cannot be empty".into()));
    }
    fake(|w| {
        let list = w.aliases.entry(obj).or_default();
        if !list.iter().any(|a| a.eq_ignore_ascii_case(alias)) {
            list.push(alias.to_string());
        }
    });
    Ok(())
}

pub fn alias_remove(obj: ObjectId, alias: &str) -> Result<bool, HostError> {
    let alias = alias.trim().to_lowercase();
    Ok(fake(|w| {
        let Some(list) = w.aliases.get_mut(&obj) else { return false };
        let before = list.len();
        list.retain(|a| a.to_lowercase() != alias);
        list.len() != before
    }))
}

pub fn aliases(obj: ObjectId) -> Vec<String> {
    fake(|w| w.aliases.get(&obj).cloned().unwrap_or_default())
}

pub fn search_kind(kind: &str, location: Option<ObjectId>) -> Vec<ObjectId> {
    let kind = kind.trim().to_lowercase();
    select(location, |_, k| k.to_lowercase() == kind)
}

pub fn attr_get_json(obj: ObjectId, key: &str, category: Option<&str>) -> Option<String> {
    let category = category.unwrap_or_default().to_string();
    if let Some(v) = fake(|w| w.typed.get(&obj)?.get(&(category.clone(), key.into())).cloned()) {
        return Some(v);
    }
    if !category.is_empty() {
        return None;
    }
    super::imports::object_attr_get(obj, key).map(|s| serde_json::Value::String(s).to_string())
}

pub fn attr_set_json(
    obj: ObjectId,
    key: &str,
    category: Option<&str>,
    value: Option<&str>,
) -> Result<(), HostError> {
    exists(obj)?;
    let category = category.unwrap_or_default().to_string();
    let slot = (category.clone(), key.to_string());
    let remove_typed = |w: &mut Fake| {
        if let Some(m) = w.typed.get_mut(&obj) {
            m.remove(&slot);
        }
    };
    let Some(text) = value else {
        fake(remove_typed);
        if category.is_empty() {
            super::imports::object_attr_set(obj, key, None)?;
        }
        return Ok(());
    };
    let parsed: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| HostError::Invalid(format!("the value is not valid JSON: {e}")))?;
    match parsed {
        serde_json::Value::String(s) if category.is_empty() => {
            fake(remove_typed);
            super::imports::object_attr_set(obj, key, Some(&s))
        }
        v => {
            if category.is_empty() {
                super::imports::object_attr_set(obj, key, None)?;
            }
            fake(|w| w.typed.entry(obj).or_default().insert(slot.clone(), v.to_string()));
            Ok(())
        }
    }
}

pub fn attr_list(obj: ObjectId) -> Vec<AttrEntry> {
    let strings: Vec<(String, String)> = with(|s| {
        s.objects
            .get(&obj)
            .map(|o| o.attrs.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    });
    let mut out: Vec<AttrEntry> = strings
        .into_iter()
        .map(|(key, v)| AttrEntry {
            key,
            category: None,
            value_json: serde_json::Value::String(v).to_string(),
        })
        .collect();
    fake(|w| {
        for ((c, k), v) in w.typed.get(&obj).into_iter().flatten() {
            out.push(AttrEntry {
                key: k.clone(),
                category: Some(c.clone()).filter(|c| !c.is_empty()),
                value_json: v.clone(),
            });
        }
    });
    out.sort_by(|a, b| (&a.category, &a.key).cmp(&(&b.category, &b.key)));
    out
}

pub fn lock_add(obj: ObjectId, lockstring: &str) -> Result<(), HostError> {
    exists(obj)?;
    let mut parsed = vec![];
    for part in lockstring.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, expr) = part
            .split_once(':')
            .ok_or_else(|| HostError::Invalid(format!("Lock: '{part}' has no access type")))?;
        // Read it now, so an unreadable lock is refused as the host refuses it.
        Expr::parse(expr).map_err(|e| HostError::Invalid(format!("Lock: {}: {e}", kind.trim())))?;
        parsed.push((kind.trim().to_lowercase(), expr.trim().to_string()));
    }
    if parsed.is_empty() {
        return Err(HostError::Invalid("Lock: the lock string is empty.".into()));
    }
    fake(|w| {
        let locks = w.locks.entry(obj).or_default();
        for (kind, expr) in parsed {
            locks.retain(|(k, _)| *k != kind);
            locks.push((kind, expr));
        }
    });
    Ok(())
}

pub fn lock_remove(obj: ObjectId, access_type: &str) -> Result<bool, HostError> {
    let t = access_type.trim().to_lowercase();
    Ok(fake(|w| {
        let Some(l) = w.locks.get_mut(&obj) else { return false };
        let before = l.len();
        l.retain(|(k, _)| *k != t);
        l.len() != before
    }))
}

/// The fake's default locks by kind (the host's for `get` and `traverse`).
fn defaults(kind: &str) -> Vec<(String, String)> {
    let get = if matches!(kind, "character" | "room" | "exit") { "false()" } else { "all()" };
    let mut d = vec![("get".to_string(), get.to_string())];
    if kind == "exit" {
        d.push(("traverse".into(), "all()".into()));
    }
    d
}

pub fn locks(obj: ObjectId) -> Vec<String> {
    let Some(kind) = with(|s| s.objects.get(&obj).map(|o| o.kind.clone())) else { return vec![] };
    let own = fake(|w| w.locks.get(&obj).cloned().unwrap_or_default());
    let mut out: Vec<String> = own.iter().map(|(k, e)| format!("{k}:{e}")).collect();
    for (k, e) in defaults(&kind) {
        if !own.iter().any(|(o, _)| *o == k) {
            out.push(format!("{k}:{e}"));
        }
    }
    out
}

pub fn access(obj: ObjectId, accessor: ObjectId, access_type: &str) -> bool {
    let t = access_type.trim().to_lowercase();
    let Some(kind) = with(|s| s.objects.get(&obj).map(|o| o.kind.clone())) else { return false };
    let own = fake(|w| w.locks.get(&obj).and_then(|l| l.iter().find(|(k, _)| *k == t).cloned()));
    let Some((_, expr)) = own.or_else(|| defaults(&kind).into_iter().find(|(k, _)| *k == t)) else {
        return true;
    };
    let Ok(expr) = Expr::parse(&expr) else { return false };
    let (superuser, perm, account) = with(|s| accessor_account(s, accessor));
    superuser || expr.eval(&Ctx { obj, accessor, perm, account })
}

/// The accessor's account: the one puppeting it, else its owner. (superuser, permission, id).
fn accessor_account(s: &State, accessor: ObjectId) -> (bool, Option<String>, Option<u64>) {
    let uid = s
        .infos(|i| i.puppet == Some(accessor))
        .first()
        .and_then(|i| i.account)
        .or_else(|| s.objects.get(&accessor)?.attrs.get("owner_account")?.parse().ok());
    match uid.and_then(|u| s.accounts.get(&u).map(|a| (u, a))) {
        Some((u, a)) => (a.superuser, Some(a.permission.clone()), Some(u)),
        None => (false, None, None),
    }
}

struct Ctx {
    obj: ObjectId,
    accessor: ObjectId,
    perm: Option<String>,
    account: Option<u64>,
}

/// A lock expression, as the fake reads it.
enum Expr {
    Call(String, Vec<String>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

const FUNCS: &[&str] = &[
    "all",
    "true",
    "false",
    "none",
    "superuser",
    "perm",
    "pperm",
    "perm_above",
    "pperm_above",
    "id",
    "dbref",
    "pid",
    "pdbref",
    "attr",
    "objattr",
    "tag",
    "objtag",
    "holds",
    "inside",
    "has_account",
];

impl Expr {
    fn parse(text: &str) -> Result<Expr, String> {
        let toks = tokens(text)?;
        let mut pos = 0;
        let e = Expr::or(&toks, &mut pos)?;
        if pos != toks.len() {
            return Err(format!("cannot read '{}'", text.trim()));
        }
        Ok(e)
    }

    fn or(t: &[String], pos: &mut usize) -> Result<Expr, String> {
        let mut left = Expr::and(t, pos)?;
        while t.get(*pos).is_some_and(|w| w == "or") {
            *pos += 1;
            left = Expr::Or(Box::new(left), Box::new(Expr::and(t, pos)?));
        }
        Ok(left)
    }

    fn and(t: &[String], pos: &mut usize) -> Result<Expr, String> {
        let mut left = Expr::not(t, pos)?;
        while t.get(*pos).is_some_and(|w| w == "and") {
            *pos += 1;
            left = Expr::And(Box::new(left), Box::new(Expr::not(t, pos)?));
        }
        Ok(left)
    }

    fn not(t: &[String], pos: &mut usize) -> Result<Expr, String> {
        let tok = t.get(*pos).ok_or("the expression ends too early")?;
        *pos += 1;
        match tok.as_str() {
            "not" => Ok(Expr::Not(Box::new(Expr::not(t, pos)?))),
            "(" => {
                let e = Expr::or(t, pos)?;
                (t.get(*pos).map(String::as_str) == Some(")"))
                    .then_some(())
                    .ok_or("a '(' is not closed")?;
                *pos += 1;
                Ok(e)
            }
            call => {
                let (name, args) =
                    call.split_once('(').ok_or(format!("'{call}' is not a lock function call"))?;
                let name = name.to_lowercase();
                if !FUNCS.contains(&name.as_str()) {
                    return Err(format!("unknown lock function '{name}()'"));
                }
                let args = args.trim_end_matches(')');
                let args = args
                    .split(',')
                    .map(|a| a.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
                    .filter(|a| !a.is_empty())
                    .collect();
                Ok(Expr::Call(name, args))
            }
        }
    }

    fn eval(&self, c: &Ctx) -> bool {
        match self {
            Expr::Not(e) => !e.eval(c),
            Expr::And(a, b) => a.eval(c) && b.eval(c),
            Expr::Or(a, b) => a.eval(c) || b.eval(c),
            Expr::Call(f, args) => call(f, args, c),
        }
    }
}

fn call(f: &str, args: &[String], c: &Ctx) -> bool {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let id = |i: usize| arg(i).trim_start_matches('#').parse::<u64>().ok();
    let rank = |p: &str| {
        let p = p.trim_end_matches(['s', 'S']);
        super::accounts::PERMISSIONS.iter().position(|h| h.eq_ignore_ascii_case(p))
    };
    let attr_of = |obj: ObjectId| {
        let a = with(|s| s.objects.get(&obj).and_then(|o| o.attrs.get(arg(0)).cloned()));
        match (a, args.get(1)) {
            (Some(v), Some(want)) => v == *want,
            (a, _) => a.is_some(),
        }
    };
    let tagged = |obj: ObjectId| {
        let t = tag_of(arg(0), args.get(1).map(String::as_str));
        fake(|w| w.tags.get(&obj).is_some_and(|s| s.contains(&t)))
    };
    let location = |obj: ObjectId| with(|s| s.objects.get(&obj).and_then(|o| o.location));
    match f {
        "all" | "true" => true,
        "false" | "none" | "superuser" => false,
        "perm" | "pperm" | "perm_above" | "pperm_above" => {
            let above = f.ends_with("above");
            match (c.perm.as_deref().and_then(rank), rank(arg(0))) {
                (Some(h), Some(r)) => h > r || (!above && h == r),
                _ => false,
            }
        }
        "id" | "dbref" => id(0) == Some(c.accessor),
        "pid" | "pdbref" => id(0).is_some() && id(0) == c.account,
        "attr" => attr_of(c.accessor),
        "objattr" => attr_of(c.obj),
        "tag" => tagged(c.accessor),
        "objtag" => tagged(c.obj),
        "holds" => match args.first() {
            None => location(c.obj) == Some(c.accessor),
            Some(what) => match what.trim_start_matches('#').parse::<u64>() {
                Ok(i) => location(i) == Some(c.accessor),
                Err(_) => !super::imports::object_search(what, Some(c.accessor)).is_empty(),
            },
        },
        "inside" => location(c.accessor) == Some(c.obj),
        "has_account" => with(|s| !s.infos(|i| i.puppet == Some(c.accessor)).is_empty()),
        _ => false,
    }
}

/// Words, parentheses and whole calls (`name(args)`).
fn tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '(' || ch == ')' {
            out.push(ch.to_string());
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '(' && chars[i] != ')'
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
            if i < chars.len() && chars[i] == '(' && !matches!(word.as_str(), "and" | "or" | "not")
            {
                let close =
                    chars[i..].iter().position(|&c| c == ')').ok_or("a '(' is not closed")?;
                let call: String = chars[i..=i + close].iter().collect();
                out.push(format!("{word}{call}"));
                i += close + 1;
            } else {
                out.push(word);
            }
        }
    }
    if out.is_empty() {
        return Err("the expression is empty".into());
    }
    Ok(out)
}
