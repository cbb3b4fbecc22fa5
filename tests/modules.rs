//! What a running game has loaded: `mudhost modules` and the superuser's in-game `modules` show
//! each module with its kind, slots, WIT version, hash, commands, load time and last error; a
//! module rejected at load shows its error; a player who is not a superuser has no `modules`.

use crate::support;

use support::{Host, GAME};

/// Not a component at all: rejected when the file is read and checked.
const NOT_WASM: &[u8] = b"this is not a wasm module";

#[tokio::test]
async fn mudhost_modules_lists_a_loaded_module_and_a_rejected_one_with_its_error() {
    let host =
        Host::start_prepared(GAME, "cmdset_character = [\"character\", \"broken\"]", &[], |dir| {
            std::fs::write(dir.join("modules/broken.wasm"), NOT_WASM).unwrap()
        });
    // Once a player is in, the server has loaded its modules.
    let mut root = host.player("Root").await;
    let report = host.cli(&["modules"]);
    let header = report.lines().next().unwrap();
    assert!(header.starts_with("modules of server pid "), "{report}");
    assert!(header.contains(&format!("pid {} as of 20", host.server_pid())), "{header}");

    let line = report
        .lines()
        .find(|l| l.starts_with("character "))
        .unwrap_or_else(|| panic!("no character line: {report}"));
    let hash = line.split(' ').nth(1).unwrap();
    assert!(hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    for part in [
        "(cmdset, ",
        "WIT 0.4.0): cmdset ",
        "commands (",
        " look,",
        "; slots: cmdset_character; loaded 20",
        " UTC",
    ] {
        assert!(line.contains(part), "{part:?} not in {line}");
    }
    assert!(!line.contains("last error"), "{line}");
    let account = report.lines().find(|l| l.starts_with("account ")).unwrap();
    assert!(account.contains("slots: cmdset_account"), "{account}");

    let rejected = report
        .lines()
        .find(|l| l.starts_with("REJECTED ") && l.contains("broken.wasm"))
        .unwrap_or_else(|| panic!("no rejected line: {report}"));
    assert!(rejected.contains("slots: cmdset_character"), "{rejected}");
    assert!(
        rejected.len() > "REJECTED broken.wasm; slots: cmdset_character".len() + 20,
        "{rejected}"
    );
    assert!(report.lines().last().unwrap().contains("rejected 1"), "{report}");

    // The superuser's in-game `modules` shows the same lines.
    root.send_text("modules").await;
    let shown = root.expect_text("Modules:").await;
    assert!(shown.lines().any(|l| l == line), "{shown}");
    assert!(shown.lines().any(|l| l == rejected), "{shown}");

    // A broken update of a loaded module: the old version serves, its line shows the error.
    std::fs::write(host.modules_dir().join("account.wasm"), NOT_WASM).unwrap();
    let deadline = std::time::Instant::now() + support::WAIT;
    let account = loop {
        let report = host.cli(&["modules"]);
        let account = report.lines().find(|l| l.starts_with("account ")).unwrap().to_string();
        if account.contains("; last error: ") {
            break account;
        }
        assert!(std::time::Instant::now() < deadline, "the failed update never showed: {report}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(account.contains("account.wasm"), "{account}");
    assert!(account.contains("compile failed"), "{account}");
    assert!(!host
        .cli(&["modules"])
        .lines()
        .any(|l| l.starts_with("REJECTED") && l.contains("account.wasm")));
    root.send_text("modules").await;
    let shown = root.expect_text("Modules:").await;
    assert!(shown.lines().any(|l| l == account), "the old account module still serves: {shown}");
}

#[tokio::test]
async fn a_player_who_is_not_a_superuser_has_no_modules_command() {
    let host = Host::start(GAME, "");
    // The first account created is the superuser; Bob is a player.
    let _root = host.player("Root").await;
    let mut bob = host.player("Bob").await;
    let answer = bob.ask("modules").await;
    assert!(
        answer.starts_with("Command 'modules") && answer.contains("is not available"),
        "{answer}"
    );
}
