//! `mudhost new` and `mudhost build`: a game author's module crate, from nothing to a `.wasm` in
//! the game's `modules/` folder.
//!
//! The SDK is not published to a registry, so the binary carries it: the SDK's sources and the
//! WIT are embedded here (`include_str!`) and `new` writes them once beside the new crate, in
//! `mudhost-sdk/` (`sdk/` and `wit/` side by side, the layout the SDK's `../wit` path expects).
//! The crate depends on it by the relative path `../mudhost-sdk/sdk`, so a game folder of module
//! crates builds anywhere, offline, against exactly the SDK of the host that made it. The crate
//! and the SDK copy each declare their own `[workspace]`, so a workspace around the folder does
//! not claim them; the crate gets the `guest` profile and the guests' stack-size flag from this
//! repository's own files, and the lock file the SDK was tested with.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// The guest target.
const TARGET: &str = "wasm32-wasip2";
/// The folder, beside the crates, that holds the SDK copy.
pub const SDK_DIR: &str = "mudhost-sdk";

/// The SDK's sources, as they are in this repository (`sdk/src/`).
const SDK_SOURCES: &[(&str, &str)] = &[
    ("lib.rs", include_str!("../../sdk/src/lib.rs")),
    ("args.rs", include_str!("../../sdk/src/args.rs")),
    ("error.rs", include_str!("../../sdk/src/error.rs")),
    ("hooks.rs", include_str!("../../sdk/src/hooks.rs")),
    ("host.rs", include_str!("../../sdk/src/host.rs")),
    ("object.rs", include_str!("../../sdk/src/object.rs")),
    ("objclass.rs", include_str!("../../sdk/src/objclass.rs")),
    ("text.rs", include_str!("../../sdk/src/text.rs")),
    ("testing.rs", include_str!("../../sdk/src/testing.rs")),
    ("testing_accounts.rs", include_str!("../../sdk/src/testing_accounts.rs")),
    ("testing_building.rs", include_str!("../../sdk/src/testing_building.rs")),
    ("testing_comms.rs", include_str!("../../sdk/src/testing_comms.rs")),
    ("testing_markup.rs", include_str!("../../sdk/src/testing_markup.rs")),
    ("testing_objects.rs", include_str!("../../sdk/src/testing_objects.rs")),
    ("testing_run.rs", include_str!("../../sdk/src/testing_run.rs")),
    ("testing_server.rs", include_str!("../../sdk/src/testing_server.rs")),
    ("testing_sessions.rs", include_str!("../../sdk/src/testing_sessions.rs")),
    ("testing_timers.rs", include_str!("../../sdk/src/testing_timers.rs")),
    ("testing_world.rs", include_str!("../../sdk/src/testing_world.rs")),
    ("world.rs", include_str!("../../sdk/src/world.rs")),
];
const SDK_MANIFEST: &str = include_str!("../../sdk/Cargo.toml");
const WIT: &str = include_str!("../../wit/mudhost.wit");
const ROOT_MANIFEST: &str = include_str!("../../Cargo.toml");
const ROOT_CARGO_CONFIG: &str = include_str!("../../.cargo/config.toml");
const ROOT_LOCK: &str = include_str!("../../Cargo.lock");

/// The plugin kind of a new module (the SDK feature it is built with).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Commands (Evennia's cmdset).
    Cmdset,
    /// An input hook (Evennia's INPUT_HOOKS) and its commands.
    InputHook,
    /// The session class (Evennia's SERVER_SESSION_CLASS) and its per-session commands.
    SessionClass,
    /// An object class (Evennia's typeclass): hooks for the objects bound to it.
    ObjectClass,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.feature())
    }
}

impl Kind {
    /// The SDK feature of this kind.
    fn feature(self) -> &'static str {
        match self {
            Kind::Cmdset => "cmdset",
            Kind::InputHook => "input-hook",
            Kind::SessionClass => "session-class",
            Kind::ObjectClass => "object-class",
        }
    }

    /// The SDK dependency line of a crate of this kind, with more features.
    fn dependency(self, extra: &[&str]) -> String {
        let path = format!("../{SDK_DIR}/sdk");
        let mut features: Vec<&str> = extra.to_vec();
        if self == Kind::Cmdset {
            let f = features.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", ");
            return if f.is_empty() {
                format!("mudhost-sdk = {{ path = {path:?} }}")
            } else {
                format!("mudhost-sdk = {{ path = {path:?}, features = [{f}] }}")
            };
        }
        features.insert(0, self.feature());
        let f = features.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", ");
        format!("mudhost-sdk = {{ path = {path:?}, default-features = false, features = [{f}] }}")
    }
}

