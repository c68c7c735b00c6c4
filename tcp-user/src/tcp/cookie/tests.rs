//! SYN cookies: the encoding round trip, its lifetime, forgeries, the options carried in
//! TSecr, and the connection built from the returning ACK.

use super::*;
use crate::tcp::{Event, State};
use crate::wire::Addr;
use std::time::Duration;

const KEY: [u8; 16] = [0x5a; 16];
const PEER_ISN: u32 = 7000;
/// One second into a counter period, so "+126 s" is still the next period.
const T0: Instant = Instant::from_millis(1000 * 64_000 + 1000);

fn tuple() -> FourTuple {
    FourTuple {
        local_addr: Addr::v4(0x0a00_0001),
        local_port: 80,
        remote_addr: Addr::v4(0x0a00_0002),
        remote_port: 40000,
    }
}

/// What the peer offers in its SYN.
#[derive(Clone, Copy, Default)]
struct Offer {
    mss: Option<u16>,
    wscale: Option<u8>,
    sack: bool,
    ts: Option<u32>,
}

fn syn(o: Offer) -> Segment<'static> {
    Segment {
        src_port: 40000,
        dst_port: 80,
        seq: SeqNum(PEER_ISN),
        flags: TcpFlags::SYN,
        window: 65535,
        options: TcpOptions {
            mss: o.mss,
            window_scale: o.wscale,
            sack_permitted: o.sack,
            timestamps: o.ts.map(|value| Timestamps { value, echo: 0 }),
            ..TcpOptions::default()
        },
        ..Segment::default()
    }
}

/// The ACK a peer returns for `synack`, echoing its TSval (the peer's own TSval is 200).
fn ack_for<'a>(synack: &Segment, flags: TcpFlags, payload: &'a [u8]) -> Segment<'a> {
    Segment {
        src_port: 40000,
        dst_port: 80,
        seq: synack.ack,
        ack: synack.seq + 1,
        flags: TcpFlags::ACK | flags,
        window: 65535,
        options: TcpOptions {
            timestamps: synack.options.timestamps.map(|t| Timestamps {
                value: 200,
                echo: t.value,
            }),
            ..TcpOptions::default()
        },
        payload,
        ..Segment::default()
    }
}

/// SYN-ACK at T0, ACK at `at`: the connection if the cookie is accepted.
fn handshake(cfg: &Config, o: Offer, at: Instant) -> Option<Connection> {
    let cookies = SynCookies::new(KEY);
    let synack = cookies.syn_ack(T0, cfg, &tuple(), &syn(o));
    cookies.accept_ack(
        at,
        &Arc::new(*cfg),
        &tuple(),
        &ack_for(&synack, TcpFlags::NONE, &[]),
    )
}

/// Payload length of the first data segment the connection sends.
fn first_payload_len(conn: &mut Connection, now: Instant) -> usize {
    conn.send(&[7; 10_000]);
    let seg = conn.poll_transmit(now).expect("data goes out");
    seg.payload.len()
}

#[test]
fn cookie_round_trip_keeps_each_mss_bucket() {
    let cfg = Config {
        mss: 9000,
        ..Config::default()
    };
    for (offered, bucket) in [
        (None, 536),
        (Some(536), 536),
        (Some(1299), 536),
        (Some(1300), 1300),
        (Some(1439), 1300),
        (Some(1440), 1440),
        (Some(1460), 1460),
        (Some(9000), 1460),
    ] {
        let o = Offer {
            mss: offered,
            ..Offer::default()
        };
        let mut conn = handshake(&cfg, o, T0).expect("cookie accepted");
        assert_eq!(conn.state(), State::Established);
        assert_eq!(first_payload_len(&mut conn, T0), bucket, "{offered:?}");
    }
}

