//! Object classes (Evennia's typeclasses): the example game's gardener (greets arrivals, answers
//! hello, looks his own way), hooks that refuse a move or a traversal with their message, a hook
//! that traps or overruns (the whole command is undone: nothing half done), the depth and fan-out
//! bounds, and the look after `ic`, which shows the room even where an object lends its own
//! `look`. The `objtest` class does what the attributes it is given say (see its module).

use crate::support;

use support::{fresh_loopback, Client, Host};

/// The example game with the box and the gardener.
const GAME: &[&str] = &["unloggedin", "account", "character", "box", "gardener"];
/// The example game with the test class.
const TEST: &[&str] = &["unloggedin", "account", "character", "objtest"];

/// The test class's commands are every account's.
const OBJTEST: &str = "cmdset_account = [\"account\", \"objtest\"]";

const UNTRAPPED: &str = "An untrapped error occurred.";

/// A player of its own address.
async fn player(host: &Host, name: &str) -> Client {
    host.player_from(name, &fresh_loopback().to_string()).await
}

/// Send a line; every text received until one containing `needle` (included, last).
async fn texts_until(c: &mut Client, line: &str, needle: &str) -> Vec<String> {
    c.send_text(line).await;
    let mut texts = vec![];
    loop {
        let t = c.next_text().await.unwrap_or_else(|| panic!("closed; got {texts:?}"));
        let done = t.contains(needle);
        texts.push(t);
        if done {
            return texts;
        }
    }
}

/// Send a line and wait for the text containing `needle`.
async fn answer(c: &mut Client, line: &str, needle: &str) -> String {
    c.send_text(line).await;
    c.expect_text(needle).await
}

/// Everything `c` receives until the answer to a `look` (in Limbo): what reached it before.
async fn until_look(c: &mut Client) -> Vec<String> {
    texts_until(c, "look", "Limbo").await
}

#[tokio::test]
async fn the_gardener_nods_at_arrivals_answers_hello_and_shows_his_own_appearance() {
    let host = Host::start(GAME, "");
    let mut bob = player(&host, "Bob").await;
    let mut anna = player(&host, "Anna").await;
    let arrived = texts_until(&mut bob, "garden", "Roses climb").await;
    assert!(arrived.contains(&"The gardener nods at Bob.".to_string()), "{arrived:?}");
    assert!(arrived.last().unwrap().contains("Characters: gardener"), "{arrived:?}");

    let arrived = texts_until(&mut anna, "go garden", "Roses climb").await;
    assert!(arrived.contains(&"The gardener nods at Anna.".to_string()), "{arrived:?}");
    assert_eq!(bob.expect_text("nods at").await, "The gardener nods at Anna.");

    let said = texts_until(&mut anna, "say Well, hello there!", "The gardener says").await;
    assert_eq!(said, ["You say, \"Well, hello there!\"", "The gardener says, \"Hello, Anna.\""]);
    assert_eq!(bob.expect_text("Anna says").await, "Anna says, \"Well, hello there!\"");
    assert_eq!(bob.expect_text("gardener says").await, "The gardener says, \"Hello, Anna.\"");

    // Other talk gets no answer: nothing from him before the next answer.
    let quiet = texts_until(&mut anna, "say Lovely roses.", "You say").await;
    assert_eq!(quiet, ["You say, \"Lovely roses.\""]);
    // `l`: in the garden, `look` is also the box's (a multimatch).
    let look = answer(&mut anna, "l gardener", "gardener").await;
    assert_eq!(
        look,
        "gardener\nA weathered old gardener in a straw hat, pruning the roses.\nHe looks up from \
         the roses and smiles at you."
    );
    let heard = bob.expect_text("Lovely").await;
    assert_eq!(heard, "Anna says, \"Lovely roses.\"", "{:?}", bob.seen);
}

#[tokio::test]
async fn ic_where_an_object_lends_its_own_look_shows_the_room_not_a_multimatch() {
    let host = Host::start(GAME, "");
    let mut anna = player(&host, "Anna").await;
    answer(&mut anna, "garden", "Roses climb").await;
    // The box lends a `look`: typed here, `look` is a multimatch.
    answer(&mut anna, "look", "More than one match").await;
    answer(&mut anna, "ooc", "You go OOC").await;
    let back = texts_until(&mut anna, "ic Anna", "The Garden").await;
    assert!(back.iter().all(|t| !t.contains("More than one match")), "{back:?}");
    let room = back.last().unwrap();
    assert!(room.starts_with("The Garden\nRoses climb"), "{room}");
    assert!(room.contains("You see: box, pebble, and statue"), "{room}");
}

#[tokio::test]
async fn a_class_hook_refuses_a_move_with_its_message_and_nothing_moves() {
    let host = Host::start(TEST, OBJTEST);
    let mut anna = player(&host, "Anna").await;
    let done = answer(&mut anna, "objclassify me=refuse_move:Your feet are stuck.", "Class").await;
    assert_eq!(done, "Classified Anna.");
    assert_eq!(answer(&mut anna, "garden", "feet").await, "Your feet are stuck.");
    assert!(answer(&mut anna, "look", "Limbo").await.starts_with("Limbo"));
    // A thing that refuses to be taken.
    answer(&mut anna, "objspawn rock=refuse_move:The rock will not budge.", "Spawned").await;
    assert_eq!(answer(&mut anna, "objmove rock", "rock").await, "The rock will not budge.");
    assert!(answer(&mut anna, "look", "Limbo").await.contains("You see: rock"));
}

