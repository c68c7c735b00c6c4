//! What the scripted peer has seen, and the invariants checked on it.

use super::*;

/// Everything the scripted side has seen, and the invariants on it.
pub(super) struct Observer {
    pub(super) config: Config,
    pub(super) iss: SeqNum,
    pub(super) irs: SeqNum,
    /// What the SYN offered.
    pub(super) syn_options: TcpOptions,
    /// Negotiated, as the SYN-ACK says.
    pub(super) synack_seen: bool,
    pub(super) ts_ok: bool,
    pub(super) sack_ok: bool,
    pub(super) rcv_wscale: u8,
    /// Highest sequence number we sent, plus one.
    pub(super) snd_max: SeqNum,
    /// Last ACK field we sent and the right edge of the window we advertised.
    pub(super) last_ack: Option<SeqNum>,
    pub(super) right_edge: Option<SeqNum>,
    /// Highest end (seq + SEG.LEN) of anything the peer sent, as an offset from IRS + 1.
    pub(super) peer_high: i64,
    /// Application bytes read, queued, and whether it closed.
    pub(super) read: usize,
    pub(super) queued: usize,
    pub(super) app_closed: bool,
    /// Once seen CLOSED (and drained), nothing but a pending RST may follow.
    pub(super) seen_closed: bool,
    pub(super) state: State,
    pub(super) active_close: bool,
    pub(super) passive_close: bool,
    pub(super) established_events: u32,
    pub(super) peer_closed_events: u32,
}

impl Observer {
    pub(super) fn new(config: Config, syn: &Segment, iss: SeqNum) -> Observer {
        Observer {
            config,
            iss,
            irs: syn.seq,
            syn_options: syn.options,
            synack_seen: false,
            ts_ok: false,
            sack_ok: false,
            rcv_wscale: 0,
            snd_max: iss,
            last_ack: None,
            right_edge: None,
            peer_high: 0,
            read: 0,
            queued: 0,
            app_closed: false,
            seen_closed: false,
            state: State::SynReceived,
            active_close: false,
            passive_close: false,
            established_events: 0,
            peer_closed_events: 0,
        }
    }

    /// Sequence space we sent beyond ISS (for choosing acknowledgment numbers).
    pub(super) fn sent_span(&self) -> usize {
        dist(self.snd_max, self.iss).max(0) as usize
    }

    pub(super) fn on_close(&mut self) {
        if matches!(
            self.state,
            State::SynReceived | State::Established | State::CloseWait
        ) {
            self.app_closed = true;
        }
    }

    pub(super) fn on_peer_segment(&mut self, seg: &Segment) {
        let end = dist(seg.seq + seg.seq_len(), self.irs + 1);
        self.peer_high = self.peer_high.max(end);
    }

    pub(super) fn on_event(&mut self, ev: Event, conn: &Connection) {
        let state = conn.state();
        match ev {
            Event::Established => {
                self.established_events += 1;
                assert_eq!(self.established_events, 1, "Established reported twice");
            }
            Event::PeerClosed => {
                self.peer_closed_events += 1;
                assert_eq!(self.peer_closed_events, 1, "PeerClosed reported twice");
            }
            Event::Readable => assert!(conn.recv_len() > 0, "Readable with nothing to read"),
            Event::Reset | Event::TimedOut => {
                assert_eq!(
                    state,
                    State::Closed,
                    "{ev:?} but the connection is {state:?}"
                )
            }
            Event::Closed => assert!(
                matches!(state, State::TimeWait | State::Closed),
                "Closed reported in {state:?}"
            ),
            Event::Writable => {}
        }
    }

