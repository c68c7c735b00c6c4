//! Facts about a network interface read from the kernel: index, MAC, MTU, IPv4 address,
//! receive queues.

use anyhow::{bail, Context, Result};
use std::ffi::CString;
use std::fs;

use crate::wire::MacAddr;

/// What the daemon needs to know about the interface it serves.
#[derive(Clone, Debug)]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// Its Ethernet address.
    pub mac: MacAddr,
    /// Its MTU.
    pub mtu: u32,
    /// Number of receive queues the device exposes (`/sys/class/net/IF/queues/rx-*`).
    pub rx_queues: u32,
}

impl Interface {
    /// Looks the interface up; a missing interface is a clear error.
    pub fn lookup(name: &str) -> Result<Interface> {
        let cname = CString::new(name).context("interface name contains a NUL byte")?;
        // Safety: if_nametoindex reads a NUL-terminated string we own.
        let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if index == 0 {
            bail!("no such interface: {name}");
        }
        let sys = format!("/sys/class/net/{name}");
        let mac_text = fs::read_to_string(format!("{sys}/address"))
            .with_context(|| format!("reading MAC address of {name}"))?;
        let mac = parse_mac(mac_text.trim())
            .with_context(|| format!("interface {name} has no Ethernet address"))?;
        let mtu = fs::read_to_string(format!("{sys}/mtu"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1500);
        let rx_queues = fs::read_dir(format!("{sys}/queues"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                    .count() as u32
            })
            .unwrap_or(1)
            .max(1);
        Ok(Interface {
            name: name.to_string(),
            index,
            mac,
            mtu,
            rx_queues,
        })
    }

    /// True while an interface of this name and index still exists.
    pub fn exists(&self) -> bool {
        let Ok(cname) = CString::new(self.name.as_str()) else {
            return false;
        };
        // Safety: if_nametoindex reads a NUL-terminated string we own.
        unsafe { libc::if_nametoindex(cname.as_ptr()) == self.index }
    }

    /// True when the interface is administratively up with a carrier (`operstate` up, or
    /// unknown as some virtual devices report).
    pub fn is_up(&self) -> bool {
        fs::read_to_string(format!("/sys/class/net/{}/operstate", self.name))
            .map(|s| matches!(s.trim(), "up" | "unknown"))
            .unwrap_or(false)
    }

    /// The interface's first IPv4 address (host order), if it has one.
    pub fn ipv4_address(&self) -> Option<u32> {
        let mut addrs: *mut libc::ifaddrs = std::ptr::null_mut();
        // Safety: getifaddrs fills a list we free below with freeifaddrs.
        if unsafe { libc::getifaddrs(&mut addrs) } != 0 {
            return None;
        }
        let mut found = None;
        let mut cur = addrs;
        while !cur.is_null() {
            // Safety: `cur` is a node of the list returned by getifaddrs.
            let ifa = unsafe { &*cur };
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            // Safety: ifa_name is a NUL-terminated string owned by the list.
            let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
            // Safety: ifa_addr is non-null and points to a sockaddr.
            let family = unsafe { (*ifa.ifa_addr).sa_family } as i32;
            if name.to_bytes() == self.name.as_bytes() && family == libc::AF_INET {
                // Safety: family is AF_INET, so the sockaddr is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                found = Some(u32::from_be(sin.sin_addr.s_addr));
                break;
            }
        }
        // Safety: `addrs` came from getifaddrs and is freed once.
        unsafe { libc::freeifaddrs(addrs) };
        found
    }
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(text: &str) -> Option<MacAddr> {
    let mut out = [0u8; 6];
    let mut parts = text.split(':');
    for byte in out.iter_mut() {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(MacAddr(out))
}
