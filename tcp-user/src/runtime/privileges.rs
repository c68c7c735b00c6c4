//! What the daemon needs from the kernel to attach, checked before it tries, so a missing
//! privilege is one line that names it rather than an EPERM from deep in a syscall.
//!
//! Found by running the daemon as `nobody` with all but one capability each time (this
//! check bypassed), on kernel 6.18: without CAP_BPF the maps are not created; without
//! CAP_PERFMON the verifier refuses the program ("pointer arithmetic with it prohibited
//! for !root"); without CAP_NET_ADMIN the XSKMAP is not created (and nothing could be
//! attached); without CAP_NET_RAW no AF_XDP socket opens; without CAP_IPC_LOCK the UMEM
//! registration is charged to RLIMIT_MEMLOCK (64 MiB per queue, above the usual 8 MiB).
//! The netns test `unprivileged_with_the_units_capabilities_serves_an_echo_and_each_one_is_needed`
//! runs the daemon with exactly the unit's set.
#![allow(unsafe_code)] // getrlimit is FFI: one call into a struct we own.

use anyhow::{bail, Result};

/// A capability the daemon needs: its name, its bit, and the bit that also grants it.
struct Needed {
    name: &'static str,
    bit: u32,
    or_bit: Option<u32>,
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_IPC_LOCK: u32 = 14;

/// Needed whatever the size: CAP_BPF and CAP_PERFMON may be had through CAP_SYS_ADMIN.
const NEEDED: [Needed; 4] = [
    Needed {
        name: "CAP_BPF",
        bit: 39,
        or_bit: Some(CAP_SYS_ADMIN),
    },
    Needed {
        name: "CAP_PERFMON",
        bit: 38,
        or_bit: Some(CAP_SYS_ADMIN),
    },
    Needed {
        name: "CAP_NET_ADMIN",
        bit: 12,
        or_bit: None,
    },
    Needed {
        name: "CAP_NET_RAW",
        bit: 13,
        or_bit: None,
    },
];

/// Checks the effective capabilities and the memlock limit for `umem_bytes` of UMEM.
pub fn check(umem_bytes: u64) -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    check_caps(caps, memlock_limit(), umem_bytes)
}

/// The soft RLIMIT_MEMLOCK in bytes (`u64::MAX`: unlimited).
fn memlock_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // Safety: getrlimit writes one rlimit into the struct we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) };
    if rc != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
        return u64::MAX;
    }
    lim.rlim_cur
}

/// The check on given values: `caps` is the CapEff mask.
pub fn check_caps(caps: u64, memlock: u64, umem_bytes: u64) -> Result<()> {
    let has = |bit: u32| caps & (1u64 << bit) != 0;
    let missing: Vec<&str> = NEEDED
        .iter()
        .filter(|n| !has(n.bit) && !n.or_bit.is_some_and(has))
        .map(|n| n.name)
        .collect();
    if !missing.is_empty() {
        bail!(
            "xdptcp needs root, or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW and CAP_IPC_LOCK (missing: {}), to load and attach XDP and open AF_XDP sockets",
            missing.join(", ")
        );
    }
    if !has(CAP_IPC_LOCK) && memlock < umem_bytes {
        bail!(
            "the UMEM needs {} MiB of locked memory: give CAP_IPC_LOCK or raise the memlock limit (now {} KiB; LimitMEMLOCK= in a unit)",
            umem_bytes.div_ceil(1 << 20),
            memlock >> 10
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u64 = (1 << 39) | (1 << 38) | (1 << 12) | (1 << 13) | (1 << 14);
    const UMEM: u64 = 64 << 20;

    #[test]
    fn the_units_capability_set_is_enough_with_any_memlock_limit() {
        assert!(check_caps(ALL, 0, UMEM).is_ok());
    }

    #[test]
    fn cap_sys_admin_stands_in_for_cap_bpf_and_cap_perfmon() {
        let caps = (1 << CAP_SYS_ADMIN) | (1 << 12) | (1 << 13) | (1 << 14);
        assert!(check_caps(caps, 0, UMEM).is_ok());
    }

    #[test]
    fn a_missing_capability_is_named() {
        let e = check_caps(ALL & !(1 << 38), u64::MAX, UMEM).unwrap_err();
        assert_eq!(
            e.to_string(),
            "xdptcp needs root, or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW and CAP_IPC_LOCK (missing: CAP_PERFMON), to load and attach XDP and open AF_XDP sockets"
        );
        let e = check_caps(0, u64::MAX, UMEM).unwrap_err();
        assert!(e
            .to_string()
            .contains("(missing: CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW)"));
    }

    #[test]
    fn without_cap_ipc_lock_the_memlock_limit_must_hold_the_umem() {
        let caps = ALL & !(1 << CAP_IPC_LOCK);
        let e = check_caps(caps, 8 << 20, UMEM).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the UMEM needs 64 MiB of locked memory: give CAP_IPC_LOCK or raise the memlock limit (now 8192 KiB; LimitMEMLOCK= in a unit)"
        );
        assert!(check_caps(caps, UMEM, UMEM).is_ok());
        assert!(check_caps(caps, u64::MAX, UMEM).is_ok());
    }
}
