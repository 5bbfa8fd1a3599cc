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
        _dir: dir,
        _stderr: stderr,
    }
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
                "{{\"time\":\"{}T{:02}:{:02}:{:02}Z\",\"level\":\"{level}\",\"msg\":\"request {n} served in {} ms\",\"user\":\"u{}\"}}",
                at.date_string(),
                at.hour,
                at.minute,
                at.second,
                n % 97,
                n % 7
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
    browser.wait_for(
        "an attribute's top values in the sidebar",
        "return [...document.querySelectorAll('#fields h2')].some((h) => h.textContent === 'user')",
        WAIT,
    );
    browser.screenshot(&screenshots().join("results.png"));
    browser.eval(
        "[...document.querySelectorAll('#fields .facet')].find((f) => f.querySelector('.v').textContent === 'ERROR').querySelector('button').click()",
        vec![],
    );
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
    let run = run_with(&numbered(300), "", None);
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
}

#[test]
fn keys_themes_a_histogram_zoom_and_an_export() {
    let run = run_with(&numbered(500), "", None);
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
}

#[test]
fn live_tail_shows_new_lines_pauses_and_clears() {
    let run = run_with(
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
    let append = |lines: &[String]| {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&run.log)
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
}

#[test]
fn a_new_query_aborts_the_one_in_flight_and_a_timed_out_one_is_not_rerun() {
    let run = run_with(&numbered(50), "", None);
    let browser = Browser::start();
    browser.goto(&format!("http://{}/?since=30d", run.address));
    browser.wait_for(
        "the first page",
        "return window.loghaul.state.events.length === 50",
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

    // A query past indexer.query_timeout: shown once, never re-run alone.
    // (Every query times out here, so nothing can be waited for by count.)
    let slow = start(&numbered(20), "[indexer]\nquery_timeout = \"1ns\"\n");
    let timed_out = |address| {
        let (_, metrics) = loghaul_testkit::http_get(address, "/metrics");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix("loghaul_indexer_queries_timed_out_total "))
            .and_then(|value| value.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
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
