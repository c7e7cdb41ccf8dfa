//! "Which trunk is this INVITE, and where does it go?": a raw SIP INVITE
//! (pasted from `pjsip set logger on` or a capture) parsed, matched against
//! the SIP trunks' inbound identification the way res_pjsip does, and its
//! number looked up in the identified trunk's context by the simulator.
//!
//! Identification follows Asterisk's default `endpoint_identifier_order`
//! (`ip,username,anonymous,header,auth_username`), for the identifiers a
//! trunk uses: **ip** (an `identify` section's `match`: addresses, networks,
//! or host names, which Asterisk resolves when it loads the configuration
//! and which are compared as written here), **username** (the From user is
//! an endpoint's name) and **header** (`match_header = Name: value`; a
//! `/regex/` value is not evaluated here and says so).
//!
//! Asterisk looks up the Request-URI user (`${EXTEN}`); the number may be
//! taken from To, P-Preferred-Identity or Diversion instead (as a provider
//! that always sends `INVITE sip:s@…` requires); each candidate is listed.

use crate::model::{EndpointSip, SipSectionKind, Snapshot, Trunk, TrunkEndpoint};
use crate::simulate::{self, Caller, Trace};
use std::net::IpAddr;

/// A parsed INVITE: the Request-URI and the headers, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub request_uri: String,
    /// `(name, value)`, compact names expanded (`f` → `From`), folded lines joined.
    pub headers: Vec<(String, String)>,
}

impl Invite {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Where the INVITE came from: the top Via's `received`, else its host.
    pub fn source_host(&self) -> Option<String> {
        let via = self.header("Via")?;
        let via = via.split(',').next()?;
        if let Some(received) = param(via, "received") {
            return Some(received);
        }
        let sent_by = via.split_whitespace().nth(1)?.split(';').next()?;
        Some(host_of(sent_by))
    }
}

/// Compact header forms (RFC 3261 §7.3.3) and their full names.
const COMPACT: [(&str, &str); 8] =
    [("f", "From"), ("t", "To"), ("v", "Via"), ("i", "Call-ID"), ("m", "Contact"), ("l", "Content-Length"), ("c", "Content-Type"), ("k", "Supported")];

/// Parses the request line and headers of an INVITE (the body is ignored).
pub fn parse_invite(text: &str) -> Result<Invite, String> {
    let text = text.trim_start();
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some("INVITE"), Some(uri), Some(version)) if version.eq_ignore_ascii_case("SIP/2.0") => {
            let mut headers: Vec<(String, String)> = Vec::new();
            for line in lines {
                if line.trim().is_empty() {
                    break; // the body follows
                }
                if line.starts_with([' ', '\t']) {
                    if let Some((_, value)) = headers.last_mut() {
                        value.push(' ');
                        value.push_str(line.trim());
                    }
                    continue;
                }
                let Some((name, value)) = line.split_once(':') else {
                    return Err(format!("header line without a colon: `{line}`"));
                };
                let name = name.trim();
                let name = COMPACT.iter().find(|(short, _)| short.eq_ignore_ascii_case(name)).map_or(name, |(_, full)| full);
                headers.push((name.to_string(), value.trim().to_string()));
            }
            Ok(Invite { request_uri: uri.to_string(), headers })
        }
        (Some(method), _, _) if method != "INVITE" => Err(format!("the first line is a `{method}`, not an INVITE request line")),
        _ => Err("the first line must be `INVITE <uri> SIP/2.0`".into()),
    }
}

/// `;name=value` of a header value or URI, unquoted.
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (key, v) = p.split_once('=')?;
        key.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The host of `host[:port]` or `[v6]:port`.
fn host_of(hostport: &str) -> String {
    if let Some(rest) = hostport.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_string();
    }
    match hostport.matches(':').count() {
        1 => hostport.split(':').next().unwrap_or_default().to_string(),
        _ => hostport.to_string(),
    }
}

