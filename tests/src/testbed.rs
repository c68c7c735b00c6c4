//! Two namespaces joined by a veth pair: the daemon's side (`srv`) and the kernel peer (`cli`).
//!
//! Multi-queue: veth delivers a frame to the peer's rx queue numbered like the sender's tx
//! queue. With XPS not configured (the default on veth, and forced here by writing 0 to every
//! `xps_cpus`), the kernel picks the tx queue from the flow hash, so connections with
//! different source ports spread over the queues. Verified by `harness::flows_spread_over_queues`
//! (per-rx-queue counters of the server end); XPS would pin all flows of one CPU to one queue.

use std::{
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpStream},
    time::Duration,
};

use anyhow::{Context, Result};

use crate::{netns::next_id, wait_until, Netns};

/// An address family, for tests that run over both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// A veth pair between two fresh namespaces, addressed 10.X.Y.1 (server) / 10.X.Y.2 (client),
/// and, after [`Testbed::enable_ipv6`], fd00:X:Y::1 / fd00:X:Y::2 as well.
pub struct Testbed {
    /// The server namespace, where the daemon runs.
    pub srv: Netns,
    /// The client namespace, where kernel clients run.
    pub cli: Netns,
    /// The veth end in `srv` (the daemon's `--iface`).
    pub srv_if: String,
    /// The veth end in `cli`.
    pub cli_if: String,
    pub srv_ip: Ipv4Addr,
    pub cli_ip: Ipv4Addr,
    /// The server's IPv6 address (configured by [`Testbed::enable_ipv6`]).
    pub srv_ip6: Ipv6Addr,
    /// The client's IPv6 address (configured by [`Testbed::enable_ipv6`]).
    pub cli_ip6: Ipv6Addr,
    /// Number of rx and tx queues on both ends.
    pub queues: u32,
    /// The id in the names of the testbed's namespaces and devices.
    id: u32,
}

/// A client host one hop behind the client namespace, which forwards between it and the
/// server ([`Testbed::routed_client`]). Loss injected by `iptables -A FORWARD` in the
/// client namespace is loss on the wire: a locally sent segment dropped in OUTPUT is
/// reported to its TCP as a failed send and sent again later as new data, never lost.
pub struct RoutedClient {
    /// The client's namespace (removed on drop, with its veth pair).
    pub ns: Netns,
    /// Its IPv4 address (10.X.Y+128.2, behind the client namespace's 10.X.Y+128.1).
    pub ip: Ipv4Addr,
    /// Its IPv6 address when the testbed has IPv6 (fd01:X:Y::2).
    pub ip6: Ipv6Addr,
}

impl Testbed {
    /// Builds the testbed; all of it is removed when the value is dropped.
    pub fn new(queues: u32) -> Result<Testbed> {
        assert!(queues >= 1);
        let id = next_id();
        let srv = Netns::new('s', id)?;
        let cli = Netns::new('c', id)?;
        let srv_if = crate::netns::unique_name('a', id);
        let cli_if = crate::netns::unique_name('b', id);
        // 10.X.Y.0/24 from pid and id, so concurrent runs use different subnets (not needed
        // for isolation, which the namespaces give, but it keeps captures unambiguous).
        let k = std::process::id().wrapping_mul(64).wrapping_add(id);
        let (x, y) = (1 + ((k >> 8) % 254) as u8, (k & 0xff) as u8);
        let srv_ip = Ipv4Addr::new(10, x, y, 1);
        let cli_ip = Ipv4Addr::new(10, x, y, 2);
        let prefix = [0xfd00, u16::from(x), u16::from(y), 0, 0, 0, 0];
        let v6 = |host| {
            let [a, b, c, d, e, f, g] = prefix;
            Ipv6Addr::new(a, b, c, d, e, f, g, host)
        };
        let tb = Testbed {
            srv,
            cli,
            srv_if,
            cli_if,
            srv_ip,
            cli_ip,
            srv_ip6: v6(1),
            cli_ip6: v6(2),
            queues,
            id,
        };
        tb.configure().context("testbed setup")?;
        Ok(tb)
    }

