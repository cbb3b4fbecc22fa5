//! Building the world from inside the game: the `builder` module's commands (Evennia's texts),
//! used by an account the superuser made a Builder; prototypes spawned from the game's
//! prototypes folder, edited while the game runs; no builder command for a Player; hostile sizes
//! refused with a text.

use crate::support;

use support::{Client, Host};

/// The example game with the builder commands in the character slot (the default config).
const MODULES: &[&str] = &["unloggedin", "account", "character", "builder"];

async fn answer(c: &mut Client, line: &str, needle: &str) -> String {
    c.send_text(line).await;
    c.expect_text(needle).await
}

/// The id shown after `name(` in a builder's text (`Orchard(#12)` → `#12`).
fn dbref(text: &str, name: &str) -> String {
    let start = text.find(&format!("{name}(#")).unwrap_or_else(|| panic!("no {name}(# in {text}"))
        + name.len()
        + 1;
    let end = text[start..].find(')').unwrap() + start;
    text[start..end].to_string()
}

/// The superuser (Root) and Bob, made a Builder by Root, both in Limbo.
async fn root_and_builder(host: &Host) -> (Client, Client) {
    let mut root = host.player_from("Root", "127.12.0.1").await;
    let bob = host.player_from("Bob", "127.12.0.2").await;
    assert_eq!(
        answer(&mut root, "perm Bob = Builder", "Permission").await,
        "Permission 'Builder' given to Bob (the Account)."
    );
    (root, bob)
}

#[tokio::test]
async fn a_builder_digs_a_room_with_exits_both_ways_opens_more_and_walks_them() {
    let host = Host::start(MODULES, "");
    let (_root, mut bob) = root_and_builder(&host).await;

    let dug = answer(&mut bob, "dig Orchard;orch = orchard;o, back;b", "Created room").await;
    let (room, to, back) = (dbref(&dug, "Orchard"), dbref(&dug, "orchard"), dbref(&dug, "back"));
    assert_eq!(
        dug,
        format!(
            "Created room Orchard({room}) (orch) of type room.\n\
             Created Exit from Limbo to Orchard: orchard({to}) (o).\n\
             Created Exit back from Orchard to Limbo: back({back}) (b)."
        )
    );
    // Both ways, by alias.
    let there = answer(&mut bob, "o", "Orchard").await;
    assert!(
        there.starts_with("Orchard\nThis is a room.") && there.contains("Exits: back"),
        "{there}"
    );
    assert!(answer(&mut bob, "b", "Limbo").await.starts_with("Limbo"));

    // `open` an exit and its way back to a room given by dbref.
    let shed = answer(&mut bob, "dig Shed", "Created room").await;
    assert_eq!(shed, format!("Created room Shed({}) of type room.", dbref(&shed, "Shed")));
    let shed = dbref(&shed, "Shed");
    bob.send_text(&format!("open shed door;sd, garden path;gp = {shed}")).await;
    assert_eq!(
        bob.expect_text("Created new Exit 'shed door'").await,
        "Created new Exit 'shed door' from Limbo to Shed (aliases: sd)."
    );
    assert_eq!(
        bob.expect_text("Created new Exit 'garden path'").await,
        "Created new Exit 'garden path' from Shed to Limbo (aliases: gp)."
    );
    assert!(answer(&mut bob, "sd", "Shed").await.starts_with("Shed\nThis is a room."));
    assert!(answer(&mut bob, "gp", "Limbo").await.starts_with("Limbo"));
    // By name, globally unique; again: nothing new.
    assert_eq!(
        answer(&mut bob, "open shed door = Shed", "Exit shed door").await,
        "Exit shed door already exists. It already points to the correct place."
    );
    assert_eq!(
        answer(&mut bob, "open shed door = Orchard", "Exit shed door").await,
        "Exit shed door already exists. Rerouted its old destination 'Shed' to 'Orchard' and changed aliases."
    );
    assert!(answer(&mut bob, "sd", "Orchard").await.starts_with("Orchard"));
    // Evennia's usage and search texts.
    assert!(answer(&mut bob, "dig", "Usage").await.starts_with("Usage: dig[/teleport] <roomname>"));
    assert_eq!(
        answer(&mut bob, "open north = Atlantis", "Could not").await,
        "Could not find 'Atlantis'."
    );
    let tel = answer(&mut bob, "dig/teleport Attic = up;u, down;d", "Created room").await;
    assert!(tel.contains("Created Exit from Orchard to Attic: up("), "{tel}");
    assert_eq!(bob.expect_text("Teleported").await, "Teleported to Attic.");
    assert!(answer(&mut bob, "d", "Orchard").await.starts_with("Orchard"));
}

