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

/// An IAX registration (`/registers/iax`): the `register =>` line chan_iax2
/// sends, `[user[:secret]@]host[:port][/extension[?context]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterIax {
    /// User name to register as.
    #[serde(default)]
    pub auth_username: Option<String>,
    /// Its secret.
    #[serde(default)]
    pub auth_password: Option<String>,
    /// Where to register.
    pub remote_host: String,
    /// Port, 0 to 65535.
    #[serde(default)]
    pub remote_port: Option<u32>,
    /// Extension the peer calls back into.
    #[serde(default)]
    pub callback_extension: Option<String>,
    /// Context of that extension.
    #[serde(default)]
    pub callback_context: Option<String>,
    /// A disabled registration is not sent.
    #[serde(default = "super::default_true")]
    pub enabled: bool,
}

impl RegisterIax {
    /// The register string, as Wazo stores it (`var_val`).
    pub fn register_line(&self) -> String {
        let set = |v: &Option<String>| v.as_deref().filter(|v| !v.is_empty()).map(str::to_string);
        let mut line = String::new();
        if let Some(user) = set(&self.auth_username) {
            line.push_str(&user);
        }
        if let Some(secret) = set(&self.auth_password) {
            line.push(':');
            line.push_str(&secret);
        }
        if set(&self.auth_username).is_some() || set(&self.auth_password).is_some() {
            line.push('@');
        }
        line.push_str(&self.remote_host);
        if let Some(port) = self.remote_port.filter(|p| *p > 0) {
            line.push_str(&format!(":{port}"));
        }
        if let Some(extension) = set(&self.callback_extension) {
            line.push('/');
            line.push_str(&extension);
        }
        if let Some(context) = set(&self.callback_context) {
            line.push('?');
            line.push_str(&context);
        }
        line
    }
}
