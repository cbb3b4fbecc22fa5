//! Help topics from the game's help folder (`help_dir`, Evennia's file-based help entries): one
//! Markdown file per topic, with optional front matter
//!
//! ```text
//! ---
//! key: Building basics
//! aliases: build, builder
//! category: Building
//! locks: read:perm(Builder)
//! ---
//! The text ...
//! ```
//!
//! The folder is looked at whenever `help-topics` is called, so a file added or edited while the
//! game runs is found without a reload (hot-reloaded like modules): each file's size and mtime
//! are compared with what was read last time and only changed files are read again. Bounded:
//! at most `help_max_topics` files, each at most `help_topic_bytes`, only regular files, opened
//! non-blocking (a FIFO cannot hold the game thread).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::SystemTime;

use crate::cmd::CmdLock;
use crate::config::Config;

/// One help topic.
#[derive(Debug, Clone)]
pub struct Topic {
    /// The topic's name (front matter `key`, else the file's name without `.md`).
    pub key: String,
    /// Other names (front matter `aliases`, comma- or semicolon-separated, or `[a, b]`).
    pub aliases: Vec<String>,
    /// Help category (front matter `category`, default "General").
    pub category: String,
    /// The Markdown after the front matter.
    pub text: String,
    /// Who may read it (front matter `locks`: `read:` or `view:` lock functions; none = all).
    pub lock: CmdLock,
}

/// The topics read so far, by file name, with the size and mtime they were read at.
#[derive(Default)]
pub struct HelpCache {
    files: HashMap<String, (u64, Option<SystemTime>, Topic)>,
    /// The topics in key order, rebuilt when a file changed.
    sorted: Vec<Topic>,
    /// Skips already logged (bounded: one per file name and limit).
    warned: std::collections::HashSet<String>,
}

impl std::fmt::Debug for HelpCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HelpCache({} topics)", self.sorted.len())
    }
}

impl HelpCache {
    /// The folder's topics now, in key order.
    pub fn topics(&mut self, cfg: &Config) -> &[Topic] {
        let dir = &cfg.help_dir;
        let mut seen: Vec<(String, u64, Option<SystemTime>)> = Vec::new();
        let mut warnings = Vec::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            // The entry's own metadata (a stat relative to the open folder); a symlink is
            // followed with a stat of its path.
            let mut entries: Vec<(String, std::fs::Metadata)> = rd
                .take(cfg.help_max_topics.saturating_mul(4).max(16))
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    if !name.ends_with(".md") || name.starts_with('.') {
                        return None;
                    }
                    let meta = match e.file_type().ok()?.is_symlink() {
                        true => std::fs::metadata(e.path()).ok()?,
                        false => e.metadata().ok()?,
                    };
                    meta.is_file().then_some((name, meta))
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            if entries.len() > cfg.help_max_topics {
                warnings.push(format!(
                    "more than help_max_topics ({}) help files in {}; the rest are skipped",
                    cfg.help_max_topics,
                    dir.display()
                ));
                entries.truncate(cfg.help_max_topics);
            }
            for (name, meta) in entries {
                if meta.len() > cfg.help_topic_bytes {
                    warnings.push(format!(
                        "help file {name} is over help_topic_bytes ({} bytes); skipped",
                        cfg.help_topic_bytes
                    ));
                    continue;
                }
                seen.push((name, meta.len(), meta.modified().ok()));
            }
        }
        // Each skip is logged once, not at every `help`.
        if self.warned.len() > 1024 {
            self.warned.clear();
        }
        for w in warnings {
            if self.warned.insert(w.clone()) {
                tracing::warn!("{w}");
            }
        }
        let mut changed = seen.len() != self.files.len();
        let mut files = HashMap::with_capacity(seen.len());
        for (name, len, mtime) in seen {
            match self.files.remove(&name) {
                Some(entry) if entry.0 == len && entry.1 == mtime && mtime.is_some() => {
                    files.insert(name, entry);
                }
                _ => {
                    changed = true;
                    if let Some(t) = read_topic(&dir.join(&name), &name, cfg.help_topic_bytes) {
                        files.insert(name, (len, mtime, t));
                    }
                }
            }
        }
        changed |= !self.files.is_empty();
        self.files = files;
        if changed {
            let mut sorted: Vec<Topic> = self.files.values().map(|(_, _, t)| t.clone()).collect();
            sorted.sort_by_key(|t| t.key.to_lowercase());
            self.sorted = sorted;
        }
        &self.sorted
    }
}

