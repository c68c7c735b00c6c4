//! Bulk transfers against tiny scripted peers, with and without loss: every byte must
//! arrive once and in order.

use super::*;

/// Sends `total` bytes from the connection to a receiver that accepts only in-order data
/// and acknowledges every segment it gets; `loss` percent of segments in each direction
/// vanish. Returns what the receiver got and the connection's stats.
fn transfer_to_peer(total: usize, loss: u64, seed: u64) -> (Vec<u8>, ConnStats) {
    let mut h = Harness::established();
    let mut rng = Rng(seed);
    let data = pattern(total);
    let mut written = 0;
    let mut received: Vec<u8> = Vec::with_capacity(total);
    let mut ooo = std::collections::BTreeMap::<usize, Vec<u8>>::new();
    let one_way = Duration::from_millis(1);
    let mut rounds = 0;
    while received.len() < total {
        rounds += 1;
        assert!(
            rounds < 200_000,
            "transfer stalled at {} bytes",
            received.len()
        );
        written += h.conn.send(&data[written..]);
        let out = h.transmit();
        let mut acks = 0;
        for s in &out {
            if rng.chance(loss) {
                continue;
            }
            // The receiver model: keeps out-of-order segments (by sequence number), delivers
            // in order, and sends a cumulative ACK (no SACK) for every segment.
            if !s.payload.is_empty() {
                ooo.insert(s.seq.wrapping_sub(ISS + 1) as usize, s.payload.clone());
            }
            while let Some((&off, _)) = ooo.first_key_value() {
                if off > received.len() {
                    break;
                }
                let Some((off, p)) = ooo.pop_first() else {
                    break;
                };
                if off + p.len() > received.len() {
                    received.extend_from_slice(&p[received.len() - off..]);
                }
            }
            acks += 1;
        }
        h.advance(2 * one_way);
        for _ in 0..acks {
            if rng.chance(loss) {
                continue;
            }
            h.peer_ack = ISS + 1 + received.len() as u32;
            h.input(ACK, &[]).expect("ACK accepted");
        }
        if acks == 0 || out.is_empty() {
            // Nothing in flight got through: let the timers run.
            match h.conn.poll_timeout() {
                Some(t) => {
                    h.now = h.now.max(t);
                    let now = h.now;
                    h.conn.handle_timeout(now);
                }
                None => assert!(h.transmit().is_empty() || received.len() < total),
            }
        }
    }
    assert_eq!(h.conn.state(), State::Established);
    (received, *h.conn.stats())
}

#[test]
fn one_mib_reaches_a_lossless_peer_in_order() {
    let (received, stats) = transfer_to_peer(1 << 20, 0, 1);
    assert!(received == pattern(1 << 20));
    assert_eq!(stats.retransmissions, 0);
    assert_eq!(stats.bytes_out, 1 << 20);
}

#[test]
fn one_mib_reaches_a_peer_through_5_percent_loss_in_order() {
    for seed in [7, 42, 1234] {
        let (received, stats) = transfer_to_peer(1 << 20, 5, seed);
        assert!(received == pattern(1 << 20), "seed {seed}");
        assert!(stats.retransmissions > 0, "seed {seed}: loss was repaired");
        // ~5% of ~720 segments lost once or more: repairs stay near the loss rate.
        assert!(stats.retransmissions < 100, "seed {seed}: {stats:?}");
    }
}

/// The peer sends `total` bytes to the connection, each round resending everything from
/// the last ACK up to 20 segments, shuffled, with `loss` percent dropped; the application
/// reads as data arrives. Exercises reassembly, SACK generation and window updates.
fn transfer_from_peer(total: usize, loss: u64, seed: u64) -> Vec<u8> {
    let c = Config {
        recv_buffer: 64 * 1024,
        ..config()
    };
    let mut h = Harness::established_with(c, PeerSyn::default());
    let mut rng = Rng(seed);
    let data = pattern(total);
    let mut got = Vec::with_capacity(total);
    let mut acked = 0usize; // peer's SND.UNA, relative
    let mut window = 64 * 1024usize;
    let mut rounds = 0;
    while got.len() < total {
        rounds += 1;
        assert!(rounds < 100_000, "stalled at {}", got.len());
        let mut batch: Vec<usize> = (0..20)
            .map(|i| acked + i * 1000)
            .filter(|&off| off < total && off + 1000 <= acked + window)
            .collect();
        // Shuffle (Fisher-Yates).
        for i in (1..batch.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            batch.swap(i, j);
        }
        for off in batch {
            if rng.chance(loss) {
                continue;
            }
            let end = (off + 1000).min(total);
            h.peer_seq = IRS + 1 + off as u32;
            let _ = h.input(ACK, &data[off..end]);
        }
        h.advance(Duration::from_millis(1));
        let now = h.now;
        h.conn.handle_timeout(now);
        for s in h.transmit() {
            let ack = (s.ack - IRS - 1) as usize;
            acked = acked.max(ack);
            window = (s.window as usize) << 3;
        }
        got.extend(h.read_all());
        if window == 0 {
            window = 1000; // probe
        }
    }
    got
}

#[test]
fn one_mib_from_a_reordering_lossy_peer_is_delivered_in_order() {
    for seed in [3, 99] {
        let got = transfer_from_peer(1 << 20, 5, seed);
        assert!(got == pattern(1 << 20), "seed {seed}");
    }
}
