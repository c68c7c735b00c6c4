//! Ethernet II frames (IEEE 802.3, RFC 894): a zero-copy view and MAC addresses.
//!
//! VLAN tags (802.1Q) are not supported: a tagged frame's ethertype is 0x8100, which is
//! simply "not IPv4".

use crate::stats::DropReason;
use core::fmt;

/// Ethertype of IPv4 (RFC 894).
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6 (RFC 2464).
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Length of an Ethernet II header: destination, source, ethertype.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// Shortest frame a NIC puts on the wire, without the FCS (60 = 64 - 4). Emitters pad up
/// to this so no driver has to.
pub const MIN_FRAME_LEN: usize = 60;

/// Byte offsets of the header fields.
mod field {
    use core::ops::Range;
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// True when the I/G (group) bit is clear: the address names one station. Broadcast
    /// and multicast addresses have it set.
    #[inline]
    pub fn is_unicast(&self) -> bool {
        self.0[0] & 0x01 == 0
    }

    /// True for ff:ff:ff:ff:ff:ff.
    #[inline]
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// The address bytes in transmission order.
    #[inline]
    pub fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    fn from_slice(b: &[u8]) -> MacAddr {
        let mut a = [0u8; 6];
        a.copy_from_slice(b);
        MacAddr(a)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A zero-copy view of an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checks; accessors panic if it is shorter than [`HEADER_LEN`].
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer after checking that it holds a whole header; accessors then cannot
    /// panic.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(DropReason::TruncatedEthernet);
        }
        Ok(EthernetFrame { buffer })
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC address.
    #[inline]
    pub fn dst_addr(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// Source MAC address.
    #[inline]
    pub fn src_addr(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::SOURCE])
    }

    /// Ethertype (for untagged frames, the payload's protocol).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        super::bytes::read_u16(b, 0)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> EthernetFrame<&'a T> {
    /// Everything after the header, including any padding after the IP packet.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination MAC address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source MAC address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the ethertype.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&ethertype.to_be_bytes());
    }

    /// Everything after the header, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: [u8; 16] = [
        0x02, 0, 0, 0, 0, 0x02, 0xe6, 0x5d, 0xab, 0xf2, 0x31, 0x1c, 0x08, 0x00, 0xaa, 0xbb,
    ];

    #[test]
    fn header_fields_are_read_in_place() {
        let f = EthernetFrame::new_checked(&FRAME[..]).expect("14+ bytes");
        assert_eq!(f.dst_addr(), MacAddr([0x02, 0, 0, 0, 0, 0x02]));
        assert_eq!(f.src_addr().to_string(), "e6:5d:ab:f2:31:1c");
        assert_eq!(f.ethertype(), ETHERTYPE_IPV4);
        assert_eq!(f.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn frame_shorter_than_header_is_truncated_ethernet() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&FRAME[..len]).err(),
                Some(DropReason::TruncatedEthernet)
            );
        }
    }

    #[test]
    fn setters_round_trip() {
        let mut buf = [0u8; 14];
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        f.set_dst_addr(MacAddr::BROADCAST);
        f.set_src_addr(MacAddr([2, 3, 4, 5, 6, 7]));
        f.set_ethertype(0x86dd);
        assert!(f.dst_addr().is_broadcast() && !f.dst_addr().is_unicast());
        assert!(f.src_addr().is_unicast());
        assert_eq!(f.ethertype(), 0x86dd);
    }

    #[test]
    fn multicast_mac_is_not_unicast() {
        assert!(!MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]).is_unicast());
        assert!(!MacAddr([0x33, 0x33, 0, 0, 0, 1]).is_unicast());
    }
}
