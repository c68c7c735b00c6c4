//! SYN cookies (RFC 4987 section 3.6), made the way Linux makes them
//! (`net/ipv4/syncookies.c`): under a SYN flood a listener answers a SYN without keeping any
//! state, and rebuilds the connection from the ACK that returns. What the handshake settled
//! travels in our ISN (the MSS) and in our TSval (window scale and SACK-permitted).
//!
//! This module owns the encoding only. Deciding when to answer with a cookie (half-open
//! table full) and trying a cookie on an ACK that matches no connection is the table's job.

use std::sync::Arc;

use super::connection::{ts_offset_for, window_shift_for};
use super::{Config, Connection, FourTuple, Instant, Segment, SeqNum, TcpFlags, TcpOptions};
use super::{SackBlocks, Timestamps};
use core::hash::Hasher;
use siphasher::sip::SipHasher24;

/// Bits of the cookie below the counter (Linux `COOKIEBITS`).
const COOKIE_BITS: u32 = 24;
const COOKIE_MASK: u32 = (1 << COOKIE_BITS) - 1;
/// Length of one counter period: 64 s (Linux uses 60 s; a power of two is a shift).
const PERIOD_US: u64 = 64_000_000;
/// Counter values a cookie may carry: this period's and the previous one's (Linux
/// `MAX_SYNCOOKIE_AGE`), so a cookie lives between 64 and 128 s.
const MAX_AGE: u32 = 2;
/// The MSS values a cookie can carry, as an index in the low bits (Linux `msstab` for
/// IPv4). A peer's MSS is rounded down to the nearest entry.
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// Low bits of our TSval taken by the options (Linux `TSBITS`).
const TS_BITS: u32 = 6;
const TS_OPT_MASK: u32 = (1 << TS_BITS) - 1;
/// Window scale shift; all ones means "no window scaling".
const TS_OPT_WSCALE_MASK: u32 = 0xf;
const TS_OPT_SACK: u32 = 1 << 4;
// Bit 5 (`TS_OPT_ECN` in Linux) stays 0: this stack does not negotiate ECN.

/// The keyed functions behind SYN cookies. Holds only the secret: answering a SYN and
/// checking an ACK store nothing.
#[derive(Clone)]
pub struct SynCookies {
    key: [u8; 16],
}

impl SynCookies {
    /// Cookies under the given secret key (tests use a fixed key).
    pub fn new(key: [u8; 16]) -> SynCookies {
        SynCookies { key }
    }

    /// Cookies under a key from the OS random source.
    pub fn random() -> SynCookies {
        SynCookies::new(super::isn::random_key())
    }

    /// The SYN-ACK answering `syn` (a SYN the table would otherwise accept) on `tuple`,
    /// without creating any state. Its ISS is the cookie; if the peer offered timestamps,
    /// window scale and SACK-permitted are answered as usual and remembered in our TSval;
    /// without timestamps they cannot be remembered, so the SYN-ACK offers neither (as
    /// Linux does) and the connection will run without them.
    pub fn syn_ack(
        &self,
        now: Instant,
        cfg: &Config,
        tuple: &FourTuple,
        syn: &Segment,
    ) -> Segment<'static> {
        let opts = &syn.options;
        let peer_mss = opts.mss.unwrap_or(MSS_TABLE[0]);
        let mss_index = MSS_TABLE.iter().rposition(|&m| m <= peer_mss).unwrap_or(0);
        let iss = self.cookie(tuple, syn.seq, period(now), mss_index as u32);

