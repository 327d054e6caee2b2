//! The 32-bit hash every feature and every listed word goes through, and the maps from a hash to a row of
//! a table. A leaf module: the trainer and the decoder both call these, so a feature lands in the same
//! row on both sides.

/// Mixes one 32-bit value into a running hash (MurmurHash3's block step).
#[inline]
pub(crate) fn mix(h: u32, x: u32) -> u32 {
    (h ^ x).wrapping_mul(0xCC9E_2D51).rotate_left(15).wrapping_mul(0x1B87_3593)
}

/// MurmurHash3's finaliser: every input bit affects every output bit, so the top bits make a good bucket.
#[inline]
pub(crate) fn finalize(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

/// The row of a `2^bits`-bucket table that a feature hash selects (`bits` in `1..=32`): the same row as
/// [`row`] with `2^bits` rows.
#[inline]
pub fn bucket(hash: u32, bits: u8) -> usize {
    (hash >> (32 - u32::from(bits))) as usize
}

/// The second hash of a feature whose template hash is `hash`: a codebook model with
/// `hashes_per_feature = 2` reads the rows of `hash` and of `second_hash(hash)` and sums them, so two
/// features rarely share both rows. A rotation, one instruction: [`row`] takes a row mostly from the
/// hash's high bits, so the second row comes mostly from the bits the first one ignores.
#[inline]
pub const fn second_hash(hash: u32) -> u32 {
    hash.rotate_left(16)
}

/// The hashes whose rows a feature reads with `hashes_per_feature` rows per feature (1 or 2): `hash`, then
/// [`second_hash`]`(hash)`.
#[inline(always)]
pub fn feature_hashes(hash: u32, hashes_per_feature: u8) -> impl Iterator<Item = u32> {
    [hash, second_hash(hash)].into_iter().take(usize::from(hashes_per_feature))
}

/// The row of an `rows`-row table that a feature hash selects: `(hash * rows) >> 32`, in `0..rows` for
/// any row count (a power of two or not), spreading hashes as evenly as [`bucket`] does.
#[inline]
pub fn row(hash: u32, rows: u32) -> usize {
    ((u64::from(hash) * u64::from(rows)) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_generalises_bucket() {
        for bits in 1..=24u8 {
            for hash in [0u32, 1, 0x8000_0000, 0xDEAD_BEEF, u32::MAX] {
                assert_eq!(row(hash, 1 << bits), bucket(hash, bits));
            }
        }
        assert_eq!(row(u32::MAX, 1), 0);
        assert_eq!(row(u32::MAX, 1000), 999);
        assert_eq!(row(0, 1000), 0);
    }
}
