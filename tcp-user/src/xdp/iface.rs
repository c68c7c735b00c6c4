//! Facts about a network interface read from the kernel: index, MAC, MTU and IPv4 address
//! over rtnetlink, receive queues and operational state from sysfs.

use anyhow::{bail, Context, Result};
use std::fs;

use super::netlink;
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
        if name.contains('\0') {
            bail!("interface name contains a NUL byte");
        }
        // Longer names cannot exist (IFNAMSIZ); the kernel would answer EINVAL, not ENODEV.
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            bail!("no such interface: {name}");
        }
        let link = netlink::link_by_name(name)
            .with_context(|| format!("looking up interface {name}"))?
            .with_context(|| format!("no such interface: {name}"))?;
        let mac = link
            .address
            .as_deref()
            .and_then(|a| <[u8; 6]>::try_from(a).ok())
            .map(MacAddr)
            .with_context(|| format!("interface {name} has no Ethernet address"))?;
        // The queue count is not in rtnetlink: IFLA_NUM_RX_QUEUES is the number allocated,
        // while the `rx-*` directories are the queues in use (`ethtool -L` changes those), and
        // a socket must be bound on every queue in use.
        let rx_queues = fs::read_dir(format!("/sys/class/net/{name}/queues"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                    .count() as u32
            })
            .unwrap_or(1)
            .max(1);
        Ok(Interface {
            name: name.to_string(),
            index: link.index,
            mac,
            mtu: link.mtu.unwrap_or(1500),
            rx_queues,
        })
    }

    /// True while an interface of this name and index still exists. A failed query counts
    /// as present: only the kernel's "no such device" (or a new index) means it is gone.
    pub fn exists(&self) -> bool {
        match netlink::link_by_name(&self.name) {
            Ok(Some(link)) => link.index == self.index,
            Ok(None) => false,
            Err(_) => true,
        }
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
        let addrs = netlink::ipv4_addresses(self.index).ok()?;
        addrs.first().map(|a| u32::from(*a))
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