#[tokio::test]
async fn a_builder_creates_describes_renames_sets_and_teleports_things() {
    let host = Host::start(MODULES, "");
    let (mut root, mut bob) = root_and_builder(&host).await;

    assert_eq!(
        answer(&mut bob, "create pebble;peb", "You create").await,
        "You create a new thing: pebble (aliases: peb)."
    );
    assert!(answer(&mut bob, "inventory", "carrying").await.contains("pebble"));
    assert_eq!(
        answer(&mut bob, "create/drop rock", "You create").await,
        "You create a new thing: rock."
    );
    assert!(answer(&mut root, "look", "Limbo").await.contains("You see: rock"));

    let set = answer(&mut bob, "desc rock = A mossy rock.", "description").await;
    assert_eq!(set, format!("The description was set on rock({}).", dbref(&set, "rock")));
    let rock = dbref(&set, "rock");
    assert_eq!(answer(&mut root, "look rock", "rock").await, "rock\nA mossy rock.");
    assert_eq!(
        answer(&mut bob, "name rock = boulder;bould", "name changed").await,
        "Object's name changed to 'boulder' (bould)."
    );
    assert_eq!(answer(&mut root, "look boulder", "boulder").await, "boulder\nA mossy rock.");
    assert_eq!(answer(&mut bob, "desc", "Usage").await, "Usage: desc [<obj> =] <description>");
    assert_eq!(
        answer(&mut bob, "name", "Usage").await,
        "Usage: name <obj> = <newname>[;alias;alias;...]"
    );

    // Typed values: JSON kept as JSON, anything else a string with Evennia's note.
    assert_eq!(
        answer(&mut bob, "set boulder/weight = 30", "attribute").await,
        "Created attribute boulder/weight [category:None] = 30"
    );
    assert_eq!(
        answer(&mut bob, "set boulder/weight = [1, 2]", "attribute").await,
        "Modified attribute boulder/weight [category:None] = [1, 2]"
    );
    assert_eq!(
        answer(&mut bob, "set boulder/weight", "Attribute").await,
        "Attribute boulder/weight [category:None] = [1,2]"
    );
    bob.send_text("set boulder/colour = grey").await;
    assert_eq!(
        bob.expect_text("Note").await,
        "Note: name \"grey\" was converted to a string. Make sure this is acceptable."
    );
    bob.expect_text("Created attribute boulder/colour").await;
    assert_eq!(
        answer(&mut bob, "set boulder/weight =", "attribute").await,
        "Deleted attribute boulder/weight [category:None]."
    );
    assert_eq!(
        answer(&mut bob, "set boulder/weight", "Attribute").await,
        "Attribute boulder/weight [category:None] does not exist."
    );

    // Teleport: self (by name), a thing (by dbref) with the rooms told, and back.
    answer(&mut bob, "dig Vault", "Created room").await;
    assert_eq!(answer(&mut bob, "tel Vault", "Teleported").await, "Teleported to Vault.");
    assert_eq!(
        root.expect_text("Bob is leaving").await,
        "Bob is leaving Limbo, heading for Vault."
    );
    assert_eq!(
        answer(&mut bob, &format!("tel {rock} to here"), "Teleported").await,
        "Teleported boulder -> Vault."
    );
    assert_eq!(
        root.expect_text("boulder is leaving").await,
        "boulder is leaving Limbo, heading for Vault."
    );
    assert!(answer(&mut bob, "look", "Vault").await.contains("You see: boulder"));
    assert_eq!(
        answer(&mut bob, "tel boulder = here", "already").await,
        "boulder is already at Vault."
    );
    assert_eq!(
        answer(&mut bob, "tel here = here", "itself").await,
        "You can't teleport an object inside of itself!"
    );
    assert_eq!(answer(&mut bob, "tel Limbo", "Teleported").await, "Teleported to Limbo.");
    assert_eq!(
        answer(&mut bob, "tel/tonone Root", "Cannot").await,
        "Cannot teleport a puppeted object (Root, puppeted by Root) to a None-location."
    );
}

