//! Prototypes (Evennia's spawner data): `.toml` and `.json` files in the game's prototypes folder
//! (`prototypes_dir`), read for the `prototype-list` / `prototype-get` imports that `spawn` uses.
//!
//! The folder is looked at on every call and a file is parsed again only when its size,
//! modification time or inode changed, so an edit made while the game runs is used by the next
//! `spawn` (the same promise as module hot reload) without re-reading unchanged files. Parsing
//! happens here, in the host, so every module sees the same prototypes and a guest never touches a
//! file. Everything a hostile or careless folder can do is bounded by config keys: the size of a
//! file (`prototype_file_bytes`, checked before reading, and the read itself capped), the number
//! of files and of prototypes (`prototype_files`) and the length of a parent chain
//! (`prototype_parent_depth`); a cycle of parents is refused at any length, and resolving a
//! prototype visits each prototype at most once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::config::Config;

/// One prototype as read from its file (keys as written, `prototype_key` lower-cased).
#[derive(Debug, Clone, PartialEq)]
pub struct Prototype {
    /// `prototype_key`, lower case.
    pub key: String,
    /// The file it came from, relative to the folder.
    pub file: String,
    /// Every key of the prototype.
    pub data: Map<String, Value>,
}

impl Prototype {
    /// `prototype_parent`: one key or a list, lower case.
    fn parents(&self) -> Vec<String> {
        strings(self.data.get("prototype_parent")).into_iter().map(|p| p.to_lowercase()).collect()
    }
}

/// What identifies a file's content without reading it: size, modification time, inode.
type Stamp = (u64, Option<SystemTime>, u64);

/// What a file held when it was last parsed.
#[derive(Debug)]
struct Cached {
    stamp: Stamp,
    parsed: Result<Vec<Prototype>, String>,
}

/// The folder's prototype files in name order, each with its stamp (None: not a readable
/// file), and how many more there were beyond `prototype_files`.
type Listing = (Vec<(PathBuf, Option<Stamp>)>, Vec<PathBuf>);

/// The prototypes folder and what was parsed from it.
#[derive(Debug)]
pub struct Prototypes {
    dir: PathBuf,
    file_bytes: usize,
    files: usize,
    depth: usize,
    cache: HashMap<PathBuf, Cached>,
    /// The last catalog and the listing it was built from: while the folder lists the same
    /// stamps, it is handed out again (a call costs a directory read and a stat per file).
    last: Option<(Listing, Arc<Catalog>)>,
}

/// The folder as it is now: prototypes by key, and one line per thing refused.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Prototypes by lower-case key.
    pub protos: BTreeMap<String, Prototype>,
    /// Refused files and prototypes, each naming its file and the reason.
    pub problems: Vec<String>,
}

impl Prototypes {
    /// The folder and limits of `cfg`; nothing is read until asked.
    pub fn new(cfg: &Config) -> Prototypes {
        Prototypes {
            dir: cfg.prototypes_dir.clone(),
            file_bytes: cfg.prototype_file_bytes,
            files: cfg.prototype_files,
            depth: cfg.prototype_parent_depth,
            cache: HashMap::new(),
            last: None,
        }
    }

