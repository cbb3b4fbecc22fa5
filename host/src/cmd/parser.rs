//! Evennia's command parser (`evennia/commands/cmdparser.py`) and the error texts the cmdhandler
//! produces from its result, on an already-merged [`CmdSet`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use regex::Regex;

use super::{CmdSet, CommandDef};

/// Evennia's CMD_IGNORE_PREFIXES: stripped from input (and names) when nothing matched as typed.
pub const IGNORE_PREFIXES: &[char] = &['@', '&', '/', '+'];
/// Evennia's SEARCH_MULTIMATCH_REGEX: a `-N` suffix picks the N-th of several matches.
pub const MULTIMATCH_REGEX: &str = r"^(?P<name>.*?)-(?P<number>[0-9]+)(?P<args>(?:\s.*)?)$";
/// System command run on empty input.
pub const CMD_NOINPUT: &str = "__noinput_command";
/// System command run when nothing matched; it gets the whole input as args.
pub const CMD_NOMATCH: &str = "__nomatch_command";
/// System command run when several commands matched.
pub const CMD_MULTIMATCH: &str = "__multimatch_command";

/// What the parser decided for one input line.
#[derive(Debug)]
pub enum ParseOutcome {
    /// Empty input: run `__noinput_command` if the set has one (Some), else nothing (None).
    NoInput(Option<Arc<CommandDef>>),
    /// Exactly one command matched.
    Match(Matched),
    /// No command matched: `__nomatch_command` (if present) gets the whole input; else `message` is the
    /// exact Evennia error text (`Command '{input}' is not available. Type "help" for help.` or
    /// `Command '{input}' is not available. Maybe you meant "a", "b" or "c"?`).
    NoMatch {
        /// The set's `__nomatch_command`, if any.
        system: Option<Arc<CommandDef>>,
        /// Evennia's error text (always filled; ignore it when `system` is Some).
        message: String,
    },
    /// Several matched: `__multimatch_command` if present, else `message` is Evennia's text
    /// "More than one match for '{name}' (please narrow target):" + newline-joined lines
    /// " {name}-{i} [alias;alias]" (aliases part only if the command has aliases). `candidates` lists
    /// the matched commands.
    MultiMatch {
        /// The set's `__multimatch_command`, if any.
        system: Option<Arc<CommandDef>>,
        /// The still-ambiguous commands, in the order they are numbered.
        candidates: Vec<Arc<CommandDef>>,
        /// Evennia's error text (always filled; ignore it when `system` is Some).
        message: String,
    },
}

/// A matched command with Evennia's cmdname / args split.
#[derive(Debug, Clone)]
pub struct Matched {
    /// The command to run.
    pub cmd: Arc<CommandDef>,
    /// Evennia's `cmdname`: the matched key/alias, lower-case, ignore-prefixes stripped if the
    /// match needed that (`@LOOK x` against `look` → "look").
    pub cmdname: String,
    /// The rest of the input after the name, leading space kept (`say hello` → " hello").
    pub args: String,
    /// Evennia's `raw_cmdname`: the key/alias as defined, prefixes included (`@look`).
    pub raw: String,
}

/// One candidate, Evennia's match tuple (cmdname, args, cmdobj, cmdlen, mratio, raw_cmdname).
struct Cand {
    cmdname: String,
    args: String,
    cmd: Arc<CommandDef>,
    len: usize,
    ratio: f64,
    raw: String,
}

/// Strip leading ignore-prefixes unless the string is a single character (Evennia: len > 1).
fn strip_prefixes(s: &str) -> &str {
    if s.chars().count() > 1 {
        s.trim_start_matches(IGNORE_PREFIXES)
    } else {
        s
    }
}

/// Names a player can type: a system command's `__key` cannot be, but its aliases can (the
/// connection screen is `__unloggedin_look_command` with aliases `look` and `l`).
fn typeable_names(cmd: &CommandDef) -> impl Iterator<Item = &str> {
    cmd.names().filter(move |n| !(cmd.is_system() && *n == cmd.key))
}

/// The names of a cmdset, indexed for the parser: every typeable name as defined, and every name
/// with its ignore-prefixes stripped, each mapped to the commands (by position) bearing it.
/// Parsing then looks up the prefixes of the input (at most the longest name's length of them)
/// instead of testing every name of every command against it, so the cost of one input no longer
/// grows with the number of aliases in the set.
#[derive(Debug, Default)]
pub struct NameIndex {
    /// name → commands bearing it, with the name as defined.
    exact: HashMap<String, Vec<(usize, String)>>,
    /// name without ignore-prefixes → commands, with the last defined name of that stripped
    /// form (Evennia keys the names by their stripped form, a later name replacing an earlier).
    stripped: HashMap<String, Vec<(usize, String)>>,
    /// Longest name in bytes: no longer prefix of the input can match.
    max_len: usize,
}

