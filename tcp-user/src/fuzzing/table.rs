//! The connection table target.

use super::*;

/// Several connections in a small [`ConnectionTable`], driven as the worker does: a
/// segment for one of 8 tuples (accepting SYNs for unknown ones), or time passing with the
/// expired timers popped. After the timers ran, no live connection may still be due: the
/// table would never call it again.
pub fn fuzz_table(data: &[u8]) {
    let mut input = Input::new(data);
    let config = config_from(&mut input);
    let max = usize::from(input.u8() % 8) + 1;
    let mut table: ConnectionTable<()> = ConnectionTable::new(max, usize::from(input.u8() % 4));
    let mut now = Instant::from_millis(1_000_000);
    let tuple = |i: u8| FourTuple {
        remote_port: 40_000 + u16::from(i % 8),
        ..LOCAL
    };
    while !input.is_empty() {
        let op = input.u8();
        if op & 0x80 != 0 {
            now = now + Duration::from_millis(u64::from(input.u16()) * 8);
            while let Some(id) = table.pop_expired(now) {
                let entry = table.get_mut(id).expect("popped id is live");
                if entry.conn.poll_timeout().is_some_and(|d| d <= now) {
                    entry.conn.handle_timeout(now);
                }
                drain(&mut entry.conn, now);
                table.after_io(id);
            }
            for id in table.ids().collect::<Vec<_>>() {
                let conn = &table.get_mut(id).expect("live").conn;
                if let Some(t) = conn.poll_timeout() {
                    assert!(
                        t > now,
                        "connection {id} lost its timer: due {t:?}, now {now:?}"
                    );
                }
            }
        } else {
            let t = tuple(op);
            let seg = Segment {
                src_port: t.remote_port,
                dst_port: t.local_port,
                seq: SeqNum(input.u32()),
                ack: SeqNum(input.u32()),
                flags: TcpFlags(input.u8()),
                window: input.u16(),
                ..Segment::default()
            };
            match table.lookup(&t) {
                Some(id) => {
                    let entry = table.get_mut(id).expect("indexed id is live");
                    assert_eq!(entry.conn.tuple(), t, "lookup returned another tuple");
                    if input.bit() {
                        entry.conn.abort();
                    } else {
                        let _ = entry.conn.handle_segment(now, &seg);
                    }
                    drain(&mut entry.conn, now);
                    table.after_io(id);
                }
                None => {
                    if handle_unmatched(&seg, true) == Unmatched::Accept && table.available() > 0 {
                        let conn = Connection::accept(now, &config, t, &seg, SeqNum(input.u32()));
                        let id = table.insert(conn, (), [2, 0, 0, 0, 0, 1]).expect("room");
                        drain(&mut table.get_mut(id).expect("inserted").conn, now);
                        table.after_io(id);
                    }
                }
            }
        }
        assert_eq!(table.len() + table.available(), max, "slots leaked");
        for id in table.ids().collect::<Vec<_>>() {
            let conn = &table.get_mut(id).expect("indexed id is live").conn;
            assert!(!conn.is_closed(), "a closed connection stayed in the table");
            let tuple = conn.tuple();
            assert_eq!(table.lookup(&tuple), Some(id));
        }
    }
}

pub(super) fn drain(conn: &mut Connection, now: Instant) {
    while conn.poll_event().is_some() {}
    let mut n = 0;
    while conn.poll_transmit(now).is_some() {
        n += 1;
        assert!(n < 100_000, "poll_transmit never returns None");
    }
}
