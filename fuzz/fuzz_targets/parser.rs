//! Evennia's command parser over a cmdset shaped like the example game's (aliases, a one-character
//! alias, a switch-taking command, an arg_regex, system commands).
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use mudhost::cmd::{parser, CmdSet, CommandDef};

fn set() -> &'static CmdSet {
    static SET: OnceLock<CmdSet> = OnceLock::new();
    SET.get_or_init(|| {
        let module: Arc<str> = Arc::from("fuzz");
        let def = |key: &str, aliases: &[&str], regex: Option<&str>| {
            let aliases: Vec<String> = aliases.iter().map(|a| a.to_string()).collect();
            Arc::new(CommandDef::new(key, &aliases, "", "general", regex, "cmd:all()", module.clone()).expect("valid"))
        };
        let mut s = CmdSet::empty("fuzz");
        s.commands = vec![
            def("look", &["l", "ls"], None),
            def("say", &["\"", "'"], None),
            def("get", &[], Some(r"\s.+|$")),
            def("@dig", &["dig"], None),
            def("look at", &[], None),
            def("__nomatch_command", &[], None),
            def("__multimatch_command", &[], None),
        ];
        s
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let _ = parser::parse(input, set(), &|_| true);
    let _ = parser::parse(input, set(), &|c| c.key.len() % 2 == 0);
});
