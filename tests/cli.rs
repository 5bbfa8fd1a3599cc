//! End-to-end tests of the `loghaul` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn loghaul() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loghaul"))
}

fn write_config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("loghaul.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn config_check_prints_the_effective_config_with_secrets_redacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(
        dir.path(),
        "host = \"web-1\"\n[queue]\nkind = \"amqp\"\nurl = \"amqp://app:hunter2@rabbit:5672/%2f\"\n[indexer]\ntoken = \"tok-secret\"\n",
    );
    let output = loghaul()
        .args(["config", "check", "-c"])
        .arg(&path)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("url = \"amqp://app:***@rabbit:5672/%2f\""),
        "{stdout}"
    );
    assert!(stdout.contains("token = \"***\""), "{stdout}");
    assert!(
        stdout.contains("commit_interval = \"1s\""),
        "defaults are filled in: {stdout}"
    );
    assert!(
        !stdout.contains("hunter2") && !stdout.contains("tok-secret"),
        "{stdout}"
    );

    let json = loghaul()
        .args(["config", "check", "--json", "-c"])
        .arg(&path)
        .output()
        .expect("runs");
    let value: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("--json prints JSON");
    assert_eq!(value["queue"]["url"], "amqp://app:***@rabbit:5672/%2f");
    assert_eq!(value["host"], "web-1");
}

#[test]
fn config_check_of_a_bad_file_names_the_place_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(dir.path(), "[queue]\nkind = \"memory\"\nshardz = 2\n");
    let output = loghaul()
        .args(["config", "check", "-c"])
        .arg(&path)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:3:1: key `queue.shardz`: unknown field",
            path.display()
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2_and_missing_files_too() {
    let output = loghaul().arg("--no-such-flag").output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let output = loghaul()
        .args(["config", "check", "-c", "/nonexistent/x.toml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let output = loghaul()
        .args(["run", "/nonexistent/app.log"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/app.log: no such file"));
}

/// Starts `loghaul run`, waits for its ready line, sends SIGTERM, and returns
/// the exit code and the stderr lines.
fn run_until_ready_then_terminate(
    args: &[&str],
    data_dir: &std::path::Path,
) -> (Option<i32>, Vec<String>) {
    let mut child = loghaul()
        .arg("run")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().expect("stderr piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("no ready line; stderr so far: {lines:#?}")
            });
        let ready = line.contains("loghaul is running");
        lines.push(line);
        if ready {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("waits");
    lines.extend(receiver.iter());
    (exit.code(), lines)
}

#[test]
fn run_starts_on_defaults_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (code, lines) = run_until_ready_then_terminate(&[], &data);
    assert_eq!(code, Some(0), "{lines:#?}");
    assert!(
        data.join("archive").is_dir(),
        "the local archive directory exists"
    );
    let ready = lines
        .iter()
        .find(|line| line.contains("loghaul is running"))
        .expect("ready line");
    assert!(ready.contains("queue=Memory"), "{ready}");
    assert!(
        ready.contains(&format!(
            "archive=file://{}",
            data.join("archive").display()
        )),
        "{ready}"
    );
    assert!(
        lines.iter().any(|line| line.contains("stopping")),
        "{lines:#?}"
    );
}

#[test]
fn run_with_amqp_declares_the_topology_on_the_real_broker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = format!("lhtest.run.{}", loghaul_testkit::unique_name("cli"));
    let config = write_config(
        dir.path(),
        &format!(
            "[queue]\nkind = \"amqp\"\nurl = \"{}\"\nprefix = \"{prefix}\"\n",
            loghaul_testkit::amqp_url()
        ),
    );
    let config_arg = config.display().to_string();
    let (code, lines) =
        run_until_ready_then_terminate(&["-c", &config_arg], &dir.path().join("data"));
    assert_eq!(code, Some(0), "{lines:#?}");
    let output = Command::new("rabbitmqctl")
        .args(["list_queues", "name", "--no-table-headers", "--quiet"])
        .output()
        .expect("rabbitmqctl");
    let listing = String::from_utf8_lossy(&output.stdout);
    let ours: Vec<&str> = listing
        .lines()
        .filter(|name| name.starts_with(&prefix))
        .collect();
    for name in &ours {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_queue", name])
            .output();
    }
    let mut sorted = ours.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            format!("{prefix}.dead"),
            format!("{prefix}.events.0"),
            format!("{prefix}.raw")
        ]
    );
}

#[test]
fn run_archives_into_its_local_directory_by_default() {
    use std::io::Read;

    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    let text: String = (0..200)
        .map(|n| format!("2026-11-22T10:00:{:02}Z line {n}\n", n % 60))
        .collect();
    std::fs::write(&log, &text).expect("write");
    let config = write_config(
        dir.path(),
        &format!(
            "[shipper]\narchive_on_shutdown = true\n[[shipper.sources]]\nname = \"app\"\npaths = [\"{}\"]\n",
            log.display()
        ),
    );
    let data = dir.path().join("data");
    let config_arg = config.display().to_string();
    let (code, lines) = run_until_ready_then_terminate(&["-c", &config_arg], &data);
    assert_eq!(code, Some(0), "{lines:#?}");

    // The object sits in <data_dir>/archive under the DESIGN key layout.
    let mut objects = Vec::new();
    let mut pending = vec![data.join("archive")];
    while let Some(path) = pending.pop() {
        for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with(".loghaul-"))
                {
                    pending.push(path);
                }
            } else if path.to_string_lossy().ends_with(".log.gz") {
                objects.push(path);
            }
        }
    }
    assert_eq!(objects.len(), 1, "{objects:?} {lines:#?}");
    assert!(
        objects[0]
            .to_string_lossy()
            .contains("/2026/11/22/app.log/20261122T100000Z_"),
        "{}",
        objects[0].display()
    );
    let mut decompressed = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&objects[0]).expect("object"))
        .read_to_string(&mut decompressed)
        .expect("gzip");
    assert_eq!(decompressed, text, "byte-exact");
}

