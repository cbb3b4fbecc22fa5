//! The session class (Evennia's SERVER_SESSION_CLASS) through real websockets: its lifecycle
//! hooks (at-sync, at-login, at-disconnect) observed by the player, data-in and data-out per
//! session, its state kept in the session ndb through a server reload; and the chargen example in
//! MULTISESSION_MODE 2, where only the session in chargen has the chargen commands and prompt.

use crate::support;

use support::{Client, Host};

const GAME: &[&str] = &["unloggedin", "account", "character"];

async fn answer(c: &mut Client, line: &str, prefix: &str) -> String {
    c.send_text(line).await;
    c.expect_text(prefix).await
}

/// Whether any prompt frame has reached this client.
fn got_prompt(c: &Client) -> bool {
    c.seen.iter().any(|f| f[0] == "prompt")
}

#[tokio::test]
async fn the_session_class_sees_sync_login_and_disconnect_and_its_ndb_state_survives_a_reload() {
    let modules: Vec<&str> = GAME.iter().copied().chain(["classprobe"]).collect();
    let host = Host::start(&modules, "session_class = \"classprobe\"\nmultisession_mode = 1");
    let mut a = Client::connect_from(&host.url, "127.30.0.1").await;
    // at-sync runs before the connection screen, at-login before the puppeting texts.
    let synced = a.expect_text("probe: at-sync").await;
    a.expect_text("connect").await;
    assert!(synced.starts_with("probe: at-sync 1 (session "), "{synced}");
    let sessid: String = synced.trim_end_matches(')').rsplit(' ').next().unwrap().to_string();
    a.send_text("create Ann password123").await;
    a.expect_text("was created").await;
    a.send_text("connect Ann password123").await;
    assert_eq!(a.expect_text("probe: at-login").await, "probe: at-login Ann");
    a.expect_text("You become Ann.").await;

    // data-in: `shout` is the class's; data-out: the tag names the receiving session.
    assert_eq!(answer(&mut a, "shout hi", "You say").await, "You say, \"HI!\"");
    assert_eq!(
        answer(&mut a, "say [tagme]", "You say").await,
        format!("You say, \"[tagged for session {sessid}]\"")
    );

    // A second session of the account; when it goes, the first hears of it.
    let mut b = Client::connect_from(&host.url, "127.30.0.2").await;
    b.expect_text("probe: at-sync 1").await;
    b.send_text("connect Ann password123").await;
    b.expect_text("probe: at-login Ann").await;
    let b_id = {
        let t = b
            .seen
            .iter()
            .filter_map(|f| f[1][0].as_str())
            .find(|t| t.contains("probe: at-sync"))
            .map(str::to_owned);
        t.expect("b saw its at-sync").trim_end_matches(')').rsplit(' ').next().unwrap().to_string()
    };
    b.send_text("quit").await;
    // Output queued before the disconnect still arrives through data-out.
    let texts = b.expect_closed().await;
    assert!(
        texts.iter().any(|t| t.starts_with("Quitting. One session is still connected.")),
        "{texts:?}"
    );
    assert_eq!(
        a.expect_text("probe: at-disconnect").await,
        format!("probe: at-disconnect of session {b_id}")
    );

    // Ann is the superuser (the first account): reload; the class's count lives in the ndb.
    a.send_text("reload").await;
    // The restored session's at-sync comes in the server's first frame, before the portal's
    // "Server restarted".
    assert_eq!(
        a.expect_text("probe: at-sync").await,
        format!("probe: at-sync 2 (session {sessid})")
    );
    a.expect_text("Server restarted").await;
    assert_eq!(answer(&mut a, "shout again", "You say").await, "You say, \"AGAIN!\"");
}

#[tokio::test]
async fn chargen_runs_in_one_session_only_and_ends_puppeting_the_new_character() {
    let modules: Vec<&str> = GAME.iter().copied().chain(["chargen"]).collect();
    let host = Host::start(
        &modules,
        "session_class = \"chargen\"\nmultisession_mode = 2\nmax_nr_characters = 3\n\
         max_nr_simultaneous_puppets = 3\nauto_puppet_on_login = false",
    );
    host.create_from("Root", "127.30.1.9").await;
    host.create_from("Ann", "127.30.1.1").await;
    let mut a = host.login_from("Ann", "127.30.1.1").await;
    assert_eq!(answer(&mut a, "ic Ann", "You become").await.trim(), "You become Ann.");
    let mut b = host.login_from("Ann", "127.30.1.2").await;

    let started = answer(&mut b, "charcreate", "Character creation").await;
    assert!(started.contains("in this session only"), "{started}");
    assert_eq!(b.expect_oob("prompt").await[1][0], "[chargen: name]");
    // The other session of the same account has no chargen commands and no prompt.
    assert!(answer(&mut a, "name Zed", "Command")
        .await
        .starts_with("Command 'name Zed' is not available."));
    assert_eq!(
        answer(&mut b, "name Bea", "Name").await,
        "Name: Bea. Now describe your character: desc <text>."
    );
    assert_eq!(b.expect_oob("prompt").await[1][0], "[chargen: description]");
    b.send_text("desc A busy bee.").await;
    b.expect_text("Type confirm").await;
    assert_eq!(b.expect_oob("prompt").await[1][0], "[chargen: confirm]");
    b.send_text("confirm").await;
    assert_eq!(b.expect_text("Created new character").await, "Created new character Bea.");
    b.expect_text("You become Bea.").await;
    // Chargen is over: its commands are gone from b too.
    assert!(answer(&mut b, "confirm", "Command")
        .await
        .starts_with("Command 'confirm' is not available."));
    // a still plays Ann and never saw a chargen prompt.
    assert_eq!(answer(&mut a, "say still here", "You say").await, "You say, \"still here\"");
    assert!(!got_prompt(&a), "{:?}", a.seen);
}

#[tokio::test]
async fn chargen_state_survives_a_server_reload_mid_way() {
    let modules: Vec<&str> = GAME.iter().copied().chain(["chargen"]).collect();
    let host = Host::start(
        &modules,
        "session_class = \"chargen\"\nmultisession_mode = 2\nmax_nr_characters = 3\nmax_nr_simultaneous_puppets = 3",
    );
    host.create_from("Root", "127.30.2.9").await;
    let mut root = host.login_from("Root", "127.30.2.9").await;
    root.expect_text("You become Root.").await;
    root.send_text("charcreate").await;
    root.expect_text("Character creation").await;
    root.send_text("name Cy").await;
    root.expect_text("Name: Cy").await;
    root.send_text("reload").await;
    root.expect_text("Server restarted").await;
    // The chargen cmdset (on the session) and the answers so far (in its ndb) came back.
    root.send_text("desc Quiet.").await;
    assert_eq!(
        root.expect_text("Cy").await,
        "Cy: Quiet.\nType confirm to create this character, or abort."
    );
    root.send_text("confirm").await;
    root.expect_text("You become Cy.").await;
}
