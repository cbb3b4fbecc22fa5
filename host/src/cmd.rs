//! Commands and cmdsets, Evennia's model: a cmdset is a bag of commands with merge metadata; the
//! sets a caller can reach are merged into one ([`merge`]) and each input line is parsed against
//! the merged set ([`parser`]). Everything here is pure logic: no I/O, no WASM, no sessions.

pub mod locks;
pub mod merge;
pub mod parser;

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};

use crate::shared::ids::ObjectId;

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

/// Evennia's PERMISSION_HIERARCHY (without Guest), lowest first: `perm(X)` passes a caller holding
/// X or anything above it.
pub const PERMISSION_HIERARCHY: &[&str] = &["Player", "Helper", "Builder", "Admin", "Developer"];

/// The hierarchy name of a permission in any case and Evennia's plural form ("builders"), or None.
pub fn permission_name(perm: &str) -> Option<&'static str> {
    let p = perm.trim();
    let singular = p.strip_suffix(['s', 'S']).unwrap_or(p);
    PERMISSION_HIERARCHY
        .iter()
        .copied()
        .find(|h| h.eq_ignore_ascii_case(p) || h.eq_ignore_ascii_case(singular))
}

/// Rank of a permission in the hierarchy (None: not a hierarchy permission).
pub(crate) fn permission_rank(perm: &str) -> Option<usize> {
    let name = permission_name(perm)?;
    PERMISSION_HIERARCHY.iter().position(|h| *h == name)
}

/// Evennia's `perm(P)` / `perm_above(P)`: a held hierarchy permission passes at `P`'s rank or
/// above (strictly above for `perm_above`); any other permission only by its exact name.
pub(crate) fn holds_permission(held: Option<&str>, perm: &str, above: bool) -> bool {
    let Some(held) = held else { return false };
    match (permission_rank(held), permission_rank(perm)) {
        (Some(h), Some(r)) => {
            if above {
                h > r
            } else {
                h >= r
            }
        }
        // Not a hierarchy permission: held only if it is exactly that one.
        _ => !above && held.eq_ignore_ascii_case(perm),
    }
}

/// Who is asking, for lock checks.
#[derive(Debug, Clone, Copy, Default)]
pub struct LockCaller<'a> {
    /// Superusers pass every lock (Evennia's superuser bypass).
    pub superuser: bool,
    /// The account's permission (None: not logged in).
    pub permission: Option<&'a str>,
}

/// Who may use a command: the `cmd:` part of a lock string, parsed once at load (Evennia's lock
/// functions `all`/`true`, `false`/`none`, `superuser`, `perm`/`pperm`, `perm_above`/`pperm_above`,
/// combined with `and`, `or`, `not` and parentheses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdLock {
    /// Everybody.
    All,
    /// Nobody (but superusers, who bypass every lock).
    Never,
    /// Superusers only.
    Superuser,
    /// The caller's permission is this one or higher (`above`: strictly higher).
    Perm { perm: String, above: bool },
    /// Negation.
    Not(Box<CmdLock>),
    /// Both.
    And(Box<CmdLock>, Box<CmdLock>),
    /// Either.
    Or(Box<CmdLock>, Box<CmdLock>),
}

impl CmdLock {
    /// Parse the `cmd:` access type of a lock string ("cmd:perm(Builder) or superuser()"). No
    /// `cmd` lock means everybody, as Evennia's Command metaclass adds "cmd:all()"; an unknown
    /// lock function or a malformed expression means everybody too (the module author's lock is
    /// logged at load by the caller if it wishes; a lock we cannot read must not lock players out
    /// of a command by accident).
    pub fn parse(locks: &str) -> CmdLock {
        let Some(expr) = locks.split(';').find_map(|part| {
            let (kind, expr) = part.split_once(':')?;
            (kind.trim().eq_ignore_ascii_case("cmd")).then_some(expr)
        }) else {
            return CmdLock::All;
        };
        let tokens = tokenize(expr);
        let mut pos = 0;
        match parse_or(&tokens, &mut pos) {
            Some(lock) if pos == tokens.len() => lock,
            _ => CmdLock::All,
        }
    }

    /// Whether a caller passes this lock. Superusers pass everything.
    pub fn allows(&self, caller: &LockCaller) -> bool {
        caller.superuser || self.eval(caller)
    }

