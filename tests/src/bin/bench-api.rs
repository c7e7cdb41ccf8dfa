//! The confd API under load, on a real `patchbay` (no Asterisk attached):
//! - `GET /api/confd/1.1/trunks` (12 SIP trunks, 3 outcalls using them) at
//!   a steady rate (default 1,000 req/s for 10 s, open loop: each
//!   request's latency counts from when it was due, so a stall shows as
//!   the queue behind it), then the maximum rate (32 clients in a closed
//!   loop for 5 s);
//! - `POST /api/confd/1.1/extensions`, one client in sequence, p50/p99 with
//!   each population of extensions already stored (default 0, 10000,
//!   100000; bulk-seeded straight into SQLite);
//! - at the largest population, `GET /extensions` with `search`, `order`,
//!   `direction`, `limit` and `offset`, p50/p99.
//!
//! Run: `cargo build --release -p patchbay-backend --bin patchbay && cargo run
//! --release -p patchbay-e2e --bin bench-api -- [--rate 1000] [--sizes 0,10000,100000]`.
//! `PATCHBAY_BINARY=/path/to/patchbay` measures another build (a schema-3
//! database is seeded through its `objects` table). `PATCHBAY_TEST_DB=postgres`
//! runs the server on a fresh PostgreSQL database (`--sizes 0` only).

use anyhow::{Context, bail};
use patchbay_e2e::app::PatchbayServer;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const C: &str = "/api/confd/1.1";

struct Figures(Vec<Duration>);

impl Figures {
    fn pct(&self, p: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let index = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        sorted[index].as_secs_f64() * 1000.0
    }
    fn line(&self) -> String {
        format!("p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} requests)", self.pct(50.0), self.pct(99.0), self.pct(100.0), self.0.len())
    }
}

async fn send(http: &reqwest::Client, token: &str, method: &str, url: &str, body: Option<&Value>) -> anyhow::Result<Value> {
    let mut request = http.request(method.parse()?, url).header("X-Auth-Token", token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{method} {url}: {status}: {text}");
    }
    Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? })
}

/// A GET under load: the status checked and the body read, not parsed
/// (the client shares the machine with the server it measures).
async fn fetch(http: &reqwest::Client, token: &str, url: &str) -> anyhow::Result<()> {
    let response = http.get(url).header("X-Auth-Token", token).send().await?;
    let ok = response.status().is_success();
    response.bytes().await?;
    if !ok {
        bail!("GET {url} failed");
    }
    Ok(())
}

