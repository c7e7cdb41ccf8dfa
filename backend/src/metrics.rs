//! Prometheus metrics: the counters and gauges, and their encoding. The
//! routes that serve them (`/metrics`, with `/healthz` and `/readyz`) are
//! in `api::probes`; this module sits below sync and the API, which report
//! to it, and knows neither.
//!
//! `/metrics` is unauthenticated (scrapers rarely carry tokens), so it holds
//! aggregate numbers only: HTTP routes appear as their templates
//! (`/api/confd/1.1/trunks/{id}`), never the requested path, and no label
//! carries a tenant, endpoint, user or secret.
//!
//! The sync task reports through the free functions [`apply_finished`] and
//! [`ami_connected`]; everything else is read from the store and the
//! server's Asterisk status ([`AsteriskReading`]) when scraped.

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The label of a request no route matched (the browser app's files, unknown
/// paths): one series for all of them, whatever was asked.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApplyLabels {
    mode: String,
}

struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
    apply_duration: Family<ApplyLabels, Histogram, fn() -> Histogram>,
    ami_connected: Gauge,
    ami_reconnects: Counter,
    in_sync: Gauge,
    dialplan_file_pending: Gauge,
    pending_changes: Gauge,
    up: Gauge,
}

/// 1 ms … 8 s: API calls are milliseconds, a 10k-route dialplan write seconds.
fn http_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// 5 ms … 82 s: a live dialplan edit is milliseconds, a full reload with
/// verification can take tens of seconds.
fn apply_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("patchbay");
    let http_requests = Family::<HttpLabels, Counter>::default();
    let http_duration = Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(http_histogram);
    let apply_duration = Family::<ApplyLabels, Histogram, fn() -> Histogram>::new_with_constructor(apply_histogram);
    let (ami_connected, ami_reconnects) = (Gauge::default(), Counter::default());
    let (in_sync, dialplan_file_pending, pending_changes, up) = (Gauge::default(), Gauge::default(), Gauge::default(), Gauge::default());
    registry.register("http_requests", "HTTP requests answered, by method, route template and status", http_requests.clone());
    registry.register(
        "http_request_duration_seconds",
        "Time to answer an HTTP request (until the response headers), by method, route template and status",
        http_duration.clone(),
    );
    registry.register(
        "apply_duration_seconds",
        "Passes that changed Asterisk, by mode (full, incremental, rolled_back): time from start to verified",
        apply_duration.clone(),
    );
    registry.register("asterisk_connected", "1 while the AMI session to Asterisk is up", ami_connected.clone());
    registry.register("asterisk_reconnects", "AMI sessions re-established after the first one", ami_reconnects.clone());
    registry.register("asterisk_in_sync", "1 if Asterisk's Patchbay files equalled the database at the last check", in_sync.clone());
    registry.register("dialplan_file_pending", "1 while live dialplan edits wait for their file write", dialplan_file_pending.clone());
    registry.register(
        "pending_changes",
        "Audited changes made since Asterisk was last confirmed in sync (all changes since start when it never was)",
        pending_changes.clone(),
    );
    registry.register("database_up", "1 if the database answered a query during this scrape", up.clone());
    Metrics {
        registry,
        http_requests,
        http_duration,
        apply_duration,
        ami_connected,
        ami_reconnects,
        in_sync,
        dialplan_file_pending,
        pending_changes,
        up,
    }
});

/// Where pending changes are counted from when Asterisk was never seen in
/// sync: the last audit row that existed when the server started.
static START_AUDIT_MARK: AtomicI64 = AtomicI64::new(0);
/// Unix time (s) of the last check that found Asterisk in sync; 0: never.
static LAST_IN_SYNC_AT: AtomicU64 = AtomicU64::new(0);
/// AMI sessions established so far (the first is not a reconnect).
static AMI_SESSIONS: AtomicU64 = AtomicU64::new(0);

/// The sync task finished a pass that changed Asterisk.
/// `mode`: `full`, `incremental` or `rolled_back`.
pub fn apply_finished(mode: &str, took: Duration) {
    METRICS.apply_duration.get_or_create(&ApplyLabels { mode: mode.to_string() }).observe(took.as_secs_f64());
}

/// The AMI session came up (`true`) or went away (`false`).
pub fn ami_connected(connected: bool) {
    let was = METRICS.ami_connected.set(i64::from(connected));
    if connected && was == 0 && AMI_SESSIONS.fetch_add(1, Ordering::SeqCst) > 0 {
        METRICS.ami_reconnects.inc();
    }
}

