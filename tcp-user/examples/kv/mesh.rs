//! The workers' mesh: one channel into every worker, so a worker can ask the owner of a key
//! to run a command on its shard of the keyspace, and get the reply back.
//!
//! The packet path takes no lock: each worker owns its shard outright, and crossbeam's
//! channels are lock-free queues. A message is followed by a wake of the receiving worker,
//! which costs a syscall only when that worker was asleep (see the runtime's `EventWaker`).
//! The mutex here is taken once per worker at start, to hand out the receivers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{unbounded, Receiver, Sender};
use tcp_user::service::{ConnId, Waker, WorkerInfo};

use crate::resp::Args;

/// What workers send each other.
pub enum Msg {
    /// Run `args` on your shard and send the reply to worker `from`.
    Request {
        from: usize,
        conn: ConnId,
        tag: u64,
        part: usize,
        args: Args,
    },
    /// The reply to a request of ours.
    Reply {
        conn: ConnId,
        tag: u64,
        part: usize,
        reply: Vec<u8>,
    },
}

/// Created by the first worker that joins, for all of them.
struct Channels {
    senders: Vec<Sender<Msg>>,
    receivers: Vec<Option<Receiver<Msg>>>,
    busy: Arc<AtomicUsize>,
}

/// Shared by the service factory of every worker until each has joined.
#[derive(Clone, Default)]
pub struct MeshBuilder(Arc<Mutex<Option<Channels>>>);

impl MeshBuilder {
    /// Worker `info.index`'s end of the mesh (the channels are made when the first worker
    /// joins, when the number of workers is known).
    pub fn join(&self, info: &WorkerInfo) -> Mesh {
        let mut guard = self.0.lock().expect("mesh lock");
        let channels = guard.get_or_insert_with(|| {
            let (senders, receivers): (Vec<_>, Vec<_>) =
                (0..info.workers).map(|_| unbounded()).unzip();
            Channels {
                senders,
                receivers: receivers.into_iter().map(Some).collect(),
                busy: Arc::new(AtomicUsize::new(0)),
            }
        });
        Mesh {
            index: info.index,
            senders: channels.senders.clone(),
            inbox: channels.receivers[info.index]
                .take()
                .expect("each worker joins once"),
            wakers: info.wakers.clone(),
            busy: channels.busy.clone(),
            counted_busy: false,
        }
    }
}

/// One worker's end of the mesh.
pub struct Mesh {
    /// This worker's index.
    pub index: usize,
    senders: Vec<Sender<Msg>>,
    inbox: Receiver<Msg>,
    wakers: Vec<Waker>,
    /// Workers that hold open connections (and so may still send requests to any shard).
    busy: Arc<AtomicUsize>,
    counted_busy: bool,
}

impl Mesh {
    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.senders.len()
    }

    /// Sends `msg` to worker `to` and wakes it. Every worker keeps serving its inbox until
    /// no worker holds connections ([`Mesh::all_idle`]), so a request always gets a reply.
    pub fn send(&self, to: usize, msg: Msg) {
        if self.senders[to].send(msg).is_ok() {
            self.wakers[to].wake();
        }
    }

    /// Records whether this worker holds open connections.
    pub fn set_busy(&mut self, busy: bool) {
        if busy != self.counted_busy {
            self.counted_busy = busy;
            if busy {
                self.busy.fetch_add(1, Ordering::SeqCst);
            } else {
                self.busy.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// True when no worker holds open connections: nobody can send a request any more.
    pub fn all_idle(&self) -> bool {
        self.busy.load(Ordering::SeqCst) == 0
    }

    /// The next message for this worker, if any.
    pub fn try_recv(&self) -> Option<Msg> {
        self.inbox.try_recv().ok()
    }
}
