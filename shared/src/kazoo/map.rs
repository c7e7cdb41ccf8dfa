//! A connectivity document onto the Wazo model (the one model): servers →
//! trunks with SIP endpoints, DIDs → extensions + incalls of
//! `type: trunk`. Pure: ids come from an [`Allocator`].

use super::schema::KazooError;
use super::*;
use crate::model::*;
use crate::render::{escape, outgoing_vars};
use serde_json::json;
use std::collections::BTreeMap;

/// Where the tenant's objects live.
#[derive(Debug, Clone, Copy)]
pub struct Tenancy<'a> {
    /// The owning tenant.
    pub tenant_uuid: &'a str,
    /// The tenant's incall context: the DIDs' extensions go here (carriers'
    /// trunks land in it).
    pub incall_context: &'a str,
    /// The tenant's outcall context: the servers' own calls land here, and
    /// `failover.e164` / `force_outbound` continue here (over the carriers).
    pub outbound_context: Option<&'a str>,
}

/// Fresh ids for the objects [`map()`] creates.
pub trait Allocator {
    /// A new trunk id.
    fn trunk_id(&mut self) -> TrunkId;
    /// A new extension id.
    fn extension_id(&mut self) -> ExtensionId;
    /// A new incall id.
    fn incall_id(&mut self) -> IncallId;
    /// A new SIP endpoint uuid.
    fn endpoint_uuid(&mut self) -> String;
}

/// What a document becomes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapped {
    /// One per server.
    pub trunks: Vec<Trunk>,
    /// One per server (the trunk's endpoint).
    pub endpoints_sip: Vec<EndpointSip>,
    /// One per DID, in the incall context.
    pub extensions: Vec<Extension>,
    /// One per DID.
    pub incalls: Vec<Incall>,
}

/// Which level of the document a caller ID came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerIdLevel {
    /// `servers[].DIDs.<calling number>.caller_id`.
    Did,
    /// `servers[].options.caller_id` (or `emergency_caller_id`).
    Server,
    /// `account.caller_id` (or `emergency_caller_id`).
    Account,
}