        let ts = cfg.timestamps && opts.timestamps.is_some();
        let wscale = opts.window_scale.filter(|_| ts && cfg.window_scaling);
        let sack = ts && cfg.sack && opts.sack_permitted;
        let timestamps = opts.timestamps.filter(|_| ts).map(|peer| {
            // Linux `cookie_init_timestamp`: the options replace the low bits of the clock,
            // stepping back one tick rather than running ahead of it.
            let bits = wscale.map_or(TS_OPT_WSCALE_MASK, |w| u32::from(w.min(14)))
                | if sack { TS_OPT_SACK } else { 0 };
            let now_ms = now.millis() as u32;
            let mut value = (now_ms & !TS_OPT_MASK) | bits;
            if (value.wrapping_sub(now_ms) as i32) > 0 {
                value = value.wrapping_sub(1 << TS_BITS);
            }
            Timestamps {
                value: value.wrapping_add(ts_offset_for(iss)),
                echo: peer.value,
            }
        });
        Segment {
            src_port: tuple.local_port,
            dst_port: tuple.remote_port,
            seq: iss,
            ack: syn.seq + 1,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            // RFC 7323 section 2.2: never scaled. `Connection::from_cookie` computes the
            // same value for the window it must honour.
            window: cfg
                .recv_window_initial
                .min(cfg.recv_buffer)
                .min(usize::from(u16::MAX)) as u16,
            urgent: 0,
            options: TcpOptions {
                mss: Some(cfg.mss_for(tuple.family())),
                window_scale: wscale.map(|_| window_shift_for(cfg.recv_buffer)),
                sack_permitted: sack,
                timestamps,
                sack: SackBlocks::default(),
            },
            payload: &[],
        }
    }

    /// Checks the cookie in `ack` (an ACK without SYN or RST that matched no connection on
    /// a listening port): SEG.ACK-1 must be a cookie this key issued for `tuple` and
    /// SEG.SEQ-1 within the last two periods. If so, returns the connection in ESTABLISHED
    /// with the decoded options, `Event::Established` queued and the ACK's data (and FIN)
    /// already processed. `None` means "not a cookie": the caller answers as for any ACK
    /// to a listener (a RST) and may count `DropReason::BadCookie`.
    pub fn accept_ack(
        &self,
        now: Instant,
        cfg: &Arc<Config>,
        tuple: &FourTuple,
        ack: &Segment,
    ) -> Option<Connection> {
        let f = ack.flags;
        if !f.ack() || f.syn() || f.rst() {
            return None;
        }
        let iss = ack.ack.minus(1);
        let mss_index = self.check(tuple, iss, ack.seq.minus(1), period(now))?;
        let offer = decode_options(cfg, iss, MSS_TABLE[mss_index], ack)?;
        Some(Connection::from_cookie(now, cfg, *tuple, ack, &offer))
    }

    /// Linux `secure_tcp_syn_cookie`: `H1(tuple) + peer ISN + (count << 24) +
    /// ((H2(tuple, count) + data) mod 2^24)`.
    fn cookie(&self, tuple: &FourTuple, peer_isn: SeqNum, count: u32, data: u32) -> SeqNum {
        let keyed = self.hash(tuple, 0, 0).wrapping_add(peer_isn.0);
        let low = self.hash(tuple, count, 1).wrapping_add(data) & COOKIE_MASK;
        SeqNum(keyed.wrapping_add(count << COOKIE_BITS).wrapping_add(low))
    }

    /// Linux `check_tcp_syn_cookie`: strips H1 and the peer's ISN, reads the counter from
    /// the top 8 bits, and returns the data (an MSS index) if the counter is recent and
    /// the low bits hash correctly.
    fn check(
        &self,
        tuple: &FourTuple,
        cookie: SeqNum,
        peer_isn: SeqNum,
        now: u32,
    ) -> Option<usize> {
        let c = cookie
            .0
            .wrapping_sub(self.hash(tuple, 0, 0).wrapping_add(peer_isn.0));
        let age = now.wrapping_sub(c >> COOKIE_BITS) & (u32::MAX >> COOKIE_BITS);
        if age >= MAX_AGE {
            return None;
        }
        let count = now.wrapping_sub(age);
        let data = c.wrapping_sub(self.hash(tuple, count, 1)) & COOKIE_MASK;
        let index = data as usize;
        (index < MSS_TABLE.len()).then_some(index)
    }

    /// SipHash-2-4 of the tuple and counter; `salt` separates the two functions H1 and H2.
    fn hash(&self, tuple: &FourTuple, count: u32, salt: u8) -> u32 {
        let mut h = SipHasher24::new_with_key(&self.key);
        h.write_u8(salt);
        h.write(tuple.local_addr.octets());
        h.write_u16(tuple.local_port);
        h.write(tuple.remote_addr.octets());
        h.write_u16(tuple.remote_port);
        h.write_u32(count);
        h.finish() as u32
    }
}

/// The cookie counter at `now` (Linux `tcp_cookie_time`).
fn period(now: Instant) -> u32 {
    (now.micros() / PERIOD_US) as u32
}

/// Linux `cookie_timestamp_decode`: the options of the handshake, read back from the low
/// bits of the TSecr the ACK echoes. Without timestamps the connection has no window
/// scaling and no SACK. `None` if the bits claim something `cfg` would never have offered.
fn decode_options(cfg: &Config, iss: SeqNum, mss: u16, ack: &Segment) -> Option<TcpOptions> {
    let mut offer = TcpOptions {
        mss: Some(mss),
        ..TcpOptions::default()
    };
    let Some(ts) = ack.options.timestamps else {
        return Some(offer);
    };
    if !cfg.timestamps {
        return None;
    }
    let bits = ts.echo.wrapping_sub(ts_offset_for(iss)) & TS_OPT_MASK;
    offer.timestamps = Some(ts);
    offer.sack_permitted = bits & TS_OPT_SACK != 0;
    if offer.sack_permitted && !cfg.sack {
        return None;
    }
    let wscale = bits & TS_OPT_WSCALE_MASK;
    if wscale != TS_OPT_WSCALE_MASK {
        if !cfg.window_scaling {
            return None;
        }
        offer.window_scale = Some(wscale as u8);
    }
    Some(offer)
}

#[cfg(test)]
mod tests;
