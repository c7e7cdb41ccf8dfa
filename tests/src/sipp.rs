//! `sipp` (Debian's sip-tester) as a SIP phone or a far end in call tests.
//!
//! Each [`Sipp`] binds its own loopback address (`-i ADDR -bind_local`), logs
//! every SIP message it sends and receives to a file ([`Sipp::messages`]) and
//! is killed when dropped. Scenarios are either sipp's built-in `uac`/`uas`
//! or XML written to the run's temporary directory.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::app::TempDir;

/// Which scenario sipp runs.
pub enum Scenario<'a> {
    /// `-sn NAME`: a built-in scenario (`uac`, `uas`).
    BuiltIn(&'a str),
    /// `-sf FILE`: this XML.
    Xml(&'a str),
}

/// A running sipp, killed (and reaped) on drop.
pub struct Sipp {
    process: Child,
    label: String,
    local: (String, u16),
    messages: PathBuf,
    errors: PathBuf,
    status: Option<ExitStatus>,
    _dir: TempDir,
}

impl Sipp {
    /// Starts sipp on `local_ip:local_port` running `scenario` for `calls`
    /// calls; `remote` (`IP:PORT`) is the far end for client scenarios, `args`
    /// extra options (e.g. `["-s", "**99101"]`). It exits by itself after 25 s.
    pub fn start(label: &str, scenario: Scenario, local_ip: &str, local_port: u16, remote: Option<&str>, calls: u32, args: &[&str]) -> anyhow::Result<Sipp> {
        let dir = TempDir::new(&format!("sipp-{label}"));
        let messages = dir.0.join("messages.log");
        let errors = dir.0.join("errors.log");
        let mut command = Command::new("sipp");
        match scenario {
            Scenario::BuiltIn(name) => {
                command.args(["-sn", name]);
            }
            Scenario::Xml(xml) => {
                let file = dir.0.join("scenario.xml");
                std::fs::write(&file, xml)?;
                command.arg("-sf").arg(file);
            }
        }
        if let Some(remote) = remote {
            command.arg(remote);
        }
        command
            .args(["-i", local_ip, "-bind_local", "-p", &local_port.to_string(), "-m", &calls.to_string()])
            // Media (unused: no RTP is sent) on its own address too.
            .args(["-mi", local_ip, "-mp", &(local_port + 1000).to_string()])
            .args(["-nostdin", "-timeout", "25s", "-timeout_error", "-trace_msg", "-trace_err"])
            .arg("-message_file")
            .arg(&messages)
            .arg("-error_file")
            .arg(&errors)
            .args(args)
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = command.spawn().context("starting sipp (apt-get install sip-tester)")?;
        Ok(Sipp { process, label: label.to_owned(), local: (local_ip.to_owned(), local_port), messages, errors, status: None, _dir: dir })
    }

    /// Waits until sipp has bound its SIP port, so that a request sent to it
    /// right after does not meet a closed port.
    pub async fn wait_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match std::net::UdpSocket::bind((self.local.0.as_str(), self.local.1)) {
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Ok(()),
                _ if Instant::now() >= deadline => bail!("sipp {} never bound {}:{}", self.label, self.local.0, self.local.1),
                _ => {}
            }
            if let Some(status) = self.process.try_wait()? {
                self.status = Some(status);
                bail!("sipp {} exited ({status}) before listening; errors:\n{}", self.label, self.errors());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits up to `timeout` for sipp to exit; its exit status (0: every call
    /// succeeded).
    pub async fn wait(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.status {
                return Ok(status);
            }
            if let Some(status) = self.process.try_wait()? {
                self.status = Some(status);
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("sipp {} still running after {timeout:?}; messages:\n{}", self.label, self.messages());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for sipp to exit and fails unless every call succeeded.
    pub async fn expect_success(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let status = self.wait(timeout).await?;
        if !status.success() {
            bail!("sipp {} exited with {status}; errors:\n{}\nmessages:\n{}", self.label, self.errors(), self.messages());
        }
        Ok(())
    }

    /// Every SIP message sent and received so far, as sipp logged them.
    pub fn messages(&self) -> String {
        std::fs::read_to_string(&self.messages).unwrap_or_default()
    }

    /// The first line of every request sipp received (`INVITE sip:101@… SIP/2.0`).
    pub fn received_requests(&self) -> Vec<String> {
        let text = self.messages();
        let mut out = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.contains("message received") {
                let first = lines.by_ref().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
                if !first.starts_with("SIP/2.0") {
                    out.push(first.to_owned());
                }
            }
        }
        out
    }

    /// Waits until sipp has logged a received request whose first line
    /// starts with `prefix` (sipp writes its message log a little after the
    /// message: a request Asterisk has sent may not be in it yet).
    pub async fn wait_request(&self, prefix: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.received_requests().iter().any(|r| r.starts_with(prefix)) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The header `name` (as `Name: value`) of the first message sipp
    /// logged whose first line starts with `first_line`.
    pub fn header_of(&self, first_line: &str, name: &str) -> Option<String> {
        let text = self.messages();
        let mut lines = text.lines().map(str::trim);
        lines.find(|l| l.starts_with(first_line))?;
        let prefix = format!("{}:", name.to_ascii_lowercase());
        lines.take_while(|l| !l.is_empty()).find(|l| l.to_ascii_lowercase().starts_with(&prefix)).map(str::to_owned)
    }

    /// Tells a [`scenarios::authenticated_caller_holding_until_told`] call
    /// to hang up: a NOTIFY carrying its Call-ID (sipp finds the call by
    /// it), sent from `from_ip:5060`.
    pub async fn tell_to_hang_up(&self, from_ip: &str) -> anyhow::Result<()> {
        let call_id = self.header_of("INVITE ", "Call-ID").context("no INVITE sent yet")?;
        let call_id = call_id.split_once(':').map(|(_, v)| v.trim()).context("Call-ID value")?;
        let (ip, port) = (&self.local.0, self.local.1);
        let notify = format!(
            "NOTIFY sip:phone@{ip}:{port} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {from_ip}:5060;branch=z9hG4bK-hang-up\r\n\
             From: <sip:test@{from_ip}>;tag=test\r\n\
             To: <sip:phone@{ip}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 NOTIFY\r\n\
             Event: hang-up\r\n\
             Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n"
        );
        let socket = tokio::net::UdpSocket::bind((from_ip, 5060)).await?;
        socket.send_to(notify.as_bytes(), (ip.as_str(), port)).await?;
        Ok(())
    }

    /// sipp's error log (unexpected messages, timeouts).
    pub fn errors(&self) -> String {
        std::fs::read_to_string(&self.errors).unwrap_or_default()
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Phones and AMI checks shared by the `calls_*` tests.
/// An SDP body offering or answering PCMU from `[local_ip]` (sipp fills in
/// the addresses and `[len]`; it drops each line's leading blanks, so the
/// lines need no indentation), with `owner` and session `version` in `o=`.
pub fn pcmu_sdp(owner: &str, version: u32) -> String {
    [
        "v=0".to_string(),
        format!("o={owner} 1 {version} IN IP[local_ip_type] [local_ip]"),
        "s=-".into(),
        "c=IN IP[media_ip_type] [media_ip]".into(),
        "t=0 0".into(),
        "m=audio [media_port] RTP/AVP 0".into(),
        "a=rtpmap:0 PCMU/8000".into(),
    ]
    .join("\n")
}

pub mod pbx {
    use std::time::Duration;

    use patchbay_backend::ami::{AmiClient, AmiMessage};
    use serde_json::{Value, json};

    use crate::app::{PatchbayServer, eventually};

    pub const API: &str = "/api/confd/1.1";

    pub fn id(v: &Value) -> i64 {
        v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
    }

    pub fn uuid(v: &Value) -> String {
        v["uuid"].as_str().unwrap_or_else(|| panic!("no uuid in {v}")).to_owned()
    }

    /// A user with a line on extension `exten` (context `default`) whose SIP
    /// endpoint `name` is a sipp phone: calls from `phone_ip` are that
    /// endpoint (identify, no authentication), and calls to it go to
    /// `sip:CONTACT_USER@phone_ip:5060`. sipp offers PCMU only: `ulaw`.
    /// Returns the user's id.
    pub async fn sipp_phone(s: &PatchbayServer, t: &str, name: &str, exten: &str, phone_ip: &str, contact_user: &str) -> anyhow::Result<i64> {
        let user = s.expect(t, "POST", &format!("{API}/users"), Some(json!({"firstname": name, "lastname": "Phone"})), 201).await?;
        let endpoint = s
            .expect(t, "POST", &format!("{API}/endpoints/sip"), Some(json!({
                "name": name, "label": format!("sipp phone {name}"),
                "endpoint_section_options": [["allow", "!all,ulaw"], ["direct_media", "no"]],
                "aor_section_options": [["contact", format!("sip:{contact_user}@{phone_ip}:5060")]],
                "identify_section_options": [["match", phone_ip]],
            })), 201)
            .await?;
        let extension = s.expect(t, "POST", &format!("{API}/extensions"), Some(json!({"exten": exten, "context": "default"})), 201).await?;
        let line = s.expect(t, "POST", &format!("{API}/lines"), Some(json!({})), 201).await?;
        s.expect(t, "PUT", &format!("{API}/lines/{}/endpoints/sip/{}", id(&line), uuid(&endpoint)), None, 204).await?;
        s.expect(t, "PUT", &format!("{API}/lines/{}/extensions/{}", id(&line), id(&extension)), None, 204).await?;
        s.expect(t, "PUT", &format!("{API}/users/{}/lines/{}", id(&user), id(&line)), None, 204).await?;
        Ok(id(&user))
    }

    /// An incall: `did` in context `context` rings user `user_id`.
    pub async fn incall_to_user(s: &PatchbayServer, t: &str, did: &str, context: &str, user_id: i64) -> anyhow::Result<()> {
        let did = s.expect(t, "POST", &format!("{API}/extensions"), Some(json!({"exten": did, "context": context})), 201).await?;
        let incall = s.expect(t, "POST", &format!("{API}/incalls"), Some(json!({"destination": {"type": "user", "user_id": user_id}})), 201).await?;
        s.expect(t, "PUT", &format!("{API}/incalls/{}/extensions/{}", id(&incall), id(&did)), None, 204).await?;
        Ok(())
    }

    /// Waits until Asterisk shows every endpoint of `names`.
    pub async fn wait_endpoints(ami: &AmiClient, names: &[&str]) -> anyhow::Result<()> {
        for name in names {
            eventually(&format!("Asterisk to load endpoint {name}"), Duration::from_secs(15), || async {
                ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", *name)).await.is_ok().then_some(())
            })
            .await?;
        }
        Ok(())
    }

    /// `(ObjectName, Status)` of each outbound registration.
    pub async fn registrations(ami: &AmiClient) -> Vec<(String, String)> {
        let Ok(answer) = ami.send("PJSIPShowRegistrationsOutbound", AmiMessage::new()).await else { return Vec::new() };
        answer
            .items()
            .filter(|e| e.event_name() == Some("OutboundRegistrationDetail"))
            .map(|e| (e.get("ObjectName").unwrap_or_default().to_owned(), e.get("Status").unwrap_or_default().to_owned()))
            .collect()
    }

    /// `(ObjectName, Uri)` of each contact Asterisk knows (static and
    /// registered); the name is `AOR;@HASH`.
    pub async fn contacts(ami: &AmiClient) -> Vec<(String, String)> {
        let Ok(answer) = ami.send("PJSIPShowContacts", AmiMessage::new()).await else { return Vec::new() };
        answer
            .items()
            .filter(|e| e.event_name() == Some("ContactList"))
            .map(|e| (e.get("ObjectName").unwrap_or_default().to_owned(), e.get("Uri").unwrap_or_default().to_owned()))
            .collect()
    }

    /// Waits until registration `name` is `Registered`. The first REGISTER
    /// waits a random 0–10 s (`max_random_initial_delay`): once the
    /// registration exists, `PJSIPRegister` sends one now.
    pub async fn wait_registered(ami: &AmiClient, name: &str) -> anyhow::Result<()> {
        eventually(&format!("registration {name} to exist"), Duration::from_secs(15), || async {
            registrations(ami).await.iter().any(|(n, _)| n == name).then_some(())
        })
        .await?;
        let _ = ami.send("PJSIPRegister", AmiMessage::new().with("Registration", name)).await;
        eventually(&format!("registration {name} to be Registered"), Duration::from_secs(15), || async {
            registrations(ami).await.iter().any(|(n, s)| n == name && s == "Registered").then_some(())
        })
        .await
    }
}

/// A VoIP provider played by sipp: it challenges every request with a 401
/// and accepts the authenticated retry (credentials checked).
pub mod provider {
    pub const PROVIDER_USER: &str = "0123456789";
    pub const PROVIDER_SECRET: &str = "s3cret";

    /// The provider's answer to an INVITE: 401, then (credentials checked) 200.
    pub fn provider_uas_challenging_invite() -> String {
        let sdp = super::pcmu_sdp("provider", 1);
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="provider: 401 then 200">
      <recv request="INVITE" />
      <send>
        <![CDATA[
          SIP/2.0 401 Unauthorized
          [last_Via:]
          [last_From:]
          [last_To:];tag=[pid]SIPpTag01[call_number]
          [last_Call-ID:]
          [last_CSeq:]
          WWW-Authenticate: Digest realm="provider.example", nonce="[pid][call_number]n0nce", algorithm=MD5
          Content-Length: 0
        ]]>
      </send>
      <recv request="ACK" />
      <recv request="INVITE">
        <action>
          <verifyauth assign_to="authorized" username="{PROVIDER_USER}" password="{PROVIDER_SECRET}" />
        </action>
      </recv>
      <nop hide="true" test="authorized" next="accept" />
      <send>
        <![CDATA[
          SIP/2.0 403 Wrong credentials
          [last_Via:]
          [last_From:]
          [last_To:];tag=[pid]SIPpTag01[call_number]
          [last_Call-ID:]
          [last_CSeq:]
          Content-Length: 0
        ]]>
      </send>
      <!-- Never comes: the call fails on this timeout. -->
      <recv request="WRONG-CREDENTIALS" timeout="200" />
      <label id="accept" />
      <send>
        <![CDATA[
          SIP/2.0 200 OK
          [last_Via:]
          [last_From:]
          [last_To:];tag=[pid]SIPpTag01[call_number]
          [last_Call-ID:]
          [last_CSeq:]
          Contact: <sip:[local_ip]:[local_port];transport=[transport]>
          Content-Type: application/sdp
          Content-Length: [len]

          {sdp}
        ]]>
      </send>
      <recv request="ACK" />
      <recv request="BYE" />
      <send>
        <![CDATA[
          SIP/2.0 200 OK
          [last_Via:]
          [last_From:]
          [last_To:]
          [last_Call-ID:]
          [last_CSeq:]
          Content-Length: 0
        ]]>
      </send>
    </scenario>
    "#
        )
    }

    /// The provider's registrar: every REGISTER (the first, an unregister, a
    /// refresh) is challenged with a 401 and the authenticated retry (checked)
    /// accepted, in a loop: they all share one Call-ID, so they are one sipp call.
    pub fn provider_registrar() -> String {
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="provider registrar: 401 then 200, forever">
      <label id="next" />
      <recv request="REGISTER" />
      <send>
        <![CDATA[
          SIP/2.0 401 Unauthorized
          [last_Via:]
          [last_From:]
          [last_To:];tag=[pid]SIPpTag01[call_number]
          [last_Call-ID:]
          [last_CSeq:]
          WWW-Authenticate: Digest realm="provider.example", nonce="[pid][call_number]n0nce", algorithm=MD5
          Content-Length: 0
        ]]>
      </send>
      <recv request="REGISTER">
        <action>
          <verifyauth assign_to="authorized" username="{PROVIDER_USER}" password="{PROVIDER_SECRET}" />
        </action>
      </recv>
      <nop hide="true" test="authorized" next="accept" />
      <recv request="WRONG-CREDENTIALS" timeout="200" />
      <label id="accept" />
      <send next="next">
        <![CDATA[
          SIP/2.0 200 OK
          [last_Via:]
          [last_From:]
          [last_To:];tag=[pid]SIPpTag01[call_number]
          [last_Call-ID:]
          [last_CSeq:]
          [last_Contact:]
          [last_Expires:]
          Content-Length: 0
        ]]>
      </send>
    </scenario>
    "#
        )
    }
}

/// Far ends and phones for the trunk-operation call tests: a trunk that
/// refuses with a chosen SIP code, and phones that expect a final answer or
/// hold an answered call for a while.
pub mod scenarios {
    /// A phone or server that never answers: `provisional` (`180 Ringing`
    /// with a To tag, or a bare `100 Trying`, which is no progress for
    /// `Dial`), then the CANCEL is acknowledged (200, with the same To
    /// tag) and the INVITE ends with a 487, then the ACK.
    pub fn ringing_until_cancelled(provisional: &str) -> String {
        let to_tag = if provisional.starts_with("100") { "" } else { ";tag=[pid]SIPpTag01[call_number]" };
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="{provisional}, never answers, then cancelled">
  <recv request="INVITE">
    <action>
      <ereg regexp="[0-9]+ INVITE" search_in="hdr" header="CSeq:" assign_to="invite_cseq" />
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 {provisional}
      [last_Via:]
      [last_From:]
      [last_To:]{to_tag}
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
  <recv request="CANCEL" />
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]{to_tag}
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <send>
    <![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [$invite_cseq]
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK" />
</scenario>
"#
        )
    }

    /// A `<send>` of the final response `code reason` to the last request,
    /// without a body.
    fn reply(code: u16, reason: &str) -> String {
        reply_with(code, reason, "")
    }

    /// [`reply`] with `headers` (each line ending with a newline) before
    /// its `Content-Length`.
    fn reply_with(code: u16, reason: &str, headers: &str) -> String {
        format!(
            r#"<send>
        <![CDATA[
          SIP/2.0 {code} {reason}
          [last_Via:]
          [last_From:]
          [last_To:];tag=[pid]SIPpTag01[call_number]
          [last_Call-ID:]
          [last_CSeq:]
          {headers}Content-Length: 0
        ]]>
      </send>"#
        )
    }

    /// A far end answering every INVITE with `code reason` (and waiting for
    /// the ACK), for `calls` calls.
    pub fn far_end_refusing(code: u16, reason: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="far end: {code} {reason}">
      <recv request="INVITE" />
      {reply}
      <recv request="ACK" />
    </scenario>
    "#,
            reply = reply(code, reason)
        )
    }

    /// A far end that answers each OPTIONS with 200 OK (one sipp call per
    /// OPTIONS: run it for as many calls as OPTIONS are expected).
    pub fn options_responder() -> String {
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="far end: answers OPTIONS">
      <recv request="OPTIONS" />
      {reply}
    </scenario>
    "#,
            reply = reply(200, "OK")
        )
    }

    /// A registrar refusing every REGISTER with `code reason`, in a loop
    /// (the retries share one Call-ID: one sipp call), and answering 200 to
    /// an OPTIONS (each its own call: Patchbay's health probes and
    /// Asterisk's qualify of a registering trunk). Run it for a few calls.
    pub fn registrar_refusing(code: u16, reason: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="registrar: {code} {reason}, forever">
      <recv request="OPTIONS" optional="true" next="options" />
      <label id="next" />
      <recv request="REGISTER" />
      {reply}
      <nop next="next" />
      <label id="options" />
      {ok}
    </scenario>
    "#,
            reply = reply(code, reason),
            ok = reply(200, "OK")
        )
    }

    /// A registrar that accepts the REGISTERs of `user` (200 OK, its
    /// Contact kept for an hour) and refuses every other with 403
    /// Forbidden: two registrations on one registrar get different answers.
    /// OPTIONS are answered.
    pub fn registrar_accepting_only(user: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="registrar: 200 for {user}, 403 for the others">
      <recv request="OPTIONS" optional="true" next="options" />
      <label id="next" />
      <recv request="REGISTER">
        <action>
          <ereg regexp="sip:{user}@" search_in="hdr" header="To:" check_it="false" assign_to="accepted" />
        </action>
      </recv>
      <nop next="ok" test="accepted" />
      {refused}
      <nop next="next" />
      <label id="ok" />
      {accepted}
      <nop next="next" />
      <label id="options" />
      {ok}
    </scenario>
    "#,
            refused = reply(403, "Forbidden"),
            accepted = reply_with(200, "OK", "[last_Contact:];expires=3600\n          Expires: 3600\n          "),
            ok = reply(200, "OK")
        )
    }

    /// The phone's INVITE (PCMU offer) to `[service]`, and the responses
    /// before the final one.
    fn phone_invite() -> String {
        let sdp = super::pcmu_sdp("phone", 1);
        format!(
            r#"<send retrans="500">
        <![CDATA[
          INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
          Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
          From: phone <sip:phone@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
          To: <sip:[service]@[remote_ip]:[remote_port]>
          Call-ID: [call_id]
          CSeq: 1 INVITE
          Contact: sip:phone@[local_ip]:[local_port]
          Max-Forwards: 70
          Content-Type: application/sdp
          Content-Length: [len]

          {sdp}
        ]]>
      </send>
      <recv response="100" optional="true" />
      <recv response="180" optional="true" />
      <recv response="183" optional="true" />"#
        )
    }

    /// An in-dialog request of the phone's call (`ACK`, `BYE`) with CSeq `cseq`.
    fn phone_request(method: &str, cseq: u32) -> String {
        format!(
            r#"<send>
        <![CDATA[
          {method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
          Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
          From: phone <sip:phone@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
          To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
          Call-ID: [call_id]
          CSeq: {cseq} {method}
          Max-Forwards: 70
          Content-Length: 0
        ]]>
      </send>"#
        )
    }

    /// A phone whose call must end with the final response `code` (the
    /// caller hears busy for 486), acknowledged.
    pub fn phone_expecting(code: u16) -> String {
        let invite = phone_invite();
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="phone: expects {code}">
      {invite}
      <recv response="{code}" />
      {ack}
    </scenario>
    "#,
            ack = phone_request("ACK", 1)
        )
    }

    /// A caller (a provider's or a phone's) that places a call, answers the
    /// re-INVITE Asterisk may send once the call is answered (a connected
    /// line update naming the callee: whether it comes in the 200 OK or
    /// after it depends on timing), then hangs up. sipp's built-in `uac`
    /// aborts on such a re-INVITE.
    pub fn caller_accepting_reinvite() -> String {
        let invite = phone_invite();
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="caller: accepts a connected-line re-INVITE">
      {invite}
      <recv response="200" rtd="true" />
      {ack}
      <recv request="INVITE" timeout="1500" ontimeout="hangup" />
      {reanswer}
      <recv request="ACK" />
      <label id="hangup" />
      {bye}
      <recv response="200" crlf="true" />
    </scenario>
    "#,
            reanswer = reanswer(),
            ack = phone_request("ACK", 1),
            bye = phone_request("BYE", 2).replace("<send>", "<send retrans=\"500\">")
        )
    }

    /// The phone's 200 OK, with a new SDP answer, to a re-INVITE.
    fn reanswer() -> String {
        let sdp = super::pcmu_sdp("phone", 2);
        format!(
            r#"<send>
        <![CDATA[
          SIP/2.0 200 OK
          [last_Via:]
          [last_From:]
          [last_To:]
          [last_Call-ID:]
          [last_CSeq:]
          Contact: <sip:phone@[local_ip]:[local_port]>
          Content-Type: application/sdp
          Content-Length: [len]

          {sdp}
        ]]>
      </send>"#
        )
    }

    /// A caller that authenticates (a far PBX on a trunk with inbound
    /// authentication): its INVITE is challenged (401) and sent again with
    /// `user`'s credentials. Once answered, it takes the connected-line
    /// re-INVITEs Asterisk may send and holds the call until told to hang
    /// up ([`Sipp::tell_to_hang_up`](super::Sipp::tell_to_hang_up)); it
    /// succeeds only if its BYE then gets a 200, i.e. the call was still up.
    pub fn authenticated_caller_holding_until_told(user: &str, password: &str) -> String {
        let invite = phone_invite();
        let retry = invite
            .replace("CSeq: 1 INVITE", "CSeq: 2 INVITE")
            .replace("Max-Forwards: 70", &format!("[authentication username={user} password={password}]\n          Max-Forwards: 70"));
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="caller: authenticated, holds the call until told">
      {invite}
      <recv response="401" auth="true" />
      <send>
        <![CDATA[
          ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
          [last_Via:]
          From: phone <sip:phone@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
          [last_To:]
          Call-ID: [call_id]
          CSeq: 1 ACK
          Max-Forwards: 70
          Content-Length: 0
        ]]>
      </send>
      {retry}
      <recv response="200" rtd="true" />
      {ack}
      <label id="up" />
      <recv request="INVITE" optional="true" next="reinvite" />
      <recv request="NOTIFY" timeout="240000" />
      {bye}
      <recv response="200" crlf="true" next="done" />
      <label id="reinvite" />
      {reanswer}
      <recv request="ACK" next="up" />
      <label id="done" />
    </scenario>
    "#,
            reanswer = reanswer(),
            ack = phone_request("ACK", 2),
            bye = phone_request("BYE", 3).replace("<send>", "<send retrans=\"500\">")
        )
    }

    /// A phone that places a call, keeps it up for `hold_ms` after the
    /// answer, then hangs up; it succeeds only if the BYE gets its 200 OK,
    /// i.e. the call was still up.
    pub fn phone_holding_call(hold_ms: u32) -> String {
        let invite = phone_invite();
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="phone: holds the call {hold_ms} ms">
      {invite}
      <recv response="200" rtd="true" />
      {ack}
      <pause milliseconds="{hold_ms}" />
      {bye}
      <recv response="200" crlf="true" />
    </scenario>
    "#,
            ack = phone_request("ACK", 1),
            bye = phone_request("BYE", 2).replace("<send>", "<send retrans=\"500\">")
        )
    }

    /// A caller's answered call to `[service]` (`-s`), hung up after 200 ms:
    /// From `"display" <sip:from_user@…>`, To `to_user` (`[service]` when
    /// `None`), and `extra_headers` (whole lines, `Name: value`) in the INVITE.
    pub fn answered_call(display: &str, from_user: &str, to_user: Option<&str>, extra_headers: &[String]) -> String {
        let sdp = super::pcmu_sdp("caller", 1);
        let to_user = to_user.unwrap_or("[service]");
        let extra: String = extra_headers.iter().map(|line| format!("\n          {line}")).collect();
        let from = format!("From: \"{display}\" <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]");
        let contact = format!("Contact: sip:{from_user}@[local_ip]:[local_port]");
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="a call from {from_user}">
      <send retrans="500">
        <![CDATA[
          INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
          Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
          {from}
          To: <sip:{to_user}@[remote_ip]:[remote_port]>{extra}
          Call-ID: [call_id]
          CSeq: 1 INVITE
          {contact}
          Max-Forwards: 70
          Content-Type: application/sdp
          Content-Length: [len]

          {sdp}
        ]]>
      </send>
      <recv response="100" optional="true" />
      <recv response="180" optional="true" />
      <recv response="183" optional="true" />
      <recv response="200" rtd="true" />
      <send>
        <![CDATA[
          ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
          Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
          {from}
          [last_To:]
          Call-ID: [call_id]
          CSeq: 1 ACK
          {contact}
          Max-Forwards: 70
          Content-Length: 0
        ]]>
      </send>
      <pause milliseconds="200" />
      <send retrans="500">
        <![CDATA[
          BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
          Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
          {from}
          [last_To:]
          Call-ID: [call_id]
          CSeq: 2 BYE
          {contact}
          Max-Forwards: 70
          Content-Length: 0
        ]]>
      </send>
      <recv response="200" crlf="true" />
    </scenario>
    "#
        )
    }
}
