//! `xdptcp ss`: the connections of a running daemon, as `ss -tnio` shows the kernel's.

use std::io::{BufRead, BufReader, Write};

use anyhow::{bail, Context, Result};
use clap::Args;

use super::args::parse_port;
use crate::runtime::control::{self, Request};
use crate::tcp::info::parse_state;
use crate::tcp::{ConnFilter, ConnInfo};

/// Options of `xdptcp ss`.
#[derive(Args, Debug, Clone)]
pub struct SsArgs {
    /// Interface the daemon serves.
    #[arg(long)]
    pub iface: String,
    /// Only connections in these states (e.g. `established`, `syn-recv`, `time-wait`;
    /// comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_parser = parse_state_arg)]
    pub state: Vec<String>,
    /// Only connections with this local or remote port.
    #[arg(long, value_parser = parse_port)]
    pub port: Option<u16>,
    /// Print a JSON array of objects, one per connection (times in microseconds).
    #[arg(long)]
    pub json: bool,
}

fn parse_state_arg(s: &str) -> Result<String, String> {
    parse_state(s).map(str::to_string)
}

/// Lists the connections; an error if the daemon is not running or a worker did not answer.
pub fn ss(args: SsArgs) -> Result<()> {
    let request = Request::Ss {
        filter: ConnFilter {
            states: args.state.clone(),
            port: args.port,
        },
    };
    let stream = control::request(&args.iface, &request)?;
    // Printed as they come (a million connections need not be held here first).
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        out.write_all(b"[")?;
    } else {
        out.write_all(header().as_bytes())?;
    }
    let mut done = None;
    for (listed, line) in BufReader::new(stream).lines().enumerate() {
        let line = line.context("reading the daemon's answer")?;
        let value: serde_json::Value =
            serde_json::from_str(&line).context("the daemon's answer is not JSON")?;
        if let Some(e) = value.get("error") {
            bail!("the daemon refused: {}", e.as_str().unwrap_or("?"));
        }
        if let Some(d) = value.get("done") {
            done = Some(d.clone());
            break;
        }
        let conn: ConnInfo =
            serde_json::from_value(value).context("a connection the daemon listed")?;
        if args.json {
            if listed > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut out, &conn)?;
        } else {
            out.write_all(render_one(&conn).as_bytes())?;
        }
    }
    if args.json {
        out.write_all(b"]\n")?;
    }
    out.flush()?;
    let Some(done) = done else {
        bail!("the daemon closed the listing before its end");
    };
    let (workers, answered) = (done["workers"].as_u64(), done["answered"].as_u64());
    if workers != answered {
        bail!(
            "only {} of {} workers answered in time: the listing is incomplete",
            answered.unwrap_or(0),
            workers.unwrap_or(0)
        );
    }
    Ok(())
}

/// The column header of the text listing.
fn header() -> String {
    format!(
        "{:<13} {:>7} {:>7} {:<21} {:<21}\n",
        "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"
    )
}

/// `ss`-style text: a header, a line per connection and an indented line of its details.
pub fn render(conns: &[ConnInfo]) -> String {
    let mut out = header();
    for c in conns {
        out.push_str(&render_one(c));
    }
    out
}

/// One connection's two lines.
fn render_one(c: &ConnInfo) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<13} {:>7} {:>7} {:<21} {:<21}",
        c.state, c.recv_q, c.send_q, c.local, c.remote
    );
    let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
    let rtt = match (c.rtt_us, c.rttvar_us) {
        (Some(r), Some(v)) => format!("rtt:{}/{}", ms(r), ms(v)),
        _ => "rtt:-".into(),
    };
    let ssthresh = c.ssthresh.map_or("-".into(), |s| s.to_string());
    let timer = match (c.timer, c.timer_us) {
        (Some(k), Some(us)) => format!("timer:({},{}ms)", k.name(), ms(us)),
        _ => "timer:-".into(),
    };
    let _ = writeln!(
        out,
        "\t q{} {} {rtt} rto:{} mss:{} cwnd:{} ssthresh:{ssthresh} snd_wnd:{} rcv_wnd:{} \
         bytes_sent:{} bytes_retrans:{} bytes_acked:{} bytes_received:{} segs_in:{} \
         segs_out:{} retrans:{} timeouts:{} {timer} age:{:.1}s",
        c.queue,
        c.congestion,
        ms(c.rto_us),
        c.mss,
        c.cwnd,
        c.snd_wnd,
        c.rcv_wnd,
        c.bytes_sent,
        c.bytes_retrans,
        c.bytes_acked,
        c.bytes_received,
        c.segs_in,
        c.segs_out,
        c.retransmissions,
        c.timeouts,
        c.age_us as f64 / 1e6,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::TimerKind;

    #[test]
    fn text_shows_state_queues_tuple_and_details() {
        let c = ConnInfo {
            queue: 1,
            local: "10.0.0.1:7".into(),
            remote: "10.0.0.2:40000".into(),
            state: "ESTABLISHED".into(),
            recv_q: 0,
            send_q: 1234,
            rtt_us: Some(120),
            rttvar_us: Some(60),
            rto_us: 201_000,
            mss: 1448,
            cwnd: 14480,
            ssthresh: None,
            congestion: "cubic".into(),
            snd_wnd: 65535,
            rcv_wnd: 65536,
            bytes_sent: 5,
            bytes_retrans: 0,
            bytes_acked: 5,
            bytes_received: 5,
            segs_in: 4,
            segs_out: 3,
            retransmissions: 0,
            timeouts: 0,
            timer: Some(TimerKind::Retransmit),
            timer_us: Some(150_500),
            age_us: 2_500_000,
        };
        let text = render(&[c]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("State"));
        assert!(lines[1].starts_with("ESTABLISHED"), "{text}");
        assert!(lines[1].contains("1234") && lines[1].contains("10.0.0.2:40000"));
        for want in ["q1 cubic", "rtt:0.120/0.060", "rto:201.000", "ssthresh:-"] {
            assert!(lines[2].contains(want), "{want} in {text}");
        }
        assert!(lines[2].contains("timer:(retransmit,150.500ms)") && lines[2].contains("age:2.5s"));
    }
}
