//! Store tests with a fake clock: expiry (lazy and active), TTL bookkeeping, memory accounting
//! and the budget, asynchronous flush, large values.

use super::*;
use std::collections::HashMap as Model;

const T0: u64 = 1_000_000;

fn get(s: &mut Store, k: &[u8], now: u64) -> Option<Vec<u8>> {
    s.get(k, now).map(<[u8]>::to_vec)
}

#[test]
fn set_get_del_exists() {
    let mut s = Store::new(0);
    assert_eq!(s.set(b"a", b"1", Ttl::Clear, T0), Ok(()));
    assert_eq!(s.set(b"b", b"2", Ttl::Clear, T0), Ok(()));
    assert_eq!(get(&mut s, b"a", T0), Some(b"1".to_vec()));
    assert_eq!(s.exists([&b"a"[..], b"a", b"b", b"c"], T0), 3);
    assert_eq!(s.del([&b"a"[..], b"a", b"c"], T0), 1);
    assert_eq!(get(&mut s, b"a", T0), None);
    assert_eq!(s.len(), 1);
    assert!(!s.is_empty());
}

#[test]
fn expiry_is_lazy_and_exact() {
    let mut s = Store::new(0);
    s.set(b"k", b"v", Ttl::At(T0 as i64 + 100), T0).unwrap();
    assert_eq!(s.ttl(b"k", T0), KeyTtl::At(T0 as i64 + 100));
    // Alive while now <= expire time (Redis keyIsExpired: now > when).
    assert!(s.contains(b"k", T0 + 100));
    assert_eq!(s.len(), 1);
    assert!(!s.contains(b"k", T0 + 101));
    assert_eq!(s.ttl(b"k", T0 + 101), KeyTtl::Missing);
    // The read deleted it and gave its memory back.
    assert_eq!(s.len(), 0);
    assert_eq!(s.used_memory(), 0);
    assert_eq!(s.volatile_len(), 0);
}

#[test]
fn expired_key_counts_in_len_until_reclaimed() {
    let mut s = Store::new(0);
    s.set(b"k", b"v", Ttl::At(T0 as i64 + 1), T0).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s.expire_some(T0 + 1, 10), 0);
    assert_eq!(s.expire_some(T0 + 2, 10), 1);
    assert_eq!(s.len(), 0);
}

#[test]
fn ttl_rules_of_set() {
    let mut s = Store::new(0);
    let at = T0 as i64 + 5000;
    s.set(b"k", b"v", Ttl::At(at), T0).unwrap();
    s.set(b"k", b"w", Ttl::Keep, T0).unwrap();
    assert_eq!(s.ttl(b"k", T0), KeyTtl::At(at));
    s.set(b"k", b"x", Ttl::Clear, T0).unwrap();
    assert_eq!(s.ttl(b"k", T0), KeyTtl::Persistent);
    assert_eq!(s.volatile_len(), 0);
    s.set(b"n", b"v", Ttl::Keep, T0).unwrap();
    assert_eq!(s.ttl(b"n", T0), KeyTtl::Persistent);
}

#[test]
fn expire_persist_and_missing_keys() {
    let mut s = Store::new(0);
    assert!(!s.set_expire(b"missing", T0 as i64 + 10, T0));
    assert!(!s.persist(b"missing", T0));
    s.set(b"k", b"v", Ttl::Clear, T0).unwrap();
    assert!(!s.persist(b"k", T0));
    assert!(s.set_expire(b"k", T0 as i64 + 10, T0));
    assert!(s.set_expire(b"k", T0 as i64 + 20, T0));
    assert_eq!(s.volatile_len(), 1);
    assert_eq!(s.ttl(b"k", T0), KeyTtl::At(T0 as i64 + 20));
    assert!(s.persist(b"k", T0));
    assert_eq!(s.ttl(b"k", T0), KeyTtl::Persistent);
    assert!(s.contains(b"k", T0 + 1_000_000));
}

#[test]
fn incr_by() {
    let mut s = Store::new(0);
    assert_eq!(s.incr_by(b"c", 5, T0), Ok(5));
    assert_eq!(s.incr_by(b"c", -7, T0), Ok(-2));
    assert_eq!(get(&mut s, b"c", T0), Some(b"-2".to_vec()));
    s.set(b"c", b"9223372036854775807", Ttl::Clear, T0).unwrap();
    assert_eq!(s.incr_by(b"c", 1, T0), Err(IncrError::Overflow));
    s.set(b"c", b"01", Ttl::Clear, T0).unwrap();
    assert_eq!(s.incr_by(b"c", 1, T0), Err(IncrError::NotInteger));
    s.set(b"t", b"1", Ttl::At(T0 as i64 + 50), T0).unwrap();
    assert_eq!(s.incr_by(b"t", 1, T0), Ok(2));
    assert_eq!(s.ttl(b"t", T0), KeyTtl::At(T0 as i64 + 50));
    // An expired counter starts again from 0, without its old TTL.
    assert_eq!(s.incr_by(b"t", 1, T0 + 51), Ok(1));
    assert_eq!(s.ttl(b"t", T0 + 51), KeyTtl::Persistent);
}