#[test]
fn syn_ack_is_stateless_and_carries_the_cookie_as_iss() {
    let cookies = SynCookies::new(KEY);
    let cfg = Config::default();
    let a = cookies.syn_ack(T0, &cfg, &tuple(), &syn(Offer::default()));
    let b = cookies.syn_ack(T0, &cfg, &tuple(), &syn(Offer::default()));
    assert_eq!(a, b, "same input, same answer: nothing was stored");
    assert_eq!(
        (a.ack, a.flags),
        (SeqNum(PEER_ISN + 1), TcpFlags::SYN | TcpFlags::ACK)
    );
    assert_eq!((a.src_port, a.dst_port), (80, 40000));
    assert_eq!(a.options.mss, Some(1460));
    let other = SynCookies::new([1; 16]).syn_ack(T0, &cfg, &tuple(), &syn(Offer::default()));
    assert_ne!(a.seq, other.seq, "the cookie depends on the secret");
}

#[test]
fn cookie_is_valid_for_the_current_and_previous_period_only() {
    let cfg = Config::default();
    let o = Offer::default();
    assert!(handshake(&cfg, o, T0).is_some());
    assert!(handshake(&cfg, o, T0 + Duration::from_secs(64)).is_some());
    assert!(handshake(&cfg, o, T0 + Duration::from_secs(126)).is_some());
    assert!(
        handshake(&cfg, o, T0 + Duration::from_secs(128)).is_none(),
        "two periods old"
    );
    assert!(handshake(&cfg, o, T0 + Duration::from_secs(3600)).is_none());
    assert!(
        handshake(&cfg, o, Instant::from_millis(T0.millis() - 64_000)).is_none(),
        "a cookie from the future"
    );
}

#[test]
fn altered_ack_other_tuple_or_other_key_is_rejected() {
    let cfg = Config::default();
    let cookies = SynCookies::new(KEY);
    let o = Offer {
        mss: Some(1460), // index 3: the largest, so no small change lands on a valid index
        ..Offer::default()
    };
    let synack = cookies.syn_ack(T0, &cfg, &tuple(), &syn(o));
    let good = ack_for(&synack, TcpFlags::NONE, &[]);
    assert!(cookies
        .accept_ack(T0, &Arc::new(cfg), &tuple(), &good)
        .is_some());

    for delta in [1u32, 1 << 12, 1 << 20, 1 << 24, 1 << 31] {
        let mut bad = good;
        bad.ack = SeqNum(good.ack.0.wrapping_add(delta));
        assert!(
            cookies
                .accept_ack(T0, &Arc::new(cfg), &tuple(), &bad)
                .is_none(),
            "ack + {delta}"
        );
    }
    let mut bad = good;
    bad.seq = good.seq + 1000;
    assert!(
        cookies
            .accept_ack(T0, &Arc::new(cfg), &tuple(), &bad)
            .is_none(),
        "another peer ISN"
    );

    let mut other = tuple();
    other.remote_port += 1;
    assert!(cookies
        .accept_ack(T0, &Arc::new(cfg), &other, &good)
        .is_none());
    let mut other = tuple();
    other.remote_addr = Addr::v4(0x0a00_0003);
    assert!(cookies
        .accept_ack(T0, &Arc::new(cfg), &other, &good)
        .is_none());
    let stranger = SynCookies::new([1; 16]);
    assert!(stranger
        .accept_ack(T0, &Arc::new(cfg), &tuple(), &good)
        .is_none());
}

#[test]
fn only_a_plain_ack_can_carry_a_cookie() {
    let cfg = Config::default();
    let cookies = SynCookies::new(KEY);
    let synack = cookies.syn_ack(T0, &cfg, &tuple(), &syn(Offer::default()));
    for flags in [TcpFlags::SYN, TcpFlags::RST] {
        let seg = ack_for(&synack, flags, &[]);
        assert!(
            cookies
                .accept_ack(T0, &Arc::new(cfg), &tuple(), &seg)
                .is_none(),
            "{flags:?}"
        );
    }
    let mut no_ack = ack_for(&synack, TcpFlags::NONE, &[]);
    no_ack.flags = TcpFlags::NONE;
    assert!(cookies
        .accept_ack(T0, &Arc::new(cfg), &tuple(), &no_ack)
        .is_none());
}

