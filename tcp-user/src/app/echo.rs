//! `echo` (RFC 862): every byte received is sent back; the connection is closed once the
//! peer has closed and everything it sent has been echoed.

use super::App;
use crate::tcp::{Connection, Event, Instant, State};

/// The echo application.
#[derive(Default)]
pub struct Echo;

impl App for Echo {
    type ConnState = ();

    fn on_event(&mut self, _now: Instant, conn: &mut Connection, _: &mut (), event: Event) {
        match event {
            Event::Readable | Event::Writable | Event::PeerClosed | Event::Established => {
                pump(conn);
                // The peer closed its side and all its data has been echoed: close ours.
                if conn.state() == State::CloseWait && conn.recv_slices().0.is_empty() {
                    conn.close();
                }
            }
            Event::Closed | Event::Reset | Event::TimedOut => {}
        }
    }
}

/// Moves as much as fits from the receive buffer to the send buffer. Data is always offered
/// to `send` even when the send buffer looks full: a short `send` is what asks the engine for
/// an `Event::Writable` when room frees.
fn pump(conn: &mut Connection) {
    // Copy out through a stack buffer: the receive and send buffers belong to the same
    // connection, so they cannot be borrowed at once.
    let mut chunk = [0u8; 4096];
    loop {
        let (first, _) = conn.recv_slices();
        let n = first.len().min(chunk.len());
        if n == 0 {
            return;
        }
        chunk[..n].copy_from_slice(&first[..n]);
        let sent = conn.send(&chunk[..n]);
        conn.recv_consume(sent);
        if sent < n {
            return;
        }
    }
}
