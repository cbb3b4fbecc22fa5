//! Commands and cmdsets, Evennia's model: a cmdset is a bag of commands with merge metadata; the
//! sets a caller can reach are merged into one ([`merge`]) and each input line is parsed against
//! the merged set ([`parser`]). Everything here is pure logic: no I/O, no WASM, no sessions.

pub mod merge;
pub mod parser;

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};

/// Compiled-size cap of one command's `arg_regex` (bytes).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Evennia's cmdset merge types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MergeType {
    /// All commands of both sets; the winning set's version of same-named commands.
    Union,
    /// Only the winning set's commands that also exist in the other set.
    Intersect,
    /// Only the winning set's commands.
    Replace,
    /// The other set's commands minus those named in the winning set.
    Remove,
}

/// Who may use a command (parsed from the lock string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmdLock {
    /// Everybody (`cmd:all()`, no lock, or a lock we do not model).
    All,
    /// Superusers only (`cmd:superuser()`, `cmd:perm(Developer)`, `cmd:perm(Admin)`).
    Superuser,
    /// Nobody but a superuser, who bypasses every lock as in Evennia (`cmd:false()`).
    Never,
}

impl CmdLock {
    /// Parse "cmd:all()" / "cmd:perm(Developer)" / "cmd:perm(Admin)" / "cmd:superuser()" /
    /// "cmd:false()" / ""; anything unknown → All. Other access types (`call:…;cmd:…`) are skipped;
    /// `a or b` takes the more permissive side and `a and b` the stricter, like Evennia's eval.
    pub fn parse(locks: &str) -> CmdLock {
        let Some(expr) = locks.split(';').find_map(|part| {
            let (kind, expr) = part.split_once(':')?;
            (kind.trim().eq_ignore_ascii_case("cmd")).then_some(expr)
        }) else {
            // Evennia's Command metaclass prepends "cmd:all();" when no cmd lock is given.
            return CmdLock::All;
        };
        // `and` binds tighter than `or`, as in the Python expression Evennia evaluates.
        let expr = expr.to_ascii_lowercase();
        let or_terms = split_words(&expr, "or");
        let rank_of = |t: &str| split_words(t, "and").iter().map(|t| term_rank(t)).min().unwrap_or(2);
        match or_terms.iter().map(|t| rank_of(t)).max().unwrap_or(2) {
            0 => CmdLock::Never,
            1 => CmdLock::Superuser,
            _ => CmdLock::All,
        }
    }

    /// Whether a caller passes this lock. Superusers pass everything (Evennia's superuser bypass).
    pub fn allows(self, is_superuser: bool) -> bool {
        is_superuser || self == CmdLock::All
    }
}

/// Split a lowercase lock expression on a whole-word boolean operator.
fn split_words<'a>(expr: &'a str, op: &str) -> Vec<&'a str> {
    let sep = format!(" {op} ");
    expr.split(sep.as_str()).collect()
}

/// Permissiveness of one lock function call: 0 = nobody, 1 = superusers, 2 = everybody.
fn term_rank(term: &str) -> u8 {
    let term: String = term.chars().filter(|c| !c.is_whitespace()).collect();
    let (func, arg) = match term.split_once('(') {
        Some((f, rest)) => (f, rest.trim_end_matches(')')),
        None => (term.as_str(), ""),
    };
    match func {
        "false" | "none" => 0,
        "superuser" => 1,
        "perm" | "pperm" if matches!(arg, "developer" | "developers" | "admin" | "admins") => 1,
        "perm_above" | "pperm_above" if matches!(arg, "builder" | "builders" | "admin" | "admins") => 1,
        _ => 2,
    }
}

/// The default `arg_regex` (Evennia's COMMAND_DEFAULT_ARG_REGEX): the name must be followed by a
/// space, a slash (switches), a newline or the end of input, so `lookhere` is not `look`.
pub const DEFAULT_ARG_REGEX: &str = r"^[ /]|\n|$";

/// One command offered by a cmdset.
#[derive(Debug)]
pub struct CommandDef {
    /// Lower-cased key; a key starting with `__` makes a system command.
    pub key: String,
    /// Lower-cased aliases, without duplicates or a copy of the key.
    pub aliases: Vec<String>,
    /// Help text shown by `help`.
    pub help: String,
    /// Help category.
    pub help_category: String,
    /// What may follow the name (compiled case-insensitively, applied like Python's `re.match`).
    pub arg_regex: Regex,
    /// Who may use the command.
    pub lock: CmdLock,
    /// Which loaded module executes it.
    pub module: Arc<str>,
}

