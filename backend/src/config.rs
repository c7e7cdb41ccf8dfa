//! `serve`'s settings: built-in defaults, then the config file
//! (`/etc/patchbay/patchbay.toml`), then `PATCHBAY_*` environment variables,
//! then command-line flags; each later layer wins key by key.
//!
//! [`resolve`] is pure (the file text, the environment and the flags come in
//! as values), so the precedence is unit-tested without touching the process.

pub use crate::store::Database;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where a packaged install keeps its configuration; missing is fine.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/patchbay/patchbay.toml";
/// Names another config file (which must then exist), like `--config`.
pub const CONFIG_ENV: &str = "PATCHBAY_CONFIG";

/// Every setting: its key in the file and its environment variable.
const KEYS: [(Key, &str, &str); 5] = [
    (Key::Listen, "listen", "PATCHBAY_LISTEN"),
    (Key::Db, "db", "PATCHBAY_DB"),
    (Key::Ami, "ami", "PATCHBAY_AMI"),
    (Key::Dist, "dist", "PATCHBAY_DIST"),
    (Key::LogFormat, "log_format", "PATCHBAY_LOG_FORMAT"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Listen,
    Db,
    Ami,
    Dist,
    LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// What `serve` runs with.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The database: an SQLite file (default) or a PostgreSQL URL.
    pub db: Database,
    /// The Asterisk to drive (`ami://USER:SECRET@HOST:PORT`), if any.
    pub ami: Option<String>,
    /// The built browser app (Trunk's output).
    pub dist: PathBuf,
    pub log_format: LogFormat,
}

// The AMI URL carries a secret: never printed.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("db", &self.db)
            .field("ami", &self.ami.as_ref().map(|_| "<set>"))
            .field("dist", &self.dist)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// One layer's values, as text, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    pub listen: Option<String>,
    pub db: Option<String>,
    pub ami: Option<String>,
    pub dist: Option<String>,
    pub log_format: Option<String>,
}

impl Layer {
    fn get(&self, key: Key) -> Option<&String> {
        match key {
            Key::Listen => self.listen.as_ref(),
            Key::Db => self.db.as_ref(),
            Key::Ami => self.ami.as_ref(),
            Key::Dist => self.dist.as_ref(),
            Key::LogFormat => self.log_format.as_ref(),
        }
    }

    fn slot(&mut self, key: Key) -> &mut Option<String> {
        match key {
            Key::Listen => &mut self.listen,
            Key::Db => &mut self.db,
            Key::Ami => &mut self.ami,
            Key::Dist => &mut self.dist,
            Key::LogFormat => &mut self.log_format,
        }
    }
}

/// A setting that cannot be used, named as the admin wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: `{key}` {message}")]
pub struct ConfigError {
    /// The file, `environment` or `command line`.
    pub origin: String,
    /// The file key, environment variable or flag.
    pub key: String,
    pub message: String,
}

/// The config file's text, read from `file` (`None`: no file to read).
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub text: String,
}

/// Reads the config file: `explicit` (from `--config` or `PATCHBAY_CONFIG`)
/// must exist; the default path may be absent.
pub fn read_config_file(explicit: Option<&Path>) -> Result<Option<ConfigFile>, ConfigError> {
    let (path, required) = match explicit {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(ConfigFile { path, text })),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(error) => Err(ConfigError {
            origin: path.display().to_string(),
            key: "config".into(),
            message: format!("cannot be read: {error}"),
        }),
    }
}

/// Parses the config file: every key known, every value a string.
pub fn parse_file(file: &ConfigFile) -> Result<Layer, ConfigError> {
    let origin = file.path.display().to_string();
    let table: toml::Table = file.text.parse().map_err(|error: toml::de::Error| ConfigError {
        origin: origin.clone(),
        key: error_key(&file.text, &error),
        message: format!("is not valid TOML: {}", error.message()),
    })?;
    let mut layer = Layer::default();
    for (name, value) in table {
        let Some((key, _, _)) = KEYS.iter().find(|(_, file_key, _)| *file_key == name) else {
            let known: Vec<&str> = KEYS.iter().map(|(_, file_key, _)| *file_key).collect();
            return Err(ConfigError { origin, key: name, message: format!("is not a setting (known: {})", known.join(", ")) });
        };
        let toml::Value::String(text) = value else {
            return Err(ConfigError { origin, key: name, message: format!("must be a string, not {}", value.type_str()) });
        };
        *layer.slot(*key) = Some(text);
    }
    Ok(layer)
}