/// Read one topic file (non-blocking, at most `max` bytes); None if unreadable or too large.
fn read_topic(path: &Path, name: &str, max: u64) -> Option<Topic> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 > max {
        tracing::warn!(file = %name, "help file over help_topic_bytes ({max} bytes); skipped");
        return None;
    }
    let text = String::from_utf8_lossy(&bytes);
    Some(parse_topic(&text, name.trim_end_matches(".md")))
}

/// Parse a topic's front matter and text.
pub fn parse_topic(text: &str, default_key: &str) -> Topic {
    let mut topic = Topic {
        key: default_key.to_string(),
        aliases: vec![],
        category: "General".into(),
        text: text.trim().to_string(),
        lock: CmdLock::parse("cmd:all()"),
    };
    let t = text.trim_start_matches('\u{feff}');
    let Some(rest) = t.strip_prefix("---\n").or_else(|| t.strip_prefix("---\r\n")) else {
        return topic;
    };
    let Some(end) = rest.find("\n---") else { return topic };
    let (front, body) = (&rest[..end], &rest[end + 4..]);
    topic.text = body.trim_start_matches(['-']).trim().to_string();
    for line in front.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let v = v.trim().trim_matches('"');
        match k.trim().to_lowercase().as_str() {
            "key" if !v.is_empty() => topic.key = v.to_string(),
            "category" if !v.is_empty() => topic.category = v.to_string(),
            "aliases" => {
                topic.aliases = v
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split([',', ';'])
                    .map(|a| a.trim().trim_matches('"').to_string())
                    .filter(|a| !a.is_empty())
                    .collect()
            }
            "locks" => topic.lock = read_lock(v),
            _ => {}
        }
    }
    topic
}

/// The `read:` (else `view:`) part of a help entry's lock string as a lock; a string with
/// neither part locks nothing.
fn read_lock(locks: &str) -> CmdLock {
    let parts: Vec<(&str, &str)> = locks
        .split(';')
        .filter_map(|p| p.split_once(':'))
        .map(|(t, f)| (t.trim(), f.trim()))
        .collect();
    let body = parts
        .iter()
        .find(|(t, _)| *t == "read")
        .or_else(|| parts.iter().find(|(t, _)| *t == "view"))
        .map(|(_, f)| *f)
        .unwrap_or("all()");
    CmdLock::parse(&format!("cmd:{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::LockCaller;

    #[test]
    fn front_matter_gives_key_aliases_category_and_lock() {
        let t = parse_topic(
            "---\nkey: Building basics\naliases: [build, builder]\ncategory: Building\nlocks: view:all();read:perm(Builder)\n---\n\nDig rooms.\n",
            "file",
        );
        assert_eq!(t.key, "Building basics");
        assert_eq!(t.aliases, ["build", "builder"]);
        assert_eq!(t.category, "Building");
        assert_eq!(t.text, "Dig rooms.");
        assert!(!t.lock.allows(&LockCaller { superuser: false, permission: Some("Player") }));
        assert!(t.lock.allows(&LockCaller { superuser: false, permission: Some("Admin") }));
    }

    #[test]
    fn a_file_without_front_matter_is_named_after_the_file() {
        let t = parse_topic("Just text.", "rules");
        assert_eq!(
            (t.key.as_str(), t.category.as_str(), t.text.as_str()),
            ("rules", "General", "Just text.")
        );
    }
}

/// Figures, not checks of behaviour: `cargo test -p mudhost --lib measure_ -- --ignored --nocapture`.
#[cfg(test)]
mod measure {
    #[test]
    #[ignore]
    fn measure_help_folder() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..1000 {
            std::fs::write(
                dir.path().join(format!("t{i:04}.md")),
                format!("---\nkey: Topic {i}\ncategory: C{}\n---\n{}", i % 10, "text ".repeat(200)),
            )
            .unwrap();
        }
        let cfg = crate::config::Config { help_dir: dir.path().into(), ..Default::default() };
        let mut cache = super::HelpCache::default();
        let t = std::time::Instant::now();
        assert_eq!(cache.topics(&cfg).len(), 1000);
        let first = t.elapsed();
        let t = std::time::Instant::now();
        for _ in 0..100 {
            assert_eq!(cache.topics(&cfg).len(), 1000);
        }
        eprintln!(
            "MEASURE help 1000 files: first read {first:?}, unchanged re-check {:?} per call",
            t.elapsed() / 100
        );
    }
}