#[tokio::test]
async fn an_exit_whose_pre_traverse_hook_refuses_keeps_the_traveller_where_they_are() {
    let host = Host::start(TEST, OBJTEST);
    let mut anna = player(&host, "Anna").await;
    let mut bob = player(&host, "Bob").await;
    answer(&mut anna, "objclassify tower=refuse_traverse:The stair is roped off.", "Class").await;
    assert_eq!(answer(&mut anna, "tower", "stair").await, "The stair is roped off.");
    assert_eq!(answer(&mut anna, "up", "stair").await, "The stair is roped off.");
    assert_eq!(answer(&mut anna, "go tower", "stair").await, "The stair is roped off.");
    assert!(answer(&mut anna, "look", "Limbo").await.starts_with("Limbo"));
    // Another exit is not bound to the class: it lets her through.
    assert!(answer(&mut anna, "garden", "The Garden").await.starts_with("The Garden"));
    let seen = until_look(&mut bob).await;
    assert!(seen.iter().all(|t| !t.contains("heading for The Tower")), "{seen:?}");
}

#[tokio::test]
async fn the_source_hears_the_leave_hook_and_the_destination_the_traverse_hook() {
    let host = Host::start(TEST, OBJTEST);
    let mut anna = player(&host, "Anna").await;
    let mut bob = player(&host, "Bob").await;
    answer(&mut anna, "objclassify here=announce_leave:1", "Class").await;
    answer(&mut anna, "objclassify garden=announce_traverse:1", "Class").await;
    let went = texts_until(&mut anna, "garden", "Roses climb").await;
    assert!(went.contains(&"Anna came through garden.".to_string()), "{went:?}");
    assert!(!went.iter().any(|t| t.contains("leaves")), "she has left: {went:?}");
    assert_eq!(bob.expect_text("leaves").await, "Anna leaves Limbo.");
}

#[tokio::test]
async fn a_hook_that_traps_or_overruns_undoes_the_whole_move_and_the_mover_sees_an_error() {
    let host = Host::start(TEST, OBJTEST);
    let mut anna = player(&host, "Anna").await;
    let mut bob = player(&host, "Bob").await;
    answer(&mut anna, "objclassify The Garden=trap_on_receive:1", "Class").await;
    answer(&mut anna, "objclassify The Tower=spin_on_receive:1", "Class").await;
    // The garden's `at_object_receive` panics; the tower's never returns (the deadline ends it).
    for exit in ["garden", "tower"] {
        assert_eq!(answer(&mut anna, exit, "error").await, UNTRAPPED);
        // Not moved, not half moved: still in Limbo, and the room heard nothing of it.
        let look = answer(&mut anna, "look", "Limbo").await;
        assert!(look.starts_with("Limbo") && look.contains("Characters: Bob"), "{look}");
        let seen = until_look(&mut bob).await;
        assert!(seen.iter().all(|t| !t.contains("Anna is leaving")), "{seen:?}");
    }
    // Without the hook's fault the same exit works.
    answer(&mut anna, "objclassify The Garden=trap_on_receive:", "Class").await;
    assert_eq!(answer(&mut anna, "garden", "error").await, UNTRAPPED, "still bound: traps");
}

/// Two echoes that answer each other twice: echo1 hears the say (hook 1) and echoes, echo2 hears
/// that (hook 2, inside hook 1) and echoes, echo1 hears that (hook 3) and stops.
async fn echo_chain(depth: usize) -> (Vec<String>, Vec<String>) {
    let host = Host::start(TEST, &format!("{OBJTEST}\nobjclass_max_depth = {depth}"));
    let mut anna = player(&host, "Anna").await;
    let mut bob = player(&host, "Bob").await;
    answer(&mut anna, "objspawn echo1=echo:2", "Spawned").await;
    answer(&mut anna, "objspawn echo2=echo:2", "Spawned").await;
    anna.send_text("say hi").await;
    let said = anna.next_text().await.expect("an answer");
    (vec![said], until_look(&mut bob).await)
}

#[tokio::test]
async fn hooks_nested_past_objclass_max_depth_fail_the_command_as_a_whole() {
    // Three nested hooks are within a depth of 3: the say and both echoes are heard.
    let (said, seen) = echo_chain(3).await;
    assert_eq!(said, ["You say, \"hi\""]);
    let expected = [
        "Anna says, \"hi\"",
        "echo1 echoes: Anna says, \"hi\"",
        "echo2 echoes: echo1 echoes: Anna says, \"hi\"",
    ];
    assert_eq!(&seen[..3], expected, "{seen:?}");
    // With a depth of 2, the third hook is refused: the say and its echoes are undone together.
    let (said, seen) = echo_chain(2).await;
    assert_eq!(said, [UNTRAPPED]);
    assert!(seen.iter().all(|t| !t.contains("says") && !t.contains("echoes")), "{seen:?}");
}

#[tokio::test]
async fn a_room_message_reaches_at_most_objclass_max_fanout_classed_objects() {
    let host = Host::start(TEST, &format!("{OBJTEST}\nobjclass_max_fanout = 2"));
    let mut anna = player(&host, "Anna").await;
    let mut bob = player(&host, "Bob").await;
    for key in ["l1", "l2", "l3"] {
        answer(&mut anna, &format!("objspawn {key}=listen:1"), "Spawned").await;
    }
    answer(&mut anna, "say ping", "You say").await;
    let seen = until_look(&mut bob).await;
    let heard: Vec<&String> = seen.iter().filter(|t| t.ends_with("hears.")).collect();
    assert_eq!(heard, ["l1 hears.", "l2 hears."], "{seen:?}");
    assert!(seen.contains(&"Anna says, \"ping\"".to_string()), "{seen:?}");
}
