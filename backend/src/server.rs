//! Binding, shared state, the router and graceful shutdown.

use crate::api;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::path::PathBuf;
use tower_http::services::{ServeDir, ServeFile};

pub use crate::api::AppState;

pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The built browser app (Trunk's `dist/`); `None` serves the copy built
    /// into the binary (feature `embed-frontend`), else the API only.
    pub dist: Option<PathBuf>,
}

pub fn router(state: AppState, dist: Option<PathBuf>) -> Router {
    let app = api::router(state.clone()).merge(api::probes::routes(state));
    let app = match dist {
        Some(dist) => {
            // Unknown paths outside /api get the app (client-side routing); the
            // API keeps its own JSON 404 (see api::router).
            // The app's modules and scripts come with a gzip copy made at build
            // time (scripts/build-wasm.sh), sent to browsers that accept it.
            let index = dist.join("index.html");
            app.fallback_service(ServeDir::new(dist).precompressed_gzip().fallback(ServeFile::new(index)))
        }
        None if has_embedded_frontend() => app.fallback(embedded_file),
        None => app,
    };
    // Outermost, so every answer is counted under its route template.
    app.layer(axum::middleware::from_fn(crate::metrics::track_http))
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_frontend.rs"));
}

/// Whether this binary carries the browser app (built with `embed-frontend`).
pub fn has_embedded_frontend() -> bool {
    !embedded::FILES.is_empty()
}

/// The embedded counterpart of `ServeDir` + `index.html` fallback: a known
/// path gets its file (its `.gz` copy, if it has one and the browser accepts
/// gzip), any other path the app (client-side routing).
async fn embedded_file(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let wanted = uri.path().trim_start_matches('/');
    let find = |wanted: &str| embedded::FILES.iter().find(|(path, _)| *path == wanted);
    let Some((path, bytes)) = find(wanted) else {
        let (_, index) = find("index.html").expect("the embedded app has an index.html (checked by build.rs)");
        return ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type("index.html")))], *index).into_response();
    };
    let content_type = HeaderValue::from_static(content_type(path));
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    match find(&format!("{path}.gz")) {
        Some((_, gzipped)) if accepts_gzip(&headers) => (
            [(header::CONTENT_TYPE, content_type), (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")), vary],
            *gzipped,
        )
            .into_response(),
        Some(_) => ([(header::CONTENT_TYPE, content_type), vary], *bytes).into_response(),
        None => ([(header::CONTENT_TYPE, content_type)], *bytes).into_response(),
    }
}

/// Whether `Accept-Encoding` lists gzip with a non-zero weight.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(',')).any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|param| param.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0));
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// Trunk's output holds only these kinds of files.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

pub async fn serve(state: AppState, options: ServeOptions) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "Patchbay listening");
    // The peer address feeds the per-address login throttle (the TCP peer:
    // forwarded-for headers are not trusted, anyone can send them).
    let app = router(state, options.dist).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn gzip_is_sent_only_to_a_browser_that_accepts_it() {
        assert!(accepts_gzip(&accept("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&accept("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&accept("*")));
        assert!(!accepts_gzip(&accept("gzip;q=0, br")));
        assert!(!accepts_gzip(&accept("identity")));
        assert!(!accepts_gzip(&accept("x-gzip2")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
