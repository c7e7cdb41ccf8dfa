//! CSV export and import of what admins keep in spreadsheets: DIDs
//! (incalls), users (with their extension) and outcall patterns.
//!
//! `GET /api/patchbay/1.0/csv/{kind}` answers the acting tenant's rows as
//! `text/csv`. `POST /api/patchbay/1.0/csv/{kind}` takes a CSV body and
//! runs every row through the same write functions as the REST API
//! (`Resource::create_in`, the association functions of `routing`), in one
//! transaction, each row in its own savepoint so every row's errors are
//! found (in Wazo's wording, as the REST API answers them). Without
//! `?apply=true` it is a preview: the transaction is always rolled back.
//! With it, the rows are written only if no row has an error (all or
//! nothing); otherwise 400 with the same report and nothing written.

use super::auth::Caller;
use super::docs::Resource;
use super::error::{ApiError, ApiResult};
use super::extensions::EXTENSIONS;
use super::incalls::{self, INCALLS};
use super::lines::{self, LINES};
use super::outcalls::{self, OUTCALLS};
use super::users::USERS;
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, StoreError, objects};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use crate::store::Connection;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// A kind of CSV: its columns (the first ones required) and its rows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CsvKind {
    Incalls,
    Users,
    Outcalls,
}

impl CsvKind {
    fn parse(path: &str) -> ApiResult<CsvKind> {
        match path {
            "incalls" => Ok(CsvKind::Incalls),
            "users" => Ok(CsvKind::Users),
            "outcalls" => Ok(CsvKind::Outcalls),
            _ => Err(ApiError::NotFound("Resource Not Found - no CSV for this kind (incalls, users, outcalls)".into())),
        }
    }

    /// Every column, in export order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            CsvKind::Incalls => &["did", "context", "destination", "target", "ring_time"],
            CsvKind::Users => &["firstname", "lastname", "exten", "context", "caller_id", "outgoing_caller_id"],
            CsvKind::Outcalls => &["outcall", "pattern", "context", "strip_digits", "prefix", "external_prefix", "caller_id"],
        }
    }

    /// Columns a file must have.
    fn required(self) -> &'static [&'static str] {
        match self {
            CsvKind::Incalls => &["did", "destination"],
            CsvKind::Users => &["firstname"],
            CsvKind::Outcalls => &["outcall", "pattern"],
        }
    }
}

// ---------- CSV text ----------

/// RFC 4180 records: `"` quotes a field (`""` inside is one quote), fields
/// split on `,`, records on CRLF or LF. Returns (line number, fields) per
/// record, skipping blank lines; an unterminated quote is an error.
pub fn parse(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let (mut line, mut record_line) = (1usize, 1usize);
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    let finish = |fields: &mut Vec<String>, field: &mut String, at: usize, records: &mut Vec<(usize, Vec<String>)>| {
        fields.push(std::mem::take(field));
        let record = std::mem::take(fields);
        if !(record.len() == 1 && record[0].trim().is_empty()) {
            records.push((at, record));
        }
    };
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                finish(&mut fields, &mut field, record_line, &mut records);
                line += 1;
                record_line = line;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {record_line}: a quoted field is not closed"));
    }
    if !field.is_empty() || !fields.is_empty() {
        finish(&mut fields, &mut field, record_line, &mut records);
    }
    Ok(records)
}

/// One CSV field, quoted when it has to be.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) || value.starts_with(' ') || value.ends_with(' ') {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

