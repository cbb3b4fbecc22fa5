//! The world model: tags, aliases, searches by key, alias, kind and tag, typed attributes and
//! object locks, through the `worldtest` module's probe commands and the example game (`get`,
//! `examine`, exits, `ic`), with the limits refused naming their keys.

use crate::support;

use support::{Client, Host, GAME};

async fn answer(c: &mut Client, line: &str, needle: &str) -> String {
    c.send_text(line).await;
    c.expect_text(needle).await
}

fn world_game(extra: &str) -> Host {
    Host::start(
        &[GAME, &["worldtest"]].concat(),
        &format!(
            "cmdset_character = [\"character\", \"worldtest\"]\ncommand_rate_per_ip = 0\n{extra}"
        ),
    )
}

/// Root (the superuser) and Bob (a Player), each from an address of its own, in Limbo.
async fn root_and_bob(host: &Host) -> (Client, Client) {
    let root = host.player_from("Root", "127.41.1.1").await;
    let bob = host.player_from("Bob", "127.41.1.2").await;
    (root, bob)
}

#[tokio::test]
async fn tags_added_by_one_module_are_found_by_tag_search_and_shown_by_another_modules_examine() {
    let host = world_game("");
    let (mut root, _bob) = root_and_bob(&host).await;
    answer(&mut root, "garden", "The Garden").await;
    assert_eq!(answer(&mut root, "wtag pebble Flower Plants", "tagged").await, "tagged pebble");
    assert_eq!(answer(&mut root, "wtag box flower plants", "tagged").await, "tagged box");
    let pebble = answer(&mut root, "wfind pebble", "found").await;
    let pebble_id = pebble.trim_start_matches("found pebble: ").to_string();
    // Everywhere, by id; in a room, in contents order. Key and category ignore case.
    let all = answer(&mut root, "wfindtag flower plants", "tagged flower").await;
    assert!(all.contains(&pebble_id) && all.contains("box(#"), "{all}");
    assert_eq!(answer(&mut root, "wfindtag flower other", "tagged").await, "tagged flower: none");
    assert_eq!(
        answer(&mut root, "wtags pebble", "tags of").await,
        "tags of pebble: flower[plants]"
    );
    // The character module's `examine` shows what the worldtest module set.
    let exam = answer(&mut root, "examine pebble", "Name/key").await;
    assert!(exam.contains("Tags: flower[plants]"), "{exam}");
    // In Limbo there is no flower.
    answer(&mut root, "limbo", "Limbo").await;
    assert_eq!(
        answer(&mut root, "wfindtag flower plants here", "tagged").await,
        "tagged flower: none"
    );
    // Tags are stored with the world: a reload keeps them.
    root.send_text("reload").await;
    root.expect_text("Server restarted").await;
    assert_eq!(answer(&mut root, "wfindtag flower plants", "tagged flower").await, all);
    answer(&mut root, "garden", "The Garden").await;
    assert_eq!(
        answer(&mut root, "wuntag pebble flower plants", "untagged").await,
        "untagged pebble: true"
    );
    assert_eq!(
        answer(&mut root, "wuntag pebble flower plants", "untagged").await,
        "untagged pebble: false"
    );
    let after = answer(&mut root, "wfindtag flower plants", "tagged flower").await;
    assert!(!after.contains(&pebble_id) && after.contains("box(#"), "{after}");
}

#[tokio::test]
async fn an_object_is_found_by_its_alias_in_a_room_and_anywhere() {
    let host = world_game("");
    let (_root, mut bob) = root_and_bob(&host).await;
    answer(&mut bob, "garden", "The Garden").await;
    assert_eq!(answer(&mut bob, "wfind stone", "found").await, "found stone: none");
    assert_eq!(
        answer(&mut bob, "walias pebble Grey Stone", "aliases").await,
        "aliases of pebble: Grey Stone"
    );
    // Anywhere (an index lookup), any case; and in the room, as `get` searches it.
    assert!(answer(&mut bob, "wfind grey stone", "found")
        .await
        .starts_with("found grey stone: pebble(#"));
    assert_eq!(answer(&mut bob, "get GREY STONE", "pick up").await, "You pick up pebble.");
    // The statue came with an alias from the example game.
    assert_eq!(answer(&mut bob, "get marble statue", "get").await, "You can't get that.");
}

