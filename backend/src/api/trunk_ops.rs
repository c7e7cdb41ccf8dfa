//! Trunk operations at run time, on what Asterisk holds rather than on the
//! stored configuration: drain (maintenance) and back, an OPTIONS now, a
//! test call through the trunk, and the registration with the registrar's
//! last SIP answer. Each resolves the trunk in the caller's
//! tenant (another tenant's trunk is a 404, like a missing one) and needs a
//! SIP endpoint; the AMI actions are in `ami::endpoint_ops`.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::trunks::{TRUNK, sip_uuid};
use crate::ami::endpoint_ops::{self, ContactStatus};
use crate::ami::{AmiClient, AmiError};
use crate::api::AppState;
use patchbay_shared::health::{HealthPolicy, TrunkHealth};
use crate::store::{Kind, objects};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use patchbay_shared::render::escape;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long an OPTIONS may take to be answered: Asterisk's default
/// `qualify_timeout` (3 s) and a margin.
const QUALIFY_WAIT: Duration = Duration::from_secs(4);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/trunks/{id}/maintenance", get(maintenance).put(set_maintenance))
        .route("/trunks/{id}/qualify", post(qualify))
        .route("/trunks/{id}/test-call", post(test_call))
        .route("/trunks/{id}/registration", get(registration))
        .route("/outcalls/{id}/emergency-test", post(emergency_test))
        .route("/trunks/{id}/health", get(health).put(set_health))
}

/// `POST …/outcalls/{id}/emergency-test`: the test mode of an emergency
/// route. Calls the route's `test_number` (never one of its emergency
/// numbers: refused) through its first SIP trunk with the callback number
/// as caller ID, both in the trunk's formats, and answers the trunk, the
/// number and caller ID sent and the SIP result.
async fn emergency_test(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let outcall = state.store.read(|conn| super::specs::OUTCALL.find(conn, &caller, &id))?;
    let snapshot = super::visible::visible_snapshot(&state, &caller)?;
    let test = patchbay_shared::simulate::emergency_test(&snapshot, patchbay_shared::model::OutcallId(outcall.id as u64))
        .map_err(|reason| ApiError::input("emergency", reason))?;
    let request = crate::calls::CallRequest {
        from_extension: Some(test.caller_id.clone()),
        context: None,
        device: Some(format!("PJSIP/{}", escape::section_name(&test.endpoint))),
        to: Some(test.number.clone()),
    };
    if let Err(invalid) = crate::calls::plan(&request) {
        return Err(ApiError::input("emergency", invalid.1));
    }
    let client = &match client(&state, outcall.tenant_uuid.as_deref()) {
        Ok(client) => client,
        Err(response) => return Ok(*response),
    };
    match crate::calls::place(client, &request).await {
        Ok(Ok(outcome)) => Ok(Json(json!({"outcall_id": outcall.id, "trunk_id": test.trunk_id, "endpoint": test.endpoint,
                                           "number": test.number, "caller_id": test.caller_id, "outcome": outcome})).into_response()),
        Ok(Err(invalid)) => Err(ApiError::input(invalid.0, invalid.1)),
        Err(error) => Ok(asterisk_error(error)),
    }
}

/// The trunk's id, tenant and the name of its PJSIP endpoint as Asterisk
/// knows it.
struct SipTrunk {
    id: i64,
    tenant_uuid: Option<String>,
    endpoint: String,
}

fn sip_trunk(state: &AppState, caller: &Caller, id: &str) -> ApiResult<SipTrunk> {
    state.store.read(|conn| {
        let trunk = TRUNK.find(conn, caller, id)?;
        let endpoint = match sip_uuid(&trunk.body) {
            Some(uuid) => objects::get_by_uuid(conn, Kind::EndpointSip, uuid, None)?,
            None => None,
        };
        let name = endpoint
            .and_then(|e| e.body["name"].as_str().map(escape::section_name))
            .ok_or_else(|| ApiError::input("endpoint_sip", "the trunk has no SIP endpoint: only a PJSIP trunk can be drained, qualified or tested"))?;
        Ok(SipTrunk { id: trunk.id, tenant_uuid: trunk.tenant_uuid.clone(), endpoint: name })
    })
}

/// 503 with a message, Wazo-style, when Asterisk is missing or answers badly.
fn unavailable(message: impl std::fmt::Display) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!([message.to_string()]))).into_response()
}

