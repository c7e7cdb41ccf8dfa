//! Values Asterisk 22 refuses, option by option. (Yes/no options are not
//! here: `bool_handler_fn` in main/config_options.c takes any word and
//! never fails.)
//!
//! When one sorcery handler of res_pjsip refuses a value, Asterisk drops the
//! whole object (endpoint, aor, registration...) and keeps running without
//! it; the apply then fails verification and nothing new goes live. So each
//! rule here mirrors the handler Asterisk runs for that option, named in a
//! comment, and each is exercised against the real Asterisk by
//! tests/tests/live_values.rs (accepted boundary loads, refused value is
//! refused by Asterisk too). Options not listed are strings Asterisk stores
//! as given.
//!
//! The config-syntax rules (no control characters, no edge blanks, `${`)
//! stay in [`super::text::option_value`]; these rules come after them.

use super::pjsip_options::OptionSet;

/// What Asterisk accepts for one option.
#[derive(Debug, Clone, Copy)]
enum Accepts {
    /// main/config_options.c `uint_handler_fn`: `ast_parse_arg(PARSE_UINT32)`,
    /// which refuses anything but a number (and a `-` sign).
    Uint,
    /// `uint_handler_fn` with `PARSE_IN_RANGE`.
    UintIn(u32, u32),
    /// main/config_options.c `double_handler_fn`: `ast_parse_arg(PARSE_DOUBLE)`.
    Decimal,
    /// A custom handler comparing case-insensitively with fixed words and
    /// returning -1 otherwise.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of such words (blanks around items ignored,
    /// empty items skipped).
    ListOf(&'static [&'static str]),
    /// res_pjsip/pjsip_configuration.c `from_user_handler`: letters, digits
    /// and the URI marks `-._~%!$&'()*+,;=:` (byte by byte: no non-ASCII).
    UriUser,
    /// res_pjsip/location.c `ast_sip_validate_uri_length`: a `sip:`/`sips:`
    /// URI of at most 255 bytes whose host fits pjproject's 128-byte buffer.
    SipUri,
}

/// res_pjsip/pjsip_configuration.c `prack_handler`: `ast_true`/`ast_false`
/// words (main/utils.c), `required`, and `peer_supported` (22).
const PRACK: &[&str] = &["yes", "true", "y", "t", "1", "on", "no", "false", "n", "f", "0", "off", "required", "peer_supported"];
/// res_pjsip/pjsip_configuration.c `timers_handler`.
const TIMERS: &[&str] = &["yes", "true", "y", "t", "1", "on", "no", "false", "n", "f", "0", "off", "required", "always", "forced"];

fn rule(set: OptionSet, key: &str) -> Option<Accepts> {
    use Accepts::*;
    Some(match (set, key) {
        // res_pjsip/pjsip_configuration.c, ast_res_pjsip_initialize_configuration:
        // the OPT_UINT_T endpoint fields.
        (OptionSet::Endpoint,
            "timers_min_se" | "timers_sess_expires" | "rtp_keepalive" | "rtp_timeout"
            | "rtp_timeout_hold" | "device_state_busy_at" | "t38_udptl_maxdatagram"
            | "fax_detect_timeout" | "cos_audio" | "cos_video" | "sub_min_expiry"
            | "max_audio_streams" | "max_video_streams") => Uint,
        // res_pjsip/pjsip_configuration.c: `from_user_handler`. `contact_user`
        // is stored as is but becomes the user part of the Contact URI, so
        // it gets the same rule.
        (OptionSet::Endpoint, "from_user" | "contact_user") => UriUser,
        // res_pjsip/pjsip_configuration.c: `dtmf_handler` → `ast_sip_str_to_dtmf`.
        (OptionSet::Endpoint, "dtmf_mode") => OneOf(&["rfc4733", "inband", "info", "auto", "auto_info"]),
        (OptionSet::Endpoint, "100rel") => OneOf(PRACK),
        (OptionSet::Endpoint, "timers") => OneOf(TIMERS),
        // `direct_media_method_handler`, `connected_line_method_handler`.
        (OptionSet::Endpoint, "direct_media_method" | "connected_line_method") => OneOf(&["invite", "reinvite", "update"]),
        // `direct_media_glare_mitigation_handler`.
        (OptionSet::Endpoint, "direct_media_glare_mitigation") => OneOf(&["none", "outgoing", "incoming"]),
        // `redirect_handler`.
        (OptionSet::Endpoint, "redirect_method") => OneOf(&["user", "uri_core", "uri_pjsip"]),
        // `media_encryption_handler`.
        (OptionSet::Endpoint, "media_encryption") => OneOf(&["no", "sdes", "dtls"]),
        // `t38udptl_ec_handler`.
        (OptionSet::Endpoint, "t38_udptl_ec") => OneOf(&["none", "fec", "redundancy"]),
        // `ident_handler` → `sip_endpoint_identifier_str2type`.
        (OptionSet::Endpoint, "identify_by") => ListOf(&["username", "auth_username", "ip", "header", "request_uri"]),
        (OptionSet::Endpoint, "outbound_proxy") => SipUri,
        // res_pjsip/location.c, ast_sip_initialize_sorcery_location: the aor
        // fields (`qualify_frequency` is registered with PARSE_IN_RANGE 0..86400).
        (OptionSet::Aor, "max_contacts" | "minimum_expiration" | "maximum_expiration" | "default_expiration") => Uint,
        (OptionSet::Aor, "qualify_frequency") => UintIn(0, 86400),
        (OptionSet::Aor, "qualify_timeout") => Decimal,
        // location.c `permanent_uri_handler` checks each contact with
        // `ast_sip_validate_uri_length`; one URI per value here.
        (OptionSet::Aor, "contact" | "outbound_proxy") => SipUri,
        // res_pjsip_outbound_registration.c: OPT_UINT_T fields, and
        // `sip_outbound_registration_apply` validating both URIs.
        (OptionSet::Registration,
            "expiration" | "retry_interval" | "forbidden_retry_interval" | "fatal_retry_interval"
            | "max_retries") => Uint,
        (OptionSet::Registration, "server_uri" | "client_uri" | "outbound_proxy") => SipUri,
        // The registration's Contact is `sip:<contact_user>@...`, parsed by
        // pjsip when the registration is allocated.
        (OptionSet::Registration, "contact_user") => UriUser,
        _ => return None,
    })
}