#[tokio::test]
async fn search_by_kind_and_by_tag_within_a_location_finds_only_what_is_there() {
    let host = world_game("");
    let (mut root, _bob) = root_and_bob(&host).await;
    answer(&mut root, "wtag here lit", "tagged").await;
    answer(&mut root, "garden", "The Garden").await;
    answer(&mut root, "wtag here lit", "tagged").await;
    answer(&mut root, "wtag statue lit", "tagged").await;
    let rooms = answer(&mut root, "wfindtag lit - ", "tagged lit").await;
    assert!(rooms.contains("Limbo(#") && rooms.contains("The Garden(#"), "{rooms}");
    // Inside the garden: only the statue (the garden itself is not inside itself).
    let here = answer(&mut root, "wfindtag lit - here", "tagged lit").await;
    assert!(here.starts_with("tagged lit: statue(#") && !here.contains(','), "{here}");
    let exits = answer(&mut root, "wkind exit here", "kind exit").await;
    assert!(exits.contains("limbo(#") && !exits.contains("garden(#"), "{exits}");
    let things = answer(&mut root, "wkind THING here", "kind").await;
    assert!(things.contains("box(#") && things.contains("pebble(#") && things.contains("statue(#"));
    let rooms = answer(&mut root, "wkind room", "kind room").await;
    assert!(rooms.contains("Limbo(#") && rooms.contains("The Tower(#"), "{rooms}");
}

