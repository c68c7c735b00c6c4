//! Builds the seed corpus: real frames for `frame`, and scripts in the byte format of
//! `tcp_user::fuzzing::fuzz_connection` / `fuzz_table` that walk the interesting paths
//! (handshake, data both ways, loss, zero window, both closes, RST, TIME-WAIT).

use tcp_user::tcp::{SackBlock, SackBlocks, Segment, SeqNum, TcpFlags, TcpOptions, Timestamps};
use tcp_user::wire::{emit_frame, Addr, FrameHeader, Ipv4Packet, MacAddr, TcpPacket};

type Seeds = Vec<(String, Vec<u8>)>;

const ETH: usize = 14;

fn header() -> FrameHeader {
    FrameHeader {
        src_mac: MacAddr([0xe6, 0x5d, 0xab, 0xf2, 0x31, 0x1c]),
        dst_mac: MacAddr([0x02, 0, 0, 0, 0, 0x02]),
        src_addr: Addr::v4(0x0a09_0001),
        dst_addr: Addr::v4(0x0a09_0002),
        ttl: 64,
        ip_id: 0x4e0c,
        flow_label: 0,
    }
}

/// 2001:db8::2 -> 2001:db8::1 (the addresses of the kernel's v6 SYN in `wire::checksum`).
fn header_v6() -> FrameHeader {
    let addr = |last: u8| {
        let mut a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        a[15] = last;
        Addr::v6(a)
    };
    FrameHeader {
        src_addr: addr(2),
        dst_addr: addr(1),
        flow_label: 0x613d9,
        ..header()
    }
}

fn frame_v6(seg: &Segment) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let n = emit_frame(&mut buf, &header_v6(), seg).expect("fits");
    buf.truncate(n);
    buf
}

fn frame(seg: &Segment) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let n = emit_frame(&mut buf, &header(), seg).expect("fits");
    buf.truncate(n);
    buf
}

fn seg(flags: TcpFlags, seq: u32, ack: u32, options: TcpOptions, payload: &[u8]) -> Segment<'_> {
    Segment {
        src_port: 40718,
        dst_port: 80,
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        window: 502,
        urgent: 0,
        options,
        payload,
    }
}

fn ts(value: u32, echo: u32) -> TcpOptions {
    TcpOptions {
        timestamps: Some(Timestamps { value, echo }),
        ..TcpOptions::default()
    }
}

fn sack(n: u32, with_ts: bool) -> TcpOptions {
    let mut blocks = SackBlocks::default();
    for i in 0..n {
        blocks.push(SackBlock {
            left: SeqNum(2000 + 3000 * i),
            right: SeqNum(3000 + 3000 * i),
        });
    }
    TcpOptions {
        sack: blocks,
        timestamps: with_ts.then_some(Timestamps { value: 7, echo: 9 }),
        ..TcpOptions::default()
    }
}

/// Recomputes both checksums after an edit.
fn refill(f: &mut [u8]) {
    let ihl = usize::from(f[ETH] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([f[ETH + 2], f[ETH + 3]]));
    Ipv4Packet::new_unchecked(&mut f[ETH..]).fill_checksum();
    let h = header();
    let end = (ETH + total).min(f.len());
    let _ = TcpPacket::new_unchecked(&mut f[ETH + ihl..end]).fill_checksum(h.src_addr, h.dst_addr);
}

/// A SYN captured from Linux 6.x (MSS 1460, SACK-permitted, TS, NOP, WS 7), with the full
/// checksum a NIC would have written.
const LINUX_SYN: [u8; 74] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xe6, 0x5d, 0xab, 0xf2, 0x31, 0x1c, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x3c, 0x4e, 0x0c, 0x40, 0x00, 0x40, 0x06, 0xd8, 0x9b, 0x0a, 0x09, 0x00, 0x01, 0x0a, 0x09,
    0x00, 0x02, 0x9f, 0x0e, 0x00, 0x50, 0xee, 0xdb, 0xe1, 0x30, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0x7f, 0xc3, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x4e, 0x59,
    0xfb, 0x72, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];