/// The problem Asterisk would have with `value` for `key` in `set`, worded
/// for the API.
pub(super) fn refused(set: OptionSet, key: &str, value: &str) -> Option<String> {
    match rule(set, key)? {
        Accepts::Uint => uint(value, 0, u32::MAX),
        Accepts::UintIn(low, high) => uint(value, low, high),
        Accepts::Decimal => decimal(value),
        Accepts::OneOf(words) => one_of(value, words),
        Accepts::ListOf(words) => value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .find_map(|item| one_of(item, words)),
        Accepts::UriUser => uri_user(value),
        Accepts::SipUri => sip_uri(value),
    }
}

fn uint(value: &str, low: u32, high: u32) -> Option<String> {
    let expected = || {
        if (low, high) == (0, u32::MAX) {
            "expected a whole number (0 to 4294967295)".to_owned()
        } else {
            format!("expected a whole number from {low} to {high}")
        }
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(expected());
    }
    match value.parse::<u64>() {
        Ok(n) if n >= u64::from(low) && n <= u64::from(high) => None,
        _ => Some(expected()),
    }
}

fn decimal(value: &str) -> Option<String> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) || value.ends_with('.'))
        .then(|| "expected a number such as `3` or `3.5`".to_owned())
}

fn one_of(value: &str, words: &[&str]) -> Option<String> {
    (!words.iter().any(|w| w.eq_ignore_ascii_case(value)))
        .then(|| format!("`{value}` is not accepted: use one of {}", words.join(", ")))
}

/// The characters of `from_user_handler`.
fn uri_user(value: &str) -> Option<String> {
    value
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "-._~%!$&'()*+,;=:".contains(c)))
        .map(|c| format!("{c:?} is not allowed: use letters, digits and -._~%!$&'()*+,;=: (a SIP URI user part)"))
}

