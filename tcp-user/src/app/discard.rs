//! `discard` (RFC 863): every byte received is thrown away; the connection is closed when the
//! peer closes.

use super::App;
use crate::tcp::{Connection, Event, Instant, State};

/// The discard application.
#[derive(Default)]
pub struct Discard;

impl App for Discard {
    type ConnState = ();

    fn on_event(&mut self, _now: Instant, conn: &mut Connection, _: &mut (), event: Event) {
        let (a, b) = conn.recv_slices();
        let n = a.len() + b.len();
        conn.recv_consume(n);
        if matches!(event, Event::PeerClosed) || conn.state() == State::CloseWait {
            conn.close();
        }
    }
}
