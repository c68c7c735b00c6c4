//! Small facts about the machine and processes: CPU time of a pid, TCP counters, pinning, and
//! a timestamp for result directories (no date crate needed).
#![allow(unsafe_code)] // getrusage and sched_setaffinity are FFI.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// Pins the calling thread to `core`; a core that does not exist is an error, not a warning,
/// so a typo does not silently produce unpinned figures.
pub fn pin_current_thread(core: usize) -> Result<()> {
    let ids = core_affinity::get_core_ids().context("cannot read the CPU set")?;
    let Some(id) = ids.into_iter().find(|c| c.id == core) else {
        bail!("core {core} is not available to this process");
    };
    if !core_affinity::set_for_current(id) {
        bail!("cannot pin to core {core}");
    }
    Ok(())
}

/// utime + stime of a process (all its threads, live and exited) in seconds.
pub fn process_cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    let ticks = parse_stat_cpu_ticks(&stat).with_context(|| format!("bad /proc/{pid}/stat"))?;
    // Safety: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Ok(ticks as f64 / if hz > 0 { hz as f64 } else { 100.0 })
}

/// utime + stime (fields 14 and 15) from a /proc/<pid>/stat line. The command name (field 2)
/// may contain spaces and parentheses, so fields are counted after the last `)`.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name, field 3 (state) comes first: utime is the 12th field from here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `Tcp: RetransSegs` from the text of /proc/net/snmp.
pub fn parse_retrans_segs(snmp: &str) -> Option<u64> {
    let mut lines = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let names = lines.next()?;
    let values = lines.next()?;
    let idx = names.split_whitespace().position(|n| n == "RetransSegs")?;
    values.split_whitespace().nth(idx)?.parse().ok()
}

/// Where the benchmark runs, for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct MachineInfo {
    pub cpu_model: String,
    pub nproc: usize,
    pub kernel: String,
    /// 1-minute load average when the run started (other work skews the figures).
    pub loadavg_1m: f64,
}

impl MachineInfo {
    pub fn read() -> MachineInfo {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let nproc = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let loadavg_1m = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        MachineInfo {
            cpu_model,
            nproc,
            kernel,
            loadavg_1m,
        }
    }
}

/// `YYYYMMDD-HHMMSS` in UTC.
pub fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_timestamp(secs)
}

/// `YYYYMMDD-HHMMSS` (UTC) for seconds since the epoch.
pub fn format_timestamp(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for all dates after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_ticks_skip_names_with_spaces() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    17 5 0 0 20 0 1 0 100 1000 10 18446744073709551615";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(22));
    }

    #[test]
    fn own_cpu_time_is_readable() {
        assert!(process_cpu_seconds(std::process::id()).unwrap() >= 0.0);
    }

    #[test]
    fn retrans_segs_from_snmp() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
                    Tcp: RtoAlgorithm RtoMin ActiveOpens RetransSegs InErrs\n\
                    Tcp: 1 200 17 42 0\nUdp: InDatagrams\nUdp: 3\n";
        assert_eq!(parse_retrans_segs(snmp), Some(42));
        let real = std::fs::read_to_string("/proc/net/snmp").unwrap();
        assert!(parse_retrans_segs(&real).is_some());
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(format_timestamp(0), "19700101-000000");
        assert_eq!(format_timestamp(951_782_400), "20000229-000000");
        assert_eq!(format_timestamp(1_700_000_000), "20231114-221320");
    }
}
