//! Whole config files over AMI: `CreateConfig`, `GetConfig`, and writing a file
//! Patchbay owns entirely as a series of `UpdateConfig` messages.
//!
//! Writing goes through a staging file so Asterisk never loads half a file:
//! 1. the first message copies an always-empty file into `<file>.staging` and
//!    starts filling it (`SrcFilename` empty, `DstFilename` staging);
//! 2. middle messages edit the staging file in place;
//! 3. the last one reads the staging file, adds its final part, writes the real
//!    file and carries `Reload` — the only message that does.
//!
//! Each message stays within Asterisk's 128 header lines. An `UpdateConfig`
//! action addresses every category with the given name, and PJSIP names an
//! endpoint, its aor and auth alike; so each section is created under a unique
//! temporary name, filled, then renamed (`RenameCat`).
//!
//! Values are written as given (Asterisk's own file writer escapes `;`),
//! with one exception: `UpdateConfig` takes a leading `>` of a `Value` as the
//! `=>` object marker and drops it (main/manager.c, `handle_updates`), so a
//! value starting with `>` is sent with one more `>`. The file then reads
//! `key => >value`, and the config parser drops only the `>` right after `=`
//! (main/config.c, `process_text_line`): Asterisk holds `>value`. Leading and
//! trailing blanks cannot round-trip (the AMI header parser and the config
//! parser both strip them); validation refuses them.

use super::client::AmiClient;
use super::codec::{self, AmiMessage, EncodeError, MAX_HEADER_LINES};
use super::error::AmiError;

/// One `[name]` block of a config file, its lines in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub lines: Vec<(String, String)>,
}

/// An empty file, the source of the first message of every write.
const EMPTY_SOURCE: &str = "patchbay-empty.conf";

/// Header lines every `UpdateConfig` spends before its edits: `Action`,
/// `ActionID`, `SrcFilename`, `DstFilename`, and `Reload` on the last one.
const FIXED_LINES: usize = 5;

/// Creates an empty file in Asterisk's config directory. `Ok(false)` when it
/// already existed (Asterisk answers `File exists`; the file is left as is).
pub async fn create_config(client: &AmiClient, filename: &str) -> Result<bool, AmiError> {
    let headers = AmiMessage::new().with("Filename", filename);
    match client.send("CreateConfig", headers).await {
        Ok(_) => Ok(true),
        Err(AmiError::ActionFailed { message, .. }) if message == "File exists" => Ok(false),
        Err(error) => Err(error),
    }
}

/// Reads a file back as Asterisk parsed it (includes resolved, comments gone).
pub async fn get_config(client: &AmiClient, filename: &str) -> Result<Vec<Section>, AmiError> {
    let answer = client
        .send("GetConfig", AmiMessage::new().with("Filename", filename))
        .await?;
    Ok(parse_get_config(&answer.response))
}

/// Sections from a `GetConfig` response: `Category-N: name` opens section N,
/// `Line-N-M: var=value` adds to it.
pub fn parse_get_config(response: &AmiMessage) -> Vec<Section> {
    let mut sections: Vec<(String, Section)> = Vec::new();
    for (key, value) in &response.headers {
        if let Some(index) = key.strip_prefix("Category-") {
            let section = Section {
                name: value.clone(),
                lines: Vec::new(),
            };
            sections.push((index.to_owned(), section));
        } else if let Some(rest) = key.strip_prefix("Line-") {
            let Some((index, _)) = rest.split_once('-') else {
                continue;
            };
            let Some((_, section)) = sections.iter_mut().rev().find(|(i, _)| i == index) else {
                continue;
            };
            let (var, value) = value.split_once('=').unwrap_or((value, ""));
            section
                .lines
                .push((var.trim().to_owned(), value.to_owned()));
        }
    }
    sections.into_iter().map(|(_, section)| section).collect()
}

/// Replaces `filename` with `sections`, then reloads `reload` (a module such
/// as `res_pjsip.so` or `pbx_config`) if given. The whole plan is checked
/// before the first message goes out: a bad value sends nothing.
pub async fn write_config(
    client: &AmiClient,
    filename: &str,
    sections: &[Section],
    reload: Option<&str>,
) -> Result<(), AmiError> {
    let messages = plan_update_config(filename, sections, reload)?;
    // UpdateConfig refuses a file that does not exist yet, destination
    // included ("File requires escalated privileges"): create them first.
    create_config(client, EMPTY_SOURCE).await?;
    create_config(client, filename).await?;
    if messages.len() > 1 {
        create_config(client, &staging_name(filename)).await?;
    }
    for message in messages {
        client.send("UpdateConfig", message).await?;
    }
    Ok(())
}

