//! `echo` (RFC 862): every byte received is sent back; the connection is closed once the
//! peer has closed and everything it sent has been echoed.

use crate::service::{ConnId, Cx, Event, Service, State};

/// The echo service.
#[derive(Default)]
pub struct Echo;

impl Service for Echo {
    type Data = ();

    fn on_event(&mut self, cx: &mut Cx<'_, ()>, id: ConnId, event: Event) {
        let Some(mut conn) = cx.conn(id) else { return };
        match event {
            Event::Readable | Event::Writable | Event::PeerClosed | Event::Established => {
                // What does not fit in the send buffer stays in the receive buffer (its
                // window closes) until `Writable`.
                conn.echo();
                // The peer closed its side and all its data has been echoed: close ours.
                if conn.state() == State::CloseWait && conn.readable() == 0 {
                    conn.shutdown();
                }
            }
            Event::Closed | Event::Reset | Event::TimedOut => {}
        }
    }
}
