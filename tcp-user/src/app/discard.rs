//! `discard` (RFC 863): every byte received is thrown away; the connection is closed when the
//! peer closes.

use crate::service::{ConnId, Cx, Event, Service, State};

/// The discard service.
#[derive(Default)]
pub struct Discard;

impl Service for Discard {
    type Data = ();

    fn on_event(&mut self, cx: &mut Cx<'_, ()>, id: ConnId, event: Event) {
        let Some(mut conn) = cx.conn(id) else { return };
        let n = conn.readable();
        conn.consume(n);
        if matches!(event, Event::PeerClosed) || conn.state() == State::CloseWait {
            conn.shutdown();
        }
    }
}