#[tokio::test]
async fn destroy_refuses_the_caller_limbo_and_a_room_with_players_and_takes_a_rooms_exits_along() {
    let host = Host::start(MODULES, "");
    let (mut root, mut bob) = root_and_builder(&host).await;
    let dug = answer(&mut bob, "dig Orchard = orchard;o, back;b", "Created room").await;
    let orchard = dbref(&dug, "Orchard");
    answer(&mut bob, "create/drop apple", "You create").await;
    answer(&mut bob, &format!("tel apple = {orchard}"), "Teleported").await;

    assert_eq!(
        answer(&mut bob, "destroy me", "Object").await,
        "Object Bob is controlled by an active account. Use /override to delete anyway."
    );
    // The host never deletes a puppeted character, /override or not.
    assert_eq!(
        answer(&mut bob, "destroy/override Root", "Root").await,
        "ERROR: Root not deleted: That object is being puppeted."
    );
    assert!(answer(&mut bob, "destroy here", "DEFAULT_HOME")
        .await
        .starts_with("You are trying to delete Limbo, which is set as DEFAULT_HOME."));
    answer(&mut root, "o", "Orchard").await;
    assert_eq!(
        answer(&mut bob, &format!("destroy {orchard}"), "players").await,
        "Orchard has players in it (Root). They must leave before it can be destroyed."
    );
    answer(&mut root, "b", "Limbo").await;
    assert_eq!(
        answer(&mut bob, &format!("destroy {orchard}"), "destroyed").await,
        "Orchard was destroyed. Exits to and from Orchard were destroyed as well. \
         Objects inside Orchard were moved to Limbo."
    );
    let limbo = answer(&mut bob, "look", "Limbo").await;
    assert!(limbo.contains("You see: apple") && !limbo.contains("orchard"), "{limbo}");
    assert!(answer(&mut bob, "o", "Command").await.starts_with("Command 'o' is not available."));
    assert_eq!(answer(&mut bob, "destroy apple", "destroyed").await, "apple was destroyed.");
    assert_eq!(
        answer(&mut bob, "destroy apple", "Could not").await,
        "Could not find 'apple'.\n (Objects to destroy must either be local or specified with a unique #dbref.)"
    );
    assert!(answer(&mut bob, "destroy", "Usage").await.starts_with("Usage: destroy[/switches]"));
}

#[tokio::test]
async fn spawn_uses_prototypes_with_parents_and_a_prototype_edited_while_the_game_runs() {
    let host = Host::start(MODULES, "prototype_file_bytes = 1024");
    let protos = host.dir.path().join("prototypes");
    std::fs::create_dir_all(&protos).unwrap();
    std::fs::write(
        protos.join("goblin.toml"),
        "prototype_desc = \"A basic goblin\"\nprototype_tags = [\"mobs\"]\nkey = \"goblin\"\n\
         desc = \"A small goblin.\"\naliases = [\"gob\"]\nattrs = { hp = 10, mood = \"grumpy\" }\n",
    )
    .unwrap();
    std::fs::write(
        protos.join("chief.json"),
        r#"{"prototype_key": "goblin_chief", "prototype_parent": "goblin", "key": "goblin chief", "attrs": {"hp": 30}}"#,
    )
    .unwrap();
    let (mut root, mut bob) = root_and_builder(&host).await;

    let spawned = answer(&mut bob, "spawn goblin", "Spawned").await;
    assert_eq!(spawned, format!("Spawned goblin({}).", dbref(&spawned, "goblin")));
    assert_eq!(answer(&mut root, "look goblin", "goblin").await, "goblin\nA small goblin.");
    let chief = answer(&mut bob, "spawn GOBLIN_CHIEF", "Spawned").await;
    assert!(chief.starts_with("Spawned goblin chief(#"), "{chief}");
    assert_eq!(
        answer(&mut root, "look goblin chief", "goblin chief").await,
        "goblin chief\nA small goblin."
    );
    assert_eq!(
        answer(&mut bob, "set goblin chief/hp", "Attribute").await,
        "Attribute goblin chief/hp [category:None] = 30"
    );
    assert_eq!(
        answer(&mut bob, "set goblin chief/mood", "Attribute").await,
        "Attribute goblin chief/mood [category:None] = grumpy"
    );

    // Edited while the game runs: the next spawn uses the new text (and the child sees it too).
    std::fs::write(
        protos.join("goblin.toml"),
        "key = \"hobgoblin\"\ndesc = \"A hulking hobgoblin, freshly edited.\"\n",
    )
    .unwrap();
    assert!(answer(&mut bob, "spawn goblin", "Spawned").await.starts_with("Spawned hobgoblin(#"));
    assert_eq!(
        answer(&mut root, "look hobgoblin", "hobgoblin").await,
        "hobgoblin\nA hulking hobgoblin, freshly edited."
    );

    // Cycles, unknown keys, a file over the size limit: refused by name.
    std::fs::write(protos.join("a.toml"), "prototype_parent = \"b\"\n").unwrap();
    std::fs::write(protos.join("b.toml"), "prototype_parent = \"a\"\n").unwrap();
    std::fs::write(protos.join("huge.toml"), format!("desc = \"{}\"\n", "x".repeat(2000))).unwrap();
    assert_eq!(
        answer(&mut bob, "spawn a", "cycle").await,
        "Prototype 'a' has a cycle of parents: a -> b -> a."
    );
    assert_eq!(
        answer(&mut bob, "spawn dragon", "No prototype").await,
        "No prototype named 'dragon' was found.\nSome prototype files could not be used (spawn/list shows why)."
    );
    let list = answer(&mut bob, "spawn/list", "Key").await;
    for needle in ["goblin", "goblin_chief", "huge.toml: over prototype_file_bytes (1024 bytes)"] {
        assert!(list.contains(needle), "{needle} missing from:\n{list}");
    }
    assert!(answer(&mut bob, "look", "Limbo").await.contains("goblin"));
}

