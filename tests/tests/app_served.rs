//! The browser app as the server sends it (from `dist/`, as `scripts/run.sh`
//! serves it): the first load is the page, the main module and two scripts,
//! gzipped for a browser that accepts gzip; each page group's module and
//! every shared chunk named by the loader are there too; any other path gets
//! the app (client-side routing).
//!
//! The first load's gzipped bytes are held under issue #13's 300 KB: the
//! pages' code must stay in their groups (`wasm_split` views in
//! `frontend/src/app.rs`), not drift back into the main module.

use patchbay_e2e::app::PatchbayServer;

const FIRST_LOAD_LIMIT: usize = 300 * 1024;

#[tokio::test]
async fn the_app_is_served_split_and_gzipped() -> anyhow::Result<()> {
    let server = PatchbayServer::start(None).await?;
    let http = reqwest::Client::new();
    let base = &server.base_url;
    let index = http.get(format!("{base}/")).send().await?.text().await?;
    let named = |suffix: &str| {
        index.split('"').find(|part| part.starts_with("/app-") && part.ends_with(suffix)).map(str::to_owned)
    };
    let main_module = named("_bg.wasm").expect("index.html names the main module");
    let main_script = named("/patchbay-frontend.js").expect("index.html names the main script");
    let loader = named("/__wasm_split.js").expect("index.html names the chunk loader");

    let mut first_load = 0;
    for (path, content_type, magic) in [
        (&main_module, "application/wasm", &b"\0asm"[..]),
        (&main_script, "text/javascript", &b"import"[..]),
        (&loader, "text/javascript", &b"import"[..]),
    ] {
        let plain = http.get(format!("{base}{path}")).send().await?;
        assert_eq!(plain.status().as_u16(), 200, "{path}");
        assert!(plain.headers()["content-type"].to_str()?.starts_with(content_type), "{path}: {:?}", plain.headers());
        assert!(plain.headers().get("content-encoding").is_none(), "{path}: no gzip unless asked");
        let plain = plain.bytes().await?;
        assert!(plain.starts_with(magic), "{path} starts with {magic:?}");

        let gzipped = http.get(format!("{base}{path}")).header("accept-encoding", "gzip, deflate, br").send().await?;
        assert_eq!(gzipped.headers()["content-encoding"], "gzip", "{path}");
        assert!(gzipped.headers()["content-type"].to_str()?.starts_with(content_type), "{path}");
        let gzipped = gzipped.bytes().await?;
        assert!(gzipped.starts_with(&[0x1f, 0x8b]), "{path} is gzip");
        assert!(gzipped.len() < plain.len(), "{path}: {} gzipped, {} plain", gzipped.len(), plain.len());
        first_load += gzipped.len();
    }
    assert!(first_load <= FIRST_LOAD_LIMIT, "first load: {first_load} B gzipped, over {FIRST_LOAD_LIMIT}");

    // Every chunk the loader names is served as WebAssembly, from beside it.
    let loader_text = http.get(format!("{base}{loader}")).send().await?.text().await?;
    let directory = loader.rsplit_once('/').expect("a path").0;
    let chunks: Vec<&str> = loader_text.split('"').filter(|part| part.starts_with("./") && part.ends_with(".wasm")).collect();
    for group in ["trunks", "routes", "platform", "audit"] {
        assert!(chunks.contains(&format!("./split_{group}.wasm").as_str()), "the {group} pages have their module: {chunks:?}");
    }
    for chunk in &chunks {
        let response = http.get(format!("{base}{directory}/{}", chunk.trim_start_matches("./"))).send().await?;
        assert_eq!(response.status().as_u16(), 200, "{chunk}");
        assert_eq!(response.headers()["content-type"], "application/wasm", "{chunk}");
        assert!(response.bytes().await?.starts_with(b"\0asm"), "{chunk}");
    }

    let client_route = http.get(format!("{base}/simulator")).send().await?.text().await?;
    assert_eq!(client_route, index, "client-side routes get the app");
    Ok(())
}
