//! The key table's documentation as text: the commented file `mudhost init` writes and the
//! README's table, both made from the field doc comments of the `config!` list.

use super::Config;

impl Config {
    /// The documented default config file that `mudhost init` writes: every key, its meaning
    /// (its field's doc comment) and its default value.
    pub fn default_file_text() -> String {
        let defaults = toml::Table::try_from(Config::default()).expect("default config serialises");
        let mut out = String::from(
            "# mudhost game configuration. Every key is shown with its default value.\n\
             # Paths are relative to this file. CLI flags (--ws-addr, --modules, --data) override it.\n",
        );
        for (key, doc) in Config::KEYS {
            let value = defaults.get(*key).map(|v| v.to_string()).unwrap_or_default();
            out.push('\n');
            for line in wrap(&doc_text(doc), 98) {
                out.push_str(&format!("# {line}\n"));
            }
            out.push_str(&format!("{key} = {value}\n"));
        }
        out
    }

    /// The README's table of every key (key, default as TOML, meaning), from the same docs.
    pub fn markdown_table() -> String {
        let defaults = toml::Table::try_from(Config::default()).expect("default config serialises");
        let mut out = String::from("| key | default | meaning |\n|---|---|---|\n");
        for (key, doc) in Config::KEYS {
            let value = defaults.get(*key).map(|v| v.to_string()).unwrap_or_default();
            let doc = doc_text(doc).replace('|', "\\|");
            out.push_str(&format!("| `{key}` | `{value}` | {doc} |\n"));
        }
        out
    }
}

/// A key's doc comment as one line of text.
fn doc_text(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` in lines of at most `width` bytes (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_default_file_parses_back_to_the_defaults() {
        let cfg: Config = toml::from_str(&Config::default_file_text()).unwrap();
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn every_key_has_its_doc_and_default_in_the_file_init_writes() {
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        let mut keys: Vec<&str> = defaults.keys().map(String::as_str).collect();
        let mut documented: Vec<&str> = Config::KEYS.iter().map(|(k, _)| *k).collect();
        keys.sort();
        documented.sort();
        assert_eq!(keys, documented);
        let file = Config::default_file_text();
        for (key, doc) in Config::KEYS {
            let doc = doc_text(doc);
            // The default is written beside the field, not repeated in its doc.
            assert!(!doc.is_empty() && !doc.contains("Default "), "{key}: {doc:?}");
            let at = file.find(&format!("\n{key} = ")).unwrap_or_else(|| panic!("{key}"));
            let first_words: String = doc.split(' ').take(4).collect::<Vec<_>>().join(" ");
            assert!(file[..at].rfind(&first_words).is_some(), "{key}'s doc is above it");
        }
    }

    #[test]
    fn the_readme_config_table_is_the_one_the_field_docs_make() {
        // `MUDHOST_BLESS_README=1 cargo test -p mudhost --lib readme_config` rewrites it.
        const START: &str =
            "<!-- config-table: made from the field docs in host/src/config.rs -->\n";
        const END: &str = "<!-- config-table end -->";
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start =
            readme.find(START).expect("README has the config table's start marker") + START.len();
        let end = start + readme[start..].find(END).expect("README has the end marker");
        let table = Config::markdown_table();
        if std::env::var_os("MUDHOST_BLESS_README").is_some() {
            std::fs::write(&path, format!("{}{table}{}", &readme[..start], &readme[end..]))
                .unwrap();
            return;
        }
        assert!(
            readme[start..end] == table,
            "README.md's config table is stale: run MUDHOST_BLESS_README=1 cargo test -p mudhost \
             --lib readme_config"
        );
    }
}
