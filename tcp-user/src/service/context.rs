//! [`Cx`]: the service's way into its worker's shard.

use std::net::SocketAddr;

use super::{Conn, ConnId};
pub use crate::shard::OpenError;
use crate::shard::Shard;
use crate::stats::WorkerStats;
use crate::tcp::Instant;

/// The context of a service callback: the clock, the worker's connections, outbound
/// connections and timers. Lent for the duration of one callback.
pub struct Cx<'a, D> {
    pub(crate) now: Instant,
    pub(crate) shard: &'a mut Shard<D>,
}

impl<'a, D> Cx<'a, D> {
    pub(crate) fn new(now: Instant, shard: &'a mut Shard<D>) -> Cx<'a, D> {
        Cx { now, shard }
    }

    /// The current time (the worker's clock; a fake clock under the test harness).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The connection `id`, if it still exists. Whatever the service does with it is sent
    /// before the worker's batch ends.
    pub fn conn(&mut self, id: ConnId) -> Option<Conn<'_, D>> {
        self.shard.mark(id);
        let entry = self.shard.table.get_mut(id)?;
        Some(Conn { id, entry })
    }

    /// Two different connections at once (a proxy's two legs), if both exist.
    pub fn pair(&mut self, a: ConnId, b: ConnId) -> Option<(Conn<'_, D>, Conn<'_, D>)> {
        self.shard.mark(a);
        self.shard.mark(b);
        let [ea, eb] = self.shard.table.get_pair_mut(a, b)?;
        Some((Conn { id: a, entry: ea }, Conn { id: b, entry: eb }))
    }

    /// Opens a connection to `remote`, of either family (RFC 9293 active OPEN; a
    /// `SocketAddrV4` will do), from our address of its family, with `data` as the service's
    /// state for it. The SYN leaves with this batch; [`Event::Established`] follows the
    /// handshake, or [`Event::Reset`] / [`Event::TimedOut`] with
    /// [`Conn::connect_error`] saying why it failed.
    ///
    /// [`Event::Established`]: super::Event::Established
    /// [`Event::Reset`]: super::Event::Reset
    /// [`Event::TimedOut`]: super::Event::TimedOut
    pub fn connect(&mut self, remote: impl Into<SocketAddr>, data: D) -> Result<ConnId, OpenError> {
        let now = self.now;
        let remote = remote.into();
        self.shard
            .connect(now, remote.ip().into(), remote.port(), data)
    }

    /// Arms service timer `token`: [`Service::on_timer`](super::Service::on_timer) gets
    /// `Timer::Service(token)` at `at`, once. Arming a token again replaces its deadline.
    pub fn set_timer(&mut self, token: u64, at: Instant) {
        self.shard.set_service_timer(token, at);
    }

    /// Disarms service timer `token` (nothing happens if it is not armed).
    pub fn cancel_timer(&mut self, token: u64) {
        self.shard.cancel_service_timer(token);
    }

    /// Live connections on this worker (TIME_WAIT included).
    pub fn connections(&self) -> usize {
        self.shard.table.len()
    }

    /// Connections on this worker that are not in TIME_WAIT (those a drain waits for).
    pub fn open_connections(&self) -> usize {
        self.shard.table.len() - self.shard.table.time_wait_count()
    }

    /// Ids of the live connections (for a service that must visit them all, e.g. to close
    /// them on shutdown; it allocates).
    pub fn connection_ids(&self) -> Vec<ConnId> {
        self.shard.table.ids().collect()
    }

    /// This worker's counters so far.
    pub fn stats(&self) -> &WorkerStats {
        &self.shard.stats
    }

    /// False while the worker drains (no new connections are accepted).
    pub fn accepting(&self) -> bool {
        self.shard.accepting
    }
}
