//! Timers: retransmission (RFC 6298), delayed ACK (RFC 9293 section 3.8.6.3), persist
//! (section 3.8.6.1), TIME-WAIT (2*MSL), FIN-WAIT-2 and idle. Deadlines are plain
//! `Option<Instant>` fields; the table asks for the earliest and calls back when it passes.

use super::{ConnectError, Connection, Event, Instant, PendingRst, State};
use crate::tcp::congestion::CongestionControl;

impl Connection {
    /// The earliest deadline at which `handle_timeout` must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.rto_at,
            self.delack_at,
            self.persist_at,
            self.time_wait_at,
            self.fin_wait2_at,
            self.idle_deadline(),
            self.linger_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Acts on every deadline that has passed by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.linger_at.is_some_and(|t| t <= now) {
            // Nobody read what a closed connection kept: discard it, and the table frees it.
            self.linger_at = None;
            let unread = self.recv.len();
            self.recv.consume(unread);
            return;
        }
        if self.time_wait_at.is_some_and(|t| t <= now) {
            // RFC 9293: "If the time-wait timeout expires on a connection delete the TCB,
            // enter the CLOSED state and return."
            self.time_wait_at = None;
            self.set_state(now, State::Closed);
            return;
        }
        if self.fin_wait2_at.is_some_and(|t| t <= now) && self.state == State::FinWait2 {
            // Linux `tcp_fin_timeout`: a peer that never sends its FIN cannot pin us.
            self.give_up();
            return;
        }
        if self.idle_deadline().is_some_and(|t| t <= now) {
            self.give_up();
            return;
        }
        if self.rto_at.is_some_and(|t| t <= now) {
            self.rto_at = None;
            self.on_retransmission_timeout(now);
            if self.state == State::Closed {
                return;
            }
        }
        if self.delack_at.is_some_and(|t| t <= now) {
            self.delack_at = None;
            self.ack_now = true;
        }
        if self.persist_at.is_some_and(|t| t <= now) {
            self.persist_at = None;
            self.on_persist_timeout();
        }
    }

    /// RFC 6298 section 5.4-5.6, and SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) retransmission
    /// with the same backoff: 1, 2, 4 ... s from `rto_initial` (RFC 6298 section 5.5).
    fn on_retransmission_timeout(&mut self, now: Instant) {
        match self.state {
            State::SynSent | State::SynReceived => {
                let limit = if self.active_open {
                    self.config.connect_retries
                } else {
                    self.config.syn_retries
                };
                if self.syn_retransmits >= limit {
                    // Never synchronized: give up without a RST. A passive open is forgotten
                    // (Linux drops the request socket silently); an active one reports
                    // the timeout to the application.
                    if self.active_open {
                        self.fail_connect(now, ConnectError::TimedOut);
                    } else {
                        self.set_state(now, State::Closed);
                        self.events.insert(Event::TimedOut);
                    }
                    return;
                }
                self.syn_retransmits += 1;
                self.syn_pending = true;
                self.rtt.back_off();
                self.rto_at = Some(now + self.rtt.rto());
            }
            State::Established
            | State::CloseWait
            | State::FinWait1
            | State::Closing
            | State::LastAck => {
                if self.snd_una == self.snd_max {
                    return;
                }
                // Linux `tcp_rtx_probe0_timed_out`: while the peer keeps a zero window open
                // and keeps answering, these timeouts are probes and do not count.
                let window_stall = self.snd_wnd == 0
                    && now.saturating_since(self.last_recv) < 2 * self.config.rto_max;
                if !window_stall {
                    if self.retries >= self.config.data_retries {
                        self.give_up();
                        return;
                    }
                    self.retries += 1;
                }
                self.stats.timeouts += 1;
                // RFC 5681 section 3.1 eq. 4 (ssthresh held constant on repeated timeouts
                // of the same data, as the RFC asks) and cwnd = 1 SMSS.
                let mss = self.send_mss();
                let flight = self.snd_max - self.snd_una;
                if self.retries <= 1 {
                    self.cc.on_timeout(flight, mss);
                } else {
                    self.cc.on_repeated_timeout(mss);
                }
                self.dup_acks = 0;
                self.rtt_probe = None;
                if self.sack_ok {
                    self.sack_timeout();
                } else {
                    // RFC 6582 section 3.2 step 4 / "after a retransmit timeout, record the
                    // highest sequence number transmitted in the variable recover".
                    self.recover = self.snd_max;
                    self.in_recovery = false;
                    self.rtx_una = false;
                    // Go-back-N: resend from SND.UNA; cwnd = 1 SMSS lets exactly one out.
                    self.snd_nxt = self.snd_una;
                    self.rto_send = true;
                }
                // 5.5: back off; 5.6: restart the timer.
                self.rtt.back_off();
                self.rto_at = Some(now + self.rtt.rto());
            }
            _ => {}
        }
    }

    /// Persist timer expiry: probe a zero window, or override SWS avoidance on a small one.
    fn on_persist_timeout(&mut self) {
        if self.snd_wnd == 0 {
            self.probes_out += 1;
            if self.probes_out > self.config.data_retries {
                self.give_up();
                return;
            }
            self.probe_pending = true;
        } else {
            self.force_send = true;
        }
        self.persist_backoff = self.persist_backoff.saturating_add(1);
    }

    /// Retries exhausted: "the connection is aborted" with a RST (Linux `tcp_write_err`
    /// after `tcp_send_active_reset`).
    pub(super) fn give_up(&mut self) {
        if self.state != State::SynReceived {
            self.rst_pending = Some(PendingRst {
                seq: self.snd_max,
                ack: None,
            });
        }
        self.state = State::Closed;
        self.clear_timers();
        self.ack_now = false;
        self.events.insert(Event::TimedOut);
    }

    /// When the idle timeout fires, if configured.
    pub(super) fn idle_deadline(&self) -> Option<Instant> {
        let idle = self.config.idle_timeout?;
        matches!(
            self.state,
            State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
                | State::Closing
                | State::LastAck
        )
        .then(|| self.last_recv + idle)
    }
}