#[tokio::test]
async fn a_player_is_told_command_not_found_for_every_builder_command() {
    // One address types every line: no per-address rate limit in the way.
    let host = Host::start(
        MODULES,
        "command_rate = 0\ncommand_rate_per_ip = 0\ninbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0",
    );
    let mut root = host.player_from("Root", "127.12.1.1").await;
    let mut carl = host.player_from("Carl", "127.12.1.2").await;
    for line in [
        "dig Orchard = orchard, back",
        "@dig Orchard",
        "open north = #1",
        "create pebble",
        "desc A room.",
        "name here = Home",
        "rename here = Home",
        "destroy here",
        "delete here",
        "tel #1",
        "teleport #1",
        "set here/x = 1",
        "spawn goblin",
        "spawn/list",
        "tag here = x",
        "tag/search x",
        "lock here = get:all()",
        "lock/del here/get",
        "find Limbo",
        "locate Limbo",
    ] {
        let got = answer(&mut carl, line, "Command").await;
        assert!(got.starts_with("Command '") && got.contains("is not available"), "{line}: {got}");
    }
    // The character module's plain help list (no `comms` module here): none of them in it.
    let help = answer(&mut carl, "help", "look").await;
    for cmd in ["dig", "spawn", "tag", "lock", "find", "set"] {
        assert!(!help.split_whitespace().any(|w| w == cmd), "{cmd} in {help}");
    }
    // The superuser has them all.
    assert!(answer(&mut root, "create pebble", "You create").await.contains("pebble"));
}

