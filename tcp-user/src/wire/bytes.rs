//! Big-endian (network order) field access shared by the header views. Callers have checked
//! lengths once (`new_checked`), so these index directly.

/// The network-order `u16` at `at`.
#[inline]
pub fn read_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The network-order `u32` at `at`.
#[inline]
pub fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
