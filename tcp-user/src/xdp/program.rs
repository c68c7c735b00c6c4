//! Loading the embedded XDP program, attaching it to an interface and filling its maps.
//!
//! The program is attached through a bpf_link where the kernel has them (aya falls back to
//! netlink otherwise): a link belongs to this process's file descriptor, so a daemon killed
//! with SIGKILL detaches the program with it and never leaves the port black-holed.

use anyhow::{anyhow, bail, Context, Result};
use aya::maps::{HashMap, MapData, PerCpuArray, XskMap};
use aya::programs::{Xdp, XdpMode as AyaXdpMode};
use aya::Ebpf;
use std::os::fd::AsRawFd;
use tcp_common::{
    ServedKey, ServedKey6, XdpCounter, COUNTERS_MAP, PROGRAM_NAME, SERVED6_MAP, SERVED_MAP, XSK_MAP,
};

/// The XDP program object built by `cargo xtask build` (empty if it was not built).
static PROGRAM_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tcp-ebpf.o"));

/// How to attach the XDP program (`--xdp-mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpMode {
    /// Driver mode where it works, generic (skb) mode otherwise.
    Auto,
    /// Native mode in the driver; fails if the driver has no XDP support.
    Driver,
    /// Generic mode in the kernel's receive path; works everywhere, slower.
    Skb,
}

impl std::str::FromStr for XdpMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(XdpMode::Auto),
            "driver" | "drv" | "native" => Ok(XdpMode::Driver),
            "skb" | "generic" => Ok(XdpMode::Skb),
            _ => Err(format!(
                "unknown XDP mode '{s}' (expected auto, driver or skb)"
            )),
        }
    }
}

/// The loaded and attached XDP program with its maps. Dropping it detaches the program.
pub struct XdpProgram {
    /// Owns the program and its bpf_link: dropping it detaches the program.
    _ebpf: Ebpf,
    xsks: XskMap<MapData>,
    served: HashMap<MapData, ServedKey, u32>,
    served6: HashMap<MapData, ServedKey6, u32>,
    counters: PerCpuArray<MapData, u64>,
    /// The mode the program ended up attached in.
    pub mode: XdpMode,
}

impl XdpProgram {
    /// Loads the embedded program and attaches it to `ifname`.
    pub fn attach(ifname: &str, mode: XdpMode) -> Result<XdpProgram> {
        if PROGRAM_OBJECT.is_empty() {
            bail!(
                "this xdptcp was built without its XDP program; build it with `cargo xtask build`"
            );
        }
        let mut ebpf = Ebpf::load(PROGRAM_OBJECT).context("loading the XDP program object")?;
        let program: &mut Xdp = ebpf
            .program_mut(PROGRAM_NAME)
            .ok_or_else(|| anyhow!("program {PROGRAM_NAME} missing from the object"))?
            .try_into()
            .context("program is not an XDP program")?;
        program
            .load()
            .context("loading the XDP program into the kernel (verifier)")?;
        let attached = match mode {
            XdpMode::Driver => program
                .attach(ifname, AyaXdpMode::Driver)
                .map(|_| XdpMode::Driver),
            XdpMode::Skb => program
                .attach(ifname, AyaXdpMode::Skb)
                .map(|_| XdpMode::Skb),
            XdpMode::Auto => program
                .attach(ifname, AyaXdpMode::Driver)
                .map(|_| XdpMode::Driver)
                .or_else(|_| {
                    program
                        .attach(ifname, AyaXdpMode::Skb)
                        .map(|_| XdpMode::Skb)
                }),
        };
        let mode = attached.with_context(|| {
            format!("attaching XDP to {ifname} (another XDP program attached? MTU too large?)")
        })?;
        let xsks = XskMap::try_from(take(&mut ebpf, XSK_MAP)?)?;
        let served = HashMap::try_from(take(&mut ebpf, SERVED_MAP)?)?;
        let served6 = HashMap::try_from(take(&mut ebpf, SERVED6_MAP)?)?;
        let counters = PerCpuArray::try_from(take(&mut ebpf, COUNTERS_MAP)?)?;
        Ok(XdpProgram {
            _ebpf: ebpf,
            xsks,
            served,
            served6,
            counters,
            mode,
        })
    }

    /// Adds a served (address, port) pair, both host order.
    pub fn serve(&mut self, addr: u32, port: u16) -> Result<()> {
        self.served
            .insert(ServedKey::new(addr, port), 1, 0)
            .with_context(|| format!("adding served port {port}"))
    }

    /// Adds a served (IPv6 address, port) pair (port in host order).
    pub fn serve6(&mut self, addr: [u8; 16], port: u16) -> Result<()> {
        self.served6
            .insert(ServedKey6::new(addr, port), 1, 0)
            .with_context(|| format!("adding served port {port} on an IPv6 address"))
    }

    /// Points receive queue `queue` at an AF_XDP socket.
    pub fn register_socket(&mut self, queue: u32, fd: &impl AsRawFd) -> Result<()> {
        self.xsks
            .set(queue, fd.as_raw_fd(), 0)
            .with_context(|| format!("registering the AF_XDP socket of queue {queue}"))
    }

    /// The kernel's id of our program.
    pub fn id(&self) -> Option<u32> {
        let program: &Xdp = self._ebpf.program(PROGRAM_NAME)?.try_into().ok()?;
        program.info().ok().map(|info| info.id())
    }

    /// Sums the per-CPU counters: (name, value) in index order.
    pub fn counters(&self) -> Vec<(&'static str, u64)> {
        XdpCounter::ALL
            .iter()
            .map(|(c, name)| {
                let total = self
                    .counters
                    .get(&(*c as u32), 0)
                    .map(|v| v.iter().sum())
                    .unwrap_or(0);
                (*name, total)
            })
            .collect()
    }
}

fn take(ebpf: &mut Ebpf, name: &str) -> Result<aya::maps::Map> {
    ebpf.take_map(name)
        .ok_or_else(|| anyhow!("map {name} missing from the XDP object"))
}
