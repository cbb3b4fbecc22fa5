//! How the host's own decisions reach clients once they are made from types rather than texts:
//! the close code of a connection follows the kind of close, not its reason's wording.

use crate::support;

use futures_util::StreamExt;
use support::{Client, Host, GAME};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// The close frame a client receives next (texts before it skipped): code and reason.
async fn close_frame(c: &mut Client) -> (CloseCode, String) {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(30), c.ws.next())
            .await
            .expect("no close frame within the wait");
        match msg {
            Some(Ok(Message::Close(Some(f)))) => return (f.code, f.reason.to_string()),
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                panic!("closed without a frame")
            }
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_portal_shutting_down_closes_websockets_as_going_away_and_a_quit_closes_normally() {
    let mut host = Host::start(GAME, "");
    let mut quitter = host.player("Quinn").await;
    quitter.send_text("quit").await;
    assert_eq!(close_frame(&mut quitter).await, (CloseCode::Normal, "quit".into()));
    let mut stayer = host.player("Stan").await;
    assert!(host.stop().success(), "portal exits 0 on SIGTERM");
    assert_eq!(close_frame(&mut stayer).await, (CloseCode::Away, "Server shutting down.".into()));
}