#[test]
fn memory_accounting_returns_to_zero() {
    let mut s = Store::new(0);
    s.set(b"key", b"value", Ttl::Clear, T0).unwrap();
    assert_eq!(s.used_memory(), 3 + 5 + ENTRY_OVERHEAD);
    s.set(b"key", b"v", Ttl::At(T0 as i64 + 10), T0).unwrap();
    assert_eq!(s.used_memory(), 3 + 1 + ENTRY_OVERHEAD);
    s.persist(b"key", T0);
    assert_eq!(s.used_memory(), 3 + 1 + ENTRY_OVERHEAD);
    s.set_expire(b"key", T0 as i64 + 10, T0);
    s.incr_by(b"n", 12345, T0).unwrap();
    s.mset(
        [(&b"a"[..], &b"1"[..]), (b"a", b"22"), (b"b", b"")].into_iter(),
        T0,
    )
    .unwrap();
    assert_eq!(s.del([&b"key"[..], b"n", b"a", b"b"], T0), 4);
    assert_eq!(s.used_memory(), 0);
}

#[test]
fn budget_refuses_growth_and_changes_nothing() {
    let one = 1 + 10 + ENTRY_OVERHEAD;
    let mut s = Store::new(2 * one);
    s.set(b"a", &[b'x'; 10], Ttl::Clear, T0).unwrap();
    s.set(b"b", &[b'x'; 10], Ttl::Clear, T0).unwrap();
    assert_eq!(s.used_memory(), 2 * one);
    assert_eq!(s.set(b"c", b"", Ttl::Clear, T0), Err(OutOfMemory));
    assert_eq!(s.set(b"a", &[b'x'; 11], Ttl::Clear, T0), Err(OutOfMemory));
    assert_eq!(s.incr_by(b"n", 1, T0), Err(IncrError::OutOfMemory));
    assert_eq!(
        s.mset([(&b"a"[..], &b"y"[..]), (b"z", b"1")].into_iter(), T0),
        Err(OutOfMemory)
    );
    assert_eq!(get(&mut s, b"a", T0), Some(vec![b'x'; 10]));
    assert!(!s.contains(b"z", T0));
    assert_eq!(s.used_memory(), 2 * one);
    // Writes that do not grow are allowed; deletes make room.
    s.set(b"a", b"short", Ttl::Clear, T0).unwrap();
    s.set(b"b", &[b'y'; 10], Ttl::Clear, T0).unwrap();
    s.del([&b"b"[..]], T0);
    s.set(b"c", b"", Ttl::Clear, T0).unwrap();
    assert_eq!(s.max_memory(), 2 * one);
}

#[test]
fn budget_counts_expired_space_as_free() {
    let one = 1 + 1 + ENTRY_OVERHEAD;
    let mut s = Store::new(one);
    s.set(b"a", b"1", Ttl::At(T0 as i64 + 5), T0).unwrap();
    assert_eq!(
        s.set(b"b", b"1", Ttl::At(T0 as i64 + 5), T0),
        Err(OutOfMemory)
    );
    // Once `a` expired, overwriting it reuses its room.
    s.set(b"a", b"2", Ttl::At(T0 as i64 + 50), T0 + 10).unwrap();
    assert_eq!(get(&mut s, b"a", T0 + 10), Some(b"2".to_vec()));
}

#[test]
fn active_expiry_is_bounded_and_complete() {
    let mut s = Store::new(0);
    for i in 0..1000u32 {
        let at = if i % 2 == 0 { T0 + 10 } else { T0 + 1_000_000 };
        s.set(&i.to_be_bytes(), b"v", Ttl::At(at as i64), T0)
            .unwrap();
    }
    for i in 1000..1500u32 {
        s.set(&i.to_be_bytes(), b"v", Ttl::Clear, T0).unwrap();
    }
    let now = T0 + 11;
    let mut freed = 0;
    // 1000 keys with a TTL: 20 calls of 50 make one full pass.
    for _ in 0..25 {
        let n = s.expire_some(now, 50);
        assert!(n <= 50);
        freed += n;
    }
    assert_eq!(freed, 500);
    assert_eq!(s.len(), 1000);
    assert_eq!(s.volatile_len(), 500);
    assert_eq!(s.used_memory(), 1000 * (4 + 1 + ENTRY_OVERHEAD));
}