    /// The folder's `.toml` / `.json` files now (a missing folder lists none).
    fn listing(&self) -> Listing {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return (vec![], vec![]);
        };
        let mut paths: Vec<PathBuf> = read
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(extension(p), Some("toml" | "json")))
            .collect();
        paths.sort();
        let surplus = paths.split_off(paths.len().min(self.files));
        let stamped = paths
            .into_iter()
            .map(|p| {
                let stamp = std::fs::metadata(&p)
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| (m.len(), m.modified().ok(), m.ino()));
                (p, stamp)
            })
            .collect();
        (stamped, surplus)
    }

    /// Look at the folder and return every prototype in it (files changed since the last call
    /// parsed again, the whole catalog reused when nothing changed).
    pub fn catalog(&mut self) -> Arc<Catalog> {
        let listing = self.listing();
        if let Some((last, catalog)) = &self.last {
            if *last == listing {
                return catalog.clone();
            }
        }
        let mut catalog = Catalog::default();
        for p in &listing.1 {
            catalog.problems.push(format!(
                "{}: not read: over prototype_files ({} files)",
                relative(&self.dir, p),
                self.files
            ));
        }
        let listed: HashSet<&PathBuf> = listing.0.iter().map(|(p, _)| p).collect();
        self.cache.retain(|p, _| listed.contains(p));
        for (path, stamp) in &listing.0 {
            let name = relative(&self.dir, path);
            let parsed = match stamp {
                None => Err("cannot be read as a file".to_string()),
                Some(stamp) => match self.cache.get(path) {
                    Some(c) if c.stamp == *stamp => c.parsed.clone(),
                    _ => {
                        let parsed = self.parse_file(path, &name, stamp.0);
                        self.cache
                            .insert(path.clone(), Cached { stamp: *stamp, parsed: parsed.clone() });
                        parsed
                    }
                },
            };
            match parsed {
                Err(e) => catalog.problems.push(format!("{name}: {e}")),
                Ok(protos) => {
                    for p in protos {
                        if catalog.protos.len() >= self.files {
                            catalog.problems.push(format!(
                                "{name}: prototype '{}' not read: over prototype_files ({} prototypes)",
                                p.key, self.files
                            ));
                        } else if let Some(first) = catalog.protos.get(&p.key) {
                            catalog.problems.push(format!(
                                "{name}: prototype '{}' is already defined in {}",
                                p.key, first.file
                            ));
                        } else {
                            catalog.protos.insert(p.key.clone(), p);
                        }
                    }
                }
            }
        }
        let catalog = Arc::new(catalog);
        self.last = Some((listing, catalog.clone()));
        catalog
    }

    /// Read and parse one file, refusing it over `prototype_file_bytes` before reading (and
    /// reading no more than that, should it grow meanwhile).
    fn parse_file(&self, path: &Path, name: &str, len: u64) -> Result<Vec<Prototype>, String> {
        let too_big = || format!("over prototype_file_bytes ({} bytes)", self.file_bytes);
        if len > self.file_bytes as u64 {
            return Err(too_big());
        }
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(self.file_bytes as u64 + 1).read_to_string(&mut text))
            .map_err(|e| format!("cannot be read: {e}"))?;
        if text.len() > self.file_bytes {
            return Err(too_big());
        }
        let stem = Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or(name);
        parse(&text, extension(path) == Some("json"), stem, name)
    }

    /// One prototype with its parents applied, as a JSON object (see the `prototype-get` import).
    pub fn get(&mut self, key: &str) -> Result<Map<String, Value>, String> {
        let catalog = self.catalog();
        let key = key.trim().to_lowercase();
        if !catalog.protos.contains_key(&key) {
            let mut text = format!("No prototype named '{key}' was found.");
            if !catalog.problems.is_empty() {
                text += "\nSome prototype files could not be used (spawn/list shows why).";
            }
            return Err(text);
        }
        let mut done = HashMap::new();
        let mut merged = resolve(&catalog, &key, &mut vec![], &mut done, self.depth)?;
        merged.remove("prototype_parent");
        merged.insert("prototype_key".into(), Value::String(key));
        Ok(merged)
    }
}

/// Resolve `key`'s parents depth-first (`path` is the chain being resolved, for cycles and the
/// depth limit; `done` remembers each resolved prototype, so shared ancestors cost once).
fn resolve(
    catalog: &Catalog,
    key: &str,
    path: &mut Vec<String>,
    done: &mut HashMap<String, Map<String, Value>>,
    depth: usize,
) -> Result<Map<String, Value>, String> {
    if let Some(m) = done.get(key) {
        return Ok(m.clone());
    }
    if path.iter().any(|k| k == key) {
        path.push(key.into());
        return Err(format!(
            "Prototype '{}' has a cycle of parents: {}.",
            path[0],
            path.join(" -> ")
        ));
    }
    let Some(proto) = catalog.protos.get(key) else {
        let child = path.last().cloned().unwrap_or_default();
        return Err(format!("Prototype '{child}' has a parent '{key}' that was not found."));
    };
    if path.len() > depth {
        return Err(format!(
            "Prototype '{}' has more than prototype_parent_depth ({depth}) parents in a chain.",
            path[0]
        ));
    }
    path.push(key.into());
    let mut merged = Map::new();
    for parent in proto.parents() {
        let from_parent = resolve(catalog, &parent, path, done, depth)?;
        overlay(&mut merged, &from_parent);
    }
    overlay(&mut merged, &proto.data);
    path.pop();
    done.insert(key.into(), merged.clone());
    Ok(merged)
}

