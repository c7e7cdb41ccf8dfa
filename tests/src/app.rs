//! A real `patchbay serve` process on a free loopback port, with its own
//! database, killed when dropped.

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "admin-test-password";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `target/debug/patchbay`, next to this test binary's `deps/` folder.
pub fn patchbay_binary() -> anyhow::Result<PathBuf> {
    // Another build to measure (bench programs), e.g. a previous release.
    if let Some(binary) = std::env::var_os("PATCHBAY_BINARY") {
        return Ok(PathBuf::from(binary));
    }
    let exe = std::env::current_exe()?;
    // A test binary is in target/<profile>/deps, a bench program in target/<profile>.
    let beside = exe.parent().context("no parent directory")?;
    let profile_dir = if beside.join("patchbay").exists() { beside } else { beside.parent().context("test binary is not in target/<profile>/deps")? };
    let binary = profile_dir.join("patchbay");
    if !binary.exists() {
        bail!("{} is missing: run `cargo build -p patchbay-backend --bin patchbay` first", binary.display());
    }
    Ok(binary)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

pub struct PatchbayServer {
    process: Child,
    pub base_url: String,
    pub db: PathBuf,
    http: reqwest::Client,
    _dir: TempDir,
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("patchbay-{label}-{}", uuid_like()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        if !self.0.as_os_str().is_empty() {
            test_postgres::drop_under(&self.0);
        }
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

pub use patchbay_backend::store::testing::on_postgres;

/// What a test server started on the database file `db` is given as
/// `--db`: the file, or under `PATCHBAY_TEST_DB=postgres` the URL of a
/// PostgreSQL database of its own, named after the file (created on first
/// use, so a restart on the same file finds the same data; dropped with the
/// temporary directory that holds the file).
pub fn database_arg(db: &Path) -> String {
    if on_postgres() { test_postgres::database_for(db) } else { db.to_string_lossy().into_owned() }
}

/// The PostgreSQL databases of this run's test servers, by the file each
/// stands for.
mod test_postgres {
    use patchbay_backend::store::testing;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    static CREATED: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());

    pub fn database_for(db: &Path) -> String {
        let mut created = CREATED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, name)) = created.iter().find(|(known, _)| known == db) {
            return testing::url_of(name);
        }
        let name = testing::unique_name("e2e");
        let url = testing::create_database(&name);
        created.push((db.to_path_buf(), name));
        url
    }

    /// Drops the databases of the files under `dir`.
    pub fn drop_under(dir: &Path) {
        let mut created = CREATED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        created.retain(|(db, name)| {
            if !db.starts_with(dir) {
                return true;
            }
            testing::drop_database(name);
            false
        });
    }
}

impl PatchbayServer {
    /// Starts a server on a fresh database, driving `ami` if given.
    pub async fn start(ami: Option<&str>) -> anyhow::Result<PatchbayServer> {
        Self::start_with_env(ami, &[]).await
    }

    /// Starts a server on a fresh database with extra environment variables.
    pub async fn start_with_env(ami: Option<&str>, env: &[(&str, &str)]) -> anyhow::Result<PatchbayServer> {
        let dir = TempDir::new("server");
        let db = dir.0.join("patchbay.db");
        Self::start_on_with_env(dir, db, ami, env).await
    }

    /// Starts (or restarts) a server on an existing database file.
    pub async fn start_on(dir: TempDir, db: PathBuf, ami: Option<&str>) -> anyhow::Result<PatchbayServer> {
        Self::launch(dir, db, ami, &[], Stdio::null(), Stdio::inherit(), "info").await
    }

    async fn start_on_with_env(dir: TempDir, db: PathBuf, ami: Option<&str>, env: &[(&str, &str)]) -> anyhow::Result<PatchbayServer> {
        Self::launch(dir, db, ami, env, Stdio::null(), Stdio::inherit(), "info").await
    }

    /// Starts another instance on `other`'s database (several Patchbays,
    /// `patchbay_backend::lease`), in a directory of its own.
    pub async fn start_beside(other: &PatchbayServer, ami: Option<&str>) -> anyhow::Result<PatchbayServer> {
        Self::start_on(TempDir::new("beside"), other.db.clone(), ami).await
    }

