//! The search web UI in real headless Chromium (Debian's chromium and
//! chromium-driver over WebDriver), against `loghaul run` on real files.
//! Screenshots of the main states are kept under `target/ui-screenshots/`.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use loghaul_testkit::{Browser, api_count, http_get_with};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots")
}

struct Run {
    child: Child,
    address: SocketAddr,
    _dir: tempfile::TempDir,
    _stderr: std::sync::mpsc::Receiver<String>,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn count(address: SocketAddr, token: Option<&str>) -> Option<u64> {
    let Some(token) = token else {
        return api_count(address, "*");
    };
    let (status, body) = http_get_with(
        address,
        "/api/count?q=*",
        &[&format!("Authorization: Bearer {token}")],
    );
    (status == 200)
        .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
        .flatten()?["count"]
        .as_u64()
}

/// `loghaul run` on a log of `lines`, once they are all searchable.
fn run_with(lines: &[String], extra_config: &str, token: Option<&str>) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    let mut file = std::fs::File::create(&log).expect("create");
    for line in lines {
        file.write_all(line.as_bytes()).expect("write");
        file.write_all(b"\n").expect("write");
    }
    drop(file);
    let config = dir.path().join("loghaul.toml");
    std::fs::write(
        &config,
        format!(
            "host = \"ui-host\"\n[[shipper.sources]]\nname = \"app\"\npaths = [\"{}\"]\n{extra_config}",
            log.display()
        ),
    )
    .expect("config");
    let (child, address, stderr) = loghaul_testkit::start_run_with(
        Path::new(env!("CARGO_BIN_EXE_loghaul")),
        dir.path(),
        &[String::from("-c"), config.display().to_string()],
    );
    let run = Run {
        child,
        address,
        _dir: dir,
        _stderr: stderr,
    };
    let deadline = std::time::Instant::now() + WAIT;
    while count(address, token) != Some(lines.len() as u64) {
        assert!(std::time::Instant::now() < deadline, "not all indexed");
        std::thread::sleep(Duration::from_millis(100));
    }
    run
}

/// `count` JSON lines, one a second, the newest a minute ago: their level
/// is read whatever the text detection rules (a stamp then a bare level
/// word is issue 14's).
fn numbered(count: usize) -> Vec<String> {
    let newest = loghaul_model::time::now_unix_nano() / 1_000_000_000 - 60;
    (0..count)
        .map(|n| {
            let level = ["INFO", "INFO", "WARN", "ERROR"][n % 4];
            let at = loghaul_model::time::UtcDateTime::from_unix_nano(
                (newest - (count - n) as i64) * 1_000_000_000,
            );
            format!(
                "{{\"time\":\"{}T{:02}:{:02}:{:02}Z\",\"level\":\"{level}\",\"msg\":\"request {n} served in {} ms\"}}",
                at.date_string(),
                at.hour,
                at.minute,
                at.second,
                n % 97
            )
        })
        .collect()
}

#[test]
fn hostile_lines_are_shown_as_text_and_never_run() {
    let mut lines = vec![
        "<script>window.__pwned = 'script'</script> plain script tag".to_owned(),
        "<img src=x onerror=\"window.__pwned = 'img'\"> an image that errors".to_owned(),
        "<a href=\"javascript:window.__pwned='link'\">click me</a> a javascript: link".to_owned(),
        "bidi \u{202e}txt.exe\u{202c} override and an isolate \u{2066}x\u{2069}".to_owned(),
        "ansi \u{1b}[31mred\u{1b}[0m colours".to_owned(),
        format!("huge {}", "x".repeat(1 << 20)),
    ];
    lines.extend(numbered(20));
    let run = run_with(&lines, "", None);
    let browser = Browser::start();
    browser.goto(&format!("http://{}/?q=*&since=30d", run.address));
    browser.wait_for(
        "rows are drawn",
        "return document.querySelectorAll('#results .row').length >= 20",
        WAIT,
    );
    browser.screenshot(&screenshots().join("hostile.png"));
    let report = browser.eval(
        r#"
        const rows = [...document.querySelectorAll('#results .row .body')];
        const text = rows.map((row) => row.textContent);
        return {
            pwned: window.__pwned ?? null,
            images: document.querySelectorAll('#results img, #results script, #results a').length,
            script: text.some((t) => t.includes('<script>window.__pwned')),
            img: text.some((t) => t.includes('<img src=x onerror=')),
            link: text.some((t) => t.includes('javascript:window.__pwned')),
            bidi: text.some((t) => t.includes('U+202E')) && !text.some((t) => t.includes('\u202e')),
            ansi: text.some((t) => t.includes('ESC[31m')) && !text.some((t) => t.includes('\u001b')),
            huge: Math.max(...text.map((t) => t.length)),
            showAll: [...document.querySelectorAll('#results .more')].map((b) => b.textContent),
        };
        "#,
        vec![],
    );
    println!("hostile lines: {report}");
    assert_eq!(report["pwned"], json!(null), "nothing ran");
    assert_eq!(
        report["images"],
        json!(0),
        "no markup was made from log text"
    );
    for key in ["script", "img", "link", "bidi", "ansi"] {
        assert_eq!(report[key], json!(true), "{key} shown as text: {report}");
    }
    let huge = report["huge"].as_u64().expect("length");
    assert!(
        huge < 11 * 1024,
        "a 1 MiB line is cut: {huge} characters drawn"
    );
    assert!(
        report["showAll"].to_string().contains("show all (1024 KB)"),
        "{report}"
    );
    browser.click("#results .more");
    browser.wait_for(
        "the whole line is drawn",
        "return Math.max(...[...document.querySelectorAll('#results .row .body')].map((b) => b.textContent.length)) > 1000000",
        WAIT,
    );
}

