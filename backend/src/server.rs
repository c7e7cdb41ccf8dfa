//! Binding, shared state, the router and graceful shutdown.

use crate::api;
use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
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
            let index = dist.join("index.html");
            app.fallback_service(ServeDir::new(dist).fallback(ServeFile::new(index)))
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
/// path gets its file, any other path the app (client-side routing).
async fn embedded_file(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let wanted = uri.path().trim_start_matches('/');
    let (path, bytes) = embedded::FILES
        .iter()
        .find(|(path, _)| *path == wanted)
        .or_else(|| embedded::FILES.iter().find(|(path, _)| *path == "index.html"))
        .expect("the embedded app has an index.html (checked by build.rs)");
    let content_type = HeaderValue::from_static(content_type(path));
    ([(header::CONTENT_TYPE, content_type)], *bytes).into_response()
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
