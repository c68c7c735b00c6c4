//! The keyspace's hash function: a seeded folded-multiply hash over 16-byte blocks (the design
//! of `foldhash`/`wyhash`), several times faster than std's SipHash-1-3 on the short keys of a
//! key-value store. Each store draws its 128-bit seed from std's `RandomState` (the OS's
//! randomness, read once per store), so clients cannot predict collisions from key names alone.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Multiplies as 128 bits and folds the halves together.
fn fold(x: u64, y: u64) -> u64 {
    let p = u128::from(x) * u128::from(y);
    (p as u64) ^ ((p >> 64) as u64)
}

const K2: u64 = 0x243f_6a88_85a3_08d3;
const K3: u64 = 0x1319_8a2e_0370_7344;

/// A per-store random seed; builds [`KeyHasher`]s.
#[derive(Debug, Clone)]
pub(super) struct Seed {
    k0: u64,
    k1: u64,
}

impl Default for Seed {
    fn default() -> Seed {
        let random = RandomState::new();
        Seed {
            k0: random.hash_one(0x5eed_u64),
            k1: random.hash_one(0xfeed_u64) | 1,
        }
    }
}

impl BuildHasher for Seed {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher {
            acc: self.k0,
            k1: self.k1,
        }
    }
}

/// Hashes the bytes of one key (and the length prefix `Hash for [u8]` writes first).
#[derive(Debug, Clone)]
pub(super) struct KeyHasher {
    acc: u64,
    k1: u64,
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut blocks = bytes.chunks_exact(16);
        for block in &mut blocks {
            let (a, b) = block.split_at(8);
            let a = u64::from_le_bytes(a.try_into().unwrap_or([0; 8]));
            let b = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
            self.acc = fold(a ^ self.acc, b ^ self.k1);
        }
        let tail = blocks.remainder();
        if !tail.is_empty() {
            let mut buf = [0u8; 16];
            buf[..tail.len()].copy_from_slice(tail);
            let (a, b) = buf.split_at(8);
            let a = u64::from_le_bytes(a.try_into().unwrap_or([0; 8]));
            let b = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
            self.acc = fold(a ^ self.acc, b ^ self.k1 ^ tail.len() as u64);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.acc = fold(self.acc ^ n as u64, self.k1 ^ K2);
    }

    fn finish(&self) -> u64 {
        fold(self.acc, self.k1 ^ K3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(seed: &Seed, key: &[u8]) -> u64 {
        seed.hash_one(key)
    }

    #[test]
    fn owned_and_borrowed_keys_hash_alike() {
        let seed = Seed::default();
        let arc: std::sync::Arc<[u8]> = b"key:000123".as_slice().into();
        assert_eq!(seed.hash_one(&arc), hash(&seed, b"key:000123"));
    }

    #[test]
    fn spreads_similar_keys() {
        let seed = Seed::default();
        let mut buckets = [0u32; 64];
        for i in 0..64_000 {
            buckets[(hash(&seed, format!("key:{i:012}").as_bytes()) >> 58) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&n| (800..1200).contains(&n)),
            "{buckets:?}"
        );
        // Lengths and zero bytes matter.
        assert_ne!(hash(&seed, b""), hash(&seed, b"\0"));
        assert_ne!(hash(&seed, b"\0"), hash(&seed, b"\0\0"));
        assert_ne!(hash(&seed, &[0; 16]), hash(&seed, &[0; 17]));
    }
}