pub fn write(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&row.iter().map(|v| field(v)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

// ---------- export ----------

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn own(conn: &Connection, caller: &Caller, res: &Resource) -> ApiResult<Vec<ObjectRow>> {
    res.spec.list_visible(conn, caller, false)
}

fn by_id(rows: &[ObjectRow], id: &Value) -> Option<ObjectRow> {
    let id = id.as_i64()?;
    rows.iter().find(|r| r.id == id).cloned()
}

pub fn export_rows(conn: &Connection, caller: &Caller, kind: CsvKind) -> ApiResult<Vec<Vec<String>>> {
    let extensions = own(conn, caller, &EXTENSIONS)?;
    let mut rows = Vec::new();
    match kind {
        CsvKind::Incalls => {
            for incall in own(conn, caller, &INCALLS)? {
                let ext = by_id(&extensions, &incall.body["extension_id"]);
                let destination = &incall.body["destination"];
                let kind = text(&destination["type"]);
                let target = match kind.as_str() {
                    "user" => text(&destination["user_id"]),
                    "group" => text(&destination["group_id"]),
                    "extension" => format!("{}@{}", text(&destination["exten"]), text(&destination["context"])),
                    "hangup" => text(&destination["cause"]),
                    "trunk" => text(&destination["trunk_id"]),
                    "custom" => text(&destination["command"]),
                    _ => String::new(),
                };
                let ring_time = if kind == "user" || kind == "group" { text(&destination["ring_time"]) } else { String::new() };
                let (did, context) = ext.map(|e| (text(&e.body["exten"]), text(&e.body["context"]))).unwrap_or_default();
                rows.push(vec![did, context, kind, target, ring_time]);
            }
        }
        CsvKind::Users => {
            let lines = own(conn, caller, &LINES)?;
            for user in own(conn, caller, &USERS)? {
                let line = lines.iter().find(|l| l.body["user_id"].as_i64() == Some(user.id));
                let ext = line.and_then(|l| by_id(&extensions, &l.body["extension_id"]));
                let (exten, context) = ext.map(|e| (text(&e.body["exten"]), text(&e.body["context"]))).unwrap_or_default();
                let b = &user.body;
                rows.push(vec![text(&b["firstname"]), text(&b["lastname"]), exten, context, text(&b["caller_id"]), text(&b["outgoing_caller_id"])]);
            }
        }
        CsvKind::Outcalls => {
            for outcall in own(conn, caller, &OUTCALLS)? {
                for entry in outcall.body["extensions"].as_array().cloned().unwrap_or_default() {
                    let Some(ext) = by_id(&extensions, &entry["id"]) else { continue };
                    rows.push(vec![
                        text(&outcall.body["name"]),
                        text(&ext.body["exten"]),
                        text(&ext.body["context"]),
                        text(&entry["strip_digits"]),
                        text(&entry["prefix"]),
                        text(&entry["external_prefix"]),
                        text(&entry["caller_id"]),
                    ]);
                }
            }
        }
    }
    Ok(rows)
}

pub async fn export(State(state): State<AppState>, caller: Caller, Path(kind): Path<String>) -> ApiResult<Response> {
    let kind = CsvKind::parse(&kind)?;
    let rows = state.store.read(|conn| export_rows(conn, &caller, kind))?;
    let name = match kind {
        CsvKind::Incalls => "incalls.csv",
        CsvKind::Users => "users.csv",
        CsvKind::Outcalls => "outcall-patterns.csv",
    };
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))],
        write(kind.columns(), &rows),
    )
        .into_response())
}

// ---------- import ----------

/// One row of an import: its line in the file, its values by column, and
/// the API's messages for it (empty: the row is fine).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowReport {
    pub line: usize,
    pub values: Map<String, Value>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub kind: &'static str,
    pub columns: Vec<String>,
    pub applied: bool,
    pub rows: Vec<RowReport>,
    /// Rows with at least one error.
    pub errors: usize,
}

fn messages(error: ApiError) -> Vec<String> {
    match error {
        ApiError::BadRequest(list) => list,
        ApiError::NotFound(m) | ApiError::Unauthorized(m) => vec![m],
        ApiError::Internal(m) => {
            tracing::error!("csv import: {m}");
            vec!["Internal Error - the row could not be checked".into()]
        }
    }
}

/// The tenant's first context of `wanted` type (the forms' default).
fn default_context(conn: &Connection, caller: &Caller, wanted: &str) -> ApiResult<Option<String>> {
    let mut contexts = objects::list(conn, Kind::Context, Some(std::slice::from_ref(&caller.tenant_uuid)))?;
    contexts.sort_by_key(|c| c.id);
    Ok(contexts.into_iter().find(|c| c.body["type"] == wanted).and_then(|c| c.body["name"].as_str().map(str::to_string)))
}

fn object(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
}

/// Empty cells are absent (`None`).
fn cell<'a>(row: &'a HashMap<&str, String>, column: &str) -> Option<&'a str> {
    row.get(column).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn number(row: &HashMap<&str, String>, column: &str, float: bool) -> ApiResult<Value> {
    match cell(row, column) {
        None => Ok(Value::Null),
        Some(v) if float => v.parse::<f64>().map(|n| json!(n)).map_err(|_| ApiError::field(column, "Not a valid number.")),
        Some(v) => v.parse::<i64>().map(|n| json!(n)).map_err(|_| ApiError::field(column, "Not a valid integer.")),
    }
}

