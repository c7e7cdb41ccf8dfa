use super::ids::UuidRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One `[key, value]` entry of a `*_section_options` list. Keys may repeat
/// (`match`, `set_var`...), so sections are lists, not maps.
pub type OptionPair = (String, String);

/// The seven option lists of a Wazo SIP endpoint or template. Each becomes at
/// most one Asterisk object (see `render::pjsip`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipSections {
    /// `type = aor`: contacts, qualify, registrar limits.
    #[serde(default)]
    pub aor_section_options: Vec<OptionPair>,
    /// `type = auth`: what the peer must present to us (inbound).
    #[serde(default)]
    pub auth_section_options: Vec<OptionPair>,
    /// `type = endpoint`.
    #[serde(default)]
    pub endpoint_section_options: Vec<OptionPair>,
    /// `type = identify`: inbound matching by IP or header.
    #[serde(default)]
    pub identify_section_options: Vec<OptionPair>,
    /// `type = registration`: outbound REGISTER.
    #[serde(default)]
    pub registration_section_options: Vec<OptionPair>,
    /// `type = auth` used by the registration.
    #[serde(default)]
    pub registration_outbound_auth_section_options: Vec<OptionPair>,
    /// `type = auth` used to answer challenges on outbound INVITEs.
    #[serde(default)]
    pub outbound_auth_section_options: Vec<OptionPair>,
}

/// Names one of the seven lists; used in field names of validation errors
/// and by the renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SipSectionKind {
    /// `aor_section_options`.
    Aor,
    /// `auth_section_options`.
    Auth,
    /// `endpoint_section_options`.
    Endpoint,
    /// `identify_section_options`.
    Identify,
    /// `registration_section_options`.
    Registration,
    /// `registration_outbound_auth_section_options`.
    RegistrationOutboundAuth,
    /// `outbound_auth_section_options`.
    OutboundAuth,
}

impl SipSectionKind {
    /// All seven, in the order Wazo writes a trunk's sections.
    pub const ALL: [SipSectionKind; 7] = [
        Self::Endpoint,
        Self::Aor,
        Self::Auth,
        Self::Identify,
        Self::OutboundAuth,
        Self::RegistrationOutboundAuth,
        Self::Registration,
    ];

    /// The JSON field name, e.g. `endpoint_section_options`.
    pub fn field_name(self) -> &'static str {
        match self {
            Self::Aor => "aor_section_options",
            Self::Auth => "auth_section_options",
            Self::Endpoint => "endpoint_section_options",
            Self::Identify => "identify_section_options",
            Self::Registration => "registration_section_options",
            Self::RegistrationOutboundAuth => "registration_outbound_auth_section_options",
            Self::OutboundAuth => "outbound_auth_section_options",
        }
    }
}

impl SipSections {
    /// The list for `kind`.
    pub fn get(&self, kind: SipSectionKind) -> &[OptionPair] {
        match kind {
            SipSectionKind::Aor => &self.aor_section_options,
            SipSectionKind::Auth => &self.auth_section_options,
            SipSectionKind::Endpoint => &self.endpoint_section_options,
            SipSectionKind::Identify => &self.identify_section_options,
            SipSectionKind::Registration => &self.registration_section_options,
            SipSectionKind::RegistrationOutboundAuth => {
                &self.registration_outbound_auth_section_options
            }
            SipSectionKind::OutboundAuth => &self.outbound_auth_section_options,
        }
    }

    /// The list for `kind`, mutably.
    pub fn get_mut(&mut self, kind: SipSectionKind) -> &mut Vec<OptionPair> {
        match kind {
            SipSectionKind::Aor => &mut self.aor_section_options,
            SipSectionKind::Auth => &mut self.auth_section_options,
            SipSectionKind::Endpoint => &mut self.endpoint_section_options,
            SipSectionKind::Identify => &mut self.identify_section_options,
            SipSectionKind::Registration => &mut self.registration_section_options,
            SipSectionKind::RegistrationOutboundAuth => {
                &mut self.registration_outbound_auth_section_options
            }
            SipSectionKind::OutboundAuth => &mut self.outbound_auth_section_options,
        }
    }

    /// Appends `key = value` to the list for `kind`.
    pub fn push(&mut self, kind: SipSectionKind, key: &str, value: impl Into<String>) {
        self.get_mut(kind).push((key.to_owned(), value.into()));
    }
}

/// A SIP endpoint (`/endpoints/sip`), PJSIP shape. Its `name` is the Asterisk
/// section name and the dial target (`PJSIP/<num>@<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSip {
    /// Uuid.
    pub uuid: String,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// Asterisk section name.
    pub name: String,
    /// Human name, written as a comment above the endpoint section.
    #[serde(default)]
    pub label: Option<String>,
    /// The seven option lists.
    #[serde(flatten)]
    pub sections: SipSections,
    /// Templates whose options are flattened in first, in this order.
    #[serde(default)]
    pub templates: Vec<UuidRef>,
    /// Transport object used by the endpoint.
    #[serde(default)]
    pub transport: Option<UuidRef>,
    /// Informational.
    #[serde(default)]
    pub asterisk_id: Option<String>,
}

/// A SIP template (`/endpoints/sip/templates`): the same shape as an
/// endpoint, never written to Asterisk on its own.
pub type SipTemplate = EndpointSip;

/// A PJSIP transport (`/sip/transports`), shared by all tenants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transport {
    /// Uuid.
    pub uuid: String,
    /// Section name (`transport-udp`).
    pub name: String,
    /// `type = transport` options.
    #[serde(default)]
    pub options: Vec<OptionPair>,
}

/// `/asterisk/pjsip/global` and `/asterisk/pjsip/system`: one section whose
/// keys are unique (a JSON object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PjsipSectionSettings {
    /// Option name → value, written in key order.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// The `[global]` section settings.
pub type PjsipGlobal = PjsipSectionSettings;
/// The `[system]` section settings.
pub type PjsipSystem = PjsipSectionSettings;
