//! `/healthz`, `/readyz` and `/metrics`: the probes and the Prometheus
//! scrape, outside `/api/` and without a token. The series themselves are
//! `crate::metrics`'s; `/metrics` adds each node's series from the fleet.

use super::AppState;
use crate::metrics::{self, AsteriskReading};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// `/healthz`, `/readyz` and `/metrics`, outside `/api/` (no token).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers a query.
async fn readyz(State(state): State<AppState>) -> Response {
    match database_answers(&state.store).await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check: the database did not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn database_answers(store: &crate::store::Store) -> anyhow::Result<()> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.read(|conn| conn.query_row("SELECT count(*) FROM tenants", &[], |row| row.get::<i64>(0))))
        .await??;
    Ok(())
}

/// The metrics `crate::metrics` keeps, then the fleet's per-node series.
async fn metrics(State(state): State<AppState>) -> Response {
    let status = state.asterisk.status();
    let reading = AsteriskReading { in_sync: status.in_sync, last_check_at: status.last_check_at, dialplan_file_pending: status.dialplan_file_pending };
    let Some(mut text) = metrics::scrape(reading, &state.store).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(fleet) = state.fleet.as_ref()
        && let Some(body) = text.strip_suffix("# EOF\n")
    {
        text = format!("{body}{}# EOF\n", fleet.metrics_text());
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_only_while_the_database_answers() {
        let database = crate::store::testing::TestStore::new();
        let store = database.store.clone();
        let login = std::sync::Arc::new(crate::api::auth::LoginGuard::new(Default::default(), 1, 1));
        let state = AppState { store: store.clone(), asterisk: crate::sync::AsteriskLink::none(), fleet: None, login };
        assert_eq!(readyz(State(state.clone())).await.status(), StatusCode::OK);
        // A database that no longer answers the readiness query.
        let drop = match store.dialect() {
            crate::store::Dialect::Sqlite => "DROP TABLE tenants",
            crate::store::Dialect::Postgres => "DROP TABLE tenants CASCADE",
        };
        store.write(|tx| tx.execute_batch(drop)).unwrap();
        assert_eq!(readyz(State(state)).await.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(healthz().await, "ok");
    }
}