#[test]
fn window_scale_and_sack_travel_in_the_low_bits_of_tsval() {
    let cfg = Config::default();
    let cookies = SynCookies::new(KEY);
    let o = Offer {
        mss: Some(1460),
        wscale: Some(7),
        sack: true,
        ts: Some(100),
    };
    let synack = cookies.syn_ack(T0, &cfg, &tuple(), &syn(o));
    // Answered as a normal SYN-ACK would: our shift for a 4 MiB limit is 7.
    assert_eq!(synack.options.window_scale, Some(7));
    assert!(synack.options.sack_permitted);
    let ts = synack.options.timestamps.expect("timestamps answered");
    assert_eq!(ts.echo, 100);
    let clock = ts.value.wrapping_sub(ts_offset_for(synack.seq));
    assert_eq!(clock & 0x3f, 7 | 0x10, "Linux cookie_init_timestamp layout");
    assert!(clock <= T0.millis() as u32, "never ahead of the clock");
    assert!(T0.millis() as u32 - clock < 64);
}

#[test]
fn options_decoded_from_tsecr_are_in_force_on_the_connection() {
    let cfg = Config::default();
    let o = Offer {
        mss: Some(1460),
        wscale: Some(7),
        sack: true,
        ts: Some(100),
    };
    let cookies = SynCookies::new(KEY);
    let synack = cookies.syn_ack(T0, &cfg, &tuple(), &syn(o));
    let mut ack = ack_for(&synack, TcpFlags::NONE, &[]);
    ack.window = 100; // 12800 bytes at the peer's shift of 7
    let mut conn = cookies
        .accept_ack(T0, &Arc::new(cfg), &tuple(), &ack)
        .expect("valid cookie");
    // Out-of-order data makes us ACK at once, with SACK (permitted), a scaled window
    // (shift 7) and timestamps echoing the peer's TSval.
    let later = Segment {
        seq: ack.seq + 100,
        payload: b"later",
        ..ack
    };
    assert_eq!(conn.handle_segment(T0, &later), Ok(()));
    let out = conn.poll_transmit(T0).expect("immediate ACK");
    assert_eq!(out.options.sack.len(), 1, "SACK was negotiated");
    assert_eq!(
        out.window,
        ((64 * 1024) >> 7) as u16,
        "the initial 64 KiB window scaled by 7"
    );
    let ts = out.options.timestamps.expect("timestamps negotiated");
    assert_eq!(ts.echo, 200);
    assert!(ts.value >= synack.options.timestamps.map_or(0, |t| t.value));
    // The peer's shift (7) applies to its windows: 100 << 7 = 12800 bytes may be sent, as
    // full segments of 1460 - 12 (timestamps) - 12 (one SACK block) bytes.
    conn.send(&[1; 20_000]);
    let mut sent = 0;
    while let Some(s) = conn.poll_transmit(T0) {
        sent += s.payload.len();
    }
    assert_eq!(sent, 12800 / 1436 * 1436);
}

#[test]
fn without_timestamps_neither_window_scale_nor_sack_is_offered_or_used() {
    let cfg = Config::default();
    let o = Offer {
        mss: Some(1460),
        wscale: Some(7),
        sack: true,
        ts: None,
    };
    let cookies = SynCookies::new(KEY);
    let synack = cookies.syn_ack(T0, &cfg, &tuple(), &syn(o));
    assert_eq!(synack.options.window_scale, None);
    assert!(!synack.options.sack_permitted);
    assert_eq!(synack.options.timestamps, None);
    let ack = ack_for(&synack, TcpFlags::NONE, &[]);
    let mut conn = cookies
        .accept_ack(T0, &Arc::new(cfg), &tuple(), &ack)
        .expect("valid cookie");
    let later = Segment {
        seq: ack.seq + 100,
        payload: b"later",
        ..ack
    };
    let _ = conn.handle_segment(T0, &later);
    let out = conn.poll_transmit(T0).expect("immediate ACK");
    assert!(out.options.sack.is_empty());
    assert_eq!(out.options.timestamps, None);
    assert_eq!(out.window, 65535, "unscaled");
}