/// A crate name cargo and the host both accept: lower case letters, digits, `_` and `-`,
/// starting with a letter, at most 64 characters; the module is named after it (`-` → `_`).
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        bail!(
            "'{name}' is not a module name: use lower-case letters, digits, '_' and '-', starting \
             with a letter (at most 64 characters)"
        );
    }
    if name == SDK_DIR || name == "test" || name == "std" || name == "core" {
        bail!("'{name}' is taken: choose another module name");
    }
    Ok(())
}

/// The TOML of a table under a dotted path in a manifest.
fn table_at<'a>(doc: &'a toml::Table, path: &[&str]) -> anyhow::Result<&'a toml::Table> {
    let mut t = doc;
    for key in path {
        t = t
            .get(*key)
            .and_then(toml::Value::as_table)
            .with_context(|| format!("embedded manifest has no [{}]", path.join(".")))?;
    }
    Ok(t)
}

/// The SDK's manifest made standalone: values it inherits from this repository's workspace
/// filled in, and a `[workspace]` of its own.
pub fn sdk_manifest() -> anyhow::Result<String> {
    let root: toml::Table = toml::from_str(ROOT_MANIFEST)?;
    let package_defaults = table_at(&root, &["workspace", "package"])?;
    let dep_defaults = table_at(&root, &["workspace", "dependencies"])?;
    let mut sdk: toml::Table = toml::from_str(SDK_MANIFEST)?;
    let inherited = |v: &toml::Value| {
        v.as_table().and_then(|t| t.get("workspace")).and_then(toml::Value::as_bool) == Some(true)
    };
    if let Some(package) = sdk.get_mut("package").and_then(toml::Value::as_table_mut) {
        for (key, value) in package.iter_mut() {
            if inherited(value) {
                *value = package_defaults
                    .get(key)
                    .with_context(|| format!("no workspace.package.{key}"))?
                    .clone();
            }
        }
    }
    if let Some(deps) = sdk.get_mut("dependencies").and_then(toml::Value::as_table_mut) {
        for (key, value) in deps.iter_mut() {
            if inherited(value) {
                let mut dep = match dep_defaults.get(key) {
                    Some(toml::Value::Table(t)) => t.clone(),
                    Some(toml::Value::String(v)) => {
                        toml::Table::from_iter([("version".to_string(), v.clone().into())])
                    }
                    _ => bail!("no workspace.dependencies.{key}"),
                };
                // Keys next to `workspace = true` (features, optional) add to the inherited ones.
                for (k, v) in value.as_table().into_iter().flatten() {
                    if k != "workspace" {
                        dep.insert(k.clone(), v.clone());
                    }
                }
                *value = toml::Value::Table(dep);
            }
        }
    }
    sdk.insert("workspace".into(), toml::Value::Table(toml::Table::new()));
    Ok(format!(
        "# The mudhost SDK as `mudhost new` wrote it (from the host that made this folder). Its own\n\
         # workspace, so no workspace around it claims it.\n\n{}",
        toml::to_string(&sdk)?
    ))
}

/// The root manifest's `[profile.guest]`, as TOML lines.
fn guest_profile() -> anyhow::Result<String> {
    let root: toml::Table = toml::from_str(ROOT_MANIFEST)?;
    let profile = table_at(&root, &["profile", "guest"])?;
    let mut doc = toml::Table::new();
    let mut profiles = toml::Table::new();
    profiles.insert("guest".into(), toml::Value::Table(profile.clone()));
    doc.insert("profile".into(), toml::Value::Table(profiles));
    Ok(toml::to_string(&doc)?)
}