/// Follows the AMI client's connection state until the client ends.
pub fn watch_ami(client: &crate::ami::AmiClient) {
    let mut status = client.watch_status();
    tokio::spawn(async move {
        loop {
            let connected = *status.borrow_and_update() == crate::ami::AmiStatus::Connected;
            ami_connected(connected);
            if status.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Remembers where the audit log stood when the server started.
pub fn server_started(store: &crate::store::Store) -> Result<(), crate::store::StoreError> {
    let mark: i64 = store.read(|conn| conn.query_row("SELECT coalesce(max(id), 0) FROM audit", &[], |row| row.get(0)))?;
    START_AUDIT_MARK.store(mark, Ordering::SeqCst);
    Ok(())
}

/// Counts every request by method, route template and status, and times it.
/// Layered over the whole router, so it sees the answers of the inner
/// middleware (auth, body limits) too.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| UNMATCHED_ROUTE.to_string(), |path| path.as_str().to_string());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = HttpLabels { method, route, status: response.status().as_u16() };
    METRICS.http_duration.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    METRICS.http_requests.get_or_create(&labels).inc();
    response
}

/// Known methods by name; anything else is one label, so a client cannot
/// grow the series without bound.
fn method_label(method: &Method) -> String {
    const KNOWN: [Method; 7] = [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD, Method::OPTIONS];
    if KNOWN.contains(method) { method.as_str().to_string() } else { "other".to_string() }
}

/// What a scrape reads of the server's Asterisk status.
pub struct AsteriskReading {
    pub in_sync: bool,
    /// Unix time (s) of the last comparison with what Asterisk has.
    pub last_check_at: Option<u64>,
    pub dialplan_file_pending: bool,
}

/// Every series as of now, in the OpenMetrics text format (ending in
/// `# EOF`), after reading `asterisk` and counting the store's pending
/// changes; `None` if the encoding failed.
pub async fn scrape(asterisk: AsteriskReading, store: &crate::store::Store) -> Option<String> {
    if asterisk.in_sync
        && let Some(at) = asterisk.last_check_at
    {
        LAST_IN_SYNC_AT.fetch_max(at, Ordering::SeqCst);
    }
    METRICS.in_sync.set(i64::from(asterisk.in_sync));
    METRICS.dialplan_file_pending.set(i64::from(asterisk.dialplan_file_pending));
    let store = store.clone();
    let pending = tokio::task::spawn_blocking(move || pending_changes(&store)).await;
    match pending {
        Ok(Ok(pending)) => {
            METRICS.pending_changes.set(pending);
            METRICS.up.set(1);
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: the database did not answer");
            METRICS.up.set(0);
        }
        Err(error) => {
            tracing::warn!(%error, "metrics: the database query did not finish");
            METRICS.up.set(0);
        }
    }
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &METRICS.registry) {
        tracing::warn!(%error, "metrics: encoding failed");
        return None;
    }
    Some(text)
}

/// Audited changes since Asterisk was last seen in sync (to the second, as
/// the audit log keeps time), or since the server started if it never was.
fn pending_changes(store: &crate::store::Store) -> Result<i64, crate::store::StoreError> {
    let in_sync_at = LAST_IN_SYNC_AT.load(Ordering::SeqCst);
    let start_mark = START_AUDIT_MARK.load(Ordering::SeqCst);
    store.read(|conn| {
        let count = if in_sync_at > 0 {
            conn.query_row("SELECT count(*) FROM audit WHERE at > ?1", crate::store::params![in_sync_at as i64], |row| row.get(0))?
        } else {
            conn.query_row("SELECT count(*) FROM audit WHERE id > ?1", crate::store::params![start_mark], |row| row.get(0))?
        };
        Ok(count)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }

    #[test]
    fn the_first_session_is_not_a_reconnect() {
        let before = METRICS.ami_reconnects.get();
        ami_connected(false);
        ami_connected(true);
        ami_connected(true);
        ami_connected(false);
        ami_connected(true);
        // The first `true` in this process is a session, the second after a
        // loss is a reconnect; a repeated `true` is nothing new.
        assert_eq!(METRICS.ami_reconnects.get() - before, 1);
        assert_eq!(METRICS.ami_connected.get(), 1);
    }
}
