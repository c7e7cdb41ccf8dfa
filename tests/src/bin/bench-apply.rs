//! How the time to apply one change grows with the number of tenants, on a
//! real Asterisk 22. For each population size given (default: 10 100):
//! - the API create rate (one client, requests in sequence) while creating
//!   each tenant's SIP trunk, two outcalls with a pattern each (carrying the
//!   labels the renderer really emits) and two DIDs;
//! - the time until Asterisk holds the whole population after the last API
//!   call (`/status?wait_for=`, read back by the sync task);
//! - the time for one changed route (a new caller ID on a pattern) to show
//!   in `dialplan show`, and for one new trunk to be listed by
//!   `PJSIPShowEndpoint`, each measured from the API call, median of 3.
//!
//! Run: `cargo build -p patchbay-backend --bin patchbay && cargo run -p
//! patchbay-e2e --bin bench-apply -- 10 100` (add `--release` to both for
//! release figures). Asterisk on 127.0.2.10, AMI port 16110, unless
//! `BENCH_IP` / `BENCH_AMI_PORT` say otherwise; `BENCH_ROUNDS` changes how
//! many route changes and new trunks are timed (3), e.g. to profile them.
//! `BENCH_ARI=1`: the node has ARI access (its SIP trunks' objects pushed
//! into Asterisk's memory wizard, no res_pjsip reload for a trunk).

use anyhow::{Context, bail};
use patchbay_backend::ami::config_writer;
use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_backend::sync::read_file;
use patchbay_e2e::app::PatchbayServer;
use patchbay_e2e::asterisk::AsteriskInstance;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const C: &str = "/api/confd/1.1";

struct Api {
    server: PatchbayServer,
    token: String,
    requests: u64,
}