impl NameIndex {
    /// Index the typeable names of `commands`.
    pub fn build(commands: &[Arc<CommandDef>]) -> NameIndex {
        let mut index = NameIndex::default();
        for (pos, cmd) in commands.iter().enumerate() {
            let mut stripped: HashMap<&str, &str> = HashMap::new();
            for n in typeable_names(cmd) {
                index.exact.entry(n.to_string()).or_default().push((pos, n.to_string()));
                index.max_len = index.max_len.max(n.len());
                stripped.insert(n.trim_start_matches(IGNORE_PREFIXES), n);
            }
            for (test, raw) in stripped {
                index.stripped.entry(test.to_string()).or_default().push((pos, raw.to_string()));
            }
        }
        index
    }
}

/// Evennia's `build_matches`: every command whose longest fitting key/alias starts the input.
fn build_matches(raw: &str, set: &CmdSet, include_prefixes: bool) -> Vec<Cand> {
    let string = if include_prefixes { raw } else { strip_prefixes(raw) };
    let search = string.to_lowercase();
    let strlen = string.chars().count();
    let index = set.index.get_or_build(&set.commands);
    let names = if include_prefixes { &index.exact } else { &index.stripped };
    // Prefixes of the input, longest first, so each command keeps its longest fitting name.
    let mut ends: Vec<usize> = search
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take_while(|&e| e <= index.max_len)
        .collect();
    ends.reverse();
    let mut found: HashMap<usize, Cand> = HashMap::new();
    for end in ends {
        let name = &search[..end];
        let Some(bearers) = names.get(name) else { continue };
        for (pos, raw_name) in bearers {
            let cmd = &set.commands[*pos];
            // A name made only of prefixes cannot be typed once they are stripped.
            if found.contains_key(pos) || name.is_empty() || !cmd.args_fit(&search[end..]) {
                continue;
            }
            let len = name.chars().count();
            found.insert(
                *pos,
                Cand {
                    cmdname: name.to_string(),
                    args: string.chars().skip(len).collect(),
                    cmd: cmd.clone(),
                    len,
                    ratio: 1.0 - (strlen as f64 - len as f64) / strlen as f64,
                    raw: raw_name.clone(),
                },
            );
        }
    }
    // In the set's order, as Evennia lists them.
    let mut out: Vec<(usize, Cand)> = found.into_iter().collect();
    out.sort_unstable_by_key(|(pos, _)| *pos);
    out.into_iter().map(|(_, c)| c).collect()
}

/// Keep only the candidates with the highest `key`, in their original order (what Evennia's
/// stable sort followed by `matches[-count:]` does).
fn keep_best<K: PartialOrd + Copy>(cands: Vec<Cand>, key: impl Fn(&Cand) -> K) -> Vec<Cand> {
    let Some(best) = cands.iter().map(&key).reduce(|a, b| if b > a { b } else { a }) else {
        return cands;
    };
    cands.into_iter().filter(|c| key(c) == best).collect()
}

