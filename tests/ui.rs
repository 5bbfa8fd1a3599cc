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
    log: PathBuf,
    dir: tempfile::TempDir,
    _stderr: std::sync::mpsc::Receiver<String>,
}

impl Run {
    /// Kills `loghaul run` (every connection to it is cut), calls `meanwhile`
    /// while it is down, and starts it again on the same data and address.
    fn restart(&mut self, meanwhile: impl FnOnce()) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        meanwhile();
        let config = self.dir.path().join("loghaul.toml");
        let (child, address, stderr) = loghaul_testkit::start_run_on(
            Path::new(env!("CARGO_BIN_EXE_loghaul")),
            self.dir.path(),
            &self.address.to_string(),
            &[String::from("-c"), config.display().to_string()],
        );
        assert_eq!(address, self.address, "back on the same address");
        self.child = child;
        self._stderr = stderr;
    }
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
    let run = start(lines, extra_config);
    let deadline = std::time::Instant::now() + WAIT;
    while count(run.address, token) != Some(lines.len() as u64) {
        assert!(std::time::Instant::now() < deadline, "not all indexed");
        std::thread::sleep(Duration::from_millis(100));
    }
    run
}

/// `loghaul run` on a log of `lines`, as soon as it listens.
fn start(lines: &[String], extra_config: &str) -> Run {
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
    Run {
        child,
        address,
        log: log.clone(),
        dir,
        _stderr: stderr,
    }
}

/// `count` JSON lines, one a second, the newest a minute ago: their level
/// is read whatever the text detection rules (a stamp then a bare level
/// word is issue 14's).
fn numbered(count: usize) -> Vec<String> {
    numbered_every(count, 1)
}

/// Now, in whole Unix seconds.
fn now_seconds() -> i64 {
    loghaul_model::time::now_unix_nano() / 1_000_000_000
}

/// The time field of a JSON line at `unix_seconds`.
fn stamp(unix_seconds: i64) -> String {
    let at = loghaul_model::time::UtcDateTime::from_unix_nano(unix_seconds * 1_000_000_000);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        at.date_string(),
        at.hour,
        at.minute,
        at.second
    )
}

/// [`numbered`] with the lines `step` seconds apart (the newest still a
/// minute ago): line `n` is `60 + (count - n) * step` seconds old.
fn numbered_every(count: usize, step: usize) -> Vec<String> {
    let newest = now_seconds() - 60;
    (0..count)
        .map(|n| {
            let level = ["INFO", "INFO", "WARN", "ERROR"][n % 4];
            format!(
                "{{\"time\":\"{}\",\"level\":\"{level}\",\"msg\":\"request {n} served in {} ms\",\"user\":\"u{}\"}}",
                stamp(newest - ((count - n) * step) as i64),
                n % 97,
                n % 7
            )
        })
        .collect()
}

/// A made-up word for a number (distinct numbers, distinct words), of the
/// letters [`slow_query`] looks for.
fn word(mut n: u64) -> String {
    const LETTERS: &[u8] = b"bcdfghjklmnpqrstvwxz";
    let mut out = String::from("w");
    while n > 0 {
        out.push(char::from(LETTERS[(n % 20) as usize]));
        n /= 20;
    }
    out
}

/// `count` DEBUG lines of 40 made-up words each, nearly all different: a
/// term dictionary big enough that a wildcard walking it takes a while.
fn wordy(count: usize) -> Vec<String> {
    (0..count)
        .map(|n| {
            let words: Vec<String> = (0..40)
                .map(|k| word(((n * 40 + k) as u64).wrapping_mul(2_654_435_761) % 100_000_000))
                .collect();
            format!(
                "{{\"time\":\"{}\",\"level\":\"DEBUG\",\"msg\":\"noise {}\"}}",
                stamp(now_seconds() - 3600),
                words.join(" ")
            )
        })
        .collect()
}

