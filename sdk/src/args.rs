//! Argument parsing as Evennia's commands do it. Pure functions, usable in native unit tests.

/// Split `connect`/`create` arguments as Evennia does: double-quoted parts may hold spaces;
/// without quotes the text splits at the first run of whitespace into at most two parts.
///
/// `"Anna c67jHL8p"` → `["Anna", "c67jHL8p"]`; `"\"Anna the Great\" pw"` → `["Anna the Great", "pw"]`;
/// `"a b c"` → `["a", "b c"]`. Callers check the count.
pub fn split_quoted(args: &str) -> Vec<String> {
    let parts: Vec<&str> = args.split('"').map(str::trim).filter(|p| !p.is_empty()).collect();
    if let [single] = parts[..] {
        return match single.split_once(char::is_whitespace) {
            Some((first, rest)) => vec![first.to_string(), rest.trim().to_string()],
            None => vec![single.to_string()],
        };
    }
    parts.into_iter().map(String::from).collect()
}

/// Evennia's MuxCommand switches: when the raw args start with `/`, the word after it holds
/// `/`-separated switches (lower-cased) and the rest is the argument text.
///
/// `"/all"` → (`["all"]`, `""`); `"/a/B text"` → (`["a", "b"]`, `"text"`); `" /all"` → no switches.
pub fn switches(args: &str) -> (Vec<String>, &str) {
    let trimmed = args.trim();
    if !args.starts_with('/') || trimmed.len() < 2 {
        return (Vec::new(), trimmed);
    }
    let (word, rest) = trimmed[1..].split_once(char::is_whitespace).unwrap_or((&trimmed[1..], ""));
    let switches = word.split('/').filter(|s| !s.is_empty()).map(str::to_lowercase).collect();
    (switches, rest.trim())
}

/// Split at the first `=` into trimmed left- and right-hand sides (Evennia's `lhs`/`rhs`).
///
/// `"Bob = A tall man"` → (`"Bob"`, `Some("A tall man")`); `"Bob"` → (`"Bob"`, `None`).
pub fn split_eq(args: &str) -> (&str, Option<&str>) {
    match args.split_once('=') {
        Some((lhs, rhs)) => (lhs.trim(), Some(rhs.trim())),
        None => (args.trim(), None),
    }
}

/// Split a `name-N` multimatch suffix (Evennia's SEARCH_MULTIMATCH_REGEX): `"ball-2"` →
/// (`"ball"`, `Some(2)`); `"t-shirt"` → (`"t-shirt"`, `None`).
pub fn split_multimatch(query: &str) -> (&str, Option<usize>) {
    if let Some((name, number)) = query.rsplit_once('-') {
        if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = number.parse() {
                return (name, Some(n));
            }
        }
    }
    (query, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_quoted(s)
    }

    #[test]
    fn split_quoted_splits_name_and_password() {
        assert_eq!(split(" Anna c67jHL8p"), ["Anna", "c67jHL8p"]);
        assert_eq!(split("Anna   c67jHL8p  "), ["Anna", "c67jHL8p"]);
    }

    #[test]
    fn split_quoted_keeps_quoted_spaces() {
        assert_eq!(split(" \"Anna the Barbarian\" c67jHL8p"), ["Anna the Barbarian", "c67jHL8p"]);
        assert_eq!(split(" \"Anna B\" \"pass word\""), ["Anna B", "pass word"]);
    }

    #[test]
    fn split_quoted_puts_extra_words_in_the_password() {
        assert_eq!(split(" a b c"), ["a", "b c"]);
    }

    #[test]
    fn split_quoted_gives_wrong_counts_for_bad_input() {
        assert!(split("").is_empty());
        assert!(split("  \"\" ").is_empty());
        assert_eq!(split(" anna"), ["anna"]);
        assert_eq!(split(" \"a b\" c \"d\"").len(), 3);
    }

    #[test]
    fn switches_are_read_only_right_after_the_command_name() {
        assert_eq!(switches("/all"), (vec!["all".to_string()], ""));
        assert_eq!(
            switches("/All/quiet  some text "),
            (vec!["all".into(), "quiet".into()], "some text")
        );
        assert_eq!(switches(" /all"), (vec![], "/all"));
        assert_eq!(switches(" hello"), (vec![], "hello"));
        assert_eq!(switches("/"), (vec![], "/"));
    }

    #[test]
    fn split_eq_gives_lhs_and_rhs() {
        assert_eq!(split_eq(" Bob = A tall man "), ("Bob", Some("A tall man")));
        assert_eq!(split_eq(" Bob "), ("Bob", None));
        assert_eq!(split_eq("a=b=c"), ("a", Some("b=c")));
    }

    #[test]
    fn split_multimatch_reads_a_numeric_suffix() {
        assert_eq!(split_multimatch("ball-2"), ("ball", Some(2)));
        assert_eq!(split_multimatch("t-shirt-1"), ("t-shirt", Some(1)));
        assert_eq!(split_multimatch("t-shirt"), ("t-shirt", None));
        assert_eq!(split_multimatch("ball-"), ("ball-", None));
        assert_eq!(split_multimatch("ball"), ("ball", None));
    }
}
