//! `xdptcp serve`: one of the built-in services on the runtime.

use anyhow::Result;
use clap::Args;

use super::args::{parse_port, DatapathArgs};
use super::systemd;
use crate::app::{discard::Discard, echo::Echo, http::Http, AppKind};
use crate::runtime::{Builder, Ready, Runtime};
use crate::service::{Service, WorkerInfo};

/// Options of `xdptcp serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    #[allow(missing_docs)] // clap: the flattened group documents itself
    pub datapath: DatapathArgs,
    /// TCP port(s) to serve, comma-separated.
    #[arg(long = "port", value_delimiter = ',', required = true, value_parser = parse_port)]
    pub ports: Vec<u16>,
    /// Application: echo, discard or http.
    #[arg(long, default_value = "echo")]
    pub app: AppKind,
    /// Body size of the http app's responses, in bytes.
    #[arg(long, default_value_t = 64)]
    pub body_size: usize,
}

/// Runs `xdptcp serve` until SIGINT/SIGTERM.
pub fn serve(args: ServeArgs) -> Result<()> {
    let cfg = args.datapath.runtime_config(&args.ports);
    let app = args.app;
    let builder = Runtime::builder()
        .config(cfg)
        .on_ready(move |r: &Ready| {
            println!(
                "ready iface={} addr={} ports={} app={app:?} queues={} xdp_mode={:?} bind_mode={}",
                r.iface,
                r.addrs_text(),
                r.ports_text(),
                r.queues,
                r.xdp_mode,
                r.bind_mode()
            );
            tracing::info!("per worker: {}", r.limits_text());
            tracing::info!("serving; SIGINT or SIGTERM to stop");
            systemd::notify_ready(&format!(
                "serving {} on {} queue(s)",
                r.endpoints_text(),
                r.queues
            ));
        })
        .on_drain(|| systemd::notify_stopping("draining connections"));
    match args.app {
        AppKind::Echo => run(builder, |_| Echo),
        AppKind::Discard => run(builder, |_| Discard),
        AppKind::Http => {
            let body = args.body_size;
            run(builder, move |_| Http::new(body))
        }
    }
}

fn run<S, F>(builder: Builder<()>, factory: F) -> Result<()>
where
    S: Service + Send + 'static,
    F: Fn(&WorkerInfo) -> S + Send + Sync + 'static,
{
    builder.service(factory).run().map(|_| ())
}
