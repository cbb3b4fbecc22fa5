//! Python guest modules: componentize-py in a virtual environment of the checkout's own
//! (`target/pyenv/venv`), and the builds of `guest-examples/python/`.
//!
//! A build takes about half a minute, so each module is rebuilt only when what it is made of
//! changed: a stamp beside the venv holds a hash of the componentize-py version, the WIT, the
//! Python SDK and the module's own files; an unchanged module with its `.wasm` in place is
//! skipped. Modules build in parallel (componentize-py waits on I/O for much of its time).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-py release the modules are built with (pinned: its bindings' layout
/// changed between versions).
pub const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// One Python module: its name (the `.wasm` stem), the WIT world, and its source folders under
/// `guest-examples/python/` (the first holds `app.py`; later ones add modules).
struct PyModule {
    name: &'static str,
    world: &'static str,
    folders: &'static [&'static str],
}

/// The example game's Python modules.
const GAME: &[PyModule] = &[
    PyModule { name: "pyhello", world: "cmdset-module", folders: &["pyhello"] },
    PyModule { name: "pysay", world: "cmdset-module", folders: &["pysay"] },
    PyModule { name: "pyhook", world: "input-hook-module", folders: &["pyhook"] },
];

/// Python modules only the tests load.
const TEST: &[PyModule] = &[
    PyModule { name: "pytrouble", world: "cmdset-module", folders: &["pytrouble"] },
    PyModule { name: "pyclass", world: "session-class-module", folders: &["pyclass"] },
    // pyhello answering "Greetings" instead of "Hello", for the hot-swap test.
    PyModule { name: "pyhello_v2", world: "cmdset-module", folders: &["pyhello", "pyhello/v2"] },
];

fn venv(root: &Path) -> PathBuf {
    root.join("target/pyenv/venv")
}

/// The componentize-py of the checkout's venv, if installed.
pub fn componentize_py(root: &Path) -> Option<PathBuf> {
    let bin = venv(root).join("bin/componentize-py");
    bin.is_file().then_some(bin)
}

/// Make the venv and install componentize-py into it (from the package index pip is set up
/// for), unless it is there already.
pub fn install(root: &Path) -> Result<PathBuf, String> {
    if let Some(bin) = componentize_py(root) {
        return Ok(bin);
    }
    let venv = venv(root);
    eprintln!("xtask: installing {COMPONENTIZE_PY} into {}", venv.display());
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", COMPONENTIZE_PY]))?;
    componentize_py(root).ok_or_else(|| "componentize-py is missing after its install".into())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let st = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    st.success().then_some(()).ok_or_else(|| format!("{cmd:?} failed: {st}"))
}

/// Hash every file under `path` (names and contents, in name order) into `h`.
fn hash_tree(path: &Path, h: &mut impl Hasher) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            if e.file_name().is_some_and(|n| n == "__pycache__") {
                continue;
            }
            hash_tree(&e, h);
        }
    } else if let Ok(bytes) = std::fs::read(path) {
        path.to_string_lossy().hash(h);
        bytes.hash(h);
    }
}

/// Build the Python modules into `out` (the test ones too when asked), skipping unchanged ones.
pub fn build(root: &Path, out: &Path, with_test_modules: bool, bin: &Path) -> Result<(), String> {
    let examples = root.join("guest-examples/python");
    let stamps = root.join("target/pyenv/stamps");
    std::fs::create_dir_all(&stamps).map_err(|e| e.to_string())?;
    let modules: Vec<&PyModule> =
        GAME.iter().chain(if with_test_modules { TEST } else { &[] }).collect();
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let jobs: Vec<_> = modules
            .iter()
            .map(|m| {
                let (examples, stamps) = (&examples, &stamps);
                scope.spawn(move || {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    COMPONENTIZE_PY.hash(&mut h);
                    m.world.hash(&mut h);
                    hash_tree(&root.join("wit"), &mut h);
                    hash_tree(&root.join("sdk-python/mudhost"), &mut h);
                    for f in m.folders {
                        hash_tree(&examples.join(f), &mut h);
                    }
                    let stamp = format!("{:016x}", h.finish());
                    let wasm = out.join(format!("{}.wasm", m.name));
                    let stamp_file = stamps.join(m.name);
                    if wasm.is_file()
                        && std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(&stamp)
                    {
                        return Ok(());
                    }
                    let tmp = out.join(format!("{}.wasm.building", m.name));
                    let mut cmd = Command::new(bin);
                    cmd.arg("-q").arg("-d").arg(root.join("wit")).args(["-w", m.world]);
                    cmd.arg("componentize").arg("-p").arg(root.join("sdk-python"));
                    for f in m.folders {
                        cmd.arg("-p").arg(examples.join(f));
                    }
                    cmd.arg("app").arg("-o").arg(&tmp);
                    let started = std::time::Instant::now();
                    run(&mut cmd)?;
                    std::fs::rename(&tmp, &wasm).map_err(|e| e.to_string())?;
                    std::fs::write(&stamp_file, &stamp).map_err(|e| e.to_string())?;
                    eprintln!("xtask: built {} in {:.1?}", wasm.display(), started.elapsed());
                    Ok(())
                })
            })
            .collect();
        jobs.into_iter()
            .map(|j| j.join().unwrap_or_else(|_| Err("a build thread panicked".into())))
            .collect()
    });
    results.into_iter().collect()
}