/// The guests' target settings of this repository's `.cargo/config.toml` (the stack-size flag).
fn cargo_config() -> anyhow::Result<String> {
    let root: toml::Table = toml::from_str(ROOT_CARGO_CONFIG)?;
    let target = table_at(&root, &["target", TARGET])?;
    let mut targets = toml::Table::new();
    targets.insert(TARGET.into(), toml::Value::Table(target.clone()));
    let doc = toml::Table::from_iter([("target".to_string(), toml::Value::Table(targets))]);
    Ok(format!(
        "# Guests: a 64 KiB stack makes fresh instances much cheaper (the host keeps one per \
         module).\n{}",
        toml::to_string(&doc)?
    ))
}

/// The new crate's manifest.
fn crate_manifest(name: &str, kind: Kind) -> anyhow::Result<String> {
    Ok(format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

# A workspace of its own: a workspace around this folder does not claim the crate.
[workspace]

[lib]
# A WebAssembly component is built from a cdylib: without it cargo builds no .wasm.
crate-type = ["cdylib"]

[dependencies]
# The plugin kind is an SDK feature; one kind per crate.
{}

[dev-dependencies]
# `testing`: the SDK's in-memory test host, for `cargo test`.
{}

# `mudhost build` builds with this profile: small modules that keep function names for traps.
{}"#,
        kind.dependency(&[]),
        kind.dependency(&["testing"]),
        guest_profile()?
    ))
}

/// The new crate's `src/lib.rs`: a first command and its first unit test.
fn crate_source(name: &str, kind: Kind) -> String {
    let module = name.replace('-', "_");
    let cmdset_key = format!(
        "{}CmdSet",
        module
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<String>()
    );
    let command = format!(
        r#"/// `{module} [name]`: the first command. Its key is the module's name, so it cannot clash
/// with another module's commands.
struct Hello;
impl Command for Hello {{
    const KEY: &'static str = "{module}";
    const HELP: &'static str = "Say hello.\n\nUsage:\n  {module} [name]";
    fn func(inv: &Invocation) -> CmdResult {{
        let who = inv.args_trimmed();
        let who = if who.is_empty() {{ "world" }} else {{ who }};
        inv.msg(format!("|wHello, {{who}}!|n (from the {module} module)"));
        Ok(())
    }}
}}
"#
    );
    let test_hello = format!(
        r#"    #[test]
    fn the_command_says_hello() {{
        let host = TestHost::new();
        host.player("Anna", host.limbo());
        host.call::<Hello>("Bob", "Hello, Bob! (from the {module} module)");
        host.call::<Hello>("", "Hello, world!");
    }}
"#
    );
    match kind {
        Kind::Cmdset => format!(
            r#"//! The `{module}` module: a cmdset. Build it into the game with `mudhost build`, then add
//! `"{module}"` to a cmdset slot in mudhost.toml (e.g. `cmdset_character`).

use mudhost_sdk::{{cmdset, CmdResult, Command, Invocation}};

{command}
cmdset! {{ key: "{cmdset_key}", priority: 0, merge_type: Union, commands: [Hello] }}

#[cfg(test)]
mod tests {{
    use super::*;
    use mudhost_sdk::testing::TestHost;

{test_hello}}}
"#
        ),
        Kind::InputHook => format!(
            r#"//! The `{module}` module: an input hook (every line any session types passes through it
//! first) and its commands. Build it with `mudhost build`, then name it in mudhost.toml's
//! `input_hooks = ["{module}"]` (and add it to a cmdset slot for its commands).

use mudhost_sdk::{{
    cmdset, input_hook, CmdResult, Command, HookResult, InputHook, Invocation, Message,
    SessionInfo,
}};

{command}
/// A typed `?` becomes `help`; everything else passes unchanged.
struct Shortcut;
impl InputHook for Shortcut {{
    fn data_in(msg: &Message, _session: &SessionInfo) -> HookResult {{
        match msg.text_line() {{
            Some(line) if line.trim() == "?" => HookResult::Rewrite(msg.with_text("help")),
            _ => HookResult::Pass,
        }}
    }}
}}

cmdset! {{ key: "{cmdset_key}", priority: 0, merge_type: Union, commands: [Hello] }}
input_hook!(Shortcut);

#[cfg(test)]
mod tests {{
    use super::*;
    use mudhost_sdk::testing::TestHost;

{test_hello}
    #[test]
    fn a_question_mark_becomes_help() {{
        let host = TestHost::new();
        let s = host.player("Anna", host.limbo());
        let info = host.session_info(s).unwrap();
        let out = host.as_session(s, || Shortcut::data_in(&Message::text("?"), &info));
        assert!(matches!(out, HookResult::Rewrite(m) if m.text_line().as_deref() == Some("help")));
        let out = host.as_session(s, || Shortcut::data_in(&Message::text("look"), &info));
        assert!(matches!(out, HookResult::Pass));
    }}
}}
"#
        ),
        Kind::SessionClass => format!(
            r#"//! The `{module}` module: the session class (hooks that run for every session) and the
//! per-session commands it may add. Build it with `mudhost build`, then set mudhost.toml's
//! `session_class = "{module}"`.

use mudhost_sdk::{{cmdset, host, session_class, CmdResult, Command, Invocation, SessionClass, SessionInfo}};

{command}
/// Greets every session that logs in.
struct Greeter;
impl SessionClass for Greeter {{
    fn at_login(session: &SessionInfo) {{
        let name = session.account_name.clone().unwrap_or_default();
        host::msg_session(session.sessid, format!("Welcome, {{name}}!"));
    }}
}}

cmdset! {{ key: "{cmdset_key}", priority: 0, merge_type: Union, commands: [Hello] }}
session_class!(Greeter);

#[cfg(test)]
mod tests {{
    use super::*;
    use mudhost_sdk::testing::TestHost;

{test_hello}
    #[test]
    fn logging_in_is_greeted() {{
        let host = TestHost::new();
        let s = host.player("Anna", host.limbo());
        let info = host.session_info(s).unwrap();
        host.as_session(s, || Greeter::at_login(&info));
        assert_eq!(host.output(s), ["Welcome, Anna!"]);
    }}
}}
"#
        ),
        Kind::ObjectClass => object_class_source(&module, &cmdset_key, &command, &test_hello),
    }
}

