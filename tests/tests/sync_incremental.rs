//! Incremental dialplan apply against a real Asterisk: one route changed on
//! a 10 000-route dialplan, live (`DialplanExtensionRemove`/`Add`, what the
//! user waits for) and the deferred in-place file edit, against a full
//! `dialplan reload` of the same file; then a reload racing the deferred
//! write, repaired by the forced re-apply. Prints the figures; asserts
//! correctness (live == file, nothing lost), not timings.
//!
//! Patchbay writes each tenant's dialplan in its own file
//! (`patchbay-extensions_<tenant>.conf`): the tests that go through the API
//! read the dialplan files through the base `extensions.conf`, which
//! includes them all.
//!
//! AMI port 15156, SIP address 127.0.0.56 (the sync_* range).

#[allow(dead_code)] // each test file uses part of it
mod sync_support;

use patchbay_backend::ami::config_writer::Section;
use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_backend::sync::{IncrementalPlan, apply_live, context_priorities, persist, read_file, same_config};
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use sync_support::status;

const ROUTES: usize = 10_000;
const CONTEXT: &str = "pb-routes";
const CHANGED: usize = 5_000;

fn routes(changed_label: &str) -> Vec<Section> {
    let mut lines = vec![("include".to_string(), "pb-internal".to_string())];
    for i in 0..ROUTES {
        let label = if i == CHANGED { changed_label.to_string() } else { format!("route {i}") };
        lines.push(("exten".into(), format!("7{i:05},1,NoOp({label})")));
        lines.push(("same".into(), format!("n,Dial(PJSIP/${{EXTEN}}@trunk-{},30)", i % 10)));
        lines.push(("same".into(), "n,Hangup()".into()));
    }
    vec![
        Section { name: "pb-internal".into(), lines: vec![("exten".into(), "100,1,Answer()".into())] },
        Section { name: CONTEXT.into(), lines },
    ]
}

fn text(sections: &[Section]) -> String {
    let mut out = String::new();
    for section in sections {
        out.push_str(&format!("[{}]\n", section.name));
        for (key, value) in &section.lines {
            out.push_str(&format!("{key} => {value}\n"));
        }
    }
    out
}

/// What `dialplan show 7NNNNN@pb-routes` says priority 1 does.
async fn route_shows(ami: &AmiClient, label: &str) -> anyhow::Result<bool> {
    let output = ami.command(&format!("dialplan show 7{CHANGED:05}@{CONTEXT}")).await?;
    Ok(output.iter().any(|line| line.contains(&format!("NoOp({label})"))))
}

