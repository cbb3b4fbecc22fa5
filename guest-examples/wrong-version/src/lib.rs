//! A module built against `mudhost:game@0.9.0`, which this host does not implement.

wit_bindgen::generate!({ path: "wit", world: "cmdset-module" });

struct Future;

impl exports::mudhost::game::cmdset::Guest for Future {
    fn info() -> String {
        "from the future".into()
    }
}

export!(Future);
