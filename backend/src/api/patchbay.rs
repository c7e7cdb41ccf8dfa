//! Patchbay's own routes: Asterisk status, live status (and its event
//! stream), test calls, the tenant's snapshot (what the browser simulates
//! on), simulate, lint and config preview.

use super::auth::{Caller, StreamCaller};
use super::error::{ApiError, ApiResult};
use crate::api::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use patchbay_shared::model::{Snapshot, TrunkEndpoint};
use patchbay_shared::{lint, render, simulate, tenancy};
use crate::sync::Viewer;
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/status", get(status))
        .route("/live", get(live))
        .route("/events", get(live_events))
        .route("/calls", post(test_call))
        .route("/snapshot", get(snapshot))
        .route("/usable_trunks", get(usable_trunks))
        .route("/simulate", post(simulate_call))
        .route("/lint", get(lint_routes))
        .route("/config/preview", get(config_preview))
        .route("/export", get(crate::api::config_code::api::export))
        .route("/plan", post(crate::api::config_code::api::plan))
        .route("/apply", post(crate::api::config_code::api::apply))
        .route("/doctor", get(doctor))
        .route("/csv/{kind}", get(super::csv_io::export).post(super::csv_io::import_csv))
        .merge(super::trunk_ops::routes())
        .merge(super::change_sets::routes())
        .merge(super::nodes::routes())
}

/// Whom a caller may see Asterisk's state of: a master acting for its own
/// tenant sees every tenant's; anyone else only its visible tenants'.
fn viewer(caller: &Caller) -> Viewer<'_> {
    if caller.is_master() && caller.tenant_uuid == caller.account.tenant_uuid { Viewer::All } else { Viewer::Tenants(&caller.visible) }
}

/// `?wait_for=REV&timeout=MS`: answer once a pass has covered revision
/// REV (the change is then live, or listed in `failed`), or after MS
/// milliseconds (at most 30 s; default 10 s), whichever comes first.
#[derive(serde::Deserialize)]
struct StatusQuery {
    wait_for: Option<u64>,
    timeout: Option<u64>,
}

/// Whether an Asterisk is connected, which of the caller's endpoints it
/// really has, which of the caller's objects it refused and why, and the
/// revision it holds for the caller's tenants (`revision_live`) against the
/// last committed one (`revision`, `pending`).
///
/// With nodes, the status is that of the caller's tenant's node (`node`
/// names it); a master acting for itself also gets every node's state
/// (`nodes`). `instance` is this Patchbay's id among those sharing the
/// database, `applier` the one applying to the caller's node.
async fn status(State(state): State<AppState>, caller: Caller, query: axum::extract::Query<StatusQuery>) -> ApiResult<Json<Value>> {
    let fleet = state.fleet.as_ref();
    let placed = match fleet {
        Some(fleet) => fleet.node_of(&caller.tenant_uuid)?,
        None => None,
    };
    let link = placed.as_ref().map_or(&state.asterisk, |(_, link)| link);
    let mut answer = match query.wait_for {
        Some(revision) => {
            let timeout = std::time::Duration::from_millis(query.timeout.unwrap_or(10_000).min(30_000));
            link.status_when_checked(viewer(&caller), revision, timeout).await
        }
        None => link.status_json(viewer(&caller)),
    };
    if let Some((node, _)) = &placed {
        answer["node"] = json!({"id": node.id, "name": node.name});
    }
    if let Some(fleet) = fleet {
        // Several Patchbays may share the database: this one, and the one
        // applying to the caller's node (its lease's holder).
        answer["instance"] = json!(fleet.instance());
        if let Some((node, _)) = &placed {
            answer["applier"] = json!(fleet.appliers()?.get(&node.id));
        }
    }
    if let Some(fleet) = fleet
        && matches!(viewer(&caller), Viewer::All)
    {
        answer["nodes"] = json!(fleet.overview()?);
    }
    Ok(Json(answer))
}

/// The PJSIP names (endpoint sections, which registrations and aors share)
/// of the caller's endpoints; `None` for a viewer who sees everything.
fn own_pjsip_names(state: &AppState, caller: &Caller) -> ApiResult<Option<BTreeSet<String>>> {
    if matches!(viewer(caller), Viewer::All) {
        return Ok(None);
    }
    let snapshot = visible_snapshot(state, caller)?;
    // Not the trunks shared with the caller: their registration and contacts
    // name the owner's provider ([`usable_trunks`] gives their state only).
    let own = snapshot.endpoints_sip.iter().filter(|endpoint| caller.visible.contains(&endpoint.tenant_uuid));
    Ok(Some(own.map(|endpoint| render::escape::section_name(&endpoint.name)).collect()))
}