pub fn frames() -> Seeds {
    let mut out: Seeds = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| out.push((name.to_string(), bytes));
    let data: Vec<u8> = (0..1460u32).map(|i| (i * 7 + 3) as u8).collect();
    let syn_all = TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some(Timestamps {
            value: 0x4e59_fb72,
            echo: 0,
        }),
        sack: SackBlocks::default(),
    };
    add("linux-syn", LINUX_SYN.to_vec());
    add(
        "syn-all-options",
        frame(&seg(TcpFlags::SYN, 0xeedb_e130, 0, syn_all, &[])),
    );
    add(
        "syn-mss-only",
        frame(&seg(
            TcpFlags::SYN,
            1,
            0,
            TcpOptions {
                mss: Some(536),
                ..Default::default()
            },
            &[],
        )),
    );
    add(
        "syn-no-options",
        frame(&seg(TcpFlags::SYN, u32::MAX, 0, TcpOptions::default(), &[])),
    );
    add(
        "syn-ack",
        frame(&seg(TcpFlags::SYN | TcpFlags::ACK, 100, 200, syn_all, &[])),
    );
    add("ack", frame(&seg(TcpFlags::ACK, 101, 201, ts(1, 2), &[])));
    add(
        "data-1460",
        frame(&seg(
            TcpFlags::ACK | TcpFlags::PSH,
            101,
            201,
            TcpOptions::default(),
            &data,
        )),
    );
    add(
        "data-ts-1448",
        frame(&seg(TcpFlags::ACK, 101, 201, ts(3, 4), &data[..1448])),
    );
    add(
        "data-odd-len",
        frame(&seg(
            TcpFlags::ACK | TcpFlags::PSH,
            0xffff_fff0,
            7,
            ts(5, 6),
            b"hello",
        )),
    );
    add(
        "fin-ack",
        frame(&seg(TcpFlags::FIN | TcpFlags::ACK, 500, 600, ts(7, 8), &[])),
    );
    add(
        "fin-data",
        frame(&seg(
            TcpFlags::FIN | TcpFlags::ACK | TcpFlags::PSH,
            500,
            600,
            TcpOptions::default(),
            b"bye\n",
        )),
    );
    add(
        "rst",
        frame(&seg(TcpFlags::RST, 777, 0, TcpOptions::default(), &[])),
    );
    add(
        "rst-ack",
        frame(&seg(
            TcpFlags::RST | TcpFlags::ACK,
            0,
            778,
            TcpOptions::default(),
            &[],
        )),
    );
    for n in 1..=4 {
        add(
            &format!("ack-sack-{n}"),
            frame(&seg(TcpFlags::ACK, 101, 2000, sack(n, false), &[])),
        );
    }
    add(
        "ack-sack-3-ts",
        frame(&seg(TcpFlags::ACK, 101, 2000, sack(3, true), &[])),
    );

    // Hand-made option encodings the emitter never writes.
    let mut compact = frame(&seg(TcpFlags::ACK, 101, 201, TcpOptions::default(), &[]));
    // Data offset 8: TS without NOPs (10 bytes) then EOL, EOL.
    compact.splice(ETH + 40..ETH + 40, [8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]);
    compact[ETH + 20 + 12] = 8 << 4;
    compact[ETH + 3] += 12;
    refill(&mut compact);
    add("ack-compact-ts", compact.clone());
    let mut unknown = compact.clone();
    unknown[ETH + 40] = 30; // unknown kind, length 10: skipped
    refill(&mut unknown);
    add("ack-unknown-option", unknown);
    let mut bad_len = compact.clone();
    bad_len[ETH + 41] = 1; // option length 1: malformed
    refill(&mut bad_len);
    add("ack-bad-option-len", bad_len);
    let mut overrun = compact;
    overrun[ETH + 41] = 40; // runs past the header
    refill(&mut overrun);
    add("ack-option-overrun", overrun);

    // IPv4 options (IHL 6), fragments, other protocols, padding, broken checksums.
    let base = frame(&seg(
        TcpFlags::ACK | TcpFlags::PSH,
        101,
        201,
        ts(1, 2),
        b"GET / HTTP/1.1\r\n\r\n",
    ));
    let mut ip_opts = base.clone();
    ip_opts.splice(ETH + 20..ETH + 20, [1, 1, 1, 0]); // NOP NOP NOP EOL
    ip_opts[ETH] = 0x46;
    let total = u16::from_be_bytes([ip_opts[ETH + 2], ip_opts[ETH + 3]]) + 4;
    ip_opts[ETH + 2..ETH + 4].copy_from_slice(&total.to_be_bytes());
    refill(&mut ip_opts);
    add("ipv4-options", ip_opts);
    let mut frag = base.clone();
    frag[ETH + 6] = 0x20; // MF
    refill(&mut frag);
    add("ipv4-fragment", frag);
    let mut udp = base.clone();
    udp[ETH + 9] = 17;
    refill(&mut udp);
    add("ipv4-udp", udp);
    let mut padded = frame(&seg(TcpFlags::ACK, 1, 1, TcpOptions::default(), &[]));
    padded.resize(60, 0xde);
    padded.extend_from_slice(&[0xde; 4]);
    add("padded", padded);
    let mut bad_tcp = base.clone();
    let last = bad_tcp.len() - 1;
    bad_tcp[last] ^= 0xff;
    add("bad-tcp-checksum", bad_tcp);
    let mut bad_ip = base.clone();
    bad_ip[ETH + 8] -= 1; // TTL changed, checksum not
    add("bad-ip-checksum", bad_ip);
    let mut arp = base.clone();
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    add("arp-ethertype", arp);

    // IPv6: a SYN, data, and the same SYN behind extension headers (hop-by-hop and
    // destination options, each 8 bytes of padding options), then a fragment.
    let syn6 = frame_v6(&seg(TcpFlags::SYN, 0x4f28_8851, 0, syn_all, &[]));
    add("ipv6-syn", syn6.clone());
    add(
        "ipv6-data",
        frame_v6(&seg(
            TcpFlags::ACK | TcpFlags::PSH,
            1,
            1,
            ts(3, 4),
            &data[..100],
        )),
    );
    let with_ext = |first: u8, headers: &[[u8; 8]]| {
        let mut f = syn6[..ETH + 40].to_vec();
        f[ETH + 6] = first;
        for h in headers {
            f.extend_from_slice(h);
        }
        f.extend_from_slice(&syn6[ETH + 40..]);
        let plen = (f.len() - ETH - 40) as u16;
        f[ETH + 4..ETH + 6].copy_from_slice(&plen.to_be_bytes());
        f
    };
    // Next header, length 0, a PadN option of 4 bytes: 8 bytes each.
    add(
        "ipv6-ext-headers",
        with_ext(0, &[[60, 0, 1, 4, 0, 0, 0, 0], [6, 0, 1, 4, 0, 0, 0, 0]]),
    );
    add("ipv6-fragment", with_ext(44, &[[6, 0, 0, 0, 0, 0, 0, 1]]));

    // Truncations at every header boundary.
    for (name, cut) in [
        ("eth", 10),
        ("ip", ETH + 12),
        ("tcp", ETH + 20 + 10),
        ("options", ETH + 20 + 24),
        ("payload", base.len() - 3),
    ] {
        add(&format!("truncated-{name}"), base[..cut].to_vec());
    }
    out
}