#[tokio::test]
async fn hostile_sizes_are_refused_with_a_clear_text_and_the_builder_carries_on() {
    let host = Host::start(
        MODULES,
        "prototype_files = 4\nprototype_parent_depth = 2\nguest_objects_per_call = 50",
    );
    let protos = host.dir.path().join("prototypes");
    std::fs::create_dir_all(&protos).unwrap();
    // A chain longer than prototype_parent_depth.
    std::fs::write(protos.join("d1.toml"), "prototype_parent = \"d2\"\n").unwrap();
    std::fs::write(protos.join("d2.toml"), "prototype_parent = \"d3\"\n").unwrap();
    std::fs::write(protos.join("d3.toml"), "prototype_parent = \"d4\"\n").unwrap();
    std::fs::write(protos.join("d4.toml"), "key = \"deep\"\n").unwrap();
    let (_root, mut bob) = root_and_builder(&host).await;

    let long = "x".repeat(300);
    assert_eq!(
        answer(&mut bob, &format!("create {long}"), "too long").await,
        "The name is too long (over guest_name_bytes, 256 bytes)."
    );
    assert_eq!(
        answer(&mut bob, &format!("dig {long}"), "too long").await,
        "Error creating room: The name is too long (over guest_name_bytes, 256 bytes)."
    );
    assert_eq!(
        answer(&mut bob, "create Mallory:character", "charcreate").await,
        "Characters are made with charcreate, not built."
    );
    assert_eq!(
        answer(&mut bob, "create gem:sparkly-thing", "kind").await,
        "'sparkly-thing' is not a kind of object (letters, digits and _)."
    );
    assert!(answer(&mut bob, &format!("tel {long}"), "too long")
        .await
        .ends_with("is too long for a name (at most 256 bytes)."));
    assert!(answer(&mut bob, &format!("set here/{long} = 1"), "too long")
        .await
        .ends_with("is too long for a name (at most 256 bytes)."));
    assert_eq!(
        answer(&mut bob, "spawn d1", "Prototype").await,
        "Prototype 'd1' has more than prototype_parent_depth (2) parents in a chain."
    );
    assert!(answer(&mut bob, "spawn d2", "Spawned").await.starts_with("Spawned deep(#"));
    // One file more than prototype_files: the last by name is not read, and says so.
    std::fs::write(protos.join("e.toml"), "key = \"extra\"\n").unwrap();
    let list = answer(&mut bob, "spawn/list", "problems").await;
    assert!(list.contains("e.toml: not read: over prototype_files (4 files)"), "{list}");
    assert!(answer(&mut bob, "spawn e", "No prototype")
        .await
        .starts_with("No prototype named 'e'"));
    // A list of more objects than one command may create: created up to the quota, then told.
    let many = vec!["s"; 60].join(",");
    let made = answer(&mut bob, &format!("create {many}"), "You create").await;
    assert_eq!(made.matches("You create a new thing: s.").count(), 50, "{made}");
    assert!(made.ends_with("quota: objects created over guest_objects_per_call (50)"), "{made}");
    // Nothing was half-built and the builder carries on.
    assert_eq!(
        answer(&mut bob, "create pebble", "You create").await,
        "You create a new thing: pebble."
    );
}

// --- the builder on the world model: aliases, tags, locks, typed attributes, find ---------------

/// The superuser, Bob (a Builder) and Carl (a Player), all in Limbo.
async fn root_builder_and_player(host: &Host) -> (Client, Client, Client) {
    let (root, bob) = root_and_builder(host).await;
    let carl = host.player_from("Carl", "127.12.2.3").await;
    (root, bob, carl)
}

#[tokio::test]
async fn a_builder_tags_a_thing_and_finds_it_by_tag_by_alias_and_by_kind() {
    let host = Host::start(MODULES, "");
    let (_root, mut bob) = root_and_builder(&host).await;
    let made = answer(&mut bob, "create/drop rock;rk", "You create").await;
    assert_eq!(made, "You create a new thing: rock (aliases: rk).");
    let rock = dbref(&answer(&mut bob, "desc rk = A rock.", "description").await, "rock");

    assert_eq!(
        answer(&mut bob, "tag rock = mossy:texture", "tag").await,
        "Added tag 'mossy' (category: texture) to rock."
    );
    assert_eq!(answer(&mut bob, "tag rk = grey", "tag").await, "Added tag 'grey' to rock.");
    assert_eq!(
        answer(&mut bob, "tag rock", "rock").await,
        "Tags on rock: 'grey', 'mossy' (category: texture)"
    );
    assert_eq!(
        answer(&mut bob, "tag/search mossy:texture", "Found").await,
        format!("Found 1 object with tag 'mossy' (category: 'texture'):\n rock({rock})")
    );
    assert_eq!(
        answer(&mut bob, "tag/search mossy", "No objects").await,
        "No objects found with tag 'mossy'."
    );
    // By name or alias anywhere, by kind, by #dbref.
    let limbo = dbref(&answer(&mut bob, "find/room Limbo", "Match").await, "Limbo");
    answer(&mut bob, "dig Rk", "Created room").await;
    let both = answer(&mut bob, "find rk", "Matches").await;
    assert!(both.starts_with("2 Matches:\n   rock(#"), "{both}");
    assert!(both.contains(&format!("rock({rock}) - thing")) && both.contains("Rk(#"), "{both}");
    assert!(answer(&mut bob, "find/room rk", "Match")
        .await
        .starts_with("One Match(room):\n   Rk(#"));
    assert_eq!(
        answer(&mut bob, "find/exit rock", "Matches").await,
        "No Matches(exit):\n   No matches found for 'rock'"
    );
    assert_eq!(
        answer(&mut bob, &format!("locate {rock}"), "match").await,
        format!("Exact dbref match(loc):\n   rock({rock}) - thing (location: Limbo({limbo}))")
    );
    assert_eq!(
        answer(&mut bob, "find rock = x", "Invalid").await,
        "Invalid dbref range provided (not a number)."
    );
    // Untagged: no longer found.
    assert_eq!(
        answer(&mut bob, "tag/del rock = mossy:texture", "Removed").await,
        "Removed tag 'mossy' (category: texture) from rock."
    );
    assert_eq!(
        answer(&mut bob, "tag/search mossy:texture", "No objects").await,
        "No objects found with tag 'mossy (category: texture)'."
    );
    assert_eq!(
        answer(&mut bob, "tag/del rock", "Cleared").await,
        "Cleared all tags from rock: grey"
    );
    assert_eq!(answer(&mut bob, "tag rock", "No tags").await, "No tags attached to rock.");
    assert_eq!(
        answer(&mut bob, "tag", "Usage").await,
        "Usage: tag[/switches] <obj> [= <tag>[:<category>]]"
    );
}