#[tokio::test]
async fn a_typed_attribute_round_trips_and_invalid_json_is_refused() {
    let host = world_game("");
    let (_root, mut bob) = root_and_bob(&host).await;
    answer(&mut bob, "garden", "The Garden").await;
    let set =
        answer(&mut bob, r#"wsetj pebble stats combat {"dmg": [2, 6], "magic": false}"#, "set")
            .await;
    assert_eq!(set, "set stats on pebble");
    assert_eq!(
        answer(&mut bob, "wgetj pebble stats combat", "stats =").await,
        r#"stats = {"dmg":[2,6],"magic":false} (as a string: none)"#
    );
    // The default category's typed values read back through the old string import as JSON, and
    // its strings are the plain attributes.
    answer(&mut bob, "wsetj pebble weight - 3.5", "set").await;
    assert_eq!(
        answer(&mut bob, "wgetj pebble weight", "weight =").await,
        "weight = 3.5 (as a string: 3.5)"
    );
    answer(&mut bob, r#"wsetj pebble colour - "grey""#, "set").await;
    assert_eq!(
        answer(&mut bob, "wgetj pebble colour", "colour =").await,
        r#"colour = "grey" (as a string: grey)"#
    );
    // Invalid JSON: refused, and the old value is kept.
    let bad = answer(&mut bob, r#"wsetj pebble stats combat {"dmg": [2, 6"#, "refused").await;
    assert!(bad.starts_with("attribute refused (invalid): the value is not valid JSON"), "{bad}");
    assert!(answer(&mut bob, "wgetj pebble stats combat", "stats =")
        .await
        .contains(r#""dmg":[2,6]"#));
    let deep = answer(&mut bob, "wsetbig pebble deep depth 40", "refused").await;
    assert_eq!(
        deep,
        "attribute refused (quota): the attribute value nests deeper than guest_json_depth (32)"
    );
    let big = answer(&mut bob, "wsetbig pebble big bytes 70000", "refused").await;
    assert_eq!(
        big,
        "attribute refused (quota): the attribute value is over guest_attr_value_bytes (65536 bytes)"
    );
}

#[tokio::test]
async fn examine_lists_an_objects_attributes_for_a_builder_and_is_not_a_players_command() {
    let host = world_game("");
    let (mut root, mut bob) = root_and_bob(&host).await;
    answer(&mut bob, "garden", "The Garden").await;
    let refused = answer(&mut bob, "examine statue", "Command").await;
    assert!(refused.starts_with("Command 'examine statue' is not available."), "{refused}");
    answer(&mut root, "perm Bob = Builder", "Permission").await;
    answer(&mut bob, "wsetj statue height stats 3", "set").await;
    let exam = answer(&mut bob, "examine statue", "Name/key").await;
    let lines: Vec<&str> = exam.lines().collect();
    assert!(lines[0].chars().all(|c| c == '-') && lines.last() == Some(&lines[0]), "{exam}");
    assert!(lines[1].starts_with("Name/key: statue (#"), "{exam}");
    for want in [
        "Aliases: marble statue",
        "Location: The Garden (#",
        "Locks: get:false(); control:perm(Developer)",
        "Tags: heavy[weight]",
        "Persistent Attributes: ",
        "  desc=A marble statue of a gardener",
        "  height[stats]=3 [type: int]",
    ] {
        assert!(exam.lines().any(|l| l.starts_with(want)), "{want:?} in\n{exam}");
    }
    // A room: its exits, characters and things.
    let room = answer(&mut bob, "examine", "Name/key").await;
    assert!(room.contains("Exits: limbo(#") && room.contains("Characters: Bob(#"), "{room}");
    // A thing carrying a cmdset: the box lends `open`/`look`.
    let boxed = answer(&mut bob, "examine box", "Name/key").await;
    assert!(boxed.lines().any(|l| l.starts_with("Stored Cmdset(s): box")), "{boxed}");
}

#[tokio::test]
async fn get_statue_is_refused_and_the_pebble_is_still_gettable() {
    let host = world_game("");
    let (_root, mut bob) = root_and_bob(&host).await;
    answer(&mut bob, "garden", "The Garden").await;
    assert_eq!(answer(&mut bob, "get statue", "get").await, "You can't get that.");
    assert_eq!(
        answer(&mut bob, "waccess statue get", "access").await,
        "access get to statue: false"
    );
    assert_eq!(
        answer(&mut bob, "waccess pebble get", "access").await,
        "access get to pebble: true"
    );
    assert_eq!(answer(&mut bob, "get pebble", "pick up").await, "You pick up pebble.");
    // A lock reading the accessor: only someone tagged a gardener may take the statue.
    answer(&mut bob, "wlock statue get:tag(gardener, job)", "locks").await;
    assert_eq!(answer(&mut bob, "get statue", "get").await, "You can't get that.");
    answer(&mut bob, "wtag me gardener job", "tagged").await;
    assert_eq!(answer(&mut bob, "get statue", "pick up").await, "You pick up statue.");
}

#[tokio::test]
async fn an_exit_locked_with_traverse_false_refuses_passage_to_players_but_not_the_superuser() {
    let host = world_game("");
    let (mut root, mut bob) = root_and_bob(&host).await;
    let locks = answer(&mut root, "wlock garden traverse:false()", "locks").await;
    assert!(locks.starts_with("locks of garden: traverse:false()"), "{locks}");
    // Typing the exit (the host checks before the game's traversal runs) and `go` (the game's
    // own command asks `access`).
    assert_eq!(answer(&mut bob, "garden", "go there").await, "You cannot go there.");
    assert_eq!(answer(&mut bob, "go garden", "go there").await, "You cannot go there.");
    assert!(answer(&mut root, "garden", "The Garden").await.starts_with("The Garden"));
    answer(&mut root, "limbo", "Limbo").await;
    // The exit's own refusal text (Evennia's `err_traverse`).
    answer(&mut root, r#"wsetj garden err_traverse - "The path is overgrown.""#, "set").await;
    assert_eq!(answer(&mut bob, "garden", "overgrown").await, "The path is overgrown.");
    assert_eq!(answer(&mut bob, "go garden", "overgrown").await, "The path is overgrown.");
    // The exit's aliases name its command too.
    answer(&mut root, "wlock garden traverse:perm(Builder)", "locks").await;
    answer(&mut root, "walias garden path", "aliases").await;
    assert_eq!(answer(&mut bob, "path", "overgrown").await, "The path is overgrown.");
    answer(&mut root, "perm Bob = Builder", "Permission").await;
    assert!(answer(&mut bob, "path", "The Garden").await.starts_with("The Garden"));
}

#[tokio::test]
async fn a_character_whose_puppet_lock_is_false_cannot_be_puppeted_by_its_owner() {
    let host = world_game("");
    let (_root, mut bob) = root_and_bob(&host).await;
    answer(&mut bob, "wlock me puppet:false()", "locks").await;
    bob.send_text("ooc").await;
    bob.expect_text("You go OOC").await;
    assert_eq!(
        answer(&mut bob, "ic Bob", "permission").await,
        "You don't have permission to puppet 'Bob'."
    );
}

#[tokio::test]
async fn a_failed_command_leaves_no_tag_alias_lock_or_attribute_behind() {
    let host = world_game("");
    let (_root, mut bob) = root_and_bob(&host).await;
    answer(&mut bob, "garden", "The Garden").await;
    answer(&mut bob, "wtagfail pebble shiny", "untrapped error").await;
    assert_eq!(answer(&mut bob, "wtags pebble", "tags of").await, "tags of pebble: ");
    assert_eq!(answer(&mut bob, "wfind shiny", "found").await, "found shiny: none");
    assert_eq!(answer(&mut bob, "wfindtag shiny", "tagged").await, "tagged shiny: none");
    assert_eq!(
        answer(&mut bob, "waccess pebble get", "access").await,
        "access get to pebble: true"
    );
    assert_eq!(
        answer(&mut bob, "wgetj pebble shiny failing", "shiny =").await,
        "shiny = none (as a string: none)"
    );
}

/// The world limits' configuration for [`limits_refused`].
const LIMITS: &str = "world_tags_per_object = 2\nworld_tag_bytes = 8\nworld_aliases_per_object = 1\nworld_lock_bytes = 40";

/// Go over each world limit, name a missing object and write an unreadable lock, as Bob; the
/// refusals as the worldtest module shows them, in order (and Root, still connected).
async fn limits_refused(host: &Host) -> (Vec<String>, Client) {
    let (root, mut bob) = root_and_bob(host).await;
    answer(&mut bob, "garden", "The Garden").await;
    answer(&mut bob, "wtag pebble a", "tagged").await;
    answer(&mut bob, "wtag pebble b", "tagged").await;
    // Tagging it again is not a new tag.
    assert_eq!(answer(&mut bob, "wtag pebble a", "tag").await, "tagged pebble");
    let mut refusals = vec![
        answer(&mut bob, "wtag pebble c", "refused").await,
        answer(&mut bob, "wtag box abcdefghi", "refused").await,
    ];
    answer(&mut bob, "walias pebble stone", "aliases").await;
    for line in [
        "walias pebble rock",
        "wlock pebble get:perm(Builder) or perm(Admin) or id(1)",
        "wlock pebble get:frobnicate()",
        "wtag #99999 shiny",
    ] {
        refusals.push(answer(&mut bob, line, "refused").await);
    }
    assert!(answer(&mut bob, "wlock pebble get:not all()", "locks")
        .await
        .starts_with("locks of pebble: get:not all()"));
    assert_eq!(answer(&mut bob, "get pebble", "get").await, "You can't get that.");
    (refusals, root)
}

#[tokio::test]
async fn tag_alias_and_lock_limits_are_refused_naming_their_config_keys() {
    let host = world_game(LIMITS);
    // The module matches on the refusal's case (`host-error`), not on its text.
    assert_eq!(
        limits_refused(&host).await.0,
        [
            "tag refused (quota): the object already has world_tags_per_object (2) tags",
            "tag refused (quota): a tag key or category is over world_tag_bytes (8 bytes)",
            "alias refused (quota): the object already has world_aliases_per_object (1) aliases",
            "lock refused (quota): the lock string is over world_lock_bytes (40 bytes)",
            "lock refused (invalid): Lock: get: unknown lock function 'frobnicate()'",
            "tag refused (not found): no object #99999",
        ]
    );
}

/// The worldtest module as built against WIT 0.3.0 (`tests/fixtures/worldtest_0_3_0.wasm`),
/// before refusals became `host-error`: it gets each refusal as the very text it got then.
#[tokio::test]
async fn a_module_built_against_wit_0_3_0_gets_each_refusal_as_the_text_it_got() {
    let host = Host::start_prepared(
        GAME,
        &format!(
            "cmdset_character = [\"character\", \"worldtest\"]\ncommand_rate_per_ip = 0\n{LIMITS}"
        ),
        &[],
        |dir| {
            let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/worldtest_0_3_0.wasm");
            std::fs::copy(fixture, dir.join("modules/worldtest.wasm")).unwrap();
        },
    );
    let (refusals, mut root) = limits_refused(&host).await;
    assert_eq!(
        refusals,
        [
            "tag refused: quota: the object already has world_tags_per_object (2) tags",
            "tag refused: quota: a tag key or category is over world_tag_bytes (8 bytes)",
            "alias refused: quota: the object already has world_aliases_per_object (1) aliases",
            "lock refused: quota: the lock string is over world_lock_bytes (40 bytes)",
            "lock refused: Lock: get: unknown lock function 'frobnicate()'",
            "tag refused: no object #99999",
        ]
    );
    let report = answer(&mut root, "modules", "Modules:").await;
    let line =
        report.lines().find(|l| l.starts_with("worldtest ")).unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains("WIT 0.3.0"), "{line}");
}

/// A failure of the database inside an import (here a trigger refusing one row, as a full disk
/// or a failing disk would refuse any) is the host's, not a refusal: it ends the command, which
/// is undone, and the player sees the usual short message, never the database's text.
#[tokio::test]
async fn a_database_failure_in_an_import_ends_the_command_instead_of_reaching_the_module() {
    let host = world_game("");
    let (_root, mut bob) = root_and_bob(&host).await;
    answer(&mut bob, "garden", "The Garden").await;
    let db = rusqlite::Connection::open(host.dir.path().join("data/game.sqlite3")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER failing_disk BEFORE INSERT ON tags WHEN NEW.key = 'boom' \
         BEGIN SELECT RAISE(ABORT, 'injected database failure'); END;",
    )
    .unwrap();
    drop(db);
    bob.send_text("wtag pebble boom").await;
    let mut seen = vec![];
    while !seen.last().is_some_and(|t: &String| t.contains("untrapped error")) {
        seen.push(bob.next_text().await.expect("connection open"));
    }
    assert_eq!(seen, ["An untrapped error occurred."]);
    assert_eq!(answer(&mut bob, "wtags pebble", "tags of").await, "tags of pebble: ");
    // Other tags are written as ever.
    assert_eq!(answer(&mut bob, "wtag pebble shiny", "tag").await, "tagged pebble");
}

/// The host checks an exit's `traverse` lock itself: the example character module as built
/// against WIT 0.2.0 knows nothing of locks, and its exit command still never runs for a player
/// the lock holds.
#[tokio::test]
async fn the_host_holds_a_player_at_a_locked_exit_even_when_the_games_exit_command_checks_nothing()
{
    let host = Host::start_prepared(
        &["unloggedin", "account", "worldtest"],
        "cmdset_character = [\"character_0_2_0\", \"worldtest\"]\ncommand_rate_per_ip = 0",
        &[],
        |dir| {
            let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/character_0_2_0.wasm");
            std::fs::copy(fixture, dir.join("modules/character_0_2_0.wasm")).unwrap();
        },
    );
    let (mut root, mut bob) = root_and_bob(&host).await;
    answer(&mut root, "wlock garden traverse:false()", "locks").await;
    assert_eq!(answer(&mut bob, "garden", "go there").await, "You cannot go there.");
    assert!(answer(&mut bob, "look", "Limbo").await.starts_with("Limbo"));
    assert!(answer(&mut root, "garden", "The Garden").await.starts_with("The Garden"));
}