/// Writes scripts in the format `fuzz_connection` reads (see `Script::step`).
#[derive(Default)]
struct Script(Vec<u8>);

impl Script {
    /// Config bytes, then a SYN with every option (MSS 1460, WS 7, SACK-permitted, TS).
    fn new(cfg_a: u8, cfg_b: u8, syn_opts: u8, irs: u32, iss: u32) -> Script {
        let mut s = Script(vec![cfg_a, cfg_b, syn_opts]);
        if syn_opts & 1 != 0 {
            s.u16(1460);
        }
        if syn_opts & 2 != 0 {
            s.0.push(7);
        }
        if syn_opts & 8 != 0 {
            s.u32(0x1000);
        }
        s.u16(64240);
        s.u32(irs);
        s.u32(iss);
        s
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    /// Op 0: a plausible peer segment at the peer's next sequence number acknowledging
    /// everything, `len` as encoded (0..=127 bytes mod 64, else (len - 128) * 24), flag
    /// byte `fl` (bit 0: no ACK, bits 1-2: FIN, bits 3-5: RST), options byte `o`.
    fn peer(&mut self, fl: u8, len: u8, o: u8) -> &mut Self {
        self.bytes(&[0, fl & 0x7f, 0, 0, 0, len, o])
    }
    /// Op 0 with a sequence number `delta` away from what we last acknowledged.
    fn peer_at(&mut self, delta: i8, len: u8) -> &mut Self {
        self.bytes(&[0, 0, delta as u8, 3, 0, len, 0])
    }
    /// Op 0 with a new window.
    fn peer_window(&mut self, window: u16) -> &mut Self {
        self.bytes(&[0, 0x80, 0, 0, 0, 0]).u16(window).bytes(&[0])
    }
    /// Op 3: a segment with arbitrary fields.
    fn raw(&mut self, seq: u32, ack: u32, flags: u8, window: u16, len8: u8) -> &mut Self {
        self.bytes(&[3])
            .u32(seq)
            .u32(ack)
            .bytes(&[flags])
            .u16(window)
            .bytes(&[len8, 0])
    }
    /// Op 4: a peer acknowledging everything, with `len8 * 8` bytes of data and maybe FIN.
    fn ack_all(&mut self, len8: u8, fin: bool) -> &mut Self {
        self.bytes(&[4, len8, if fin { 0xff } else { 0 }])
    }
    /// Op 5: time passes by `ms` milliseconds (0..=63), or to the next deadline.
    fn wait_ms(&mut self, ms: u8) -> &mut Self {
        self.bytes(&[5, ms & 0x3f])
    }
    fn wait_long(&mut self, quarter_ms: u16) -> &mut Self {
        self.bytes(&[5, 0x80]).u16(quarter_ms)
    }
    fn advance_to_deadline(&mut self) -> &mut Self {
        self.bytes(&[5, 0xc1])
    }
    /// Op 7: the application reads up to `n` bytes.
    fn recv(&mut self, n: u16) -> &mut Self {
        self.bytes(&[7]).u16(n).bytes(&[1])
    }
    /// Op 8: the application writes `n` bytes.
    fn send(&mut self, n: u16) -> &mut Self {
        self.bytes(&[8]).u16(n)
    }
    fn close(&mut self) -> &mut Self {
        self.bytes(&[9, 0])
    }
    fn abort(&mut self) -> &mut Self {
        self.bytes(&[10, 0])
    }
    fn syn_again(&mut self) -> &mut Self {
        self.bytes(&[11, 1])
    }
    fn done(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

pub fn connection_scripts() -> Seeds {
    // Config byte a: bit 0 WS, bit 1 SACK, bit 2 TS, bit 3 Nagle, bits 4-5 recv buffer
    // (256K, 8K, 1000, 1M), bits 6-7 send buffer (256K, 8K, 1000, 100).
    const ALL: u8 = 0x07;
    const SYN_ALL: u8 = 0x0f;
    let mut out: Seeds = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| out.push((name.to_string(), bytes));
    add(
        "handshake",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .done(),
    );
    add(
        "handshake-no-options",
        Script::new(0, 0, 0, 0xffff_fff0, 0xffff_ff00)
            .ack_all(0, false)
            .ack_all(10, false)
            .recv(100)
            .done(),
    );
    add(
        "receive-and-read",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .ack_all(182, false)
            .ack_all(182, false)
            .recv(4000)
            .wait_ms(50)
            .done(),
    );
    add(
        "send-and-acked",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .send(4000)
            .wait_ms(5)
            .ack_all(0, false)
            .send(4000)
            .ack_all(0, false)
            .done(),
    );
    add(
        "send-retransmit-timeout",
        Script::new(ALL, 0x04, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .send(3000)
            .advance_to_deadline()
            .advance_to_deadline()
            .advance_to_deadline()
            .advance_to_deadline()
            .advance_to_deadline()
            .done(),
    );
    add(
        "synack-lost",
        Script::new(ALL, 0x08, SYN_ALL, 5000, 1000)
            .advance_to_deadline()
            .syn_again()
            .advance_to_deadline()
            .advance_to_deadline()
            .done(),
    );
    add(
        "out-of-order-then-fill",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .peer_at(100, 50)
            .peer_at(30, 50)
            .peer_at(0, 60)
            .recv(300)
            .done(),
    );
    add(
        "zero-window-probe",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .peer_window(0)
            .send(3000)
            .advance_to_deadline()
            .advance_to_deadline()
            .peer_window(65535)
            .done(),
    );
    add(
        "small-receive-buffer",
        Script::new(0x20, 0, 0x01, 5000, 1000)
            .ack_all(0, false)
            .ack_all(200, false)
            .ack_all(200, false)
            .recv(500)
            .recv(1000)
            .ack_all(50, false)
            .done(),
    );
    add(
        "active-close-time-wait",
        Script::new(ALL, 0x10, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .send(10)
            .close()
            .ack_all(0, false)
            .ack_all(0, true)
            .wait_long(1000)
            .advance_to_deadline()
            .done(),
    );
    add(
        "passive-close",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .ack_all(5, true)
            .recv(100)
            .send(20)
            .close()
            .ack_all(0, false)
            .done(),
    );
    add(
        "simultaneous-close",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .close()
            .peer(0x06, 0, 0)
            .ack_all(0, false)
            .done(),
    );
    add(
        "fin-wait-2-timeout",
        Script::new(ALL, 0x40, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .close()
            .ack_all(0, false)
            .advance_to_deadline()
            .done(),
    );
    add(
        "peer-rst",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .peer(0x38, 0, 0)
            .send(10)
            .done(),
    );
    add(
        "abort",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .send(100)
            .abort()
            .ack_all(0, false)
            .done(),
    );
    add(
        "bad-ack-in-syn-received",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .raw(5001, 999_999, 0x10, 1000, 0)
            .ack_all(0, false)
            .done(),
    );
    add(
        "blind-rst-and-syn",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .raw(5100, 0, 0x04, 0, 0)
            .raw(77, 0, 0x02, 0, 0)
            .syn_again()
            .done(),
    );
    add(
        "paws-old-timestamp",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .bytes(&[0, 0, 0, 0, 0, 10, 1, 0xff])
            .done(),
    );
    add(
        "sack-blocks-from-peer",
        Script::new(ALL, 0xc0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .send(1000)
            .bytes(&[0, 0, 0, 0, 0, 0, 0x0a, 0, 100, 4, 0, 200, 4])
            .done(),
    );
    add(
        "idle-timeout",
        Script::new(ALL, 0x20, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .wait_long(30000)
            .advance_to_deadline()
            .done(),
    );
    add(
        "nagle-small-writes",
        Script::new(ALL | 0x08, 0x01, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .send(10)
            .send(10)
            .send(10)
            .wait_ms(40)
            .ack_all(0, false)
            .done(),
    );
    add(
        "wraparound-seq",
        Script::new(ALL, 0, SYN_ALL, u32::MAX - 10, u32::MAX - 5)
            .ack_all(0, false)
            .ack_all(10, false)
            .send(100)
            .ack_all(0, false)
            .recv(200)
            .done(),
    );
    add(
        "through-the-wire",
        Script::new(ALL, 0, SYN_ALL, 5000, 1000)
            .ack_all(0, false)
            .peer(0, 20, 0x81)
            .recv(20)
            .done(),
    );
    out
}

pub fn table_scripts() -> Seeds {
    // Config (2 bytes), slots-1, TIME_WAIT cap, then ops: op < 0x80 is a segment for tuple
    // op % 8 (seq, ack, flags, window, then an abort bit if it matched, or an ISS if it
    // was accepted); op >= 0x80 advances time by u16 * 8 ms and runs expired timers.
    fn syn(t: u8) -> Vec<u8> {
        let mut v = vec![t];
        v.extend_from_slice(&(5000 + u32::from(t)).to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v.push(0x02);
        v.extend_from_slice(&65535u16.to_be_bytes());
        v.extend_from_slice(&(1000 * u32::from(t)).to_be_bytes());
        v
    }
    fn ack(t: u8, abort: bool) -> Vec<u8> {
        let mut v = vec![t];
        v.extend_from_slice(&(5001 + u32::from(t)).to_be_bytes());
        v.extend_from_slice(&(1000 * u32::from(t) + 1).to_be_bytes());
        v.push(0x10);
        v.extend_from_slice(&65535u16.to_be_bytes());
        v.push(abort as u8);
        v
    }
    fn wait(eighth_ms: u16) -> Vec<u8> {
        let mut v = vec![0x80];
        v.extend_from_slice(&eighth_ms.to_be_bytes());
        v
    }
    let mut out: Seeds = Vec::new();
    let mut fill = vec![0x07, 0x00, 3, 1];
    for t in 0..5 {
        fill.extend(syn(t));
    }
    fill.extend(wait(200));
    out.push(("fill-and-synack-timers".into(), fill));
    let mut mixed = vec![0x07, 0x10, 7, 2];
    for t in 0..4 {
        mixed.extend(syn(t));
        mixed.extend(ack(t, t == 2));
    }
    mixed.extend(wait(1000));
    mixed.extend(syn(1)); // a SYN on an established tuple
    mixed.extend(wait(60000));
    out.push(("established-abort-and-wait".into(), mixed));
    out
}
