//! `ami://USER:SECRET@HOST:PORT`, the one string that says where Asterisk is.

use std::fmt;
use std::str::FromStr;

use super::error::AmiError;
use super::session::{Credentials, Secret};

const DEFAULT_PORT: u16 = 5038;

#[derive(Clone, PartialEq, Eq)]
pub struct AmiUrl {
    pub host: String,
    pub port: u16,
    pub credentials: Credentials,
}

impl FromStr for AmiUrl {
    type Err = AmiError;

    /// The secret is everything between the first `:` of the user part and the
    /// last `@`, so a secret may itself hold `:` or `@`.
    fn from_str(url: &str) -> Result<Self, AmiError> {
        let invalid = |why: &str| AmiError::InvalidUrl(why.to_owned());
        let rest = url
            .strip_prefix("ami://")
            .ok_or_else(|| invalid("must start with ami://"))?;
        let (user_info, address) = rest
            .rsplit_once('@')
            .ok_or_else(|| invalid("missing USER:SECRET@"))?;
        let (username, secret) = user_info
            .split_once(':')
            .ok_or_else(|| invalid("missing :SECRET after the user"))?;
        let address = address.trim_end_matches('/');
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse()
                    .map_err(|_| invalid("the port is not a number"))?,
            ),
            None => (address, DEFAULT_PORT),
        };
        if username.is_empty() || host.is_empty() {
            return Err(invalid("empty user or host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            credentials: Credentials {
                username: username.to_owned(),
                secret: Secret::new(secret),
            },
        })
    }
}

/// Shows the URL with the secret replaced, so it can be logged.
impl fmt::Display for AmiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ami://{}:***@{}:{}",
            self.credentials.username, self.host, self.port
        )
    }
}

impl fmt::Debug for AmiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_never_shows_the_secret() {
        let url: AmiUrl = "ami://patchbay:p@ss:word@127.0.0.1:15038".parse().unwrap();
        assert_eq!(url.host, "127.0.0.1");
        assert_eq!(url.port, 15038);
        assert_eq!(url.credentials.username, "patchbay");
        assert_eq!(url.credentials.secret.expose(), "p@ss:word");
        assert_eq!(url.to_string(), "ami://patchbay:***@127.0.0.1:15038");
        assert!(!format!("{url:?}").contains("word"));
    }

    #[test]
    fn default_port_and_errors() {
        let url: AmiUrl = "ami://u:s@localhost".parse().unwrap();
        assert_eq!(url.port, 5038);
        for bad in ["http://u:s@h", "ami://h:5038", "ami://u@h", "ami://u:s@h:x"] {
            assert!(bad.parse::<AmiUrl>().is_err(), "{bad}");
        }
    }
}