/// `total` extensions stored, counting what is there: rows written in one
/// transaction straight into the database (the schema this binary made).
fn seed_extensions(db: &std::path::Path, tenant: &str, context: &str, total: usize) -> anyhow::Result<()> {
    if total == 0 {
        return Ok(());
    }
    if patchbay_e2e::app::on_postgres() {
        bail!("seeding is SQLite's only: on PostgreSQL, measure with --sizes 0");
    }
    let mut conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let legacy: bool = conn.query_row("SELECT count(*) > 0 FROM sqlite_master WHERE name = 'objects'", [], |r| r.get(0))?;
    let (count_sql, insert_sql) = if legacy {
        ("SELECT count(*), COALESCE(MAX(id), 0) FROM objects WHERE kind = 'extension'", "INSERT INTO objects (kind, id, tenant_uuid, body) VALUES ('extension', ?1, ?2, ?3)")
    } else {
        ("SELECT count(*), COALESCE(MAX(id), 0) FROM extensions", "INSERT INTO extensions (id, tenant_uuid, body) VALUES (?1, ?2, ?3)")
    };
    let (have, max_id): (i64, i64) = conn.query_row(count_sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(insert_sql)?;
        for n in have as usize..total {
            let id = max_id + 1 + (n - have as usize) as i64;
            let body = json!({"context": context, "enabled": true, "exten": format!("7{n:06}")}).to_string();
            insert.execute(rusqlite::params![id, tenant, body])?;
        }
    }
    tx.commit()?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut rate = 1000.0_f64;
    let mut seconds = 10.0_f64;
    let mut sizes = vec![0usize, 10_000, 100_000];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rate" => rate = args.next().context("--rate N")?.parse()?,
            "--seconds" => seconds = args.next().context("--seconds N")?.parse()?,
            "--sizes" => sizes = args.next().context("--sizes a,b,c")?.split(',').map(str::parse).collect::<Result<_, _>>()?,
            other => bail!("unknown argument {other}"),
        }
    }
    let server = PatchbayServer::start(None).await?;
    let token = server.admin_token().await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let base = server.base_url.clone();
    let url = |path: &str| format!("{base}{C}{path}");

    // 12 SIP trunks, 3 outcalls over them.
    let mut trunks = Vec::new();
    for n in 0..12 {
        let endpoint = send(&http, &token, "POST", &url("/endpoints/sip"), Some(&json!({
            "name": format!("bench-provider-{n}"), "label": format!("Provider {n}"),
            "auth_section_options": [["username", format!("user{n}")], ["password", "secret-password"]],
            "aor_section_options": [["contact", format!("sip:provider{n}.example.com")]],
        }))).await?;
        let trunk = send(&http, &token, "POST", &url("/trunks"), Some(&json!({"context": "from-extern"}))).await?;
        let trunk_id = trunk["id"].as_i64().context("trunk id")?;
        send(&http, &token, "PUT", &url(&format!("/trunks/{trunk_id}/endpoints/sip/{}", endpoint["uuid"].as_str().context("uuid")?)), None).await?;
        trunks.push(trunk_id);
    }
    for (n, chunk) in trunks.chunks(4).enumerate() {
        let outcall = send(&http, &token, "POST", &url("/outcalls"), Some(&json!({"name": format!("bench-route-{n}")}))).await?;
        let list: Vec<Value> = chunk.iter().map(|id| json!({"id": id})).collect();
        send(&http, &token, "PUT", &url(&format!("/outcalls/{}/trunks", outcall["id"])), Some(&json!({"trunks": list}))).await?;
    }

    // GET /trunks at a steady rate.
    let trunks_url = url("/trunks");
    let total = (rate * seconds) as usize;
    let start = Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::with_capacity(total);
    let failures = Arc::new(AtomicU64::new(0));
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (http, token, trunks_url, failures) = (http.clone(), token.clone(), trunks_url.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            if fetch(&http, &token, &trunks_url).await.is_err() {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            due.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.push(task.await?);
    }
    let achieved = total as f64 / (Instant::now() - start).as_secs_f64();
    println!("GET /trunks at {rate} req/s for {seconds} s: {} (achieved {achieved:.0} req/s, {} failed)", Figures(latencies).line(), failures.load(Ordering::Relaxed));

    // Maximum rate: 32 clients in a closed loop.
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(5);
    let mut workers = Vec::new();
    for _ in 0..32 {
        let (http, token, trunks_url, done) = (http.clone(), token.clone(), trunks_url.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            while Instant::now() < until {
                if fetch(&http, &token, &trunks_url).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    println!("GET /trunks maximum: {:.0} req/s (32 clients, 5 s)", done.load(Ordering::Relaxed) as f64 / 5.0);

    // POST /extensions with N rows stored.
    let contexts = send(&http, &token, "GET", &url("/contexts?type=internal"), None).await?;
    let context = contexts["items"][0]["name"].as_str().context("an internal context")?.to_string();
    let tenant = contexts["items"][0]["tenant_uuid"].as_str().context("tenant")?.to_string();
    let mut next = 0usize;
    for &size in &sizes {
        seed_extensions(&server.db, &tenant, &context, size)?;
        let mut latencies = Vec::new();
        for _ in 0..300 {
            let body = json!({"exten": format!("8{next:06}"), "context": context});
            next += 1;
            let t = Instant::now();
            send(&http, &token, "POST", &url("/extensions"), Some(&body)).await?;
            latencies.push(t.elapsed());
        }
        println!("POST /extensions with {size} stored: {}", Figures(latencies).line());
    }

    // A searched, ordered, paged list at the largest population.
    let largest = sizes.iter().max().copied().unwrap_or(0);
    let mut latencies = Vec::new();
    let mut shown = Value::Null;
    for n in 0..200 {
        let path = format!("/extensions?search=7{:02}&order=exten&direction=desc&limit=25&offset={}", n % 100, 25 * (n % 4));
        let t = Instant::now();
        shown = send(&http, &token, "GET", &url(&path), None).await?;
        latencies.push(t.elapsed());
    }
    println!("GET /extensions?search&order&limit&offset with {largest} stored: {} (last total {})", Figures(latencies).line(), shown["total"]);
    Ok(())
}