/// The caller ID a call **from** server `server` presents when it leaves over
/// the carriers, and the level it came from.
///
/// Precedence: **DID > server options > account**.
/// - DID: the `caller_id` of the server's DID equal to the calling number
///   (compared as E.164, so `4158867900`, `14158867900` and `+14158867900`
///   are one number);
/// - else the server's `options.caller_id`;
/// - else the account's `account.caller_id`.
///
/// A level counts when its object sets a name or a number, and it is taken
/// whole (a name is never mixed with another level's number).
/// For an `emergency` call, `emergency_caller_id` comes first, server before
/// account (DIDs have none), then the ordinary chain above.
///
/// Patchbay renders the server-level answer (`calling = None`) onto the
/// server's endpoint (the `PB_OUTCID_*` variables the outcall dialplan
/// applies); the DID level is resolved here and shown by the simulator.
pub fn caller_id<'a>(doc: &'a Connectivity, server: usize, calling: Option<&str>, emergency: bool) -> Option<(CallerIdLevel, &'a KazooCallerId)> {
    let srv = doc.servers.get(server)?;
    let account = doc.account.as_ref();
    let mut chain: Vec<(CallerIdLevel, Option<&'a KazooCallerId>)> = Vec::new();
    if emergency {
        chain.push((CallerIdLevel::Server, srv.options.emergency_caller_id.as_ref()));
        chain.push((CallerIdLevel::Account, account.and_then(|a| a.emergency_caller_id.as_ref())));
    }
    if let Some(calling) = calling.and_then(to_e164) {
        let did = srv.dids.iter().find(|(number, _)| to_e164(number).as_deref() == Some(calling.as_str()));
        chain.push((CallerIdLevel::Did, did.and_then(|(_, d)| d.caller_id.as_ref())));
    }
    chain.push((CallerIdLevel::Server, srv.options.caller_id.as_ref()));
    chain.push((CallerIdLevel::Account, account.and_then(|a| a.caller_id.as_ref())));
    chain.into_iter().find_map(|(level, cid)| cid.filter(|c| c.is_set()).map(|c| (level, c)))
}

/// The DID-level caller IDs of a server: a call from the server whose
/// calling number is one of its DIDs presents that DID's `caller_id` (Kazoo
/// precedence DID > server > account; the server's and the account's are
/// the endpoint's forced caller ID).
///
/// A NANP DID (`+1` and 10 digits) is also looked up by its 10 digits: a
/// server sending `4158867900` as the calling number means `+14158867900`
/// to Kazoo, which reads 10 digits as NANP (as [`to_e164`] does).
fn did_caller_ids(srv: &Server) -> Vec<NumberCallerId> {
    srv.dids
        .iter()
        .filter_map(|(number, did)| {
            let cid = did.caller_id.as_ref()?;
            let presented = cid.cid_number.as_deref().filter(|n| !n.is_empty())?;
            let calling = to_e164(number)?[1..].to_owned();
            let name = cid.cid_name.as_deref().filter(|n| !n.is_empty()).unwrap_or(presented);
            let ten_digits = calling.strip_prefix('1').filter(|rest| rest.len() == 10).map(str::to_owned);
            let entry = |calling| NumberCallerId { calling, name: name.to_owned(), number: presented.to_owned() };
            Some(std::iter::once(entry(calling)).chain(ten_digits.map(entry)))
        })
        .flatten()
        .collect()
}

/// `+` and digits: `4158867900` → `+14158867900` (10 digits are NANP),
/// `14158867900` → `+14158867900`, `+442071234567` unchanged.
fn to_e164(number: &str) -> Option<String> {
    let digits = number.strip_prefix('+').unwrap_or(number);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(if number.starts_with('+') {
        number.to_owned()
    } else if digits.len() == 10 {
        format!("+1{digits}")
    } else {
        format!("+{digits}")
    })
}

/// The DID as the server receives it: `e164` `+1NPANXXXXXX`, `npan`
/// `NPANXXXXXX`, `1npan` `1NPANXXXXXX`, `username` the server's
/// `auth_user`. Numbers outside the NANP have no NPA-NXX form: `npan` and
/// `1npan` give them in E.164 without the `+`, as Kazoo does.
pub fn inbound_number(format: InboundFormat, did: &str, auth_user: Option<&str>) -> Option<String> {
    let e164 = to_e164(did)?;
    let nanp = e164.strip_prefix("+1").filter(|n| n.len() == 10);
    Some(match format {
        InboundFormat::E164 => e164,
        InboundFormat::Npan => nanp.map(str::to_owned).unwrap_or_else(|| e164[1..].to_owned()),
        InboundFormat::OneNpan => nanp.map(|n| format!("1{n}")).unwrap_or_else(|| e164[1..].to_owned()),
        InboundFormat::Username => auth_user.filter(|u| !u.is_empty())?.to_owned(),
    })
}

fn positive(value: Option<i64>) -> Option<u32> {
    value.filter(|v| *v > 0).map(|v| v.min(u32::MAX as i64) as u32)
}

fn host_ok(host: &str) -> bool {
    (1..=253).contains(&host.len()) && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
}

struct Mapper<'a> {
    doc_id: &'a str,
    doc: &'a Connectivity,
    tenancy: Tenancy<'a>,
    errors: Vec<KazooError>,
    out: Mapped,
    seen_dids: BTreeMap<String, String>,
}