/// The key on the line a TOML syntax error points at, or `config`.
fn error_key(text: &str, error: &toml::de::Error) -> String {
    error
        .span()
        .and_then(|span| {
            let line_start = text[..span.start.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
            let line = text[line_start..].lines().next()?;
            let key = line.split('=').next()?.trim();
            (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
        })
        .unwrap_or_else(|| "config".into())
}

/// The `PATCHBAY_*` variables `env` answers for.
pub fn env_layer(env: impl Fn(&str) -> Option<String>) -> Layer {
    let mut layer = Layer::default();
    for (key, _, variable) in KEYS {
        *layer.slot(key) = env(variable).filter(|value| !value.is_empty());
    }
    layer
}

/// Flags > environment > file > defaults, key by key; the winning value of
/// each key is validated and an error names where it came from.
pub fn resolve(file: Option<(&Path, &Layer)>, env: &Layer, flags: &Layer) -> Result<Settings, ConfigError> {
    let file_origin = file.map(|(path, _)| path.display().to_string()).unwrap_or_default();
    let empty = Layer::default();
    let file_layer = file.map_or(&empty, |(_, layer)| layer);
    // The winner of `key` and how to name it in an error.
    let pick = |key: Key| -> Option<(String, String, String)> {
        let (_, file_key, variable) = KEYS.iter().find(|(k, _, _)| *k == key).expect("every key is listed");
        let flag = format!("--{}", file_key.replace('_', "-"));
        if let Some(value) = flags.get(key) {
            return Some((value.clone(), "command line".into(), flag));
        }
        if let Some(value) = env.get(key) {
            return Some((value.clone(), "environment".into(), variable.to_string()));
        }
        file_layer.get(key).map(|value| (value.clone(), file_origin.clone(), file_key.to_string()))
    };
    let listen = match pick(Key::Listen) {
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        Some((value, origin, key)) => value.parse().map_err(|_| ConfigError {
            origin,
            key,
            message: format!("must be an address and port like 127.0.0.1:8080, not {value:?}"),
        })?,
    };
    let db = match pick(Key::Db) {
        None => Database::Sqlite(PathBuf::from("patchbay.db")),
        Some((value, origin, key)) => database(&value).map_err(|message| ConfigError { origin, key, message })?,
    };
    let ami = match pick(Key::Ami) {
        None => None,
        // Validated when the link starts (its error names --ami); only an
        // obviously wrong scheme is caught here, without echoing the secret.
        Some((value, origin, key)) if !value.starts_with("ami://") => {
            return Err(ConfigError { origin, key, message: "must be a URL like ami://USER:SECRET@HOST:5038".into() });
        }
        Some((value, _, _)) => Some(value),
    };
    let dist = pick(Key::Dist).map_or_else(|| PathBuf::from("dist"), |(value, _, _)| PathBuf::from(value));
    let log_format = match pick(Key::LogFormat) {
        None => LogFormat::Text,
        Some((value, origin, key)) => match value.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(ConfigError { origin, key, message: format!("must be \"text\" or \"json\", not {value:?}") }),
        },
    };
    Ok(Settings { listen, db, ami, dist, log_format })
}

/// A database given as a path or as an SQLite URL (`sqlite:///var/lib/patchbay/patchbay.db`,
/// `sqlite:patchbay.db`), or a PostgreSQL URL (`postgres://user:password@host/db`,
/// `postgresql://…`, `postgres:///db?host=/var/run/postgresql`).
pub fn database(value: &str) -> Result<Database, String> {
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        // Checked as the client reads it, without echoing a password.
        return match value.parse::<postgres::Config>() {
            Ok(_) => Ok(Database::Postgres(value.to_string())),
            Err(_) => Err("is not a PostgreSQL URL the client can read (postgres://USER:PASSWORD@HOST:PORT/DATABASE)".into()),
        };
    }
    let path = match value.strip_prefix("sqlite:") {
        Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
        None if value.contains("://") => return Err(format!("must be a file path, an sqlite: URL or a postgres:// URL, not {value:?}")),
        None => value,
    };
    if path.is_empty() {
        return Err("must name a database file".into());
    }
    Ok(Database::Sqlite(PathBuf::from(path)))
}

