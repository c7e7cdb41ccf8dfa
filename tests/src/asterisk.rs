//! Real Asterisk 22 instances for tests, in the Debian sid root at
//! `.cache/sid-root` (provisioned by `scripts/asterisk-root.sh`).
//!
//! Each instance has its own `-C /etc/patchbay-<name>/asterisk.conf` whose
//! directories are its own, its own SIP/IAX address (127.0.0.N) and AMI port,
//! so several run side by side in the one root. Everything binds to loopback.
//!
//! Asterisk runs in a private mount namespace (`unshare --mount`) where `/proc`
//! and `/dev` are mounted into the root: the mounts live exactly as long as
//! that instance, are invisible to the host and to the other instances, and
//! need no reference counting. `unshare`, `sh` and `chroot` each `exec` the
//! next, so the child's PID is Asterisk's and killing it ends everything.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use patchbay_backend::ami::{AmiClient, AmiUrl, ClientOptions};

const AMI_USER: &str = "patchbay";
const AMI_SECRET: &str = "patchbay-test-secret";
/// The `ari.conf` user of an instance started [`with_ari`](AsteriskInstance::start_with_ari).
pub const ARI_USER: &str = "patchbay";
pub const ARI_SECRET: &str = "patchbay-ari-test-secret";
/// The HTTP port ARI listens on, on the instance's SIP address.
const ARI_PORT: u16 = 8088;
/// Long enough for a boot on the files of 1,000 tenants on a loaded machine.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

/// A running Asterisk, killed (by PID) and reaped when dropped.
#[derive(Debug)]
pub struct AsteriskInstance {
    name: String,
    sip_ip: Ipv4Addr,
    ami_port: u16,
    process: Child,
    config_dir: PathBuf,
    console_log: PathBuf,
    boot_time: Duration,
}

impl AsteriskInstance {
    /// Writes the instance's configuration (wiping any previous state under
    /// that name), starts Asterisk and waits until it is fully booted.
    /// `sip_ip` must be a 127.0.0.0/8 address; SIP binds `sip_ip:5060`, IAX
    /// `sip_ip:4569`, AMI `127.0.0.1:ami_port`.
    pub async fn start(name: &str, sip_ip: &str, ami_port: u16) -> anyhow::Result<Self> {
        Self::start_as(name, sip_ip, ami_port, false).await
    }

    /// As [`start`](Self::start), plus ARI on `http://SIP_IP:8088`
    /// ([`ARI_USER`]) and a `sorcery.conf` that puts a memory wizard after
    /// the config one for the PJSIP objects Patchbay pushes (the README's
    /// lines for a node with ARI access).
    pub async fn start_with_ari(name: &str, sip_ip: &str, ami_port: u16) -> anyhow::Result<Self> {
        Self::start_as(name, sip_ip, ami_port, true).await
    }

    async fn start_as(name: &str, sip_ip: &str, ami_port: u16, ari: bool) -> anyhow::Result<Self> {
        let sip_ip: Ipv4Addr = sip_ip.parse().context("sip_ip must be an IPv4 address")?;
        ensure!(sip_ip.is_loopback(), "{sip_ip} is not a loopback address");
        ensure!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "instance name {name:?} must be letters, digits and '-'"
        );
        let root = ensure_root()?;
        let layout = InstanceLayout::new(name);
        stop_leftover(&root, &layout);
        // Another process on the port would answer our AMI polls instead.
        std::net::TcpListener::bind(("127.0.0.1", ami_port))
            .with_context(|| format!("AMI port {ami_port} is already in use"))?;
        layout.write(&root, sip_ip, ami_port, ari)?;

