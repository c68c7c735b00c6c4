//! One IP address type for both families, as the engine, the table and the API carry it.
//!
//! An [`Addr`] is 16 bytes: an IPv6 address as it is, an IPv4 address as its IPv4-mapped
//! form `::ffff:a.b.c.d` (RFC 4291 section 2.5.5.2). Sixteen bytes with no tag keep a
//! [`FourTuple`](crate::tcp::FourTuple) at 36 bytes (an enum would be 20 per address).
//!
//! A v4-mapped address is not a third family: inside the stack it *is* the IPv4 address.
//! That is unambiguous only because one never comes off the wire in an IPv6 header:
//! `parse_frame` drops an IPv6 packet whose source or destination is v4-mapped
//! (`DropReason::V4MappedOnV6`), as Linux's `tcp_v6_conn_request` refuses a v4-mapped
//! source and RFC 4942 section 2.2 asks. An `Ipv6Addr` given by a user that is v4-mapped
//! names the IPv4 address, as it does on a Linux dual-stack socket.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The 12-byte prefix of an IPv4-mapped IPv6 address.
const V4_MAPPED_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// An IPv4 or IPv6 address (see the module docs for how the two share 16 bytes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Addr([u8; 16]);

impl Addr {
    /// The IPv4 address `host_order` (as `u32::from(Ipv4Addr)` gives it).
    #[inline]
    pub const fn v4(host_order: u32) -> Addr {
        let b = host_order.to_be_bytes();
        Addr([
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, b[0], b[1], b[2], b[3],
        ])
    }

    /// The IPv6 address with these octets. A v4-mapped one is the IPv4 address (module
    /// docs): callers holding octets from the wire check [`is_v4_mapped`] first.
    #[inline]
    pub const fn v6(octets: [u8; 16]) -> Addr {
        Addr(octets)
    }

    /// The 16 bytes (the v4-mapped form for IPv4): what the ISN and cookie hashes cover.
    #[inline]
    pub const fn octets(&self) -> &[u8; 16] {
        &self.0
    }

    /// The family.
    #[inline]
    pub fn family(&self) -> Family {
        if is_v4_mapped(&self.0) {
            Family::V4
        } else {
            Family::V6
        }
    }

    /// True for IPv4.
    #[inline]
    pub fn is_v4(&self) -> bool {
        self.family() == Family::V4
    }

    /// The IPv4 address in host order, if this is one.
    #[inline]
    pub fn to_v4(&self) -> Option<u32> {
        let b = &self.0;
        self.is_v4()
            .then(|| u32::from_be_bytes([b[12], b[13], b[14], b[15]]))
    }

    /// As a standard library address (`IpAddr::V4` for IPv4).
    pub fn to_ip(&self) -> IpAddr {
        match self.to_v4() {
            Some(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
            None => IpAddr::V6(Ipv6Addr::from(self.0)),
        }
    }
}

/// True when `octets` is an IPv4-mapped IPv6 address (`::ffff:0:0/96`).
#[inline]
pub fn is_v4_mapped(octets: &[u8; 16]) -> bool {
    octets[..12] == V4_MAPPED_PREFIX
}

impl std::hash::Hash for Addr {
    /// Two words rather than 16 bytes: the table's multiply-rotate hasher takes a word per
    /// call, so an address costs two rounds, not sixteen.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let (hi, lo) = self.0.split_at(8);
        state.write_u64(u64::from_ne_bytes(hi.try_into().unwrap_or_default()));
        state.write_u64(u64::from_ne_bytes(lo.try_into().unwrap_or_default()));
    }
}

impl From<u32> for Addr {
    /// The IPv4 address in host order.
    #[inline]
    fn from(host_order: u32) -> Addr {
        Addr::v4(host_order)
    }
}

impl From<Ipv4Addr> for Addr {
    #[inline]
    fn from(a: Ipv4Addr) -> Addr {
        Addr::v4(u32::from(a))
    }
}

impl From<Ipv6Addr> for Addr {
    #[inline]
    fn from(a: Ipv6Addr) -> Addr {
        Addr::v6(a.octets())
    }
}

impl From<IpAddr> for Addr {
    #[inline]
    fn from(a: IpAddr) -> Addr {
        match a {
            IpAddr::V4(v4) => v4.into(),
            IpAddr::V6(v6) => v6.into(),
        }
    }
}

impl From<Addr> for IpAddr {
    #[inline]
    fn from(a: Addr) -> IpAddr {
        a.to_ip()
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_ip(), f)
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_ip(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_round_trips_through_its_mapped_form() {
        let a = Addr::v4(0x0a00_0001);
        assert_eq!(a.family(), Family::V4);
        assert_eq!(a.to_v4(), Some(0x0a00_0001));
        assert_eq!(a.to_string(), "10.0.0.1");
        assert_eq!(a, Addr::from("10.0.0.1".parse::<IpAddr>().unwrap()));
    }

    #[test]
    fn ipv6_is_its_own_family_and_prints_as_ipv6() {
        let a = Addr::from("2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(a.family(), Family::V6);
        assert_eq!(a.to_v4(), None);
        assert_eq!(a.to_string(), "2001:db8::1");
        assert_ne!(a, Addr::v4(0x0a00_0001));
    }

    #[test]
    fn a_user_given_v4_mapped_address_names_the_ipv4_address() {
        let mapped: Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
        assert!(is_v4_mapped(&mapped.octets()));
        assert_eq!(Addr::from(mapped), Addr::v4(0x0a00_0001));
        // The IPv4-compatible form (::a.b.c.d, deprecated) is an IPv6 address.
        let compat: Ipv6Addr = "::10.0.0.1".parse().unwrap();
        assert_eq!(Addr::from(compat).family(), Family::V6);
    }
}
