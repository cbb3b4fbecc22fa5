//! Timer probes for the host's tests. Every firing counts itself in an attribute on Limbo (so a
//! firing that was undone does not count) and announces `fired <payload> #<count>` to everyone.
//! A payload `trap-until:<ms>` makes the handler count and then panic until that unix time.

use std::time::Duration;

use mudhost_sdk::host::{self, Persistence, Timer};
use mudhost_sdk::{cmdset, CmdResult, Command, Invocation, Obj};

/// `<ms> <payload>` → the numbers and the rest.
fn ms_and_rest(inv: &Invocation) -> Result<(u64, String), String> {
    let args = inv.args_trimmed();
    let (ms, rest) = args.split_once(' ').unwrap_or((args, ""));
    let ms = ms.parse().map_err(|_| format!("not a number of milliseconds: {ms:?}"))?;
    Ok((ms, rest.trim().to_string()))
}

fn scheduled(inv: &Invocation, r: Result<u64, mudhost_sdk::HostError>) -> CmdResult {
    let id = r.map_err(|e| format!("timer refused: {e}"))?;
    inv.msg(format!("timer {id} scheduled"));
    Ok(())
}

/// `tdelay <ms> <payload>`: a persistent one-shot.
struct Delay;
impl Command for Delay {
    const KEY: &'static str = "tdelay";
    const HELP: &'static str = "Schedule a persistent one-shot timer.";
    fn func(inv: &Invocation) -> CmdResult {
        let (ms, payload) = ms_and_rest(inv)?;
        scheduled(
            inv,
            host::delay(Duration::from_millis(ms), &payload, None, Persistence::Persistent),
        )
    }
}

/// `tmem <ms> <payload>`: a one-shot kept in memory only.
struct MemDelay;
impl Command for MemDelay {
    const KEY: &'static str = "tmem";
    const HELP: &'static str = "Schedule a non-persistent one-shot timer.";
    fn func(inv: &Invocation) -> CmdResult {
        let (ms, payload) = ms_and_rest(inv)?;
        scheduled(inv, host::delay(Duration::from_millis(ms), &payload, None, Persistence::Memory))
    }
}

/// `trepeat <ms> <payload>`: a persistent repeating timer.
struct Repeat;
impl Command for Repeat {
    const KEY: &'static str = "trepeat";
    const HELP: &'static str = "Schedule a persistent repeating timer.";
    fn func(inv: &Invocation) -> CmdResult {
        let (ms, payload) = ms_and_rest(inv)?;
        scheduled(
            inv,
            host::repeat(Duration::from_millis(ms), &payload, None, Persistence::Persistent),
        )
    }
}

/// `ttrap <interval ms> <trap for ms>`: a repeating timer whose handler traps for a while.
struct TrapFor;
impl Command for TrapFor {
    const KEY: &'static str = "ttrap";
    const HELP: &'static str = "Schedule a repeating timer whose firings trap for a while.";
    fn func(inv: &Invocation) -> CmdResult {
        let (ms, rest) = ms_and_rest(inv)?;
        let trap_for: u64 = rest.parse().map_err(|_| "trap for how long?".to_string())?;
        let payload = format!("trap-until:{}", host::now_ms() + trap_for);
        scheduled(
            inv,
            host::repeat(Duration::from_millis(ms), &payload, None, Persistence::Persistent),
        )
    }
}

/// `tfail <ms>`: schedules a one-shot `never`, then fails (so the timer must not exist).
struct Fail;
impl Command for Fail {
    const KEY: &'static str = "tfail";
    const HELP: &'static str = "Schedule a timer, then panic.";
    fn func(inv: &Invocation) -> CmdResult {
        let (ms, _) = ms_and_rest(inv)?;
        host::delay(Duration::from_millis(ms), "never", None, Persistence::Persistent)?;
        panic!("tfail: failing after scheduling a timer");
    }
}

