//! The layer check: reads every file of `host/src`, finds the crate paths it names (`use
//! crate::…`, `super::…`, paths written inline) and fails on an import from a lower layer to a
//! higher one, and on an import circle between files that is not one of the known ones below.
//!
//! Layers, top to bottom (a file may name its own layer's files and lower ones):
//! `main` → `portal` | `server` (never each other) → `wasm` → `link` / `cmd` / `store` /
//! `config` / … → `shared` (the leaves: they name nothing else of the crate).
//!
//! Only code before a file's `#[cfg(test)]` module is read: tests may reach across layers.
//!
//! It also holds every file to [`MAX_FILE_LINES`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layer of a module path (its first segment), higher numbers above.
fn layer(module: &str) -> u8 {
    match module.split("::").next().unwrap_or("") {
        "shared" => 0,
        "link" | "cmd" | "store" | "config" | "failpoint" | "logline" | "shutdown" | "lockfile"
        | "scaffold" => 1,
        "wasm" => 2,
        "portal" | "server" => 3,
        _ => 4,
    }
}

/// Import circles known to remain, each as the sorted files of one strongly connected
/// component. None is left; a circle (two files or more naming each other) fails the check: break
/// it by moving what both need below them rather than listing it here.
const KNOWN_CIRCLES: &[&[&str]] = &[];

/// Upward imports known to remain (`from → to`). None is left; a new one fails the check.
const KNOWN_UPWARD: &[(&str, &str)] = &[];

/// Every `.rs` file under `dir` as (module path, text).
fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        if path.is_dir() {
            let sub = if prefix.is_empty() { name } else { format!("{prefix}::{name}") };
            modules(&path, &sub, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match (prefix.is_empty(), name.as_str()) {
                (true, "lib") => "crate".to_string(),
                (true, _) => name,
                (false, _) => format!("{prefix}::{name}"),
            };
            out.insert(module, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The code of a file before its test module, with comments and string literals blanked.
fn code(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    let mut out = String::new();
    for line in text[..end].lines() {
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        // Strings are blanked so a path quoted in a message is not read as an import.
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
                out.push(' ');
            } else {
                out.push(if in_str { ' ' } else { c });
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// The parent module path of `module` (`crate` for a top-level one).
fn parent(module: &str) -> String {
    match module.rsplit_once("::") {
        Some((p, _)) => p.to_string(),
        None => "crate".to_string(),
    }
}

/// Path segments (with `{a, b}` groups expanded) starting at `s`, which follows `crate::` or
/// `super::`.
fn paths_at(s: &str) -> Vec<Vec<String>> {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('{') {
        // A group: split its top level at commas.
        let (mut depth, mut items, mut cur) = (0, Vec::new(), String::new());
        for c in rest.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        items.push(cur);
        return items.iter().flat_map(|i| paths_at(i)).collect();
    }
    let mut segs = Vec::new();
    let mut rest = s;
    loop {
        let ident: String =
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if ident.is_empty() {
            if rest.starts_with('{') {
                return paths_at(rest)
                    .into_iter()
                    .map(|mut p| {
                        let mut full = segs.clone();
                        full.append(&mut p);
                        full
                    })
                    .collect();
            }
            break;
        }
        rest = &rest[ident.len()..];
        segs.push(ident);
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    vec![segs]
}

/// The module paths `module`'s code names, as full paths from the crate root.
fn named_paths(module: &str, code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            continue; // `mudhost_crate::`, say
        }
        found.extend(paths_at(&code[i + "crate::".len()..]));
    }
    for (i, _) in code.match_indices("super::") {
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b':') {
            continue; // counted from the first `super::` of a chain
        }
        let mut base = parent(module);
        let mut rest = &code[i + "super::".len()..];
        while let Some(r) = rest.strip_prefix("super::") {
            base = parent(&base);
            rest = r;
        }
        let base: Vec<String> =
            if base == "crate" { vec![] } else { base.split("::").map(str::to_string).collect() };
        for p in paths_at(rest) {
            let mut full = base.clone();
            full.extend(p);
            found.push(full);
        }
    }
    // Child modules named without a prefix (`mod hub;` … `hub::Hub`).
    let children: Vec<&str> = code
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';')
        })
        .collect();
    let base = if module == "crate" { String::new() } else { format!("{module}::") };
    for child in children {
        let needle = format!("{child}::");
        for (i, _) in code.match_indices(&needle) {
            if i > 0
                && (bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'_' | b':'))
            {
                continue;
            }
            for p in paths_at(&code[i..]) {
                found.push(
                    format!("{base}{}", p.join("::")).split("::").map(str::to_string).collect(),
                );
            }
        }
    }
    found
}

