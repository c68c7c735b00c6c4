//! The kernel side a runtime stands on: the interface, the attached XDP program, one AF_XDP
//! port per receive queue, and the steering of the served ports. Opening it is a library
//! call that returns a value and has no other side effect (no signal handlers, no output);
//! dropping it detaches the program.

use anyhow::Result;

use super::config::{Queues, RuntimeConfig};
use crate::xdp::iface::Interface;
use crate::xdp::socket::PortConfig;
use crate::xdp::{BindMode, XdpMode, XdpProgram, XskPort};

/// The attached XDP program and one AF_XDP port per queue.
pub struct Datapath {
    /// The interface.
    pub iface: Interface,
    /// Local addresses, each served on every steered port.
    pub addrs: Vec<std::net::IpAddr>,
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
    /// Local addresses (empty: the interface's, see [`RuntimeConfig::addrs`]).
    pub addrs: &'a [std::net::IpAddr],
    /// Remotes of a runtime that only connects (no listener): the default addresses are
    /// then one of each of their families.
    pub remotes: &'a [std::net::IpAddr],
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
            addrs: &cfg.addrs,
            remotes: match &cfg.connect {
                Some(c) if cfg.listen_ports.is_empty() => &c.remotes,
                _ => &[],
            },
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
        let super::preflight::Checked {
            iface,
            addrs,
            queues,
            cores,
        } = super::preflight::check(cfg)?;
        // One UMEM of 4 KiB frames per queue, pinned by the kernel (RLIMIT_MEMLOCK).
        let umem_bytes = u64::from(PortConfig::default().frames) * 4096 * u64::from(queues);
        super::privileges::check(umem_bytes)?;
        let mut program = XdpProgram::attach(&iface.name, cfg.xdp_mode)?;
        let mut ports = Vec::new();
        for q in 0..queues {
            let port = XskPort::open(&iface.name, q, cfg.bind_mode, PortConfig::default())?;
            program.register_socket(q, port.fd())?;
            ports.push(port);
        }
        for &p in cfg.steered_ports {
            for a in &addrs {
                match a {
                    std::net::IpAddr::V4(v4) => program.serve(u32::from(*v4), p)?,
                    std::net::IpAddr::V6(v6) => program.serve6(v6.octets(), p)?,
                }
            }
        }
        Ok(Datapath {
            iface,
            addrs,
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
