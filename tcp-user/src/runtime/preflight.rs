//! Start-up checks against the machine: the interface exists, the addresses are its
//! own, the queues exist, the cores are online. They read the kernel but change nothing,
//! so `xdptcp check-config` runs the same checks `serve` runs before it attaches. Each
//! mistake is one line that names the value and what would have been valid.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{bail, Context, Result};

use super::config::Queues;
use super::datapath::DatapathConfig;
use crate::xdp::iface::Interface;

/// What the checks resolved: the values the datapath then uses.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The interface.
    pub iface: Interface,
    /// Local addresses (given, or the interface's first IPv4, else its first global IPv6).
    pub addrs: Vec<IpAddr>,
    /// Receive queues to open.
    pub queues: u32,
    /// Cores to pin to, queue i on `cores[i % len]` (the given ones, or every one this
    /// process may run on).
    pub cores: Vec<usize>,
}

/// Runs every check of `cfg` that needs the machine but no privileges.
pub fn check(cfg: &DatapathConfig<'_>) -> Result<Checked> {
    let iface = Interface::lookup(cfg.iface)?;
    let own4 = iface.ipv4_addresses();
    let own6 = iface.ipv6_addresses();
    let addrs = if cfg.addrs.is_empty() {
        default_addrs(&iface.name, &own4, &own6, cfg.remotes)?
    } else {
        let own: Vec<IpAddr> = own4
            .iter()
            .map(|a| IpAddr::V4(*a))
            .chain(own6.iter().map(|a| IpAddr::V6(*a)))
            .collect();
        for a in cfg.addrs {
            check_addr(*a, &iface.name, &own)?;
        }
        cfg.addrs.to_vec()
    };
    let queues = match cfg.queues {
        Queues::All => iface.rx_queues,
        Queues::Count(n) if n <= iface.rx_queues => n,
        Queues::Count(n) => bail!(
            "--queues {n}: interface {} has only {} receive queues",
            iface.name,
            iface.rx_queues
        ),
    };
    let allowed = allowed_cores();
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|t| parse_cpu_list(t.trim()))
        .unwrap_or_else(|| allowed.clone());
    check_cores(cfg.cores, &online, &allowed)?;
    let cores = if cfg.cores.is_empty() {
        allowed
    } else {
        cfg.cores.to_vec()
    };
    Ok(Checked {
        iface,
        addrs,
        queues,
        cores,
    })
}

/// The addresses used when none is given. Without remotes: the first IPv4 address, else
/// the first IPv6 address that is not link-local (serving both families takes an `--addr`
/// for each, as a kernel server binds each family it wants). With remotes (outbound
/// connections): the first address of each family they are in, so that `connect --remote
/// [2001:db8::1]:80` leaves from the interface's IPv6 address.
fn default_addrs(
    iface: &str,
    own4: &[Ipv4Addr],
    own6: &[Ipv6Addr],
    remotes: &[IpAddr],
) -> Result<Vec<IpAddr>> {
    let first4 = own4.first().map(|a| IpAddr::V4(*a));
    let first6 = own6
        .iter()
        .find(|a| !crate::xdp::netlink::is_link_local(a) && !a.is_loopback())
        .map(|a| IpAddr::V6(*a));
    if remotes.is_empty() {
        return first4.or(first6).map(|a| vec![a]).with_context(|| {
            format!("interface {iface} has no IPv4 or global IPv6 address; pass --addr")
        });
    }
    let mut addrs = Vec::new();
    for (v4, first, family) in [(true, first4, "IPv4"), (false, first6, "IPv6")] {
        if let Some(r) = remotes.iter().find(|r| r.is_ipv4() == v4) {
            addrs.push(first.with_context(|| {
                format!(
                    "interface {iface} has no {family} address to connect to {r} from; pass --addr"
                )
            })?);
        }
    }
    Ok(addrs)
}

/// The cores this process may run on (its affinity mask, which a service manager's
/// `CPUAffinity=` or `taskset` may have narrowed).
fn allowed_cores() -> Vec<usize> {
    core_affinity::get_core_ids()
        .unwrap_or_default()
        .iter()
        .map(|c| c.id)
        .collect()
}

/// `addr` must be one of the interface's addresses of its family: the kernel answers ARP
/// and neighbour solicitations for the served address, and it answers only for its own.
pub fn check_addr(addr: IpAddr, iface: &str, own: &[IpAddr]) -> Result<()> {
    if own.contains(&addr) {
        return Ok(());
    }
    let same: Vec<String> = own
        .iter()
        .filter(|a| a.is_ipv4() == addr.is_ipv4())
        .map(|a| a.to_string())
        .collect();
    let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
    if same.is_empty() {
        bail!("address {addr} is not on {iface} (it has no {family} address)");
    }
    // IPv4 keeps its message of before IPv6 was served: "its addresses".
    let which = if addr.is_ipv4() { "" } else { "IPv6 " };
    bail!(
        "address {addr} is not on {iface} (its {which}addresses: {})",
        same.join(", ")
    );
}

