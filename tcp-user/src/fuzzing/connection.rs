//! The connection script target.

use super::*;

use super::observer::*;

/// Runs a script against one passive connection. Layout: two config bytes, the SYN
/// (option flags, MSS, window scale, TSval, window, IRS, ISS), then operations until the
/// input ends; see `Script::step`.
pub fn fuzz_connection(data: &[u8]) {
    let mut input = Input::new(data);
    let config = config_from(&mut input);
    let opt = input.u8();
    let syn_options = TcpOptions {
        mss: (opt & 1 != 0).then(|| input.u16()),
        window_scale: (opt & 2 != 0).then(|| input.u8() % 16),
        sack_permitted: opt & 4 != 0,
        timestamps: (opt & 8 != 0).then(|| Timestamps {
            value: input.u32(),
            echo: 0,
        }),
        sack: SackBlocks::default(),
    };
    let window = input.u16();
    let irs = SeqNum(input.u32());
    let iss = SeqNum(input.u32());
    let syn = Segment {
        src_port: LOCAL.remote_port,
        dst_port: LOCAL.local_port,
        seq: irs,
        ack: SeqNum(0),
        flags: TcpFlags::SYN,
        window,
        urgent: 0,
        options: syn_options,
        payload: &[],
    };
    assert_eq!(handle_unmatched(&syn, true), Unmatched::Accept);
    let now = Instant::from_millis(1_000_000);
    let conn = Connection::accept(now, &std::sync::Arc::new(config), LOCAL, &syn, iss);
    let mut script = Script {
        conn,
        obs: Observer::new(config, &syn, iss),
        now,
        peer: Peer {
            nxt: irs + 1,
            wnd: window,
            ts: syn_options.timestamps.map_or(0, |t| t.value),
            ts_echo: 0,
        },
        payload: vec![0; 4096],
        frame: vec![0; 16 * 1024],
        app: vec![0; 4096],
        trace: std::env::var_os("FUZZ_TRACE").is_some(),
    };
    script.after_step();
    while !input.is_empty() {
        script.step(&mut input);
        script.after_step();
    }
}

/// What the scripted peer knows about its own side.
pub(super) struct Peer {
    /// Next sequence number the peer would send.
    pub(super) nxt: SeqNum,
    pub(super) wnd: u16,
    /// Last TSval the peer sent, and the TSval of ours it echoes.
    pub(super) ts: u32,
    pub(super) ts_echo: u32,
}

pub(super) struct Script {
    pub(super) conn: Connection,
    pub(super) obs: Observer,
    pub(super) now: Instant,
    pub(super) peer: Peer,
    pub(super) payload: Vec<u8>,
    pub(super) frame: Vec<u8>,
    pub(super) app: Vec<u8>,
    /// `FUZZ_TRACE` set: print every segment in and out (for reading a reproducer).
    pub(super) trace: bool,
}

impl Script {
    /// One operation: the first byte picks it, the following bytes parametrize it.
    pub(super) fn step(&mut self, input: &mut Input) {
        let op = input.u8() % 12;
        if self.trace {
            eprintln!("-- op {op} at {:?} in {:?}", self.now, self.conn.state());
        }
        match op {
            0..=2 => self.peer_segment(input),
            3 => self.raw_segment(input),
            4 => self.peer_acks_all(input),
            5 | 6 => self.advance_time(input),
            7 => self.app_recv(input),
            8 => self.app_send(input),
            9 => {
                if input.u8() < 64 {
                    self.conn.close();
                    self.obs.on_close();
                }
            }
            10 => {
                if input.u8() < 16 {
                    self.conn.abort();
                }
            }
            _ => self.peer_syn(input),
        }
    }

    /// A segment a plausible peer would send: sequence and acknowledgment numbers close
    /// to what each side expects, payload from the peer's pattern.
    pub(super) fn peer_segment(&mut self, input: &mut Input) {
        let fl = input.u8();
        let mut flags = TcpFlags::NONE;
        if fl & 0x01 == 0 {
            flags |= TcpFlags::ACK;
        }
        if fl & 0x06 == 0x06 {
            flags |= TcpFlags::FIN;
        }
        if fl & 0x38 == 0x38 {
            flags |= TcpFlags::RST;
        }
        if fl & 0x40 != 0 {
            flags |= TcpFlags::PSH;
        }
        let delta = i64::from(input.u8() as i8);
        let seq = match input.u8() % 4 {
            0 | 1 => self.peer.nxt,
            2 => SeqNum((i64::from(self.peer.nxt.0) + delta * 97) as u32),
            _ => SeqNum((i64::from(self.obs.last_ack.unwrap_or(self.peer.nxt).0) + delta) as u32),
        };
        let ack = self.choose_ack(input);
        let len = match input.u8() {
            l @ 0..=127 => usize::from(l) % 64,
            l => usize::from(l - 128) * 24,
        };
        let window = if fl & 0x80 != 0 {
            input.u16()
        } else {
            self.peer.wnd
        };
        self.peer.wnd = window;
        let mut options = TcpOptions::default();
        let o = input.u8();
        if o & 1 != 0 {
            // Mostly advancing TSvals; sometimes an old one (PAWS).
            let step = input.u8();
            let value = if step >= 0xf0 {
                self.peer.ts.wrapping_sub(u32::from(step))
            } else {
                self.peer.ts = self.peer.ts.wrapping_add(u32::from(step));
                self.peer.ts
            };
            options.timestamps = Some(Timestamps {
                value,
                echo: self.peer.ts_echo,
            });
        }
        if o & 2 != 0 {
            let base = self.obs.iss + 1;
            for _ in 0..(o >> 2) % 5 {
                let left = base + usize::from(input.u16());
                let right = left + usize::from(input.u8()) * 16;
                options.sack.push(SackBlock { left, right });
            }
        }
        let seg_end = seq + len + usize::from(flags.fin());
        if seg_end > self.peer.nxt && dist(seq, self.peer.nxt) <= 0 {
            self.peer.nxt = seg_end;
        }
        self.deliver(seq, ack, flags, window, options, len, o & 0x80 != 0);
    }

