//! Two Patchbays on one database, one Asterisk (issue #18, several
//! Patchbays): exactly one applies to the node, the holder of its lease.
//!
//! - A starts first and takes the node's lease: `/status` and `GET /nodes`
//!   name A's instance as `applier`, on A and on B alike.
//! - A DID created through B (which does not apply) goes live: A notices
//!   B's commit (it polls the revision) and applies it; read back in
//!   Asterisk with `dialplan show`.
//! - A node added through B gets a driver in both instances; exactly one
//!   applies to it.
//! - A killed (SIGKILL: no release): B takes the lease once it expires,
//!   reconciles, and a DID created through B meanwhile is live in Asterisk;
//!   `GET /nodes` on B names B as applier. The takeover time is printed
//!   (bounded only generously: the lease's TTL is 5 s).
//! - A restarted on the same database waits while B renews; B stopped
//!   cleanly (SIGTERM) releases its lease and A takes over at once (the
//!   handover time is printed).
//!
//! The database is one SQLite file shared by the two processes (WAL).
//! Loopback 127.0.8.1, AMI port 16701 (16739: nothing listens).

use std::time::{Duration, Instant};

use patchbay_backend::ami::AmiClient;
use patchbay_e2e::app::{PatchbayServer, TempDir, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use serde_json::json;

const NODES: &str = "/api/patchbay/1.0/nodes";
const STATUS: &str = "/api/patchbay/1.0/status";

/// This instance's id, as its `/status` says.
async fn instance(s: &PatchbayServer, t: &str) -> anyhow::Result<String> {
    let status = s.expect(t, "GET", STATUS, None, 200).await?;
    status["instance"].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no instance in {status}"))
}

/// The applier of the (only) node, as `GET /nodes` on `s` says.
async fn applier(s: &PatchbayServer, t: &str) -> Option<String> {
    let nodes = s.expect(t, "GET", NODES, None, 200).await.ok()?;
    nodes["items"][0]["applier"].as_str().map(str::to_owned)
}

/// A DID `did` in the master's `from-extern` that hangs up, created
/// through `s`; the revision of its last write.
async fn add_did(s: &PatchbayServer, t: &str, did: &str) -> anyhow::Result<u64> {
    let extension = s.expect(t, "POST", "/api/confd/1.1/extensions", Some(json!({"exten": did, "context": "from-extern"})), 201).await?;
    let incall = s.expect(t, "POST", "/api/confd/1.1/incalls", Some(json!({"destination": {"type": "none"}})), 201).await?;
    let path = format!("/api/confd/1.1/incalls/{}/extensions/{}", incall["id"], extension["id"]);
    Ok(s.call_for(t, None, "PUT", &path, None).await?.1)
}

/// Whether Asterisk runs `did` in `from-extern`.
async fn runs_did(ami: &AmiClient, did: &str) -> bool {
    let shown = ami.command(&format!("dialplan show {did}@from-extern")).await.unwrap_or_default().join("\n");
    shown.contains(&format!("'{did}' =>"))
}

#[tokio::test(flavor = "multi_thread")]
async fn another_instance_takes_over_the_node_when_the_applying_one_dies() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("fleet-ha", "127.0.8.1", 16701).await?;
    let ami_url = asterisk.ami_url();
    let ami = asterisk.connect_ami().await?;
    let a = PatchbayServer::start(Some(&ami_url)).await?;
    let ta = a.admin_token().await?;
    let a_id = instance(&a, &ta).await?;
    eventually("A to hold the node's lease", Duration::from_secs(15), || async { (applier(&a, &ta).await? == a_id).then_some(()) }).await?;

    // B on the same database file.
    let b = PatchbayServer::start_beside(&a, Some(&ami_url)).await?;
    let tb = b.admin_token().await?;
    let b_id = instance(&b, &tb).await?;
    assert_ne!(a_id, b_id, "a random id per process");
    // B sees A apply, and does not take the lease while A renews it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(applier(&b, &tb).await.as_deref(), Some(a_id.as_str()));
    let status = b.expect(&tb, "GET", STATUS, None, 200).await?;
    assert_eq!(status["applier"], json!(a_id), "{status}");
    let nodes = b.expect(&tb, "GET", NODES, None, 200).await?;
    assert_eq!(nodes["items"][0]["applying_here"], json!(false), "{nodes}");

    // A change through B is applied by A; B's status follows A's progress
    // (`wait_for` answers on B once A's pass read the change back).
    let started = Instant::now();
    let revision = add_did(&b, &tb, "5550001").await?;
    assert!(revision > 0);
    let waited = b.expect(&tb, "GET", &format!("{STATUS}?wait_for={revision}&timeout=15000"), None, 200).await?;
    let answered = started.elapsed();
    assert!(waited["revision_live"].as_u64().is_some_and(|live| live >= revision), "{waited}");
    assert_eq!(waited["pending"], json!(false), "{waited}");
    assert!(runs_did(&ami, "5550001").await, "B's status says live: Asterisk runs it");
    eprintln!("a DID created through B: B's /status?wait_for answered live after {answered:?} (applied by A, reported through the lease row)");

    // A second node added through B (nothing answers on its AMI port):
    // both instances start its driver (A on its next read of the nodes),
    // exactly one of them applies to it; deleted, it is gone from both.
    let secret = "lease-test-secret";
    let added = b
        .expect(&tb, "POST", NODES, Some(json!({"name": "n2", "host": "127.0.0.1", "port": 16739, "username": "patchbay", "secret": secret})), 201)
        .await?;
    let n2 = format!("{NODES}/{}", added["id"]);
    let appliers = eventually("both instances to know n2 and one to apply to it", Duration::from_secs(15), || async {
        let on_a = a.expect(&ta, "GET", &n2, None, 200).await.ok()?;
        let on_b = b.expect(&tb, "GET", &n2, None, 200).await.ok()?;
        let applier = on_a["applier"].as_str()?.to_string();
        (on_a["status"].is_object() && on_b["applier"] == json!(applier)).then_some((applier, on_a["applying_here"].clone(), on_b["applying_here"].clone()))
    })
    .await?;
    let (n2_applier, a_applies, b_applies) = appliers;
    assert!(n2_applier == a_id || n2_applier == b_id, "{n2_applier}");
    assert_eq!((a_applies == json!(true), b_applies == json!(true)), (n2_applier == a_id, n2_applier == b_id), "exactly the holder applies");
    b.expect(&tb, "DELETE", &n2, None, 204).await?;
    eventually("n2's driver stopped on A too", Duration::from_secs(15), || async {
        let metrics = a.expect(&ta, "GET", "/metrics", None, 200).await.ok()?;
        let metrics = metrics.as_str()?;
        (metrics.contains("node=\"default\"") && !metrics.contains("node=\"n2\"")).then_some(())
    })
    .await?;

    // A dies without a word; B takes over and applies a change made meanwhile.
    let a_dir: TempDir = a.kill();
    let killed = Instant::now();
    add_did(&b, &tb, "5550002").await?;
    let taken = eventually("B to hold the node's lease", Duration::from_secs(30), || async {
        (applier(&b, &tb).await? == b_id).then(|| killed.elapsed())
    })
    .await?;
    let live = eventually("the DID made through B after A died, in Asterisk", Duration::from_secs(30), || async {
        runs_did(&ami, "5550002").await.then(|| killed.elapsed())
    })
    .await?;
    eprintln!("takeover: B holds the lease {taken:?} after A was killed; the DID created through B is live {live:?} after the kill");
    assert!(runs_did(&ami, "5550001").await, "the earlier DID is kept");
    let nodes = b.expect(&tb, "GET", NODES, None, 200).await?;
    assert_eq!(nodes["items"][0]["applier"], json!(b_id), "{nodes}");
    assert_eq!(nodes["items"][0]["applying_here"], json!(true), "{nodes}");
    let metrics = b.expect(&tb, "GET", "/metrics", None, 200).await?;
    let metrics = metrics.as_str().unwrap_or_default();
    assert!(metrics.lines().any(|line| line.starts_with("patchbay_node_applying{") && line.ends_with(" 1")), "{metrics}");
    // B reconciled: its own pass read Asterisk back and says it is in sync.
    eventually("B's status in sync", Duration::from_secs(20), || async {
        let status = b.expect(&tb, "GET", STATUS, None, 200).await.ok()?;
        (status["in_sync"] == true && status["applier"] == json!(b_id)).then_some(())
    })
    .await?;

    // A restarted on the database waits while B renews; B stopped cleanly
    // (SIGTERM, as `systemctl stop` sends) releases the lease, and A takes over
    // at once.
    let a2 = PatchbayServer::start_beside(&b, Some(&ami_url)).await?;
    let ta2 = a2.admin_token().await?;
    let a2_id = instance(&a2, &ta2).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(applier(&a2, &ta2).await.as_deref(), Some(b_id.as_str()), "B still renews its lease");
    let stopping = Instant::now();
    let interrupted = std::process::Command::new("kill").args(["-TERM", &b.pid().to_string()]).status()?;
    assert!(interrupted.success());
    let handed = eventually("the restarted A to hold the lease B released", Duration::from_secs(30), || async {
        (applier(&a2, &ta2).await? == a2_id).then(|| stopping.elapsed())
    })
    .await?;
    add_did(&a2, &ta2, "5550003").await?;
    eventually("the DID made through the restarted A, in Asterisk", Duration::from_secs(20), || async {
        runs_did(&ami, "5550003").await.then_some(())
    })
    .await?;
    eprintln!("clean handover: the restarted A holds the lease {handed:?} after B was asked to stop (the lease's TTL is 5 s)");
    assert!(runs_did(&ami, "5550001").await && runs_did(&ami, "5550002").await, "the earlier DIDs are kept");
    drop(b);
    drop(a2);
    drop(a_dir);
    Ok(())
}

