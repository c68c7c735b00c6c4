//! The application side: reading, writing, closing and aborting.

use super::{Connection, PendingRst, State};

impl Connection {
    /// Copies in-order data into `buf`; returns the bytes copied. Queues a window update if
    /// reading opened the window enough (RFC 9293 section 3.8.6.2.2).
    pub fn recv(&mut self, buf: &mut [u8]) -> usize {
        let n = self.recv.read(buf);
        self.after_read(n);
        n
    }

    /// The readable bytes in place (two slices when the ring wraps); consume them with
    /// [`Connection::recv_consume`].
    pub fn recv_slices(&self) -> (&[u8], &[u8]) {
        self.recv.slices()
    }

    /// Marks `n` readable bytes as read.
    pub fn recv_consume(&mut self, n: usize) {
        let n = self.recv.consume(n);
        self.after_read(n);
    }

    /// Gives the receive and send rings back (to the per-thread buffer pool) once the
    /// connection can neither send nor receive data any more: TIME_WAIT or CLOSED. A
    /// TIME_WAIT entry then costs a few hundred bytes, like Linux's timewait sockets,
    /// instead of its buffers. Data the application left unread is discarded: the table
    /// calls this only once the application has read everything.
    pub fn release_buffers(&mut self) {
        if matches!(self.state, State::TimeWait | State::Closed) {
            self.recv.release();
            self.send.release();
        }
    }

    /// Bytes ready to read.
    pub fn recv_len(&self) -> usize {
        self.recv.len()
    }

    /// Receiver SWS avoidance: a window update goes out once the window can move right by
    /// min(buffer/2, MSS); smaller openings wait for the next ACK.
    fn after_read(&mut self, n: usize) {
        if self.recv.is_empty() {
            // What a closed connection kept has been read: nothing left to linger for.
            self.linger_at = None;
        }
        if n == 0
            || !matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2
            )
        {
            return;
        }
        let promised = self.rcv_adv - self.rcv_nxt;
        let threshold = (self.config.recv_buffer / 2).min(usize::from(self.own_mss()));
        if self.window_space() >= promised + threshold {
            self.ack_now = true;
        }
    }

    /// Queues as much of `data` as fits in the send buffer; returns the bytes taken. Zero
    /// once the connection was closed for sending.
    pub fn send(&mut self, data: &[u8]) -> usize {
        if !self.can_send() {
            return 0;
        }
        let n = self.send.write(data);
        if n < data.len() {
            self.write_blocked = true;
        }
        n
    }

    /// Moves as much received in-order data as fits into this connection's own send
    /// buffer (what an echo server does) without an intermediate copy; returns the bytes
    /// moved. When not everything fits, `Event::Writable` follows once room frees, as after
    /// a short `send`.
    pub fn echo_received(&mut self) -> usize {
        if !self.can_send() {
            return 0;
        }
        let mut moved = 0;
        loop {
            let (first, _) = self.recv.slices();
            if first.is_empty() {
                break;
            }
            let n = self.send.write(first);
            let all = n == first.len();
            self.recv.consume(n);
            moved += n;
            if !all {
                self.write_blocked = true;
                break;
            }
        }
        self.after_read(moved);
        moved
    }

    /// Bytes `send` would take now.
    pub fn send_capacity(&self) -> usize {
        if self.can_send() {
            self.send.writable()
        } else {
            0
        }
    }

    /// Bytes queued and not yet acknowledged.
    pub fn send_queued(&self) -> usize {
        self.send.len()
    }

    fn can_send(&self) -> bool {
        !self.fin_queued
            && matches!(
                self.state,
                State::SynSent | State::SynReceived | State::Established | State::CloseWait
            )
    }

    /// Graceful close (RFC 9293 section 3.10.4): a FIN follows the queued data.
    /// ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK; in SYN-RECEIVED the FIN waits for
    /// the handshake to complete; in SYN-SENT "delete the TCB" (nothing is sent, and a
    /// late SYN-ACK meets no connection and gets a RST).
    pub fn close(&mut self) {
        match self.state {
            State::SynSent => self.abort(),
            State::SynReceived => self.fin_queued = true,
            State::Established => {
                self.fin_queued = true;
                self.state = State::FinWait1;
            }
            State::CloseWait => {
                self.fin_queued = true;
                self.state = State::LastAck;
            }
            _ => {}
        }
    }

    /// Half-close: like [`Connection::close`], except in SYN-SENT, where the FIN is queued
    /// behind the data written so far and goes out once the handshake completes (the
    /// service API's "connect, write the request, shut down"), instead of deleting the
    /// connection as the RFC's CLOSE call does there.
    pub fn shutdown(&mut self) {
        if self.state == State::SynSent {
            self.fin_queued = true;
        } else {
            self.close();
        }
    }

    /// Abort (RFC 9293 section 3.10.5): send <SEQ=SND.NXT><CTL=RST> and enter CLOSED (in
    /// SYN-SENT nothing is sent: the peer holds no state yet).
    pub fn abort(&mut self) {
        let send_rst = matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
                | State::Closing
                | State::LastAck
        );
        if send_rst {
            self.rst_pending = Some(PendingRst {
                seq: self.snd_max,
                ack: None,
            });
        }
        self.state = State::Closed;
        self.clear_timers();
        self.ack_now = false;
        self.syn_pending = false;
    }
}
