use super::ids::IaxId;
use super::sip::OptionPair;
use serde::{Deserialize, Serialize};

/// An IAX endpoint (`/endpoints/iax`): one `iax.conf` section, dialled as
/// `IAX2/<name>/<number>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointIax {
    /// Integer id.
    pub id: IaxId,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// Section name and dial target.
    pub name: String,
    /// chan_iax2 peer type.
    #[serde(rename = "type", default)]
    pub kind: PeerType,
    /// `dynamic` or a host name / address.
    #[serde(default = "super::default_dynamic_host")]
    pub host: String,
    /// Extra `iax.conf` options, appended to the section in order.
    #[serde(default)]
    pub options: Vec<OptionPair>,
}


/// chan_sip / chan_iax2 peer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerType {
    /// Both directions.
    #[default]
    Friend,
    /// Outbound-oriented; inbound matched by address.
    Peer,
    /// Inbound only.
    User,
}

impl PeerType {
    /// The wire / config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Friend => "friend",
            Self::Peer => "peer",
            Self::User => "user",
        }
    }
}