/// Lay `top` over `base`: `attrs` merged key by key and `tags` joined (Evennia's inheritance of
/// attributes and tags), every other key replaced.
fn overlay(base: &mut Map<String, Value>, top: &Map<String, Value>) {
    for (k, v) in top {
        match (k.as_str(), base.get_mut(k)) {
            ("attrs", Some(Value::Object(old))) => {
                if let Value::Object(new) = v {
                    for (ak, av) in new {
                        old.insert(ak.clone(), av.clone());
                    }
                }
            }
            ("tags", Some(old)) => {
                let mut all = strings(Some(old));
                for t in strings(Some(v)) {
                    if !all.contains(&t) {
                        all.push(t);
                    }
                }
                *old = Value::from(all);
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A string, or each string of a list (other values ignored).
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
        _ => vec![],
    }
}

fn extension(p: &Path) -> Option<&str> {
    p.extension().and_then(|e| e.to_str())
}

fn relative(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap_or(p).display().to_string()
}

/// Parse a file's text: one prototype (an object), a list of them (a JSON array), or a
/// `prototypes` list of them (`[[prototypes]]` in TOML). A lone prototype without
/// `prototype_key` is named after its file (`stem`).
pub fn parse(text: &str, json: bool, stem: &str, file: &str) -> Result<Vec<Prototype>, String> {
    let value: Value = if json {
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
    } else {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| format!("not valid TOML: {}", e.message()))?;
        serde_json::to_value(table).map_err(|e| format!("not valid TOML: {e}"))?
    };
    let (items, lone) = match value {
        Value::Array(items) => (items, false),
        Value::Object(mut m) => match m.remove("prototypes") {
            Some(Value::Array(items)) if m.is_empty() => (items, false),
            Some(other) => {
                m.insert("prototypes".into(), other);
                (vec![Value::Object(m)], true)
            }
            None => (vec![Value::Object(m)], true),
        },
        _ => return Err("must hold a prototype (a table / object) or a list of them".into()),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(data) = item else {
            return Err(format!("item {} is not a table / object", i + 1));
        };
        let key = match data.get("prototype_key") {
            Some(Value::String(k)) if !k.trim().is_empty() => k.trim().to_lowercase(),
            None if lone => stem.to_lowercase(),
            _ => return Err(format!("item {}: prototype_key must be a non-empty string", i + 1)),
        };
        check(&key, &data)?;
        out.push(Prototype { key, file: file.into(), data });
    }
    Ok(out)
}

/// Check the types of Evennia's keys (any other key is an attribute, any JSON value).
fn check(key: &str, data: &Map<String, Value>) -> Result<(), String> {
    let bad = |k: &str, what: &str| Err(format!("prototype '{key}': '{k}' must be {what}"));
    let string_or_list = |v: &Value| match v {
        Value::String(_) => true,
        Value::Array(a) => a.iter().all(Value::is_string),
        _ => false,
    };
    for (k, v) in data {
        match k.as_str() {
            "key" | "desc" | "locks" | "typeclass" | "prototype_desc" | "prototype_locks"
                if !v.is_string() =>
            {
                return bad(k, "a string");
            }
            "aliases" | "tags" | "prototype_tags" | "prototype_parent" if !string_or_list(v) => {
                return bad(k, "a string or a list of strings");
            }
            "attrs" if !v.is_object() => return bad(k, "a table of attribute names and values"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(
        files: &[(&str, &str)],
        tweak: impl FnOnce(&mut Config),
    ) -> (tempfile::TempDir, Prototypes) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut cfg = Config { prototypes_dir: dir.path().into(), ..Config::default() };
        tweak(&mut cfg);
        let protos = Prototypes::new(&cfg);
        (dir, protos)
    }

    #[test]
    fn parents_apply_left_to_right_with_attrs_merged_and_tags_joined() {
        let (_d, mut p) = folder(
            &[
                ("mobs.toml", "[[prototypes]]\nprototype_key = \"GOBLIN\"\nkey = \"goblin\"\ndesc = \"A goblin.\"\ntags = [\"mob\"]\nattrs = { hp = 10, str = 3 }\n"),
                ("chief.json", r#"{"prototype_key": "goblin_chief", "prototype_parent": "goblin", "key": "goblin chief", "tags": ["boss"], "attrs": {"hp": 30}}"#),
            ],
            |_| {},
        );
        let chief = p.get("Goblin_Chief").unwrap();
        assert_eq!(chief["key"], "goblin chief");
        assert_eq!(chief["desc"], "A goblin.");
        assert_eq!(chief["attrs"], serde_json::json!({"hp": 30, "str": 3}));
        assert_eq!(chief["tags"], serde_json::json!(["mob", "boss"]));
        assert_eq!(chief["prototype_key"], "goblin_chief");
        assert!(chief.get("prototype_parent").is_none());
        let cat = p.catalog();
        assert_eq!(cat.protos.keys().collect::<Vec<_>>(), ["goblin", "goblin_chief"]);
        assert!(cat.problems.is_empty(), "{:?}", cat.problems);
    }

    #[test]
    fn a_lone_prototype_is_named_after_its_file_and_edits_are_seen() {
        let (d, mut p) = folder(&[("Rock.toml", "key = \"rock\"\n")], |_| {});
        assert_eq!(p.get("rock").unwrap()["key"], "rock");
        std::fs::write(d.path().join("Rock.toml"), "key = \"a big rock\"\n").unwrap();
        assert_eq!(p.get("rock").unwrap()["key"], "a big rock");
        std::fs::remove_file(d.path().join("Rock.toml")).unwrap();
        assert_eq!(p.get("rock").unwrap_err(), "No prototype named 'rock' was found.");
    }

    #[test]
    fn cycles_long_chains_and_missing_parents_are_refused() {
        let (_d, mut p) = folder(
            &[
                ("a.toml", "prototype_parent = \"b\"\n"),
                ("b.toml", "prototype_parent = \"a\"\n"),
                ("c.toml", "prototype_parent = \"nope\"\n"),
                ("d1.toml", "prototype_parent = \"d2\"\n"),
                ("d2.toml", "prototype_parent = \"d3\"\n"),
                ("d3.toml", "key = \"deep\"\n"),
            ],
            |c| c.prototype_parent_depth = 1,
        );
        assert_eq!(p.get("a").unwrap_err(), "Prototype 'a' has a cycle of parents: a -> b -> a.");
        assert_eq!(
            p.get("c").unwrap_err(),
            "Prototype 'c' has a parent 'nope' that was not found."
        );
        assert!(p.get("d1").unwrap_err().contains("more than prototype_parent_depth (1)"));
        assert_eq!(p.get("d2").unwrap()["key"], "deep");
    }

    #[test]
    fn big_bad_and_surplus_files_are_refused_by_name() {
        let big = format!("key = \"{}\"\n", "x".repeat(200));
        let (_d, mut p) = folder(
            &[
                ("a.toml", "key = \"ok\"\n"),
                ("b.toml", &big),
                ("c.json", "{not json"),
                ("d.toml", "aliases = 3\n"),
                ("e.toml", "key = \"dup\"\nprototype_key = \"a\"\n"),
                ("f.toml", "key = \"over\"\n"),
                ("notes.txt", "ignored"),
            ],
            |c| {
                c.prototype_file_bytes = 100;
                c.prototype_files = 5;
            },
        );
        let cat = p.catalog();
        assert_eq!(cat.protos.keys().collect::<Vec<_>>(), ["a"]);
        let problems = cat.problems.join("\n");
        for needle in [
            "b.toml: over prototype_file_bytes (100 bytes)",
            "c.json: not valid JSON",
            "d.toml: prototype 'd': 'aliases' must be a string or a list of strings",
            "e.toml: prototype 'a' is already defined in a.toml",
            "f.toml: not read: over prototype_files (5 files)",
        ] {
            assert!(problems.contains(needle), "{needle} missing from:\n{problems}");
        }
        assert_eq!(
            p.get("zzz").unwrap_err(),
            "No prototype named 'zzz' was found.\nSome prototype files could not be used (spawn/list shows why)."
        );
    }

    #[test]
    fn the_example_prototypes_parse_and_the_chief_inherits_from_the_goblin() {
        let (_d, mut p) = folder(
            &[
                (
                    "goblin.toml",
                    include_str!("../../../guest-examples/builder/prototypes/goblin.toml"),
                ),
                (
                    "goblin_chief.json",
                    include_str!("../../../guest-examples/builder/prototypes/goblin_chief.json"),
                ),
            ],
            |_| {},
        );
        let chief = p.get("goblin_chief").unwrap();
        assert_eq!(chief["attrs"], serde_json::json!({"hp": 30, "strength": 3}));
        assert_eq!(chief["aliases"], serde_json::json!(["gob"]));
        assert!(p.catalog().problems.is_empty());
    }

    #[test]
    fn a_wide_diamond_of_parents_resolves_each_prototype_once() {
        // 30 levels, each prototype naming the two of the level below twice: without memoising,
        // 4^30 visits.
        let mut files = vec![];
        for level in 0..30 {
            let text = format!(
                "[[prototypes]]\nprototype_key = \"l{level}a\"\nprototype_parent = [\"l{n}a\", \"l{n}b\", \"l{n}a\", \"l{n}b\"]\n\
                 [[prototypes]]\nprototype_key = \"l{level}b\"\nprototype_parent = [\"l{n}a\", \"l{n}b\"]\n",
                n = level + 1
            );
            files.push((format!("l{level:02}.toml"), text));
        }
        files.push(("zbottom.toml".into(), "[[prototypes]]\nprototype_key = \"l30a\"\nkey = \"x\"\n[[prototypes]]\nprototype_key = \"l30b\"\n".into()));
        let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let (_d, mut p) = folder(&refs, |c| c.prototype_parent_depth = 40);
        assert_eq!(p.get("l0a").unwrap()["key"], "x");
    }
}