/// The file a full path lands in: its longest prefix that is a module file, following a
/// single-name `use crate::…` in that file (an import re-used by its child modules).
fn resolve(path: &[String], files: &BTreeMap<String, String>, aliases: &Aliases) -> Option<String> {
    let mut best = None;
    for n in (1..=path.len()).rev() {
        let m = path[..n].join("::");
        if files.contains_key(&m) {
            best = Some((m, n));
            break;
        }
    }
    let (m, n) = best?;
    if let Some(next) = path.get(n) {
        if let Some(target) = aliases.get(&(m.clone(), next.clone())) {
            let mut full = target.clone();
            full.extend(path[n + 1..].iter().cloned());
            if full.first().map(String::as_str) != path.first().map(String::as_str) || full != path
            {
                return resolve(&full, files, aliases).or(Some(m));
            }
        }
    }
    Some(m)
}

/// `(file, name)` → the crate path a `use crate::a::b::name;` in that file imports.
type Aliases = BTreeMap<(String, String), Vec<String>>;

fn aliases(files: &BTreeMap<String, String>) -> Aliases {
    let mut out = Aliases::new();
    for (module, text) in files {
        for line in code(text).lines() {
            let Some(rest) = line.trim_start().strip_prefix("use crate::") else { continue };
            let rest = rest.trim_end().trim_end_matches(';');
            if rest.contains(['{', ' ']) {
                continue;
            }
            let segs: Vec<String> = rest.split("::").map(str::to_string).collect();
            out.insert((module.clone(), segs.last().unwrap().clone()), segs);
        }
    }
    out
}

/// Every file's edges to the other files it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = BTreeMap::new();
    modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "", &mut files);
    let aliases = aliases(&files);
    let mut graph = BTreeMap::new();
    for (module, text) in &files {
        let mut to = BTreeSet::new();
        for path in named_paths(module, &code(text)) {
            if let Some(target) = resolve(&path, &files, &aliases) {
                if &target != module && target != "crate" {
                    to.insert(target);
                }
            }
        }
        graph.insert(module.clone(), to);
    }
    graph
}

/// Strongly connected components of more than one file, from a fixpoint of reachability
/// (simple, and quick enough for the hundred-odd files of the crate).
///
/// A file and its own submodules are one unit (a child shares its parent's types through
/// `super::`, the parent uses the child): edges between a file and its ancestors or
/// descendants are left out, and circles are counted between the rest, as between siblings.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let related =
        |a: &str, b: &str| a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"));
    let mut reach: BTreeMap<&str, BTreeSet<&str>> = graph
        .iter()
        .map(|(k, v)| {
            (k.as_str(), v.iter().map(String::as_str).filter(|t| !related(k, t)).collect())
        })
        .collect();
    loop {
        let mut changed = false;
        let keys: Vec<&str> = reach.keys().copied().collect();
        for k in keys {
            let next: BTreeSet<&str> =
                reach[k].iter().flat_map(|t| reach.get(t).into_iter().flatten().copied()).collect();
            let entry = reach.get_mut(k).unwrap();
            let before = entry.len();
            entry.extend(next);
            changed |= entry.len() != before;
        }
        if !changed {
            break;
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for k in reach.keys() {
        if seen.contains(*k) {
            continue;
        }
        let mut scc: Vec<String> = reach
            .keys()
            .filter(|o| *o == k || (reach[k].contains(*o) && reach[*o].contains(k)))
            .map(|o| o.to_string())
            .collect();
        scc.sort();
        for m in &scc {
            seen.insert(m.clone());
        }
        if scc.len() > 1 {
            out.push(scc);
        }
    }
    out
}

/// The upward imports: a file naming one in a higher layer, or one process naming the other.
fn upward(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, String)> {
    let top = |m: &str| m.split("::").next().unwrap_or("").to_string();
    let mut out = Vec::new();
    for (from, tos) in graph {
        for to in tos {
            let (lf, lt) = (layer(from), layer(to));
            let across = lf == 3 && lt == 3 && top(from) != top(to);
            let in_shared = lf == 0 && top(to) != "shared";
            if lt > lf || across || in_shared {
                out.push((from.clone(), to.clone()));
            }
        }
    }
    out
}

#[test]
fn no_file_imports_from_a_higher_layer_or_the_other_process() {
    let graph = graph();
    // The check sees something: the portal's hub names the link, the server names the store.
    assert!(graph["portal::hub"].contains("link"), "{:?}", graph["portal::hub"]);
    assert!(graph["server"].contains("store"), "{:?}", graph["server"]);
    let known: BTreeSet<(String, String)> =
        KNOWN_UPWARD.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let found: BTreeSet<(String, String)> = upward(&graph).into_iter().collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "imports from a lower layer to a higher one (move what is shared down, see the layer \
         table in ARCHITECTURE.md): {new:?}"
    );
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(gone.is_empty(), "gone, remove from KNOWN_UPWARD: {gone:?}");
}