    /// Acknowledgment numbers near what we sent: everything, a little less, or around ISS.
    pub(super) fn choose_ack(&mut self, input: &mut Input) -> SeqNum {
        let sent = self.obs.snd_max;
        match input.u8() % 5 {
            0 | 1 => sent,
            2 => sent.minus(usize::from(input.u16()) % (self.obs.sent_span() + 2)),
            3 => self.obs.iss + usize::from(input.u8()),
            _ => SeqNum(sent.0.wrapping_add(u32::from(input.u8())).wrapping_sub(128)),
        }
    }

    /// A segment with arbitrary header values.
    pub(super) fn raw_segment(&mut self, input: &mut Input) {
        let seq = SeqNum(input.u32());
        let ack = SeqNum(input.u32());
        let flags = TcpFlags(input.u8());
        let window = input.u16();
        let len = usize::from(input.u8()) * 8;
        let o = input.u8();
        let mut options = TcpOptions::default();
        if o & 1 != 0 {
            options.timestamps = Some(Timestamps {
                value: input.u32(),
                echo: input.u32(),
            });
        }
        if o & 2 != 0 {
            options.mss = Some(input.u16());
            options.window_scale = Some(input.u8());
            options.sack_permitted = true;
        }
        if o & 4 != 0 {
            options.sack.push(SackBlock {
                left: SeqNum(input.u32()),
                right: SeqNum(input.u32()),
            });
        }
        self.deliver(seq, ack, flags, window, options, len, o & 8 != 0);
    }

    /// A well-behaved peer: acknowledges everything we sent, optionally with new data.
    pub(super) fn peer_acks_all(&mut self, input: &mut Input) {
        let len = usize::from(input.u8()) * 8;
        let fin = input.u8() == 0xff;
        let mut flags = TcpFlags::ACK;
        if fin {
            flags |= TcpFlags::FIN;
        }
        let mut options = TcpOptions::default();
        if self.obs.ts_ok {
            self.peer.ts = self.peer.ts.wrapping_add(1);
            options.timestamps = Some(Timestamps {
                value: self.peer.ts,
                echo: self.peer.ts_echo,
            });
        }
        let seq = self.peer.nxt;
        self.peer.nxt = seq + len + usize::from(fin);
        let (ack, wnd) = (self.obs.snd_max, self.peer.wnd);
        self.deliver(seq, ack, flags, wnd, options, len, false);
    }

