//! The API's contract: `/api/openapi.json` documents every route the
//! router serves, and schemathesis (PyPI; `scripts/test` installs it)
//! fuzzes a running `loghaul run` from it, about 100 examples per
//! endpoint. Pass: no server error and no answer outside the document
//! (status, content type and body schema).

#![allow(clippy::print_stdout)]

use std::collections::BTreeSet;
use std::io::{BufRead, Write as _};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Every route of `loghaul_indexer::api::router`, but the web page's.
const ROUTES: [&str; 13] = [
    "/api/search",
    "/api/count",
    "/api/histogram",
    "/api/facets",
    "/api/context",
    "/api/tail",
    "/api/archived",
    "/api/archived/object",
    "/api/rehydrations",
    "/api/openapi.json",
    "/metrics",
    "/healthz",
    "/readyz",
];

fn log_of_mixed_lines(dir: &Path) -> std::path::PathBuf {
    let log = dir.join("app.log");
    let mut file = std::fs::File::create(&log).expect("log");
    for n in 0..300 {
        let level = ["INFO", "WARN", "ERROR", "DEBUG"][n % 4];
        if n % 3 == 0 {
            writeln!(
                file,
                "{{\"time\":\"2026-11-30T10:{:02}:{:02}Z\",\"level\":\"{level}\",\"msg\":\"request {n}\",\"status\":{},\"user\":\"u{}\"}}",
                n / 60,
                n % 60,
                200 + n % 4 * 100,
                n % 7
            )
        } else {
            writeln!(
                file,
                "2026-11-30T10:{:02}:{:02}Z {level} worker {n} done in {} ms",
                n / 60,
                n % 60,
                n * 3
            )
        }
        .expect("write");
    }
    log
}

/// The status line of a GET, read without waiting for the body (the tail
/// never ends).
fn status_line(address: std::net::SocketAddr, path: &str, token: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut line)
        .expect("status line");
    line
}

#[test]
fn the_openapi_document_covers_every_route_and_schemathesis_finds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_of_mixed_lines(dir.path());
    let (mut child, address, _stderr) =
        loghaul_testkit::start_run(Path::new(env!("CARGO_BIN_EXE_loghaul")), dir.path(), &log);
    let token = loghaul_testkit::api_token(address).expect("run made a token");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while loghaul_testkit::api_count(address, "*") != Some(300) {
        assert!(std::time::Instant::now() < deadline, "not indexed");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The document, served without the token, names exactly the routes.
    let (status, body) = loghaul_testkit::http_get_with(
        address,
        "/api/openapi.json",
        &["Authorization: Bearer wrong"],
    );
    assert_eq!(status, 200, "{body}");
    let document: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(document["openapi"], "3.0.3");
    let documented: BTreeSet<&str> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(documented, ROUTES.into_iter().collect::<BTreeSet<_>>());
    // And each is served (not the fallback's 404).
    let (_, fallback) = loghaul_testkit::http_get(address, "/api/no-such-route");
    assert!(fallback.contains("no such endpoint"), "{fallback}");
    for route in ROUTES {
        let line = status_line(address, route, &token);
        if !line.contains(" 404 ") {
            continue;
        }
        // A 404 here must be the route's own (an id not found), not the
        // fallback's.
        let (_, answer) = loghaul_testkit::http_get(address, route);
        assert!(!answer.contains("no such endpoint"), "{route}: {answer}");
    }

    // schemathesis, from the document, against the running API.
    let report = dir.path().join("schemathesis.xml");
    let output = Command::new("schemathesis")
        .args(["run", &format!("http://{address}/api/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", "100", "--seed", "20261130"])
        .args(["--exclude-path", "/api/tail"])
        .args(["--request-timeout", "30", "--workers", "2"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(&report)
        // Its cache goes in the scratch directory, not the checkout.
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|error| {
            panic!("schemathesis runs (scripts/test installs it with pip): {error}")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{text}"
    );
    // The run tested every endpoint but the endless tail and the document
    // it read itself: its JUnit report has a test case for each.
    let junit = std::fs::read_to_string(&report).expect("the JUnit report");
    for route in ROUTES
        .into_iter()
        .filter(|route| !matches!(*route, "/api/tail" | "/api/openapi.json"))
    {
        assert!(
            junit.contains(&format!("GET {route}\"")),
            "{route} not tested:\n{junit}"
        );
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
}
