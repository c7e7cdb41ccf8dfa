//! A set of bytes (256 bits), the representation of `X`, `N`, `Z` and `[...]`
//! both for ordering (§4) and for matching (§3.2).

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    pub(crate) fn inclusive_range(low: u8, high: u8) -> Self {
        let mut set = Self::default();
        for byte in low..=high {
            set.insert(byte);
        }
        set
    }

    pub(crate) fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte / 64)] |= 1 << (byte % 64);
    }

    pub(crate) fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte / 64)] & (1 << (byte % 64)) != 0
    }

    pub(crate) fn len(&self) -> u32 {
        self.0.iter().map(|word| word.count_ones()).sum()
    }

    /// The only member, when there is exactly one.
    pub(crate) fn single(&self) -> Option<u8> {
        if self.len() != 1 {
            return None;
        }
        (0..=u8::MAX).find(|&byte| self.contains(byte))
    }

    /// Asterisk's tie-break between two sets of equal size and low character:
    /// the smallest byte that belongs to exactly one of them decides, and the
    /// set holding it sorts first (`memcmp` of big-endian bitmaps in `pbx.c`).
    pub(crate) fn cmp_members(&self, other: &Self) -> Ordering {
        for (mine, theirs) in self.0.iter().zip(other.0.iter()) {
            let differing = mine ^ theirs;
            if differing != 0 {
                let lowest = differing & differing.wrapping_neg();
                return if mine & lowest != 0 {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
        }
        Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(members: &[u8]) -> ByteSet {
        let mut set = ByteSet::default();
        members.iter().for_each(|&byte| set.insert(byte));
        set
    }

    #[test]
    fn smallest_differing_member_sorts_first() {
        // [0-4] < [02468] < [1-5] (spec §4 derived facts).
        assert_eq!(set(b"01234").cmp_members(&set(b"02468")), Ordering::Less);
        assert_eq!(set(b"02468").cmp_members(&set(b"12345")), Ordering::Less);
        assert_eq!(set(b"12345").cmp_members(&set(b"01234")), Ordering::Greater);
        assert_eq!(
            set(b"\x80\xff").cmp_members(&set(b"\x80\xfe")),
            Ordering::Greater
        );
    }

    #[test]
    fn single_and_len() {
        assert_eq!(set(b"7").single(), Some(b'7'));
        assert_eq!(set(b"78").single(), None);
        assert_eq!(ByteSet::inclusive_range(b'0', b'9').len(), 10);
        assert_eq!(ByteSet::inclusive_range(b'5', b'1').len(), 0);
    }
}
