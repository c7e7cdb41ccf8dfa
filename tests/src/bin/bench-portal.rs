//! How long the browser app takes to show a page, in real Chromium on an
//! emulated network (latency per request and a download rate, the browser's
//! cache off): from the navigation to the page's heading, for each page
//! given, opened directly by a logged-in admin (a full page load: the app,
//! then the page's own code and its first API answers).
//!
//! Each `--dist` is a build of the app (Trunk's `dist/`, e.g. one extracted
//! from an older commit's `frontend/prebuilt/`), served by a fresh `patchbay`
//! of this checkout. Prints, per build and page, the median and best of the
//! rounds, the requests made and the bytes received (as sent: gzipped when
//! the build has gzip copies).
//!
//! Run: `cargo build -p patchbay-backend --bin patchbay && cargo run -p
//! patchbay-e2e --bin bench-portal -- --dist dist [--dist OTHER]
//! [--latency 40] [--kbit 10000] [--rounds 5]`.

use anyhow::{Context, bail};
use fantoccini::Locator;
use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer};
use patchbay_e2e::browser::Browser;
use serde_json::json;
use std::time::{Duration, Instant};

/// Each page and the heading that says it is shown.
const PAGES: &[(&str, &str)] = &[("/trunks", "Trunks"), ("/outcalls", "Outgoing routes"), ("/simulator", "Dial simulator"), ("/users", "Users")];

struct Options {
    dists: Vec<String>,
    latency_ms: u64,
    kbit: u64,
    rounds: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options { dists: Vec::new(), latency_ms: 40, kbit: 10_000, rounds: 5 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--dist" => options.dists.push(value()?),
            "--latency" => options.latency_ms = value()?.parse()?,
            "--kbit" => options.kbit = value()?.parse()?,
            "--rounds" => options.rounds = value()?.parse()?,
            other => bail!("unknown argument {other}"),
        }
    }
    if options.dists.is_empty() {
        options.dists.push("dist".into());
    }
    Ok(options)
}

/// Waits for the page's `<h1>` to read `heading`; the time since `start`.
async fn shown(browser: &Browser, heading: &str, start: Instant) -> anyhow::Result<Duration> {
    let deadline = start + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(element) = browser.client.find(Locator::Css("main h1")).await
            && element.text().await.unwrap_or_default().trim() == heading
        {
            return Ok(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("`{heading}` not shown within 60 s")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    println!(
        "network: {} ms per request, {} kbit/s down; cache off; {} rounds per page",
        options.latency_ms, options.kbit, options.rounds
    );
    for dist in &options.dists {
        let server = PatchbayServer::start_with_env(None, &[("PATCHBAY_DIST", dist)]).await?;
        let browser = Browser::start().await?;
        browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
        browser.cdp("Network.enable", json!({})).await?;
        browser.cdp("Network.setCacheDisabled", json!({"cacheDisabled": true})).await?;
        let bytes_per_s = options.kbit * 1000 / 8;
        browser
            .cdp(
                "Network.emulateNetworkConditions",
                json!({"offline": false, "latency": options.latency_ms, "downloadThroughput": bytes_per_s, "uploadThroughput": bytes_per_s}),
            )
            .await?;
        println!("\n{dist}");
        for (path, heading) in PAGES {
            let mut times = Vec::new();
            let mut requests = 0;
            let mut received = 0;
            for _ in 0..options.rounds {
                let start = Instant::now();
                browser.client.goto(&format!("{}{path}", server.base_url)).await?;
                times.push(shown(&browser, heading, start).await?);
                let resources = browser
                    .client
                    .execute(
                        "const r = performance.getEntriesByType('resource'); return [r.length + 1, r.reduce((s, e) => s + e.transferSize, 0) + performance.getEntriesByType('navigation')[0].transferSize];",
                        vec![],
                    )
                    .await?;
                requests = resources[0].as_u64().unwrap_or_default();
                received = resources[1].as_u64().unwrap_or_default();
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "  {path:<12} median {:>6.0} ms  best {:>6.0} ms  {requests:>4} requests  {:>9} B received (at the heading)",
                ms(times[times.len() / 2]),
                ms(times[0]),
                received
            );
        }
        let errors = browser.page_errors().await?;
        if !errors.is_empty() {
            bail!("page errors: {errors:?}");
        }
        browser.close().await?;
    }
    Ok(())
}
