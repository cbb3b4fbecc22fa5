//! The game as the sandbox's store data: what the plugin registry needs of it (`HostData`), so
//! a guest call is kept or undone through the game's own checkpoints.

use std::sync::Arc;

use crate::config::Config;
use crate::server::game::{Checkpoint, Game};
use crate::wasm::{ClassRunner, HostData};

/// The game is the data of every guest call: a call is atomic through the game's checkpoints.
impl HostData for Game {
    type Checkpoint = Checkpoint;

    fn checkpoint(&mut self) -> Checkpoint {
        Game::checkpoint(self)
    }

    fn keep(&mut self, cp: Checkpoint) {
        Game::keep(self, cp)
    }

    fn undo(&mut self, cp: Checkpoint) {
        Game::undo(self, cp)
    }

    fn config(&self) -> &Config {
        &self.cfg
    }

    fn set_class_runner(&mut self, runner: Arc<ClassRunner<Game>>) {
        self.objclass.runner = Some(runner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WorldStore;

    /// The sandbox keeps or undoes a call through `HostData` alone: it must reach the game's
    /// checkpoints, world included.
    #[test]
    fn a_call_undone_through_host_data_leaves_nothing_and_a_kept_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let world = WorldStore::open(&dir.path().join("w.sqlite3")).unwrap();
        let mut game = Game::new(Arc::new(Config::default()), world);
        let cp = HostData::checkpoint(&mut game);
        let undone = game.world.create_object("pebble", "thing", None).unwrap();
        HostData::undo(&mut game, cp);
        assert!(game.world.object(undone).is_none(), "the undone call's object is gone");
        let cp = HostData::checkpoint(&mut game);
        let kept = game.world.create_object("stone", "thing", None).unwrap();
        HostData::keep(&mut game, cp);
        assert!(game.world.object(kept).is_some(), "the kept call's object stays");
        assert!(std::ptr::eq(HostData::config(&game), &*game.cfg), "the game's own config");
    }
}
