//! Paul Hsieh's SuperFastHash as kmod's `hash_superfast` computes it.
//!
//! kmod lays modules out in the iteration order of a 512-bucket hash table and writes
//! `modules.symbols` in the order of a 2048-bucket one; reproducing those orders byte
//! for byte needs this exact function, including its signed-char quirk on a 1-byte tail.

/// Hashes `key` exactly as kmod's `hash_superfast` does on x86-64 (little-endian 16-bit
/// reads, `char` signed).
pub fn superfast(key: &[u8]) -> u32 {
    let mut h: u32 = key.len() as u32;
    let word = |b: &[u8]| -> u32 { u32::from(b[0]) | (u32::from(b[1]) << 8) };
    let mut chunks = key.chunks_exact(4);
    for c in &mut chunks {
        h = h.wrapping_add(word(&c[0..2]));
        let t = (word(&c[2..4]) << 11) ^ h;
        h = (h << 16) ^ t;
        h = h.wrapping_add(h >> 11);
    }
    let rest = chunks.remainder();
    match rest.len() {
        3 => {
            h = h.wrapping_add(word(&rest[0..2]));
            h ^= h << 16;
            h ^= u32::from(rest[2]) << 18;
            h = h.wrapping_add(h >> 11);
        }
        2 => {
            h = h.wrapping_add(word(rest));
            h ^= h << 11;
            h = h.wrapping_add(h >> 17);
        }
        1 => {
            // kmod adds `*key` as a (signed) char.
            h = h.wrapping_add(rest[0] as i8 as i32 as u32);
            h ^= h << 10;
            h = h.wrapping_add(h >> 1);
        }
        _ => {}
    }
    h ^= h << 3;
    h = h.wrapping_add(h >> 5);
    h ^= h << 4;
    h = h.wrapping_add(h >> 17);
    h ^= h << 25;
    h = h.wrapping_add(h >> 6);
    h
}

/// Sorts `items` into the iteration order of a kmod hash table with `buckets` buckets
/// (a power of two): ascending bucket, then ascending byte order of the key. Each key is
/// hashed once.
pub fn sort_in_table_order<T>(items: &mut Vec<T>, buckets: u32, key: impl Fn(&T) -> &[u8]) {
    let mask = buckets - 1;
    // Sorted as (bucket, position) pairs, then moved once: the items can be large.
    let mut order: Vec<(u32, u32)> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (superfast(key(it)) & mask, i as u32))
        .collect();
    order.sort_unstable_by(|&(ba, a), &(bb, b)| {
        ba.cmp(&bb)
            .then_with(|| key(&items[a as usize]).cmp(key(&items[b as usize])))
            .then(a.cmp(&b))
    });
    super::permute(items, order.into_iter().map(|(_, i)| i as usize));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_of_every_length_differ() {
        let hs: Vec<u32> = ["", "a", "ab", "abc", "abcd", "abcde"]
            .iter()
            .map(|s| superfast(s.as_bytes()))
            .collect();
        for (i, a) in hs.iter().enumerate() {
            for b in &hs[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(superfast(b""), 0);
    }

    #[test]
    fn one_byte_tail_is_signed() {
        // 0x80 as a signed char is -128: the hash must differ from adding +128.
        let mut h: u32 = 1;
        h = h.wrapping_add(128);
        h ^= h << 10;
        h = h.wrapping_add(h >> 1);
        h ^= h << 3;
        h = h.wrapping_add(h >> 5);
        h ^= h << 4;
        h = h.wrapping_add(h >> 17);
        h ^= h << 25;
        h = h.wrapping_add(h >> 6);
        assert_ne!(superfast(&[0x80]), h);
    }

    #[test]
    fn table_order_groups_by_bucket_then_bytes() {
        let mut v = vec!["zeta", "alpha", "beta", "gamma", "delta"];
        sort_in_table_order(&mut v, 2, |s| s.as_bytes());
        let buckets: Vec<u32> = v.iter().map(|s| superfast(s.as_bytes()) & 1).collect();
        let mut sorted = buckets.clone();
        sorted.sort();
        assert_eq!(buckets, sorted);
    }
}