/// Registrations, contacts and endpoint states as Asterisk last reported
/// them: every tenant's for a master, the caller's own otherwise.
async fn live(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let live = super::nodes::link_for(&state, &caller.tenant_uuid).live().snapshot();
    Ok(Json(match own_pjsip_names(&state, &caller)? {
        None => json!(live),
        Some(names) => json!(live.only(&names)),
    }))
}

/// The same as Server-Sent Events: a `snapshot` first, then each change.
/// The token may come as `?token=` ([`StreamCaller`]): `EventSource` cannot
/// send `X-Auth-Token`.
async fn live_events(
    State(state): State<AppState>,
    StreamCaller(caller): StreamCaller,
) -> ApiResult<Sse<impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>>> {
    let names = own_pjsip_names(&state, &caller)?;
    let live = super::nodes::link_for(&state, &caller.tenant_uuid).live().clone();
    let first = crate::live::LiveUpdate::Snapshot { state: Box::new(live.snapshot()) };
    let updates = live.subscribe();
    let start = (Some(first), updates, live, state, caller, names);
    let stream = futures_util::stream::unfold(start, |(mut first, mut updates, live, state, caller, mut names)| async move {
        loop {
            let update = match first.take() {
                Some(first) => first,
                None => match updates.recv().await {
                    Ok(update) => update,
                    // Too slow: start again from a whole snapshot.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        crate::live::LiveUpdate::Snapshot { state: Box::new(live.snapshot()) }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
            };
            let update = match &mut names {
                None => update,
                Some(own) => {
                    // The caller's endpoints may have changed since the
                    // stream opened: look again on a snapshot or a stranger.
                    let stranger = update.subject().is_some_and(|name| !own.contains(name));
                    if (stranger || matches!(update, crate::live::LiveUpdate::Snapshot { .. }))
                        && let Ok(Some(fresh)) = own_pjsip_names(&state, &caller)
                    {
                        *own = fresh;
                    }
                    match update.only(own) {
                        Some(update) => update,
                        None => continue,
                    }
                }
            };
            let event = SseEvent::default().json_data(&update).unwrap_or_default();
            return Some((Ok(event), (None, updates, live, state, caller, names)));
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `{"from_extension", "context", "to"}` or `{"device": "PJSIP/x", "to"}` →
/// `{"result": "answered"|"busy"|"failed", "cause": ...}` (master admin).
async fn test_call(State(state): State<AppState>, caller: Caller, Json(body): Json<Value>) -> ApiResult<Response> {
    caller.require_master()?;
    let request: crate::calls::CallRequest =
        serde_json::from_value(body).map_err(|error| ApiError::input("body", error))?;
    if let Err(invalid) = crate::calls::plan(&request) {
        return Err(ApiError::input(invalid.0, invalid.1));
    }
    let link = super::nodes::link_for(&state, &caller.tenant_uuid);
    let Some(client) = link.client() else {
        return Ok((StatusCode::SERVICE_UNAVAILABLE, Json(json!(["no Asterisk connected"]))).into_response());
    };
    match crate::calls::place(client, &request).await {
        Ok(Ok(outcome)) => Ok(Json(json!(outcome)).into_response()),
        Ok(Err(invalid)) => Err(ApiError::input(invalid.0, invalid.1)),
        Err(error) => Ok((StatusCode::SERVICE_UNAVAILABLE, Json(json!([format!("Asterisk: {error}")]))).into_response()),
    }
}

pub use super::visible::visible_snapshot;

/// `GET /usable_trunks`: the trunks the caller's routes may dial (its own
/// and those shared with it), each with its name, kind and state as
/// Asterisk last reported it: `{"items": [{"id", "name", "kind", "shared",
/// "registration", "reachability"}]}`. Nothing else of a shared trunk.
async fn usable_trunks(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let snapshot = visible_snapshot(&state, &caller)?;
    let live = super::nodes::link_for(&state, &caller.tenant_uuid).live().snapshot();
    let items: Vec<Value> = snapshot
        .trunks
        .iter()
        .filter(|trunk| trunk.tenant_uuid == caller.tenant_uuid || tenancy::trunk_usable_by(trunk, &caller.tenant_uuid))
        .map(|trunk| {
            let (name, kind) = match &trunk.endpoint {
                Some(TrunkEndpoint::Sip(uuid)) => (snapshot.endpoint_sip(uuid).map(|e| e.name.clone()), "sip"),
                Some(TrunkEndpoint::Iax(id)) => (snapshot.endpoint_iax(*id).map(|e| e.name.clone()), "iax"),
                Some(TrunkEndpoint::Custom(id)) => (snapshot.endpoint_custom(*id).map(|e| e.interface.clone()), "custom"),
                None => (None, "none"),
            };
            let section = name.as_deref().map(render::escape::section_name).unwrap_or_default();
            let registration = live.registrations.get(&section).map(|r| r.status.clone());
            let reachability = live
                .contacts
                .values()
                .find(|c| c.aor.as_deref() == Some(section.as_str()) || c.endpoint.as_deref() == Some(section.as_str()))
                .map(|c| c.status.clone());
            json!({"id": trunk.id, "name": name, "kind": kind, "shared": trunk.tenant_uuid != caller.tenant_uuid,
                   "registration": registration, "reachability": reachability, "connected": live.connected})
        })
        .collect();
    Ok(Json(json!({"total": items.len(), "items": items})))
}

async fn snapshot(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Snapshot>> {
    Ok(Json(visible_snapshot(&state, &caller)?))
}

/// `{"dialed": "**99101", "user_id": 3}` or `{"dialed": ..., "context": "default"}`
/// (or `"trunk_id"` for an inbound call) → the simulator's trace.
async fn simulate_call(State(state): State<AppState>, caller: Caller, Json(body): Json<Value>) -> ApiResult<Json<Value>> {
    let dialed = body
        .get("dialed")
        .and_then(Value::as_str)
        .filter(|dialed| dialed.len() <= 79)
        .ok_or_else(|| ApiError::input("dialed", "is required: the dialled string, at most 79 characters"))?;
    let snapshot = visible_snapshot(&state, &caller)?;
    let tenant = body.get("tenant_uuid").and_then(Value::as_str).unwrap_or(&caller.tenant_uuid).to_string();
    if !caller.visible.contains(&tenant) {
        return Err(ApiError::input("tenant_uuid", "is not a tenant you can see"));
    }
    let trace = if let Some(user_id) = body.get("user_id") {
        let id = serde_json::from_value(user_id.clone()).map_err(|_| ApiError::input("user_id", "must be a user id"))?;
        simulate::simulate(&snapshot, &tenant, simulate::Caller::User(id), dialed)
    } else if let Some(trunk_id) = body.get("trunk_id") {
        let id = serde_json::from_value(trunk_id.clone()).map_err(|_| ApiError::input("trunk_id", "must be a trunk id"))?;
        simulate::simulate(&snapshot, &tenant, simulate::Caller::Trunk(id), dialed)
    } else if let Some(context) = body.get("context").and_then(Value::as_str) {
        simulate::simulate(&snapshot, &tenant, simulate::Caller::Context(context), dialed)
    } else {
        return Err(ApiError::input("user_id", "one of user_id, trunk_id or context is required"));
    };
    Ok(Json(json!(trace)))
}

async fn lint_routes(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let snapshot = visible_snapshot(&state, &caller)?;
    Ok(Json(json!({"items": lint::lint_snapshot(&snapshot)})))
}

/// The config Patchbay would write now (master admin: it holds every tenant)
/// and what the sync task last applied, for the review page's diff:
/// `{"files": {"pjsip.conf": text, ...}, "applied": {same keys} | null,
/// "connected": bool}`. `applied` is the configuration Asterisk last
/// verifiably took (written, or found equal); `null` without an Asterisk or
/// before the first pass. It is kept while Asterisk is unreachable: it is
/// what Asterisk had when last seen, and what the next apply changes.
async fn config_preview(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_master()?;
    let snapshot = state.store.read(crate::snapshot::load_snapshot)?;
    let files = crate::sync::snapshot_texts(&snapshot);
    Ok(Json(json!({
        "files": files,
        "applied": state.asterisk.applied(),
        "connected": state.asterisk.status().connected,
    })))
}

/// `patchbay doctor`'s checks on the connected Asterisk (master admin),
/// collisions judged against what Patchbay would write now:
/// `{"ok": bool, "findings": [{"check", "severity", "message", "fix"}]}`.
async fn doctor(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    use crate::doctor;
    caller.require_master()?;
    let findings = match state.asterisk.client().map(|client| (client, client.status())) {
        Some((client, crate::ami::AmiStatus::Connected)) => {
            let snapshot = state.store.read(crate::snapshot::load_snapshot)?;
            let desired = crate::sync::desired_files(&render::render(&snapshot));
            doctor::diagnose(&doctor::observe(client, client.username(), &desired).await)
        }
        Some((client, crate::ami::AmiStatus::AuthenticationFailed { message })) => vec![doctor::login_refused(client.username(), &message)],
        _ => vec![doctor::unreachable(&state.asterisk.status().message)],
    };
    Ok(Json(json!({"ok": doctor::all_good(&findings), "findings": findings})))
}
