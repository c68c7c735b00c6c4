//! iptables rules inside a test namespace, removed on drop: loss injection (`-m statistic`,
//! there is no netem on the target kernel) and hiding the kernel's RSTs from a raw peer.

use anyhow::Result;

use crate::{host, Netns};

/// One rule appended with `iptables -A <chain> <spec...>` in a namespace; `-D` on drop (the
/// namespace's deletion would remove it anyway, this keeps a long test's later steps clean).
pub struct IptablesRule {
    netns: String,
    chain: String,
    spec: Vec<String>,
}

impl IptablesRule {
    /// The rule as `iptables -S` would print it (for messages).
    pub fn describe(&self) -> String {
        format!("-A {} {}", self.chain, self.spec.join(" "))
    }
}

impl Drop for IptablesRule {
    fn drop(&mut self) {
        if !Netns::exists(&self.netns) {
            return;
        }
        let mut argv = vec!["ip", "netns", "exec", &self.netns, "iptables", "-w", "-D"];
        argv.push(&self.chain);
        argv.extend(self.spec.iter().map(String::as_str));
        if let Err(e) = host(&argv).and_then(|o| o.check()) {
            eprintln!(
                "warning: cannot remove iptables rule {}: {e:#}",
                self.describe()
            );
        }
    }
}

impl Netns {
    /// Appends an iptables rule to `chain` in this namespace: `ns.iptables_append("INPUT",
    /// &["-p", "tcp", "--sport", "7", "-m", "statistic", "--mode", "random", "--probability",
    /// "0.02", "-j", "DROP"])`. The rule is deleted when the guard is dropped.
    pub fn iptables_append(&self, chain: &str, spec: &[&str]) -> Result<IptablesRule> {
        let mut argv = vec!["iptables", "-w", "-A", chain];
        argv.extend_from_slice(spec);
        self.run_ok(&argv)?;
        Ok(IptablesRule {
            netns: self.name().to_string(),
            chain: chain.to_string(),
            spec: spec.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Packet count of the rule in `chain` whose `iptables -S` form contains `needle`
    /// (`iptables -L -v -x`), to show that an injected-loss rule really dropped something.
    pub fn iptables_packets(&self, chain: &str, needle: &str) -> Result<u64> {
        let rules = self.run_ok(&["iptables", "-w", "-S", chain])?;
        let index = rules
            .lines()
            .filter(|l| l.starts_with("-A "))
            .position(|l| l.contains(needle))
            .ok_or_else(|| anyhow::anyhow!("no rule matching {needle:?} in {chain}:\n{rules}"))?;
        let listing = self.run_ok(&["iptables", "-w", "-L", chain, "-v", "-x", "-n"])?;
        // Two header lines, then one line per rule in order: "pkts bytes target ...".
        let line = listing
            .lines()
            .nth(2 + index)
            .ok_or_else(|| anyhow::anyhow!("rule {index} missing in:\n{listing}"))?;
        Ok(line
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0))
    }
}