/// The source of a new object-class crate.
fn object_class_source(module: &str, cmdset_key: &str, command: &str, test_hello: &str) -> String {
    format!(
        r#"//! The `{module}` module: an object class (Evennia's typeclass). Bind an object to it with
//! `obj.set_class(Some("{module}"))` (from any module, e.g. a building command); the host then
//! calls its hooks for that object.

use mudhost_sdk::{{cmdset, object_class, CmdResult, Command, Invocation, Obj, ObjectClass}};

{command}
/// Tells the room who arrives in an object of this class (a room).
struct Announcer;
impl ObjectClass for Announcer {{
    fn at_object_receive(this: Obj, arrived: Obj, _source: Option<Obj>) {{
        this.msg_contents(format!("{{}} arrives.", arrived.name()), &[arrived]);
    }}
}}

cmdset! {{ key: "{cmdset_key}", priority: 0, merge_type: Union, commands: [Hello] }}
object_class!(Announcer);

#[cfg(test)]
mod tests {{
    use super::*;
    use mudhost_sdk::testing::TestHost;

{test_hello}
    #[test]
    fn an_arrival_is_announced_to_the_room() {{
        let host = TestHost::new();
        let hall = host.room("Hall", "");
        let bob = host.player("Bob", hall);
        let anna = host.object("Anna", "character", Some(hall));
        host.as_hook(|| Announcer::at_object_receive(hall, anna, None));
        assert_eq!(host.output(bob), ["Anna arrives."]);
    }}
}}
"#
    )
}

/// Write `text` to `path` unless it already holds exactly that; true if written.
fn write_if_changed(path: &Path, text: &str) -> anyhow::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}

/// Write the SDK copy into `dir/mudhost-sdk` (only files that differ from this binary's SDK).
/// Returns whether anything was written.
pub fn write_sdk(dir: &Path) -> anyhow::Result<bool> {
    let home = dir.join(SDK_DIR);
    let mut wrote = write_if_changed(&home.join("wit/mudhost.wit"), WIT)?;
    wrote |= write_if_changed(&home.join("sdk/Cargo.toml"), &sdk_manifest()?)?;
    for (file, text) in SDK_SOURCES {
        wrote |= write_if_changed(&home.join("sdk/src").join(file), text)?;
    }
    Ok(wrote)
}

