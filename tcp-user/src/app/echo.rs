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
                conn.echo_received();
                // The peer closed its side and all its data has been echoed: close ours.
                if conn.state() == State::CloseWait && conn.recv_slices().0.is_empty() {
                    conn.close();
                }
            }
            Event::Closed | Event::Reset | Event::TimedOut => {}
        }
    }
}
