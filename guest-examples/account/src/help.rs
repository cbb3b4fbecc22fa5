//! `help` as Evennia's CmdHelp (`evennia/commands/default/help.py`): with no argument, the index
//! of the commands the caller can use grouped by help category, then the game's help topics (the
//! `help` folder's files, `host::help_topics`) under "Game & World"; with a topic, the command,
//! topic or category of that name; else "No help found" with suggestions for a misspelt topic.

use mudhost_sdk::{host, CmdResult, Command, CommandInfo, Invocation};

/// The client width Evennia's help assumes when it knows none.
const WIDTH: usize = 78;
/// Evennia's `suggestion_cutoff` and `suggestion_maxnum`.
const SUGGESTION_CUTOFF: f64 = 0.6;
const SUGGESTION_MAXNUM: usize = 5;

/// Evennia's `str.title()` of a category name.
fn title(category: &str) -> String {
    category
        .split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Evennia's `pad(text, width, fillchar="-")`: centred.
fn centred(text: &str, width: usize) -> String {
    let text = format!(" {text} ");
    let fill = width.saturating_sub(text.chars().count());
    format!("{}{text}{}", "-".repeat(fill / 2), "-".repeat(fill - fill / 2))
}

/// Evennia's `format_grid`, simplified: entries in columns as wide as the widest but one in ten
/// (plus the separator), a category title on a line of its own.
fn grid(groups: &[(String, Vec<String>)], lone_title: bool) -> Vec<String> {
    let mut rows = Vec::new();
    let titled = groups.len() > 1 || lone_title;
    let mut lens: Vec<usize> =
        groups.iter().flat_map(|(_, e)| e.iter().map(|e| e.chars().count())).collect();
    lens.sort_unstable();
    let col = lens.get(lens.len().saturating_mul(9) / 10).copied().unwrap_or(0) + 2;
    for (category, entries) in groups {
        if titled {
            let head = format!("-- {} ", title(category));
            let dashes = WIDTH.saturating_sub(head.chars().count());
            rows.push(format!("|W{head}{}|G", "-".repeat(dashes)));
        }
        let mut row = String::new();
        for e in entries {
            let len = row.chars().count();
            // The next column start at least two spaces (Evennia's separator) after the row.
            let start = if len == 0 { 0 } else { (len + 2).div_ceil(col) * col };
            if len > 0 && start + e.chars().count() > WIDTH {
                rows.push(format!("|G{}", row.trim_end()));
                row.clear();
            }
            let len = row.chars().count();
            if len > 0 {
                row.push_str(&" ".repeat((len + 2).div_ceil(col) * col - len));
            }
            row.push_str(e);
        }
        if !row.is_empty() {
            rows.push(format!("|G{}", row.trim_end()));
        }
    }
    rows
}

/// Group `(category, key)` pairs by category, each sorted, categories sorted.
fn by_category(items: impl Iterator<Item = (String, String)>) -> Vec<(String, Vec<String>)> {
    let mut map: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (cat, key) in items {
        map.entry(cat.to_lowercase()).or_default().insert(key);
    }
    map.into_iter().map(|(c, k)| (c, k.into_iter().collect())).collect()
}

/// Evennia's help index: "Commands" and "Game & World" parts, each titled only when both exist.
fn index(cmds: &[(String, Vec<String>)], topics: &[(String, Vec<String>)], lone: bool) -> String {
    let cmd_grid = grid(cmds, lone).join("\n");
    let topic_grid = grid(topics, lone).join("\n");
    match (cmd_grid.is_empty(), topic_grid.is_empty()) {
        (false, false) => format!(
            "|w{}|G\n{cmd_grid}\n|w{}|G\n{topic_grid}",
            centred("Commands", WIDTH),
            centred("Game & World", WIDTH)
        ),
        _ => format!("{cmd_grid}{topic_grid}"),
    }
}

/// Evennia's `format_help_entry`.
fn entry(topic: Option<&str>, aliases: &[String], text: &str, suggested: &[String]) -> String {
    let separator = format!("|C{}|n", "-".repeat(WIDTH));
    let title = match topic {
        Some(t) => format!("|CHelp for |w{t}|n"),
        None => "|rNo help found|n".into(),
    };
    let aliases = if aliases.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = aliases.iter().map(|a| format!("|w{a}|n")).collect();
        format!(" |C(aliases: {}|C)|n", list.join("|C,|n "))
    };
    let mut parts = vec![separator.clone(), title + &aliases];
    if !text.is_empty() {
        parts.push(format!("\n{}", text.trim_matches('\n')));
    }
    if !suggested.is_empty() {
        let mut s = suggested.to_vec();
        s.sort();
        let list: Vec<String> = s.iter().map(|x| format!("|w{x}|n")).collect();
        parts.push(format!("\n|COther topic suggestions:|n\n{}", list.join("  ")));
    }
    parts.push(separator);
    parts.iter().map(|p| p.trim_end()).collect::<Vec<_>>().join("\n")
}

