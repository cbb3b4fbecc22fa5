//! Python guests (componentize-py modules against the same WIT): they load at start and by hot
//! reload and answer over a websocket, their failures are undone like a Rust module's, a Python
//! input hook rewrites lines, the connection screen is served while a Python module still
//! compiles, and a Python module is hot-swapped under 50 clients without a lost command.
//!
//! A Python module's code takes most of a minute to compile, so the tests that are not about
//! compiling share one compile cache (`module_cache_dir`) and compile each module once per run.

use crate::support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{fresh_loopback, guest, Client, Host};

/// How long a test waits for a Python module that may still be compiling (once per run, on a
/// loaded machine).
const COMPILE_WAIT: Duration = Duration::from_secs(600);

/// The config every test here uses: Python modules get the memory their runtime needs and a
/// deadline a loaded test machine meets (a fresh Python instance takes ~11 ms to make), and the
/// clients (50 from their own addresses, back to back) are not held to the command rates.
fn config(extra: &str) -> String {
    format!(
        "guest_module_memory_mib = {{ pyhello = 128, pysay = 128, pyhook = 128, pytrouble = 128, pyclass = 128 }}\n\
         guest_module_deadline_ms = {{ pyhello = 1000, pysay = 1000, pyhook = 1000, pytrouble = 1000, pyclass = 1000 }}\n\
         command_rate = 0\ncommand_rate_per_ip = 0\ninbound_frames_per_sec = 0\n\
         inbound_frames_per_sec_per_ip = 0\n{extra}"
    )
}

/// The shared compile cache, and the start-up load waiting for every module (so "loaded at
/// start" means the start-up load installed it).
fn shared_cache() -> String {
    let dir = support::guest_dir().join("../test-module-cache");
    std::fs::create_dir_all(&dir).unwrap();
    format!(
        "module_cache_dir = {:?}\nmodule_background_compile_bytes = 1000000000\n",
        dir.canonicalize().unwrap().display().to_string()
    )
}

/// Connect and wait (long: the start-up load may be compiling a Python module) for the
/// connection screen. Reads the raw frames: the harness's reads give up after `support::WAIT`.
async fn patient_screen(host: &Host) -> Client {
    use futures_util::StreamExt;
    let mut c = Client::connect_from(&host.url, fresh_loopback()).await;
    loop {
        let frame = tokio::time::timeout(COMPILE_WAIT, c.ws.next())
            .await
            .expect("no connection screen in time")
            .expect("connection closed")
            .expect("websocket error");
        if frame.to_text().is_ok_and(|t| t.contains("connect")) {
            return c;
        }
    }
}

/// A player puppeting its character in a game whose character slot has no `look` (the host's
/// look after puppeting then shows nothing).
async fn player_without_look(host: &Host, name: &str) -> Client {
    let mut c = Client::connect_from(&host.url, fresh_loopback()).await;
    c.expect_text("connect").await;
    c.send_text(&format!("create {name} password123")).await;
    c.expect_text("was created").await;
    c.send_text(&format!("connect {name} password123")).await;
    c.expect_oob("logged_in").await;
    c.expect_text(&format!("You become {name}")).await;
    c
}

/// Ask `line` until an answer contains `needle` (the module may still be compiling or loading).
async fn ask_until(c: &mut Client, line: &str, needle: &str) -> String {
    let deadline = Instant::now() + COMPILE_WAIT;
    loop {
        let a = c.ask(line).await;
        if a.contains(needle) {
            return a;
        }
        assert!(Instant::now() < deadline, "{line:?} never answered {needle:?}: last {a:?}");
    }
}

/// Publish a module by writing it beside the folder and renaming it into place.
fn publish(host: &Host, src: &str, name: &str) {
    let tmp = host.dir.path().join(format!("{name}.wasm.part"));
    std::fs::copy(guest(src), &tmp).unwrap();
    std::fs::rename(&tmp, host.modules_dir().join(format!("{name}.wasm"))).unwrap();
}