#[test]
fn parse_refuses_a_memory_queue_and_a_bad_zone_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let memory = write_config(dir.path(), "[queue]\nkind = \"memory\"\n");
    let output = loghaul()
        .args(["parse", "-c"])
        .arg(&memory)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("queue.kind is memory"), "{stderr}");

    let zone = write_config(
        dir.path(),
        "[[parser.patterns]]\nname = \"app\"\nregex = '^(?P<message>.*)$'\ntimezone = \"Europe/Atlantis\"\n",
    );
    let output = loghaul()
        .args(["config", "check", "-c"])
        .arg(&zone)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(":4:12"), "{stderr}");
    assert!(stderr.contains("parser.patterns[0].timezone"), "{stderr}");
    assert!(stderr.contains("Europe/Atlantis"), "{stderr}");

    let layout = write_config(
        dir.path(),
        "[[parser.patterns]]\nname = \"app\"\nregex = '^(?P<message>.*)$'\ntimestamp_format = \"%H:%M\"\n",
    );
    let output = loghaul()
        .args(["config", "check", "-c"])
        .arg(&layout)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("timestamp_format"), "{stderr}");
    assert!(stderr.contains("no month and day"), "{stderr}");

    let help = loghaul().args(["parse", "--help"]).output().expect("runs");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("dead-letter"), "{text}");
    assert!(text.contains("--workers"), "{text}");
}

#[test]
fn bench_parse_measures_every_format_and_its_lines_parse_clean() {
    let output = loghaul()
        .args(["bench", "parse", "--size", "64KiB", "--json"])
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let results = report["results"].as_array().expect("results");
    let formats: Vec<&str> = results
        .iter()
        .map(|row| row["format"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        formats,
        [
            "json",
            "logfmt",
            "syslog",
            "combined",
            "apache_error",
            "log4j",
            "klog",
            "cri",
            "docker",
            "regex",
            "auto"
        ]
    );
    for row in results {
        assert_eq!(row["parse_errors"], 0, "{row}");
        assert!(row["records"].as_u64().unwrap_or(0) > 100, "{row}");
        assert!(
            row["parse_mib_per_second"].as_f64().unwrap_or(0.0) > 0.0,
            "{row}"
        );
        assert!(
            row["regex_mib_per_second"].as_f64().unwrap_or(0.0) > 0.0,
            "{row}"
        );
    }
    let unknown = loghaul()
        .args(["bench", "parse", "--format", "xml"])
        .output()
        .expect("runs");
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn run_ships_parses_indexes_and_serves_search() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    let mut text = String::new();
    for index in 0..50 {
        let level = if index % 10 == 0 { "ERROR" } else { "INFO" };
        text.push_str(&format!(
            "2026-11-22 07:{:02}:00,000 {level} [main] app.Checkout: order {index} placed\n",
            index
        ));
    }
    std::fs::write(&log, text).expect("log");
    let mut child = loghaul()
        .args(["run", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg(&log)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let address: std::net::SocketAddr = loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("a ready line");
        if line.contains("loghaul is running") {
            let url = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("search=http://"))
                .expect("the ready line names the search URL");
            break url.parse().expect("address");
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = loghaul_testkit::http_get(address, "/api/count?q=order");
        if status == 200 && body.contains("\"count\":50") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not searchable: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, body) = loghaul_testkit::http_get(address, "/api/search?q=level:ERROR&limit=10");
    assert_eq!(status, 200);
    let page: serde_json::Value = serde_json::from_str(&body).expect("json");
    let bodies: Vec<&str> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["body"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        bodies,
        [
            "order 40 placed",
            "order 30 placed",
            "order 20 placed",
            "order 10 placed",
            "order 0 placed"
        ]
    );
    assert_eq!(page["events"][0]["attributes"]["logger"], "app.Checkout");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(child.wait().expect("exit").success());
}
