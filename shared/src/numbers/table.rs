//! The dialling habits of the countries Patchbay knows, from the ITU-T
//! E.164 assignments and the national numbering plans (international
//! prefix, trunk prefix, length of a national significant number).

/// One country's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    pub iso: &'static str,
    pub code: &'static str,
    pub international_prefix: &'static str,
    pub trunk_prefix: &'static str,
    pub national_lengths: &'static [usize],
}

const fn country(
    iso: &'static str,
    code: &'static str,
    international_prefix: &'static str,
    trunk_prefix: &'static str,
    national_lengths: &'static [usize],
) -> Country {
    Country {
        iso,
        code,
        international_prefix,
        trunk_prefix,
        national_lengths,
    }
}

/// Sorted by ISO code.
pub const COUNTRIES: &[Country] = &[
    country("AU", "61", "0011", "0", &[9]),
    country("BE", "32", "00", "0", &[8, 9]),
    country("CA", "1", "011", "1", &[10]),
    country("CH", "41", "00", "0", &[9]),
    country("DE", "49", "00", "0", &[7, 8, 9, 10, 11]),
    country("ES", "34", "00", "", &[9]),
    country("FR", "33", "00", "0", &[9]),
    country("GB", "44", "00", "0", &[9, 10]),
    // Italy keeps the leading 0 of landlines in the national significant
    // number: there is no trunk prefix to strip.
    country("IT", "39", "00", "", &[6, 7, 8, 9, 10, 11]),
    country("NL", "31", "00", "0", &[9]),
    country("US", "1", "011", "1", &[10]),
];