    fn configure(&self) -> Result<()> {
        let q = self.queues.to_string();
        let (srv, cli) = (self.srv.name(), self.cli.name());
        crate::host(&[
            "ip",
            "link",
            "add",
            &self.srv_if,
            "netns",
            srv,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "type",
            "veth",
            "peer",
            "name",
            &self.cli_if,
            "netns",
            cli,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
        ])?
        .check()?;
        for (ns, ifname, ip) in [
            (&self.srv, &self.srv_if, self.srv_ip),
            (&self.cli, &self.cli_if, self.cli_ip),
        ] {
            let cidr = format!("{ip}/24");
            ns.run_ok(&["ip", "addr", "add", &cidr, "dev", ifname])?;
            // Native XDP on one end caps the peer's MTU (~3500): 1500 is always safe.
            ns.run_ok(&["ip", "link", "set", "dev", ifname, "mtu", "1500", "up"])?;
        }
        // The kernel peer would otherwise send partial checksums and GSO super-packets.
        self.cli.run_ok(&[
            "ethtool",
            "-K",
            &self.cli_if,
            "tx",
            "off",
            "tso",
            "off",
            "gso",
            "off",
            "gro",
            "off",
        ])?;
        self.srv.run_ok(&[
            "ethtool",
            "-K",
            &self.srv_if,
            "tso",
            "off",
            "gso",
            "off",
            "gro",
            "off",
        ])?;
        // Flows stay on one queue, as with a NIC's RSS: Linux re-draws a socket's tx hash after
        // an RTO (and on some duplicate-SYN/ACK events) when txrehash is on, and on veth the
        // tx queue is the peer's rx queue, so a flow would move to another worker mid-way.
        self.cli.run_ok(&["sysctl", "-qw", "net.core.txrehash=0"])?;
        // No XPS on the client: the tx queue (= the server's rx queue) comes from the flow hash.
        for i in 0..self.queues {
            let path = format!("/sys/class/net/{}/queues/tx-{i}/xps_cpus", self.cli_if);
            let _ = self.cli.run(&["sh", "-c", &format!("echo 0 > {path}")]);
        }
        wait_until("both veth ends up", Duration::from_secs(5), || {
            let up = |ns: &Netns, ifname: &str| {
                ns.run_ok(&["ip", "-br", "link", "show", "dev", ifname])
                    .map(|s| s.split_whitespace().nth(1) == Some("UP"))
                    .unwrap_or(false)
            };
            (up(&self.srv, &self.srv_if) && up(&self.cli, &self.cli_if)).then_some(())
        })?;
        Ok(())
    }

    /// Turns IPv6 on at both veth ends (namespaces start with it off, so that other tests
    /// see no neighbour-discovery traffic) and gives them [`Testbed::srv_ip6`] and
    /// [`Testbed::cli_ip6`] in a /64, without duplicate address detection so that both are
    /// usable at once.
    pub fn enable_ipv6(&self) -> Result<()> {
        add_ipv6(&self.srv, &self.srv_if, self.srv_ip6)?;
        add_ipv6(&self.cli, &self.cli_if, self.cli_ip6)?;
        Ok(())
    }

    /// A testbed as [`Testbed::new`], with IPv6 enabled when `family` is IPv6.
    pub fn with_family(queues: u32, family: Family) -> Result<Testbed> {
        let tb = Testbed::new(queues)?;
        if family == Family::V6 {
            tb.enable_ipv6()?;
        }
        Ok(tb)
    }

    /// The daemon flags that serve both of the server's addresses (`--addr` v4 and v6).
    pub fn dual_stack_args(&self) -> Vec<String> {
        vec![
            "--addr".into(),
            self.srv_ip.to_string(),
            "--addr".into(),
            self.srv_ip6.to_string(),
        ]
    }

    /// The server's address of `family` with `port`.
    pub fn srv_sockaddr(&self, family: Family, port: u16) -> SocketAddr {
        match family {
            Family::V4 => SocketAddr::V4(self.srv_addr(port)),
            Family::V6 => SocketAddr::V6(self.srv_addr6(port)),
        }
    }

    /// Opens a kernel TCP connection from the client namespace to `addr`.
    pub fn connect_to(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        self.cli
            .exec_in(move || TcpStream::connect_timeout(&addr, timeout))
    }