#[tokio::test]
async fn a_python_cmdset_loaded_at_start_answers_its_command_and_its_say_speaks_to_the_room() {
    // Only the Python sets are the characters' (the Rust `character` module builds the world),
    // so the `say` that answers is the Python port.
    let host = Host::start(
        &["unloggedin", "account", "character", "pyhello", "pysay"],
        &config(&format!("{}cmdset_character = [\"pyhello\", \"pysay\"]", shared_cache())),
    );
    drop(patient_screen(&host).await);
    let mut anna = player_without_look(&host, "Anna").await;
    let mut bob = player_without_look(&host, "Bob").await;
    // (Bob's arrival may reach Anna first: wait for the answers rather than take the next text.)
    anna.send_text("pyhello Anna").await;
    anna.expect_text("Hello from Python, Anna!").await;
    anna.send_text("pyhi").await;
    anna.expect_text("Hello from Python, world!").await;
    // The Python port of the character's `say`: the caller and the room hear it.
    anna.send_text("say Good morning").await;
    anna.expect_text("You say, \"Good morning\"").await;
    bob.expect_text("Anna says, \"Good morning\"").await;
    anna.send_text("say").await;
    anna.expect_text("Say what?").await;
    let log = host.log();
    let loaded = log.lines().find(|l| l.contains("module loaded") && l.contains("module=pyhello"));
    assert!(loaded.is_some_and(|l| l.contains("wit=\"0.4.0\"")), "{log}");
}

#[tokio::test]
async fn a_python_module_copied_into_the_running_game_is_hot_loaded_and_answers() {
    let host = Host::start(
        support::GAME,
        &config(&format!("{}cmdset_character = [\"character\", \"pyhello\"]", shared_cache())),
    );
    let mut anna = host.player("Anna").await;
    assert!(!anna.ask("pyhello").await.contains("from Python"), "not there before");
    publish(&host, "pyhello", "pyhello");
    ask_until(&mut anna, "pyhello Anna", "Hello from Python, Anna!").await;
    // The character's commands served throughout and still do.
    assert!(anna.ask("look").await.contains("Limbo"));
}

#[tokio::test]
async fn a_failing_python_command_is_undone_with_one_log_line_and_the_next_call_works() {
    let host = Host::start(
        &["unloggedin", "account", "character", "pytrouble"],
        &config(&format!("{}cmdset_character = [\"character\", \"pytrouble\"]", shared_cache())),
    );
    drop(patient_screen(&host).await);
    let mut anna = host.player("Anna").await;
    assert!(anna.ask("pymark").await.contains("pytrouble mark: None"));
    // An exception, the deadline, the memory cap, the randomness quota: each after setting an attribute and sending
    // a message. The player sees only the untrapped-error text; the attribute is not set.
    for (cmd, what, log_says) in [
        ("pyboom", "raise", "exploded on purpose"),
        ("pyspin", "spin", "deadline"),
        ("pyhog", "hog", "memory cap"),
        // 4 MiB of os.urandom in small draws: over guest_random_bytes_per_call.
        ("pygreedy", "draw", "guest_random_bytes_per_call"),
    ] {
        let answer = anna.ask(cmd).await;
        assert!(answer.contains("An untrapped error occurred."), "{cmd}: {answer}");
        assert!(!answer.contains(&format!("about to {what}")), "{cmd}: its output is undone");
        assert!(anna.ask("pymark").await.contains("pytrouble mark: None"), "{cmd} undone");
        let log = host.log();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("command failed") && l.contains(&format!("cmd={cmd}")))
            .collect();
        assert_eq!(lines.len(), 1, "one line for {cmd}:\n{log}");
        assert!(log.contains(log_says), "{cmd}: {log_says}:\n{log}");
    }
    // Another player was served throughout.
    let mut bob = host.player("Bob").await;
    assert!(bob.ask("look").await.contains("Limbo"));
}

#[tokio::test]
async fn python_randomness_is_a_stream_of_the_module_that_a_fresh_instance_repeats() {
    let host = Host::start(
        &["unloggedin", "account", "character", "pytrouble"],
        &config(&format!("{}cmdset_character = [\"character\", \"pytrouble\"]", shared_cache())),
    );
    drop(patient_screen(&host).await);
    let mut anna = host.player("Anna").await;
    // A failure discards the instance; each draw below is then the first of a fresh one.
    anna.ask("pyboom").await;
    let first = anna.ask("pyrandom").await;
    assert!(first.contains("random ") && first.contains(" urandom "), "{first}");
    let second = anna.ask("pyrandom").await;
    assert_ne!(first, second, "the stream goes on within an instance");
    anna.ask("pyboom").await;
    assert_eq!(anna.ask("pyrandom").await, first, "a fresh instance draws the same again");
}