    /// Starts a server on a fresh database whose log (stdout and stderr, at debug
    /// level) goes to a file that [`log`](Self::log) reads.
    pub async fn start_logged(ami: Option<&str>) -> anyhow::Result<PatchbayServer> {
        let dir = TempDir::new("server");
        let db = dir.0.join("patchbay.db");
        let log = std::fs::File::create(dir.0.join("patchbay.log"))?;
        Self::launch(dir, db, ami, &[], Stdio::from(log.try_clone()?), Stdio::from(log), "debug").await
    }

    /// What the server logged, if started with [`start_logged`](Self::start_logged).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.0.join("patchbay.log")).unwrap_or_default()
    }

    async fn launch(dir: TempDir, db: PathBuf, ami: Option<&str>, env: &[(&str, &str)], stdout: Stdio, stderr: Stdio, log_level: &str) -> anyhow::Result<PatchbayServer> {
        let port = free_port();
        // `PATCHBAY_DIST` among `env` serves another build of the app (bench-portal).
        let dist = env.iter().find(|(key, _)| *key == "PATCHBAY_DIST").map_or_else(|| repo_root().join("dist"), |(_, dir)| PathBuf::from(dir));
        let mut command = Command::new(patchbay_binary()?);
        command
            .arg("serve")
            .arg("--db")
            .arg(database_arg(&db))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--dist")
            .arg(dist)
            .env("PATCHBAY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", log_level)
            .stdout(stdout)
            .stderr(stderr);
        if let Some(ami) = ami {
            command.arg("--ami").arg(ami);
        }
        command.envs(env.iter().copied());
        let process = command.spawn().context("start patchbay")?;
        let server = PatchbayServer {
            process,
            base_url: format!("http://127.0.0.1:{port}"),
            db,
            http: reqwest::Client::new(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if server.http.get(format!("{}/api/patchbay/1.0/status", server.base_url)).send().await.is_ok() {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("patchbay did not answer on {} within 20 s", server.base_url)
    }

    /// A token for `username` (the seeded admin has [`ADMIN_PASSWORD`]).
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/api/auth/0.1/token", self.base_url))
            .basic_auth(username, Some(password))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if status.as_u16() != 201 {
            bail!("login failed: {status} {body}");
        }
        Ok(body["data"]["token"].as_str().context("token in answer")?.to_string())
    }

    pub async fn admin_token(&self) -> anyhow::Result<String> {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// One API call: returns the HTTP status and the JSON body (`null` if empty).
    pub async fn call(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let method = Method::from_bytes(method.as_bytes())?;
        let mut request = self.http.request(method, format!("{}{}", self.base_url, path)).header("X-Auth-Token", token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok((status, body))
    }

    /// A call made for `tenant` (`Wazo-Tenant`; `None`: the caller's own
    /// tenant) that must succeed: its JSON body (`null` if empty) and the
    /// `Patchbay-Revision` it answered with (0 when absent).
    pub async fn call_for(&self, token: &str, tenant: Option<&str>, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<(Value, u64)> {
        let method = Method::from_bytes(method.as_bytes())?;
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base_url)).header("X-Auth-Token", token);
        if let Some(tenant) = tenant {
            request = request.header("Wazo-Tenant", tenant);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let revision = response.headers().get("patchbay-revision").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {text}");
        }
        Ok((if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? }, revision))
    }

    /// Like [`call`](Self::call) but fails unless the status is `expected`.
    pub async fn expect(&self, token: &str, method: &str, path: &str, body: Option<Value>, expected: u16) -> anyhow::Result<Value> {
        let (status, answer) = self.call(token, method, path, body).await?;
        if status != expected {
            bail!("{method} {path}: expected {expected}, got {status}: {answer}");
        }
        Ok(answer)
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// SIGKILL, as a crash would.
    pub fn kill(mut self) -> TempDir {
        let _ = self.process.kill();
        let _ = self.process.wait();
        std::mem::replace(&mut self._dir, TempDir(PathBuf::new()))
    }
}

impl Drop for PatchbayServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Polls `check` every 200 ms until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
