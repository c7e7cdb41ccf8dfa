//! One Patchbay drives three Asterisk nodes (issue #18, the fleet).
//!
//! - `--ami` becomes the default node; two more are added through the API
//!   (their secret never comes back); tenants `a`, `b`, `c` are placed on
//!   nodes 1, 2 and 3, and each node holds only its own tenant's endpoints.
//! - A real call per node: each tenant's carrier (sipp) calls the tenant's
//!   DID on its node, which rings the tenant's phone (sipp).
//! - A change for tenant `b` (node 2) makes AMI traffic to node 2 only:
//!   `patchbay_ami_actions_total{kind="write"}` of nodes 1 and 3 do not
//!   move (their periodic reads go on).
//! - Node 3 killed: a change for tenants on nodes 1 and 2 still applies;
//!   node 3 restarted reconverges (a change made while it was down is in
//!   its Asterisk).
//! - Tenant `a` moved from node 1 to node 2 while a call is up on node 1:
//!   the move answers once node 2 holds it, node 1 lets it go, the call on
//!   node 1 stays up (its BYE gets a 200), and the DID answers on node 2.
//!
//! - A node added at run time whose Asterisk does not answer is shown down
//!   and blocks nothing; deleted, its driver stops.
//!
//! Loopback 127.0.6.1–.3 (nodes), .11–.13 (carriers), .21–.23 (phones);
//! AMI ports 16501–16503 (16509: nothing listens).

use std::time::{Duration, Instant};

use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::sipp::pbx::API;
use patchbay_e2e::sipp::scenarios::phone_holding_call;
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::{Value, json};

const NODE_IPS: [&str; 3] = ["127.0.6.1", "127.0.6.2", "127.0.6.3"];
const AMI_PORTS: [u16; 3] = [16501, 16502, 16503];
const NODES: &str = "/api/patchbay/1.0/nodes";

/// One tenant's parts: its carrier calls its DID, which rings its phone.
struct Tenant {
    slug: &'static str,
    uuid: String,
    did: &'static str,
    carrier_ip: &'static str,
    phone_ip: &'static str,
}

impl Tenant {
    fn carrier(&self) -> String {
        format!("{}-carrier", self.slug)
    }
    fn phone(&self) -> String {
        format!("{}-phone", self.slug)
    }
}

async fn post(s: &PatchbayServer, t: &str, tenant: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    Ok(s.call_for(t, Some(tenant), "POST", &format!("{API}{path}"), Some(body)).await?.0)
}

async fn put(s: &PatchbayServer, t: &str, tenant: &str, path: &str) -> anyhow::Result<u64> {
    Ok(s.call_for(t, Some(tenant), "PUT", &format!("{API}{path}"), None).await?.1)
}

/// The tenant's context of `kind` (`incall`, `internal`).
async fn context(s: &PatchbayServer, t: &str, tenant: &str, kind: &str) -> anyhow::Result<String> {
    let (contexts, _) = s.call_for(t, Some(tenant), "GET", &format!("{API}/contexts"), None).await?;
    let found = contexts["items"].as_array().into_iter().flatten().find(|c| c["type"] == kind);
    Ok(found.and_then(|c| c["name"].as_str()).ok_or_else(|| anyhow::anyhow!("no {kind} context in {contexts}"))?.to_string())
}