#[tokio::test]
async fn a_builder_locks_a_thing_get_false_and_a_players_get_is_refused() {
    let host = Host::start(MODULES, "");
    let (_root, mut bob, mut carl) = root_builder_and_player(&host).await;
    answer(&mut bob, "create/drop gem", "You create").await;

    assert_eq!(
        answer(&mut bob, "lock gem = get:false()", "lock").await,
        "Added lock 'get:false()' to gem."
    );
    assert_eq!(answer(&mut carl, "get gem", "get").await, "You can't get that.");
    assert_eq!(answer(&mut bob, "lock gem/get", "get").await, "get:false()");
    assert!(answer(&mut bob, "lock gem", "get:").await.starts_with("get:false()\n"));
    // An unreadable lock string: the host's reason, and the lock as it was.
    let refused = answer(&mut bob, "lock gem = get:frobnicate()", "frobnicate").await;
    assert!(refused.contains("unknown lock function 'frobnicate()'"), "{refused}");
    assert_eq!(answer(&mut bob, "lock gem/get", "get").await, "get:false()");
    assert_eq!(
        answer(&mut bob, "lock gem/fly", "no lock").await,
        "gem has no lock of access type 'fly'."
    );
    assert_eq!(
        answer(&mut bob, "lock/del gem = get:all()", "Switch").await,
        "Switch(es) del can not be used with a lock assignment. Use e.g. lock/del objname/locktype instead."
    );
    assert_eq!(answer(&mut bob, "lock/del gem/get", "deleted").await, "deleted lock get:false()");
    assert_eq!(answer(&mut carl, "get gem", "pick").await, "You pick up gem.");
}

#[tokio::test]
async fn a_thing_created_with_an_alias_is_got_by_a_player_by_that_alias() {
    let host = Host::start(MODULES, "");
    let (_root, mut bob, mut carl) = root_builder_and_player(&host).await;
    answer(&mut bob, "create/drop pebble;peb", "You create").await;
    assert_eq!(answer(&mut carl, "get peb", "pick").await, "You pick up pebble.");
    // `name` adds aliases the same way.
    answer(&mut bob, "create/drop rock", "You create").await;
    answer(&mut bob, "name rock = boulder;bould", "name changed").await;
    assert_eq!(answer(&mut carl, "get bould", "pick").await, "You pick up boulder.");
    let ex = answer(&mut bob, "examine Carl", "Name/key").await;
    assert!(ex.contains("Content: pebble(#") && ex.contains("boulder(#"), "{ex}");
}