#[test]
fn flush_and_flush_async() {
    let mut s = Store::new(0);
    for i in 0..100u32 {
        let ttl = if i % 3 == 0 {
            Ttl::At(T0 as i64 + 9)
        } else {
            Ttl::Clear
        };
        s.set(&i.to_be_bytes(), b"v", ttl, T0).unwrap();
    }
    s.flush_async();
    assert_eq!((s.len(), s.used_memory(), s.volatile_len()), (0, 0, 0));
    s.set(b"new", b"v", Ttl::At(T0 as i64 + 100), T0).unwrap();
    let mut freed = 0;
    for _ in 0..100 {
        freed += s.expire_some(T0 + 5, 16);
    }
    assert_eq!(freed, 100);
    assert!(s.graveyard.is_empty());
    assert!(s.contains(b"new", T0 + 5));
    s.flush();
    assert!(s.is_empty());
    assert_eq!(s.used_memory(), 0);
}

#[test]
fn one_mib_values() {
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    let mut s = Store::new(4 << 20);
    s.set(b"big", &big, Ttl::Clear, T0).unwrap();
    assert_eq!(s.get(b"big", T0), Some(&big[..]));
    s.set(b"big2", &big, Ttl::Clear, T0).unwrap();
    s.set(b"big3", &big, Ttl::Clear, T0).unwrap();
    assert_eq!(s.set(b"big4", &big, Ttl::Clear, T0), Err(OutOfMemory));
    s.set(b"big", &big[..10], Ttl::Clear, T0).unwrap();
    s.set(b"big4", &big, Ttl::Clear, T0).unwrap();
}

/// xorshift64* for the model test.
fn rng(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// The store against a plain model (key -> (value, expiry)) under random operations and a
/// moving clock; also checks the expiry list and memory bookkeeping after every step.
#[test]
fn matches_a_model_under_random_operations() {
    let mut s = Store::new(0);
    let mut model: Model<Vec<u8>, (Vec<u8>, Option<i64>)> = Model::new();
    let mut state = 7u64;
    let mut now = T0;
    for step in 0..20_000 {
        let r = rng(&mut state);
        let key = vec![b'k', (r % 40) as u8];
        let nowi = now as i64;
        model.retain(|_, (_, at)| at.is_none_or(|at| nowi <= at));
        match (r >> 8) % 9 {
            0 | 1 => {
                let at = nowi + (r >> 16) as i64 % 50;
                s.set(&key, &step.to_string().into_bytes(), Ttl::At(at), now)
                    .unwrap();
                model.insert(key, (step.to_string().into_bytes(), Some(at)));
            }
            2 => {
                s.set(&key, b"p", Ttl::Clear, now).unwrap();
                model.insert(key, (b"p".to_vec(), None));
            }
            3 => {
                s.set(&key, b"kept", Ttl::Keep, now).unwrap();
                let at = model.get(&key).and_then(|e| e.1);
                model.insert(key, (b"kept".to_vec(), at));
            }
            4 => assert_eq!(
                s.del([&key[..]], now),
                i64::from(model.remove(&key).is_some())
            ),
            5 => {
                let at = nowi + (r >> 16) as i64 % 50;
                let present = model.get_mut(&key).map(|e| e.1 = Some(at)).is_some();
                assert_eq!(s.set_expire(&key, at, now), present);
            }
            6 => {
                let had = model.get_mut(&key).and_then(|e| e.1.take()).is_some();
                assert_eq!(s.persist(&key, now), had);
            }
            7 => {
                s.expire_some(now, (r >> 16) as usize % 8);
            }
            _ => now += (r >> 16) % 7,
        }
        let nowi = now as i64;
        model.retain(|_, (_, at)| at.is_none_or(|at| nowi <= at));
        let k = vec![b'k', ((r >> 24) % 40) as u8];
        assert_eq!(get(&mut s, &k, now), model.get(&k).map(|e| e.0.clone()));
        let want = match model.get(&k) {
            None => KeyTtl::Missing,
            Some((_, None)) => KeyTtl::Persistent,
            Some((_, Some(at))) => KeyTtl::At(*at),
        };
        assert_eq!(s.ttl(&k, now), want);
        check_invariants(&s);
    }
}

fn check_invariants(s: &Store) {
    let mut used = 0;
    let mut volatile = 0;
    for (k, e) in &s.map {
        let listed = e.vidx != NO_TTL;
        used += cost(k.len(), e.value.len());
        if listed {
            volatile += 1;
            let (vk, at) = &s.volatile[e.vidx];
            assert_eq!(&vk[..], &k[..]);
            assert_eq!(*at, e.expire_at);
        }
    }
    assert_eq!(volatile, s.volatile.len());
    assert_eq!(used, s.used);
}
