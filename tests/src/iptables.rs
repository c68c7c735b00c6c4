//! iptables rules inside a test namespace, removed on drop: loss injection (`-m statistic`,
//! there is no netem on the target kernel) and hiding the kernel's RSTs from a raw peer.

use anyhow::Result;

use crate::{host, Netns};

/// One rule appended with `iptables -A <chain> <spec...>` in a namespace; `-D` on drop (the
/// namespace's deletion would remove it anyway, this keeps a long test's later steps clean).
pub struct IptablesRule {
    /// `iptables` or `ip6tables`.
    bin: &'static str,
    netns: String,
    chain: String,
    spec: Vec<String>,
}

impl IptablesRule {
    /// The rule as `iptables -S` would print it (for messages).
    pub fn describe(&self) -> String {
        format!("{} -A {} {}", self.bin, self.chain, self.spec.join(" "))
    }
}

impl Drop for IptablesRule {
    fn drop(&mut self) {
        if !Netns::exists(&self.netns) {
            return;
        }
        let mut argv = vec!["ip", "netns", "exec", &self.netns, self.bin, "-w", "-D"];
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
        self.rule_append("iptables", chain, spec)
    }

    /// As [`Netns::iptables_append`], for IPv6 (`ip6tables`).
    pub fn ip6tables_append(&self, chain: &str, spec: &[&str]) -> Result<IptablesRule> {
        self.rule_append("ip6tables", chain, spec)
    }

    fn rule_append(&self, bin: &'static str, chain: &str, spec: &[&str]) -> Result<IptablesRule> {
        let mut argv = vec![bin, "-w", "-A", chain];
        argv.extend_from_slice(spec);
        self.run_ok(&argv)?;
        Ok(IptablesRule {
            bin,
            netns: self.name().to_string(),
            chain: chain.to_string(),
            spec: spec.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Packet count of the rule in `chain` whose `iptables -S` form contains `needle`
    /// (`iptables -L -v -x`), to show that an injected-loss rule really dropped something.
    pub fn iptables_packets(&self, chain: &str, needle: &str) -> Result<u64> {
        self.rule_packets("iptables", chain, needle)
    }

    /// As [`Netns::iptables_packets`], for IPv6 (`ip6tables`).
    pub fn ip6tables_packets(&self, chain: &str, needle: &str) -> Result<u64> {
        self.rule_packets("ip6tables", chain, needle)
    }

    fn rule_packets(&self, bin: &str, chain: &str, needle: &str) -> Result<u64> {
        let rules = self.run_ok(&[bin, "-w", "-S", chain])?;
        let index = rules
            .lines()
            .filter(|l| l.starts_with("-A "))
            .position(|l| l.contains(needle))
            .ok_or_else(|| anyhow::anyhow!("no rule matching {needle:?} in {chain}:\n{rules}"))?;
        let listing = self.run_ok(&[bin, "-w", "-L", chain, "-v", "-x", "-n"])?;
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
