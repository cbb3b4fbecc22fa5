//! `help` as Evennia's: the index of the caller's commands by help category merged with the
//! game's help topics (Markdown files in the `help` folder, found while the game runs),
//! a topic entry, suggestions for a misspelt topic, and a locked topic hidden from a Player.

use crate::support;

use support::{Client, Host, GAME};

async fn answer(c: &mut Client, line: &str, needle: &str) -> String {
    c.send_text(line).await;
    c.expect_text(needle).await
}

/// Write a topic file into the game's help folder (made if missing).
fn write_topic(host: &Host, file: &str, text: &str) {
    let dir = host.dir.path().join("help");
    std::fs::create_dir_all(&dir).unwrap();
    // Written beside and renamed, as an editor saves: `help` never sees half a file.
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, dir.join(file)).unwrap();
}

const BUILDING: &str = "---\nkey: Building basics\naliases: building, build\ncategory: Building\n---\n\nDig rooms with |wdig|n and link them with exits.\n";
const SECRETS: &str = "---\nkey: Staff secrets\ncategory: Staff\nlocks: read:perm(Builder)\n---\n\nThe pebble is a lie.\n";

#[tokio::test]
async fn help_lists_commands_by_category_and_finds_a_topic_file_added_while_the_game_runs() {
    let host = Host::start(&[GAME, &["comms"]].concat(), "");
    let mut ann = host.player_from("Ann", "127.26.0.1").await;
    let index = answer(&mut ann, "help", "-- General ---").await;
    assert!(index.contains("-- Comms ---") && index.contains("channel"), "{index}");
    assert!(!index.contains("Game & World"), "no topics yet: {index}");

    write_topic(&host, "building.md", BUILDING);
    let index = answer(&mut ann, "help", "Game & World").await;
    let (commands, topics) = index.split_once("Game & World").unwrap();
    assert!(commands.contains(" Commands ") && commands.contains("-- Comms ---"), "{index}");
    assert!(topics.contains("Building basics"), "{index}");
    let entry = answer(&mut ann, "help build", "Help for").await;
    assert!(entry.contains("Help for Building basics (aliases: building, build)"), "{entry}");
    assert!(entry.contains("Dig rooms with dig and link them with exits."), "{entry}");
    // A category lists its entries.
    let category = answer(&mut ann, "help comms", "-- Comms ---").await;
    assert!(category.contains("channel") && !category.contains("-- General"), "{category}");
}

#[tokio::test]
async fn a_misspelt_topic_gets_evennias_suggestions() {
    let host = Host::start(&[GAME, &["comms"]].concat(), "");
    write_topic(&host, "building.md", BUILDING);
    let mut ann = host.player_from("Ann", "127.26.1.1").await;
    let none = answer(&mut ann, "help chanel", "No help found").await;
    assert!(none.contains("There is no help topic matching 'chanel'."), "{none}");
    assert!(none.contains("Other topic suggestions:\nchannel"), "{none}");
    let topic = answer(&mut ann, "help bulding", "No help found").await;
    assert!(topic.contains("Building basics"), "{topic}");
}

#[tokio::test]
async fn a_locked_topic_is_hidden_from_a_player_and_shown_to_a_builder() {
    let host = Host::start(&[GAME, &["comms"]].concat(), "");
    write_topic(&host, "building.md", BUILDING);
    write_topic(&host, "secrets.md", SECRETS);
    let mut root = host.player_from("Root", "127.26.2.1").await;
    let mut ann = host.player_from("Ann", "127.26.2.2").await;
    let index = answer(&mut ann, "help", "Game & World").await;
    assert!(!index.contains("Staff secrets"), "{index}");
    let refused = answer(&mut ann, "help staff secrets", "No help found").await;
    assert!(!refused.contains("pebble"), "{refused}");
    let index = answer(&mut root, "help", "Game & World").await;
    assert!(index.contains("Staff secrets") && index.contains("-- Staff ---"), "{index}");
    answer(&mut root, "perm Ann = Builder", "Permission 'Builder' given to Ann").await;
    let entry = answer(&mut ann, "help staff secrets", "Help for").await;
    assert!(entry.contains("The pebble is a lie."), "{entry}");
}

#[tokio::test]
async fn help_files_over_the_size_and_count_limits_are_skipped() {
    let host =
        Host::start(&[GAME, &["comms"]].concat(), "help_topic_bytes = 200\nhelp_max_topics = 2");
    write_topic(&host, "a.md", "---\nkey: Alpha\n---\nfirst");
    write_topic(&host, "b.md", &format!("---\nkey: Bravo\n---\n{}", "x".repeat(300)));
    write_topic(&host, "c.md", "---\nkey: Charlie\n---\nthird");
    write_topic(&host, "d.md", "---\nkey: Delta\n---\nfourth");
    let mut ann = host.player_from("Ann", "127.26.3.1").await;
    let index = answer(&mut ann, "help", "Game & World").await;
    // The first two files by name are read; b.md is too large; c.md and d.md are over the count.
    assert!(index.contains("Alpha"), "{index}");
    for skipped in ["Bravo", "Charlie", "Delta"] {
        assert!(!index.contains(skipped), "{skipped} in {index}");
    }
    assert!(host.log().contains("help_topic_bytes"), "the skip is logged");
}