/// Creates the tenant with its carrier trunk (IP-identified, calls land in
/// its incall context), its phone (user, line, extension 1001) and its DID
/// ringing the phone. Returns the last write's revision.
async fn configure(s: &PatchbayServer, t: &str, tenant: &Tenant) -> anyhow::Result<u64> {
    let u = tenant.uuid.as_str();
    let (incall_context, internal) = (context(s, t, u, "incall").await?, context(s, t, u, "internal").await?);
    let carrier = post(s, t, u, "/endpoints/sip", json!({
        "name": tenant.carrier(), "label": "carrier",
        "endpoint_section_options": [["allow", "!all,ulaw"]],
        "aor_section_options": [["contact", format!("sip:{}:5060", tenant.carrier_ip)]],
        "identify_section_options": [["match", tenant.carrier_ip]],
    }))
    .await?;
    let trunk = post(s, t, u, "/trunks", json!({"context": incall_context})).await?;
    put(s, t, u, &format!("/trunks/{}/endpoints/sip/{}", trunk["id"], carrier["uuid"].as_str().unwrap_or_default())).await?;
    let user = post(s, t, u, "/users", json!({"firstname": tenant.slug, "lastname": "Phone"})).await?;
    let phone = post(s, t, u, "/endpoints/sip", json!({
        "name": tenant.phone(), "label": "phone",
        "endpoint_section_options": [["allow", "!all,ulaw"], ["direct_media", "no"]],
        "aor_section_options": [["contact", format!("sip:1001@{}:5060", tenant.phone_ip)]],
        "identify_section_options": [["match", tenant.phone_ip]],
    }))
    .await?;
    let extension = post(s, t, u, "/extensions", json!({"exten": "1001", "context": internal})).await?;
    let line = post(s, t, u, "/lines", json!({})).await?;
    put(s, t, u, &format!("/lines/{}/endpoints/sip/{}", line["id"], phone["uuid"].as_str().unwrap_or_default())).await?;
    put(s, t, u, &format!("/lines/{}/extensions/{}", line["id"], extension["id"])).await?;
    put(s, t, u, &format!("/users/{}/lines/{}", user["id"], line["id"])).await?;
    add_did(s, t, u, tenant.did).await
}

/// A DID in the tenant's incall context ringing its (first) user; returns
/// the revision of the last write.
async fn add_did(s: &PatchbayServer, t: &str, u: &str, did: &str) -> anyhow::Result<u64> {
    let (users, _) = s.call_for(t, Some(u), "GET", &format!("{API}/users"), None).await?;
    let user = users["items"][0]["id"].clone();
    let did = post(s, t, u, "/extensions", json!({"exten": did, "context": context(s, t, u, "incall").await?})).await?;
    let incall = post(s, t, u, "/incalls", json!({"destination": {"type": "user", "user_id": user}})).await?;
    put(s, t, u, &format!("/incalls/{}/extensions/{}", incall["id"], did["id"])).await
}

/// Whether the node's Asterisk runs `did` in the tenant's incall context.
async fn runs_did(s: &PatchbayServer, t: &str, u: &str, ami: &AmiClient, did: &str) -> anyhow::Result<bool> {
    let context = context(s, t, u, "incall").await?;
    let shown = ami.command(&format!("dialplan show {did}@{context}")).await?.join("\n");
    Ok(shown.contains(&format!("'{did}' =>")))
}

/// The PJSIP endpoints an Asterisk has loaded.
async fn endpoints(ami: &AmiClient) -> Vec<String> {
    let Ok(answer) = ami.send("PJSIPShowEndpoints", AmiMessage::new()).await else { return Vec::new() };
    answer.items().filter_map(|e| e.get("ObjectName").map(str::to_owned)).collect()
}

/// Waits until the node's Asterisk has exactly the `wanted` endpoints of
/// the tenants' (and none of `unwanted`).
async fn wait_holds(ami: &AmiClient, node: usize, wanted: &[String], unwanted: &[String]) -> anyhow::Result<()> {
    eventually(&format!("node {} to hold {wanted:?} and not {unwanted:?}", node + 1), Duration::from_secs(30), || async {
        let loaded = endpoints(ami).await;
        (wanted.iter().all(|name| loaded.contains(name)) && !unwanted.iter().any(|name| loaded.contains(name))).then_some(())
    })
    .await
}

/// A call from the tenant's carrier to its DID on node `node`, answered by
/// its phone.
async fn call(tenant: &Tenant, node: usize, label: &str) -> anyhow::Result<()> {
    let mut phone = Sipp::start(&format!("fleet-{label}-phone"), Scenario::BuiltIn("uas"), tenant.phone_ip, 5060, None, 1, &[])?;
    phone.wait_listening().await?;
    let target = format!("{}:5060", NODE_IPS[node]);
    let mut carrier = Sipp::start(&format!("fleet-{label}-carrier"), Scenario::BuiltIn("uac"), tenant.carrier_ip, 5060, Some(&target), 1, &["-s", tenant.did])?;
    carrier.expect_success(Duration::from_secs(20)).await.map_err(|e| anyhow::anyhow!("call to {} on node {}: {e}\nphone: {:?}", tenant.did, node + 1, phone.received_requests()))?;
    phone.expect_success(Duration::from_secs(10)).await?;
    Ok(())
}

