//! Number plans: a tenant's country and dialling habits, the form a trunk
//! wants numbers in on the way out, and one form (E.164) for numbers that
//! arrive in whatever form a provider sends.
//!
//! Pure and small on purpose: the habits of a handful of countries are a
//! table here ([`Habits::of_country`]) rather than libphonenumber's metadata
//! (the `phonenumber` crate brings regex, nom, quick-xml and bincode plus the
//! whole world's metadata into the portal's wasm). What Patchbay needs is
//! prefix arithmetic: which prefix means "international", which one means
//! "national", and how long a national number is; not validation of every
//! numbering range of the world.
//!
//! A trunk carries a [`NumberPlan`] (`model::Trunk::number_plan`); the
//! renderer writes each form [`forms`] lists as a dialplan extension of a
//! generated context, so Asterisk converts numbers with its own matcher,
//! and the simulator and the trunk form's preview call [`outbound`] and
//! [`inbound`], which give the same answers (`forms` tests hold them equal).

mod forms;
mod table;

use serde::{Deserialize, Serialize};

pub use forms::{Form, Reading, forms};
pub use table::COUNTRIES;

/// The longest E.164 number (ITU-T E.164 §6): 15 digits, country code
/// included.
pub const MAX_E164_DIGITS: usize = 15;

/// How people dial in a tenant's country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Habits {
    /// ISO 3166-1 alpha-2 code, e.g. `CA`, `FR`.
    pub country: String,
    /// Country calling code, digits only: `1`, `33`.
    pub country_code: String,
    /// What a caller dials before a country code: `011` in North America,
    /// `00` in most of the world.
    pub international_prefix: String,
    /// What a caller dials before a national number (`0` in France), empty
    /// where there is none. North America's `1` is one.
    pub trunk_prefix: String,
    /// Lengths of a national significant number (without trunk prefix).
    pub national_lengths: Vec<usize>,
}

impl Habits {
    /// The habits of a country of the table, by ISO code (any case).
    pub fn of_country(iso: &str) -> Option<Habits> {
        COUNTRIES
            .iter()
            .find(|country| country.iso.eq_ignore_ascii_case(iso))
            .map(|country| Habits {
                country: country.iso.to_owned(),
                country_code: country.code.to_owned(),
                international_prefix: country.international_prefix.to_owned(),
                trunk_prefix: country.trunk_prefix.to_owned(),
                national_lengths: country.national_lengths.to_vec(),
            })
    }

    fn is_national_length(&self, digits: &str) -> bool {
        self.national_lengths.contains(&digits.len())
    }
}

/// The form a trunk wants numbers (and caller IDs) in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundFormat {
    /// Country code and number, no `+`: `15145550100`.
    E164,
    /// `+15145550100`.
    PlusE164,
    /// As a caller in the tenant's country dials it: trunk prefix and
    /// national number at home (`05 14 55 50 10` → `0514555010`), the
    /// international prefix and E.164 abroad (`0015145550100`).
    National,
    /// The national significant number alone at home (North America's
    /// ten digits), the international form abroad.
    NationalSignificant,
    /// Untouched: what the route's strip/prefix produced.
    AsDialled,
}

/// A number in E.164, kept as its digits (country code first, no `+`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct E164(String);

impl E164 {
    /// The digits, country code first.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// `+` and the digits.
    pub fn with_plus(&self) -> String {
        format!("+{}", self.0)
    }

    /// The national significant number when the number is in `habits`'
    /// country.
    pub fn national_in<'a>(&'a self, habits: &Habits) -> Option<&'a str> {
        self.0
            .strip_prefix(habits.country_code.as_str())
            .filter(|national| habits.is_national_length(national))
    }

    /// The number written in `format` for a caller with `habits`.
    pub fn format(&self, format: OutboundFormat, habits: &Habits) -> String {
        let abroad = || format!("{}{}", habits.international_prefix, self.0);
        match format {
            OutboundFormat::E164 | OutboundFormat::AsDialled => self.0.clone(),
            OutboundFormat::PlusE164 => self.with_plus(),
            OutboundFormat::National => self.national_in(habits).map_or_else(abroad, |national| {
                format!("{}{national}", habits.trunk_prefix)
            }),
            OutboundFormat::NationalSignificant => {
                self.national_in(habits).map_or_else(abroad, str::to_owned)
            }
        }
    }
}

