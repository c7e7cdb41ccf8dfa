use super::*;
use crate::fixtures;
use crate::model::OptionPair;
use crate::simulate::RouteKind;

/// Seed 001's provider identified by network, plus the header-matched
/// trunk of the trunk kinds (`X-Dest-User: abc123`).
fn snapshot() -> Snapshot {
    let mut s = fixtures::seed_001();
    let provider = s.endpoints_sip.iter_mut().find(|e| e.name == "provider").unwrap();
    provider.sections.identify_section_options = vec![("match".to_string(), "203.0.113.0/24, 198.51.100.7".to_string()) as OptionPair];
    let kinds = fixtures::trunk_kinds();
    s.endpoints_sip.push(kinds.endpoints_sip.iter().find(|e| e.uuid == "ep-hdr").unwrap().clone());
    s.trunks.push(kinds.trunks.iter().find(|t| t.id.0 == 2).unwrap().clone());
    s
}

/// As `pjsip set logger on` prints a provider's INVITE (CRLF line ends).
const FROM_PROVIDER: &str = "INVITE sip:4185550100@192.0.2.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK776asdhds;received=203.0.113.10;rport=5060\r\n\
Max-Forwards: 70\r\n\
From: \"Caller\" <sip:5145550123@voip.provider.example.com>;tag=1928301774\r\n\
To: <sip:4185550100@192.0.2.1>\r\n\
Call-ID: a84b4c76e66710@pc33.provider.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:5145550123@10.0.0.5:5060>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\r\n";

#[test]
fn a_providers_invite_is_identified_by_network_and_reaches_the_did() {
    let s = snapshot();
    let invite = parse_invite(FROM_PROVIDER).unwrap();
    assert_eq!(invite.source_host().as_deref(), Some("203.0.113.10"), "Via received= wins over the sent-by host");
    let found = match_invite(&s, fixtures::T, &invite, None);
    let identified = found.identified.expect("identified");
    assert_eq!((identified.endpoint.as_str(), identified.method), ("provider", "ip"));
    assert!(identified.why.contains("203.0.113.0/24"), "{}", identified.why);
    assert_eq!(found.trunk, Some(crate::model::TrunkId(1)));
    let (from, number, trace) = &found.numbers[0];
    assert_eq!((*from, number.as_deref()), (NumberSource::RequestUri, Some("4185550100")));
    let trace = trace.as_ref().unwrap();
    assert_eq!(trace.kind, RouteKind::Incall);
    assert!(trace.destination.is_some(), "{trace:?}");
}

#[test]
fn a_request_uri_of_s_leaves_the_number_in_to_or_diversion() {
    let s = snapshot();
    let text = "INVITE sip:s@192.0.2.1 SIP/2.0\n\
v: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKx\n\
f: <sip:anonymous@anonymous.invalid>;tag=1\n\
t: <sip:+14185550100@192.0.2.1;user=phone>\n\
Diversion: <sip:4185550100@provider.example.com>;reason=unconditional\n\
P-Preferred-Identity: \"Front\" <tel:+15145550123>\n\
i: 1@x\n\
\n";
    let invite = parse_invite(text).unwrap();
    let found = match_invite(&s, fixtures::T, &invite, None);
    assert_eq!(found.identified.as_ref().map(|i| i.endpoint.as_str()), Some("provider"), "198.51.100.7 is listed");
    let by = |source: NumberSource| found.numbers.iter().find(|(f, _, _)| *f == source).unwrap().clone();
    let (_, number, trace) = by(NumberSource::RequestUri);
    assert_eq!(number.as_deref(), Some("s"));
    assert_eq!(trace.unwrap().kind, RouteKind::None, "no incall for `s`");
    let (_, number, trace) = by(NumberSource::Diversion);
    assert_eq!(number.as_deref(), Some("4185550100"));
    assert_eq!(trace.unwrap().kind, RouteKind::Incall);
    assert_eq!(by(NumberSource::To).1.as_deref(), Some("+14185550100"));
    assert_eq!(by(NumberSource::PPreferredIdentity).1.as_deref(), Some("+15145550123"));
}

#[test]
fn a_header_identifies_a_shared_provider_when_no_address_matches() {
    let s = snapshot();
    let text = "INVITE sip:4185550100@pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKy\r\n\
From: <sip:+15145550123@shared.example.com>;tag=9\r\n\
To: <sip:4185550100@pbx.example.com>\r\n\
X-Dest-User: abc123\r\n\
Subject: a folded\r\n  header line\r\n\r\n";
    let invite = parse_invite(text).unwrap();
    assert_eq!(invite.header("subject"), Some("a folded header line"));
    let found = match_invite(&s, fixtures::T, &invite, None);
    let identified = found.identified.expect("identified by header");
    assert_eq!((identified.endpoint.as_str(), identified.method), ("shared-provider", "header"));
    assert!(found.not_matched.iter().any(|m| m.contains("2001:db8::9") && m.contains("provider")), "{:?}", found.not_matched);
    // The source typed beside the INVITE wins over its Via.
    let found = match_invite(&s, fixtures::T, &invite, Some("203.0.113.200"));
    assert_eq!(found.identified.map(|i| i.endpoint), Some("provider".into()));
}

#[test]
fn nothing_identified_without_a_match_and_another_tenant_is_not_searched() {
    let s = snapshot();
    let invite = parse_invite("INVITE sip:1@h SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.99\nFrom: <sip:someone@h>\n\n").unwrap();
    let found = match_invite(&s, fixtures::T, &invite, None);
    assert_eq!(found.identified, None);
    assert!(found.numbers.iter().all(|(_, _, trace)| trace.is_none()));
    let found = match_invite(&s, "another-tenant", &parse_invite(FROM_PROVIDER).unwrap(), None);
    assert_eq!(found.identified, None, "another tenant's trunks are not searched");
}

#[test]
fn malformed_input_is_refused_in_words() {
    assert!(parse_invite("REGISTER sip:h SIP/2.0\n").unwrap_err().contains("REGISTER"));
    assert!(parse_invite("INVITE sip:h\n").is_err());
    assert!(parse_invite("INVITE sip:1@h SIP/2.0\nno colon here\n").unwrap_err().contains("no colon here"));
}

#[test]
fn addresses_networks_and_names() {
    assert!(address_matches("203.0.113.0/255.255.255.0", "203.0.113.77"));
    assert!(!address_matches("203.0.113.0/25", "203.0.113.200"));
    assert!(address_matches("2001:db8::/32", "2001:db8::9"));
    assert!(address_matches("voip.provider.example.com", "voip.provider.example.com"));
    assert!(!address_matches("192.0.2.1", "2001:db8::1"));
    assert_eq!(uri_user("\"A\" <sips:alice@h:5061;transport=tls>;tag=x").as_deref(), Some("alice"));
    assert_eq!(uri_user("tel:+15145550123;phone-context=x").as_deref(), Some("+15145550123"));
}
