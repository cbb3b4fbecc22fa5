//! A shutdown signal shared by the portal's tasks: one sender flips it, every long loop
//! `select!`s on it.

use tokio::sync::watch;

/// Sends the shutdown signal.
#[derive(Clone)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// Waits for the shutdown signal.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// A connected trigger and listener.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    /// Signal every listener.
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }

    /// A new listener.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    /// Whether shutdown has been signalled.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Wait until shutdown is signalled.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }
}