/// `tmany <n> <ms>`: one-shots due together in `ms`: `first`, then `n` quiet ones (counted,
/// not announced), then `last` (in id order, which is firing order for timers due together).
struct Many;
impl Command for Many {
    const KEY: &'static str = "tmany";
    const HELP: &'static str = "Schedule many timers due at once.";
    fn func(inv: &Invocation) -> CmdResult {
        let (n, rest) = ms_and_rest(inv)?;
        let ms: u64 = rest.parse().map_err(|_| "due in how long?".to_string())?;
        let at = Duration::from_millis(ms);
        host::delay(at, "first", None, Persistence::Memory)?;
        for _ in 0..n {
            host::delay(at, "quiet", None, Persistence::Memory)?;
        }
        host::delay(at, "last", None, Persistence::Memory)?;
        inv.msg(format!("{} timers scheduled", n + 2));
        Ok(())
    }
}

/// `tbench <n> <interval ms>`: n persistent repeating `bench` timers (the load generator's
/// `timers` scenario spreads them over one interval by sending this in steps).
struct Bench;
impl Command for Bench {
    const KEY: &'static str = "tbench";
    const HELP: &'static str = "Schedule repeating benchmark timers.";
    fn func(inv: &Invocation) -> CmdResult {
        let (n, rest) = ms_and_rest(inv)?;
        let interval: u64 = rest.parse().map_err(|_| "interval?".to_string())?;
        for _ in 0..n {
            host::repeat(Duration::from_millis(interval), "bench", None, Persistence::Persistent)?;
        }
        inv.msg(format!("bench {n} scheduled"));
        Ok(())
    }
}

/// Lateness (ms) of every `bench` firing since the last `tlate`, kept in the module's instance
/// (it lives on between successful calls).
static LATENESS: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// `tlate`: count, p50, p99 and max lateness of the `bench` firings since the last `tlate`.
struct Late;
impl Command for Late {
    const KEY: &'static str = "tlate";
    const HELP: &'static str = "Report and reset the benchmark timers' lateness.";
    fn func(inv: &Invocation) -> CmdResult {
        let mut v = std::mem::take(&mut *LATENESS.lock().unwrap_or_else(|e| e.into_inner()));
        v.sort_unstable();
        let at = |p: f64| v.get(((v.len().max(1) - 1) as f64 * p).round() as usize).copied();
        inv.msg(format!(
            "late: n={} p50={} p99={} max={}",
            v.len(),
            at(0.5).unwrap_or(0),
            at(0.99).unwrap_or(0),
            v.last().copied().unwrap_or(0)
        ));
        Ok(())
    }
}

/// `tlist`: this module's timers, one line each: `<id> <payload> in <ms until due>`.
struct List;
impl Command for List {
    const KEY: &'static str = "tlist";
    const HELP: &'static str = "List this module's timers.";
    fn func(inv: &Invocation) -> CmdResult {
        let now = host::now_ms();
        let lines: Vec<String> = host::timers()
            .iter()
            .map(|t| format!("{} {} in {}", t.id, t.payload, t.due_ms as i64 - now as i64))
            .collect();
        inv.msg(format!("timers: {}", lines.join("; ")));
        Ok(())
    }
}

/// `tcancel <id>`.
struct Cancel;
impl Command for Cancel {
    const KEY: &'static str = "tcancel";
    const HELP: &'static str = "Cancel a timer.";
    fn func(inv: &Invocation) -> CmdResult {
        let id: u64 = inv.args_trimmed().parse().map_err(|_| "cancel which?".to_string())?;
        inv.msg(format!("cancelled: {}", host::cancel(id)));
        Ok(())
    }
}

fn on_timer(timer: Timer) {
    if timer.payload == "bench" {
        let late = host::now_ms().saturating_sub(timer.due_ms);
        LATENESS.lock().unwrap_or_else(|e| e.into_inner()).push(late);
        return;
    }
    let limbo = Obj::start_location();
    let key = format!("fired:{}", timer.payload);
    let n = limbo.attr(&key).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + 1;
    let _ = limbo.set_attr(&key, n.to_string());
    if let Some(until) = timer.payload.strip_prefix("trap-until:") {
        if host::now_ms() < until.parse::<u64>().unwrap_or(0) {
            panic!("timer handler trapping on purpose");
        }
    }
    if timer.payload != "quiet" {
        host::announce_all(format!("fired {} #{n}", timer.payload));
    }
}

cmdset! {
    key: "TimerTest", priority: 0, merge_type: Union,
    at_timer: on_timer,
    commands: [Delay, MemDelay, Repeat, TrapFor, Fail, Many, Bench, Late, List, Cancel],
}