async fn wait_for_route(ami: &AmiClient, label: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !route_shows(ami, label).await? {
        anyhow::ensure!(Instant::now() < deadline, "route never showed {label}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn one_route_on_10k_routes_incremental_vs_full_reload() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("sync-bench", "127.0.0.56", 15156).await?;
    let ami = asterisk.connect_ami().await?;
    let file = asterisk.config_dir().join("patchbay-extensions.conf");

    // Setup (test-only shortcut: the file is written on disk directly).
    std::fs::write(&file, text(&routes("start")))?;
    ami.command("dialplan reload").await?;
    wait_for_route(&ami, "start").await?;
    assert_eq!(context_priorities(&ami, CONTEXT).await?, Some(ROUTES * 3));

    // Full: the file changes one route, then `dialplan reload` until it shows.
    let mut full = Vec::new();
    for round in 0..3 {
        let label = format!("full {round}");
        std::fs::write(&file, text(&routes(&label)))?;
        let started = Instant::now();
        ami.command("dialplan reload").await?;
        wait_for_route(&ami, &label).await?;
        full.push(started.elapsed());
    }

    // Incremental: what the sync task does when only extensions changed.
    // The user-visible part is the live edits (the task reports the change
    // applied then); the file write follows in the background, coalesced.
    let mut read_times = Vec::new();
    let mut live_times = Vec::new();
    let mut file_times = Vec::new();
    let mut previous = "full 2".to_string();
    for round in 0..3 {
        let label = format!("incremental {round}");
        let started = Instant::now();
        // Only after a reload or reconnect: the task reads the file first.
        let current = read_file(&ami, "patchbay-extensions.conf").await?;
        read_times.push(started.elapsed());
        assert!(same_config(&current[1..], &routes(&previous)[1..]));
        let desired = routes(&label);
        let plan = IncrementalPlan::new(&current, &desired).expect("one changed route is incremental");
        assert_eq!(plan.edits(), 2, "one remove and one add");
        let started = Instant::now();
        apply_live(&ami, &plan).await?;
        live_times.push(started.elapsed());
        assert!(route_shows(&ami, &label).await?, "the live dialplan has the change at once");
        // Deferred: the in-place file edit.
        let started = Instant::now();
        persist(&ami, "patchbay-extensions.conf", &plan).await?;
        file_times.push(started.elapsed());
        assert!(same_config(&read_file(&ami, "patchbay-extensions.conf").await?, &desired), "file differs after round {round}");
        previous = label;
    }
    assert_eq!(context_priorities(&ami, CONTEXT).await?, Some(ROUTES * 3));
    // And a later reload loads exactly that.
    ami.command("dialplan reload").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_for_route(&ami, "incremental 2").await?;
    assert_eq!(context_priorities(&ami, CONTEXT).await?, Some(ROUTES * 3));
    let extensions = ami.send("Command", AmiMessage::new().with("Command", "dialplan show pb-internal")).await?;
    assert!(extensions.output().iter().any(|line| line.contains("Answer")));

    // The hazard of the deferred write, and its repair: a `dialplan reload`
    // by someone else between the live edit and the file write loads the old
    // file; the next pass (distrusting its model after the `Reload` event)
    // plans from the file and re-applies the extensions edited live.
    let current = read_file(&ami, "patchbay-extensions.conf").await?;
    let desired = routes("raced");
    let plan = IncrementalPlan::new(&current, &desired).expect("incremental");
    apply_live(&ami, &plan).await?;
    assert!(route_shows(&ami, "raced").await?);
    ami.command("dialplan reload").await?;
    wait_for_route(&ami, "incremental 2").await?;
    assert!(!route_shows(&ami, "raced").await?, "the reload went back to the file");
    let file = read_file(&ami, "patchbay-extensions.conf").await?;
    let mut repair = IncrementalPlan::new(&file, &desired).expect("incremental");
    repair.force(&plan.touched(), &desired);
    apply_live(&ami, &repair).await?;
    assert!(route_shows(&ami, "raced").await?, "re-applied after the reload");
    // A forced re-apply of an extension that is already right is harmless.
    let mut again = IncrementalPlan::new(&file, &desired).expect("incremental");
    again.force(&plan.touched(), &desired);
    apply_live(&ami, &again).await?;
    assert!(route_shows(&ami, "raced").await?);
    assert_eq!(context_priorities(&ami, CONTEXT).await?, Some(ROUTES * 3));

    let (full, read, live, file) = (median(full), median(read_times), median(live_times), median(file_times));
    eprintln!("10k routes ({} priorities), one route changed, median of 3:", ROUTES * 3);
    eprintln!("  full: file written + `dialplan reload` until the change shows: {full:?}");
    eprintln!("  incremental, user-visible (live edits, then reported applied): {live:?}");
    eprintln!("  incremental after a reload/reconnect (GetConfig of the file + live edits): {:?}", read + live);
    eprintln!("  deferred file write (background, coalesced, no reload): {file:?}");
    eprintln!(
        "  ratio full / incremental user-visible: {:.1}x; full / (GetConfig + live): {:.1}x; full / (live + file, the old synchronous path): {:.1}x",
        full.as_secs_f64() / live.as_secs_f64(),
        full.as_secs_f64() / (read + live).as_secs_f64(),
        full.as_secs_f64() / (live + file).as_secs_f64()
    );
    Ok(())
}

/// A DID `exten` in `from-extern` that hangs up, through the API.
async fn create_did(server: &PatchbayServer, token: &str, exten: &str) -> anyhow::Result<()> {
    let extension = server.expect(token, "POST", "/api/confd/1.1/extensions", Some(json!({"exten": exten, "context": "from-extern"})), 201).await?;
    let incall = server.expect(token, "POST", "/api/confd/1.1/incalls", Some(json!({"destination": {"type": "none"}})), 201).await?;
    server.expect(token, "PUT", &format!("/api/confd/1.1/incalls/{}/extensions/{}", incall["id"], extension["id"]), None, 204).await?;
    Ok(())
}

async fn shows_extension(ami: &AmiClient, exten: &str) -> bool {
    ami.command(&format!("dialplan show {exten}@from-extern")).await.is_ok_and(|lines| lines.iter().any(|line| line.contains(&format!("'{exten}' =>"))))
}

/// An API change goes through the sync task in incremental mode, is live at
/// once, survives a `dialplan reload` by someone else before the deferred
/// file write, and reaches the file.
///
/// AMI port 15157, SIP address 127.0.0.57.
#[tokio::test(flavor = "multi_thread")]
async fn an_api_change_is_applied_live_and_survives_a_reload_before_the_file_write() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("sync-api-incr", "127.0.0.57", 15157).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let token = server.admin_token().await?;
    let ami = asterisk.connect_ami().await?;
    create_did(&server, &token, "7001").await?;
    eventually("7001 live and in sync", Duration::from_secs(15), || async {
        let s = status(&server, &token).await.ok()?;
        (shows_extension(&ami, "7001").await && s["in_sync"] == true).then_some(())
    })
    .await?;
    let before = status(&server, &token).await?["last_apply"]["at"].clone();
    eprintln!("after 7001: {}", status(&server, &token).await?);

    create_did(&server, &token, "7002").await?;
    let applied = eventually("7002 live, by an incremental apply", Duration::from_secs(10), || async {
        let s = status(&server, &token).await.ok()?;
        (shows_extension(&ami, "7002").await && s["last_apply"]["mode"] == "incremental" && s["in_sync"] == true).then_some(s)
    })
    .await?;
    eprintln!("after 7002: {applied}");
    assert_eq!(applied["dialplan_file_pending"], true, "{applied}");
    assert_ne!(applied["last_apply"]["at"], Value::Null, "{before}");
    let file = read_file(&ami, "extensions.conf").await?;
    assert!(!format!("{file:?}").contains("7002"), "the file write is deferred");

    // Someone reloads the dialplan before the file write: the old file comes
    // back live, then the sync task (Reload event) puts 7002 back.
    // (`dialplan reload` emits no AMI event: the task notices by its sentinel.)
    ami.command("dialplan reload").await?;
    eventually("7002 back live after the reload", Duration::from_secs(10), || async { shows_extension(&ami, "7002").await.then_some(()) }).await?;
    eventually("7002 in the file", Duration::from_secs(15), || async {
        let file = read_file(&ami, "extensions.conf").await.ok()?;
        format!("{file:?}").contains("7002").then_some(())
    })
    .await?;
    let settled = eventually("no file write pending", Duration::from_secs(10), || async {
        status(&server, &token).await.ok().filter(|s| s["dialplan_file_pending"] == false && s["in_sync"] == true)
    })
    .await?;
    eprintln!("settled: {settled}");
    // A reload now loads exactly what runs.
    ami.command("dialplan reload").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(shows_extension(&ami, "7001").await && shows_extension(&ami, "7002").await);

    // Several changes in a row: each live at once, one coalesced file write.
    for exten in ["7003", "7004", "7005"] {
        create_did(&server, &token, exten).await?;
    }
    eventually("7003..7005 live", Duration::from_secs(10), || async {
        let mut all = true;
        for exten in ["7003", "7004", "7005"] {
            all &= shows_extension(&ami, exten).await;
        }
        all.then_some(())
    })
    .await?;
    eventually("7003..7005 in the file", Duration::from_secs(20), || async {
        let file = format!("{:?}", read_file(&ami, "extensions.conf").await.ok()?);
        ["7003", "7004", "7005"].iter().all(|e| file.contains(e)).then_some(())
    })
    .await?;
    Ok(())
}

/// A write through the API, answering its body and the store revision
/// after it (`Patchbay-Revision`).
async fn write(server: &PatchbayServer, token: &str, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<(Value, u64)> {
    let request = reqwest::Client::new()
        .request(method.parse()?, format!("{}{path}", server.base_url))
        .header("X-Auth-Token", token)
        .json(&body.unwrap_or(Value::Null));
    let response = request.send().await?;
    anyhow::ensure!(response.status().is_success(), "{method} {path}: {}", response.status());
    let revision = response.headers().get("patchbay-revision").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let revision = revision.ok_or_else(|| anyhow::anyhow!("{method} {path}: no Patchbay-Revision"))?;
    let text = response.text().await?;
    Ok((if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? }, revision))
}

/// The status once a pass covered `revision` (or after 20 s).
async fn status_at(server: &PatchbayServer, token: &str, revision: u64) -> anyhow::Result<Value> {
    server.expect(token, "GET", &format!("/api/patchbay/1.0/status?wait_for={revision}&timeout=20000"), None, 200).await
}

/// `dialplan show EXTEN@CONTEXT`, the lines of its priorities.
async fn priorities(ami: &AmiClient, exten: &str, context: &str) -> Vec<String> {
    let is_priority = |line: &String| line.split_whitespace().any(|word| word.strip_suffix('.').is_some_and(|n| n.parse::<u32>().is_ok()));
    ami.command(&format!("dialplan show {exten}@{context}")).await.unwrap_or_default().into_iter().filter(is_priority).collect()
}

/// Outcall patterns carry labels (`n(dial)`, `n(cid_route)`…), which no live
/// edit can set; a new pattern still goes live through the incremental path
/// (jumps resolved to priority numbers), as does a new outcall, whose
/// subroutine is a new context. The status says "pending" while a change has
/// not reached Asterisk and, once it has, the revision Asterisk holds.
///
/// AMI port 16100, SIP address 127.0.2.1.
#[tokio::test(flavor = "multi_thread")]
async fn labelled_outcall_patterns_and_new_contexts_go_live_and_status_tells_pending_then_the_revision() -> anyhow::Result<()> {
    // Patchbay first: the change is made while no Asterisk can take it.
    let server = PatchbayServer::start(Some(&AsteriskInstance::ami_url_for(16100))).await?;
    let token = server.admin_token().await?;
    let (_, trunk) = sync_support::sip_trunk(&server, &token, "labels-trunk", "127.0.2.2", json!([]), None).await?;
    let (outcall, _) = write(&server, &token, "POST", "/api/confd/1.1/outcalls", Some(json!({"name": "labelled"}))).await?;
    write(&server, &token, "PUT", &format!("/api/confd/1.1/outcalls/{}/trunks", outcall["id"]), Some(json!({"trunks": [{"id": trunk["id"]}]}))).await?;
    let (first, _) = write(&server, &token, "POST", "/api/confd/1.1/extensions", Some(json!({"exten": "_0X.", "context": "to-extern"}))).await?;
    let (_, committed) = write(&server, &token, "PUT", &format!("/api/confd/1.1/outcalls/{}/extensions/{}", outcall["id"], first["id"]), Some(json!({"caller_id": "Sales <5551000>"}))).await?;
    let waiting = status(&server, &token).await?;
    assert_eq!(waiting["pending"], true, "{waiting}");
    assert_eq!(waiting["revision_live"], Value::Null, "no Asterisk, nothing read back: {waiting}");
    assert_eq!(waiting["in_sync"], false, "{waiting}");
    assert!(waiting["revision"].as_u64() >= Some(committed), "{waiting}");

    let asterisk = AsteriskInstance::start("sync-labels", "127.0.2.1", 16100).await?;
    let ami = asterisk.connect_ami().await?;
    let live = eventually("the first pattern live", Duration::from_secs(30), || async {
        let s = status_at(&server, &token, committed).await.ok()?;
        (s["revision_live"].as_u64() >= Some(committed) && s["pending"] == false).then_some(s)
    })
    .await?;
    eprintln!("live: {live}");
    assert_eq!(live["in_sync"], true, "{live}");
    // The file's labels, as the renderer writes them, after the full write.
    let shown = priorities(&ami, "_0X.", "to-extern").await;
    assert!(shown.iter().any(|line| line.contains("[dial]")), "{shown:?}");

    // A second pattern, with its labels: live at once, without a reload.
    let (second, _) = write(&server, &token, "POST", "/api/confd/1.1/extensions", Some(json!({"exten": "_00X.", "context": "to-extern"}))).await?;
    let (_, revision) = write(&server, &token, "PUT", &format!("/api/confd/1.1/outcalls/{}/extensions/{}", outcall["id"], second["id"]), Some(json!({"strip_digits": 2, "caller_id": "Sales <5551000>"}))).await?;
    let applied = status_at(&server, &token, revision).await?;
    eprintln!("second pattern: {applied}");
    assert!(applied["revision_live"].as_u64() >= Some(revision), "{applied}");
    assert_eq!(applied["last_apply"]["mode"], "incremental", "{applied}");
    let live_priorities = priorities(&ami, "_00X.", "to-extern").await;
    let reference = priorities(&ami, "_0X.", "to-extern").await;
    assert_eq!(live_priorities.len(), reference.len(), "every priority live: {live_priorities:?}");
    assert!(live_priorities.iter().any(|line| line.contains("Gosub(pb-outcall-") && line.contains("EXTEN:2")), "{live_priorities:?}");
    // `Goto(dial)` became the number of the priority labelled `dial`.
    let dial = reference.iter().position(|line| line.contains("[dial]")).expect("labelled dial") + 1;
    assert!(live_priorities.iter().any(|line| line.contains(&format!("Goto({dial})"))), "{live_priorities:?}");

    // A new outcall: its subroutine is a new context, added live too.
    let (other, _) = write(&server, &token, "POST", "/api/confd/1.1/outcalls", Some(json!({"name": "second-route"}))).await?;
    write(&server, &token, "PUT", &format!("/api/confd/1.1/outcalls/{}/trunks", other["id"]), Some(json!({"trunks": [{"id": trunk["id"]}]}))).await?;
    let (third, _) = write(&server, &token, "POST", "/api/confd/1.1/extensions", Some(json!({"exten": "_1X.", "context": "to-extern"}))).await?;
    let (_, revision) = write(&server, &token, "PUT", &format!("/api/confd/1.1/outcalls/{}/extensions/{}", other["id"], third["id"]), Some(json!({}))).await?;
    let applied = status_at(&server, &token, revision).await?;
    eprintln!("new outcall: {applied}");
    assert!(applied["revision_live"].as_u64() >= Some(revision), "{applied}");
    assert_eq!(applied["last_apply"]["mode"], "incremental", "{applied}");
    let subroutine = format!("pb-outcall-{}", other["id"]);
    let shown = ami.command(&format!("dialplan show {subroutine}")).await?;
    assert!(shown.iter().any(|line| line.contains("Dial(PJSIP/")), "{shown:?}");

    // The file follows in the background, with its labels; a reload then
    // loads the same call flow.
    eventually("the patterns in the file", Duration::from_secs(20), || async {
        let file = format!("{:?}", read_file(&ami, "extensions.conf").await.ok()?);
        (file.contains("_00X.") && file.contains(&subroutine)).then_some(())
    })
    .await?;
    eventually("no file write pending", Duration::from_secs(20), || async {
        status(&server, &token).await.ok().filter(|s| s["dialplan_file_pending"] == false).map(|_| ())
    })
    .await?;
    ami.command("dialplan reload").await?;
    eventually("the labels back after a reload", Duration::from_secs(10), || async {
        let shown = priorities(&ami, "_00X.", "to-extern").await;
        (shown.len() == reference.len() && shown.iter().any(|line| line.contains("[dial]"))).then_some(())
    })
    .await?;
    Ok(())
}