#[tokio::test]
async fn a_python_input_hook_rewrites_and_swallows_lines() {
    let host = Host::start(
        &["unloggedin", "account", "character", "pyhook"],
        &config(&format!(
            "{}cmdset_character = [\"character\", \"pyhook\"]\ninput_hooks = [\"pyhook\"]",
            shared_cache()
        )),
    );
    drop(patient_screen(&host).await);
    let mut anna = host.player("Anna").await;
    assert!(anna.ask(";hello there").await.contains("pyecho heard: hello there"));
    assert!(anna.ask("mute").await.contains("The Python hook swallowed that."));
    // Other lines pass unchanged.
    assert!(anna.ask("look").await.contains("Limbo"));
}

#[tokio::test]
async fn a_python_session_class_greets_at_login_and_rewrites_output() {
    let host = Host::start(
        &["unloggedin", "account", "character", "pyclass"],
        &config(&format!(
            "{}cmdset_character = [\"character\", \"pyclass\"]\nsession_class = \"pyclass\"",
            shared_cache()
        )),
    );
    drop(patient_screen(&host).await);
    let mut c = Client::connect_from(&host.url, fresh_loopback()).await;
    c.expect_text("connect").await;
    c.send_text("create Cleo password123").await;
    c.expect_text("was created").await;
    c.send_text("connect Cleo password123").await;
    c.expect_text("A Python session class greets you.").await;
    c.send_text("pyclassmark").await;
    c.expect_text("marked by the session class").await;
}

#[tokio::test]
async fn the_connection_screen_is_served_while_a_python_module_is_still_compiling() {
    // The game's own compile cache (empty): pyhello must compile, in the background.
    let started = Instant::now();
    let host = Host::start(
        &["unloggedin", "account", "character", "pyhello"],
        &config("cmdset_unloggedin = [\"unloggedin\", \"pyhello\"]"),
    );
    let mut c = Client::connect_from(&host.url, fresh_loopback()).await;
    c.expect_text("connect").await;
    let screen_after = started.elapsed();
    // The screen came first: pyhello was not loaded yet when it was served ...
    let first = c.ask("pyhello").await;
    assert!(!first.contains("from Python"), "pyhello was already loaded: {first}");
    // ... and it loads without a restart once compiled.
    ask_until(&mut c, "pyhello Ann", "Hello from Python, Ann!").await;
    let answered_after = started.elapsed();
    assert!(
        screen_after < Duration::from_secs(20),
        "the screen took {screen_after:?} (pyhello answered after {answered_after:?})"
    );
    let log = host.log();
    assert!(log.contains("module compiles in the background"), "{log}");
}

/// One client's loop: `pyhello TAG` until told to stop; returns the greeting of each answer.
async fn greet_loop(mut c: Client, name: String, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut greetings = vec![];
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) || i < 3 {
        let tag = format!("{name}-{i}");
        c.send_text(&format!("pyhello {tag}")).await;
        let answer = loop {
            let t = c.next_text().await.unwrap_or_else(|| panic!("{name} disconnected"));
            if !(t.ends_with("has entered the game.") || t.contains("has left the game")) {
                break t;
            }
        };
        let greeting = answer
            .strip_suffix(&format!(" from Python, {tag}!"))
            .unwrap_or_else(|| panic!("{name}: unexpected answer {answer:?}"));
        greetings.push(greeting.to_string());
        i += 1;
    }
    greetings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_swapping_a_python_module_under_fifty_clients_loses_nothing() {
    let host = Host::start(
        &["unloggedin", "account", "character", "pyhello"],
        &config(&format!(
            "{}cmdset_character = [\"character\", \"pyhello\"]\nmax_connections_per_ip = 0",
            shared_cache()
        )),
    );
    drop(patient_screen(&host).await);
    // Until v2 is compiled (in the background; once per run) the clients go on getting v1.
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = vec![];
    for i in 0..50 {
        let c = host.player_from(&format!("Py{i}"), &fresh_loopback().to_string()).await;
        tasks.push(tokio::spawn(greet_loop(c, format!("P{i}"), stop.clone())));
    }
    publish(&host, "pyhello_v2", "pyhello");
    let mut probe = host.player_from("Probe", &fresh_loopback().to_string()).await;
    ask_until(&mut probe, "pyhello probe", "Greetings from Python, probe!").await;
    for _ in 0..3 {
        probe.ask("pyhello probe").await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let h = t.await.expect("client task");
        assert_eq!(h.last().map(String::as_str), Some("Greetings"), "ends on v2: {h:?}");
        let switch = h.iter().position(|g| g == "Greetings").unwrap();
        assert!(h[..switch].iter().all(|g| g == "Hello"), "{h:?}");
        assert!(h[switch..].iter().all(|g| g == "Greetings"), "{h:?}");
    }
    assert!(!host.log().contains("module rejected"), "{}", host.log());
}