/// The AMI client of the node of `tenant` (the object's owner).
fn client(state: &AppState, tenant: Option<&str>) -> Result<AmiClient, Box<Response>> {
    super::nodes::link_for(state, tenant.unwrap_or_default()).client().cloned().ok_or_else(|| Box::new(unavailable("no Asterisk connected")))
}

fn asterisk_error(error: AmiError) -> Response {
    unavailable(format!("Asterisk: {error}"))
}

/// `GET …/trunks/{id}/maintenance`: whether Asterisk holds the trunk drained.
async fn maintenance(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let trunk = sip_trunk(&state, &caller, &id)?;
    let client = &match client(&state, trunk.tenant_uuid.as_deref()) {
        Ok(client) => client,
        Err(response) => return Ok(*response),
    };
    Ok(match endpoint_ops::in_maintenance(client, &trunk.endpoint).await {
        Ok(on) => Json(json!({"trunk_id": trunk.id, "endpoint": trunk.endpoint, "maintenance": on})).into_response(),
        Err(error) => asterisk_error(error),
    })
}

/// `PUT …/trunks/{id}/maintenance` `{"maintenance": true|false}`: drains the
/// trunk (new calls refused at once, calls in progress continue) or puts it
/// back, reads the state back from Asterisk and records who did it. The
/// state is Asterisk's: it does not survive an Asterisk restart.
async fn set_maintenance(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<Value>) -> ApiResult<Response> {
    let Some(on) = body.get("maintenance").and_then(Value::as_bool) else {
        return Err(ApiError::input("maintenance", "must be true (drain the trunk) or false (put it back)"));
    };
    let trunk = sip_trunk(&state, &caller, &id)?;
    let client = &match client(&state, trunk.tenant_uuid.as_deref()) {
        Ok(client) => client,
        Err(response) => return Ok(*response),
    };
    let started = Instant::now();
    if let Err(error) = endpoint_ops::set_maintenance(client, &trunk.endpoint, on).await {
        return Ok(asterisk_error(error));
    }
    let held = match endpoint_ops::in_maintenance(client, &trunk.endpoint).await {
        Ok(held) => held,
        Err(error) => return Ok(asterisk_error(error)),
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    if held != on {
        return Ok(unavailable(format!("Asterisk reports maintenance {} for {} after the change", if held { "on" } else { "off" }, trunk.endpoint)));
    }
    state.store.write(|tx| {
        let action = if on { "drain" } else { "undrain" };
        super::resource::write_audit(tx, &caller, trunk.tenant_uuid.as_deref(), action, Kind::Trunk, &trunk.id.to_string(), Some(&json!({"maintenance": !on})), Some(&json!({"maintenance": on})))
    })?;
    Ok(Json(json!({"trunk_id": trunk.id, "endpoint": trunk.endpoint, "maintenance": held, "elapsed_ms": elapsed_ms})).into_response())
}

/// `GET …/trunks/{id}/registration`: each outbound registration of the
/// trunk with its status and the SIP code and reason of the registrar's
/// last answer, from PJSIP's message history. When the history holds no
/// answer yet (it was off), a REGISTER is sent now and its answer awaited.
async fn registration(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let trunk = sip_trunk(&state, &caller, &id)?;
    let client = &match client(&state, trunk.tenant_uuid.as_deref()) {
        Ok(client) => client,
        Err(response) => return Ok(*response),
    };
    let started = Instant::now();
    let registrations = match endpoint_ops::registrations_of(client, &trunk.endpoint).await {
        Ok(found) => found,
        Err(error) => return Ok(asterisk_error(error)),
    };
    let link = super::nodes::link_for(&state, trunk.tenant_uuid.as_deref().unwrap_or_default());
    let history = link.live().sip_history();
    let mut shown = Vec::new();
    for registration in registrations {
        let mut answers = match history.read(client).await {
            Ok(ledger) => ledger.answers(&registration.server_uri, &registration.client_uri),
            Err(error) => return Ok(asterisk_error(error)),
        };
        if answers.is_empty() {
            if let Err(error) = endpoint_ops::register_now(client, &registration.name).await {
                return Ok(asterisk_error(error));
            }
            let deadline = Instant::now() + QUALIFY_WAIT;
            while answers.is_empty() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if let Ok(ledger) = history.read(client).await {
                    answers = ledger.answers(&registration.server_uri, &registration.client_uri);
                }
            }
        }
        // Read again: the status may have followed the answer just seen.
        let status = endpoint_ops::registrations_of(client, &trunk.endpoint)
            .await
            .ok()
            .and_then(|all| all.into_iter().find(|r| r.name == registration.name))
            .map_or(registration.status.clone(), |r| r.status);
        let last = answers.last();
        shown.push(json!({
            "name": registration.name, "server_uri": registration.server_uri, "status": status,
            "last_code": last.map(|a| a.code), "last_reason": last.map(|a| a.reason.clone()), "last_answer_at": last.map(|a| a.at),
            "answers": answers.iter().rev().take(10).collect::<Vec<_>>(),
        }));
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(Json(json!({"trunk_id": trunk.id, "endpoint": trunk.endpoint, "registrations": shown, "elapsed_ms": elapsed_ms})).into_response())
}

/// `GET …/trunks/{id}/health`: reachability (with hysteresis) and round
/// trip, the registration with the registrar's last SIP code, the
/// transitions (kept across restarts) and the last OPTIONS outcomes, as the
/// health task holds them; from the stored history alone while no Asterisk
/// is connected.
async fn health(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let trunk = sip_trunk(&state, &caller, &id)?;
    if let Some(view) = super::nodes::link_for(&state, trunk.tenant_uuid.as_deref().unwrap_or_default()).live().snapshot().health.remove(&trunk.endpoint) {
        return Ok(Json(json!(view)).into_response());
    }
    let (policy, history) = state.store.read(|conn| -> Result<_, crate::store::StoreError> {
        Ok((crate::health::policy(conn, &trunk.endpoint)?, crate::health::history(conn, &trunk.endpoint)?))
    })?;
    let view = crate::live::TrunkHealthView { name: trunk.endpoint, trunk_id: trunk.id, policy, health: TrunkHealth::restored(history, &policy) };
    Ok(Json(json!(view)).into_response())
}

/// `PUT …/trunks/{id}/health` with any of `down_after_misses`,
/// `up_after_answers`, `probe_every_s`, `history_len`: the trunk's health
/// thresholds (the others keep their value); answers the policy in force.
/// Audited as a change set of its own (action `health_policy`), which can
/// be rolled back like any other.
async fn set_health(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<Value>) -> ApiResult<Response> {
    let trunk = sip_trunk(&state, &caller, &id)?;
    let mut policy: HealthPolicy = state.store.read(|conn| crate::health::policy(conn, &trunk.endpoint))?;
    let mut errors = Vec::new();
    let mut number = |field: &str, low: u64, high: u64| -> Option<u64> {
        let value = body.get(field)?;
        match value.as_u64().filter(|n| (low..=high).contains(n)) {
            Some(n) => Some(n),
            None => {
                errors.push(format!("Input Error - {field}: ['Must be a whole number from {low} to {high}.']"));
                None
            }
        }
    };
    if let Some(n) = number("down_after_misses", 1, 100) {
        policy.down_after_misses = n as u32;
    }
    if let Some(n) = number("up_after_answers", 1, 100) {
        policy.up_after_answers = n as u32;
    }
    if let Some(n) = number("probe_every_s", 1, 3600) {
        policy.probe_every_ms = n * 1000;
    }
    if let Some(n) = number("history_len", 1, 1000) {
        policy.history_len = n as usize;
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    state.store.write(|tx| {
        let before = crate::health::policy(tx, &trunk.endpoint)?;
        crate::health::set_policy(tx, &trunk.endpoint, &policy)?;
        let (before, after) = (crate::health::policy_audit(&trunk.endpoint, &before), crate::health::policy_audit(&trunk.endpoint, &policy));
        super::resource::write_audit(tx, &caller, trunk.tenant_uuid.as_deref(), crate::health::AUDIT_POLICY, Kind::Trunk, &trunk.id.to_string(), Some(&before), Some(&after))
    })?;
    super::nodes::link_for(&state, trunk.tenant_uuid.as_deref().unwrap_or_default()).live().health_settings().notify_one();
    Ok(Json(json!({"trunk_id": trunk.id, "endpoint": trunk.endpoint, "policy": policy})).into_response())
}

/// Whether `after` shows an OPTIONS answered or given up on since `before`:
/// a contact whose round trip or status changed.
fn qualified_since(before: &[ContactStatus], after: &[ContactStatus]) -> bool {
    after.iter().any(|now| before.iter().find(|b| b.uri == now.uri).is_none_or(|b| b != now))
}

/// `POST …/trunks/{id}/qualify`: an OPTIONS to each contact now; answers
/// each contact's status and round trip once one changed, or after the
/// qualify timeout with what Asterisk holds then.
async fn qualify(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let trunk = sip_trunk(&state, &caller, &id)?;
    let client = &match client(&state, trunk.tenant_uuid.as_deref()) {
        Ok(client) => client,
        Err(response) => return Ok(*response),
    };
    let before = endpoint_ops::contact_statuses(client, &trunk.endpoint).await.unwrap_or_default();
    let started = Instant::now();
    if let Err(error) = endpoint_ops::qualify(client, &trunk.endpoint).await {
        return Ok(asterisk_error(error));
    }
    let mut contacts = before.clone();
    let mut changed = false;
    let qualified = |c: &ContactStatus| c.status != "NonQualified";
    while started.elapsed() < QUALIFY_WAIT && before.iter().any(qualified) {
        tokio::time::sleep(Duration::from_millis(25)).await;
        match endpoint_ops::contact_statuses(client, &trunk.endpoint).await {
            Ok(now) => contacts = now,
            Err(error) => return Ok(asterisk_error(error)),
        }
        if qualified_since(&before, &contacts) {
            changed = true;
            break;
        }
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let shown: Vec<Value> = contacts
        .iter()
        .map(|c| json!({"uri": c.uri, "status": c.status, "rtt_ms": (c.roundtrip_usec > 0).then(|| c.roundtrip_usec as f64 / 1000.0)}))
        .collect();
    let note = (!changed && contacts.iter().any(|c| c.status == "NonQualified")).then_some(
        "Asterisk sent the OPTIONS, but keeps no answer for a contact whose AOR has qualify_frequency = 0: set qualify_frequency to see reachability and round trip",
    );
    Ok(Json(json!({"trunk_id": trunk.id, "endpoint": trunk.endpoint, "contacts": shown, "updated": changed, "elapsed_ms": elapsed_ms, "note": note})).into_response())
}

/// `POST …/trunks/{id}/test-call` `{"number": "…"}`: a call through the
/// trunk to `number` (`Originate` of `PJSIP/number@endpoint`); answers the
/// outcome with the SIP result code and how long it took.
async fn test_call(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<Value>) -> ApiResult<Response> {
    let Some(number) = body.get("number").and_then(Value::as_str) else {
        return Err(ApiError::input("number", "the number to call through the trunk is required"));
    };
    let trunk = sip_trunk(&state, &caller, &id)?;
    let request = crate::calls::CallRequest { from_extension: None, context: None, device: Some(format!("PJSIP/{}", trunk.endpoint)), to: Some(number.to_owned()) };
    if let Err(invalid) = crate::calls::plan(&request) {
        let field = if invalid.0 == "to" { "number" } else { invalid.0 };
        return Err(ApiError::input(field, invalid.1));
    }
    let client = &match client(&state, trunk.tenant_uuid.as_deref()) {
        Ok(client) => client,
        Err(response) => return Ok(*response),
    };
    match crate::calls::place(client, &request).await {
        Ok(Ok(outcome)) => Ok(Json(json!({"trunk_id": trunk.id, "endpoint": trunk.endpoint, "number": number, "outcome": outcome})).into_response()),
        Ok(Err(invalid)) => Err(ApiError::input(invalid.0, invalid.1)),
        Err(error) => Ok(asterisk_error(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(uri: &str, status: &str, rtt: u64) -> ContactStatus {
        ContactStatus { uri: uri.into(), status: status.into(), roundtrip_usec: rtt }
    }

    #[test]
    fn a_qualify_shows_as_a_changed_round_trip_or_status() {
        let before = [contact("sip:a", "Reachable", 1200)];
        assert!(!qualified_since(&before, &before));
        assert!(qualified_since(&before, &[contact("sip:a", "Reachable", 1350)]));
        assert!(qualified_since(&before, &[contact("sip:a", "Unreachable", 0)]));
        assert!(qualified_since(&[], &[contact("sip:b", "Reachable", 900)]), "a contact seen for the first time");
    }
}
