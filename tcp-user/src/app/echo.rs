//! `echo` (RFC 862): every byte received is sent back; the connection is closed once the
//! peer has closed and everything it sent has been echoed.

use super::App;
use crate::tcp::{Connection, Event, State};

/// The echo application.
#[derive(Default)]
pub struct Echo;

impl App for Echo {
    type ConnState = ();

    fn on_event(&mut self, conn: &mut Connection, _: &mut (), event: Event) {
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

/// Moves as much as fits from the receive buffer to the send buffer.
fn pump(conn: &mut Connection) {
    loop {
        let room = conn.send_capacity();
        let (first, _) = conn.recv_slices();
        let n = first.len().min(room);
        if n == 0 {
            return;
        }
        // Copy out through a stack buffer: the receive and send buffers belong to the same
        // connection, so they cannot be borrowed at once.
        let mut chunk = [0u8; 4096];
        let n = n.min(chunk.len());
        chunk[..n].copy_from_slice(&conn.recv_slices().0[..n]);
        let sent = conn.send(&chunk[..n]);
        conn.recv_consume(sent);
        if sent < n {
            return;
        }
    }
}
