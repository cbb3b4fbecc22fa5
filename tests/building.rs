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
    let host = Host::start(MODULES, "");
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
    ] {
        let got = answer(&mut carl, line, "Command").await;
        assert!(got.starts_with("Command '") && got.contains("is not available"), "{line}: {got}");
    }
    // The help index: one text (a Player's commands are all in one category, so no header).
    let help = carl.ask("help").await;
    assert!(help.contains("look") && help.contains("say"), "{help}");
    assert!(!help.contains("dig") && !help.contains("spawn"), "{help}");
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