    /// A client one hop away: a new namespace joined to the client namespace by a second
    /// veth pair, the client namespace forwarding (IPv4, and IPv6 when `ipv6`) between it and
    /// the server. The server needs no route back: the stack answers the frame's source MAC,
    /// the client namespace's.
    pub fn routed_client(&self, ipv6: bool) -> Result<RoutedClient> {
        let ns = Netns::new('r', self.id)?;
        let near = crate::netns::unique_name('e', self.id);
        let far = crate::netns::unique_name('f', self.id);
        crate::host(&[
            "ip",
            "link",
            "add",
            &near,
            "netns",
            self.cli.name(),
            "type",
            "veth",
            "peer",
            "name",
            &far,
            "netns",
            ns.name(),
        ])?
        .check()?;
        let [_, x, y, _] = self.srv_ip.octets();
        let net4 = |host| Ipv4Addr::new(10, x, y.wrapping_add(128), host);
        let net6 = |host| Ipv6Addr::new(0xfd01, u16::from(x), u16::from(y), 0, 0, 0, 0, host);
        let client = RoutedClient {
            ns,
            ip: net4(2),
            ip6: net6(2),
        };
        let (router, host) = (&self.cli, &client.ns);
        router.run_ok(&["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
        for (ns, dev, ip4) in [(router, &near, net4(1)), (host, &far, net4(2))] {
            ns.run_ok(&["ip", "addr", "add", &format!("{ip4}/24"), "dev", dev])?;
            ns.run_ok(&["ip", "link", "set", "dev", dev, "mtu", "1500", "up"])?;
            // As on the client end of the testbed: full checksums, no GSO super-packets.
            ns.run_ok(&[
                "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off",
            ])?;
        }
        host.run_ok(&["ip", "route", "add", "default", "via", &net4(1).to_string()])?;
        host.run_ok(&["sysctl", "-qw", "net.core.txrehash=0"])?;
        if ipv6 {
            router.run_ok(&["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])?;
            add_ipv6(router, &near, net6(1))?;
            add_ipv6(host, &far, net6(2))?;
            host.run_ok(&[
                "ip",
                "-6",
                "route",
                "add",
                "default",
                "via",
                &net6(1).to_string(),
            ])?;
        }
        Ok(client)
    }

    /// The server address with `port`.
    pub fn srv_addr(&self, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(self.srv_ip, port)
    }

    /// The server's IPv6 address with `port`.
    pub fn srv_addr6(&self, port: u16) -> SocketAddrV6 {
        SocketAddrV6::new(self.srv_ip6, port, 0, 0)
    }

    /// Opens a kernel TCP connection over IPv6 from the client namespace to the server's
    /// `port` (after [`Testbed::enable_ipv6`]).
    pub fn connect6(&self, port: u16, timeout: Duration) -> io::Result<TcpStream> {
        self.connect_to(SocketAddr::V6(self.srv_addr6(port)), timeout)
    }

    /// Opens a kernel TCP connection from the client namespace to the server's `port`.
    pub fn connect(&self, port: u16, timeout: Duration) -> io::Result<TcpStream> {
        self.connect_to(SocketAddr::V4(self.srv_addr(port)), timeout)
    }

    /// True if `ip -d link show` on the server end shows an XDP program.
    pub fn srv_xdp_attached(&self) -> Result<bool> {
        let out = self
            .srv
            .run_ok(&["ip", "-d", "link", "show", "dev", &self.srv_if])?;
        Ok(shows_xdp(&out))
    }

    /// Per-rx-queue packet counts of the server end (`ethtool -S`, `rx_queue_<q>_xdp_packets`).
    /// veth counts these only on its NAPI path (XDP attached or GRO on).
    pub fn srv_rx_queue_packets(&self) -> Result<Vec<u64>> {
        let out = self.srv.run_ok(&["ethtool", "-S", &self.srv_if])?;
        Ok((0..self.queues)
            .map(|q| {
                let key = format!("rx_queue_{q}_xdp_packets:");
                out.lines()
                    .find_map(|l| l.trim().strip_prefix(key.as_str()))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0)
            })
            .collect())
    }

    /// A kernel TCP listener bound to `port` of the server address inside the server
    /// namespace (the socket stays in that namespace when used from other threads).
    pub fn kernel_listener(&self, port: u16) -> std::net::TcpListener {
        let addr = self.srv_addr(port);
        self.srv
            .exec_in(move || std::net::TcpListener::bind(addr))
            .expect("kernel listener binds in the server namespace")
    }
}

/// Turns IPv6 on for `dev` in `ns` and gives it `ip`/64 without duplicate address detection
/// (usable at once).
fn add_ipv6(ns: &Netns, dev: &str, ip: Ipv6Addr) -> Result<()> {
    ns.run_ok(&[
        "sysctl",
        "-qw",
        &format!("net.ipv6.conf.{dev}.disable_ipv6=0"),
    ])?;
    ns.run_ok(&[
        "ip",
        "-6",
        "addr",
        "add",
        &format!("{ip}/64"),
        "dev",
        dev,
        "nodad",
    ])?;
    Ok(())
}

/// True if `ip -d link show` output mentions an attached XDP program (`xdp`, `xdpgeneric`,
/// `xdpdrv`, `prog/xdp`, ...).
pub fn shows_xdp(ip_link_output: &str) -> bool {
    ip_link_output
        .split_whitespace()
        .any(|t| t.starts_with("xdp") || t.contains("prog/xdp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_attached_xdp() {
        let none = "5: xt1a0@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP \
                    mode DEFAULT group default qlen 1000\n    link/ether 1a:2b brd ff:ff\n    veth addrgenmode eui64";
        let drv =
            "5: xt1a0@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 xdp qdisc noqueue\n    \
                   link/ether 1a:2b brd ff:ff\n    prog/xdp id 42 name xdptcp tag 0123 jited";
        assert!(!shows_xdp(none));
        assert!(shows_xdp(drv));
        assert!(shows_xdp("mtu 1500 xdpgeneric/id:7 qdisc"));
    }
}