/// pjproject's limits (`PJSIP_MAX_URL_SIZE` 256, `PJ_MAX_HOSTNAME` 128) as
/// `ast_sip_validate_uri_length` applies them: the whole URI below 256
/// bytes; the host below 128 bytes, or below 118 without a port (room for
/// the `_sips._tcp.` SRV prefix).
fn sip_uri(value: &str) -> Option<String> {
    const MAX_URI: usize = 255;
    const MAX_HOST: usize = 127;
    if value.len() > MAX_URI {
        return Some(format!("a SIP URI may be at most {MAX_URI} bytes long (got {})", value.len()));
    }
    let inner = value.strip_prefix('<').and_then(|v| v.strip_suffix('>')).unwrap_or(value);
    let lower = inner.get(..5).unwrap_or(inner).to_ascii_lowercase();
    let rest = if lower.starts_with("sips:") {
        &inner[5..]
    } else if lower.starts_with("sip:") {
        &inner[4..]
    } else {
        return Some("expected a SIP URI such as `sip:host` or `sip:user@host:5060`".into());
    };
    let host_and_more = rest.split_once('@').map_or(rest, |(_, host)| host);
    let (host, has_port) = if let Some(v6) = host_and_more.strip_prefix('[') {
        match v6.split_once(']') {
            None => return Some("an IPv6 host needs its closing `]`".into()),
            Some((address, after)) => (&host_and_more[..address.len() + 2], after.starts_with(':')),
        }
    } else {
        let host = host_and_more.split([';', '?']).next().unwrap_or_default();
        match host.split_once(':') {
            Some((name, _)) => (name, true),
            None => (host, false),
        }
    };
    let max_host = if has_port { MAX_HOST } else { MAX_HOST - "_sips._tcp.".len() };
    (host.len() > max_host).then(|| {
        format!("the host part may be at most {max_host} bytes{} (got {})", if has_port { "" } else { " without a port" }, host.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(key: &str, value: &str) -> Option<String> {
        refused(OptionSet::Endpoint, key, value)
    }

    #[test]
    fn from_user_takes_the_uri_user_marks_only() {
        assert_eq!(endpoint("from_user", "+33-1.2_3~%20!$&'()*,;=:ab"), None);
        for bad in ["a b", "a[b", "a\"b", "a>b", "a\\b", "a#b", "é", "a@b", "a/b", "a?b"] {
            assert!(endpoint("from_user", bad).is_some(), "{bad}");
            assert!(endpoint("contact_user", bad).is_some(), "{bad}");
            assert!(refused(OptionSet::Registration, "contact_user", bad).is_some(), "{bad}");
        }
        assert!(endpoint("from_user", "a b").unwrap().contains("' '"));
    }

    #[test]
    fn unsigned_fields_take_plain_numbers_within_32_bits() {
        assert_eq!(endpoint("rtp_timeout", "0"), None);
        assert_eq!(endpoint("rtp_timeout", "4294967295"), None);
        for bad in ["4294967296", "-1", "ten", "1.5", "0x10", "+1"] {
            assert!(endpoint("rtp_timeout", bad).is_some(), "{bad}");
        }
        assert_eq!(refused(OptionSet::Registration, "expiration", "3600"), None);
        assert!(refused(OptionSet::Registration, "max_retries", "many").is_some());
        assert!(refused(OptionSet::Aor, "max_contacts", "1 ").is_some());
    }

    #[test]
    fn qualify_frequency_is_bounded_as_in_location_c() {
        assert_eq!(refused(OptionSet::Aor, "qualify_frequency", "86400"), None);
        assert_eq!(refused(OptionSet::Aor, "qualify_frequency", "86401").unwrap(), "expected a whole number from 0 to 86400");
        assert_eq!(refused(OptionSet::Aor, "qualify_timeout", "3.5"), None);
        assert_eq!(refused(OptionSet::Aor, "qualify_timeout", "3"), None);
        for bad in ["", ".", "3.", "a", "-1", "1e3"] {
            assert!(refused(OptionSet::Aor, "qualify_timeout", bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn word_options_take_their_words_in_any_case() {
        assert_eq!(endpoint("dtmf_mode", "RFC4733"), None);
        assert!(endpoint("dtmf_mode", "rfc2833").unwrap().contains("rfc4733, inband"));
        assert_eq!(endpoint("100rel", "required"), None);
        assert_eq!(endpoint("timers", "forced"), None);
        assert!(endpoint("timers", "sometimes").is_some());
        assert_eq!(endpoint("identify_by", "ip, username,,header"), None);
        assert!(endpoint("identify_by", "ip,mac").unwrap().contains("`mac`"));
        // OPT_BOOL_T never fails (config_options.c `bool_handler_fn`): not judged.
        assert_eq!(refused(OptionSet::Registration, "line", "maybe"), None);
    }

    #[test]
    fn sip_uris_fit_pjprojects_buffers() {
        let host = |n: usize| "h".repeat(n);
        assert_eq!(refused(OptionSet::Registration, "server_uri", &format!("sip:{}", host(116))), None);
        assert!(refused(OptionSet::Registration, "server_uri", &format!("sip:{}", host(117))).is_some());
        assert_eq!(refused(OptionSet::Registration, "server_uri", &format!("sip:u@{}:5060", host(127))), None);
        assert!(refused(OptionSet::Registration, "server_uri", &format!("sip:u@{}:5060", host(128))).is_some());
        assert!(refused(OptionSet::Registration, "client_uri", &format!("sip:{}@h", "u".repeat(252))).is_some());
        assert_eq!(refused(OptionSet::Aor, "contact", "sip:[::1]:5060;transport=udp"), None);
        assert!(refused(OptionSet::Aor, "contact", "http://x").is_some());
        assert!(refused(OptionSet::Aor, "contact", "sip:[::1").is_some());
    }

    #[test]
    fn other_options_are_not_judged_here() {
        assert_eq!(endpoint("language", "anything at all"), None);
        assert_eq!(refused(OptionSet::Auth, "password", ">p;w\\"), None);
    }
}
