//! Frames in: parsing, dispatch to a connection, and every rule for segments that match no
//! connection (RFC 9293 sections 3.10.7.1 and 3.10.7.2): passive open, the half-open bound
//! and SYN cookies (RFC 4987), TIME_WAIT reuse (RFC 9293 3.10.7.4, RFC 6191), RST replies,
//! the connection limit and the memory budget.

use super::{Endpoint, Tx};
use crate::service::Service;
use crate::stats::DropReason;
use crate::tcp::{self, handle_unmatched, Connection, FourTuple, Instant, Segment, Unmatched};
use crate::wire::{emit_frame, parse_frame, FrameHeader, MacAddr};

impl<S: Service> Endpoint<S> {
    /// Handles one received Ethernet frame: parsed and verified, then given to its
    /// connection or to the listener rules. Replies and whatever the service does in
    /// response are written to `tx`. A frame that is not acceptable is counted under one
    /// [`DropReason`], never a panic.
    pub fn handle(&mut self, now: Instant, frame: &[u8], tx: &mut impl Tx) {
        let parsed = match parse_frame(frame) {
            Ok(p) => p,
            Err(reason) => return self.count_drop(reason),
        };
        let seg = &parsed.segment;
        let tuple = FourTuple {
            local_addr: parsed.dst_addr,
            local_port: seg.dst_port,
            remote_addr: parsed.src_addr,
            remote_port: seg.src_port,
        };
        // Only our own addresses are ours to answer for (the XDP program should have
        // steered nothing else here).
        if !self.shard.cfg.serves(tuple.local_addr) {
            return self.count_drop(DropReason::NotServed);
        }
        let listening = self.shard.is_listening(tuple.local_addr, tuple.local_port);
        let mut iss_floor = None;
        let can_accept = self.shard.can_accept_without_cookie();
        if let Some(id) = self.shard.table.lookup(&tuple) {
            let entry = self
                .shard
                .table
                .get_mut(id)
                .expect("indexed connection exists");
            // RFC 9293 3.10.7.4 (TIME-WAIT) / RFC 6191: a new SYN may reopen a tuple in
            // TIME_WAIT; the new incarnation's ISS must then lie above the old one's
            // sequence space.
            // Not while the service has still to read what the old one received, and only
            // when the SYN will be taken as a full connection: the TIME_WAIT entry must not
            // go for a SYN then refused, nor for one answered with a cookie (whose ISS would
            // ignore the floor). Otherwise TIME_WAIT answers it, as before.
            let reopen = listening
                && seg.flags.syn()
                && !seg.flags.ack()
                && entry.conn.recv_len() == 0
                && entry.conn.time_wait_accepts_syn(seg)
                && can_accept;
            if !reopen {
                if let Err(reason) = entry.conn.handle_segment(now, seg) {
                    self.count_drop(reason);
                }
                self.shard.mark(id);
                return self.run_work(now, tx);
            }
            iss_floor = Some(entry.conn.time_wait_isn_floor());
            if let Some(gone) = self.shard.table.remove(id) {
                self.shard.account_closed(&gone);
                self.shard.stats.time_wait_reused += 1;
            }
        }
        match handle_unmatched(seg, listening) {
            Unmatched::Accept => self.on_syn(now, &tuple, seg, parsed.src_mac, iss_floor, tx),
            Unmatched::Reset(rst) => {
                if listening && self.accept_cookie(now, &tuple, seg, parsed.src_mac) {
                    return self.run_work(now, tx);
                }
                self.send_rst(&tuple, parsed.src_mac, &rst, tx);
            }
            Unmatched::Drop(reason) => self.count_drop(reason),
        }
        self.run_work(now, tx);
    }

    /// A SYN for a listening port (RFC 9293 section 3.10.7.2). A full table or memory
    /// budget refuses it with RST; a full half-open queue answers with a SYN cookie and
    /// keeps no state (RFC 4987).
    fn on_syn(
        &mut self,
        now: Instant,
        tuple: &FourTuple,
        seg: &Segment,
        peer: MacAddr,
        iss_floor: Option<tcp::SeqNum>,
        tx: &mut impl Tx,
    ) {
        if let Err(reason) = self.shard.room() {
            self.count_drop(reason);
            let rst = tcp::unmatched::reset_for(seg);
            return self.send_rst(tuple, peer, &rst, tx);
        }
        if self.shard.table.half_open_count() >= self.shard.cfg.max_half_open {
            if !self.shard.cfg.syn_cookies {
                return self.count_drop(DropReason::SynQueueFull);
            }
            let syn_ack = self
                .shard
                .cookies
                .syn_ack(now, &self.shard.cfg.tcp, tuple, seg);
            let hdr = self.header(tuple, peer);
            if tx.send(|buf| emit_frame(buf, &hdr, &syn_ack)) {
                self.shard.stats.syn_cookies_sent += 1;
            } else {
                self.count_drop(DropReason::TxRingFull);
            }
            self.shard.last_cookie = Some(now);
            return;
        }
        let iss = self.shard.iss_for(now, tuple, iss_floor);
        let conn = Connection::accept(now, &self.shard.tcp, *tuple, seg, iss);
        if self.shard.insert(conn, S::Data::default(), peer).is_err() {
            self.count_drop(DropReason::TableFull);
        }
    }

    /// An ACK that matched no connection on a listening port may complete a cookie
    /// handshake. Returns true when the segment was taken care of (a connection now exists,
    /// or there was no room and the peer's retransmission may find some).
    fn accept_cookie(
        &mut self,
        now: Instant,
        tuple: &FourTuple,
        seg: &Segment,
        peer: MacAddr,
    ) -> bool {
        if !self.shard.cookies_recent(now) || !seg.flags.ack() || seg.flags.syn() || seg.flags.rst()
        {
            return false;
        }
        let cfg = &self.shard.tcp;
        let Some(conn) = self.shard.cookies.accept_ack(now, cfg, tuple, seg) else {
            self.count_drop(DropReason::BadCookie);
            return false;
        };
        let inserted = self.shard.room().and_then(|()| {
            let r = self.shard.insert(conn, S::Data::default(), peer);
            r.map(|_| ()).map_err(|_| DropReason::TableFull)
        });
        if let Err(reason) = inserted {
            // Keep quiet: the peer retransmits and we may have room then.
            self.count_drop(reason);
        }
        true
    }

    fn send_rst(&mut self, tuple: &FourTuple, peer: MacAddr, rst: &Segment, tx: &mut impl Tx) {
        let hdr = self.header(tuple, peer);
        if tx.send(|buf| emit_frame(buf, &hdr, rst)) {
            self.shard.stats.rsts_sent += 1;
        } else {
            self.count_drop(DropReason::TxRingFull);
        }
    }

    fn header(&self, tuple: &FourTuple, peer_mac: MacAddr) -> FrameHeader {
        super::frame_header(&self.shard, tuple, peer_mac)
    }
}
