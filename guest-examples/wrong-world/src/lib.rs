//! A valid WebAssembly component with the wrong interface (`other:thing/greeter`, no
//! `mudhost:game/cmdset`): the host must refuse to load it, with a clear reason.

wit_bindgen::generate!({ path: "wit", world: "w" });

struct Greeter;

impl exports::other::thing::greeter::Guest for Greeter {
    fn greet() -> String {
        "hello from the wrong world".into()
    }
}

export!(Greeter);