/// Reloads `module` (`res_pjsip.so`, `pbx_config`, …) with the AMI `Reload`
/// action and says whether Asterisk ran it. Not the `Reload` header of
/// `UpdateConfig`: manager.c answers that message before it reloads and
/// ignores the reload's result, so a reload Asterisk drops ("A reload is in
/// progress": loader.c takes one reload at a time, whoever asked) would go
/// unnoticed and the file would stay written but not loaded. A dropped
/// reload is asked again until `RELOAD_PATIENCE` has passed.
pub async fn reload(client: &AmiClient, module: &str) -> Result<(), AmiError> {
    let deadline = tokio::time::Instant::now() + RELOAD_PATIENCE;
    loop {
        match client.send("Reload", AmiMessage::new().with("Module", module)).await {
            Ok(_) => return Ok(()),
            Err(AmiError::ActionFailed { message, .. })
                if message.to_ascii_lowercase().contains("in progress") && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            // Not loaded (IAX is optional): there is nothing to reload, as
            // the `Reload` header of `UpdateConfig` silently did.
            Err(AmiError::ActionFailed { message, .. }) if message.to_ascii_lowercase().contains("no such module") => return Ok(()),
            Err(error) => return Err(error),
        }
    }
}

/// How long a reload waits for another one to finish (res_pjsip's takes
/// over 30 s at 1,000 tenants on a loaded 2-core machine).
const RELOAD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

fn staging_name(filename: &str) -> String {
    format!("{filename}.staging")
}

/// One edit of an `UpdateConfig` message.
enum Edit<'a> {
    NewCat {
        cat: String,
    },
    Append {
        cat: String,
        var: &'a str,
        value: &'a str,
    },
    RenameCat {
        cat: String,
        to: &'a str,
    },
}

impl Edit<'_> {
    fn header_lines(&self) -> usize {
        match self {
            Edit::NewCat { .. } => 2,
            Edit::Append { .. } => 4,
            Edit::RenameCat { .. } => 3,
        }
    }

    fn push_headers(&self, number: usize, message: &mut AmiMessage) {
        let n = format!("{number:06}");
        let mut push = |key: &str, value: &str| {
            message
                .headers
                .push((format!("{key}-{n}"), value.to_owned()))
        };
        match self {
            Edit::NewCat { cat } => {
                push("Action", "NewCat");
                push("Cat", cat);
            }
            Edit::Append { cat, var, value } => {
                push("Action", "Append");
                push("Cat", cat);
                push("Var", var);
                push("Value", &object_marker_safe(value));
            }
            Edit::RenameCat { cat, to } => {
                push("Action", "RenameCat");
                push("Cat", cat);
                push("Value", to);
            }
        }
    }
}

/// One edit of a file made in place (`UpdateConfig` with the file as both
/// source and destination, no staging file, no reload): how a live
/// dialplan edit's file follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InPlaceEdit {
    /// Removes a whole category.
    DelCat { cat: String },
    /// Removes the line at index `line` of `cat` (by index: `same` lines
    /// repeat, a value match would not do).
    Delete { cat: String, line: usize },
    /// Inserts `var => value` at index `line` of `cat`.
    Insert { cat: String, line: usize, var: String, value: String },
    /// A new category, before the category `before` (at the end: `None`).
    NewCat { cat: String, before: Option<String> },
    /// Appends `var => value` to `cat`.
    Append { cat: String, var: String, value: String },
}