    /// Checks one segment we send.
    pub(super) fn on_transmit(&mut self, seg: &Segment, frame: &mut [u8]) {
        assert_eq!(
            (seg.src_port, seg.dst_port),
            (LOCAL.local_port, LOCAL.remote_port)
        );
        let f = seg.flags;
        assert_eq!(seg.urgent, 0);
        assert!(!f.urg() && !f.contains(TcpFlags::ECE) && !f.contains(TcpFlags::CWR));
        assert!(!(f.syn() && (f.fin() || f.rst())), "bad flags {f:?}");

        // Every segment we build must survive the wire unchanged.
        let hdr = FrameHeader {
            src_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            dst_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            src_addr: LOCAL.local_addr,
            dst_addr: LOCAL.remote_addr,
            ttl: 64,
            ip_id: 0,
            flow_label: 0,
        };
        let n = emit_frame(frame, &hdr, seg).expect("an engine segment must fit a frame");
        let parsed = parse_frame(&frame[..n]).expect("an engine segment must parse");
        assert_eq!(
            canonical(&parsed.segment),
            canonical(seg),
            "the wire cannot carry this segment exactly"
        );

        if f.rst() {
            assert!(seg.payload.is_empty() && !f.fin());
            return;
        }
        assert!(f.ack(), "segment without ACK: {seg:?}");
        let shift;
        if f.syn() {
            // The SYN-ACK: <SEQ=ISS><ACK=IRS+1>, options as negotiated.
            assert_eq!(seg.seq, self.iss);
            assert_eq!(seg.ack, self.irs + 1);
            assert!(seg.payload.is_empty());
            let o = &seg.options;
            assert_eq!(o.mss, Some(self.config.mss));
            let ws = self.config.window_scaling && self.syn_options.window_scale.is_some();
            let ts = self.config.timestamps && self.syn_options.timestamps.is_some();
            let sack = self.config.sack && self.syn_options.sack_permitted;
            assert_eq!(o.window_scale.is_some(), ws);
            assert_eq!(o.timestamps.is_some(), ts);
            assert_eq!(o.sack_permitted, sack);
            assert!(o.window_scale.unwrap_or(0) <= 14);
            self.ts_ok = ts;
            self.sack_ok = sack;
            self.rcv_wscale = o.window_scale.unwrap_or(0);
            self.synack_seen = true;
            shift = 0;
        } else {
            assert!(self.synack_seen, "a segment before the SYN-ACK");
            let o = &seg.options;
            assert!(o.mss.is_none() && o.window_scale.is_none() && !o.sack_permitted);
            assert_eq!(
                o.timestamps.is_some(),
                self.ts_ok,
                "timestamps not as negotiated"
            );
            if !self.sack_ok {
                assert!(o.sack.is_empty(), "SACK blocks without SACK-permitted");
            }
            assert!(o.sack.len() <= if self.ts_ok { 3 } else { 4 });
            for b in o.sack.as_slice() {
                assert!(b.left < b.right, "empty SACK block {b:?}");
                assert!(
                    b.left > seg.ack,
                    "SACK block {b:?} at or below ACK {:?}",
                    seg.ack
                );
                assert!(
                    dist(b.right, self.irs + 1) <= self.peer_high,
                    "SACK beyond data"
                );
            }
            shift = self.rcv_wscale;
        }

        // Our sequence numbers: within [ISS, ISS + 1 + queued + FIN].
        let start = dist(seg.seq, self.iss);
        let end = start + seg.seq_len() as i64;
        let limit = 1 + self.queued as i64 + i64::from(self.app_closed);
        assert!(start >= 0, "seq {:?} below ISS {:?}", seg.seq, self.iss);
        assert!(
            end <= limit,
            "sent up to ISS+{end}, only ISS+{limit} exists"
        );
        if !seg.payload.is_empty() {
            let mss = crate::tcp::connection::peer_mss(self.syn_options.mss);
            let cap = mss.min(usize::from(self.config.mss));
            assert!(
                seg.payload.len() <= cap,
                "payload {} above MSS {cap}",
                seg.payload.len()
            );
            let off = (start - 1) as u32;
            for (i, &b) in seg.payload.iter().enumerate() {
                assert_eq!(
                    b,
                    app_byte(off + i as u32),
                    "sent a wrong byte at offset {}",
                    off as usize + i
                );
            }
        }
        if f.fin() {
            assert!(self.app_closed, "FIN without close()");
            assert_eq!(end, limit, "FIN not at the end of the stream");
        }
        if dist(seg.seq + seg.seq_len(), self.snd_max) > 0 {
            self.snd_max = seg.seq + seg.seq_len();
        }

        // Their sequence numbers: RCV.NXT only moves forward, never past what the peer sent
        // or past a window we offered, and never behind what the application read.
        let ack_off = dist(seg.ack, self.irs + 1);
        if let Some(prev) = self.last_ack {
            assert!(
                seg.ack >= prev,
                "ACK moved back from {prev:?} to {:?}",
                seg.ack
            );
        }
        assert!(
            ack_off <= self.peer_high,
            "ACKed ahead of what the peer sent"
        );
        assert!(ack_off >= self.read as i64, "ACK behind what was read");
        if let Some(edge) = self.right_edge {
            assert!(
                dist(seg.ack, edge) <= 1,
                "accepted data beyond the offered window"
            );
        }
        let wnd = usize::from(seg.window) << shift;
        let slack = (1usize << self.rcv_wscale) - 1;
        assert!(
            wnd <= self.config.recv_buffer + slack,
            "window {wnd} above the buffer"
        );
        let mut edge = seg.ack + wnd;
        if let Some(prev) = self.right_edge {
            if f.syn() {
                // A retransmitted SYN-ACK cannot carry more than 65535 unscaled (RFC 7323
                // section 2.2) and does not take back what a scaled window offered.
                edge = edge.max(prev);
            }
            // The edge never moves left by a scale unit or more; below it, window scaling's
            // granularity may retract it (RFC 7323 section 2.4) while the receiver still
            // accepts everything up to the edge it offered before.
            let granularity = 1i64 << self.rcv_wscale;
            assert!(
                dist(edge, prev) > -granularity,
                "window edge moved left from {prev:?} to {edge:?}"
            );
            edge = edge.max(prev);
        }
        self.last_ack = Some(seg.ack);
        self.right_edge = Some(edge);
    }

    pub(super) fn on_state(&mut self, conn: &Connection) {
        let s = conn.state();
        if self.seen_closed {
            assert_eq!(s, State::Closed, "a closed connection came back as {s:?}");
        }
        assert!(!conn.is_closed() || s == State::Closed);
        let rank = |s: State| match s {
            State::Closed => 5,
            State::TimeWait => 4,
            State::FinWait2 | State::Closing | State::LastAck => 3,
            State::FinWait1 | State::CloseWait => 2,
            State::Established => 1,
            _ => 0,
        };
        assert!(
            rank(s) >= rank(self.state),
            "went back from {:?} to {s:?}",
            self.state
        );
        match s {
            State::FinWait1 | State::FinWait2 | State::Closing | State::TimeWait => {
                self.active_close = true
            }
            State::CloseWait | State::LastAck => self.passive_close = true,
            _ => {}
        }
        assert!(
            !(self.active_close && self.passive_close),
            "both close paths taken"
        );
        if self.active_close {
            assert!(self.app_closed, "{s:?} without close()");
        }
        assert!(
            self.read as i64 + conn.recv_len() as i64 <= self.peer_high,
            "more readable than the peer sent"
        );
        if s == State::Closed {
            self.seen_closed = true;
        }
        self.state = s;
    }
}

// ---------------------------------------------------------------------------------------
// The connection table
// ---------------------------------------------------------------------------------------
