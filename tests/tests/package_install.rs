//! The Debian package, installed the way an admin installs it: `dpkg -i` in a
//! clean Debian root, then the service started as its unit says, then a login
//! and the browser app over HTTP.
//!
//! The root is `.cache/sid-root` (the one the Asterisk tests use) seen through
//! an overlay whose upper layer is a temporary directory, so every run starts
//! from the same clean system and leaves it untouched. Everything runs in a
//! private mount namespace (`unshare --mount`): the overlay and its `/proc`
//! and `/dev` vanish with the last process in it.
//!
//! systemd itself cannot run in a chroot, so the test does what systemd does
//! for this unit: it reads `[Service]` from the unit inside the package,
//! creates `StateDirectory=` for `User=`, and runs `ExecStart=` in
//! `WorkingDirectory=` as that user and group with `NoNewPrivileges` and only
//! the unit's `Environment=`. The only change, as a drop-in would make it, is
//! `--listen` on this test's own loopback address. Uses 127.0.0.210.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use patchbay_e2e::app::{TempDir, eventually, repo_root};

const LISTEN_IP: &str = "127.0.0.210";

/// Builds the package (incremental: cheap when nothing changed) and returns its path.
fn build_package() -> anyhow::Result<PathBuf> {
    let output = Command::new(repo_root().join("scripts/package.sh"))
        .stderr(Stdio::inherit())
        .output()
        .context("running scripts/package.sh")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(output.status.success(), "scripts/package.sh failed:\n{stdout}");
    let deb = stdout.lines().last().context("scripts/package.sh printed nothing")?;
    ensure!(deb.ends_with(".deb"), "scripts/package.sh's last line is not a .deb: {deb}");
    Ok(PathBuf::from(deb))
}

/// The unit's `[Service]` keys, each with its values in order.
fn service_section(unit: &str) -> BTreeMap<String, Vec<String>> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_service = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service && !line.starts_with('#') && !line.is_empty() {
            if let Some((key, value)) = line.split_once('=') {
                keys.entry(key.to_owned()).or_default().push(value.to_owned());
            }
        }
    }
    keys
}

fn one<'a>(service: &'a BTreeMap<String, Vec<String>>, key: &str) -> anyhow::Result<&'a str> {
    match service.get(key).map(Vec::as_slice) {
        Some([value]) => Ok(value),
        other => bail!("the unit should set {key}= once, has {other:?}"),
    }
}

fn file_in_package(deb: &Path, path: &str) -> anyhow::Result<String> {
    let script = r#"dpkg-deb --fsys-tarfile "$1" | tar -xOf - "$2""#;
    let output = Command::new("sh").args(["-c", script, "sh"]).arg(deb).arg(path).output()?;
    ensure!(output.status.success(), "{path} is not in {}: {}", deb.display(), String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8(output.stdout)?)
}

/// The installed system and the service in it; killing the service ends the
/// namespace and with it the overlay.
struct InstalledService {
    process: Child,
    log: PathBuf,
    merged: PathBuf,
    _dir: TempDir,
}

impl InstalledService {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs a command inside the installed root, in the service's namespace.
    fn run_inside(&self, command: &[&str]) -> anyhow::Result<String> {
        let output = Command::new("nsenter")
            .args(["--target", &self.process.id().to_string(), "--mount", "--", "chroot"])
            .arg(&self.merged)
            .args(command)
            .output()?;
        ensure!(output.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        Ok(String::from_utf8(output.stdout)?)
    }
}

impl Drop for InstalledService {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn install_and_start(deb: &Path, listen: &str) -> anyhow::Result<InstalledService> {
    let root = repo_root().join(".cache/sid-root");
    if !root.join("usr/sbin/asterisk").exists() {
        let status = Command::new(repo_root().join("scripts/asterisk-root.sh")).status()?;
        ensure!(status.success(), "scripts/asterisk-root.sh failed");
    }
    let unit = file_in_package(deb, "./lib/systemd/system/patchbay.service")?;
    let service = service_section(&unit);
    let user = one(&service, "User")?;
    let group = one(&service, "Group")?;
    let working_directory = one(&service, "WorkingDirectory")?;
    let state_directory = one(&service, "StateDirectory")?;
    let state_mode = one(&service, "StateDirectoryMode")?;
    let exec_start = one(&service, "ExecStart")?;
    ensure!(one(&service, "NoNewPrivileges")? == "yes", "the unit should set NoNewPrivileges=yes");
    ensure!(one(&service, "ProtectSystem")? == "strict", "the unit should set ProtectSystem=strict");
    // systemd's own variables for a system service, then the unit's.
    let mut environment = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin".to_owned(),
        format!("USER={user}"),
        format!("LOGNAME={user}"),
        format!("STATE_DIRECTORY=/var/lib/{state_directory}"),
    ];
    environment.extend(service.get("Environment").into_iter().flatten().cloned());