/// `mudhost new`: create the crate `dir/name` of `kind`, and the SDK copy beside it.
/// Returns the crate's folder.
pub fn new_module(dir: &Path, name: &str, kind: Kind) -> anyhow::Result<PathBuf> {
    check_name(name)?;
    let krate = dir.join(name);
    if krate.exists() {
        bail!("{} already exists: choose another name or folder", krate.display());
    }
    let sdk_written = write_sdk(dir)?;
    std::fs::create_dir_all(krate.join("src"))
        .with_context(|| format!("creating {}", krate.display()))?;
    let files = [
        ("Cargo.toml", crate_manifest(name, kind)?),
        ("src/lib.rs", crate_source(name, kind)),
        (".cargo/config.toml", cargo_config()?),
        ("Cargo.lock", ROOT_LOCK.to_string()),
        (".gitignore", "/target\n".to_string()),
    ];
    for (file, text) in files {
        write_if_changed(&krate.join(file), &text)?;
    }
    if sdk_written {
        println!(
            "SDK {} (WIT {}) written to {}",
            env!("CARGO_PKG_VERSION"),
            wit_version(),
            dir.join(SDK_DIR).display()
        );
    }
    Ok(krate)
}

/// The WIT package version the embedded WIT declares.
fn wit_version() -> &'static str {
    WIT.lines()
        .find_map(|l| l.trim().strip_prefix("package mudhost:game@")?.strip_suffix(';'))
        .unwrap_or("?")
}

/// Make sure the guest target is installed (rustup), adding it if missing.
fn ensure_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET));
    match installed {
        Ok(true) => Ok(()),
        Ok(false) => {
            eprintln!("adding the {TARGET} target (rustup target add {TARGET})");
            let st = Command::new("rustup").args(["target", "add", TARGET]).status()?;
            if !st.success() {
                bail!("`rustup target add {TARGET}` failed ({st})");
            }
            Ok(())
        }
        // No rustup: cargo says clearly if the target is missing.
        Err(_) => Ok(()),
    }
}

/// The `.wasm` files cargo reports for the crate at `manifest` in its JSON messages, and whether
/// it built the crate's library at all (as a non-cdylib).
fn wasm_artifacts(json: &str, manifest: &Path) -> (Vec<PathBuf>, bool) {
    let (mut wasm, mut other_lib) = (vec![], false);
    for line in json.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let ours = msg["manifest_path"].as_str().is_some_and(|p| Path::new(p) == manifest);
        if !ours {
            continue;
        }
        let kinds = msg["target"]["crate_types"].as_array().cloned().unwrap_or_default();
        let files = msg["filenames"].as_array().cloned().unwrap_or_default();
        let found: Vec<PathBuf> = files
            .iter()
            .filter_map(|f| f.as_str())
            .filter(|f| f.ends_with(".wasm"))
            .map(PathBuf::from)
            .collect();
        if found.is_empty() && kinds.iter().any(|k| k == "lib" || k == "rlib") {
            other_lib = true;
        }
        wasm.extend(found);
    }
    (wasm, other_lib)
}