#[test]
fn the_url_holds_the_view_and_a_bad_query_is_underlined_where_it_fails() {
    let run = run_with(&numbered(400), "", None);
    let browser = Browser::start();
    browser.goto(&format!("http://{}/?q=level:ERROR&since=30d", run.address));
    browser.wait_for(
        "the count",
        "return document.getElementById('count').textContent.includes('100 events')",
        WAIT,
    );
    assert_eq!(
        browser.eval("return document.getElementById('q').value", vec![]),
        json!("level:ERROR")
    );
    assert_eq!(
        browser.eval("return document.getElementById('range').value", vec![]),
        json!("30d")
    );
    // Typing a query and Enter runs it and puts it in the URL.
    browser.clear("#q");
    browser.type_into("#q", "level:WARN AND request\u{E007}");
    browser.wait_for(
        "the new count",
        "return document.getElementById('count').textContent.includes('100 events') && location.search.includes('level%3AWARN')",
        WAIT,
    );
    // A query error names its place, and the input shows it.
    browser.clear("#q");
    browser.type_into("#q", "level:ERROR AND (request\u{E007}");
    let error = browser.wait_for(
        "the error",
        "return !document.getElementById('error').hidden && document.getElementById('error').textContent",
        WAIT,
    );
    println!("query error shown: {error}");
    assert!(error.to_string().contains("at character"), "{error}");
    assert_eq!(
        browser.eval(
            "return document.getElementById('q').getAttribute('aria-invalid')",
            vec![]
        ),
        json!("true")
    );
    assert!(
        browser
            .eval(
                "return document.querySelector('#query-mirror .bad') !== null",
                vec![]
            )
            .as_bool()
            .unwrap_or(false)
    );
    browser.screenshot(&screenshots().join("query-error.png"));
}

#[test]
fn scrolling_pages_through_the_cursor_and_a_facet_edits_the_query() {
    let run = run_with(&numbered(1_000), "", None);
    let browser = Browser::start();
    browser.goto(&format!("http://{}/?since=30d", run.address));
    browser.wait_for(
        "the first page",
        "return window.loghaul && window.loghaul.state.events.length === 100",
        WAIT,
    );
    // Scroll to the end until every event is loaded, page by page.
    browser.wait_for(
        "all 1,000 events through the cursor",
        "const r = document.getElementById('results'); r.scrollTop = r.scrollHeight; return window.loghaul.state.events.length === 1000 && !window.loghaul.state.cursor",
        WAIT,
    );
    let distinct = browser.eval(
        "return new Set(window.loghaul.state.events.map((e) => e.id)).size",
        vec![],
    );
    assert_eq!(distinct, json!(1000), "no event twice, none missing");
    let drawn = browser.eval(
        "return document.querySelectorAll('#results .row').length",
        vec![],
    );
    assert!(
        drawn.as_u64().unwrap_or(0) < 200,
        "the list is virtualised: {drawn} rows in the DOM"
    );
    // The level facet's + filters for it.
    browser.wait_for(
        "the field sidebar",
        "return document.querySelectorAll('#fields .facet').length > 0",
        WAIT,
    );
    browser.screenshot(&screenshots().join("results.png"));
    browser.eval(
        "[...document.querySelectorAll('#fields .facet')].find((f) => f.querySelector('.v').textContent === 'ERROR').querySelector('button').click()",
        vec![],
    );
    browser.wait_for(
        "the filtered count",
        "return document.getElementById('q').value === 'level:ERROR' && document.getElementById('count').textContent.includes('250 events')",
        WAIT,
    );
}

#[test]
fn a_token_is_asked_for_once_and_kept_for_the_session() {
    let run = run_with(
        &numbered(10),
        "[indexer]\ntoken = \"ui-secret-token\"\n",
        Some("ui-secret-token"),
    );
    let browser = Browser::start();
    browser.goto(&format!("http://{}/?since=30d", run.address));
    browser.wait_for(
        "the token prompt",
        "return document.getElementById('token-dialog').open",
        WAIT,
    );
    browser.type_into("#token", "ui-secret-token\u{E007}");
    browser.wait_for(
        "results with the token",
        "return window.loghaul.state.events.length === 10",
        WAIT,
    );
    assert_eq!(
        browser.eval("return sessionStorage.getItem('loghaul.token')", vec![]),
        json!("ui-secret-token")
    );
}