        let console_log = layout.host_path(&root, &layout.var_dir).join("console.log");
        let started = Instant::now();
        let process = spawn_asterisk(&root, &layout, &console_log)?;
        let mut instance = Self {
            name: name.to_owned(),
            sip_ip,
            ami_port,
            process,
            config_dir: layout.host_path(&root, &layout.etc_dir),
            console_log,
            boot_time: Duration::ZERO,
        };
        instance.wait_fully_booted().await?;
        instance.boot_time = started.elapsed();
        Ok(instance)
    }

    /// Kills Asterisk (SIGKILL, as a crash would) and reaps it; its files
    /// stay. [`start_again`](Self::start_again) boots it on them.
    pub fn kill(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }

    /// Starts the instance again on the files it had (Patchbay's included):
    /// a restart, not a fresh instance.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        self.kill();
        let root = ensure_root()?;
        let layout = InstanceLayout::new(&self.name);
        self.process = spawn_asterisk(&root, &layout, &self.console_log)?;
        self.wait_fully_booted().await
    }

    async fn wait_fully_booted(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        // Poll the port cheaply first: the client's reconnect back-off starts at
        // a second, far longer than the usual wait.
        while tokio::net::TcpStream::connect(("127.0.0.1", self.ami_port))
            .await
            .is_err()
        {
            if let Some(status) = self.process.try_wait()? {
                bail!(
                    "Asterisk {} exited ({status}) while booting:\n{}",
                    self.name,
                    self.console_tail()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "Asterisk {} never opened AMI port {}:\n{}",
                    self.name,
                    self.ami_port,
                    self.console_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // AMI is up before every module is loaded; this CLI command returns
        // once Asterisk is fully booted, which takes longer than an action's
        // usual 10 s on its files of 1,000 tenants.
        let mut options = ClientOptions::default();
        options.timers.action_timeout = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(10));
        let client = AmiClient::connect(self.ami_url().parse()?, options).await?;
        client.command("core waitfullybooted").await?;
        Ok(())
    }

    /// ARI's base URL (`http://SIP_IP:8088`), for an instance started
    /// [`with_ari`](Self::start_with_ari).
    pub fn ari_url(&self) -> String {
        format!("http://{}:{ARI_PORT}", self.sip_ip)
    }

    /// `ami://patchbay:SECRET@127.0.0.1:PORT`.
    pub fn ami_url(&self) -> String {
        Self::ami_url_for(self.ami_port)
    }

    /// The AMI URL an instance on `ami_port` will answer on, for a Patchbay
    /// started before its Asterisk.
    pub fn ami_url_for(ami_port: u16) -> String {
        format!("ami://{AMI_USER}:{AMI_SECRET}@127.0.0.1:{ami_port}")
    }

    /// A new AMI client logged in to this instance.
    pub async fn connect_ami(&self) -> anyhow::Result<AmiClient> {
        let url: AmiUrl = self.ami_url().parse()?;
        Ok(AmiClient::connect(url, ClientOptions::default()).await?)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn sip_ip(&self) -> Ipv4Addr {
        self.sip_ip
    }

    pub fn ami_port(&self) -> u16 {
        self.ami_port
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// The instance's config directory as seen from the host.
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// From `start` to fully booted.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// The last lines Asterisk printed, for failure messages.
    pub fn console_tail(&self) -> String {
        let text = fs::read_to_string(&self.console_log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for AsteriskInstance {
    fn drop(&mut self) {
        // Already gone (crashed) is fine; either way reap it.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Asterisk in its own mount namespace, chrooted into `root`, its console
/// appended to `console_log`.
fn spawn_asterisk(root: &Path, layout: &InstanceLayout, console_log: &Path) -> anyhow::Result<Child> {
    let log = fs::OpenOptions::new().create(true).append(true).open(console_log)?;
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t proc proc "$1/proc" && mount --bind /dev "$1/dev" && exec chroot "$1" asterisk -f -n -C "$2""#)
        .arg("sh")
        .arg(root)
        .arg(layout.asterisk_conf())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting unshare/chroot/asterisk (needs root)")
}

/// The sid root, provisioned on first use.
fn ensure_root() -> anyhow::Result<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repo");
    let root = repo.join(".cache/sid-root");
    if !root.join("usr/sbin/asterisk").exists() {
        let status = Command::new(repo.join("scripts/asterisk-root.sh")).status()?;
        ensure!(status.success(), "scripts/asterisk-root.sh failed");
    }
    Ok(root)
}

/// An Asterisk left by a test run that was killed before its Drop ran would
/// hold the ports; stop it by the PID it recorded.
fn stop_leftover(root: &Path, layout: &InstanceLayout) {
    let pid_file = layout
        .host_path(root, &layout.run_dir())
        .join("asterisk.pid");
    let Ok(pid) = fs::read_to_string(pid_file) else {
        return;
    };
    let pid = pid.trim();
    let is_asterisk =
        fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "asterisk");
    if is_asterisk {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
        let gone_by = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < gone_by {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Where an instance's files live, as paths inside the root.
struct InstanceLayout {
    /// Holds asterisk.conf, and `etc/` with the module configs.
    base_dir: String,
    etc_dir: String,
    /// db, run, log, spool, cache, and the console log.
    var_dir: String,
}

impl InstanceLayout {
    fn new(name: &str) -> Self {
        let base_dir = format!("/etc/patchbay-{name}");
        Self {
            etc_dir: format!("{base_dir}/etc"),
            base_dir,
            var_dir: format!("/var/lib/patchbay-{name}"),
        }
    }

    fn asterisk_conf(&self) -> String {
        format!("{}/asterisk.conf", self.base_dir)
    }

    fn run_dir(&self) -> String {
        format!("{}/run", self.var_dir)
    }

    fn host_path(&self, root: &Path, inside: &str) -> PathBuf {
        root.join(inside.trim_start_matches('/'))
    }

    /// Recreates the instance's directories and config files from scratch.
    fn write(&self, root: &Path, sip_ip: Ipv4Addr, ami_port: u16, ari: bool) -> anyhow::Result<()> {
        for dir in [&self.base_dir, &self.var_dir] {
            let host_dir = self.host_path(root, dir);
            if host_dir.exists() {
                fs::remove_dir_all(&host_dir)?;
            }
        }
        let etc = self.host_path(root, &self.etc_dir);
        fs::create_dir_all(&etc)?;
        for sub in ["db", "run", "log", "spool", "cache"] {
            fs::create_dir_all(self.host_path(root, &format!("{}/{sub}", self.var_dir)))?;
        }
        fs::write(
            self.host_path(root, &self.asterisk_conf()),
            self.asterisk_conf_text(),
        )?;
        let modules = if ari { format!("{MODULES_CONF}{ARI_MODULES}") } else { MODULES_CONF.to_owned() };
        let mut files = vec![
            ("modules.conf", modules),
            ("logger.conf", LOGGER_CONF.to_owned()),
            ("cdr.conf", "[general]\nenable = no\n".to_owned()),
            ("manager.conf", manager_conf(ami_port)),
            ("pjsip.conf", pjsip_conf(sip_ip)),
            ("extensions.conf", EXTENSIONS_CONF.to_owned()),
            ("iax.conf", iax_conf(sip_ip)),
        ];
        if ari {
            files.push(("http.conf", format!("[general]\nenabled = yes\nbindaddr = {sip_ip}\nbindport = {ARI_PORT}\n")));
            files.push(("ari.conf", format!("[general]\nenabled = yes\n[{ARI_USER}]\ntype = user\nread_only = no\npassword = {ARI_SECRET}\n")));
            files.push(("sorcery.conf", SORCERY_CONF.to_owned()));
        }
        for (file, text) in files {
            fs::write(etc.join(file), text)?;
        }
        Ok(())
    }

    fn asterisk_conf_text(&self) -> String {
        let var = &self.var_dir;
        format!(
            "[directories]\n\
             astetcdir => {etc}\n\
             astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules\n\
             astvarlibdir => /var/lib/asterisk\n\
             astdatadir => /usr/share/asterisk\n\
             astagidir => /usr/share/asterisk/agi-bin\n\
             astsbindir => /usr/sbin\n\
             astdbdir => {var}/db\n\
             astkeydir => {var}/db\n\
             astspooldir => {var}/spool\n\
             astrundir => {var}/run\n\
             astlogdir => {var}/log\n\
             astcachedir => {var}/cache\n\
             [options]\n",
            etc = self.etc_dir,
        )
    }
}

/// An explicit list keeps the boot around a second and binds nothing
/// unexpected; the loader pulls in what these depend on.
const MODULES_CONF: &str = "\
[modules]
autoload = no
load = res_sorcery_config.so
load = res_sorcery_memory.so
load = res_sorcery_astdb.so
load = res_timing_timerfd.so
load = res_pjproject.so
load = res_pjsip.so
load = res_pjsip_session.so
load = res_pjsip_pubsub.so
load = res_pjsip_sdp_rtp.so
load = res_pjsip_caller_id.so
load = res_pjsip_outbound_registration.so
load = res_pjsip_outbound_authenticator_digest.so
load = res_pjsip_authenticator_digest.so
load = res_pjsip_endpoint_identifier_ip.so
load = res_pjsip_endpoint_identifier_user.so
load = res_pjsip_endpoint_identifier_anonymous.so
load = res_pjsip_registrar.so
load = res_pjsip_header_funcs.so
load = chan_pjsip.so
load = chan_iax2.so
load = res_rtp_asterisk.so
load = codec_ulaw.so
load = codec_alaw.so
load = bridge_simple.so
load = bridge_native_rtp.so
load = pbx_config.so
load = app_dial.so
load = app_stack.so
load = app_echo.so
load = app_verbose.so
load = func_callerid.so
load = func_strings.so
load = func_cut.so
load = func_logic.so
load = func_channel.so
load = func_global.so
load = func_groupcount.so
load = func_hangupcause.so
load = func_dialplan.so
load = res_pjsip_maintenance.so
load = res_pjsip_history.so
";

/// ARI's dynamic configuration (res_ari_asterisk) and what it needs.
const ARI_MODULES: &str = "\
load = res_http_websocket.so
load = res_websocket_client.so
load = res_stasis.so
load = res_ari.so
load = res_ari_model.so
load = res_ari_asterisk.so
";

/// Files first, then memory, for each type Patchbay pushes.
const SORCERY_CONF: &str = "\
[res_pjsip]
endpoint = config,pjsip.conf,criteria=type=endpoint
endpoint = memory
aor = config,pjsip.conf,criteria=type=aor
aor = memory
auth = config,pjsip.conf,criteria=type=auth
auth = memory
[res_pjsip_endpoint_identifier_ip]
identify = config,pjsip.conf,criteria=type=identify
identify = memory
[res_pjsip_outbound_registration]
registration = config,pjsip.conf,criteria=type=registration
registration = memory
";

const LOGGER_CONF: &str = "\
[logfiles]
console => notice,warning,error
";

fn manager_conf(ami_port: u16) -> String {
    format!(
        "[general]\n\
         enabled = yes\n\
         bindaddr = 127.0.0.1\n\
         port = {ami_port}\n\
         displayconnects = no\n\
         [{AMI_USER}]\n\
         secret = {AMI_SECRET}\n\
         read = all\n\
         write = all\n"
    )
}

fn pjsip_conf(sip_ip: Ipv4Addr) -> String {
    format!(
        "[transport-udp]\n\
         type = transport\n\
         protocol = udp\n\
         bind = {sip_ip}:5060\n\
         \n\
         #tryinclude patchbay-pjsip*.conf\n"
    )
}

/// `static`/`writeprotect` let `dialplan save` persist live changes.
const EXTENSIONS_CONF: &str = "\
[general]
static = yes
writeprotect = no

#tryinclude patchbay-extensions*.conf
";

fn iax_conf(sip_ip: Ipv4Addr) -> String {
    format!(
        "[general]\n\
         bindaddr = {sip_ip}\n\
         bindport = 4569\n\
         \n\
         #tryinclude patchbay-iax.conf\n"
    )
}

/// The `'NAME' =>` lines of a `dialplan show ...` listing, grouped by the
/// context block (`[ Context 'X' ...]` / `[ Included context 'X' ...]`) they
/// appear in, in listing order.
pub fn parse_dialplan_show(lines: &[String]) -> Vec<(String, Vec<String>)> {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for line in lines {
        let t = line.trim_start();
        if let Some(rest) = t
            .strip_prefix("[ Context '")
            .or_else(|| t.strip_prefix("[ Included context '"))
        {
            let name = rest.split('\'').next().unwrap_or_default();
            blocks.push((name.to_owned(), Vec::new()));
        } else if let Some(rest) = t.strip_prefix('\'')
            && let Some(end) = rest.find("' =>")
            && let Some(block) = blocks.last_mut()
        {
            block.1.push(rest[..end].to_owned());
        }
    }
    blocks
}