/// `mudhost build`: build the crate in `dir` for the guest target in the guest profile and
/// install its `.wasm` in `modules_dir` (copied beside, then renamed: a running host only ever
/// sees a complete file). Returns the installed path.
pub fn build_module(dir: &Path, modules_dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "{} has no Cargo.toml: not a module crate (make one with `mudhost new NAME`)",
            dir.display()
        );
    }
    let manifest = std::fs::canonicalize(&manifest)?;
    if !modules_dir.is_dir() {
        bail!(
            "the game's modules folder {} does not exist (make a game with `mudhost init DIR`, \
             or name its config with --config)",
            modules_dir.display()
        );
    }
    ensure_target()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // From the crate's folder, so its .cargo/config.toml (the stack-size flag) applies.
    let out = Command::new(cargo)
        .current_dir(manifest.parent().unwrap_or(dir))
        .args(["build", "--profile", "guest", "--target", TARGET])
        .args(["--message-format", "json-render-diagnostics", "--manifest-path"])
        .arg(&manifest)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo")?;
    if !out.status.success() {
        bail!("cargo build failed ({}): see its messages above", out.status);
    }
    let (wasm, other_lib) = wasm_artifacts(&String::from_utf8_lossy(&out.stdout), &manifest);
    let [file] = wasm.as_slice() else {
        if other_lib {
            bail!(
                "cargo built {} but no .wasm: its Cargo.toml needs `[lib] crate-type = \
                 [\"cdylib\"]` (a WebAssembly component is built from a cdylib)",
                manifest.display()
            );
        }
        bail!(
            "cargo built no .wasm for {} (is it a library crate with `[lib] crate-type = \
             [\"cdylib\"]`?)",
            manifest.display()
        );
    };
    let name = file.file_name().context("a .wasm without a name")?;
    let to = modules_dir.join(name);
    let tmp = modules_dir.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::copy(file, &tmp).with_context(|| format!("copying {}", file.display()))?;
    std::fs::rename(&tmp, &to).with_context(|| format!("installing {}", to.display()))?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sdk_source_file_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".rs"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = SDK_SOURCES.iter().map(|(f, _)| f.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "add the SDK's new files to SDK_SOURCES");
    }

    #[test]
    fn the_sdk_copy_inherits_nothing_from_a_workspace() {
        let text = sdk_manifest().unwrap();
        assert!(!text.contains("workspace = true"), "{text}");
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert!(doc["workspace"].as_table().is_some_and(|t| t.is_empty()));
        assert_eq!(doc["package"]["edition"].as_str(), Some("2021"));
        assert!(doc["dependencies"]["wit-bindgen"]["version"].as_str().is_some());
        assert_eq!(doc["features"]["default"][0].as_str(), Some("cmdset"));
    }

    #[test]
    fn a_new_crate_has_its_own_workspace_cdylib_guest_profile_and_stack_flag() {
        let dir = tempfile::tempdir().unwrap();
        for (name, kind) in [
            ("rooms", Kind::Cmdset),
            ("hook", Kind::InputHook),
            ("sc", Kind::SessionClass),
            ("oc", Kind::ObjectClass),
        ] {
            let krate = new_module(dir.path(), name, kind).unwrap();
            let manifest: toml::Table =
                toml::from_str(&std::fs::read_to_string(krate.join("Cargo.toml")).unwrap())
                    .unwrap();
            assert!(manifest.contains_key("workspace"));
            assert_eq!(manifest["lib"]["crate-type"][0].as_str(), Some("cdylib"));
            assert_eq!(manifest["profile"]["guest"]["inherits"].as_str(), Some("release"));
            let dep = &manifest["dependencies"]["mudhost-sdk"];
            assert_eq!(dep["path"].as_str(), Some("../mudhost-sdk/sdk"));
            let test_dep = &manifest["dev-dependencies"]["mudhost-sdk"];
            assert!(test_dep["features"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f.as_str() == Some("testing")));
            if kind != Kind::Cmdset {
                // Defaults would add the cmdset kind: two kinds, a compile error.
                for d in [dep, test_dep] {
                    assert_eq!(d["default-features"].as_bool(), Some(false), "{kind}");
                    assert_eq!(d["features"][0].as_str(), Some(kind.feature()));
                }
            }
            let config = std::fs::read_to_string(krate.join(".cargo/config.toml")).unwrap();
            assert!(config.contains("-zstack-size=65536"), "{config}");
        }
        assert!(dir.path().join("mudhost-sdk/wit/mudhost.wit").is_file());
        assert!(new_module(dir.path(), "rooms", Kind::Cmdset).is_err(), "no overwrite");
        for bad in ["Rooms", "9lives", "a b", "mudhost-sdk", ""] {
            assert!(new_module(dir.path(), bad, Kind::Cmdset).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_build_without_a_cdylib_is_told_so() {
        let manifest = Path::new("/g/rooms/Cargo.toml");
        let json = r#"{"reason":"compiler-artifact","manifest_path":"/g/rooms/Cargo.toml","target":{"crate_types":["lib"]},"filenames":["/t/librooms.rlib"]}"#;
        assert_eq!(wasm_artifacts(json, manifest), (vec![], true));
        let json = r#"{"reason":"compiler-artifact","manifest_path":"/g/rooms/Cargo.toml","target":{"crate_types":["cdylib"]},"filenames":["/t/rooms.wasm"]}"#;
        assert_eq!(wasm_artifacts(json, manifest), (vec![PathBuf::from("/t/rooms.wasm")], false));
    }
}