/// The one `UpdateConfig` that makes `edits` to `filename` in place;
/// `None` when it would not fit in one AMI message.
pub fn in_place_message(filename: &str, edits: &[InPlaceEdit]) -> Option<AmiMessage> {
    let mut message = AmiMessage::new().with("SrcFilename", filename).with("DstFilename", filename);
    for (number, edit) in edits.iter().enumerate() {
        let n = format!("{number:06}");
        let mut push = |key: &str, value: &str| message.headers.push((format!("{key}-{n}"), value.to_owned()));
        match edit {
            InPlaceEdit::DelCat { cat } => {
                push("Action", "DelCat");
                push("Cat", cat);
            }
            InPlaceEdit::Delete { cat, line } => {
                push("Action", "Delete");
                push("Cat", cat);
                push("Line", &line.to_string());
            }
            InPlaceEdit::Insert { cat, line, var, value } => {
                push("Action", "Insert");
                push("Cat", cat);
                push("Var", var);
                push("Value", &object_marker_safe(value));
                push("Line", &line.to_string());
            }
            InPlaceEdit::NewCat { cat, before } => {
                push("Action", "NewCat");
                push("Cat", cat);
                // NewCat's Match: the category it goes before.
                if let Some(before) = before {
                    push("Match", before);
                }
            }
            InPlaceEdit::Append { cat, var, value } => {
                push("Action", "Append");
                push("Cat", cat);
                push("Var", var);
                push("Value", &object_marker_safe(value));
            }
        }
    }
    // + Action and ActionID.
    (message.headers.len() + 2 <= MAX_HEADER_LINES).then_some(message)
}

/// Sends [`in_place_message`]; `Err` when it does not fit in one message.
pub async fn edit_in_place(client: &AmiClient, filename: &str, edits: &[InPlaceEdit]) -> Result<(), AmiError> {
    let message = in_place_message(filename, edits)
        .ok_or_else(|| AmiError::ActionFailed { action: "UpdateConfig".into(), message: "the edit does not fit in one AMI message".into() })?;
    client.send("UpdateConfig", message).await.map(|_| ())
}