    fn eval(&self, caller: &LockCaller) -> bool {
        match self {
            CmdLock::All => true,
            CmdLock::Never => false,
            CmdLock::Superuser => caller.superuser,
            CmdLock::Perm { perm, above } => holds_permission(caller.permission, perm, *above),
            CmdLock::Not(a) => !a.eval(caller),
            CmdLock::And(a, b) => a.eval(caller) && b.eval(caller),
            CmdLock::Or(a, b) => a.eval(caller) || b.eval(caller),
        }
    }
}

/// Lock expression tokens: words, `(`, `)`, and function argument text.
#[derive(Debug, PartialEq)]
pub(crate) enum Tok {
    Word(String),
    Call(String, String),
    Open,
    Close,
}

pub(crate) fn tokenize(expr: &str) -> Vec<Tok> {
    let mut out = vec![];
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == ')' {
            out.push(Tok::Close);
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '(' && chars[i] != ')'
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect::<String>().to_ascii_lowercase();
            // A word directly followed by "(" is a function call: take its argument text.
            if i < chars.len() && chars[i] == '(' && !matches!(word.as_str(), "and" | "or" | "not")
            {
                let close = chars[i..].iter().position(|&c| c == ')').map(|p| i + p);
                let Some(close) = close else { return vec![Tok::Word("?".into())] };
                let arg: String = chars[i + 1..close].iter().collect();
                out.push(Tok::Call(
                    word,
                    arg.trim().trim_matches(|c| c == '"' || c == '\'').to_string(),
                ));
                i = close + 1;
            } else {
                out.push(Tok::Word(word));
            }
        }
    }
    out
}

fn parse_or(t: &[Tok], pos: &mut usize) -> Option<CmdLock> {
    let mut left = parse_and(t, pos)?;
    while matches!(t.get(*pos), Some(Tok::Word(w)) if w == "or") {
        *pos += 1;
        left = CmdLock::Or(Box::new(left), Box::new(parse_and(t, pos)?));
    }
    Some(left)
}

fn parse_and(t: &[Tok], pos: &mut usize) -> Option<CmdLock> {
    let mut left = parse_not(t, pos)?;
    while matches!(t.get(*pos), Some(Tok::Word(w)) if w == "and") {
        *pos += 1;
        left = CmdLock::And(Box::new(left), Box::new(parse_not(t, pos)?));
    }
    Some(left)
}

fn parse_not(t: &[Tok], pos: &mut usize) -> Option<CmdLock> {
    match t.get(*pos)? {
        Tok::Word(w) if w == "not" => {
            *pos += 1;
            Some(CmdLock::Not(Box::new(parse_not(t, pos)?)))
        }
        Tok::Open => {
            *pos += 1;
            let inner = parse_or(t, pos)?;
            matches!(t.get(*pos), Some(Tok::Close)).then(|| *pos += 1)?;
            Some(inner)
        }
        Tok::Call(func, arg) => {
            *pos += 1;
            Some(match func.as_str() {
                "all" | "true" => CmdLock::All,
                "false" | "none" => CmdLock::Never,
                "superuser" => CmdLock::Superuser,
                "perm" | "pperm" => CmdLock::Perm { perm: perm_arg(arg), above: false },
                "perm_above" | "pperm_above" => CmdLock::Perm { perm: perm_arg(arg), above: true },
                // A lock function this host does not model: treated as passing.
                _ => CmdLock::All,
            })
        }
        _ => None,
    }
}

/// A permission argument in its hierarchy spelling when it is one ("builders" → "Builder").
fn perm_arg(arg: &str) -> String {
    permission_name(arg).map(str::to_string).unwrap_or_else(|| arg.trim().to_string())
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
    /// The lock string as the module gave it (for `caller-commands`).
    pub locks: String,
    /// Which loaded module executes it.
    pub module: Arc<str>,
    /// The object that lends it, for a command from a cmdset on an object near the caller or an
    /// exit's command (Evennia's `cmd.obj`); None for the caller's own commands.
    pub carrier: Option<Carrier>,
    /// A channel's generated command (Evennia's channel nick, `pub hello`): it runs the game's
    /// [`CMD_CHANNEL`] system command with this channel's name.
    pub channel: Option<String>,
}