/// `serve`'s flags; each overrides the config file and the environment.
#[derive(Debug, Default, clap::Args)]
pub struct ServeFlags {
    /// SQLite database file (created if missing) or postgres:// URL [env: PATCHBAY_DB] [default: patchbay.db]
    #[arg(long)]
    pub db: Option<String>,
    /// Address and port to listen on [env: PATCHBAY_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<String>,
    /// The Asterisk to drive: ami://USER:SECRET@HOST:PORT [env: PATCHBAY_AMI]
    #[arg(long)]
    pub ami: Option<String>,
    /// The built browser app (Trunk's output) [env: PATCHBAY_DIST] [default: dist]
    #[arg(long)]
    pub dist: Option<String>,
    /// Log format: text or json [env: PATCHBAY_LOG_FORMAT] [default: text]
    #[arg(long)]
    pub log_format: Option<String>,
}

impl ServeFlags {
    pub fn layer(&self) -> Layer {
        Layer {
            listen: self.listen.clone(),
            db: self.db.clone(),
            ami: self.ami.clone(),
            dist: self.dist.clone(),
            log_format: self.log_format.clone(),
        }
    }
}

/// Everything `serve` needs from the process: the config file named by
/// `config_flag`, `PATCHBAY_CONFIG` or the default path, the environment,
/// and the flags given.
pub fn load(config_flag: Option<&Path>, flags: &Layer) -> Result<Settings, ConfigError> {
    let from_env = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
    let explicit = config_flag.map(Path::to_path_buf).or(from_env);
    let file = read_config_file(explicit.as_deref())?;
    let file_layer = file.as_ref().map(parse_file).transpose()?;
    let env = env_layer(|name| std::env::var(name).ok());
    resolve(file.as_ref().map(|f| f.path.as_path()).zip(file_layer.as_ref()), &env, flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Result<Layer, ConfigError> {
        parse_file(&ConfigFile { path: PathBuf::from("/etc/patchbay/patchbay.toml"), text: text.into() })
    }

    fn layer(listen: Option<&str>, db: Option<&str>, log_format: Option<&str>) -> Layer {
        Layer { listen: listen.map(Into::into), db: db.map(Into::into), log_format: log_format.map(Into::into), ..Layer::default() }
    }

    fn resolve_with(file_layer: &Layer, env: &Layer, flags: &Layer) -> Result<Settings, ConfigError> {
        resolve(Some((Path::new("/etc/patchbay/patchbay.toml"), file_layer)), env, flags)
    }

    #[test]
    fn nothing_given_means_the_defaults() {
        let settings = resolve(None, &Layer::default(), &Layer::default()).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(settings.db, Database::Sqlite(PathBuf::from("patchbay.db")));
        assert_eq!(settings.ami, None);
        assert_eq!(settings.dist, PathBuf::from("dist"));
        assert_eq!(settings.log_format, LogFormat::Text);
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults_key_by_key() {
        let file_layer = file(
            "listen = \"0.0.0.0:9000\"\ndb = \"/var/lib/patchbay/patchbay.db\"\nlog_format = \"json\"\nami = \"ami://u:s@10.0.0.1:5038\"\n",
        )
        .unwrap();
        let env = layer(Some("127.0.0.2:9001"), Some("/srv/env.db"), None);
        let flags = layer(Some("127.0.0.3:9002"), None, None);
        let settings = resolve_with(&file_layer, &env, &flags).unwrap();
        assert_eq!(settings.listen, "127.0.0.3:9002".parse().unwrap(), "flag wins over env and file");
        assert_eq!(settings.db, Database::Sqlite(PathBuf::from("/srv/env.db")), "env wins over file");
        assert_eq!(settings.log_format, LogFormat::Json, "file wins over default");
        assert_eq!(settings.ami.as_deref(), Some("ami://u:s@10.0.0.1:5038"));
        assert_eq!(settings.dist, PathBuf::from("dist"), "default when nobody sets it");
    }

    #[test]
    fn environment_is_read_by_variable_name_and_empty_means_unset() {
        let env = env_layer(|name| match name {
            "PATCHBAY_LISTEN" => Some("127.0.0.9:1".into()),
            "PATCHBAY_LOG_FORMAT" => Some("json".into()),
            "PATCHBAY_DB" => Some(String::new()),
            _ => None,
        });
        assert_eq!(env, layer(Some("127.0.0.9:1"), None, Some("json")));
        let settings = resolve_with(&file("db = \"from-file.db\"").unwrap(), &env, &Layer::default()).unwrap();
        assert_eq!(settings.db, Database::Sqlite(PathBuf::from("from-file.db")));
        assert_eq!(settings.log_format, LogFormat::Json);
    }

    #[test]
    fn a_bad_value_is_named_with_where_it_came_from() {
        let error = resolve_with(&file("listen = \"nowhere\"").unwrap(), &Layer::default(), &Layer::default()).unwrap_err();
        assert_eq!((error.origin.as_str(), error.key.as_str()), ("/etc/patchbay/patchbay.toml", "listen"));
        let error = resolve_with(&Layer::default(), &layer(None, None, Some("xml")), &Layer::default()).unwrap_err();
        assert_eq!((error.origin.as_str(), error.key.as_str()), ("environment", "PATCHBAY_LOG_FORMAT"));
        assert!(error.to_string().contains("\"text\" or \"json\""), "{error}");
        let error = resolve_with(&Layer::default(), &Layer::default(), &layer(Some("1.2.3.4"), None, None)).unwrap_err();
        assert_eq!((error.origin.as_str(), error.key.as_str()), ("command line", "--listen"));
        // A winning good value hides a bad one below it: only what is used is checked.
        assert!(resolve_with(&file("listen = \"nowhere\"").unwrap(), &Layer::default(), &layer(Some("127.0.0.1:1"), None, None)).is_ok());
    }

    #[test]
    fn an_ami_error_does_not_echo_the_secret() {
        let flags = Layer { ami: Some("http://admin:hunter2@pbx".into()), ..Layer::default() };
        let error = resolve(None, &Layer::default(), &flags).unwrap_err();
        assert_eq!(error.key, "--ami");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        let settings = resolve(None, &Layer::default(), &Layer { ami: Some("ami://a:hunter2@pbx:5038".into()), ..Layer::default() }).unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn the_database_may_be_an_sqlite_url() {
        let settings = resolve_with(&file("db = \"sqlite:///var/lib/patchbay/patchbay.db\"").unwrap(), &Layer::default(), &Layer::default()).unwrap();
        assert_eq!(settings.db, Database::Sqlite(PathBuf::from("/var/lib/patchbay/patchbay.db")));
        let error = resolve_with(&file("db = \"mysql://x/y\"").unwrap(), &Layer::default(), &Layer::default()).unwrap_err();
        assert_eq!(error.key, "db");
    }

    #[test]
    fn the_database_may_be_a_postgres_url_from_any_layer() {
        let url = "postgres://patchbay:secret@db.example:5432/patchbay";
        let settings = resolve_with(&file(&format!("db = \"{url}\"")).unwrap(), &Layer::default(), &Layer::default()).unwrap();
        assert_eq!(settings.db, Database::Postgres(url.into()));
        assert!(!format!("{settings:?}").contains("secret"), "the password is never printed");
        let env = layer(None, Some("postgresql:///patchbay?host=/var/run/postgresql"), None);
        assert_eq!(resolve_with(&Layer::default(), &env, &Layer::default()).unwrap().db, Database::Postgres("postgresql:///patchbay?host=/var/run/postgresql".into()));
        let flags = layer(None, Some("/srv/flag.db"), None);
        assert_eq!(resolve_with(&Layer::default(), &env, &flags).unwrap().db, Database::Sqlite(PathBuf::from("/srv/flag.db")), "the flag wins");
        let error = resolve_with(&Layer::default(), &layer(None, Some("postgres://u:p@host:notaport/db"), None), &Layer::default()).unwrap_err();
        assert_eq!(error.key, "PATCHBAY_DB");
        assert!(!error.to_string().contains(":p@"), "{error}");
    }

    #[test]
    fn file_errors_name_the_key() {
        let error = file("listen = 8080").unwrap_err();
        assert_eq!(error.key, "listen");
        assert!(error.message.contains("must be a string"), "{error}");
        let error = file("lisen = \"127.0.0.1:8080\"").unwrap_err();
        assert_eq!(error.key, "lisen");
        assert!(error.message.contains("not a setting"), "{error}");
        let error = file("db = \"unterminated\n").unwrap_err();
        assert_eq!(error.key, "db");
        assert!(error.message.contains("not valid TOML"), "{error}");
    }

    #[test]
    fn a_missing_default_file_is_fine_but_a_named_one_is_an_error() {
        let missing = std::env::temp_dir().join(format!("patchbay-no-such-config-{}.toml", std::process::id()));
        let error = read_config_file(Some(&missing)).unwrap_err();
        assert_eq!(error.key, "config");
        assert!(error.origin.contains("patchbay-no-such-config"), "{error}");
    }
}