    /// A SYN on the established tuple: retransmitted (same IRS) or new.
    pub(super) fn peer_syn(&mut self, input: &mut Input) {
        let seq = if input.bit() {
            self.obs.irs
        } else {
            SeqNum(input.u32())
        };
        let seg = Segment {
            src_port: LOCAL.remote_port,
            dst_port: LOCAL.local_port,
            seq,
            flags: TcpFlags::SYN,
            window: self.peer.wnd,
            ..Segment::default()
        };
        let reopens = self.conn.time_wait_accepts_syn(&seg);
        assert!(!reopens || self.conn.state() == State::TimeWait);
        if reopens {
            assert!(dist(self.conn.time_wait_isn_floor(), self.obs.snd_max) > 0);
        }
        self.obs.on_peer_segment(&seg);
        let _ = self.conn.handle_segment(self.now, &seg);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn deliver(
        &mut self,
        seq: SeqNum,
        ack: SeqNum,
        flags: TcpFlags,
        window: u16,
        options: TcpOptions,
        len: usize,
        through_wire: bool,
    ) {
        let len = len.min(self.payload.len());
        for (i, b) in self.payload[..len].iter_mut().enumerate() {
            *b = peer_byte(seq.0.wrapping_add(i as u32));
        }
        let seg = Segment {
            src_port: LOCAL.remote_port,
            dst_port: LOCAL.local_port,
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
            payload: &self.payload[..len],
        };
        self.obs.on_peer_segment(&seg);
        if self.trace {
            eprintln!(
                "   in  {:?} seq={} ack={} win={} len={} {:?}",
                seg.flags,
                seg.seq,
                seg.ack,
                seg.window,
                seg.payload.len(),
                seg.options
            );
        }
        if through_wire {
            // Through emit_frame and parse_frame, as the worker would see it.
            let hdr = FrameHeader {
                src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
                dst_mac: MacAddr([2, 0, 0, 0, 0, 2]),
                src_addr: LOCAL.remote_addr,
                dst_addr: LOCAL.local_addr,
                ttl: 64,
                ip_id: 0,
                flow_label: 0,
            };
            let n = emit_frame(&mut self.frame, &hdr, &seg).expect("frame buffer fits");
            let parsed = parse_frame(&self.frame[..n]).expect("emitted frame parses");
            assert_eq!(canonical(&parsed.segment), as_emitted(&seg));
            let _ = self.conn.handle_segment(self.now, &parsed.segment);
        } else {
            let _ = self.conn.handle_segment(self.now, &seg);
        }
    }

    pub(super) fn advance_time(&mut self, input: &mut Input) {
        let b = input.u8();
        let ms = match b >> 6 {
            0 => u64::from(b & 0x3f),
            1 => u64::from(input.u8()) * 10,
            2 => u64::from(input.u16()) * 4,
            _ => {
                // Straight to the next deadline.
                let next = self
                    .conn
                    .poll_timeout()
                    .map_or(0, |t| t.millis().saturating_sub(self.now.millis()));
                next + u64::from(b & 1)
            }
        };
        self.now = self.now + Duration::from_millis(ms);
        if self.conn.poll_timeout().is_some_and(|t| t <= self.now) {
            self.conn.handle_timeout(self.now);
            if let Some(t) = self.conn.poll_timeout() {
                assert!(
                    t > self.now,
                    "deadline {t:?} still due after handle_timeout({:?}) in {:?}",
                    self.now,
                    self.conn.state()
                );
            }
        }
    }

    pub(super) fn app_recv(&mut self, input: &mut Input) {
        let want = usize::from(input.u16()) % (self.app.len() + 1);
        let available = self.conn.recv_len();
        let n = if input.bit() {
            let n = self.conn.recv(&mut self.app[..want]);
            assert_eq!(n, want.min(available), "recv returned a wrong count");
            n
        } else {
            let (a, b) = self.conn.recv_slices();
            assert_eq!(a.len() + b.len(), available);
            let n = want.min(available);
            let first = n.min(a.len());
            self.app[..first].copy_from_slice(&a[..first]);
            self.app[first..n].copy_from_slice(&b[..n - first]);
            self.conn.recv_consume(n);
            n
        };
        assert_eq!(self.conn.recv_len(), available - n);
        let first = self.obs.irs + 1 + self.obs.read;
        for (i, &b) in self.app[..n].iter().enumerate() {
            assert_eq!(
                b,
                peer_byte(first.0.wrapping_add(i as u32)),
                "recv returned a wrong byte at stream offset {}",
                self.obs.read + i
            );
        }
        self.obs.read += n;
    }

    pub(super) fn app_send(&mut self, input: &mut Input) {
        let want = usize::from(input.u16()) % (self.app.len() + 1);
        for (i, b) in self.app[..want].iter_mut().enumerate() {
            *b = app_byte((self.obs.queued + i) as u32);
        }
        let cap = self.conn.send_capacity();
        let n = self.conn.send(&self.app[..want]);
        assert_eq!(n, want.min(cap), "send took a wrong count");
        if self.obs.app_closed {
            assert_eq!(n, 0, "send after close");
        }
        self.obs.queued += n;
    }

    /// After every operation: drain events and segments and check them, then the state.
    pub(super) fn after_step(&mut self) {
        while let Some(ev) = self.conn.poll_event() {
            self.obs.on_event(ev, &self.conn);
        }
        let was_closed = self.obs.seen_closed;
        let mut count = 0;
        while let Some(seg) = self.conn.poll_transmit(self.now) {
            count += 1;
            assert!(count < 100_000, "poll_transmit never returns None");
            assert!(!was_closed, "a closed connection sent {seg:?}");
            if self.trace {
                eprintln!(
                    "   out {:?} seq={} ack={} win={} len={} {:?}",
                    seg.flags,
                    seg.seq,
                    seg.ack,
                    seg.window,
                    seg.payload.len(),
                    seg.options
                );
            }
            self.obs.on_transmit(&seg, &mut self.frame);
            if let Some(ts) = seg.options.timestamps {
                self.peer.ts_echo = ts.value;
            }
        }
        assert!(self.conn.poll_transmit(self.now).is_none());
        self.obs.on_state(&self.conn);
        // A closed connection keeps no timer, but the one that bounds how long data it
        // received and nobody read is kept.
        if self.conn.state() == State::Closed && !self.conn.keeps_unread_data() {
            assert_eq!(
                self.conn.poll_timeout(),
                None,
                "a closed connection keeps a timer"
            );
        }
    }
}