/// Parse one input line (already stripped of surrounding whitespace by the caller) against a merged cmdset.
/// `can_use` filters by lock (the caller knows if the session is a superuser).
pub fn parse(input: &str, set: &CmdSet, can_use: &dyn Fn(&CommandDef) -> bool) -> ParseOutcome {
    if input.is_empty() {
        return ParseOutcome::NoInput(set.get(CMD_NOINPUT).cloned());
    }
    let mut raw = input;
    let mut matches = build_matches(raw, set, true);

    // No single match: maybe a `name-N` suffix; its matches are added to the ones found so far.
    let mut index = None;
    if matches.len() != 1 {
        static MULTI: OnceLock<Regex> = OnceLock::new();
        let re = MULTI.get_or_init(|| Regex::new(&format!("(?i){MULTIMATCH_REGEX}")).unwrap());
        if let Some(c) = re.captures(raw) {
            // Absurdly long numbers can only be out of range: treat them as "no such match".
            index = Some(c["number"].parse::<usize>().unwrap_or(usize::MAX));
            let rewritten = format!("{}{}", &c["name"], &c["args"]);
            matches.extend(build_matches(&rewritten, set, true));
        }
    }
    if matches.is_empty() {
        raw = strip_prefixes(raw);
        matches = build_matches(raw, set, false);
    }
    matches.retain(|m| can_use(&m.cmd));
    // The caller's own commands are numbered first, then those lent by objects around it (each
    // group in merge order), so `look-1` is always the player's own `look` and the box's is
    // `look-2`, however the sets were merged.
    matches.sort_by_key(|m| m.cmd.carrier.is_some());

    if matches.len() > 1 {
        // Case-sensitive preference, only if it leaves something.
        if matches.iter().any(|m| raw.starts_with(&m.cmdname)) {
            matches.retain(|m| raw.starts_with(&m.cmdname));
        }
    }
    if matches.len() > 1 {
        matches = keep_best(matches, |m| m.len);
    }
    if matches.len() > 1 {
        matches = keep_best(matches, |m| m.ratio);
    }
    if matches.len() > 1 {
        if let Some(i) = index {
            matches = if (1..=matches.len()).contains(&i) {
                vec![matches.swap_remove(i - 1)]
            } else {
                vec![]
            };
        }
    }

    match matches.len() {
        0 => ParseOutcome::NoMatch {
            system: set.get(CMD_NOMATCH).cloned(),
            message: nomatch_text(input, set, can_use),
        },
        1 => {
            let m = matches.pop().expect("one match");
            ParseOutcome::Match(Matched {
                cmd: m.cmd,
                cmdname: m.cmdname,
                args: m.args,
                raw: m.raw,
            })
        }
        _ => {
            // at_search_result with query = the first match's name and the default template
            // " {name}-{number}{aliases}{info}"; a command's info is the object lending it
            // (Evennia's Command.get_extra_info: " (box)" when `cmd.obj` is not the caller).
            let name = &matches[0].cmdname;
            let mut message = format!("More than one match for '{name}' (please narrow target):");
            for (i, m) in matches.iter().enumerate() {
                message.push_str(&format!("\n {name}-{}", i + 1));
                if !m.cmd.aliases.is_empty() {
                    message.push_str(&format!(" [{}]", m.cmd.aliases.join(";")));
                }
                if let Some(carrier) = &m.cmd.carrier {
                    message.push_str(&format!(" ({})", carrier.name));
                }
            }
            ParseOutcome::MultiMatch {
                system: set.get(CMD_MULTIMATCH).cloned(),
                candidates: matches.into_iter().map(|m| m.cmd).collect(),
                message,
            }
        }
    }
}

/// The cmdhandler's no-match text, with suggestions from the names the caller may use.
fn nomatch_text(input: &str, set: &CmdSet, can_use: &dyn Fn(&CommandDef) -> bool) -> String {
    // System commands are left out (they cannot be typed); a name offered by several commands
    // (duplicate sets) is suggested once.
    let mut vocabulary: Vec<&str> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for cmd in set.commands.iter().filter(|c| can_use(c)) {
        for n in typeable_names(cmd) {
            if seen.insert(n) {
                vocabulary.push(n);
            }
        }
    }
    let suggestions = string_suggestions(input, &vocabulary, 0.7, 3);
    if suggestions.is_empty() {
        format!("Command '{input}' is not available. Type \"help\" for help.")
    } else {
        format!(
            "Command '{input}' is not available. Maybe you meant {}?",
            quoted_list(&suggestions)
        )
    }
}