#[test]
fn no_import_circle_but_the_known_ones() {
    let graph = graph();
    let known: BTreeSet<Vec<String>> =
        KNOWN_CIRCLES.iter().map(|c| c.iter().map(|s| s.to_string()).collect()).collect();
    let found: BTreeSet<Vec<String>> = circles(&graph).into_iter().collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "import circles between files (a new one, or a known one that a file joined; break it \
         rather than list it): {new:?}"
    );
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(gone.is_empty(), "gone, remove from KNOWN_CIRCLES: {gone:?}");
}

#[test]
fn the_check_finds_a_circle_and_an_upward_import() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("link".into(), ["config".to_string()].into());
    g.insert("config".into(), ["link".to_string(), "shared::clock".to_string()].into());
    g.insert("shared::clock".into(), ["server".to_string()].into());
    g.insert("portal::hub".into(), ["server::game".to_string()].into());
    g.insert("server::game".into(), ["server".to_string()].into());
    g.insert("server".into(), ["server::game".to_string()].into());
    // A child and its parent naming each other are one unit, not a circle.
    assert_eq!(circles(&g), vec![vec!["config".to_string(), "link".to_string()]]);
    let up = upward(&g);
    assert!(up.contains(&("shared::clock".into(), "server".into())), "{up:?}");
    assert!(up.contains(&("portal::hub".into(), "server::game".into())), "{up:?}");
    assert_eq!(up.len(), 2, "{up:?}");
    // Paths as the files write them.
    let p =
        named_paths("portal::hub", "use super::limits::{self, LoginMark};\nuse crate::{a::b, c};");
    assert!(p.contains(&vec!["portal".into(), "limits".into(), "LoginMark".into()]), "{p:?}");
    assert!(p.contains(&vec!["a".into(), "b".into()]) && p.contains(&vec!["c".into()]), "{p:?}");
    let p = named_paths("portal::telnet::lines", "super::super::hub::X");
    assert_eq!(p, vec![vec!["portal".to_string(), "hub".into(), "X".into()]]);
    let p = named_paths("portal", "pub mod hub;\nfn f() { hub::run(); }");
    assert_eq!(p, vec![vec!["portal".to_string(), "hub".into(), "run".into()]]);
}

/// Most lines one file of `host/src` may have (the "~700", with room for a few lines of
/// drift): a file growing past it is doing more than one job and wants dividing, as
/// ARCHITECTURE.md's module map lists them.
const MAX_FILE_LINES: usize = 720;

#[test]
fn no_file_is_over_the_line_limit() {
    let mut files = BTreeMap::new();
    modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "", &mut files);
    assert!(files.len() > 100, "the check reads the tree: {} files", files.len());
    let long: Vec<_> = files
        .iter()
        .map(|(module, text)| (module, text.lines().count()))
        .filter(|(_, lines)| *lines > MAX_FILE_LINES)
        .collect();
    assert!(long.is_empty(), "files over {MAX_FILE_LINES} lines (divide them by job): {long:?}");
}