/// Why a string is not a number [`normalise`] can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("`{0}` holds something other than digits, `+` and separators")]
    NotANumber(String),
    #[error("`{0}` has no digits")]
    Empty(String),
    #[error("`{0}` is neither international nor a national number of {1} (lengths {2:?})")]
    Unrecognised(String, String, Vec<usize>),
    #[error("`{0}` is longer than an E.164 number (at most 15 digits)")]
    TooLong(String),
}

/// Separators people and providers write inside numbers.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '/')
}

/// One number, in any of the forms a caller in `habits`' country or a
/// provider uses, to E.164:
///
/// * `+15145550100` (and `+1 (514) 555-0100`);
/// * the international prefix of the country (`011…` in North America,
///   `00…` in France) or the ITU `00` prefix (which providers send
///   whatever the country), then country code and number;
/// * the country code without `+` (`15145550100`) when what follows is a
///   national number of the tenant's country (other countries' codes are
///   not guessed from bare digits);
/// * the trunk prefix and a national number (`0145550100` in France);
/// * a national number alone (`5145550100`).
pub fn normalise(written: &str, habits: &Habits) -> Result<E164, NumberError> {
    let number = read(written, habits)?;
    if number.0.len() > MAX_E164_DIGITS {
        return Err(NumberError::TooLong(written.to_owned()));
    }
    Ok(number)
}

fn read(written: &str, habits: &Habits) -> Result<E164, NumberError> {
    let compact: String = written.chars().filter(|&c| !is_separator(c)).collect();
    let (plus, digits) = match compact.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, compact.as_str()),
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(NumberError::NotANumber(written.to_owned()));
    }
    if digits.is_empty() {
        return Err(NumberError::Empty(written.to_owned()));
    }
    if plus {
        return Ok(E164(digits.to_owned()));
    }
    let home = |national: &str| E164(format!("{}{national}", habits.country_code));
    // International first: no national number starts with an international
    // prefix, while a long enough `00…` string can have a national length.
    for prefix in [habits.international_prefix.as_str(), "00"] {
        if let Some(international) = digits.strip_prefix(prefix)
            && !prefix.is_empty()
            && international.len() > 2
        {
            return Ok(E164(international.to_owned()));
        }
    }
    // A national significant number never starts with the trunk prefix
    // (North America's never start with 1, France's never with 0); checked
    // before the country code, which in North America is also `1`.
    let starts_with_trunk_prefix =
        !habits.trunk_prefix.is_empty() && digits.starts_with(habits.trunk_prefix.as_str());
    if !starts_with_trunk_prefix && habits.is_national_length(digits) {
        return Ok(home(digits));
    }
    if let Some(national) = digits.strip_prefix(habits.country_code.as_str())
        && habits.is_national_length(national)
    {
        return Ok(home(national));
    }
    if !habits.trunk_prefix.is_empty()
        && let Some(national) = digits.strip_prefix(habits.trunk_prefix.as_str())
        && habits.is_national_length(national)
    {
        return Ok(home(national));
    }
    Err(NumberError::Unrecognised(
        written.to_owned(),
        habits.country.clone(),
        habits.national_lengths.clone(),
    ))
}

/// What goes out on a trunk: the number the route produced (after its
/// strip and prefix), in the trunk's `format`. A number that cannot be read
/// goes out as it is (Asterisk would dial it so), and the error says why.
pub fn outbound(
    after_strip_prefix: &str,
    format: OutboundFormat,
    habits: &Habits,
) -> (String, Option<NumberError>) {
    if format == OutboundFormat::AsDialled {
        return (after_strip_prefix.to_owned(), None);
    }
    match normalise(after_strip_prefix, habits) {
        Ok(number) => (number.format(format, habits), None),
        Err(error) => (after_strip_prefix.to_owned(), Some(error)),
    }
}

/// `written` with what the dialplan's `FILTER(0-9*#+, …)` keeps.
pub fn filtered(written: &str) -> String {
    written.chars().filter(|c| c.is_ascii_digit() || "*#+".contains(*c)).collect()
}