/// The user part of a SIP URI found in a header value or a Request-URI
/// (`"Name" <sip:user@host;p>;tag=x`, `sip:user@host`, `tel:+1514…`).
pub fn uri_user(value: &str) -> Option<String> {
    let uri = match (value.find('<'), value.find('>')) {
        (Some(start), Some(end)) if start < end => &value[start + 1..end],
        _ => value.split(';').next().unwrap_or(value).trim(),
    };
    let rest = ["sips:", "sip:", "tel:"].iter().find_map(|scheme| {
        uri.get(..scheme.len()).filter(|s| s.eq_ignore_ascii_case(scheme)).map(|_| &uri[scheme.len()..])
    })?;
    let user = if uri[..4].eq_ignore_ascii_case("tel:") { rest.split(';').next()? } else { rest.split_once('@')?.0 };
    let user = user.split(';').next()?.split(':').next()?;
    (!user.is_empty()).then(|| user.to_string())
}

/// Where the number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberSource {
    RequestUri,
    To,
    PPreferredIdentity,
    Diversion,
}

impl NumberSource {
    pub const ALL: [NumberSource; 4] = [NumberSource::RequestUri, NumberSource::To, NumberSource::PPreferredIdentity, NumberSource::Diversion];

    pub fn label(self) -> &'static str {
        match self {
            NumberSource::RequestUri => "Request-URI",
            NumberSource::To => "To",
            NumberSource::PPreferredIdentity => "P-Preferred-Identity",
            NumberSource::Diversion => "Diversion",
        }
    }

    /// The number this source gives for `invite`.
    pub fn number(self, invite: &Invite) -> Option<String> {
        match self {
            NumberSource::RequestUri => uri_user(&invite.request_uri),
            other => uri_user(invite.header(other.label())?),
        }
    }
}

/// How an endpoint was identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    /// The endpoint's name.
    pub endpoint: String,
    /// `ip`, `username` or `header`.
    pub method: &'static str,
    /// Why, in words.
    pub why: String,
}

/// The whole answer for one INVITE.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMatch {
    pub source: Option<String>,
    pub identified: Option<Identified>,
    /// Every identifier that was tried and did not match, in words.
    pub not_matched: Vec<String>,
    /// The trunk of the identified endpoint.
    pub trunk: Option<crate::model::TrunkId>,
    /// Each number source: its number, and the lookup in the trunk's context.
    pub numbers: Vec<(NumberSource, Option<String>, Option<Trace>)>,
}

/// Identifies `invite` among the SIP trunks of `tenant` (from `source`, else
/// the top Via) and looks each candidate number up in the trunk's context.
pub fn match_invite(s: &Snapshot, tenant: &str, invite: &Invite, source: Option<&str>) -> InboundMatch {
    let source = source.map(str::to_string).filter(|s| !s.trim().is_empty()).or_else(|| invite.source_host());
    let trunks: Vec<(&Trunk, &EndpointSip)> = s
        .trunks
        .iter()
        .filter(|t| t.tenant_uuid == tenant)
        .filter_map(|t| match &t.endpoint {
            Some(TrunkEndpoint::Sip(uuid)) => s.endpoint_sip(uuid).map(|e| (t, e)),
            _ => None,
        })
        .collect();
    let mut not_matched = Vec::new();
    let identified = by_ip(&trunks, source.as_deref(), &mut not_matched)
        .or_else(|| by_username(&trunks, invite, &mut not_matched))
        .or_else(|| by_header(&trunks, invite, &mut not_matched));
    let trunk = identified.as_ref().and_then(|i| trunks.iter().find(|(_, e)| e.name == i.endpoint)).map(|(t, _)| t.id);
    let numbers = NumberSource::ALL
        .iter()
        .map(|&from| {
            let number = from.number(invite);
            let trace = match (trunk, &number) {
                (Some(id), Some(n)) => Some(simulate::simulate(s, tenant, Caller::Trunk(id), n)),
                _ => None,
            };
            (from, number, trace)
        })
        .collect();
    InboundMatch { source, identified, not_matched, trunk, numbers }
}

