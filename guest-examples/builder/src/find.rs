//! `find` (and `locate`): objects by name, alias or dbref, in a dbref range.

use mudhost_sdk::args::split_eq;
use mudhost_sdk::{CmdResult, Command, Invocation, Obj};

use crate::search::me;
use crate::shared::{check_len, shown};
use crate::{CATEGORY, LOCK};

const FIND_USAGE: &str = "Usage: find <string> [= low [-high]]";

/// `find[/room|/exit|/char|/loc|/exact] <name, alias or #dbref> [= low[-high]]`, `locate`.
pub(crate) struct Find;
impl Command for Find {
    const KEY: &'static str = "find";
    const ALIASES: &'static [&'static str] = &["@find", "search", "@search", "locate", "@locate"];
    const LOCKS: &'static str = LOCK;
    const HELP_CATEGORY: &'static str = CATEGORY;
    const HELP: &'static str = "search the database for objects\n\nUsage:\n  find[/switches] <name or dbref> [= dbrefmin[-dbrefmax]]\n  locate - this is a shorthand for using the /loc switch.\n\nSwitches:\n  room       - only look for rooms\n  exit       - only look for exits\n  char       - only look for characters\n  exact      - only exact matches are returned (always the case here)\n  loc        - display object location if exists and match has one result\n\nSearches the whole world for objects whose name or alias is the given\nname (any case), or for an exact #dbref. The switches limit matches to\ncertain kinds of objects. Dbrefmin and dbrefmax limit matches to within\nthe given dbrefs range, or above if only one is given. To find objects\nby tag, use tag/search.";
    fn func(inv: &Invocation) -> CmdResult {
        me(inv)?;
        let (mut sw, rest) = inv.switches();
        if inv.cmdname.trim_start_matches('@').eq_ignore_ascii_case("locate") {
            sw.push("loc".into());
        }
        let (lhs, rhs) = split_eq(rest.trim());
        if lhs.is_empty() {
            return Err(FIND_USAGE.into());
        }
        check_len(lhs)?;
        let has = |s: &str| sw.iter().any(|x| x == s);
        let range = match rhs.filter(|r| !r.trim().is_empty()) {
            Some(r) => Some(dbref_range(r).ok_or("Invalid dbref range provided (not a number).")?),
            None => None,
        };
        let kinds: Vec<&str> = [("room", "room"), ("exit", "exit"), ("char", "character")]
            .into_iter()
            .filter(|(s, _)| has(s))
            .map(|(_, k)| k)
            .collect();
        let keep = |o: &Obj| {
            (kinds.is_empty() || kinds.iter().any(|k| o.is(k)))
                && range.is_none_or(|(lo, hi)| (lo..=hi).contains(&o.id()))
        };
        // Evennia's `(#low-#high, switches)`; the range only when one was given.
        let mut parts: Vec<String> = range
            .map(|(lo, hi)| match hi {
                u64::MAX => format!("#{lo}-"),
                hi => format!("#{lo}-#{hi}"),
            })
            .into_iter()
            .collect();
        parts.extend(sw.iter().cloned());
        let restrictions =
            if parts.is_empty() { String::new() } else { format!("({})", parts.join(", ")) };
        let line = |o: Obj| {
            let path = o.class().or_else(|| o.kind()).unwrap_or_default();
            format!("|g{} - {path}|n", shown(o))
        };
        let location = |o: Obj| {
            o.location().map(|l| format!(" (|wlocation|n: |g{}|n)", shown(l))).unwrap_or_default()
        };
        let text = if lhs.starts_with('#') {
            let mut text = format!("|wExact dbref match|n{restrictions}:");
            match Obj::parse(lhs).filter(|o| o.exists()) {
                Some(o) if keep(&o) => {
                    text += &format!("\n   {}", line(o));
                    if has("loc") {
                        text += &location(o);
                    }
                }
                _ => text += "\n   |RNo match found.|n",
            }
            text
        } else {
            let found: Vec<Obj> = Obj::search(lhs, None).into_iter().filter(keep).collect();
            match found[..] {
                [] => format!("|wNo Matches|n{restrictions}:\n   |RNo matches found for '{lhs}'|n"),
                [o] => {
                    let loc = if has("loc") { location(o) } else { String::new() };
                    format!("|wOne Match|n{restrictions}:\n   {}{loc}", line(o))
                }
                ref many => {
                    let lines: Vec<String> =
                        many.iter().map(|o| format!("\n   {}", line(*o))).collect();
                    format!("|w{} Matches|n{restrictions}:{}", many.len(), lines.concat())
                }
            }
        };
        inv.msg(text);
        Ok(())
    }
}

/// `#3-#10`, `3 10`, `#5` (from 5 up): the bounds of `find`'s dbref range.
fn dbref_range(text: &str) -> Option<(u64, u64)> {
    let mut bounds: Vec<u64> = text
        .split(|c: char| c == '-' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| p.trim_start_matches('#').parse().ok())
        .collect::<Option<_>>()?;
    bounds.sort_unstable();
    match bounds[..] {
        [lo] => Some((lo, u64::MAX)),
        [lo, .., hi] => Some((lo, hi)),
        [] => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_reads_evennias_dbref_ranges() {
        assert_eq!(dbref_range("#3-#10"), Some((3, 10)));
        assert_eq!(dbref_range("10 3"), Some((3, 10)));
        assert_eq!(dbref_range("#5"), Some((5, u64::MAX)));
        assert_eq!(dbref_range("#x"), None);
        assert_eq!(dbref_range("-"), None);
    }
}