/// A query of `clauses` wildcards with a leading `*`, each of which walks
/// the whole term dictionary of the body.
fn slow_query(clauses: usize) -> String {
    const LETTERS: &[u8] = b"bcdfghjklmnpqrstvwxz";
    (0..clauses)
        .map(|k| {
            format!(
                "*{}*{}*",
                char::from(LETTERS[k % 20]),
                char::from(LETTERS[(k / 20) % 20])
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The value of `name` in `/metrics`.
fn metric(address: SocketAddr, name: &str) -> u64 {
    let (_, metrics) = loghaul_testkit::http_get(address, "/metrics");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

/// The `n` of every `request <n> served` in `values` (strings).
fn request_numbers(values: &serde_json::Value) -> Vec<u64> {
    values
        .as_array()
        .expect("an array")
        .iter()
        .map(|value| value.as_u64().expect("a number"))
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
        "[{\"pretty\": 1, \"list\": [2, 3]}]".to_owned(),
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
    // Wrapped, a JSON body is shown pretty.
    browser.click("#wrap");
    browser.wait_for(
        "a pretty JSON body",
        "return [...document.querySelectorAll('#results .row .body')].some((b) => b.textContent.includes('\\n    \"pretty\": 1,'))",
        WAIT,
    );
    browser.click("#wrap");
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
    // Autocomplete: field names, then that field's top values.
    browser.clear("#q");
    browser.type_into("#q", "us");
    browser.wait_for(
        "a field name suggested",
        "return [...document.querySelectorAll('#suggest li')].some((li) => li.textContent.startsWith('user:'))",
        WAIT,
    );
    browser.press("\u{E015}\u{E004}");
    assert_eq!(
        browser.eval("return document.getElementById('q').value", vec![]),
        json!("user:")
    );
    browser.wait_for(
        "its values suggested, with counts",
        "return [...document.querySelectorAll('#suggest li')].some((li) => /^user:u3\\d/.test(li.textContent))",
        WAIT,
    );
    // A query error names its place, and the input shows it. The server
    // gives a byte offset; a letter of two bytes before it tells bytes from
    // characters.
    let bad = "café AND (request";
    let (status, body) = loghaul_testkit::http_get(
        run.address,
        &format!(
            "/api/count?since=30d&q={}",
            loghaul_indexer::client::encode(bad)
        ),
    );
    assert_eq!(status, 400, "{body}");
    let position = serde_json::from_str::<serde_json::Value>(&body).expect("error")["position"]
        .as_u64()
        .expect("a position") as usize;
    let at = bad[..position].chars().count().min(bad.chars().count() - 1);
    let expected_before: String = bad.chars().take(at).collect();
    let expected_bad: String = bad.chars().skip(at).take(1).collect();
    println!("the server places the error of {bad:?} at byte {position}: character {at}");
    browser.clear("#q");
    browser.type_into("#q", &format!("{bad}\u{E007}"));
    let error = browser.wait_for(
        "the error",
        "return !document.getElementById('error').hidden && document.getElementById('error').textContent",
        WAIT,
    );
    println!("query error shown: {error}");
    assert!(
        error
            .to_string()
            .contains(&format!("at character {}", at + 1)),
        "{error}"
    );
    assert_eq!(
        browser.eval(
            "return document.getElementById('q').getAttribute('aria-invalid')",
            vec![]
        ),
        json!("true")
    );
    // The underlined character is the one the server named, drawn under
    // the same character of the input: the text before it, measured in the
    // input's font, ends where the underline starts.
    let underline = browser.eval(
        r#"
        const q = document.getElementById('q');
        const mirror = document.getElementById('query-mirror');
        const bad = mirror.querySelector('.bad');
        const before = [...mirror.childNodes].slice(0, [...mirror.childNodes].indexOf(bad)).map((n) => n.textContent).join('');
        const style = getComputedStyle(q);
        const context = document.createElement('canvas').getContext('2d');
        context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const textStart = q.getBoundingClientRect().left + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft);
        return {
            before,
            bad: bad.textContent,
            offset: bad.getBoundingClientRect().left - textStart,
            width: context.measureText(before).width,
            underline: getComputedStyle(bad).textDecorationLine,
            below: bad.getBoundingClientRect().top >= q.getBoundingClientRect().bottom - 1,
        };
        "#,
        vec![],
    );
    println!("underline: {underline}");
    assert_eq!(underline["before"], json!(expected_before), "{underline}");
    assert_eq!(underline["bad"], json!(expected_bad), "{underline}");
    assert_eq!(underline["underline"], json!("underline"), "{underline}");
    assert_eq!(underline["below"], json!(true), "{underline}");
    let (offset, width) = (
        underline["offset"].as_f64().expect("offset"),
        underline["width"].as_f64().expect("width"),
    );
    assert!(
        (offset - width).abs() < 1.5,
        "the underline starts {offset} px into the text, the text before it is {width} px wide"
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
    browser.wait_for(
        "an attribute's top values in the sidebar",
        "return [...document.querySelectorAll('#fields h2')].some((h) => h.textContent === 'user')",
        WAIT,
    );
    browser.screenshot(&screenshots().join("results.png"));
    // Each value with its count and its share of the total; a heading for
    // level, host, source and service whatever the events carry.
    let sidebar = |browser: &Browser| {
        browser.eval(
            r#"
            const out = {headings: [...document.querySelectorAll('#fields h2')].map((h) => h.textContent), values: {}};
            let field = null;
            for (const node of document.getElementById('fields').children) {
                if (node.tagName === 'H2') field = node.textContent;
                else out.values[field + '=' + node.querySelector('.v').textContent] = node.querySelector('.pct').textContent;
            }
            return out;
            "#,
            vec![],
        )
    };
    let shown = sidebar(&browser);
    println!("field sidebar: {shown}");
    for heading in ["level", "host", "source", "service", "user"] {
        assert!(
            shown["headings"]
                .as_array()
                .expect("headings")
                .contains(&json!(heading)),
            "{heading}: {shown}"
        );
    }
    let values = &shown["values"];
    assert_eq!(values["level=INFO"], json!("500 · 50%"), "{shown}");
    assert_eq!(values["level=WARN"], json!("250 · 25%"), "{shown}");
    assert_eq!(values["level=ERROR"], json!("250 · 25%"), "{shown}");
    assert_eq!(values["host=ui-host"], json!("1,000 · 100%"), "{shown}");
    // 1,000 events over 7 users: u0 to u5 have 143 each (14.3%), u6 142;
    // the sidebar lists an attribute's top 5.
    let users: Vec<_> = values
        .as_object()
        .expect("values")
        .iter()
        .filter(|(key, _)| key.starts_with("user="))
        .collect();
    assert_eq!(users.len(), 5, "{shown}");
    assert!(
        users.iter().all(|(_, pct)| **pct == json!("143 · 14%")),
        "{shown}"
    );
    // The − of a value filters it out: the query, the results and the
    // sidebar follow.
    browser.click("#fields button[aria-label='filter out level:ERROR']");
    browser.wait_for(
        "the events without ERROR",
        "return document.getElementById('q').value === '-level:\"ERROR\"' && document.getElementById('count').textContent === '750 events' && location.search.includes('q=-level')",
        WAIT,
    );
    browser.wait_for(
        "the sidebar of the 750",
        "const f = [...document.querySelectorAll('#fields .facet')]; return f.some((x) => x.textContent.startsWith('INFO500 · 67%')) && !f.some((x) => x.querySelector('.v').textContent === 'ERROR')",
        WAIT,
    );
    assert_eq!(
        browser.eval(
            "return window.loghaul.state.events.length > 0 && window.loghaul.state.events.every((e) => e.severity.text !== 'ERROR')",
            vec![]
        ),
        json!(true),
        "no ERROR event listed"
    );
    // From the whole list again, the + of a value filters for it.
    browser.goto(&format!("http://{}/?since=30d", run.address));
    browser.wait_for(
        "the level values",
        "return document.querySelector(\"#fields button[aria-label='filter for level:ERROR']\") !== null && window.loghaul.state.total === 1000",
        WAIT,
    );
    browser.click("#fields button[aria-label='filter for level:ERROR']");
    browser.wait_for(
        "the filtered count",
        "return document.getElementById('q').value === 'level:\"ERROR\"' && document.getElementById('count').textContent.includes('250 events')",
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
    // A wrong token kept from before: the 401 asks again.
    browser.eval(
        "sessionStorage.setItem('loghaul.token', 'stale'); location.reload()",
        vec![],
    );
    browser.wait_for(
        "the prompt again",
        "return document.getElementById('token-dialog') && document.getElementById('token-dialog').open",
        WAIT,
    );
}

#[test]
fn highlights_come_from_the_server_and_a_link_opens_its_event() {
    // Line 250 also carries an integer past 2^53 under a key starting
    // with `_`: copied as JSON, it must stay whole and present.
    let mut lines = numbered(300);
    lines[250] = lines[250].replace("}", ",\"_trace\":12345678901234567891}");
    let run = run_with(&lines, "", None);
    let (status, body) = loghaul_testkit::http_get(
        run.address,
        "/api/search?q=served%20AND%20-debug&since=30d&limit=3",
    );
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).expect("page");
    let first = page["events"][0]["body"].as_str().expect("body").to_owned();
    let range = &page["highlights"][0][0];
    let (start, end) = (
        range[0].as_u64().expect("start") as usize,
        range[1].as_u64().expect("end") as usize,
    );
    assert_eq!(&first[start..end], "served", "{body}");

    let browser = Browser::start();
    // The run made its own token; the test's link hands it over in the
    // fragment (see `Browser::goto`), which leaves the address bar at once.
    browser.goto(&format!("http://{}/?q=served&since=30d", run.address));
    browser.wait_for(
        "marked rows",
        "return [...document.querySelectorAll('#results .row mark')].filter((m) => m.textContent === 'served').length >= 20",
        WAIT,
    );
    assert_eq!(
        browser.eval("return location.href.includes('token')", vec![]),
        json!(false)
    );
    assert_eq!(
        browser.eval("return sessionStorage.getItem('loghaul.token')", vec![]),
        json!(loghaul_testkit::api_token(run.address).expect("a made token"))
    );
    // A link to one event, deep in the list: it is paged to, opened and
    // outlined.
    let id = browser
        .eval(
            "return window.loghaul.state.events[250] ? null : 'later'",
            vec![],
        )
        .to_string();
    assert!(id.contains("later"), "only the first page is loaded");
    let (_, body) = loghaul_testkit::http_get(
        run.address,
        "/api/search?q=%22request%20250%20served%22&since=30d",
    );
    let page: serde_json::Value = serde_json::from_str(&body).expect("page");
    let target = page["events"][0]["id"].as_str().expect("id").to_owned();
    browser.goto(&format!(
        "http://{}/?q=served&since=30d&event={target}",
        run.address
    ));
    browser.wait_for(
        "the linked event outlined and open",
        &format!(
            "const row = document.querySelector('#results .row.linked'); return row && row.dataset.id === '{target}' && !document.getElementById('detail').hidden && document.getElementById('detail-fields').textContent.includes('request 250 served')"
        ),
        WAIT,
    );
    browser.wait_for(
        "its context, with the event marked",
        "const here = document.querySelector('#context .here'); return here && here.textContent.includes('request 250 served') && document.querySelectorAll('#context div').length >= 15",
        WAIT,
    );
    browser.screenshot(&screenshots().join("event.png"));
    // The context is the file's lines around the event, in file order: the
    // API's lines by ascending offset, as the page shows them.
    let (status, body) = loghaul_testkit::http_get(
        run.address,
        &format!("/api/context?id={target}&before=10&after=10"),
    );
    assert_eq!(status, 200, "{body}");
    let context: serde_json::Value = serde_json::from_str(&body).expect("context");
    let mut in_file: Vec<&serde_json::Value> = context["before"]
        .as_array()
        .expect("before")
        .iter()
        .collect();
    in_file.push(&context["event"]);
    in_file.extend(context["after"].as_array().expect("after"));
    let offsets: Vec<u64> = in_file
        .iter()
        .map(|event| event["offset"].as_u64().expect("offset"))
        .collect();
    assert!(
        offsets.windows(2).all(|pair| pair[0] < pair[1]),
        "{offsets:?}"
    );
    let shown = browser.eval(
        "return [...document.querySelectorAll('#context div')].map((d) => [d.textContent, d.classList.contains('here')])",
        vec![],
    );
    let expected: Vec<serde_json::Value> = in_file
        .iter()
        .map(|event| json!([event["body"], event["id"] == target.as_str()]))
        .collect();
    assert_eq!(shown, json!(expected), "the context as the file has it");
    let numbers: Vec<String> = (240..=260).map(|n| format!("request {n} served")).collect();
    assert!(
        shown
            .as_array()
            .expect("lines")
            .iter()
            .zip(&numbers)
            .all(|(line, number)| line[0].as_str().unwrap_or("").starts_with(number.as_str())),
        "lines 240 to 260 in order: {shown}"
    );
    // Copy JSON puts the event, as the API has it, on the clipboard.
    browser.cdp(
        "Browser.grantPermissions",
        json!({"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}),
    );
    browser.click("#copy-json");
    browser.wait_for(
        "the copy acknowledged",
        "return document.getElementById('copy-json').textContent === 'Copied'",
        WAIT,
    );
    let copied = browser.eval("return navigator.clipboard.readText()", vec![]);
    let copied: serde_json::Value =
        serde_json::from_str(copied.as_str().expect("clipboard text")).expect("JSON");
    assert_eq!(copied, page["events"][0], "the clipboard holds the event");
    assert_eq!(
        copied["attributes"]["_trace"],
        json!(12_345_678_901_234_567_891_u64)
    );
    assert!(
        browser
            .eval(
                "return document.getElementById('detail-fields').textContent",
                vec![]
            )
            .as_str()
            .unwrap_or("")
            .contains("_trace12345678901234567891"),
        "the details show the whole number"
    );
    // The details' + and − edit the query: + the user, then − the level.
    browser.click("#detail-fields button[aria-label='filter for user:u5']");
    browser.wait_for(
        "the events of u5",
        "return document.getElementById('q').value === 'served user:u5' && document.getElementById('count').textContent === '43 events'",
        WAIT,
    );
    browser.wait_for(
        "the event open again",
        "return !document.getElementById('detail').hidden && document.getElementById('detail-fields').textContent.includes('request 250 served')",
        WAIT,
    );
    browser.click("#detail-fields button[aria-label='filter out level:WARN']");
    browser.wait_for(
        "the events of u5 but WARN",
        "return document.getElementById('q').value === 'served user:u5 -level:\"WARN\"' && document.getElementById('count').textContent === '33 events' && location.search.includes('user%3Au5')",
        WAIT,
    );
    assert_eq!(
        browser.eval(
            "return window.loghaul.state.events.every((e) => e.attributes.user === 'u5' && e.severity.text !== 'WARN')",
            vec![]
        ),
        json!(true)
    );
}

#[test]
fn keys_themes_a_histogram_zoom_and_an_export() {
    // Ten seconds apart: 84 in the last 15 minutes, 354 in the last hour.
    let run = run_with(&numbered_every(500, 10), "", None);
    let browser = Browser::start();
    browser.goto(&format!("http://{}/?since=30d", run.address));
    browser.wait_for(
        "the first page and the histogram",
        "return window.loghaul.state.events.length === 100 && window.loghaul.chart() !== null",
        WAIT,
    );
    // Keys.
    browser.press("/");
    assert_eq!(
        browser.eval("return document.activeElement.id", vec![]),
        json!("q")
    );
    browser.press("\u{E00C}");
    browser.press("jjj");
    assert_eq!(
        browser.eval("return window.loghaul.state.selected", vec![]),
        json!(2)
    );
    browser.press("k");
    browser.press("\u{E007}");
    browser.wait_for(
        "Enter opens the event",
        "return !document.getElementById('detail').hidden && document.querySelector('#results .row.selected').dataset.index === '1'",
        WAIT,
    );
    browser.press("\u{E00C}");
    browser.wait_for(
        "Esc closes it",
        "return document.getElementById('detail').hidden",
        WAIT,
    );
    browser.press("?");
    browser.wait_for(
        "? lists the keys",
        "return document.getElementById('keys-dialog').open",
        WAIT,
    );
    browser.press("\u{E00C}");
    // Themes.
    let background = |browser: &Browser| {
        browser.eval(
            "return getComputedStyle(document.body).backgroundColor",
            vec![],
        )
    };
    browser.eval(
        "const t = document.getElementById('theme'); t.value = 'dark'; t.dispatchEvent(new Event('change'))",
        vec![],
    );
    let dark = background(&browser);
    browser.screenshot(&screenshots().join("dark.png"));
    browser.eval(
        "const t = document.getElementById('theme'); t.value = 'light'; t.dispatchEvent(new Event('change'))",
        vec![],
    );
    let light = background(&browser);
    assert_ne!(dark, light, "themes change the colours");
    assert_eq!(light, json!("rgb(255, 255, 255)"));
    assert_eq!(
        browser.eval("return localStorage.getItem('loghaul.theme')", vec![]),
        json!("light")
    );
    // System follows the system's colour scheme, as the browser reports it.
    browser.eval(
        "const t = document.getElementById('theme'); t.value = 'system'; t.dispatchEvent(new Event('change'))",
        vec![],
    );
    browser.emulate_color_scheme("dark");
    browser.wait_for(
        "the dark scheme followed",
        &format!("return getComputedStyle(document.body).backgroundColor === {dark}"),
        WAIT,
    );
    browser.screenshot(&screenshots().join("system-dark.png"));
    browser.emulate_color_scheme("light");
    browser.wait_for(
        "the light scheme followed",
        "return getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)'",
        WAIT,
    );
    // Drag over the histogram: the range becomes absolute and in the URL.
    browser.eval(
        "const u = window.loghaul.chart(); u.setSelect({left: u.bbox.width / devicePixelRatio - 60, width: 50, top: 0, height: 10})",
        vec![],
    );
    browser.wait_for(
        "the zoomed range in the URL",
        "return window.loghaul.state.range === 'abs' && location.search.includes('from=') && location.search.includes('to=')",
        WAIT,
    );
    // Click a bar: its bucket becomes the range.
    let dragged = browser.eval(
        "return window.loghaul.state.to - window.loghaul.state.from",
        vec![],
    );
    browser.wait_for(
        "the zoomed histogram",
        "const s = window.loghaul.state; return s.chartRange && s.chartRange[0] === s.from && window.loghaul.chart().data[0].length > 0",
        WAIT,
    );
    let x = browser.eval("return window.loghaul.chart().over.clientWidth / 2", vec![]);
    browser.click_at("#histogram .u-over", x.as_f64().expect("x"), 20.0);

    browser.wait_for(
        "one bucket as the range",
        &format!("return window.loghaul.state.to - window.loghaul.state.from < {dragged}"),
        WAIT,
    );
    // Export the current query as NDJSON, through the cursor.
    browser.goto(&format!("http://{}/?since=30d&q=level:WARN", run.address));
    browser.wait_for(
        "the WARN events",
        "return window.loghaul.state.total === 125",
        WAIT,
    );
    browser.eval(
        "window.__blobs = []; const made = URL.createObjectURL; URL.createObjectURL = (blob) => { window.__blobs.push(blob); return made(blob); }; document.getElementById('export-ndjson').click()",
        vec![],
    );
    browser.wait_for("the export", "return window.__blobs.length === 1", WAIT);
    let text = browser.eval("return window.__blobs[0].text()", vec![]);
    let lines: Vec<serde_json::Value> = text
        .as_str()
        .expect("text")
        .lines()
        .map(|line| serde_json::from_str(line).expect("an event per line"))
        .collect();
    assert_eq!(lines.len(), 125);
    assert!(
        lines
            .iter()
            .all(|event| event["severity"]["text"] == "WARN")
    );
    assert!(
        lines.iter().all(|event| event.get("_marks").is_none()),
        "the page's own fields stay out"
    );
    browser.eval("document.getElementById('export-csv').click()", vec![]);
    browser.wait_for("the CSV", "return window.__blobs.length === 2", WAIT);
    let csv = browser.eval("return window.__blobs[1].text()", vec![]);
    let rows: Vec<&str> = csv.as_str().expect("text").lines().collect();
    assert_eq!(rows[0], "time,level,host,source,body");
    assert_eq!(rows.len(), 126);
    assert!(
        rows[1..]
            .iter()
            .all(|row| row.contains(",\"WARN\",\"ui-host\","))
    );

    // Newest first, each level in its colour.
    browser.goto(&format!("http://{}/?since=30d", run.address));
    browser.wait_for(
        "the first page of all",
        "return window.loghaul.state.total === 500 && window.loghaul.state.events.length === 100 && document.querySelectorAll('#results .row').length > 10",
        WAIT,
    );
    let order = browser.eval(
        r#"
        const times = window.loghaul.state.events.map((e) => BigInt(e.timestamp_unix_nano));
        return {
            descending: times.every((t, i) => i === 0 || times[i - 1] > t),
            first: document.querySelector('#results .row[data-index="0"] .body').textContent,
        };
        "#,
        vec![],
    );
    assert_eq!(order["descending"], json!(true), "{order}");
    assert!(
        order["first"]
            .as_str()
            .unwrap_or("")
            .starts_with("request 499 served"),
        "{order}"
    );
    let levels = browser.eval(
        "return [...document.querySelectorAll('#results .row .lvl')].map((l) => [l.textContent, l.className, getComputedStyle(l).color])",
        vec![],
    );
    let expected = [
        ("INFO", "lvl lvl-info", "rgb(46, 125, 50)"),
        ("WARN", "lvl lvl-warn", "rgb(143, 84, 0)"),
        ("ERROR", "lvl lvl-error", "rgb(198, 40, 40)"),
    ];
    for level in levels.as_array().expect("levels") {
        let (_, class, colour) = expected
            .iter()
            .find(|(text, _, _)| level[0] == *text)
            .unwrap_or_else(|| panic!("an unexpected level: {level}"));
        assert_eq!(level[1], json!(class), "{levels}");
        assert_eq!(level[2], json!(colour), "{levels}");
    }
    for (text, _, _) in expected {
        assert!(levels.to_string().contains(text), "{text} drawn: {levels}");
    }
    // The histogram is stacked by level: one series per level and one for
    // the rest, each stack the running sum of those below it, and each
    // level's share the count of its events.
    browser.wait_for(
        "the histogram",
        "const c = window.loghaul.chart(); return c !== null && c.series.length > 3",
        WAIT,
    );
    let stacks = browser.eval(
        r#"
        const u = window.loghaul.chart();
        const labels = u.series.slice(1).map((s) => s.label);
        const data = u.data.slice(1);
        const counts = {};
        let stacked = true;
        labels.forEach((label, k) => {
            const below = data[k + 1];
            counts[label] = data[k].reduce((sum, v, i) => sum + v - (below ? below[i] : 0), 0);
            if (below) stacked &&= data[k].every((v, i) => v >= below[i]);
        });
        return {labels, counts, stacked};
        "#,
        vec![],
    );
    println!("histogram stacks: {stacks}");
    assert_eq!(stacks["stacked"], json!(true), "{stacks}");
    assert_eq!(
        stacks["counts"],
        json!({"other": 0, "INFO": 250, "WARN": 125, "ERROR": 125}),
        "{stacks}"
    );
    assert_eq!(stacks["labels"][0], json!("other"), "{stacks}");

    // A relative range sets the query's span (in the URL) and the results.
    for (range, lowest, highest, in_url) in [
        ("15m", 1, 99, Some("since=15m")),
        ("1h", 100, 499, None),
        ("24h", 500, 500, Some("since=24h")),
        ("7d", 500, 500, Some("since=7d")),
    ] {
        browser.click(&format!("#range option[value='{range}']"));
        let url_check = match in_url {
            Some(part) => format!("location.search.includes('{part}')"),
            None => "!location.search.includes('since')".to_owned(),
        };
        let total = browser.wait_for(
            &format!("the events of the last {range}"),
            &format!(
                "const s = window.loghaul.state; return s.range === '{range}' && {url_check} && s.total !== null && s.total >= {lowest} && s.total <= {highest} && s.total"
            ),
            WAIT,
        );
        println!("last {range}: {total} events");
        let within = browser.eval(
            &format!(
                r#"
                const s = window.loghaul.state;
                const span = {{'15m': 9e5, '1h': 3.6e6, '24h': 8.64e7, '7d': 6.048e8}}['{range}'];
                const oldest = Date.now() - span;
                return s.events.length === Math.min(s.total, 100) && s.events.every((e) => Number(BigInt(e.timestamp_unix_nano) / 1000000n) >= oldest - 5000);
                "#
            ),
            vec![],
        );
        assert_eq!(within, json!(true), "every event of {range} is within it");
        browser.wait_for(
            &format!("the histogram over {range}"),
            &format!(
                "const s = window.loghaul.state; const span = {{'15m': 9e5, '1h': 3.6e6, '24h': 8.64e7, '7d': 6.048e8}}['{range}']; return s.chartRange && s.chartRange[1] - s.chartRange[0] === span"
            ),
            WAIT,
        );
    }

    // Absolute: from and to typed, from half a second before line 100 to
    // half a second after line 199.
    let time_of = |n: usize| {
        let (_, body) = loghaul_testkit::http_get(
            run.address,
            &format!("/api/search?since=30d&q=%22request%20{n}%20served%22"),
        );
        let page: serde_json::Value = serde_json::from_str(&body).expect("page");
        page["events"][0]["timestamp_unix_nano"]
            .as_i64()
            .expect("time")
            / 1_000_000
    };
    let (from, to) = (time_of(100) - 500, time_of(199) + 500);
    browser.click("#range option[value='abs']");
    browser.wait_for(
        "the from and to inputs",
        "return !document.getElementById('absolute').hidden && document.getElementById('from').value !== ''",
        WAIT,
    );
    // Typed as a user types into Chromium's en-US date and time fields:
    // month, day, year, Tab, hour, minute, second, millisecond, AM or PM.
    for (id, ms) in [("from", from), ("to", to)] {
        let keys = browser.eval(
            r#"
            const d = new Date(arguments[0]);
            const two = (n) => String(n).padStart(2, '0');
            document.getElementById(arguments[1]).focus();
            return two(d.getMonth() + 1) + two(d.getDate()) + d.getFullYear() + '\uE004'
                + two(d.getHours() % 12 || 12) + two(d.getMinutes()) + two(d.getSeconds())
                + String(d.getMilliseconds()).padStart(3, '0') + (d.getHours() < 12 ? 'A' : 'P');
            "#,
            vec![json!(ms), json!(id)],
        );
        browser.press(keys.as_str().expect("keys"));
    }
    let iso = |ms: i64| {
        browser
            .eval(
                "return new Date(arguments[0]).toISOString()",
                vec![json!(ms)],
            )
            .as_str()
            .expect("iso")
            .replace(':', "%3A")
    };
    let (from_iso, to_iso) = (iso(from), iso(to));
    browser.wait_for(
        "lines 100 to 199",
        &format!(
            "return window.loghaul.state.total === 100 && location.search.includes('from={from_iso}') && location.search.includes('to={to_iso}')"
        ),
        WAIT,
    );
    let view = |browser: &Browser| {
        browser.eval(
            r#"
            const s = window.loghaul.state;
            return {
                range: document.getElementById('range').value,
                absolute: !document.getElementById('absolute').hidden,
                from: document.getElementById('from').value,
                to: document.getElementById('to').value,
                count: document.getElementById('count').textContent,
                bodies: s.events.map((e) => e.body.split(' ').slice(0, 2).join(' ')),
            };
            "#,
            vec![],
        )
    };
    let typed = view(&browser);
    let bodies: Vec<String> = (100..200).rev().map(|n| format!("request {n}")).collect();
    assert_eq!(typed["bodies"], json!(bodies), "{typed}");
    assert_eq!(typed["range"], json!("abs"), "{typed}");
    // The URL alone reproduces the view.
    let url = browser.eval("return location.href", vec![]);
    browser.goto(url.as_str().expect("url"));
    browser.wait_for(
        "the view from its URL",
        "return window.loghaul.state.total === 100 && window.loghaul.state.events.length === 100",
        WAIT,
    );
    assert_eq!(view(&browser), typed, "the same view from the URL");
    browser.screenshot(&screenshots().join("absolute-range.png"));
}

#[test]
fn live_tail_shows_new_lines_pauses_clears_and_reconnects() {
    let mut run = run_with(
        &numbered(10),
        "[shipper.batch]\nmax_wait = \"50ms\"\n",
        None,
    );
    let browser = Browser::start();
    browser.goto(&format!("http://{}/?since=30d", run.address));
    browser.wait_for(
        "the first page",
        "return window.loghaul.state.events.length === 10",
        WAIT,
    );
    browser.click("#live");
    browser.wait_for(
        "connected",
        "return document.getElementById('live-rate').textContent.length > 0 && !document.getElementById('live-bar').hidden",
        WAIT,
    );
    let log = run.log.clone();
    let append = |lines: &[String]| {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .expect("open");
        for line in lines {
            writeln!(file, "{line}").expect("write");
        }
    };
    append(&["live line one arrives".to_owned()]);
    browser.wait_for(
        "the new line, highlighted as new",
        "return [...document.querySelectorAll('#results .row.fresh')].some((r) => r.textContent.includes('live line one'))",
        WAIT,
    );
    browser.wait_for(
        "the rate",
        "return /lines\\/s, keeping the last 1,000/.test(document.getElementById('live-rate').textContent)",
        WAIT,
    );
    browser.click("#live-pause");
    append(&["live line two waits".to_owned()]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        browser.eval(
            "return window.loghaul.state.events.some((e) => e.body.includes('live line two'))",
            vec![]
        ),
        json!(false),
        "paused: held back"
    );
    browser.click("#live-pause");
    browser.wait_for(
        "resumed: the held line shows",
        "return window.loghaul.state.events.some((e) => e.body.includes('live line two'))",
        WAIT,
    );
    browser.click("#live-clear");
    assert_eq!(
        browser.eval("return window.loghaul.state.events.length", vec![]),
        json!(0)
    );

    // The stream is cut: `loghaul run` is killed and started again on the
    // same data and address. The page's next /api/tail is held back until
    // the line written while it was down is indexed, so only the page's
    // catch-up can bring it (a tail starts at the index as it is); then a
    // line written after comes through the tail. Each shows once, and what
    // was cleared stays cleared.
    browser.eval(
        r#"
        const rate = document.getElementById('live-rate');
        window.__rates = [];
        new MutationObserver(() => window.__rates.push(rate.textContent)).observe(rate, {childList: true, characterData: true, subtree: true});
        const held = new Promise((resolve) => { window.__release = resolve; });
        const real = window.fetch;
        window.fetch = (url, options) => String(url).startsWith('/api/tail') ? held.then(() => real(url, options)) : real(url, options);
        "#,
        vec![],
    );
    run.restart(|| append(&["live line three, written while down".to_owned()]));
    browser.wait_for(
        "the cut shown",
        "return window.__rates.some((text) => text.startsWith('reconnecting'))",
        WAIT,
    );
    let deadline = std::time::Instant::now() + WAIT;
    while api_count(run.address, "three") != Some(1) {
        assert!(
            std::time::Instant::now() < deadline,
            "the line written while down never indexed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.eval("window.__release()", vec![]);
    browser.wait_for(
        "back, with the line written while down",
        "return window.loghaul.state.events.some((e) => e.body.includes('live line three'))",
        WAIT,
    );
    append(&["live line four, written after".to_owned()]);
    browser.wait_for(
        "the line written after",
        "return window.loghaul.state.events.some((e) => e.body.includes('live line four'))",
        WAIT,
    );
    browser.screenshot(&screenshots().join("live-reconnected.png"));
    let shown = browser.eval(
        "return window.loghaul.state.events.map((e) => e.body)",
        vec![],
    );
    println!(
        "live after the restart: {shown}; status seen: {}",
        browser.eval("return window.__rates", vec![])
    );
    assert_eq!(
        shown,
        json!([
            "live line four, written after",
            "live line three, written while down"
        ]),
        "each once, newest first, the cleared ones not back"
    );
    browser.wait_for(
        "the rate shown again",
        "return /lines\\/s/.test(document.getElementById('live-rate').textContent)",
        WAIT,
    );
}

#[test]
fn a_new_query_aborts_the_one_in_flight_and_a_timed_out_one_is_not_rerun() {
    // 50 numbered lines, and 4,000 of made-up words for a slow query.
    let mut lines = numbered(50);
    lines.extend(wordy(4_000));
    let run = run_with(&lines, "", None);
    let browser = Browser::start();
    browser.goto(&format!("http://{}/?since=30d", run.address));
    browser.wait_for(
        "the first page",
        "return window.loghaul.state.events.length === 100 && window.loghaul.state.total === 4050",
        WAIT,
    );
    let aborted = browser.eval(
        r#"
        const signals = [];
        const real = window.fetch;
        window.fetch = (url, options) => { if (String(url).startsWith('/api/search')) signals.push(options.signal); return real(url, options); };
        const q = document.getElementById('q');
        q.value = 'request'; document.getElementById('search').requestSubmit();
        q.value = 'served'; document.getElementById('search').requestSubmit();
        return signals.map((s) => s.aborted);
        "#,
        vec![],
    );
    assert_eq!(
        aborted,
        json!([true, false]),
        "the first search was aborted"
    );
    browser.wait_for(
        "the second search's events",
        "return document.getElementById('count').textContent === '50 events'",
        WAIT,
    );

    // The cancel reaches the server. A query of leading wildcards, each
    // walking the body's whole term dictionary, sized here to take about
    // 3 s alone (measured, not assumed), is running when a new query
    // replaces it: the server counts it cancelled, not timed out, and its
    // work ends.
    let mut clauses = 8;
    let slow_text = loop {
        let query = slow_query(clauses);
        let began = std::time::Instant::now();
        let (status, body) = loghaul_testkit::http_get(
            run.address,
            &format!(
                "/api/count?since=30d&q={}",
                loghaul_indexer::client::encode(&query)
            ),
        );
        assert_eq!(status, 200, "{body}");
        let took = began.elapsed();
        println!(
            "{clauses} wildcard clauses: {:.2} s alone",
            took.as_secs_f64()
        );
        if took >= Duration::from_secs(2) || clauses >= 250 {
            break query;
        }
        clauses = ((clauses as f64 * 3.0 / took.as_secs_f64().max(0.01)) as usize)
            .clamp(clauses + 1, 250);
    };
    let until = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + WAIT;
        while !done() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    until("no query running", &|| {
        metric(run.address, "loghaul_indexer_queries_running") == 0
    });
    let cancelled = metric(run.address, "loghaul_indexer_queries_cancelled_total");
    let timed_out_before = metric(run.address, "loghaul_indexer_queries_timed_out_total");
    let submit = "const q = document.getElementById('q'); q.value = arguments[0]; document.getElementById('search').requestSubmit()";
    browser.eval(submit, vec![json!(slow_text)]);
    until("the slow query running", &|| {
        metric(run.address, "loghaul_indexer_queries_running") >= 1
    });
    browser.eval(submit, vec![json!("served")]);
    until("the slow query counted cancelled", &|| {
        metric(run.address, "loghaul_indexer_queries_cancelled_total") > cancelled
    });
    until("its work ended", &|| {
        metric(run.address, "loghaul_indexer_queries_running") == 0
    });
    println!(
        "cancelled by the page: {}",
        metric(run.address, "loghaul_indexer_queries_cancelled_total") - cancelled
    );
    assert_eq!(
        metric(run.address, "loghaul_indexer_queries_timed_out_total"),
        timed_out_before,
        "cancelled, not timed out"
    );
    browser.wait_for(
        "the new query's events",
        "return document.getElementById('count').textContent === '50 events' && document.getElementById('q').value === 'served'",
        WAIT,
    );

    // A query past indexer.query_timeout: shown once, never re-run alone.
    // (Every query times out here, so nothing can be waited for by count.)
    let slow = start(&numbered(20), "[indexer]\nquery_timeout = \"1ns\"\n");
    let timed_out = |address| metric(address, "loghaul_indexer_queries_timed_out_total");
    // Indexed first (an empty index answers at once, in no time at all).
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, metrics) = loghaul_testkit::http_get(slow.address, "/metrics");
        if metrics.contains("loghaul_indexer_documents_total 20\n") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not indexed: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.goto(&format!("http://{}/?since=30d&q=request", slow.address));
    let error = browser.wait_for(
        "the timeout shown",
        "return !document.getElementById('error').hidden && document.getElementById('error').textContent",
        WAIT,
    );
    println!("timed-out query shows: {error}");
    let after_error = timed_out(slow.address);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        timed_out(slow.address),
        after_error,
        "the page did not run the query again by itself"
    );
}

#[test]
fn an_axe_pass_of_the_main_view_and_figures_for_10000_rows() {
    let run = run_with(&numbered(10_000), "", None);
    let browser = Browser::start();
    browser.goto(&format!("http://{}/?since=30d", run.address));
    browser.wait_for(
        "the first page, the histogram and the fields",
        "return window.loghaul.state.events.length === 100 && window.loghaul.chart() !== null && document.querySelectorAll('#fields .facet').length > 0 && window.loghaul.state.drawnMs !== undefined",
        WAIT,
    );
    let drawn = browser.eval("return window.loghaul.state.drawnMs", vec![]);
    // axe-core over the main view.
    let axe = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/axe-core/axe.min.js"),
    )
    .expect("axe-core");
    browser.eval(&axe, vec![]);
    let report = browser.eval(
        "return axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ') + ' ' + (n.any[0] ? n.any[0].message : '')).slice(0, 8), help: v.help})))",
        vec![],
    );
    println!("axe-core violations: {report}");
    assert_eq!(report, json!([]), "accessibility violations");
    // Load all 10,000 rows through the cursor, then scroll for two seconds.
    browser.wait_for(
        "10,000 rows loaded",
        "const r = document.getElementById('results'); r.scrollTop = r.scrollHeight; return window.loghaul.state.events.length === 10000",
        Duration::from_secs(120),
    );
    let fps = browser.eval(
        r#"
        const r = document.getElementById('results');
        r.scrollTop = 0;
        return new Promise((done) => {
            let frames = 0;
            const start = performance.now();
            const step = () => {
                frames++;
                r.scrollTop += 400;
                if (performance.now() - start < 2000) requestAnimationFrame(step);
                else done({fps: frames / ((performance.now() - start) / 1000), rows: document.querySelectorAll('#results .row').length, top: r.scrollTop});
            };
            requestAnimationFrame(step);
        });
        "#,
        vec![],
    );
    println!(
        "UI figures: first 100 rows painted {drawn} ms after the API answered; scrolling 10,000 rows: {fps}"
    );
    assert!(
        fps["rows"].as_u64().unwrap_or(0) < 200,
        "virtualised while scrolling: {fps}"
    );
}

#[test]
fn an_event_links_to_its_archived_file_and_rehydrations_join_at_a_switch() {
    let lines = numbered(3000);
    let run = run_with(&lines, "[shipper.rotate]\nmax_bytes = \"100KiB\"\n", None);
    let dir = run.log.parent().expect("dir").to_owned();
    let original: Vec<u8> = lines
        .iter()
        .flat_map(|line| format!("{line}\n").into_bytes())
        .collect();
    let (_, body) = loghaul_testkit::http_get(
        run.address,
        "/api/search?q=%22request%201500%20served%22&since=30d",
    );
    let page: serde_json::Value = serde_json::from_str(&body).expect("page");
    let id = page["events"][0]["id"].as_str().expect("id").to_owned();
    // Rotated at once (the file starts over 100 KiB), then archived.
    let deadline = std::time::Instant::now() + WAIT;
    let located = loop {
        let (status, body) =
            loghaul_testkit::http_get(run.address, &format!("/api/archived?id={id}"));
        assert_eq!(status, 200, "{body}");
        let answer: serde_json::Value = serde_json::from_str(&body).expect("answer");
        if answer["archived"] == true {
            break answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never archived: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let raw_name = located["object"]["raw_name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(raw_name.starts_with("app.log."), "{located}");
    assert_eq!(located["object"]["line_count"], 3000);
    // The download is the stored gzip; gunzip gives the file byte for byte.
    let (head, gzip) =
        loghaul_testkit::http_get_raw(run.address, &format!("/api/archived/object?id={id}"), &[]);
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    assert!(
        head.contains(&format!("filename=\"{raw_name}.gz\"")),
        "{head}"
    );
    assert!(
        loghaul_testkit::gunzip(&gzip) == original,
        "the archived file is the original"
    );

    let browser = Browser::start();
    browser.goto(&format!(
        "http://{}/?q=served&since=30d&event={id}",
        run.address
    ));
    browser.wait_for(
        "the archived file in the event's details",
        &format!(
            "const cell = document.getElementById('archived'); return cell && cell.textContent.includes('{raw_name}.gz') && cell.textContent.includes('3,000 lines')"
        ),
        WAIT,
    );
    // Its button downloads the stored gzip, fetched with the token (the
    // API refuses it without): the blob the page saves holds those bytes,
    // and Chromium writes them under the file's name.
    let downloads = tempfile::tempdir().expect("downloads");
    browser.allow_downloads(downloads.path());
    browser.eval(
        "window.__blobs = []; const made = URL.createObjectURL; URL.createObjectURL = (blob) => { window.__blobs.push(blob); return made(blob); }",
        vec![],
    );
    browser.click("#archived button");
    browser.wait_for("the download", "return window.__blobs.length === 1", WAIT);
    let saved: Vec<u8> = browser
        .eval(
            "return window.__blobs[0].arrayBuffer().then((buffer) => Array.from(new Uint8Array(buffer)))",
            vec![],
        )
        .as_array()
        .expect("bytes")
        .iter()
        .map(|byte| byte.as_u64().and_then(|byte| u8::try_from(byte).ok()).expect("a byte"))
        .collect();
    assert!(saved == gzip, "the page saved the stored gzip");
    let (refused, _) = loghaul_testkit::http_get_raw(
        run.address,
        &format!("/api/archived/object?id={id}"),
        &["Authorization: Bearer not-the-token"],
    );
    assert!(refused.contains(" 401 "), "{refused}");
    assert!(
        loghaul_testkit::gunzip(&saved) == original,
        "which is the original file"
    );
    let on_disk = downloads.path().join(format!("{raw_name}.gz"));
    let deadline = std::time::Instant::now() + WAIT;
    while std::fs::read(&on_disk).ok().as_ref() != Some(&gzip) {
        assert!(
            std::time::Instant::now() < deadline,
            "never downloaded to {}: {:?}",
            on_disk.display(),
            std::fs::read_dir(downloads.path()).map(|entries| entries
                .map(|entry| entry.map(|e| e.file_name()))
                .collect::<Vec<_>>())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        browser.eval("return document.getElementById('error').hidden", vec![]),
        json!(true)
    );

    // Every event of the query exported, through the cursor's pages (1,000
    // events a page): each line once, as NDJSON and as CSV.
    browser.goto(&format!("http://{}/?since=30d&q=served", run.address));
    browser.wait_for(
        "all 3,000",
        "return window.loghaul.state.total === 3000",
        WAIT,
    );
    let numbers_of = |kind: &str, index: usize| {
        browser.eval(
            &format!("document.getElementById('export-{kind}').click()"),
            vec![],
        );
        browser.wait_for(
            &format!("the {kind} export"),
            &format!("return window.__blobs.length === {}", index + 1),
            WAIT,
        );
        let status = browser.eval(
            "return document.getElementById('status').textContent",
            vec![],
        );
        assert_eq!(status, json!("exported 3,000 events"));
        browser.eval(
            &format!(
                r#"
                return window.__blobs[{index}].text().then((text) => {{
                    const lines = text.split('\n').filter((line) => line !== '');
                    const body = (line) => '{kind}' === 'ndjson' ? JSON.parse(line).body : line;
                    return {{
                        first: lines[0],
                        numbers: lines.slice('{kind}' === 'csv' ? 1 : 0).map((line) => Number(/request (\d+) served/.exec(body(line))[1])),
                    }};
                }});
                "#
            ),
            vec![],
        )
    };
    browser.eval(
        "window.__blobs = []; const made = URL.createObjectURL; URL.createObjectURL = (blob) => { window.__blobs.push(blob); return made(blob); }",
        vec![],
    );
    let everything: Vec<u64> = (0..3000).collect();
    let ndjson = numbers_of("ndjson", 0);
    let mut numbers = request_numbers(&ndjson["numbers"]);
    assert_eq!(numbers.len(), 3000, "one line per event");
    numbers.sort_unstable();
    assert_eq!(numbers, everything, "every event once");
    let csv = numbers_of("csv", 1);
    assert_eq!(csv["first"], json!("time,level,host,source,body"));
    let mut numbers = request_numbers(&csv["numbers"]);
    assert_eq!(numbers.len(), 3000, "one row per event");
    numbers.sort_unstable();
    assert_eq!(numbers, everything, "every event once");

    // An event of the live file, not rotated yet: said so.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&run.log)
        .expect("open");
    writeln!(
        file,
        "{{\"time\":\"{}\",\"level\":\"INFO\",\"msg\":\"fresh line, not archived\"}}",
        stamp(now_seconds() - 30)
    )
    .expect("write");
    drop(file);
    let deadline = std::time::Instant::now() + WAIT;
    let fresh = loop {
        let (_, body) = loghaul_testkit::http_get(run.address, "/api/search?q=fresh&since=30d");
        let page: serde_json::Value = serde_json::from_str(&body).expect("page");
        if let Some(id) = page["events"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "never indexed");
        std::thread::sleep(Duration::from_millis(100));
    };
    browser.goto(&format!(
        "http://{}/?q=fresh&since=30d&event={fresh}",
        run.address
    ));
    browser.wait_for(
        "not archived yet",
        "const cell = document.getElementById('archived'); return cell && cell.textContent === 'not archived yet: the file is archived when it rotates' && cell.querySelector('button') === null",
        WAIT,
    );
    browser.screenshot(&screenshots().join("not-archived.png"));

    // A file of another host, only in the archive, rehydrated for an hour.
    let old_lines: Vec<String> = numbered(500)
        .into_iter()
        .map(|line| line.replace("served", "replayed"))
        .collect();
    let raw = dir.join("old.log.1");
    std::fs::write(
        &raw,
        old_lines
            .iter()
            .map(|line| format!("{line}\n"))
            .collect::<String>(),
    )
    .expect("raw");
    let file = loghaul_model::FileIdentity::of_path(&raw, 7).expect("stat");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(
            loghaul_archive::Archiver::new(
                std::sync::Arc::new(loghaul_archive::LocalStore::new(&dir.join("data/archive"))),
                loghaul_archive::Spool::open(&dir.join("old-spool")).expect("spool"),
                "",
                6,
                64 << 20,
            )
            .archive(&loghaul_archive::ArchiveRequest {
                raw_path: raw,
                source_path: "/var/log/old.log".into(),
                host: "old-host".into(),
                file,
                reason: loghaul_model::RotationReason::Size,
            }),
        )
        .expect("archived");
    let config = dir.join("reindex.toml");
    std::fs::write(
        &config,
        format!("data_dir = \"{}\"\n", dir.join("data").display()),
    )
    .expect("config");
    let reindexed = std::process::Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args([
            "archive", "reindex", "--host", "old-host", "--ttl", "1h", "-c",
        ])
        .arg(&config)
        .output()
        .expect("reindex");
    assert!(reindexed.status.success(), "{reindexed:?}");

    browser.goto(&format!("http://{}/?q=replayed&since=30d", run.address));
    browser.wait_for(
        "the switch, offered with its count",
        "const b = document.getElementById('rehydrated'); return !b.hidden && b.textContent === 'Rehydrated (1)' && b.getAttribute('aria-pressed') === 'false'",
        WAIT,
    );
    browser.wait_for(
        "no live match",
        "return document.getElementById('count').textContent === '0 events'",
        WAIT,
    );
    browser.click("#rehydrated");
    browser.wait_for(
        "the rehydrated events, and the switch in the URL",
        "return document.getElementById('count').textContent === '500 events' && location.search.includes('rehydrated=1') && document.getElementById('rehydrated').getAttribute('aria-pressed') === 'true'",
        WAIT,
    );
    browser.screenshot(&screenshots().join("rehydrated.png"));
}