impl Api {
    async fn call(&mut self, tenant: Option<&str>, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<(Value, u64)> {
        self.requests += 1;
        self.server.call_for(&self.token, tenant, method, path, body).await
    }
}

struct Tenant {
    uuid: String,
    outcall_context: String,
    /// (outcall id, pattern extension id) of its first route.
    route: (u64, u64),
}

async fn context(api: &mut Api, tenant: &str, kind: &str) -> anyhow::Result<String> {
    let (contexts, _) = api.call(Some(tenant), "GET", &format!("{C}/contexts"), None).await?;
    contexts["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["type"] == kind))
        .and_then(|c| c["name"].as_str())
        .map(str::to_string)
        .with_context(|| format!("no {kind} context: {contexts}"))
}

async fn sip_trunk(api: &mut Api, tenant: &str, name: &str, host: &str) -> anyhow::Result<u64> {
    let (endpoint, _) = api
        .call(Some(tenant), "POST", &format!("{C}/endpoints/sip"), Some(json!({
            "name": name, "label": name,
            "auth_section_options": [["username", name], ["password", "bench-secret-1"]],
            "aor_section_options": [["contact", format!("sip:{host}:5060")]],
            "identify_section_options": [["match", host]],
        })))
        .await?;
    let (trunk, _) = api.call(Some(tenant), "POST", &format!("{C}/trunks"), Some(json!({}))).await?;
    let uuid = endpoint["uuid"].as_str().unwrap_or_default();
    let (_, revision) = api.call(Some(tenant), "PUT", &format!("{C}/trunks/{}/endpoints/sip/{uuid}", trunk["id"]), None).await?;
    let _ = revision;
    trunk["id"].as_u64().context("trunk id")
}

/// One tenant's population; returns it and the revision after its last write.
async fn populate(api: &mut Api, index: usize) -> anyhow::Result<(Tenant, u64)> {
    let slug = format!("bench{index}");
    let (tenant, _) = api.call(None, "POST", "/api/auth/0.1/tenants", Some(json!({"name": slug, "slug": slug}))).await?;
    let uuid = tenant["uuid"].as_str().context("tenant uuid")?.to_string();
    let trunk = sip_trunk(api, &uuid, &format!("bench{index}-trunk"), &format!("10.{}.{}.1", index / 250, index % 250)).await?;
    let outcall_context = context(api, &uuid, "outcall").await?;
    let incall_context = context(api, &uuid, "incall").await?;
    let mut route = (0, 0);
    let mut revision = 0;
    for (n, pattern) in ["_0X.", "_00X."].iter().enumerate() {
        let (outcall, _) = api.call(Some(&uuid), "POST", &format!("{C}/outcalls"), Some(json!({"name": format!("bench{index}-route{n}")}))).await?;
        api.call(Some(&uuid), "PUT", &format!("{C}/outcalls/{}/trunks", outcall["id"]), Some(json!({"trunks": [{"id": trunk}]}))).await?;
        let (extension, _) = api.call(Some(&uuid), "POST", &format!("{C}/extensions"), Some(json!({"exten": pattern, "context": outcall_context}))).await?;
        api.call(Some(&uuid), "PUT", &format!("{C}/outcalls/{}/extensions/{}", outcall["id"], extension["id"]), Some(json!({"caller_id": "Bench <5550000>"}))).await?;
        if n == 0 {
            route = (outcall["id"].as_u64().unwrap_or(0), extension["id"].as_u64().unwrap_or(0));
        }
    }
    for did in 0..2 {
        let (extension, _) = api.call(Some(&uuid), "POST", &format!("{C}/extensions"), Some(json!({"exten": format!("5551{index:04}{did}"), "context": incall_context}))).await?;
        let (incall, _) = api.call(Some(&uuid), "POST", &format!("{C}/incalls"), Some(json!({"destination": {"type": "none"}}))).await?;
        let (_, r) = api.call(Some(&uuid), "PUT", &format!("{C}/incalls/{}/extensions/{}", incall["id"], extension["id"]), None).await?;
        revision = r;
    }
    Ok((Tenant { uuid, outcall_context, route }, revision))
}

async fn wait_live(api: &mut Api, revision: u64) -> anyhow::Result<()> {
    loop {
        let (status, _) = api.call(None, "GET", &format!("/api/patchbay/1.0/status?wait_for={revision}&timeout=30000"), None).await?;
        if status["revision_live"].as_u64() >= Some(revision) {
            return Ok(());
        }
        if status["revision_checked"].as_u64() >= Some(revision) {
            bail!("revision {revision} checked but not live: {status}");
        }
    }
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(1800);
    while !check().await {
        if Instant::now() > deadline {
            bail!("{what}: not within 30 min");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// Polls `/status` until `done` says so (30 min at most).
async fn wait_status(api: &mut Api, done: impl Fn(&Value) -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let (status, _) = api.call(None, "GET", "/api/patchbay/1.0/status", None).await?;
        if done(&status) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("status not reached within 30 min: {status}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Resident memory of `pid` and every process under it, in MB.
fn rss_mb(pid: u32) -> u64 {
    let mut total = 0;
    let mut pids = vec![pid];
    while let Some(pid) = pids.pop() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        total += status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()).unwrap_or(0);
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            pids.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
    }
    total / 1024
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

async fn run(tenants: usize) -> anyhow::Result<()> {
    let ip = std::env::var("BENCH_IP").unwrap_or_else(|_| "127.0.2.10".into());
    let port = std::env::var("BENCH_AMI_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(16110);
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let ari = std::env::var("BENCH_ARI").is_ok_and(|v| v == "1");
    let mut asterisk =
        if ari { AsteriskInstance::start_with_ari("bench-apply", &ip, port).await? } else { AsteriskInstance::start("bench-apply", &ip, port).await? };
    let ami: AmiClient = asterisk.connect_ami().await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    eprintln!("patchbay pid {}, asterisk pid {}", server.pid(), asterisk.pid());
    let token = server.admin_token().await?;
    if ari {
        let (nodes, _) = server.call_for(&token, None, "GET", "/api/patchbay/1.0/nodes", None).await?;
        let body = json!({"ari_url": asterisk.ari_url(), "ari_username": patchbay_e2e::asterisk::ARI_USER, "ari_secret": patchbay_e2e::asterisk::ARI_SECRET});
        server.call_for(&token, None, "PUT", &format!("/api/patchbay/1.0/nodes/{}", nodes["items"][0]["id"]), Some(body)).await?;
    }
    let mut api = Api { server, token, requests: 0 };

    let started = Instant::now();
    let mut population = Vec::new();
    let mut last = 0;
    let mut step = (Instant::now(), 0u64);
    for index in 0..tenants {
        let (tenant, revision) = populate(&mut api, index).await?;
        population.push(tenant);
        last = revision;
        if (index + 1) % 100 == 0 {
            // The rate per hundred tenants: flat, or falling as they grow.
            let rate = (api.requests - step.1) as f64 / step.0.elapsed().as_secs_f64();
            eprintln!("tenants {}..{}: {rate:.0} req/s", index - 98, index + 1);
            step = (Instant::now(), api.requests);
        }
    }
    let create = started.elapsed();
    let created = api.requests;
    let rate = created as f64 / create.as_secs_f64();
    let after_last = Instant::now();
    wait_live(&mut api, last).await?;
    let whole = after_last.elapsed();

    // One changed route, in the middle tenant.
    let tenant = &population[tenants / 2];
    let mut route_times = Vec::new();
    for round in 0..rounds {
        let number = format!("556{round:04}");
        let started = Instant::now();
        api.call(Some(&tenant.uuid), "PUT", &format!("{C}/outcalls/{}/extensions/{}", tenant.route.0, tenant.route.1), Some(json!({"caller_id": format!("Bench <{number}>")})))
            .await?;
        let answered = started.elapsed();
        let command = format!("dialplan show _0X.@{}", tenant.outcall_context);
        until("the changed route", async || ami.command(&command).await.is_ok_and(|lines| lines.iter().any(|l| l.contains(&number)))).await?;
        route_times.push(started.elapsed());
        let (status, _) = api.call(None, "GET", "/api/patchbay/1.0/status", None).await?;
        eprintln!("route change: API answered in {answered:?}, visible after {:?}; last apply {}", started.elapsed(), status["last_apply"]);
    }
    // One new trunk.
    let mut trunk_times = Vec::new();
    for round in 0..rounds {
        let name = format!("bench-new-{round}");
        let started = Instant::now();
        sip_trunk(&mut api, &tenant.uuid, &name, &format!("10.255.{}.{}", round / 250, round % 250 + 1)).await?;
        until("the new trunk", async || ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", name.as_str())).await.is_ok()).await?;
        trunk_times.push(started.elapsed());
    }
    eprintln!("new trunk visible after {trunk_times:?}");
    // The row now: the restarts below may fail on a loaded machine.
    println!(
        "| {tenants} | {rate:.0} req/s ({created} requests in {:.2} s) | {:?} | {:?} | {:.2} s |",
        create.as_secs_f64(),
        median(route_times.clone()),
        median(trunk_times.clone()),
        whole.as_secs_f64()
    );
    // Per-tenant PJSIP files, evaluated (only with BENCH_SCRATCH set: at
    // 1,000 tenants the whole write takes about a minute, and the reload
    // after it outlasted the AMI client's timeout): what one whole-file write costs
    // against writing one tenant's sections alone (to a scratch file), and
    // what a res_pjsip reload costs (it reads every included file anyway).
    // Through the base file: its glob includes every tenant file.
    if std::env::var_os("BENCH_SCRATCH").is_some() {
        let pjsip = read_file(&ami, "pjsip.conf").await?;
        let marker = format!("bench{}-", tenants / 2);
        let own: Vec<_> = pjsip.iter().filter(|section| section.name.contains(&marker)).cloned().collect();
        let started = Instant::now();
        config_writer::write_config(&ami, "patchbay-bench-scratch.conf", &pjsip, None).await?;
        let whole_write = started.elapsed();
        let started = Instant::now();
        config_writer::write_config(&ami, "patchbay-bench-scratch.conf", &own, None).await?;
        let own_write = started.elapsed();
        let started = Instant::now();
        ami.command("module reload res_pjsip.so").await?;
        let reload = started.elapsed();
        eprintln!(
            "{tenants} tenants: writing the whole PJSIP file ({} sections) {whole_write:?}; one tenant's {} sections alone {own_write:?}; `module reload res_pjsip.so` {reload:?}",
            pjsip.len(),
            own.len()
        );
    }
    // Full re-apply after an Asterisk restart: killed (as a crash), booted
    // again on its files, until Patchbay has read everything back (its
    // status in sync again); then once more with Patchbay's files wiped
    // (a new Asterisk: everything written again).
    let (status, _) = api.call(None, "GET", "/api/patchbay/1.0/status", None).await?;
    let revision = status["revision"].as_u64().context("status revision")?;
    let memory = format!("Patchbay {} MB, Asterisk {} MB", rss_mb(api.server.pid()), rss_mb(asterisk.pid()));
    let mut restarts = Vec::new();
    for wipe in [false, true] {
        asterisk.kill();
        wait_status(&mut api, |status| status["connected"] == false).await?;
        if wipe {
            for entry in std::fs::read_dir(asterisk.config_dir())? {
                let path = entry?.path();
                if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("patchbay-")) {
                    std::fs::remove_file(path)?;
                }
            }
        }
        let started = Instant::now();
        asterisk.start_again().await?;
        let booted = started.elapsed();
        wait_status(&mut api, |status| status["connected"] == true && status["in_sync"] == true && status["revision_live"].as_u64() >= Some(revision)).await?;
        let whole = started.elapsed();
        eprintln!("restart{}: Asterisk booted in {booted:?}, everything read back in sync {whole:?} after the start", if wipe { " with Patchbay's files wiped" } else { "" });
        restarts.push(whole);
    }
    eprintln!("memory after the run: {memory}");
    println!("restart on its files {:.1} s, with Patchbay's files wiped {:.1} s; {memory}", restarts[0].as_secs_f64(), restarts[1].as_secs_f64());
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() { vec![10, 100] } else { sizes };
    println!("| tenants | API create rate | one changed route visible | one new trunk visible | whole population held after the last API call |");
    println!("|---:|---:|---:|---:|---:|");
    for tenants in sizes {
        run(tenants).await?;
    }
    Ok(())
}