/// Evennia's `list_to_string(items, endsep="or", addquote=True)`: `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
pub fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Evennia's `string_similarity`: cosine similarity of the two strings' character counts (0..=1).
pub fn string_similarity(a: &str, b: &str) -> f64 {
    let mut counts: HashMap<char, (f64, f64)> = HashMap::new();
    a.chars().for_each(|c| counts.entry(c).or_default().0 += 1.0);
    b.chars().for_each(|c| counts.entry(c).or_default().1 += 1.0);
    let (dot, na, nb) = counts
        .values()
        .fold((0.0, 0.0, 0.0), |(d, x, y), (p, q)| (d + p * q, x + p * p, y + q * q));
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Evennia's `string_suggestions`: up to `maxnum` words of `vocabulary` with similarity ≥ `cutoff`,
/// most similar first (ties keep vocabulary order).
pub fn string_suggestions<'a>(
    input: &str,
    vocabulary: &[&'a str],
    cutoff: f64,
    maxnum: usize,
) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> =
        vocabulary.iter().map(|w| (string_similarity(input, w), *w)).collect();
    scored.sort_by(|x, y| y.0.total_cmp(&x.0));
    scored.into_iter().filter(|(s, _)| *s >= cutoff).take(maxnum).map(|(_, w)| w).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{CmdLock, LockCaller, MergeType};

    fn cmd_full(
        key: &str,
        aliases: &[&str],
        arg_regex: Option<&str>,
        locks: &str,
        module: &str,
    ) -> Arc<CommandDef> {
        let aliases: Vec<String> = aliases.iter().map(|s| s.to_string()).collect();
        Arc::new(
            CommandDef::new(key, &aliases, "", "general", arg_regex, locks, module.into()).unwrap(),
        )
    }

    fn cmd(key: &str, aliases: &[&str]) -> Arc<CommandDef> {
        cmd_full(key, aliases, None, "cmd:all()", "m")
    }

    fn set_of(cmds: &[Arc<CommandDef>]) -> CmdSet {
        CmdSet { merge_type: MergeType::Union, commands: cmds.to_vec(), ..CmdSet::empty("test") }
    }

    fn anyone(_: &CommandDef) -> bool {
        true
    }

    /// (cmdname, args, raw) of a single match, or a panic showing what happened instead.
    fn matched(input: &str, set: &CmdSet) -> (String, String, String) {
        match parse(input, set, &anyone) {
            ParseOutcome::Match(m) => (m.cmdname, m.args, m.raw),
            other => panic!("{input:?}: expected a match, got {other:?}"),
        }
    }

    fn message(input: &str, set: &CmdSet) -> String {
        match parse(input, set, &anyone) {
            ParseOutcome::NoMatch { message, .. } | ParseOutcome::MultiMatch { message, .. } => {
                message
            }
            other => panic!("{input:?}: expected an error, got {other:?}"),
        }
    }

    fn basic() -> CmdSet {
        set_of(&[cmd("look", &["l", "ls"]), cmd("say", &["\""]), cmd("get", &[]), cmd("@dig", &[])])
    }

    #[test]
    fn lookhere_does_not_match_look() {
        assert!(matches!(parse("lookhere", &basic(), &anyone), ParseOutcome::NoMatch { .. }));
    }

    #[test]
    fn look_with_a_space_or_a_switch_matches_look() {
        assert_eq!(matched("look here", &basic()), ("look".into(), " here".into(), "look".into()));
        assert_eq!(matched("look/x", &basic()).1, "/x");
        assert_eq!(matched("look", &basic()).1, "");
    }

    #[test]
    fn args_keep_the_leading_space_and_the_original_case() {
        assert_eq!(
            matched("SAY Hello There", &basic()),
            ("say".into(), " Hello There".into(), "say".into())
        );
    }

    #[test]
    fn custom_arg_regex_lets_a_name_run_into_its_argument() {
        let set = set_of(&[cmd_full("say", &["'"], Some(r".*"), "", "m")]);
        assert_eq!(matched("'hello", &set), ("'".into(), "hello".into(), "'".into()));
    }

    #[test]
    fn exit_style_arg_regex_refuses_arguments() {
        let set = set_of(&[cmd_full("north", &["n"], Some("^$"), "", "m")]);
        assert_eq!(matched("n", &set).0, "n");
        assert!(matches!(parse("n foo", &set, &anyone), ParseOutcome::NoMatch { .. }));
    }

    #[test]
    fn longest_alias_wins() {
        let set = set_of(&[cmd("look", &["l"]), cmd("look at", &["la"])]);
        let (name, args, _) = matched("look at box", &set);
        assert_eq!((name.as_str(), args.as_str()), ("look at", " box"));
    }

    #[test]
    fn same_name_in_two_commands_is_a_multimatch_with_evennia_text() {
        let set = set_of(&[cmd("kick", &["boot"]), cmd("kick", &[])]);
        match parse("kick ball", &set, &anyone) {
            ParseOutcome::MultiMatch { system: None, candidates, message } => {
                assert_eq!(candidates.len(), 2);
                assert_eq!(
                    message,
                    "More than one match for 'kick' (please narrow target):\n kick-1 [boot]\n kick-2"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn multimatch_suffix_picks_the_second() {
        let (a, b) = (cmd_full("kick", &[], None, "", "a"), cmd_full("kick", &[], None, "", "b"));
        let set = set_of(&[a, b]);
        match parse("kick-2 the ball", &set, &anyone) {
            ParseOutcome::Match(m) => {
                assert_eq!(&*m.cmd.module, "b");
                assert_eq!((m.cmdname.as_str(), m.args.as_str()), ("kick", " the ball"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse("kick-3", &set, &anyone), ParseOutcome::NoMatch { .. }));
    }

    #[test]
    fn lent_commands_are_numbered_after_the_callers_own_and_name_their_object() {
        use crate::cmd::Carrier;
        let boxed = Arc::new(cmd_full("look", &[], None, "", "box").lent_by(Carrier {
            id: crate::shared::ids::ObjectId::new(7),
            name: "box".into(),
            exit: false,
        }));
        // The union of a lent set lists its commands first; the numbering does not follow that.
        let set = set_of(&[boxed, cmd_full("look", &["l"], None, "", "character")]);
        match parse("look", &set, &anyone) {
            ParseOutcome::MultiMatch { system: None, message, .. } => assert_eq!(
                message,
                "More than one match for 'look' (please narrow target):\n look-1 [l]\n look-2 (box)"
            ),
            other => panic!("{other:?}"),
        }
        let module = |input: &str| match parse(input, &set, &anyone) {
            ParseOutcome::Match(m) => m.cmd.module.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!((module("look-1").as_str(), module("look-2").as_str()), ("character", "box"));
    }

    #[test]
    fn multimatch_system_command_takes_over_when_present() {
        let set = set_of(&[cmd("kick", &[]), cmd("kick", &[]), cmd(CMD_MULTIMATCH, &[])]);
        match parse("kick", &set, &anyone) {
            ParseOutcome::MultiMatch { system: Some(s), candidates, .. } => {
                assert_eq!((s.key.as_str(), candidates.len()), (CMD_MULTIMATCH, 2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn case_sensitive_prefix_beats_a_longer_name() {
        // Both match `lOok` case-insensitively; only `l` matches as typed, so it wins over `lo`.
        let set = set_of(&[
            cmd_full("l", &[], Some(".*"), "", "m"),
            cmd_full("lo", &[], Some(".*"), "", "m"),
        ]);
        assert_eq!(matched("lOok", &set), ("l".into(), "Ook".into(), "l".into()));
        // Typed in lower case both pass that test and the longer name wins.
        assert_eq!(matched("look", &set), ("lo".into(), "ok".into(), "lo".into()));
    }

    #[test]
    fn ignore_prefix_at_sign_still_matches() {
        let set = basic();
        assert_eq!(matched("@look here", &set), ("look".into(), " here".into(), "look".into()));
        // And the other way round: `dig` finds `@dig`, reporting the defined name as raw.
        assert_eq!(matched("dig north", &set), ("dig".into(), " north".into(), "@dig".into()));
        // The exact name is tried first.
        assert_eq!(matched("@dig", &set).0, "@dig");
        // A single character is never stripped.
        assert!(matches!(parse("@", &set, &anyone), ParseOutcome::NoMatch { .. }));
    }

    #[test]
    fn system_commands_are_never_typed() {
        let set = set_of(&[cmd(CMD_NOMATCH, &[]), cmd("look", &[])]);
        match parse("__nomatch_command", &set, &anyone) {
            ParseOutcome::NoMatch { system: Some(s), .. } => assert_eq!(s.key, CMD_NOMATCH),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_system_command_is_reached_through_its_aliases() {
        let set = set_of(&[cmd("__unloggedin_look_command", &["look", "l"])]);
        match parse("look", &set, &anyone) {
            ParseOutcome::Match(m) => assert_eq!(m.cmd.key, "__unloggedin_look_command"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("__unloggedin_look_command", &set, &anyone),
            ParseOutcome::NoMatch { .. }
        ));
    }

    #[test]
    fn empty_input_runs_the_noinput_command_or_nothing() {
        assert!(matches!(parse("", &basic(), &anyone), ParseOutcome::NoInput(None)));
        let set = set_of(&[cmd(CMD_NOINPUT, &[])]);
        assert!(matches!(parse("", &set, &anyone), ParseOutcome::NoInput(Some(_))));
    }

    #[test]
    fn unknown_input_gets_evennia_text() {
        assert_eq!(
            message("xyzzy", &basic()),
            "Command 'xyzzy' is not available. Type \"help\" for help."
        );
    }

    #[test]
    fn suggestions_offered_for_near_miss() {
        assert_eq!(
            message("loko", &basic()),
            "Command 'loko' is not available. Maybe you meant \"look\"?"
        );
        let set = set_of(&[cmd("inventory", &["inv", "i"]), cmd("invite", &[])]);
        assert_eq!(
            message("invnt", &set),
            "Command 'invnt' is not available. Maybe you meant \"inv\", \"invite\" or \"inventory\"?"
        );
    }

    #[test]
    fn quoted_list_uses_commas_and_or() {
        assert_eq!(quoted_list(&["a"]), "\"a\"");
        assert_eq!(quoted_list(&["a", "b"]), "\"a\" or \"b\"");
        assert_eq!(quoted_list(&["a", "b", "c"]), "\"a\", \"b\" or \"c\"");
    }

    #[test]
    fn string_similarity_is_character_cosine() {
        assert!((string_similarity("look", "look") - 1.0).abs() < 1e-12);
        assert!((string_similarity("ab", "ba") - 1.0).abs() < 1e-12);
        assert_eq!(string_similarity("abc", "xyz"), 0.0);
        assert_eq!(string_similarity("", "x"), 0.0);
    }

    #[test]
    fn lock_hides_superuser_commands() {
        let set = set_of(&[
            cmd_full("shutdown", &[], None, "cmd:perm(Developer)", "m"),
            cmd("look", &[]),
        ]);
        let player = |c: &CommandDef| {
            c.lock.allows(&LockCaller { superuser: false, permission: Some("Player") })
        };
        let admin = |c: &CommandDef| {
            c.lock.allows(&LockCaller { superuser: true, permission: Some("Developer") })
        };
        match parse("shutdown", &set, &player) {
            // Hidden from suggestions too: the text must not reveal it.
            ParseOutcome::NoMatch { message, .. } => {
                assert!(message.ends_with("Type \"help\" for help."), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse("shutdown", &set, &admin), ParseOutcome::Match(_)));
    }

    #[test]
    fn lock_strings_parse_to_lock_expressions() {
        assert_eq!(CmdLock::parse(""), CmdLock::All);
        assert_eq!(CmdLock::parse("cmd:all()"), CmdLock::All);
        assert_eq!(
            CmdLock::parse("cmd:perm(Admins)"),
            CmdLock::Perm { perm: "Admin".into(), above: false }
        );
        assert_eq!(
            CmdLock::parse("call:false();cmd: pperm_above(developer)"),
            CmdLock::Perm { perm: "Developer".into(), above: true }
        );
        assert_eq!(CmdLock::parse("cmd:superuser()"), CmdLock::Superuser);
        assert_eq!(CmdLock::parse("cmd:false()"), CmdLock::Never);
        assert_eq!(
            CmdLock::parse("cmd:perm(Admin) or all()"),
            CmdLock::Or(
                Box::new(CmdLock::Perm { perm: "Admin".into(), above: false }),
                Box::new(CmdLock::All)
            )
        );
    }

    #[test]
    fn bad_arg_regex_is_an_error_and_names_are_lower_cased() {
        assert!(CommandDef::new("x", &[], "", "", Some("(unclosed"), "", "m".into()).is_err());
        let c = CommandDef::new(
            "LOOK",
            &["L".into(), "look".into(), "l".into()],
            "",
            "",
            None,
            "",
            "m".into(),
        )
        .unwrap();
        assert_eq!((c.key.as_str(), c.aliases.as_slice()), ("look", ["l".to_string()].as_slice()));
        assert!(c.same_as(&CommandDef::new("l", &[], "", "", None, "", "m".into()).unwrap()));
    }

    /// A functional check with a very generous bound: a cmdset with 150,000 aliases used to cost
    /// seconds per input (every name tested against the input); prefix lookups make it cheap.
    /// The bound only catches a return to scanning every name per input.
    #[test]
    fn many_aliases_parse_by_prefix_lookup() {
        let aliases: Vec<String> = (0..150_000).map(|i| format!("alias{i}")).collect();
        let refs: Vec<&str> = aliases.iter().map(String::as_str).collect();
        let set = set_of(&[cmd("many", &refs), cmd("look", &["l"])]);
        let started = std::time::Instant::now();
        for i in 0..1000 {
            let (name, args, _) = matched(&format!("alias{} x", i * 149), &set);
            assert_eq!((name, args), (format!("alias{}", i * 149), " x".to_string()));
            assert_eq!(matched("look", &set).0, "look");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    }
}
