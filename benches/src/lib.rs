//! `xdptcp-bench`: the same kernel-socket client against the xdptcp daemon and against a
//! Linux-socket server, one after the other on the same veth pair, with latency histograms,
//! server CPU time, plots and a JSON summary. See `xdptcp-bench --help` and the README.

pub mod client;
pub mod conns;
pub mod hist;
pub mod kernel_server;
pub mod reflect;
pub mod report;
pub mod run;
pub mod services;
pub mod stack_client;
pub mod svg;
pub mod sys;

#[cfg(test)]
mod loopback_tests;
