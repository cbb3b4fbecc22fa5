//! Evennia's cmdset arithmetic (`evennia/commands/cmdset.py` `__add__`, and the stack merge in
//! `cmdhandler.get_and_merge_cmdsets`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::{CmdSet, CommandDef, MergeType};

/// Every name of a list of commands, for "does this set have a same-named command" in O(names)
/// instead of a scan of the set per command (which made big cmdsets quadratic to merge).
fn names_of(set: &[Arc<CommandDef>]) -> HashSet<&str> {
    set.iter().flat_map(|c| c.names()).collect()
}

/// Whether `cmd` equals (shares a name with) any command whose names are in `names`.
fn contains(names: &HashSet<&str>, cmd: &CommandDef) -> bool {
    cmd.names().any(|n| names.contains(n))
}

/// Evennia's `B + A` with B = `lower` and A = `higher` (the set merged on top). The set with the
/// higher priority wins, A on ties: its merge type applies, its version of same-named commands is
/// kept, and the result takes its key, priority and merge type. System commands (`__…`) survive
/// every merge type, the winner's version first. `no_exits`/`no_objs` are the winner's unless None,
/// then the loser's; `duplicates` never propagates (None).
pub fn merge(lower: &CmdSet, higher: &CmdSet) -> CmdSet {
    let (win, lose) =
        if lower.priority <= higher.priority { (higher, lower) } else { (lower, higher) };
    let split = |s: &CmdSet| -> (Vec<Arc<CommandDef>>, Vec<Arc<CommandDef>>) {
        s.commands.iter().cloned().partition(|c| !c.is_system())
    };
    let (win_cmds, win_sys) = split(win);
    let (lose_cmds, lose_sys) = split(lose);
    // `duplicates` only matters between equal priorities (Evennia checks both conditions).
    let dup = win.duplicates == Some(true) && win.priority == lose.priority;

    let win_names = names_of(&win_cmds);
    // key_mergetypes: the winner may merge onto a set with a given key in another way.
    let merge_type =
        win.key_mergetypes.iter().find(|(k, _)| *k == lose.key).map_or(win.merge_type, |(_, m)| *m);
    let mut commands: Vec<Arc<CommandDef>> = match merge_type {
        MergeType::Union => {
            let mut out = win_cmds.clone();
            out.extend(lose_cmds.iter().filter(|c| dup || !contains(&win_names, c)).cloned());
            out
        }
        MergeType::Intersect => {
            // The first losing command bearing each name: "the first same-named command".
            let mut first: HashMap<&str, usize> = HashMap::new();
            for (i, c) in lose_cmds.iter().enumerate() {
                for n in c.names() {
                    first.entry(n).or_insert(i);
                }
            }
            let mut out = Vec::new();
            for a in &win_cmds {
                let Some(i) = a.names().filter_map(|n| first.get(n).copied()).min() else {
                    continue;
                };
                out.push(a.clone());
                if dup {
                    // With duplicates both versions are kept (the reference's documented rule).
                    out.push(lose_cmds[i].clone());
                }
            }
            out
        }
        MergeType::Replace => win_cmds.clone(),
        MergeType::Remove => {
            lose_cmds.iter().filter(|c| !contains(&win_names, c)).cloned().collect()
        }
    };
    // Evennia re-adds the system commands after the set operation, so none of them is lost.
    let win_sys_names = names_of(&win_sys);
    commands.extend(win_sys.iter().cloned());
    commands.extend(lose_sys.iter().filter(|c| !contains(&win_sys_names, c)).cloned());

    CmdSet {
        key: win.key.clone(),
        priority: win.priority,
        merge_type: win.merge_type,
        duplicates: None,
        no_exits: win.no_exits.or(lose.no_exits),
        no_objs: win.no_objs.or(lose.no_objs),
        key_mergetypes: win.key_mergetypes.clone(),
        commands,
        index: Default::default(),
    }
}