fn context_or_default(conn: &Connection, caller: &Caller, row: &HashMap<&str, String>, wanted: &str) -> ApiResult<String> {
    match cell(row, "context") {
        Some(c) => Ok(c.to_string()),
        None => default_context(conn, caller, wanted)?.ok_or_else(|| ApiError::field("context", "Missing data for required field.")),
    }
}

/// One row written through the REST API's own functions.
fn import_row(tx: &Connection, caller: &Caller, kind: CsvKind, row: &HashMap<&str, String>) -> ApiResult<()> {
    match kind {
        CsvKind::Incalls => {
            let destination = match cell(row, "destination").unwrap_or_default() {
                "user" => {
                    // The user's id, checked by the incall's own rules (another
                    // tenant's user reads as a missing one).
                    let user = cell(row, "target").ok_or_else(|| ApiError::field("target", "Missing data for required field."))?;
                    let user_id = user.parse::<i64>().map(|id| json!(id)).unwrap_or_else(|_| json!(user));
                    json!({"type": "user", "user_id": user_id, "ring_time": number(row, "ring_time", true)?})
                }
                "group" => {
                    // The group's id, resolved in the caller's tenant like the incall's own.
                    let group = cell(row, "target").ok_or_else(|| ApiError::field("target", "Missing data for required field."))?;
                    let group_id = group.parse::<i64>().map(|id| json!(id)).unwrap_or_else(|_| json!(group));
                    json!({"type": "group", "group_id": group_id, "ring_time": number(row, "ring_time", true)?})
                }
                "extension" => {
                    let target = cell(row, "target").unwrap_or_default();
                    let (exten, context) = target.split_once('@').ok_or_else(|| ApiError::field("target", "Expected exten@context."))?;
                    json!({"type": "extension", "exten": exten, "context": context})
                }
                "hangup" => json!({"type": "hangup", "cause": cell(row, "target").unwrap_or("normal")}),
                "none" => json!({"type": "none"}),
                other => return Err(ApiError::field("destination", format!("Must be one of: user, group, extension, hangup, none (not '{other}')."))),
            };
            let did = cell(row, "did").unwrap_or_default().trim_start_matches('+').to_string();
            let context = context_or_default(tx, caller, row, "incall")?;
            let ext = EXTENSIONS.create_in(tx, caller, &object(&[("exten", json!(did)), ("context", json!(context))]))?;
            let incall = INCALLS.create_in(tx, caller, &object(&[("destination", destination)]))?;
            incalls::incall_extension_in(tx, caller, &incall.id.to_string(), &ext.id.to_string())
        }
        CsvKind::Users => {
            let mut input = object(&[("firstname", json!(cell(row, "firstname").unwrap_or_default()))]);
            for key in ["lastname", "caller_id", "outgoing_caller_id"] {
                if let Some(v) = cell(row, key) {
                    input.insert(key.into(), json!(v));
                }
            }
            let user = USERS.create_in(tx, caller, &input)?;
            if let Some(exten) = cell(row, "exten") {
                let context = context_or_default(tx, caller, row, "internal")?;
                let ext = EXTENSIONS.create_in(tx, caller, &object(&[("exten", json!(exten)), ("context", json!(context))]))?;
                let line = LINES.create_in(tx, caller, &Map::new())?;
                lines::line_extension_in(tx, caller, &line.id.to_string(), &ext.id.to_string())?;
                lines::user_line_in(tx, caller, &user.id.to_string(), &line.id.to_string())?;
            }
            Ok(())
        }
        CsvKind::Outcalls => {
            let name = cell(row, "outcall").unwrap_or_default();
            let existing = OUTCALLS.spec.list_visible(tx, caller, false)?.into_iter().find(|o| o.body["name"] == name);
            let outcall = match existing {
                Some(o) => o,
                None => OUTCALLS.create_in(tx, caller, &object(&[("name", json!(name))]))?,
            };
            let context = context_or_default(tx, caller, row, "outcall")?;
            let ext = EXTENSIONS.create_in(tx, caller, &object(&[("exten", json!(cell(row, "pattern").unwrap_or_default())), ("context", json!(context))]))?;
            let mut input = Map::new();
            let strip = number(row, "strip_digits", false)?;
            input.insert("strip_digits".into(), if strip.is_null() { json!(0) } else { strip });
            for key in ["prefix", "external_prefix", "caller_id"] {
                input.insert(key.into(), cell(row, key).map(|v| json!(v)).unwrap_or(Value::Null));
            }
            outcalls::outcall_extension_in(tx, caller, &outcall.id.to_string(), &ext.id.to_string(), &input)
        }
    }
}