/// What a provider's DID becomes before the incall lookup: read in any
/// form, then written in `format` (the form the tenant's incall DIDs are
/// written in). The same arithmetic as [`outbound`]: a number that cannot
/// be read is looked up as it arrived.
pub fn inbound(did: &str, format: OutboundFormat, habits: &Habits) -> (String, Option<NumberError>) {
    outbound(did, format, habits)
}

/// A trunk's number plan (Patchbay's `number_plan` key of a trunk): the
/// country whose habits read numbers, the form the provider wants called
/// numbers and caller IDs in, and what DIDs arriving on the trunk are
/// turned into before the incall lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberPlan {
    /// ISO code of a country of [`COUNTRIES`].
    pub country: String,
    /// The called number (after the route's strip and prefix).
    #[serde(default = "as_dialled")]
    pub outbound: OutboundFormat,
    /// The caller ID number sent with it.
    #[serde(default = "as_dialled")]
    pub caller_id: OutboundFormat,
    /// DIDs arriving on the trunk, read in any form and written in this one
    /// before the incall lookup; `None` looks them up as they arrive.
    #[serde(default)]
    pub inbound: Option<OutboundFormat>,
    /// Where the DID of an arriving call is: the Request-URI (what Asterisk
    /// looks up) or the user part of a header the provider puts it in.
    #[serde(default, skip_serializing_if = "DidSource::is_request_uri")]
    pub did_from: DidSource,
}

/// Where a provider puts the DID of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DidSource {
    /// The Request-URI's user (`${EXTEN}`).
    #[default]
    RequestUri,
    /// The To header's URI user.
    To,
    /// The P-Preferred-Identity header's URI user.
    PPreferredIdentity,
    /// The (first) Diversion header's URI user.
    Diversion,
}

impl DidSource {
    /// Every source, for pickers.
    pub const ALL: [DidSource; 4] = [DidSource::RequestUri, DidSource::To, DidSource::PPreferredIdentity, DidSource::Diversion];

    fn is_request_uri(&self) -> bool {
        *self == DidSource::RequestUri
    }

    /// The SIP header holding the DID, `None` for the Request-URI.
    pub fn header(self) -> Option<&'static str> {
        match self {
            DidSource::RequestUri => None,
            DidSource::To => Some("To"),
            DidSource::PPreferredIdentity => Some("P-Preferred-Identity"),
            DidSource::Diversion => Some("Diversion"),
        }
    }

    /// The API's name (`p_preferred_identity`).
    pub fn as_str(self) -> &'static str {
        match self {
            DidSource::RequestUri => "request_uri",
            DidSource::To => "to",
            DidSource::PPreferredIdentity => "p_preferred_identity",
            DidSource::Diversion => "diversion",
        }
    }
}

fn as_dialled() -> OutboundFormat {
    OutboundFormat::AsDialled
}

impl NumberPlan {
    /// The plan's country habits; `None` for a country outside the table
    /// (validation refuses it).
    pub fn habits(&self) -> Option<Habits> {
        Habits::of_country(&self.country)
    }

    /// Whether the plan changes anything on the way out.
    pub fn converts_outbound(&self) -> bool {
        self.outbound != OutboundFormat::AsDialled || self.caller_id != OutboundFormat::AsDialled
    }
}

impl OutboundFormat {
    /// Every format, for pickers.
    pub const ALL: [OutboundFormat; 5] = [
        OutboundFormat::E164,
        OutboundFormat::PlusE164,
        OutboundFormat::National,
        OutboundFormat::NationalSignificant,
        OutboundFormat::AsDialled,
    ];

    /// The API's name (`plus_e164`), also used in generated context names.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundFormat::E164 => "e164",
            OutboundFormat::PlusE164 => "plus_e164",
            OutboundFormat::National => "national",
            OutboundFormat::NationalSignificant => "national_significant",
            OutboundFormat::AsDialled => "as_dialled",
        }
    }

    /// The format named `name` ([`OutboundFormat::as_str`]).
    pub fn from_name(name: &str) -> Option<OutboundFormat> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

#[cfg(test)]
mod tests;