/// Similarity of two names, 0..1 (1 - edit distance / longer length).
fn similarity(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    1.0 - prev[b.len()] as f64 / longest as f64
}

/// What `help` can show: a command (with its text) or a topic (its text fetched when shown).
struct Found {
    key: String,
    aliases: Vec<String>,
    text: Option<String>,
    category: String,
}

/// Evennia's `help`.
pub struct Help;
impl Command for Help {
    const KEY: &'static str = "help";
    const ALIASES: &'static [&'static str] = &["h", "?"];
    const HELP: &'static str = "Get help.\n\nUsage:\n  help\n  help <topic, command or category>\n\nWith no argument, lists the commands you can use by category, and the game's help topics.";
    fn func(inv: &Invocation) -> CmdResult {
        // Every command the caller can use now, from every provider (the host applies the
        // locks), and the help topics it may read (the host applies their locks).
        let commands: Vec<CommandInfo> = host::caller_commands();
        let topics = host::help_topics();
        let query = inv.args_trimmed().to_lowercase();
        if query.is_empty() {
            let cmds =
                by_category(commands.iter().map(|c| (c.help_category.clone(), c.key.clone())));
            let tops = by_category(topics.iter().map(|t| (t.category.clone(), t.key.clone())));
            inv.msg(index(&cmds, &tops, false));
            return Ok(());
        }
        // Commands take priority over topics, as in Evennia.
        let found: Vec<Found> = commands
            .iter()
            .map(|c| Found {
                key: c.key.clone(),
                aliases: c.aliases.clone(),
                text: Some(c.help.clone()),
                category: c.help_category.clone(),
            })
            .chain(topics.iter().map(|t| Found {
                key: t.key.clone(),
                aliases: t.aliases.clone(),
                text: None,
                category: t.category.clone(),
            }))
            .collect();
        let names = |f: &Found| {
            std::iter::once(f.key.to_lowercase())
                .chain(f.aliases.iter().map(|a| a.to_lowercase()))
                .collect::<Vec<_>>()
        };
        if let Some(f) = found.iter().find(|f| names(f).contains(&query)) {
            let text = match &f.text {
                Some(t) => t.clone(),
                None => host::help_topic_text(&f.key).unwrap_or_default(),
            };
            inv.msg(entry(Some(&f.key), &f.aliases, &text, &[]));
            return Ok(());
        }
        // A category: its commands and topics.
        if found.iter().any(|f| f.category.to_lowercase() == query) {
            let cmds = by_category(
                commands
                    .iter()
                    .filter(|c| c.help_category.to_lowercase() == query)
                    .map(|c| (c.help_category.clone(), c.key.clone())),
            );
            let tops = by_category(
                topics
                    .iter()
                    .filter(|t| t.category.to_lowercase() == query)
                    .map(|t| (t.category.clone(), t.key.clone())),
            );
            inv.msg(index(&cmds, &tops, true));
            return Ok(());
        }
        let mut scored: Vec<(f64, String)> = found
            .iter()
            .filter_map(|f| {
                let best = names(f).iter().map(|n| similarity(n, &query)).fold(0.0, f64::max);
                (best >= SUGGESTION_CUTOFF).then(|| (best, f.key.clone()))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        scored.dedup_by(|a, b| a.1 == b.1);
        let suggestions: Vec<String> =
            scored.into_iter().take(SUGGESTION_MAXNUM).map(|(_, k)| k).collect();
        let text = format!("There is no help topic matching '{}'.", inv.args_trimmed());
        inv.msg(entry(None, &[], &text, &suggestions));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_entries_never_touch() {
        let entries: Vec<String> =
            ["buildertest", "burst", "tellaccount", "who", "a", "b"].map(String::from).to_vec();
        let rows = grid(&[("general".into(), entries.clone())], false).join(" ");
        for e in &entries {
            assert!(
                rows.split_whitespace().any(|w| w.trim_start_matches("|G") == e),
                "{e} in {rows}"
            );
        }
    }

    #[test]
    fn similar_names_score_high_and_others_low() {
        assert!(similarity("chanel", "channel") > 0.8);
        assert!(similarity("lok", "look") >= 0.75);
        assert!(similarity("xyzzy", "channel") < SUGGESTION_CUTOFF);
    }

    #[test]
    fn the_index_titles_categories_and_parts_only_when_there_are_several() {
        let cmds = by_category([("general".into(), "look".into())].into_iter());
        assert_eq!(index(&cmds, &[], false), "|Glook");
        let cmds = by_category(
            [("general".into(), "look".into()), ("comms".into(), "channel".into())].into_iter(),
        );
        let tops = by_category([("Building".into(), "Digging".into())].into_iter());
        let both = index(&cmds, &tops, false);
        assert!(both.contains("Commands") && both.contains("Game & World"), "{both}");
        assert!(both.contains("-- General ---") && both.contains("-- Comms ---"), "{both}");
        assert!(!both.contains("-- Building"), "a lone category is not titled: {both}");
    }
}