/// The object a lent command comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    /// The object's id, given to the guest as `#id` (see [`CommandDef::lent_by`]).
    pub id: ObjectId,
    /// Its name, shown in a multimatch list (" look-2 (box)").
    pub name: String,
    /// An exit's generated command: it runs the game's [`CMD_EXIT`] system command.
    pub exit: bool,
}

/// The system command an exit's generated command runs (the game's traversal): Evennia's exits
/// carry an ExitCmdSet whose command moves the caller; here the game supplies that behaviour once.
pub const CMD_EXIT: &str = "__exit_command";

/// The system command a channel's generated command runs (the game's channel speech).
pub const CMD_CHANNEL: &str = "__channel_command";

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
            locks: locks.to_string(),
            module,
            carrier: None,
            channel: None,
        })
    }

    /// A copy of this command lent by `carrier`.
    pub fn lent_by(&self, carrier: Carrier) -> CommandDef {
        CommandDef {
            key: self.key.clone(),
            aliases: self.aliases.clone(),
            help: self.help.clone(),
            help_category: self.help_category.clone(),
            arg_regex: self.arg_regex.clone(),
            lock: self.lock.clone(),
            locks: self.locks.clone(),
            module: self.module.clone(),
            carrier: Some(carrier),
            channel: self.channel.clone(),
        }
    }

    /// An exit's generated command (Evennia's ExitCmdSet command): the exit's name or one of
    /// its aliases, alone (`arg_regex` `^$`), run by `module`'s [`CMD_EXIT`].
    pub fn exit_command(
        exit_id: ObjectId,
        exit_name: &str,
        aliases: &[String],
        module: Arc<str>,
    ) -> Option<CommandDef> {
        let mut cmd =
            CommandDef::new(exit_name, aliases, "", "", Some("^$"), "cmd:all()", module).ok()?;
        if cmd.is_system() {
            return None;
        }
        cmd.carrier = Some(Carrier { id: exit_id, name: exit_name.to_string(), exit: true });
        Some(cmd)
    }

    /// Whether this is an exit's generated command (left out of help listings, as Evennia's
    /// `auto_help=False`).
    pub fn is_exit(&self) -> bool {
        self.carrier.as_ref().is_some_and(|c| c.exit)
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
    /// Evennia's `key_mergetypes`: the merge type to use against a set with this key.
    pub key_mergetypes: Vec<(String, MergeType)>,
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
            key_mergetypes: Vec::new(),
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

    fn caller(superuser: bool, permission: Option<&str>) -> LockCaller<'_> {
        LockCaller { superuser, permission }
    }

    #[test]
    fn perm_locks_follow_the_permission_hierarchy() {
        let builder = CmdLock::parse("cmd:perm(Builder)");
        assert!(!builder.allows(&caller(false, Some("Player"))));
        assert!(!builder.allows(&caller(false, Some("Helper"))));
        assert!(builder.allows(&caller(false, Some("Builder"))));
        assert!(builder.allows(&caller(false, Some("Developer"))));
        assert!(!builder.allows(&caller(false, None)), "not logged in holds nothing");
        assert!(builder.allows(&caller(true, Some("Player"))), "superusers bypass locks");
        let above = CmdLock::parse("cmd:perm_above(Builders)");
        assert!(!above.allows(&caller(false, Some("builder"))));
        assert!(above.allows(&caller(false, Some("Admin"))));
    }

    #[test]
    fn lock_expressions_combine_with_and_or_not() {
        assert!(!CmdLock::parse("cmd:false()").allows(&caller(false, Some("Developer"))));
        assert!(CmdLock::parse("cmd:false()").allows(&caller(true, None)));
        assert!(!CmdLock::parse("cmd:superuser()").allows(&caller(false, Some("Developer"))));
        assert!(CmdLock::parse("").allows(&caller(false, None)));
        assert!(CmdLock::parse("call:false();cmd:all()").allows(&caller(false, None)));
        let l = CmdLock::parse("cmd: perm(Admin) or (perm(Helper) and not perm(Builder))");
        assert!(l.allows(&caller(false, Some("Helper"))));
        assert!(!l.allows(&caller(false, Some("Builder"))));
        assert!(l.allows(&caller(false, Some("Admin"))));
        assert!(!l.allows(&caller(false, Some("Player"))));
        assert!(CmdLock::parse("cmd:perm(Builder").allows(&caller(false, None)), "malformed: open");
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