/// Merge a caller's whole stack, given in provider order (session sets, then account sets, then
/// puppet sets, then location objects' sets). Same-priority sets are merged first, left to right
/// (so a later provider wins ties), then the groups from lowest to highest priority — grouping
/// keeps `duplicates=True` sets of one priority from being disturbed by sets in between.
/// Empty input → an empty Union set with key "" and priority 0; one set → a copy of it.
pub fn merge_stack(sets: &[Arc<CmdSet>]) -> CmdSet {
    let mut groups: BTreeMap<i32, CmdSet> = BTreeMap::new();
    for set in sets {
        let merged = match groups.remove(&set.priority) {
            Some(acc) => merge(&acc, set),
            None => (**set).clone(),
        };
        groups.insert(set.priority, merged);
    }
    let mut ordered = groups.into_values();
    let Some(first) = ordered.next() else { return CmdSet::empty("") };
    ordered.fold(first, |acc, group| merge(&acc, &group))
}

/// A cheap identity fingerprint of a stack: a hash of the `Arc` addresses in order. Use it as the
/// key of a cache of [`merge_stack`] results. A reloaded module (or any changed set) is a new `Arc`
/// and therefore gives a new fingerprint, so a cache never needs explicit invalidation — provided
/// each cache entry also holds the `Arc`s it was computed from: that keeps the allocations alive,
/// so their addresses cannot be reused by a different set while the entry exists.
pub fn fingerprint(sets: &[Arc<CmdSet>]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for set in sets {
        (Arc::as_ptr(set) as usize).hash(&mut h);
    }
    sets.len().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(key: &str, aliases: &[&str], module: &str) -> Arc<CommandDef> {
        let aliases: Vec<String> = aliases.iter().map(|s| s.to_string()).collect();
        Arc::new(CommandDef::new(key, &aliases, "", "general", None, "", module.into()).unwrap())
    }

    fn set(key: &str, priority: i32, merge_type: MergeType, cmds: &[Arc<CommandDef>]) -> CmdSet {
        CmdSet { priority, merge_type, commands: cmds.to_vec(), ..CmdSet::empty(key) }
    }

    /// "key@module" of every command, in order, for compact assertions.
    fn names(s: &CmdSet) -> Vec<String> {
        s.commands.iter().map(|c| format!("{}@{}", c.key, c.module)).collect()
    }

    #[test]
    fn a_top_priority_set_merged_onto_the_merge_so_far_gives_the_whole_stacks_result() {
        // What the command handler relies on for the exits' set (priority 101): when every other
        // set is below it, merging it last onto the merged rest equals merging the whole stack.
        let lower = [
            Arc::new(set(
                "Account",
                -10,
                MergeType::Union,
                &[cmd("look", &[], "acc"), cmd("who", &[], "acc")],
            )),
            Arc::new(set(
                "Character",
                0,
                MergeType::Union,
                &[cmd("look", &["l"], "char"), cmd("go", &[], "char")],
            )),
            Arc::new(CmdSet {
                duplicates: Some(true),
                ..set(
                    "Box",
                    0,
                    MergeType::Union,
                    &[cmd("look", &[], "box"), cmd("open", &[], "box")],
                )
            }),
            Arc::new(set("Hide", 5, MergeType::Remove, &[cmd("who", &[], "hide")])),
        ];
        let exits = Arc::new(CmdSet {
            duplicates: Some(true),
            ..set(
                "ExitCmdSet",
                101,
                MergeType::Union,
                &[cmd("garden", &[], "char"), cmd("look", &[], "char")],
            )
        });
        let whole: Vec<Arc<CmdSet>> = lower.iter().cloned().chain([exits.clone()]).collect();
        let so_far = Arc::new(merge_stack(&lower));
        assert_eq!(names(&merge_stack(&[so_far, exits])), names(&merge_stack(&whole)));
    }

    #[test]
    fn equal_priority_union_lets_the_later_set_win() {
        let b = set("B", 0, MergeType::Union, &[cmd("look", &["l"], "b"), cmd("get", &[], "b")]);
        let a = set("A", 0, MergeType::Union, &[cmd("l", &[], "a"), cmd("drop", &[], "a")]);
        let c = merge(&b, &a);
        assert_eq!(names(&c), ["l@a", "drop@a", "get@b"]);
        assert_eq!(c.key, "A");
    }

    #[test]
    fn higher_priority_on_the_left_still_wins() {
        let b = set("B", 5, MergeType::Replace, &[cmd("look", &[], "b")]);
        let a = set("A", 0, MergeType::Union, &[cmd("look", &[], "a"), cmd("get", &[], "a")]);
        let c = merge(&b, &a);
        assert_eq!(names(&c), ["look@b"]);
        assert_eq!((c.key.as_str(), c.priority, c.merge_type), ("B", 5, MergeType::Replace));
    }

    #[test]
    fn union_with_duplicates_keeps_both_versions_on_equal_priority_only() {
        let mut a = set("A", 0, MergeType::Union, &[cmd("kick", &[], "a")]);
        a.duplicates = Some(true);
        let b = set("B", 0, MergeType::Union, &[cmd("kick", &[], "b")]);
        let c = merge(&b, &a);
        assert_eq!(names(&c), ["kick@a", "kick@b"]);
        assert_eq!(c.duplicates, None);
        a.priority = 1;
        assert_eq!(names(&merge(&b, &a)), ["kick@a"]);
    }

    #[test]
    fn replace_keeps_only_the_higher_set_but_system_commands_survive() {
        let b = set(
            "B",
            0,
            MergeType::Union,
            &[
                cmd("look", &[], "b"),
                cmd("__nomatch_command", &[], "b"),
                cmd("__noinput_command", &[], "b"),
            ],
        );
        let a = set(
            "A",
            1,
            MergeType::Replace,
            &[cmd("menu", &[], "a"), cmd("__noinput_command", &[], "a")],
        );
        let c = merge(&b, &a);
        assert_eq!(names(&c), ["menu@a", "__noinput_command@a", "__nomatch_command@b"]);
    }

    #[test]
    fn remove_subtracts_commands() {
        let b = set(
            "B",
            0,
            MergeType::Union,
            &[cmd("look", &["l"], "b"), cmd("get", &[], "b"), cmd("say", &[], "b")],
        );
        let a = set("A", 1, MergeType::Remove, &[cmd("l", &[], "a"), cmd("say", &[], "a")]);
        assert_eq!(names(&merge(&b, &a)), ["get@b"]);
    }

    #[test]
    fn intersect_keeps_only_shared_commands() {
        let b = set("B", 0, MergeType::Union, &[cmd("look", &[], "b"), cmd("get", &[], "b")]);
        let a = set("A", 1, MergeType::Intersect, &[cmd("look", &[], "a"), cmd("dance", &[], "a")]);
        assert_eq!(names(&merge(&b, &a)), ["look@a"]);
    }

    #[test]
    fn intersect_with_duplicates_keeps_both_versions() {
        let b = set("B", 0, MergeType::Union, &[cmd("look", &[], "b"), cmd("get", &[], "b")]);
        let mut a = set("A", 0, MergeType::Intersect, &[cmd("look", &[], "a")]);
        a.duplicates = Some(true);
        assert_eq!(names(&merge(&b, &a)), ["look@a", "look@b"]);
    }

    #[test]
    fn flags_pass_through_when_none_and_the_winner_overrides() {
        let mut b = set("B", 0, MergeType::Union, &[]);
        b.no_exits = Some(true);
        b.no_objs = Some(true);
        let mut a = set("A", 1, MergeType::Union, &[]);
        a.no_objs = Some(false);
        let c = merge(&b, &a);
        assert_eq!((c.no_exits, c.no_objs), (Some(true), Some(false)));
        // The loser's explicit value never overrides the winner's.
        let c = merge(&a, &b);
        assert_eq!((c.no_exits, c.no_objs), (Some(true), Some(false)));
    }

    #[test]
    fn merge_stack_groups_by_priority() {
        // Session (-20), account (-10), puppet (0) and a room object (0, duplicates like Evennia
        // treats object sets): the object's `kick` sits beside the puppet's after grouping.
        let session = set("sessions", -20, MergeType::Union, &[cmd("sessions", &[], "s")]);
        let account = set(
            "account",
            -10,
            MergeType::Union,
            &[cmd("look", &[], "acc"), cmd("ooc", &[], "acc")],
        );
        let puppet = set(
            "character",
            0,
            MergeType::Union,
            &[cmd("look", &[], "char"), cmd("kick", &[], "char")],
        );
        let mut ball = set("ball", 0, MergeType::Union, &[cmd("kick", &[], "ball")]);
        ball.duplicates = Some(true);
        let stack: Vec<Arc<CmdSet>> =
            [session, account, puppet, ball].into_iter().map(Arc::new).collect();
        let c = merge_stack(&stack);
        assert_eq!(names(&c), ["kick@ball", "look@char", "kick@char", "ooc@acc", "sessions@s"]);
        assert_eq!((c.key.as_str(), c.priority, c.duplicates), ("ball", 0, None));
    }

    #[test]
    fn key_mergetypes_override_the_merge_type_against_that_key() {
        let base =
            set("Base", 0, MergeType::Union, &[cmd("look", &[], "base"), cmd("get", &[], "base")]);
        let other = set(
            "Other",
            0,
            MergeType::Union,
            &[cmd("look", &[], "other"), cmd("get", &[], "other")],
        );
        let mut menu = set("Menu", 1, MergeType::Union, &[cmd("look", &[], "menu")]);
        menu.key_mergetypes = vec![("Base".into(), MergeType::Replace)];
        assert_eq!(names(&merge(&base, &menu)), ["look@menu"]);
        assert_eq!(names(&merge(&other, &menu)), ["look@menu", "get@other"]);
    }

    #[test]
    fn merge_stack_of_nothing_is_an_empty_union_set() {
        let c = merge_stack(&[]);
        assert_eq!((c.key.as_str(), c.priority, c.merge_type), ("", 0, MergeType::Union));
        assert!(c.commands.is_empty());
    }

    #[test]
    fn merge_stack_applies_a_high_priority_replace_last() {
        let base = set(
            "base",
            0,
            MergeType::Union,
            &[cmd("look", &[], "base"), cmd("__nomatch_command", &[], "base")],
        );
        let menu = set("menu", 50, MergeType::Replace, &[cmd("1", &[], "menu")]);
        let extra = set("extra", 0, MergeType::Union, &[cmd("get", &[], "extra")]);
        let stack: Vec<Arc<CmdSet>> = [menu, base, extra].into_iter().map(Arc::new).collect();
        assert_eq!(names(&merge_stack(&stack)), ["1@menu", "__nomatch_command@base"]);
    }

    #[test]
    fn fingerprint_follows_identity_and_order() {
        let a = Arc::new(set("A", 0, MergeType::Union, &[]));
        let b = Arc::new(set("B", 0, MergeType::Union, &[]));
        let ab = fingerprint(&[a.clone(), b.clone()]);
        assert_eq!(ab, fingerprint(&[a.clone(), b.clone()]));
        assert_ne!(ab, fingerprint(&[b.clone(), a.clone()]));
        // Same content, new Arc (a reload): a different fingerprint.
        let a2 = Arc::new((*a).clone());
        assert_ne!(ab, fingerprint(&[a2, b]));
    }

    /// Merging two sets of 20,000 commands each compares names through sets, not command by
    /// command (quadratic: 400 million comparisons). Functional check, generous bound.
    #[test]
    fn merging_big_sets_uses_name_sets() {
        let a: Vec<Arc<CommandDef>> =
            (0..20_000).map(|i| cmd(&format!("a{i}"), &[&format!("x{i}")], "a")).collect();
        let b: Vec<Arc<CommandDef>> =
            (0..20_000).map(|i| cmd(&format!("b{i}"), &[&format!("x{i}")], "b")).collect();
        let started = std::time::Instant::now();
        let low = set("B", 0, MergeType::Union, &b);
        let high = set("A", 0, MergeType::Union, &a);
        assert_eq!(merge(&low, &high).commands.len(), 20_000, "every b shares an alias with an a");
        let mut inter = high.clone();
        inter.merge_type = MergeType::Intersect;
        inter.duplicates = Some(true);
        assert_eq!(merge(&low, &inter).commands.len(), 40_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    }
}