/// Every requested core must be online and in the process's affinity mask: a worker
/// pinned elsewhere would not be pinned at all.
pub fn check_cores(requested: &[usize], online: &[usize], allowed: &[usize]) -> Result<()> {
    for &c in requested {
        if !online.contains(&c) {
            bail!("core {c} is not online (online: {})", cpu_list_text(online));
        }
        if !allowed.contains(&c) {
            bail!(
                "core {c} is not in this process's CPU affinity (allowed: {})",
                cpu_list_text(allowed)
            );
        }
    }
    Ok(())
}

/// The kernel's CPU list format (`0-3,6,8-9`), as in `/sys/devices/system/cpu/online`.
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// Cores as the kernel writes them: runs of consecutive ids as `a-b`.
pub fn cpu_list_text(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            sorted[i].to_string()
        } else {
            format!("{}-{}", sorted[i], sorted[j])
        });
        i = j + 1;
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_round_trip_in_the_kernel_format() {
        assert_eq!(parse_cpu_list("0-1"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0-2,5,7-8"), Some(vec![0, 1, 2, 5, 7, 8]));
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(cpu_list_text(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(cpu_list_text(&[3]), "3");
        assert_eq!(cpu_list_text(&[]), "none");
    }

    #[test]
    fn a_core_that_is_not_online_is_named_with_the_online_ones() {
        let e = check_cores(&[0, 7], &[0, 1], &[0, 1]).unwrap_err();
        assert_eq!(e.to_string(), "core 7 is not online (online: 0-1)");
        assert!(check_cores(&[1, 0], &[0, 1], &[0, 1]).is_ok());
    }

    #[test]
    fn a_core_outside_the_affinity_mask_is_refused() {
        let e = check_cores(&[1], &[0, 1], &[0]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "core 1 is not in this process's CPU affinity (allowed: 0)"
        );
    }

    #[test]
    fn an_address_not_on_the_interface_lists_its_addresses() {
        let own: [IpAddr; 3] = [
            Ipv4Addr::new(10, 0, 0, 1).into(),
            Ipv4Addr::new(10, 0, 1, 1).into(),
            "fd00::1".parse().unwrap(),
        ];
        let far: IpAddr = Ipv4Addr::new(10, 9, 9, 9).into();
        let e = check_addr(far, "veth0", &own).unwrap_err();
        assert_eq!(
            e.to_string(),
            "address 10.9.9.9 is not on veth0 (its addresses: 10.0.0.1, 10.0.1.1)"
        );
        let e = check_addr(far, "veth0", &own[2..]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "address 10.9.9.9 is not on veth0 (it has no IPv4 address)"
        );
        assert!(check_addr(own[1], "veth0", &own).is_ok());
    }

    #[test]
    fn an_ipv6_address_not_on_the_interface_lists_its_ipv6_addresses() {
        let own: Vec<IpAddr> = ["10.0.0.1", "fe80::1", "2001:db8::1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let far: IpAddr = "2001:db8::9".parse().unwrap();
        let e = check_addr(far, "veth0", &own).unwrap_err();
        assert_eq!(
            e.to_string(),
            "address 2001:db8::9 is not on veth0 (its IPv6 addresses: fe80::1, 2001:db8::1)"
        );
        let e = check_addr(far, "veth0", &own[..1]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "address 2001:db8::9 is not on veth0 (it has no IPv6 address)"
        );
        assert!(check_addr(own[2], "veth0", &own).is_ok());
    }

    #[test]
    fn the_default_is_the_first_ipv4_else_the_first_global_ipv6() {
        let v4 = [Ipv4Addr::new(10, 0, 0, 1)];
        let v6: Vec<Ipv6Addr> = ["fe80::1", "2001:db8::1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let d = |v4: &[Ipv4Addr], v6: &[Ipv6Addr], r: &[IpAddr]| default_addrs("veth0", v4, v6, r);
        assert_eq!(d(&v4, &v6, &[]).unwrap(), vec![IpAddr::from(v4[0])]);
        assert_eq!(d(&[], &v6, &[]).unwrap(), vec![IpAddr::from(v6[1])]);
        assert_eq!(
            d(&[], &v6[..1], &[]).unwrap_err().to_string(),
            "interface veth0 has no IPv4 or global IPv6 address; pass --addr"
        );
        // Outbound connections: an address of each family the remotes are in.
        let r6: IpAddr = "2001:db8::9".parse().unwrap();
        let r4: IpAddr = Ipv4Addr::new(10, 0, 0, 2).into();
        assert_eq!(d(&v4, &v6, &[r6]).unwrap(), vec![IpAddr::from(v6[1])]);
        assert_eq!(
            d(&v4, &v6, &[r6, r4]).unwrap(),
            vec![IpAddr::from(v4[0]), IpAddr::from(v6[1])]
        );
        assert_eq!(
            d(&v4, &v6[..1], &[r6]).unwrap_err().to_string(),
            "interface veth0 has no IPv6 address to connect to 2001:db8::9 from; pass --addr"
        );
    }
}