#[test]
fn tsecr_claiming_an_option_config_never_offers_is_rejected() {
    let cfg = Config {
        window_scaling: false,
        ..Config::default()
    };
    let cookies = SynCookies::new(KEY);
    let o = Offer {
        wscale: Some(7),
        ts: Some(100),
        ..Offer::default()
    };
    let synack = cookies.syn_ack(T0, &cfg, &tuple(), &syn(o));
    let mut ack = ack_for(&synack, TcpFlags::NONE, &[]);
    assert!(cookies
        .accept_ack(T0, &Arc::new(cfg), &tuple(), &ack)
        .is_some());
    let ts = ack.options.timestamps.as_mut().expect("ts");
    ts.echo = (ts.echo & !0xf) | 3; // "window scale 3"
    assert!(cookies
        .accept_ack(T0, &Arc::new(cfg), &tuple(), &ack)
        .is_none());
}

#[test]
fn cookie_ack_establishes_and_its_data_is_delivered() {
    let cfg = Config::default();
    let cookies = SynCookies::new(KEY);
    let synack = cookies.syn_ack(T0, &cfg, &tuple(), &syn(Offer::default()));
    let ack = ack_for(&synack, TcpFlags::PSH, b"GET / HTTP/1.1\r\n\r\n");
    let mut conn = cookies
        .accept_ack(T0, &Arc::new(cfg), &tuple(), &ack)
        .expect("valid cookie");
    assert_eq!(conn.state(), State::Established);
    let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
    assert_eq!(events, vec![Event::Established, Event::Readable]);
    // RFC 5681 4.2: the data's ACK may be delayed.
    assert!(conn.poll_transmit(T0).is_none());
    let t = conn.poll_timeout().expect("delayed ACK armed");
    assert_eq!(t, T0 + cfg.delayed_ack);
    conn.handle_timeout(t);
    let out = conn.poll_transmit(t).expect("delayed ACK");
    assert_eq!((out.seq, out.ack), (synack.seq + 1, ack.seq + 18));
    let mut buf = [0u8; 64];
    let n = conn.recv(&mut buf);
    assert_eq!(&buf[..n], b"GET / HTTP/1.1\r\n\r\n");
}

#[test]
fn fin_on_the_cookie_ack_goes_to_close_wait() {
    let cfg = Config::default();
    let cookies = SynCookies::new(KEY);
    let synack = cookies.syn_ack(T0, &cfg, &tuple(), &syn(Offer::default()));
    let ack = ack_for(&synack, TcpFlags::FIN, b"bye");
    let mut conn = cookies
        .accept_ack(T0, &Arc::new(cfg), &tuple(), &ack)
        .expect("valid cookie");
    assert_eq!(conn.state(), State::CloseWait);
    let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
    assert_eq!(
        events,
        vec![Event::Established, Event::Readable, Event::PeerClosed]
    );
    let out = conn.poll_transmit(T0).expect("FIN acknowledged at once");
    assert_eq!(out.ack, ack.seq + 4);
}

#[test]
fn cookie_connection_takes_no_rtt_sample_from_the_handshake() {
    // The TSval's low bits carry options, so its echo would overstate the RTT.
    let cfg = Config::default();
    let o = Offer {
        ts: Some(100),
        ..Offer::default()
    };
    let conn = handshake(&cfg, o, T0 + Duration::from_millis(5)).expect("valid cookie");
    assert_eq!(conn.srtt(), None);
    assert_eq!(conn.rto(), Duration::from_secs(1));
}
