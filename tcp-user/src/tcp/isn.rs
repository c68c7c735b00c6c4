//! Initial sequence numbers (RFC 6528).

use super::{FourTuple, Instant, SeqNum};
use core::hash::Hasher;
use siphasher::sip::SipHasher24;

/// RFC 6528 section 3: `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`,
/// with `M` a timer ticking every 4 microseconds and `F` a keyed hash (SipHash-2-4), so ISNs
/// of one 4-tuple increase with time while other tuples' ISNs cannot be guessed.
#[derive(Clone)]
pub struct IsnGenerator {
    key: [u8; 16],
}

impl IsnGenerator {
    /// A generator with the given secret key (tests use a fixed key).
    pub fn new(key: [u8; 16]) -> IsnGenerator {
        IsnGenerator { key }
    }

    /// A generator with a key from the OS random source (falls back to a key derived from
    /// the clock and address of a stack variable if `getrandom` fails).
    pub fn random() -> IsnGenerator {
        IsnGenerator { key: random_key() }
    }

    /// The ISN for a new connection on `tuple` at `now`.
    pub fn isn(&self, now: Instant, tuple: &FourTuple) -> SeqNum {
        let mut h = SipHasher24::new_with_key(&self.key);
        h.write(tuple.local_addr.octets());
        h.write_u16(tuple.local_port);
        h.write(tuple.remote_addr.octets());
        h.write_u16(tuple.remote_port);
        let f = h.finish() as u32;
        let m = (now.micros() / 4) as u32;
        SeqNum(m.wrapping_add(f))
    }

    /// The IPv6 flow label of a connection on `tuple` (RFC 6437 section 3): a keyed hash
    /// of the tuple, so it is the same on every segment of the connection (and on the SYN
    /// cookie SYN-ACK before it exists), differs between connections, cannot be guessed
    /// from outside, and is never 0 (which would mean "no label"). 20 bits.
    pub fn flow_label(&self, tuple: &FourTuple) -> u32 {
        let mut h = SipHasher24::new_with_key(&self.key);
        h.write_u8(0x6c); // apart from the ISN's F, which hashes the same tuple
        h.write(tuple.local_addr.octets());
        h.write_u16(tuple.local_port);
        h.write(tuple.remote_addr.octets());
        h.write_u16(tuple.remote_port);
        let label = (h.finish() as u32) & 0xf_ffff;
        label.max(1)
    }
}

/// 16 bytes from the OS random source, or, if `getrandom` fails, derived from the clock and
/// the address of a stack variable (weak, but never a fixed key).
pub(crate) fn random_key() -> [u8; 16] {
    let mut key = [0u8; 16];
    if getrandom::getrandom(&mut key).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let addr = &key as *const _ as usize as u128;
        key = (t ^ addr.rotate_left(64)).to_le_bytes();
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::Addr;

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local_addr: 0x0a00_0001.into(),
            local_port: 80,
            remote_addr: 0x0a00_0002.into(),
            remote_port: port,
        }
    }

    #[test]
    fn rfc6528_isn_advances_with_4us_clock_and_depends_on_tuple() {
        let g = IsnGenerator::new([7; 16]);
        let a = g.isn(Instant::from_micros(0), &tuple(1000));
        let b = g.isn(Instant::from_micros(400), &tuple(1000));
        assert_eq!(b.0.wrapping_sub(a.0), 100, "M ticks every 4 us");
        assert_ne!(
            a,
            g.isn(Instant::ZERO, &tuple(1001)),
            "F depends on the tuple"
        );
        assert_ne!(
            a,
            IsnGenerator::new([8; 16]).isn(Instant::ZERO, &tuple(1000))
        );
    }

    #[test]
    fn isn_covers_all_128_bits_of_ipv6_addresses() {
        let g = IsnGenerator::new([7; 16]);
        let v6 = |last: u8, first: u8| {
            let mut a = [0u8; 16];
            a[0] = first;
            a[15] = last;
            FourTuple {
                local_addr: Addr::v6(a),
                local_port: 80,
                remote_addr: Addr::v6([0x20; 16]),
                remote_port: 1000,
            }
        };
        let base = g.isn(Instant::ZERO, &v6(1, 0x20));
        assert_ne!(base, g.isn(Instant::ZERO, &v6(2, 0x20)), "low bits count");
        assert_ne!(base, g.isn(Instant::ZERO, &v6(1, 0x21)), "high bits count");
    }

    #[test]
    fn flow_label_is_stable_per_tuple_nonzero_20_bits_and_differs_between_tuples() {
        let g = IsnGenerator::new([7; 16]);
        let labels: Vec<u32> = (1000..1100).map(|p| g.flow_label(&tuple(p))).collect();
        assert!(labels.iter().all(|&l| l != 0 && l <= 0xf_ffff));
        assert_eq!(labels[0], g.flow_label(&tuple(1000)), "stable");
        let mut distinct = labels.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() >= 99, "labels collide: {}", distinct.len());
    }
}