fn identify_options<'e>(e: &'e EndpointSip, key: &'e str) -> impl Iterator<Item = &'e str> + 'e {
    e.sections.get(SipSectionKind::Identify).iter().filter(move |(k, _)| k.trim() == key).map(|(_, v)| v.trim())
}

fn by_ip(trunks: &[(&Trunk, &EndpointSip)], source: Option<&str>, not_matched: &mut Vec<String>) -> Option<Identified> {
    let source = source?;
    for (_, e) in trunks {
        for entry in identify_options(e, "match").flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()) {
            if address_matches(entry, source) {
                let how = if entry.parse::<IpAddr>().is_ok() || entry.contains('/') { "is in" } else { "is written as (Asterisk resolves it at load time)" };
                return Some(Identified { endpoint: e.name.clone(), method: "ip", why: format!("source {source} {how} `match = {entry}`") });
            }
            not_matched.push(format!("{}: source {source} is not `match = {entry}`", e.name));
        }
    }
    None
}

/// Whether `source` is `entry`: an address, a network (`/bits` or
/// `/netmask`), or a host name compared as written.
fn address_matches(entry: &str, source: &str) -> bool {
    let entry = entry.trim_start_matches('!');
    let Ok(source_ip) = host_of(source).parse::<IpAddr>() else {
        return entry.eq_ignore_ascii_case(source);
    };
    let (net, mask) = entry.split_once('/').map_or((entry, None), |(n, m)| (n, Some(m)));
    let Ok(net_ip) = host_of(net).parse::<IpAddr>() else {
        return host_of(entry).eq_ignore_ascii_case(&host_of(source));
    };
    match (source_ip, net_ip) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = match mask {
                None => 32,
                Some(m) => match (m.parse::<u32>(), m.parse::<std::net::Ipv4Addr>()) {
                    (Ok(b), _) if b <= 32 => b,
                    (_, Ok(netmask)) => u32::from(netmask).count_ones(),
                    _ => return false,
                },
            };
            let keep = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(a) & keep == u32::from(n) & keep
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = mask.map_or(Some(128), |m| m.parse::<u32>().ok().filter(|b| *b <= 128));
            let Some(bits) = bits else { return false };
            let keep = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(a) & keep == u128::from(n) & keep
        }
        _ => false,
    }
}

fn by_username(trunks: &[(&Trunk, &EndpointSip)], invite: &Invite, not_matched: &mut Vec<String>) -> Option<Identified> {
    let user = uri_user(invite.header("From")?)?;
    match trunks.iter().find(|(_, e)| e.name == user) {
        Some((_, e)) => Some(Identified { endpoint: e.name.clone(), method: "username", why: format!("the From user `{user}` is the endpoint's name") }),
        None => {
            not_matched.push(format!("no endpoint is named `{user}` (the From user)"));
            None
        }
    }
}

fn by_header(trunks: &[(&Trunk, &EndpointSip)], invite: &Invite, not_matched: &mut Vec<String>) -> Option<Identified> {
    for (_, e) in trunks {
        for rule in identify_options(e, "match_header") {
            let Some((name, wanted)) = rule.split_once(':') else { continue };
            let (name, wanted) = (name.trim(), wanted.trim());
            let got = invite.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
            if wanted.len() > 1 && wanted.starts_with('/') && wanted.ends_with('/') {
                not_matched.push(format!("{}: `match_header = {rule}` is a regular expression, not evaluated here", e.name));
            } else if got.contains(&wanted) {
                return Some(Identified { endpoint: e.name.clone(), method: "header", why: format!("the INVITE has `{name}: {wanted}` (`match_header`)") });
            } else {
                not_matched.push(format!("{}: no `{name}: {wanted}` header", e.name));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