/// `value` as an `UpdateConfig` `Value` header that Asterisk stores as
/// `value` (see the module comment on the leading `>`).
fn object_marker_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with('>') {
        std::borrow::Cow::Owned(format!(">{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// The `UpdateConfig` messages (headers after `Action`/`ActionID`) that
/// `write_config` sends, in order. Pure, so the chunking is testable.
pub fn plan_update_config(
    filename: &str,
    sections: &[Section],
    reload: Option<&str>,
) -> Result<Vec<AmiMessage>, EncodeError> {
    let staging = staging_name(filename);
    let edits = sections.iter().enumerate().flat_map(|(index, section)| {
        let temporary = format!("patchbay-staging-{index}");
        std::iter::once(Edit::NewCat {
            cat: temporary.clone(),
        })
        .chain(section.lines.iter().map({
            let temporary = temporary.clone();
            move |(var, value)| Edit::Append {
                cat: temporary.clone(),
                var,
                value,
            }
        }))
        .chain(std::iter::once(Edit::RenameCat {
            cat: temporary,
            to: &section.name,
        }))
    });

    let budget = MAX_HEADER_LINES - FIXED_LINES;
    let mut chunks: Vec<Vec<Edit>> = vec![Vec::new()];
    let mut used = 0;
    for edit in edits {
        if used + edit.header_lines() > budget {
            chunks.push(Vec::new());
            used = 0;
        }
        used += edit.header_lines();
        chunks.last_mut().expect("never empty").push(edit);
    }

    let last = chunks.len() - 1;
    let mut messages = Vec::with_capacity(chunks.len());
    for (position, chunk) in chunks.iter().enumerate() {
        let source = if position == 0 {
            EMPTY_SOURCE
        } else {
            staging.as_str()
        };
        let destination = if position == last {
            filename
        } else {
            staging.as_str()
        };
        let mut message = AmiMessage::new()
            .with("SrcFilename", source)
            .with("DstFilename", destination);
        if position == last
            && let Some(module) = reload
        {
            message = message.with("Reload", module);
        }
        for (number, edit) in chunk.iter().enumerate() {
            edit.push_headers(number, &mut message);
        }
        codec::validate(&message)?;
        messages.push(message);
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, lines: &[(&str, &str)]) -> Section {
        Section {
            name: name.to_owned(),
            lines: lines
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn small_file_is_one_message_from_the_empty_source_with_reload() {
        let plan = plan_update_config(
            "patchbay-pjsip.conf",
            &[section("trunk-a", &[("type", "aor")])],
            Some("res_pjsip.so"),
        )
        .unwrap();
        assert_eq!(plan.len(), 1);
        let expected = AmiMessage::new()
            .with("SrcFilename", "patchbay-empty.conf")
            .with("DstFilename", "patchbay-pjsip.conf")
            .with("Reload", "res_pjsip.so")
            .with("Action-000000", "NewCat")
            .with("Cat-000000", "patchbay-staging-0")
            .with("Action-000001", "Append")
            .with("Cat-000001", "patchbay-staging-0")
            .with("Var-000001", "type")
            .with("Value-000001", "aor")
            .with("Action-000002", "RenameCat")
            .with("Cat-000002", "patchbay-staging-0")
            .with("Value-000002", "trunk-a");
        assert_eq!(plan[0], expected);
    }

    #[test]
    fn large_file_is_chunked_through_staging_and_only_the_last_reloads() {
        let lines: Vec<(String, String)> = (0..60)
            .map(|i| (format!("option{i}"), format!("value{i}")))
            .collect();
        let sections: Vec<Section> = ["endpoint", "aor", "auth"]
            .iter()
            .map(|_| Section {
                name: "trunk-a".into(),
                lines: lines.clone(),
            })
            .collect();
        let plan = plan_update_config("p.conf", &sections, Some("res_pjsip.so")).unwrap();
        assert!(plan.len() > 1);
        for (position, message) in plan.iter().enumerate() {
            // + Action and ActionID, added by the session.
            assert!(message.headers.len() + 2 <= MAX_HEADER_LINES);
            let is_last = position == plan.len() - 1;
            assert_eq!(message.get("Reload").is_some(), is_last);
            let expected_source = if position == 0 {
                "patchbay-empty.conf"
            } else {
                "p.conf.staging"
            };
            assert_eq!(message.get("SrcFilename"), Some(expected_source));
            let expected_destination = if is_last { "p.conf" } else { "p.conf.staging" };
            assert_eq!(message.get("DstFilename"), Some(expected_destination));
        }
        let appends = plan
            .iter()
            .flat_map(|m| m.headers.iter())
            .filter(|(k, v)| k.starts_with("Action-") && v == "Append")
            .count();
        assert_eq!(appends, 180);
        let renames: Vec<_> = plan
            .iter()
            .flat_map(|m| m.headers.iter())
            .filter(|(k, _)| k.starts_with("Value-"))
            .filter(|(_, v)| v == "trunk-a")
            .collect();
        assert_eq!(renames.len(), 3);
    }

    #[test]
    fn a_value_starting_with_the_object_marker_gets_one_more() {
        let plan = plan_update_config(
            "p.conf",
            &[section("auth", &[("password", ">secret"), ("username", "a>b")])],
            None,
        )
        .unwrap();
        assert_eq!(plan[0].get("Value-000001"), Some(">>secret"));
        assert_eq!(plan[0].get("Value-000002"), Some("a>b"));
    }

    #[test]
    fn an_empty_file_is_one_message_that_empties_the_target() {
        let plan = plan_update_config("p.conf", &[], None).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].headers.len(), 2);
    }

    #[test]
    fn an_injected_newline_fails_the_whole_plan() {
        let sections = [
            section("ok", &[("a", "b")]),
            section("trunk", &[("callerid", "x\n[evil]")]),
        ];
        assert!(matches!(
            plan_update_config("p.conf", &sections, None),
            Err(EncodeError::ForbiddenCharacter { .. })
        ));
        let evil_name = [section("trunk]\n[evil", &[])];
        assert!(plan_update_config("p.conf", &evil_name, None).is_err());
    }

    /// Shape recorded from Asterisk 22's `GetConfig`.
    #[test]
    fn parses_get_config_with_repeated_names() {
        let response = AmiMessage::new()
            .with("Response", "Success")
            .with("ActionID", "patchbay-9")
            .with("Category-000000", "trunk-a")
            .with("Line-000000-000000", "type=endpoint")
            .with("Line-000000-000001", "context=from-trunk")
            .with("Category-000001", "trunk-a")
            .with("Line-000001-000000", "type=aor")
            .with("Line-000001-000001", "contact=sip:a=b@127.0.0.3");
        assert_eq!(
            parse_get_config(&response),
            [
                section(
                    "trunk-a",
                    &[("type", "endpoint"), ("context", "from-trunk")]
                ),
                section(
                    "trunk-a",
                    &[("type", "aor"), ("contact", "sip:a=b@127.0.0.3")]
                ),
            ]
        );
    }
}