/// One Patchbay killed and started again on its database: the new process
/// (a new instance id) waits for the dead one's lease to run out, then
/// applies what was committed meanwhile. Loopback 127.0.8.2, AMI port 16702.
#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_patchbay_applies_once_its_previous_lease_runs_out() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("fleet-ha-restart", "127.0.8.2", 16702).await?;
    let ami_url = asterisk.ami_url();
    let ami = asterisk.connect_ami().await?;
    let first = PatchbayServer::start(Some(&ami_url)).await?;
    let t = first.admin_token().await?;
    let first_id = instance(&first, &t).await?;
    eventually("the first process to hold the lease", Duration::from_secs(15), || async { (applier(&first, &t).await? == first_id).then_some(()) }).await?;
    let db = first.db.clone();
    let dir = first.kill();
    let killed = Instant::now();
    let again = PatchbayServer::start_on(dir, db, Some(&ami_url)).await?;
    let t = again.admin_token().await?;
    add_did(&again, &t, "5550101").await?;
    let live = eventually("the DID made after the restart, in Asterisk", Duration::from_secs(30), || async {
        runs_did(&ami, "5550101").await.then(|| killed.elapsed())
    })
    .await?;
    eprintln!("restart after kill -9: a DID created after the restart is live {live:?} after the kill (the dead process's lease lasts up to 5 s)");
    assert_ne!(applier(&again, &t).await, Some(first_id));
    Ok(())
}