/// Why a transaction ends without a commit.
enum Abort {
    Store(StoreError),
    /// A preview, or an import with errors: the report, nothing written.
    Report(ImportReport),
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        Abort::Store(e)
    }
}

fn savepoint(tx: &Connection, sql: &str) -> Result<(), Abort> {
    tx.execute_batch(sql).map_err(Abort::Store)
}

/// Checks (and with `apply`, writes) every record of `text`.
pub fn import(state: &AppState, caller: &Caller, kind: CsvKind, text: &str, apply: bool) -> ApiResult<(bool, ImportReport)> {
    let records = parse(text).map_err(|e| ApiError::input("body", e))?;
    let Some(((_, header), records)) = records.split_first() else {
        return Err(ApiError::input("body", "empty: the first line names the columns"));
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let mut problems = Vec::new();
    for h in &header {
        if !kind.columns().contains(&h.as_str()) {
            problems.push(ApiError::schema(h, &["Unknown field.".into()]));
        }
    }
    for required in kind.required() {
        if !header.iter().any(|h| h == required) {
            problems.push(ApiError::schema(required, &["Missing data for required field.".into()]));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::BadRequest(problems));
    }
    let name = match kind {
        CsvKind::Incalls => "incalls",
        CsvKind::Users => "users",
        CsvKind::Outcalls => "outcalls",
    };
    let result = state.store.write(|tx| {
        let mut report = ImportReport { kind: name, columns: header.clone(), applied: false, rows: Vec::new(), errors: 0 };
        for (line, values) in records {
            let row: HashMap<&str, String> = header.iter().map(String::as_str).zip(values.iter().cloned()).collect();
            let mut errors = Vec::new();
            if values.len() != header.len() {
                errors.push(format!("Input Error - line {line}: {} fields where the header has {}", values.len(), header.len()));
            } else {
                savepoint(tx, "SAVEPOINT csv_row")?;
                match import_row(tx, caller, kind, &row) {
                    Ok(()) => savepoint(tx, "RELEASE csv_row")?,
                    Err(e) => {
                        savepoint(tx, "ROLLBACK TO csv_row; RELEASE csv_row")?;
                        errors = messages(e);
                    }
                }
            }
            report.errors += usize::from(!errors.is_empty());
            let values = header.iter().zip(values).map(|(h, v)| (h.clone(), json!(v))).collect();
            report.rows.push(RowReport { line: *line, values, errors });
        }
        if !apply || report.errors > 0 {
            return Err(Abort::Report(report));
        }
        report.applied = true;
        Ok(report)
    });
    match result {
        Ok(report) => {
            state.request_apply();
            Ok((true, report))
        }
        Err(Abort::Report(report)) => Ok((false, report)),
        Err(Abort::Store(e)) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct ImportQuery {
    #[serde(default)]
    apply: bool,
}

pub async fn import_csv(State(state): State<AppState>, caller: Caller, Path(kind): Path<String>, Query(query): Query<ImportQuery>, body: Bytes) -> ApiResult<Response> {
    let kind = CsvKind::parse(&kind)?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::input("body", "not UTF-8 text"))?;
    let (written, report) = import(&state, &caller, kind, text, query.apply)?;
    // An import asked for and refused: 400 with the per-row report.
    let status = if query.apply && !written { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok((status, axum::Json(report)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes_crlf_and_blank_lines() {
        let records = parse("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n1,\"two\nlines\"\n3,\n").unwrap();
        assert_eq!(records[0], (1, vec!["a".to_string(), "b".to_string()]));
        assert_eq!(records[1], (2, vec!["x, y".to_string(), "say \"hi\"".to_string()]));
        assert_eq!(records[2], (4, vec!["1".to_string(), "two\nlines".to_string()]));
        assert_eq!(records[3], (6, vec!["3".to_string(), String::new()]));
        assert!(parse("a\n\"open").is_err());
    }

    #[test]
    fn written_csv_reads_back() {
        let rows = vec![vec!["+15145550100".to_string(), "a,b".to_string(), "q\"uote".to_string()]];
        let text = write(&["did", "x", "y"], &rows);
        let back = parse(&text).unwrap();
        assert_eq!(back[1].1, rows[0]);
    }
}
