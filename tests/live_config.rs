//! Live config: `reload` (the command and the in-game one) reads `mudhost.toml` again. Keys the
//! server reads (cmdset slots, input hooks, the idle timeout, …) apply with every player still
//! connected; a broken file refuses the reload and says why while the game goes on; keys only a
//! full restart can apply are named.

use crate::support;

use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use support::{mudhost_bin, Client, Host, GAME};

/// The modules of these games: the example game, plus `trouble` (its `echoback` answers a
/// command) and `hooktest` (its `hi` becomes `say hello`), loaded but in no slot at first.
const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble", "hooktest"];

/// Clients here send commands back to back: the command and frame rates are off for them.
const UNTHROTTLED: &str = "command_rate = 0\ncommand_rate_per_ip = 0\n\
    inbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0";

/// Rewrite the game's config with `changes` (TOML) merged over what it holds.
fn change_config(host: &Host, changes: &str) {
    let path = host.config_path();
    let mut cfg: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    cfg.extend(toml::from_str::<toml::Table>(changes).expect("changes are TOML"));
    std::fs::write(&path, cfg.to_string()).unwrap();
}

/// Run `mudhost <args> --config <game>`, whatever its exit status.
fn cli_output(host: &Host, args: &[&str]) -> Output {
    std::process::Command::new(mudhost_bin())
        .args(args)
        .arg("--config")
        .arg(host.config_path())
        .output()
        .expect("run mudhost")
}

/// The next text that is not the portal's restart notices or other players' comings, goings and
/// speech.
async fn answer(c: &mut Client, name: &str) -> String {
    loop {
        let t = c.next_text().await.unwrap_or_else(|| panic!("{name} was disconnected"));
        let chatter = t.contains("Server restart")
            || t.contains("Server restarted")
            || t.ends_with("has entered the game.")
            || t.contains("has left the game")
            || t.contains(" says, \"");
        if !chatter {
            return t;
        }
    }
}

/// Ask until `echoback` answers (commands sent while the server restarts wait in the portal and
/// run on the new server, with the new config).
async fn echo(c: &mut Client, name: &str, tag: &str) -> String {
    c.send_text(&format!("echoback {tag}")).await;
    answer(c, name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_a_cmdset_module_an_input_hook_and_the_idle_timeout_with_twenty_players_connected(
) {
    let host = Host::start(MODULES, UNTHROTTLED);
    // The first account is the superuser (never idle-timed-out); Sleepy is a player who will
    // only wait.
    let mut root = host.player("Root").await;
    let mut sleepy = host.player("Sleepy").await;
    let mut players = vec![];
    for i in 0..20 {
        players.push(host.player(&format!("Live{i}")).await);
    }
    let before = echo(&mut root, "Root", "before").await;
    assert!(
        before.starts_with("Command 'echoback") && before.contains("is not available"),
        "{before}"
    );

    change_config(
        &host,
        "cmdset_character = [\"character\", \"trouble\"]\ninput_hooks = [\"hooktest\"]\n\
         idle_timeout_secs = 4",
    );
    let said = host.cli(&["reload", "new", "config"]);
    assert_eq!(
        said, "reloading; config applied: cmdset_character, idle_timeout_secs, input_hooks",
        "the reload names what it applied"
    );

    // Every player: the new command answers, the new hook rewrites, nobody was disconnected;
    // they keep playing (so they are not idle) until Sleepy has been timed out.
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = vec![];
    for (i, mut c) in players.into_iter().enumerate() {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("Live{i}");
            assert_eq!(echo(&mut c, &name, "first").await, "echoback v1: first", "{name}");
            c.send_text("hi").await;
            assert_eq!(answer(&mut c, &name).await, "You say, \"hello\"", "{name}");
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let tag = format!("{name}-{n}");
                assert_eq!(echo(&mut c, &name, &tag).await, format!("echoback v1: {tag}"));
                n += 1;
            }
            c
        }));
    }
    // The idle timeout now applies: the player who only waits is closed with Evennia's reason.
    let (_, reason) = sleepy.expect_close_reason().await;
    assert_eq!(reason, "idle timeout exceeded");
    stop.store(true, Ordering::Relaxed);
    let mut still = vec![];
    for t in tasks {
        still.push(t.await.expect("a player task failed (disconnected or a wrong answer)"));
    }
    // All twenty are still connected and answered after the sweep.
    for (i, c) in still.iter_mut().enumerate() {
        let name = format!("Live{i}");
        assert_eq!(echo(c, &name, "last").await, "echoback v1: last", "{name}");
    }
    assert_eq!(echo(&mut root, "Root", "root").await, "echoback v1: root");
}

