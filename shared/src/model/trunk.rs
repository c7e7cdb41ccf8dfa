use super::ids::{CustomId, IaxId, IdRef, TrunkId, UuidRef};
use crate::numbers::NumberPlan;
use serde::{Deserialize, Serialize};

/// A trunk (`/trunks`): the link to a provider or another PBX. It has no name
/// of its own; the attached endpoint gives it one.
///
/// On the wire the endpoint is three nullable keys (`endpoint_sip`,
/// `endpoint_iax`, `endpoint_custom`) as in Wazo; here it is one
/// [`TrunkEndpoint`], so "one endpoint per trunk" holds by construction. A
/// document naming two endpoints fails to deserialize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TrunkWire", into = "TrunkWire")]
pub struct Trunk {
    /// Integer id.
    pub id: TrunkId,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// Name of the context inbound calls land in (the endpoint's `context`).
    pub context: Option<String>,
    /// Twilio-specific flag, kept for API compatibility.
    pub twilio_incoming: bool,
    /// How a per-call selected caller ID is formatted for this trunk.
    pub outgoing_caller_id_format: CallerIdFormat,
    /// The attached endpoint, if any.
    pub endpoint: Option<TrunkEndpoint>,
    /// Other tenants whose outcalls and incalls may dial this trunk (a
    /// Patchbay extension of the Wazo document, set by the master admin on
    /// its own SIP or IAX trunks). See [`crate::tenancy::trunk_usable_by`].
    pub shared_with: Vec<String>,
    /// How numbers are written on this trunk (a Patchbay extension of the
    /// Wazo document): called numbers and caller IDs converted on the way
    /// out, DIDs normalised on the way in. `None`: numbers pass untouched.
    pub number_plan: Option<NumberPlan>,
    /// Caller IDs for calls *from* this trunk's endpoint, chosen by the
    /// calling number (Kazoo's DID-level `caller_id`); they beat the
    /// endpoint's own forced caller ID. Filled by the Kazoo mapping.
    pub caller_id_by_number: Vec<NumberCallerId>,
}

/// One caller ID of [`Trunk::caller_id_by_number`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberCallerId {
    /// The calling number it applies to, E.164 digits (no `+`).
    pub calling: String,
    /// The name presented.
    pub name: String,
    /// The number presented.
    pub number: String,
}

/// What a trunk dials through.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrunkEndpoint {
    /// A PJSIP endpoint, by uuid.
    Sip(String),
    /// An `iax.conf` peer, by id.
    Iax(IaxId),
    /// A custom interface (`Local`, `DAHDI/g1`...), by id.
    Custom(CustomId),
}

/// `outgoing_caller_id_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CallerIdFormat {
    /// `+33123456789`.
    #[default]
    #[serde(rename = "+E164")]
    PlusE164,
    /// `33123456789`.
    #[serde(rename = "E164")]
    E164,
    /// `0123456789`.
    #[serde(rename = "national")]
    National,
}

#[derive(Serialize, Deserialize)]
struct TrunkWire {
    id: TrunkId,
    tenant_uuid: String,
    #[serde(default)]
    context: Option<String>,
    #[serde(default, deserialize_with = "null_as_false")]
    twilio_incoming: bool,
    #[serde(default)]
    outgoing_caller_id_format: CallerIdFormat,
    #[serde(default)]
    endpoint_sip: Option<UuidRef>,
    #[serde(default)]
    endpoint_iax: Option<IdRef<IaxId>>,
    #[serde(default)]
    endpoint_custom: Option<IdRef<CustomId>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_empty")]
    shared_with: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    number_plan: Option<NumberPlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    caller_id_by_number: Vec<NumberCallerId>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Wazo documents `twilio_incoming` as "bool/null, default false".
fn null_as_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

impl TryFrom<TrunkWire> for Trunk {
    type Error = String;

    fn try_from(wire: TrunkWire) -> Result<Self, Self::Error> {
        let endpoint = match (wire.endpoint_sip, wire.endpoint_iax, wire.endpoint_custom) {
            (None, None, None) => None,
            (Some(sip), None, None) => Some(TrunkEndpoint::Sip(sip.uuid)),
            (None, Some(iax), None) => Some(TrunkEndpoint::Iax(iax.id)),
            (None, None, Some(custom)) => Some(TrunkEndpoint::Custom(custom.id)),
            _ => return Err("a trunk has at most one endpoint (sip, iax or custom)".into()),
        };
        Ok(Self {
            id: wire.id,
            tenant_uuid: wire.tenant_uuid,
            context: wire.context,
            twilio_incoming: wire.twilio_incoming,
            outgoing_caller_id_format: wire.outgoing_caller_id_format,
            endpoint,
            shared_with: wire.shared_with,
            number_plan: wire.number_plan,
            caller_id_by_number: wire.caller_id_by_number,
        })
    }
}

impl From<Trunk> for TrunkWire {
    fn from(trunk: Trunk) -> Self {
        let (mut endpoint_sip, mut endpoint_iax, mut endpoint_custom) = (None, None, None);
        match trunk.endpoint {
            Some(TrunkEndpoint::Sip(uuid)) => endpoint_sip = Some(UuidRef { uuid }),
            Some(TrunkEndpoint::Iax(id)) => endpoint_iax = Some(IdRef { id }),
            Some(TrunkEndpoint::Custom(id)) => endpoint_custom = Some(IdRef { id }),
            None => {}
        }
        Self {
            id: trunk.id,
            tenant_uuid: trunk.tenant_uuid,
            context: trunk.context,
            twilio_incoming: trunk.twilio_incoming,
            outgoing_caller_id_format: trunk.outgoing_caller_id_format,
            endpoint_sip,
            endpoint_iax,
            endpoint_custom,
            shared_with: trunk.shared_with,
            number_plan: trunk.number_plan,
            caller_id_by_number: trunk.caller_id_by_number,
        }
    }
}
