//! Facts about a network interface read from the kernel: index, MAC, MTU and addresses
//! of both families over rtnetlink, receive queues and operational state from sysfs, the driver
//! from the ethtool ioctl.
#![allow(unsafe_code)] // the ETHTOOL_GDRVINFO ioctl is FFI (netlink has no driver name).

use anyhow::{bail, Context, Result};
use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr};

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
        self.ipv4_addresses().first().map(|a| u32::from(*a))
    }

    /// Every IPv4 address of the interface, primary first.
    pub fn ipv4_addresses(&self) -> Vec<Ipv4Addr> {
        netlink::ipv4_addresses(self.index).unwrap_or_default()
    }

    /// Every IPv6 address of the interface, link-local ones included.
    pub fn ipv6_addresses(&self) -> Vec<Ipv6Addr> {
        netlink::ipv6_addresses(self.index).unwrap_or_default()
    }

    /// The name of the interface's driver (`veth`, `mlx5_core`, ...), as `ethtool -i`
    /// reports it: the ETHTOOL_GDRVINFO ioctl, which virtual devices without a
    /// `/sys/class/net/IF/device` link answer too.
    pub fn driver(&self) -> Option<String> {
        driver_name(&self.name)
    }
}

/// `struct ethtool_drvinfo` of `<linux/ethtool.h>`.
#[repr(C)]
struct EthtoolDrvinfo {
    cmd: u32,
    driver: [u8; 32],
    version: [u8; 32],
    fw_version: [u8; 32],
    bus_info: [u8; 32],
    erom_version: [u8; 32],
    reserved2: [u8; 12],
    n_priv_flags: u32,
    n_stats: u32,
    testinfo_len: u32,
    eedump_len: u32,
    regdump_len: u32,
}

/// `struct ifreq` with its `ifr_data` member (the union padded to the kernel's size).
#[repr(C)]
struct IfreqData {
    name: [u8; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

const ETHTOOL_GDRVINFO: u32 = 0x0000_0003;
const SIOCETHTOOL: libc::c_ulong = 0x8946;

/// The driver of interface `name` (ETHTOOL_GDRVINFO), if the ioctl answers.
fn driver_name(name: &str) -> Option<String> {
    if name.len() >= libc::IFNAMSIZ {
        return None;
    }
    let mut info = EthtoolDrvinfo {
        cmd: ETHTOOL_GDRVINFO,
        driver: [0; 32],
        version: [0; 32],
        fw_version: [0; 32],
        bus_info: [0; 32],
        erom_version: [0; 32],
        reserved2: [0; 12],
        n_priv_flags: 0,
        n_stats: 0,
        testinfo_len: 0,
        eedump_len: 0,
        regdump_len: 0,
    };
    let mut req = IfreqData {
        name: [0; libc::IFNAMSIZ],
        data: (&mut info as *mut EthtoolDrvinfo).cast(),
        _pad: [0; 16],
    };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // Safety: a plain socket call; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // Safety: SIOCETHTOOL reads the NUL-terminated name and writes at most
    // size_of::<EthtoolDrvinfo>() bytes through `data`, which points to `info`, alive and
    // exclusively borrowed for the call.
    let rc = unsafe { libc::ioctl(fd, SIOCETHTOOL as _, &mut req as *mut IfreqData) };
    // Safety: `fd` is the socket opened above, closed once.
    unsafe { libc::close(fd) };
    if rc != 0 {
        return None;
    }
    let end = info.driver.iter().position(|&b| b == 0).unwrap_or(32);
    let driver = String::from_utf8_lossy(&info.driver[..end]).into_owned();
    (!driver.is_empty()).then_some(driver)
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