#[tokio::test]
async fn a_broken_mudhost_toml_at_reload_keeps_the_game_running_with_the_old_config_and_says_why() {
    let host = Host::start(MODULES, "");
    let mut root = host.player("Root").await;
    let mut bob = host.player("Bob").await;
    let pid = host.server_pid();
    let good = std::fs::read_to_string(host.config_path()).unwrap();
    // A slot list left open: not TOML.
    std::fs::write(
        host.config_path(),
        format!("{good}\ncmdset_character = [\"character\", \"trouble\"\n"),
    )
    .unwrap();

    let out = cli_output(&host, &["reload"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "mudhost reload must fail: {stderr}");
    assert!(stderr.contains("reload refused: invalid config"), "{stderr}");
    assert!(stderr.contains("mudhost.toml"), "the file is named: {stderr}");
    assert!(stderr.contains("The game goes on with the old config"), "{stderr}");

    // The in-game reload says the same to the superuser who asked.
    root.send_text("reload").await;
    let told = answer(&mut root, "Root").await;
    assert!(told.starts_with("Reload refused: invalid config"), "{told}");
    assert!(told.contains("The game goes on with the old config"), "{told}");

    // Nobody was disconnected, the old slots still serve.
    let refused = echo(&mut bob, "Bob", "x").await;
    assert!(
        refused.starts_with("Command 'echoback") && refused.contains("is not available"),
        "{refused}"
    );
    bob.send_text("say still here").await;
    assert_eq!(answer(&mut bob, "Bob").await, "You say, \"still here\"");

    // A value out of range is refused the same way.
    std::fs::write(host.config_path(), format!("{good}\nmultisession_mode = 9\n")).unwrap();
    let out = cli_output(&host, &["reload"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("multisession_mode"), "{stderr}");

    // Fixed, it applies; the server was not restarted before. The in-game reload tells the
    // superuser what it applied.
    std::fs::write(host.config_path(), good).unwrap();
    assert_eq!(host.server_pid(), pid, "no restart while the file was broken");
    change_config(&host, "cmdset_character = [\"character\", \"trouble\"]");
    root.send_text("reload").await;
    assert_eq!(answer(&mut root, "Root").await, "Reloading; config applied: cmdset_character.");
    assert_eq!(echo(&mut bob, "Bob", "now").await, "echoback v1: now");
}

#[tokio::test]
async fn a_changed_restart_only_key_is_named_at_reload_in_one_log_line_and_in_status() {
    let host = Host::start(GAME, "");
    let mut bob = host.player("Bob").await;
    change_config(&host, "max_connections = 7\nserver_name = \"Elsewhere\"\nmax_nr_characters = 2");
    let said = host.cli(&["reload"]);
    assert_eq!(
        said,
        "reloading; config applied: max_nr_characters; needs a restart (mudhost stop, then \
         start) to apply: max_connections, server_name"
    );
    let status = host.cli(&["status"]);
    assert!(
        status.ends_with(
            "needs a restart (mudhost stop, then start) to apply: max_connections, server_name"
        ),
        "{status}"
    );
    let log = host.log();
    let lines: Vec<&str> =
        log.lines().filter(|l| l.contains("take effect only after a full restart")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("max_connections, server_name"), "{}", lines[0]);
    // The player stayed through it.
    bob.send_text("say ok").await;
    assert_eq!(answer(&mut bob, "Bob").await, "You say, \"ok\"");
}