    let dir = TempDir::new("package-install");
    let (upper, work, merged) = (dir.0.join("upper"), dir.0.join("work"), dir.0.join("merged"));
    for d in [&upper, &work, &merged] {
        std::fs::create_dir_all(d)?;
    }
    let log = dir.0.join("service.log");
    let log_file = std::fs::File::create(&log)?;
    // $1 root, $2 upper, $3 work, $4 merged, $5 deb, $6 user, $7 group,
    // $8 state dir, $9 its mode, then `env`'s arguments.
    let script = r#"set -e
mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
mount -t proc proc "$4/proc"
mount --bind /dev "$4/dev"
cp "$5" "$4/tmp/patchbay.deb"
chroot "$4" dpkg -i /tmp/patchbay.deb
merged=$4 user=$6 group=$7 state=$8 mode=$9
shift 9
chroot "$merged" install -d -o "$user" -g "$group" -m "$mode" "/var/lib/$state"
exec chroot "$merged" setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs env -i "$@""#;
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c", script, "sh"])
        .args([&root, &upper, &work, &merged, deb])
        .args([user, group, state_directory, state_mode])
        .args(&environment)
        // `cd` as WorkingDirectory=, then ExecStart= plus the drop-in's --listen.
        .args(["sh", "-c", r#"cd "$0" && exec "$@""#, working_directory])
        .args(exec_start.split_whitespace())
        .args(["--listen", listen])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    let process = command.spawn().context("unshare/chroot (needs root)")?;
    Ok(InstalledService { process, log, merged, _dir: dir })
}

fn free_port_on(ip: &str) -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind((ip, 0))?.local_addr()?.port())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_package_installs_starts_as_its_unit_says_and_serves_the_embedded_app() -> anyhow::Result<()> {
    let deb = build_package()?;
    let listen = format!("{LISTEN_IP}:{}", free_port_on(LISTEN_IP)?);
    let service = install_and_start(&deb, &listen)?;
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();

    // The journal (here: the process's output) shows the admin's first password.
    let password = eventually("the service to print the admin password", Duration::from_secs(60), || async {
        let log = service.log();
        let password = log.split("with password: ").nth(1)?.split_whitespace().next()?.to_owned();
        http.get(format!("{base}/api/patchbay/1.0/status")).send().await.ok()?;
        Some(password)
    })
    .await
    .with_context(|| format!("service output:\n{}", service.log()))?;

    let login = http.post(format!("{base}/api/auth/0.1/token")).basic_auth("admin", Some(&password)).send().await?;
    assert_eq!(login.status().as_u16(), 201, "login with the printed password");
    let token: serde_json::Value = login.json().await?;
    assert!(token["data"]["token"].as_str().is_some_and(|t| !t.is_empty()), "{token}");

    // `/` is the browser app from inside the binary: the package ships no dist/.
    let page = http.get(format!("{base}/")).send().await?;
    assert_eq!(page.status().as_u16(), 200);
    let index = page.text().await?;
    assert!(index.contains("<title>Patchbay</title>"), "{index}");
    let wasm = index
        .split(['"', '\''])
        .find(|part| part.ends_with(".wasm"))
        .with_context(|| format!("index.html names no .wasm: {index}"))?
        .to_owned();
    let module = http.get(format!("{base}/{}", wasm.trim_start_matches('/'))).send().await?;
    assert_eq!(module.status().as_u16(), 200);
    assert_eq!(module.headers()["content-type"], "application/wasm");
    assert!(module.bytes().await?.starts_with(b"\0asm"), "{wasm} is WebAssembly");
    let gzipped = http.get(format!("{base}/{}", wasm.trim_start_matches('/'))).header("accept-encoding", "gzip").send().await?;
    assert_eq!(gzipped.headers()["content-encoding"], "gzip", "the embedded module's gzip copy");
    assert_eq!(gzipped.headers()["content-type"], "application/wasm");
    assert!(gzipped.bytes().await?.starts_with(&[0x1f, 0x8b]), "{wasm} gzipped");
    let client_route = http.get(format!("{base}/trunks")).send().await?.text().await?;
    assert_eq!(client_route, index, "client-side routes get the app");

    // Installed as Debian does it: the user, the conffile, the database in the state directory.
    let passwd = service.run_inside(&["getent", "passwd", "patchbay"])?;
    assert!(passwd.trim_end().ends_with(":/var/lib/patchbay:/usr/sbin/nologin"), "{passwd}");
    let conffiles = service.run_inside(&["dpkg-query", "-W", "-f=${Conffiles}", "patchbay"])?;
    assert!(conffiles.contains("/etc/patchbay/patchbay.toml"), "{conffiles}");
    let config_owner = service.run_inside(&["stat", "-c", "%U:%G %a", "/etc/patchbay/patchbay.toml"])?;
    assert_eq!(config_owner.trim(), "root:patchbay 640");
    let database = service.run_inside(&["stat", "-c", "%U %n", "/var/lib/patchbay/patchbay.db"])?;
    assert_eq!(database.trim(), "patchbay /var/lib/patchbay/patchbay.db");
    let version = service.run_inside(&["patchbay", "--version"])?;
    assert!(version.starts_with("patchbay "), "{version}");
    Ok(())
}