#[tokio::test]
async fn set_stores_a_typed_number_that_examine_shows_typed_and_set_alone_lists_attributes() {
    let host = Host::start(MODULES, "");
    let (_root, mut bob) = root_and_builder(&host).await;
    answer(&mut bob, "create/drop rock", "You create").await;
    answer(&mut bob, "set rock/weight = 30", "attribute").await;
    answer(&mut bob, "set rock/label = \"x\"", "attribute").await;
    assert_eq!(
        answer(&mut bob, "set rock/hp:stats = 5", "attribute").await,
        "Created attribute rock/hp [category:stats] = 5"
    );
    assert_eq!(
        answer(&mut bob, "set rock/hp:stats", "Attribute").await,
        "Attribute rock/hp [category:stats] = 5"
    );
    assert_eq!(
        answer(&mut bob, "set rock/hp", "Attribute").await,
        "Attribute rock/hp [category:None] does not exist."
    );
    let ex = answer(&mut bob, "examine rock", "Name/key").await;
    for line in ["weight=30 [type: int]", "label=x", "hp[stats]=5 [type: int]"] {
        assert!(ex.contains(line), "{line:?} in {ex}");
    }
    assert!(!ex.contains("label=x [type"), "{ex}");
    let all = answer(&mut bob, "set rock", "Attribute").await;
    for line in [
        "Attribute rock/label [category:None] = x",
        "Attribute rock/weight [category:None] = 30",
        "Attribute rock/hp [category:stats] = 5",
    ] {
        assert!(all.contains(line), "{line:?} in {all}");
    }
    // Too deep for guest_json_depth (32): refused, the old value kept; also when too deep for
    // the module's own JSON reader.
    for depth in [40, 300] {
        let deep = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(
            answer(&mut bob, &format!("set rock/weight = {deep}"), "depth").await,
            "quota: the attribute value nests deeper than guest_json_depth (32)"
        );
    }
    assert_eq!(
        answer(&mut bob, "set rock/weight", "Attribute").await,
        "Attribute rock/weight [category:None] = 30"
    );
}

#[tokio::test]
async fn spawn_gives_a_prototypes_tags_and_locks_as_real_ones_and_binds_its_object_class() {
    let host = Host::start(&["unloggedin", "account", "character", "builder", "gardener"], "");
    let protos = host.dir.path().join("prototypes");
    std::fs::create_dir_all(&protos).unwrap();
    std::fs::write(
        protos.join("idol.toml"),
        "key = \"idol\"\naliases = [\"statuette\"]\ntags = [\"treasure\", \"gold:metal\"]\n\
         locks = \"get:false()\"\nattrs = { weight = 3 }\n",
    )
    .unwrap();
    std::fs::write(protos.join("scarecrow.toml"), "key = \"gardener\"\ntypeclass = \"gardener\"\n")
        .unwrap();
    std::fs::write(protos.join("cursed.toml"), "key = \"cursed\"\nlocks = \"get:frobnicate()\"\n")
        .unwrap();
    let (_root, mut bob, mut carl) = root_builder_and_player(&host).await;

    let spawned = answer(&mut bob, "spawn idol", "Spawned").await;
    let idol = dbref(&spawned, "idol");
    assert_eq!(
        answer(&mut bob, "tag/search gold:metal", "Found").await,
        format!("Found 1 object with tag 'gold' (category: 'metal'):\n idol({idol})")
    );
    assert!(answer(&mut bob, "tag/search treasure", "Found").await.contains(&idol));
    assert_eq!(answer(&mut carl, "get statuette", "get").await, "You can't get that.");
    let ex = answer(&mut bob, "examine idol", "Name/key").await;
    assert!(ex.contains("weight=3 [type: int]") && ex.contains("Locks: get:false()"), "{ex}");

    // A loaded object class binds the spawned object, and examine shows it.
    answer(&mut bob, "spawn scarecrow", "Spawned gardener").await;
    let ex = answer(&mut bob, "examine gardener", "Name/key").await;
    assert!(ex.contains("Typeclass: gardener"), "{ex}");
    // The prototype's attributes are set after the class's creation hook (Evennia's spawner).
    assert!(ex.contains("prototype_key=scarecrow"), "{ex}");

    // A lock the host cannot read: refused with its reason, nothing left behind.
    let refused = answer(&mut bob, "spawn cursed", "cursed").await;
    assert!(refused.starts_with("Prototype 'cursed': "), "{refused}");
    assert!(refused.contains("unknown lock function 'frobnicate()'"), "{refused}");
    assert_eq!(
        answer(&mut bob, "find cursed", "Matches").await,
        "No Matches:\n   No matches found for 'cursed'"
    );
}