/// `patchbay_ami_actions_total{node=NAME,kind="write"}` per node.
async fn change_actions(s: &PatchbayServer) -> anyhow::Result<[u64; 3]> {
    let text = reqwest::get(format!("{}/metrics", s.base_url)).await?.text().await?;
    let mut counts = [0; 3];
    for (i, count) in counts.iter_mut().enumerate() {
        let prefix = format!("patchbay_ami_actions_total{{node=\"n{}\",kind=\"write\"}} ", i + 1);
        *count = text
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .ok_or_else(|| anyhow::anyhow!("no {prefix} in\n{text}"))?
            .trim()
            .parse()?;
    }
    Ok(counts)
}

/// The tenant's status once a pass covered `revision` on its node.
async fn status_for(s: &PatchbayServer, t: &str, tenant: &str, revision: u64) -> anyhow::Result<Value> {
    Ok(s.call_for(t, Some(tenant), "GET", &format!("/api/patchbay/1.0/status?wait_for={revision}&timeout=20000"), None).await?.0)
}

#[tokio::test]
async fn one_patchbay_drives_three_asterisk_nodes() -> anyhow::Result<()> {
    let started = Instant::now();
    let (one, two, mut three) = tokio::try_join!(
        AsteriskInstance::start("fleet-1", NODE_IPS[0], AMI_PORTS[0]),
        AsteriskInstance::start("fleet-2", NODE_IPS[1], AMI_PORTS[1]),
        AsteriskInstance::start("fleet-3", NODE_IPS[2], AMI_PORTS[2]),
    )?;
    let s = PatchbayServer::start(Some(&one.ami_url())).await?;
    let amis = [one.connect_ami().await?, two.connect_ami().await?, three.connect_ami().await?];
    let t = s.admin_token().await?;
    eprintln!("three nodes and Patchbay up after {:?}", started.elapsed());

    // `--ami` is the default node; a partial PUT renames it.
    let nodes = s.expect(&t, "GET", NODES, None, 200).await?;
    assert_eq!(nodes["total"], 1, "{nodes}");
    let first = &nodes["items"][0];
    assert_eq!(first["is_default"], true, "{first}");
    assert_eq!((first["host"].as_str(), first["port"].as_u64()), (Some("127.0.0.1"), Some(u64::from(AMI_PORTS[0]))), "{first}");
    s.expect(&t, "PUT", &format!("{NODES}/{}", first["id"]), Some(json!({"name": "n1"})), 204).await?;
    let url = AsteriskInstance::ami_url_for(AMI_PORTS[1]);
    let (user, secret) = url.trim_start_matches("ami://").split_once('@').map(|(cred, _)| cred).and_then(|c| c.split_once(':')).unwrap_or_default();
    let mut ids = vec![first["id"].as_i64().unwrap_or_default()];
    for (i, port) in AMI_PORTS.iter().enumerate().skip(1) {
        let node = s
            .expect(&t, "POST", NODES, Some(json!({"name": format!("n{}", i + 1), "host": "127.0.0.1", "port": port, "username": user, "secret": secret})), 201)
            .await?;
        assert!(node.get("secret").is_none(), "{node}");
        ids.push(node["id"].as_i64().unwrap_or_default());
    }
    // Wazo wording for the wrong and the missing; the secret never shown.
    let (status, errors) = s.call(&t, "POST", NODES, Some(json!({"name": "n9", "port": 0}))).await?;
    assert_eq!(status, 400, "{errors}");
    assert!(errors.to_string().contains("Input Error - host: ['Missing data for required field.']"), "{errors}");
    assert!(errors.to_string().contains("Input Error - port:"), "{errors}");
    let (status, errors) = s.call(&t, "POST", NODES, Some(json!({"name": "n1", "host": "h", "port": 1, "username": "u", "secret": "x"}))).await?;
    assert_eq!((status, errors.clone()), (400, json!(["Resource Error - Node already exists ('name': 'n1')"])));
    let (status, errors) = s.call(&t, "GET", &format!("{NODES}/999"), None).await?;
    assert_eq!((status, errors.clone()), (404, json!(["Resource Not Found - Node was not found ('id': 999)"])));
    let listed = s.expect(&t, "GET", NODES, None, 200).await?;
    assert!(!listed.to_string().contains(secret), "{listed}");
    let audit = s.expect(&t, "GET", "/api/patchbay/1.0/audit?kind=node", None, 200).await?;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(3), "{audit}");
    assert!(!audit.to_string().contains(secret), "the audit log holds the AMI secret: {audit}");
    eventually("every node connected", Duration::from_secs(20), || async {
        let listed = s.expect(&t, "GET", NODES, None, 200).await.ok()?;
        listed["items"].as_array()?.iter().all(|node| node["status"]["connected"] == true).then_some(())
    })
    .await?;

    // Tenants a, b, c on nodes 1, 2, 3 (a on the default node by default).
    let mut tenants = Vec::new();
    for (i, slug) in ["a", "b", "c"].into_iter().enumerate() {
        let (created, _) = s.call_for(&t, None, "POST", "/api/auth/0.1/tenants", Some(json!({"name": slug, "slug": slug}))).await?;
        let uuid = created["uuid"].as_str().unwrap_or_default().to_string();
        let path = format!("/api/patchbay/1.0/tenants/{uuid}/node");
        if i > 0 {
            let moved = s.expect(&t, "PUT", &path, Some(json!({"node_id": ids[i]})), 200).await?;
            assert_eq!(moved["moved"], true, "{moved}");
        }
        let placed = s.expect(&t, "GET", &path, None, 200).await?;
        assert_eq!(placed["node"], format!("n{}", i + 1), "{placed}");
        let did = ["5550001", "5550002", "5550003"][i];
        let (carrier_ip, phone_ip) = (["127.0.6.11", "127.0.6.12", "127.0.6.13"][i], ["127.0.6.21", "127.0.6.22", "127.0.6.23"][i]);
        tenants.push(Tenant { slug, uuid, did, carrier_ip, phone_ip });
    }
    for tenant in &tenants {
        configure(&s, &t, tenant).await?;
    }
    let names = |i: usize| vec![tenants[i].carrier(), tenants[i].phone()];
    for (node, ami) in amis.iter().enumerate() {
        let others: Vec<String> = (0..3).filter(|other| *other != node).flat_map(names).collect();
        wait_holds(ami, node, &names(node), &others).await?;
    }
    eprintln!("tenants placed and applied after {:?}", started.elapsed());

    // A real call per node.
    for (node, tenant) in tenants.iter().enumerate() {
        call(tenant, node, &format!("call-{}", node + 1)).await?;
    }
    eprintln!("a call per node after {:?}", started.elapsed());

    // A change for tenant b: AMI traffic to node 2 only.
    let before = change_actions(&s).await?;
    let b = tenants[1].uuid.clone();
    let revision = add_did(&s, &t, &b, "5550102").await?;
    let status = status_for(&s, &t, &b, revision).await?;
    assert!(runs_did(&s, &t, &b, &amis[1], "5550102").await?, "node 2 does not run b's new DID");
    assert_eq!(status["node"]["name"], "n2", "{status}");
    assert!(status["revision_live"].as_u64() >= Some(revision), "{status}");
    // Nodes 1 and 3 had their pass for the revision too (nothing to do).
    for i in [0, 2] {
        status_for(&s, &t, &tenants[i].uuid, revision).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = change_actions(&s).await?;
    eprintln!("AMI actions for the change, per node: {:?}", [after[0] - before[0], after[1] - before[1], after[2] - before[2]]);
    assert!(after[1] > before[1], "node 2 got no AMI action: {before:?} → {after:?}");
    assert_eq!((after[0], after[2]), (before[0], before[2]), "nodes 1 and 3 got AMI actions for tenant b's change: {before:?} → {after:?}");

    // Node 3 down: nodes 1 and 2 keep applying; node 3 reconverges.
    three.kill();
    eventually("node 3 seen down", Duration::from_secs(20), || async {
        let listed = s.expect(&t, "GET", NODES, None, 200).await.ok()?;
        (listed["items"][2]["status"]["connected"] == false).then_some(())
    })
    .await?;
    let c = tenants[2].uuid.clone();
    let revision_c = add_did(&s, &t, &c, "5550103").await?;
    let changed_at = Instant::now();
    for i in [0, 1] {
        let u = tenants[i].uuid.clone();
        let did = format!("555020{i}");
        let revision = add_did(&s, &t, &u, &did).await?;
        let status = status_for(&s, &t, &u, revision).await?;
        assert_eq!(status["in_sync"], true, "node {} while node 3 is down: {status}", i + 1);
        assert!(runs_did(&s, &t, &u, &amis[i], &did).await?, "node {} does not run {did}", i + 1);
    }
    eprintln!("nodes 1 and 2 applied in {:?} while node 3 was down", changed_at.elapsed());
    three.start_again().await?;
    let ami3 = three.connect_ami().await?;
    eventually("node 3 to reconverge", Duration::from_secs(40), || async {
        let status = status_for(&s, &t, &c, revision_c).await.ok()?;
        (runs_did(&s, &t, &c, &ami3, "5550103").await.ok()? && status["in_sync"] == true).then_some(())
    })
    .await?;
    eprintln!("node 3 reconverged after {:?}", started.elapsed());

    // Tenant a moves from node 1 to node 2 with a call up on node 1.
    let a = &tenants[0];
    let mut phone = Sipp::start("fleet-move-phone", Scenario::BuiltIn("uas"), a.phone_ip, 5060, None, 2, &[])?;
    phone.wait_listening().await?;
    let mut held = Sipp::start("fleet-move-held", Scenario::Xml(&phone_holding_call(8000)), a.carrier_ip, 5060, Some(&format!("{}:5060", NODE_IPS[0])), 1, &["-s", a.did])?;
    eventually("the call on node 1 to be answered", Duration::from_secs(10), || async { held.messages().contains("SIP/2.0 200 OK").then_some(()) }).await?;
    let moving = Instant::now();
    let moved = s.expect(&t, "PUT", &format!("/api/patchbay/1.0/tenants/{}/node", a.uuid), Some(json!({"node_id": ids[1]})), 200).await?;
    eprintln!("move answered in {:?}: {moved}", moving.elapsed());
    assert_eq!((moved["moved"].clone(), moved["node"].clone()), (json!(true), json!("n2")), "{moved}");
    // Done means node 2 holds it now.
    let loaded = endpoints(&amis[1]).await;
    assert!(names(0).iter().all(|name| loaded.contains(name)), "{loaded:?}");
    // Node 1 lets it go.
    wait_holds(&amis[0], 0, &[], &names(0)).await?;
    // The call up on node 1 stayed up: its BYE got a 200.
    held.expect_success(Duration::from_secs(20)).await.map_err(|e| anyhow::anyhow!("the call on node 1 did not survive the move: {e}\n{}", one.console_tail()))?;
    // The DID answers on node 2.
    let mut carrier = Sipp::start("fleet-move-new", Scenario::BuiltIn("uac"), a.carrier_ip, 5061, Some(&format!("{}:5060", NODE_IPS[1])), 1, &["-s", a.did])?;
    carrier.expect_success(Duration::from_secs(20)).await.map_err(|e| anyhow::anyhow!("the DID on node 2 after the move: {e}\n{}", two.console_tail()))?;
    phone.expect_success(Duration::from_secs(10)).await?;
    let status = s.call_for(&t, Some(&a.uuid), "GET", "/api/patchbay/1.0/status", None).await?.0;
    assert_eq!(status["node"]["name"], "n2", "{status}");
    // A node with tenants cannot be deleted; an empty one can.
    let (code, errors) = s.call(&t, "DELETE", &format!("{NODES}/{}", ids[1]), None).await?;
    assert_eq!(code, 400, "{errors}");
    // A node added and removed at run time: its driver starts (nothing
    // answers on its port) and stops, the others unaffected.
    let ghost = s
        .expect(&t, "POST", NODES, Some(json!({"name": "n4", "host": "127.0.0.1", "port": 16509, "username": user, "secret": secret})), 201)
        .await?;
    let ghost_path = format!("{NODES}/{}", ghost["id"]);
    eventually("n4's driver to report it down", Duration::from_secs(10), || async {
        let node = s.expect(&t, "GET", &ghost_path, None, 200).await.ok()?;
        (node["status"]["connected"] == false && node["status"]["message"].as_str()?.contains("Asterisk")).then_some(())
    })
    .await?;
    let revision = add_did(&s, &t, &tenants[1].uuid, "5550302").await?;
    assert_eq!(status_for(&s, &t, &tenants[1].uuid, revision).await?["in_sync"], true);
    s.expect(&t, "DELETE", &ghost_path, None, 204).await?;
    s.expect(&t, "GET", &ghost_path, None, 404).await?;
    let metrics = reqwest::get(format!("{}/metrics", s.base_url)).await?.text().await?;
    assert!(!metrics.contains("node=\"n4\"") && metrics.contains("node=\"n3\""), "{metrics}");
    eprintln!("done after {:?}", started.elapsed());
    Ok(())
}