impl CommandDef {
    /// Build from raw metadata; lower-cases key/aliases; a bad arg regex is an Err(String).
    pub fn new(
        key: &str,
        aliases: &[String],
        help: &str,
        help_category: &str,
        arg_regex: Option<&str>,
        locks: &str,
        module: Arc<str>,
    ) -> Result<CommandDef, String> {
        let key = key.trim().to_lowercase();
        if key.is_empty() {
            return Err("command key is empty".into());
        }
        // Evennia's set_aliases: strip, lower-case, drop the key itself and duplicates (a set, so
        // a command with very many aliases costs linear time, not quadratic).
        let mut clean: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::from([key.clone()]);
        for alias in aliases.iter().map(|a| a.trim().to_lowercase()) {
            if !alias.is_empty() && seen.insert(alias.clone()) {
                clean.push(alias);
            }
        }
        let pattern = arg_regex.unwrap_or(DEFAULT_ARG_REGEX);
        // Evennia compiles arg_regex with re.I. The size limits bound the time and memory a
        // module's pattern can cost at load (the regex crate's defaults are 10 MiB and more).
        let arg_regex = RegexBuilder::new(pattern)
            .case_insensitive(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("command {key:?}: bad arg_regex {pattern:?}: {e}"))?;
        Ok(CommandDef {
            key,
            aliases: clean,
            help: help.to_string(),
            help_category: help_category.to_string(),
            arg_regex,
            lock: CmdLock::parse(locks),
            module,
        })
    }

    /// key and aliases
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.key.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// Evennia command equality: any overlap of key/aliases.
    pub fn same_as(&self, other: &CommandDef) -> bool {
        let mine: HashSet<&str> = self.names().collect();
        other.names().any(|b| mine.contains(b))
    }

    /// system command: key starts with "__"
    pub fn is_system(&self) -> bool {
        self.key.starts_with("__")
    }

    /// Python `arg_regex.match(rest)`: a match anchored at the start (not necessarily the end).
    /// The leftmost match starts at 0 whenever any match does, so `find` is enough.
    pub fn args_fit(&self, rest: &str) -> bool {
        self.arg_regex.find(rest).is_some_and(|m| m.start() == 0)
    }
}

/// A cmdset: metadata plus commands. Built from a module's metadata; merged per caller.
#[derive(Debug, Clone)]
pub struct CmdSet {
    /// Name of the set (kept by the winner of a merge).
    pub key: String,
    /// Higher priority sets merge on top; on ties the later (right-hand) set wins.
    pub priority: i32,
    /// How this set combines with a lower-priority one.
    pub merge_type: MergeType,
    /// Keep both versions of same-named commands on equal priority (never propagated by a merge).
    pub duplicates: Option<bool>,
    /// Hide exits' commands; None passes the other set's value through a merge.
    pub no_exits: Option<bool>,
    /// Hide commands of objects in the location; None passes the other set's value through.
    pub no_objs: Option<bool>,
    /// The commands, system commands included.
    pub commands: Vec<Arc<CommandDef>>,
    /// Name lookup for the parser, built on first use (see [`parser::NameIndex`]). Never shared by
    /// a clone: the clone's commands may be changed before it is parsed against.
    pub index: IndexCell,
}

/// A lazily built [`parser::NameIndex`] whose clone starts empty.
#[derive(Default)]
pub struct IndexCell(OnceLock<parser::NameIndex>);

impl IndexCell {
    /// The index of `commands`, built now if it was not yet.
    pub fn get_or_build(&self, commands: &[Arc<CommandDef>]) -> &parser::NameIndex {
        self.0.get_or_init(|| parser::NameIndex::build(commands))
    }
}

impl Clone for IndexCell {
    fn clone(&self) -> Self {
        IndexCell::default()
    }
}

impl std::fmt::Debug for IndexCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "IndexCell(built)" } else { "IndexCell(empty)" })
    }
}

impl CmdSet {
    /// An empty Union set with priority 0 and no flags.
    pub fn empty(key: &str) -> CmdSet {
        CmdSet {
            key: key.to_string(),
            priority: 0,
            merge_type: MergeType::Union,
            duplicates: None,
            no_exits: None,
            no_objs: None,
            commands: Vec::new(),
            index: IndexCell::default(),
        }
    }

    /// The first command with this (lower-case) key or alias, e.g. `__nomatch_command`.
    pub fn get(&self, name: &str) -> Option<&Arc<CommandDef>> {
        self.commands.iter().find(|c| c.names().any(|n| n == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 150,000 aliases (half of them repeated) are de-duplicated through a set: this took close
    /// to a minute with a list scan per alias. Functional check, generous bound.
    #[test]
    fn a_command_with_very_many_aliases_is_built_in_linear_time() {
        let aliases: Vec<String> = (0..150_000).map(|i| format!("A{}", i % 75_000)).collect();
        let started = std::time::Instant::now();
        let c = CommandDef::new("many", &aliases, "", "", None, "", "m".into()).unwrap();
        assert_eq!(c.aliases.len(), 75_000);
        assert_eq!(c.aliases[0], "a0");
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    }

    #[test]
    fn an_arg_regex_too_big_to_compile_is_refused() {
        // A Unicode class repeated 5000 times compiles to far more than the size limit.
        match CommandDef::new("x", &[], "", "", Some(r"\w{5000}"), "", "m".into()) {
            Err(e) => assert!(e.contains("bad arg_regex"), "{e}"),
            Ok(_) => panic!("a huge arg_regex was accepted"),
        }
    }
}