impl Mapper<'_> {
    fn error(&mut self, path: impl Into<String>, rule: &str, message: impl Into<String>, target: serde_json::Value) {
        self.errors.push(KazooError::new(path, rule, message, target));
    }

    fn server(&mut self, i: usize, srv: &Server, alloc: &mut dyn Allocator) {
        let path = format!("servers.{i}");
        let name = format!("kz-{}-{i}", self.doc_id);
        let mut sections = SipSections::default();
        let ip = srv.auth.ip.as_deref().or(srv.options.ip.as_deref()).filter(|ip| !ip.is_empty());
        let port = srv.auth.port.or(srv.options.port);
        if let Some(port) = port
            && !(1..=65535).contains(&port)
        {
            let at = if srv.auth.port.is_some() { format!("{path}.auth.port") } else { format!("{path}.options.port") };
            self.error(at, "range", "Port must be from 1 to 65535", json!([1, 65535]));
        }
        if let Some(ip) = ip
            && !host_ok(ip)
        {
            let at = if srv.auth.ip.is_some() { format!("{path}.auth.ip") } else { format!("{path}.options.ip") };
            self.error(at, "format", "Must be an IP address or a host name", json!("ip"));
        }
        match srv.auth.auth_method.unwrap_or_default() {
            AuthMethod::Password => {
                for (key, value) in [("auth_user", &srv.auth.auth_user), ("auth_password", &srv.auth.auth_password)] {
                    if value.is_none() {
                        self.error(format!("{path}.auth.{key}"), "required", "Field is required but missing (auth_method password)", json!(true));
                    }
                }
                sections.push(SipSectionKind::Auth, "username", srv.auth.auth_user.clone().unwrap_or_default());
                sections.push(SipSectionKind::Auth, "password", srv.auth.auth_password.clone().unwrap_or_default());
                sections.push(SipSectionKind::Aor, "max_contacts", "1");
                sections.push(SipSectionKind::Aor, "remove_existing", "yes");
            }
            AuthMethod::Ip => match ip {
                None => self.error(format!("{path}.auth.ip"), "required", "Field is required but missing (auth_method IP)", json!(true)),
                Some(ip) => sections.push(SipSectionKind::Identify, "match", ip),
            },
        }
        if let Some(ip) = ip {
            let contact = match port {
                Some(port) => format!("sip:{ip}:{port}"),
                None => format!("sip:{ip}"),
            };
            sections.push(SipSectionKind::Aor, "contact", contact);
        }
        sections.push(SipSectionKind::Endpoint, "disallow", "all");
        sections.push(SipSectionKind::Endpoint, "allow", "ulaw,alaw");
        let direct = if srv.options.media_handling == MediaHandling::Bypass { "yes" } else { "no" };
        sections.push(SipSectionKind::Endpoint, "direct_media", direct);
        if let Some((_, cid)) = caller_id(self.doc, i, None, false) {
            use outgoing_vars::*;
            let number = cid.cid_number.as_deref().filter(|n| !n.is_empty());
            let cid_name = cid.cid_name.as_deref().filter(|n| !n.is_empty()).or(number).unwrap_or_default();
            sections.push(SipSectionKind::Endpoint, "set_var", format!("{SET}=1"));
            sections.push(SipSectionKind::Endpoint, "set_var", format!("{NAME}={}", escape::dialplan_text(cid_name)));
            sections.push(SipSectionKind::Endpoint, "set_var", format!("{NUMBER}={}", escape::digits(number.unwrap_or_default())));
        }
        let uuid = alloc.endpoint_uuid();
        let label = srv.name.clone().unwrap_or_else(|| format!("server {i}"));
        self.out.endpoints_sip.push(EndpointSip {
            uuid: uuid.clone(),
            tenant_uuid: self.tenancy.tenant_uuid.to_owned(),
            name: name.clone(),
            label: Some(label.chars().filter(|c| !c.is_control()).take(128).collect()),
            sections,
            templates: vec![],
            transport: None,
            asterisk_id: None,
        });
        let trunk_id = alloc.trunk_id();
        self.out.trunks.push(Trunk {
            id: trunk_id,
            tenant_uuid: self.tenancy.tenant_uuid.to_owned(),
            context: self.tenancy.outbound_context.map(str::to_owned),
            twilio_incoming: false,
            outgoing_caller_id_format: CallerIdFormat::default(),
            endpoint: Some(TrunkEndpoint::Sip(uuid)),
            shared_with: Vec::new(),
            number_plan: None,
            caller_id_by_number: did_caller_ids(srv),
        });
        let headers = self.headers(&path, &srv.options.sip_headers);
        for (number, did) in &srv.dids {
            self.did(i, srv, trunk_id, number, did, &headers, alloc);
        }
    }

    fn headers(&mut self, path: &str, headers: &[serde_json::Map<String, serde_json::Value>]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (j, header) in headers.iter().enumerate() {
            for (name, value) in header {
                let at = format!("{path}.options.sip_headers.{j}.{name}");
                let Some(value) = value.as_str() else {
                    self.error(at, "type", "Value did not match type(s): string", json!("string"));
                    continue;
                };
                if !sip_header_name_ok(name) {
                    self.error(at, "format", "Header name must be 1 to 64 of A-Z a-z 0-9 - starting with a letter, and not a dialog header (Via, From, To, Call-ID...)", json!("^[A-Za-z][A-Za-z0-9-]{0,63}$"));
                } else if !sip_header_value_ok(value) {
                    self.error(at, "format", "Header value must be at most 256 of A-Z a-z 0-9 and  .'-_+/@:!?#*=<>", json!("^[A-Za-z0-9 .'_+/@:!?#*=<>-]{0,256}$"));
                } else {
                    out.push((name.clone(), value.to_owned()));
                }
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn did(&mut self, i: usize, srv: &Server, trunk_id: TrunkId, key: &str, did: &DidOptions, headers: &[(String, String)], alloc: &mut dyn Allocator) {
        let path = format!("servers.{i}.DIDs.{key}");
        let digits = key.strip_prefix('+').unwrap_or(key);
        if digits.is_empty() {
            self.error(&path, "minLength", "A DID needs at least one digit", json!(1));
            return;
        }
        if let Some(first) = self.seen_dids.insert(digits.to_owned(), path.clone()) {
            self.error(&path, "unique", format!("The DID is already routed by {first}"), json!(first));
            return;
        }
        let format = srv.options.inbound_format.unwrap_or_default();
        let Some(number) = inbound_number(format, key, srv.auth.auth_user.as_deref()) else {
            self.error(format!("servers.{i}.options.inbound_format"), "required", "inbound_format username needs auth.auth_user", json!("auth.auth_user"));
            return;
        };
        let e164_digits = to_e164(key).map(|n| n[1..].to_owned()).unwrap_or_default();
        let destination = if did.force_outbound || srv.options.force_outbound {
            match self.tenancy.outbound_context {
                Some(context) => Destination::Extension { exten: e164_digits.clone(), context: context.to_owned() },
                None => {
                    self.error(format!("{path}.force_outbound"), "context", "The tenant has no outcall context to send the call over the carriers", json!("outcall"));
                    return;
                }
            }
        } else {
            let failover = [did.failover.as_ref(), srv.options.failover.as_ref()].into_iter().flatten().find(|f| f.is_set());
            let failover_path = if did.failover.as_ref().is_some_and(Failover::is_set) { format!("{path}.failover") } else { format!("servers.{i}.options.failover") };
            let failover = match failover {
                None => None,
                Some(f) => self.failover(&failover_path, f),
            };
            let call_limit = self.doc.account.as_ref().and_then(|a| positive(a.trunks)).map(|max| CallLimit { group: format!("kz-{}", self.doc_id), max });
            Destination::Trunk(Box::new(TrunkDestination {
                trunk_id,
                number: Some(number.clone()),
                enabled: srv.options.enabled,
                delay: positive(Some(srv.options.delay)),
                timeout: positive(srv.options.timeout),
                progress_timeout: positive(srv.options.progress_timeout),
                sip_headers: headers.to_vec(),
                call_limit,
                failover,
            }))
        };
        let extension_id = alloc.extension_id();
        self.out.extensions.push(Extension {
            id: extension_id,
            tenant_uuid: self.tenancy.tenant_uuid.to_owned(),
            exten: digits.to_owned(),
            context: self.tenancy.incall_context.to_owned(),
            enabled: true,
        });
        let server_name: String = srv.name.as_deref().unwrap_or("unnamed").chars().filter(|c| !c.is_control()).take(128).collect();
        let format_name = serde_json::to_value(format).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        self.out.incalls.push(Incall {
            id: alloc.incall_id(),
            tenant_uuid: self.tenancy.tenant_uuid.to_owned(),
            destination,
            caller_id_mode: None,
            caller_id_name: None,
            extension_id: Some(extension_id),
            description: Some(format!(
                "Kazoo connectivity {}: DID {key} → server {i} ({server_name}) as `{number}` (inbound_format {format_name})",
                self.doc_id
            )),
        });
    }

    fn failover(&mut self, path: &str, f: &Failover) -> Option<TrunkFailover> {
        if let Some(e164) = f.e164.as_deref().filter(|e| !e.is_empty()) {
            if !super::schema::did_key_ok(e164) || e164.trim_start_matches('+').is_empty() {
                self.error(format!("{path}.e164"), "pattern", "Must be an E.164 number: ^\\+?\\d+$", json!("^\\+?\\d+$"));
                return None;
            }
            let Some(context) = self.tenancy.outbound_context else {
                self.error(format!("{path}.e164"), "context", "The tenant has no outcall context to dial the failover number", json!("outcall"));
                return None;
            };
            return Some(TrunkFailover::Extension { exten: e164.trim_start_matches('+').to_owned(), context: context.to_owned() });
        }
        let uri = f.sip.as_deref()?;
        if !TrunkFailover::uri_ok(uri) {
            self.error(format!("{path}.sip"), "format", "Must be a SIP URI sip:user@host[:port]", json!("sip:user@host"));
            return None;
        }
        Some(TrunkFailover::Sip { uri: uri.to_owned() })
    }
}

/// Maps document `doc_id` (its Kazoo id, also used in endpoint names and the
/// call-limit group) for `tenancy`. Errors name the key the schema allows
/// but Patchbay cannot realize (a DID without digits or routed twice, a
/// password server without credentials, an IP server without an IP, an
/// invalid failover or SIP header...).
pub fn map(doc_id: &str, doc: &Connectivity, tenancy: &Tenancy<'_>, alloc: &mut dyn Allocator) -> Result<Mapped, Vec<KazooError>> {
    let mut mapper = Mapper { doc_id, doc, tenancy: *tenancy, errors: vec![], out: Mapped::default(), seen_dids: BTreeMap::new() };
    for (i, srv) in doc.servers.iter().enumerate() {
        mapper.server(i, srv, alloc);
    }
    if mapper.errors.is_empty() { Ok(mapper.out) } else { Err(mapper.errors) }
}
