//! The kernel side a runtime stands on: the interface, the attached XDP program, one AF_XDP
//! port per receive queue, and the steering of the served ports. Opening it is a library
//! call that returns a value and has no other side effect (no signal handlers, no output);
//! dropping it detaches the program.

use anyhow::{bail, Context, Result};

use super::config::{Queues, RuntimeConfig};
use crate::xdp::iface::Interface;
use crate::xdp::socket::PortConfig;
use crate::xdp::{BindMode, XdpMode, XdpProgram, XskPort};

/// The attached XDP program and one AF_XDP port per queue.
pub struct Datapath {
    /// The interface.
    pub iface: Interface,
    /// Local IPv4 address, host order.
    pub addr: u32,
    /// The attached program (dropping it detaches it).
    pub program: XdpProgram,
    /// One port per served queue, queue i at index i.
    pub ports: Vec<XskPort>,
    /// Cores workers are pinned to, in order (queue i on `cores[i % len]`); may be empty.
    pub cores: Vec<usize>,
}

/// What [`Datapath::open`] needs.
#[derive(Clone, Debug)]
pub struct DatapathConfig<'a> {
    /// Interface name.
    pub iface: &'a str,
    /// Local address (default: the interface's).
    pub addr: Option<std::net::Ipv4Addr>,
    /// Queues to open.
    pub queues: Queues,
    /// Cores to pin to (empty: all online cores).
    pub cores: &'a [usize],
    /// XDP attach mode.
    pub xdp_mode: XdpMode,
    /// AF_XDP bind mode.
    pub bind_mode: BindMode,
    /// Local TCP ports to steer to the ports (listening and outbound alike).
    pub steered_ports: &'a [u16],
}

impl<'a> DatapathConfig<'a> {
    /// The datapath part of a runtime configuration, steering `steered_ports`.
    pub fn from_runtime(cfg: &'a RuntimeConfig, steered_ports: &'a [u16]) -> Self {
        DatapathConfig {
            iface: &cfg.iface,
            addr: cfg.addr,
            queues: cfg.queues,
            cores: &cfg.cores,
            xdp_mode: cfg.xdp_mode,
            bind_mode: cfg.bind_mode,
            steered_ports,
        }
    }
}

impl Datapath {
    /// Checks the interface and privileges, attaches the program, opens the ports and steers
    /// the ports to them. Errors are one clear line for the user.
    pub fn open(cfg: &DatapathConfig<'_>) -> Result<Datapath> {
        let iface = Interface::lookup(cfg.iface)?;
        let addr = match cfg.addr {
            Some(a) => u32::from(a),
            None => iface.ipv4_address().with_context(|| {
                format!("interface {} has no IPv4 address; pass --addr", iface.name)
            })?,
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
        let online: Vec<usize> = core_affinity::get_core_ids()
            .unwrap_or_default()
            .iter()
            .map(|c| c.id)
            .collect();
        if let Some(c) = cfg.cores.iter().find(|c| !online.contains(c)) {
            bail!(
                "core {c} is not online (online cores: {})",
                online
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        let cores = if cfg.cores.is_empty() {
            online
        } else {
            cfg.cores.to_vec()
        };
        check_privileges()?;
        let mut program = XdpProgram::attach(&iface.name, cfg.xdp_mode)?;
        let mut ports = Vec::new();
        for q in 0..queues {
            let port = XskPort::open(&iface.name, q, cfg.bind_mode, PortConfig::default())?;
            program.register_socket(q, port.fd())?;
            ports.push(port);
        }
        for &p in cfg.steered_ports {
            program.serve(addr, p)?;
        }
        Ok(Datapath {
            iface,
            addr,
            program,
            ports,
            cores,
        })
    }

    /// The core of worker `i` (queue i), if pinning is possible.
    pub fn core_for(&self, i: usize) -> Option<usize> {
        (!self.cores.is_empty()).then(|| self.cores[i % self.cores.len()])
    }

    /// True when every port is bound in zero-copy mode.
    pub fn zero_copy(&self) -> bool {
        !self.ports.is_empty() && self.ports.iter().all(|p| p.zero_copy)
    }
}

/// Pins the calling thread to a core, if one is given.
pub fn pin(core: Option<usize>) {
    if let Some(id) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

/// Effective capabilities needed: CAP_NET_ADMIN (12), CAP_NET_RAW (13), and CAP_BPF (39) or
/// CAP_SYS_ADMIN (21).
fn check_privileges() -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |bit: u32| caps & (1u64 << bit) != 0;
    if !(has(12) && has(13) && (has(39) || has(21))) {
        bail!("xdptcp needs root (or CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF) to attach XDP and open AF_XDP sockets");
    }
    Ok(())
}
