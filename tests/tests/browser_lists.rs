//! The list pages in real Chromium:
//!
//! - CSV import on the incoming routes page: a file with one bad row is
//!   previewed, the row shows the API's error beside it and nothing is
//!   written; fixed, previewed again, imported: the rows appear. Then the
//!   export gives them back, and an import with an error asked for over the
//!   API writes nothing (all or nothing).
//! - CSV import from a file picked on the computer (`<input type=file>`):
//!   its text fills the box, is previewed and imported.
//! - Search, sort and paging done by the API on a list of more than one
//!   page (users).
//!
//! No Asterisk is needed.

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer};
use patchbay_e2e::browser::Browser;
use fantoccini::Locator;
use serde_json::json;

const C: &str = "/api/confd/1.1";

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 3 <= bytes.len()).then(|| u8::from_str_radix(&text[i + 1..i + 3], 16).ok()).flatten();
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A Patchbay with one user (its id: an incall's target), and Chromium on
/// the incoming routes page with the CSV panel open.
async fn incalls_csv_panel() -> anyhow::Result<(PatchbayServer, String, i64, Browser)> {
    let s = PatchbayServer::start(None).await?;
    let token = s.admin_token().await?;
    let user = s.expect(&token, "POST", &format!("{C}/users"), Some(json!({"firstname": "Front", "lastname": "Desk"})), 201).await?;
    let user_id = user["id"].as_i64().expect("user id");
    let browser = Browser::start().await?;
    browser.login(&s.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/incalls']").await?;
    browser.click("details.csv[data-kind=incalls] summary").await?;
    Ok((s, token, user_id, browser))
}

#[tokio::test]
async fn a_csv_with_a_bad_row_is_previewed_fixed_and_imported() -> anyhow::Result<()> {
    let (s, token, user_id, browser) = incalls_csv_panel().await?;

    // Row 3 names a user that does not exist.
    let bad = format!("did,context,destination,target\n5550001,from-extern,user,{user_id}\n5550002,from-extern,user,999\n+15145550003,,hangup,busy\n");
    browser.fill("details.csv textarea[name=csv]", &bad).await?;
    browser.click("details.csv button.preview").await?;
    let error = browser.text_of("table.csv-preview tr[data-line='3'] td.csv-errors li").await?;
    assert!(error.contains("999"), "{error}");
    browser.wait_text("table.csv-preview tr[data-line='2'] td.csv-errors .badge", "ok").await?;
    browser.wait_text("table.csv-preview tr[data-line='4'] td.csv-errors .badge", "ok").await?;
    assert!(browser.client.find(Locator::Css("details.csv button.import")).await.is_err(), "no import while a row has an error");
    browser.screenshot("csv-preview-error").await?;
    let incalls = s.expect(&token, "GET", &format!("{C}/incalls"), None, 200).await?;
    assert_eq!(incalls["total"], json!(0), "a preview writes nothing: {incalls}");

    // Fixed: every row is ok, then imported.
    let fixed = bad.replace(",999", &format!(",{user_id}"));
    browser.fill("details.csv textarea[name=csv]", &fixed).await?;
    browser.click("details.csv button.preview").await?;
    browser.wait_text("table.csv-preview tr[data-line='3'] td.csv-errors .badge", "ok").await?;
    for (dark, theme) in [(false, "light"), (true, "dark")] {
        browser.color_scheme(dark).await?;
        for width in [1280, 390] {
            browser.client.set_window_size(width, 900).await?;
            browser.screenshot(&format!("csv-preview-{width}-{theme}")).await?;
        }
    }
    browser.color_scheme(false).await?;
    browser.client.set_window_size(1280, 900).await?;
    browser.click("details.csv button.import").await?;
    browser.wait_text("details.csv p.status", "Imported 3 rows.").await?;
    for did in ["5550001", "5550002", "15145550003"] {
        browser.text_of(&format!("tr[data-incall='{did}']")).await?;
    }
    let incalls = s.expect(&token, "GET", &format!("{C}/incalls"), None, 200).await?;
    assert_eq!(incalls["total"], json!(3), "{incalls}");

    // Exported back, as a download.
    browser.click("details.csv button.export").await?;
    let link = browser.client.wait().for_element(Locator::Css("details.csv a.download")).await?;
    let href = link.attr("href").await?.unwrap_or_default();
    let csv = percent_decode(href.trim_start_matches("data:text/csv;charset=utf-8,"));
    assert!(csv.starts_with("did,context,destination,target,ring_time\r\n"), "{csv}");
    assert!(csv.contains(&format!("5550002,from-extern,user,{user_id},")), "{csv}");
    assert!(csv.contains("15145550003,from-extern,hangup,busy,"), "{csv}");
    browser.screenshot("csv-imported").await?;

    // All or nothing: one bad row, and the good one is not written either.
    let answer = reqwest::Client::new()
        .post(format!("{}/api/patchbay/1.0/csv/incalls?apply=true", s.base_url))
        .header("X-Auth-Token", &token)
        .body("did,destination\n5550009,none\n5550001,none\n")
        .send()
        .await?;
    assert_eq!(answer.status().as_u16(), 400);
    let report: serde_json::Value = answer.json().await?;
    assert_eq!(report["applied"], json!(false), "{report}");
    assert_eq!(report["rows"][0]["errors"], json!([]), "{report}");
    let duplicate = report["rows"][1]["errors"][0].as_str().unwrap_or_default();
    assert!(duplicate.contains("already exists"), "the DID is taken, in Wazo's words: {report}");
    let incalls = s.expect(&token, "GET", &format!("{C}/incalls"), None, 200).await?;
    assert_eq!(incalls["total"], json!(3), "nothing written: {incalls}");
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors: {errors:?}");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_csv_file_picked_on_the_computer_is_previewed_and_imported() -> anyhow::Result<()> {
    let (s, token, user_id, browser) = incalls_csv_panel().await?;
    let dir = std::env::temp_dir().join(format!("patchbay-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("incalls-upload.csv");
    let csv = format!("did,context,destination,target\n5550101,from-extern,user,{user_id}\n5550102,from-extern,hangup,busy\n");
    std::fs::write(&file, &csv)?;

    // What a user's file dialog does: the picker gets the file's path.
    let picker = browser.client.wait().for_element(Locator::Css("details.csv input[type=file][name=csv-file]")).await?;
    picker.send_keys(&file.to_string_lossy()).await?;
    browser.wait_text("details.csv p.status", "Read incalls-upload.csv: preview it before importing.").await?;
    let text = browser.client.find(Locator::Css("details.csv textarea[name=csv]")).await?.prop("value").await?.unwrap_or_default();
    assert_eq!(text, csv, "the file's text is in the box");
    browser.click("details.csv button.preview").await?;
    browser.wait_text("table.csv-preview tr[data-line='2'] td.csv-errors .badge", "ok").await?;
    browser.wait_text("table.csv-preview tr[data-line='3'] td.csv-errors .badge", "ok").await?;
    let incalls = s.expect(&token, "GET", &format!("{C}/incalls"), None, 200).await?;
    assert_eq!(incalls["total"], json!(0), "picking and previewing write nothing: {incalls}");
    browser.click("details.csv button.import").await?;
    browser.wait_text("details.csv p.status", "Imported 2 rows.").await?;
    browser.text_of("tr[data-incall='5550101']").await?;
    browser.text_of("tr[data-incall='5550102']").await?;
    let incalls = s.expect(&token, "GET", &format!("{C}/incalls"), None, 200).await?;
    assert_eq!(incalls["total"], json!(2), "{incalls}");
    browser.screenshot("csv-file-imported").await?;
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors: {errors:?}");
    browser.close().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test]
async fn a_list_longer_than_a_page_is_searched_sorted_and_paged() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let token = s.admin_token().await?;
    // 30 users (a page is 25): Agent 01 … Agent 29 and one Zed.
    for n in 1..30 {
        s.expect(&token, "POST", &format!("{C}/users"), Some(json!({"firstname": format!("Agent {n:02}")})), 201).await?;
    }
    s.expect(&token, "POST", &format!("{C}/users"), Some(json!({"firstname": "Zed", "lastname": "Last"})), 201).await?;
    let browser = Browser::start().await?;
    browser.login(&s.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/users']").await?;

    let first_cell = "table.users tbody tr[data-user] td:first-child";
    browser.wait_text(".pager .page-info", "1–25 of 30").await?;
    browser.wait_text(first_cell, "Agent 01").await?;
    let rows = browser.client.find_all(Locator::Css("table.users tbody tr[data-user]")).await?;
    assert_eq!(rows.len(), 25);
    browser.click(".pager button.next").await?;
    browser.wait_text(".pager .page-info", "26–30 of 30").await?;
    browser.wait_text(first_cell, "Agent 26").await?;
    assert_eq!(browser.client.find_all(Locator::Css("table.users tbody tr[data-user]")).await?.len(), 5);
    assert!(browser.client.find(Locator::Css(".pager button.next:disabled")).await.is_ok(), "no page after the last");

    // Descending: back to the first page, Zed first.
    browser.click(".list-tools input[name=descending]").await?;
    browser.wait_text(".pager .page-info", "1–25 of 30").await?;
    browser.wait_text(first_cell, "Zed Last").await?;
    browser.click(".pager button.next").await?;
    browser.wait_text(first_cell, "Agent 05").await?;

    // Search: the API filters (Zed is gone), the pager follows.
    browser.fill(".list-tools input[name=search]", "agent").await?;
    browser.wait_text(".pager .page-info", "1–25 of 29").await?;
    browser.wait_text(first_cell, "Agent 29").await?;
    browser.click(".pager button.next").await?;
    browser.wait_text(".pager .page-info", "26–29 of 29").await?;
    browser.wait_text(first_cell, "Agent 04").await?;
    // Sorted by last name ascending, searching everything again.
    browser.click(".list-tools input[name=descending]").await?;
    browser.fill(".list-tools input[name=search]", "zed").await?;
    browser.wait_text(".pager .page-info", "1–1 of 1").await?;
    browser.wait_text(first_cell, "Zed Last").await?;
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors: {errors:?}");
    browser.screenshot("users-search").await?;
    browser.close().await?;
    Ok(())
}
