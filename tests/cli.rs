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
    assert!(ready.contains("queue=Disk"), "{ready}");
    assert!(
        data.join("queue").join("loghaul.raw").is_dir(),
        "the durable queue lives in the data directory"
    );
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
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&objects[0]).expect("object"))
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
    // So do a lone shipper and a lone indexer: the file, line and key.
    for role in ["ship", "index"] {
        let output = loghaul()
            .args([role, "-c"])
            .arg(&memory)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{role}: {stderr}");
        assert!(stderr.contains("loghaul.toml:2:"), "{role}: {stderr}");
        assert!(stderr.contains("`queue.kind`"), "{role}: {stderr}");
    }

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

/// Runs `loghaul ARGS`, which must succeed, and reads its stdout as JSON.
fn json_report(args: &[&str]) -> serde_json::Value {
    let output = loghaul().args(args).output().expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

/// `bench ship` ships a generated file to each queue, RabbitMQ included,
/// measures each shipper in a process of its own (RabbitMQ drained from
/// the bench's process), and leaves no queue behind.
#[test]
fn bench_ship_measures_each_queue_and_leaves_no_queue_behind() {
    let child = loghaul()
        .args(["bench", "ship", "--size", "8MiB", "--json", "--amqp-url"])
        .arg(loghaul_testkit::amqp_url())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let pid = child.id();
    let output = child.wait_with_output().expect("waits");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let lines = report["lines"].as_u64().expect("lines");
    assert!(lines > 10_000, "{report}");
    let results = report["results"].as_array().expect("results");
    let names: Vec<&str> = results
        .iter()
        .map(|row| row["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "cat > /dev/null",
            "wc -l",
            "ship -> memory queue",
            "ship -> disk queue",
            "ship -> rabbitmq"
        ],
        "{report}"
    );
    for row in &results[2..] {
        assert!(row["seconds"].as_f64().expect("seconds") > 0.0, "{row}");
        // A shipper's RSS is its own process's: some MiB, not the bench's.
        let rss = row["peak_rss_bytes"].as_u64().expect("rss");
        assert!((1 << 20..1 << 30).contains(&rss), "{row}");
    }
    let queues = std::process::Command::new("rabbitmqctl")
        .args(["list_queues", "name", "--no-table-headers", "--quiet"])
        .output()
        .expect("rabbitmqctl");
    let queues = String::from_utf8_lossy(&queues.stdout);
    let prefix = format!("lhbench.{pid}.");
    assert!(
        !queues.lines().any(|queue| queue.starts_with(&prefix)),
        "left behind: {queues}"
    );
}

/// `bench compare` without a VictoriaLogs binary measures loghaul alone,
/// and its queries answer what the file holds.
#[test]
fn bench_compare_measures_loghaul_and_its_queries_answer_right() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("access.log");
    let lines = 3000u32;
    let (mut checkout, mut orders, mut late_errors) = (0u64, 0u64, 0u64);
    let mut text = String::new();
    for index in 0..lines {
        let second = index * 86_400 / lines;
        let (hour, minute, sec) = (second / 3600, second / 60 % 60, second % 60);
        let request = match index % 7 {
            0 => {
                checkout += 1;
                format!("GET /checkout/{index} HTTP/1.1")
            }
            1 => {
                orders += 1;
                "POST /api/v1/orders HTTP/1.1".to_owned()
            }
            _ => format!("GET /api/v1/items/{index} HTTP/1.1"),
        };
        let status = if index % 5 == 0 { 500 } else { 200 };
        if status == 500 && hour == 13 {
            late_errors += 1;
        }
        text.push_str(&format!(
            "10.0.0.{} - - [22/Nov/2026:{hour:02}:{minute:02}:{sec:02} +0000] \"{request}\" {status} 512 \"-\" \"curl/8.5.0\"\n",
            index % 250
        ));
    }
    std::fs::write(&path, text).expect("write");
    let file = path.to_string_lossy().into_owned();
    let report = json_report(&[
        "bench",
        "compare",
        "--file",
        &file,
        "--queries",
        "2",
        "--json",
    ]);
    assert_eq!(report["lines"], u64::from(lines), "{report}");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "loghaul alone: {report}");
    let loghaul = &results[0];
    assert_eq!(loghaul["name"], "loghaul");
    assert!(loghaul["disk_bytes"].as_u64().unwrap_or(0) > 0, "{loghaul}");
    assert!(
        loghaul["peak_rss_bytes"].as_u64().unwrap_or(0) > 0,
        "{loghaul}"
    );
    assert!(
        !loghaul["disk_by_field"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{loghaul}"
    );
    let matches: Vec<u64> = loghaul["queries"]
        .as_array()
        .expect("queries")
        .iter()
        .map(|query| query["matches"].as_u64().unwrap_or(u64::MAX))
        .collect();
    let baselines = &report["baselines"];
    assert!(
        baselines["cat_seconds"].as_f64().unwrap_or(-1.0) >= 0.0,
        "{report}"
    );
    let gzip = baselines["gzip6_bytes"].as_u64().unwrap_or(0);
    assert!(
        gzip > 0 && gzip < report["bytes"].as_u64().unwrap_or(0),
        "{report}"
    );
    assert!(late_errors > 0 && checkout > 100 && orders > 100);
    assert_eq!(
        matches,
        [100, 100, checkout, late_errors.min(100)],
        "term, phrase, count, status 500 within hour 13: {loghaul}"
    );
}

#[test]
fn bench_parse_measures_every_format_and_its_lines_parse_clean() {
    let report = json_report(&["bench", "parse", "--size", "64KiB", "--json"]);
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
            "auto",
            "mixed",
            "mixed-set"
        ]
    );
    // The goals are printed beside the figures they are about.
    let targets = &report["targets"];
    assert_eq!(targets["parse_encode_mib_per_second_goal"], 250.0);
    let encode = targets["parse_encode_mib_per_second"]
        .as_array()
        .expect("combined and json");
    assert_eq!(encode.len(), 2, "{targets}");
    // Auto on the mix against the same batches with each run's format set,
    // on both paths.
    for key in ["mixed_auto_ratio", "mixed_auto_ratio_encode"] {
        let ratio = targets[key][0].as_f64().expect("a ratio");
        assert!(ratio > 0.0, "{key}: {targets}");
    }
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
    // Asking for the mix measures it beside its baseline.
    let mix = json_report(&[
        "bench", "parse", "--size", "64KiB", "--format", "mixed", "--json",
    ]);
    let names: Vec<&str> = mix["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|row| row["format"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["mixed", "mixed-set"]);
    assert!(
        mix["targets"]["mixed_auto_ratio_encode"][0]
            .as_f64()
            .is_some_and(|ratio| ratio > 0.0),
        "{mix}"
    );
    let unknown = loghaul()
        .args(["bench", "parse", "--format", "xml"])
        .output()
        .expect("runs");
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn bench_index_prints_disk_and_the_plain_tantivy_baseline() {
    let report = json_report(&[
        "bench",
        "index",
        "--events",
        "20k",
        "--queries",
        "2",
        "--probes",
        "2",
        "--json",
    ]);
    let rows = report["indexing"].as_array().expect("indexing rows");
    assert_eq!(rows.len(), 2, "{report}");
    for row in rows {
        assert!(
            row["disk_bytes_per_event"].as_f64().unwrap_or(0.0) > 0.0,
            "{row}"
        );
        assert!(
            row["docs_per_second"].as_f64().unwrap_or(0.0) > 0.0,
            "{row}"
        );
    }
    let plain = &report["plain_tantivy"];
    assert!(
        plain["docs_per_second"].as_f64().unwrap_or(0.0) > 0.0,
        "{plain}"
    );
    assert!(plain["disk_bytes"].as_u64().unwrap_or(0) > 0, "{plain}");
    assert!(
        plain["time_ratio_one_thread"].as_f64().unwrap_or(0.0) > 0.0,
        "{plain}"
    );
    let raw = report["raw_bytes"].as_u64().expect("raw bytes");
    let gzip = report["gzip_bytes"].as_u64().expect("gzip bytes");
    assert!(gzip > 0 && gzip < raw, "{report}");
}

/// Starts `loghaul run` on `log` with the API on a free port; returns the
/// child, its address, and the receiver of its remaining stderr lines.
fn start_run(
    dir: &std::path::Path,
    log: &std::path::Path,
) -> (
    std::process::Child,
    std::net::SocketAddr,
    mpsc::Receiver<String>,
) {
    loghaul_testkit::start_run(
        std::path::Path::new(env!("CARGO_BIN_EXE_loghaul")),
        dir,
        log,
    )
}

fn wait_for_count(address: std::net::SocketAddr, query: &str, count: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = loghaul_testkit::http_get(address, &format!("/api/count?q={query}"));
        if status == 200 && body.contains(&format!("\"count\":{count}")) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not searchable: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn terminate(child: &mut std::process::Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(child.wait().expect("exit").success());
}

/// Runs a `loghaul query -f` command and appends `text` to `log` every half
/// second (a follow shows only what is indexed after it connects) until the
/// command prints a line, which it returns. Counts the lines appended.
fn follow_until_printed(
    command: &mut Command,
    log: &std::path::Path,
    text: &str,
    appended: &mut u64,
) -> String {
    let mut follow = command.stdout(Stdio::piped()).spawn().expect("follow");
    let stdout = follow.stdout.take().expect("stdout");
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut tries = 0;
    let line = loop {
        {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(log)
                .expect("open");
            writeln!(
                file,
                "2026-11-22 08:00:00,000 INFO [main] app.Checkout: {text}"
            )
            .expect("write");
        }
        *appended += 1;
        tries += 1;
        assert!(tries < 60, "the follow never printed");
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) {
            break line;
        }
    };
    let _ = follow.kill();
    let _ = follow.wait();
    line
}

fn checkout_log(dir: &std::path::Path) -> std::path::PathBuf {
    let log = dir.join("app.log");
    let mut text = String::new();
    for index in 0..50 {
        let level = if index % 10 == 0 { "ERROR" } else { "INFO" };
        text.push_str(&format!(
            "2026-11-22 07:{index:02}:00,000 {level} [main] app.Checkout: order {index} placed\n"
        ));
    }
    text.push_str(
        "2026-11-22 07:59:00,000 WARN [main] app.Checkout: evil \x1b[2J\x1b[31mred\x07 text\n",
    );
    std::fs::write(&log, text).expect("log");
    log
}

#[test]
fn run_ships_parses_indexes_and_serves_search() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = checkout_log(dir.path());
    let (mut child, address, _stderr) = start_run(dir.path(), &log);
    wait_for_count(address, "order", 50);
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
    terminate(&mut child);
}

#[test]
fn query_cli_against_a_server_and_a_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = checkout_log(dir.path());
    let (mut child, address, _stderr) = start_run(dir.path(), &log);
    wait_for_count(address, "order", 50);
    let server = format!("http://{address}");
    // The token `run` made in its data directory, as a script passes it.
    let token = loghaul_testkit::api_token(address).expect("run made a token");
    let query = |args: &[&str]| {
        let output = loghaul()
            .arg("query")
            .args(["--server", &server])
            .env("LOGHAUL_TOKEN", &token)
            .args(args)
            .env_remove("NO_COLOR")
            .output()
            .expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    // Human output: oldest first, no colour off a terminal.
    let (code, out, err) = query(&["level:ERROR", "--from", "2026-11-22T00:00:00Z"]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[0].starts_with("2026-11-22T07:00:00.000Z ERROR "),
        "{out}"
    );
    assert!(lines[0].ends_with("order 0 placed"), "{out}");
    assert!(lines[4].ends_with("order 40 placed"), "{out}");
    assert!(!out.contains('\x1b'), "no colour off a terminal");

    // Escape sequences in log text never reach the terminal.
    let (_, out, _) = query(&["evil", "--color", "always"]);
    assert!(out.contains("evil \\x1b[2J\\x1b[31mred\\x07 text"), "{out}");
    assert!(
        out.contains("\x1b[33m"),
        "--color always colours the level: {out:?}"
    );
    assert_eq!(
        out.matches('\x1b').count(),
        6,
        "only our own colour codes: {out:?}"
    );

    // JSON, count, filters, limit.
    let (_, out, _) = query(&["order", "--json", "-n", "3"]);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["body"], "order 49 placed");
    assert_eq!(query(&["--count", "order"]).1.trim(), "50");
    assert_eq!(
        query(&["--count", "--level", "ERROR", "--level", "WARN"])
            .1
            .trim(),
        "6"
    );
    assert_eq!(query(&["--count", "--host", "no-such-host"]).1.trim(), "0");
    assert_eq!(query(&["--count", "--source", "*app.log"]).1.trim(), "51");
    // A source's configured name finds its events too (PATHS make the
    // source named `cli`), by --source and by `source:` in the query.
    assert_eq!(events[0]["resource"]["source_name"], "cli");
    assert_eq!(query(&["--count", "--source", "cli"]).1.trim(), "51");
    assert_eq!(query(&["--count", "--source", "cl*"]).1.trim(), "51");
    assert_eq!(query(&["--count", "source:cli AND order"]).1.trim(), "50");
    assert_eq!(query(&["--count", "--source", "other"]).1.trim(), "0");
    assert_eq!(
        query(&["--count", "--since", "100000d", "order"]).1.trim(),
        "50"
    );
    assert_eq!(
        query(&[
            "--count",
            "--from",
            "2026-11-22T07:10:00Z",
            "--to",
            "2026-11-22T07:20:00Z"
        ])
        .1
        .trim(),
        "10"
    );

    // Bad input: exit 2 with the place.
    let (code, _, err) = query(&["level:ERROR AND (order"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("never closed"), "{err}");
    assert!(err.contains("column 17"), "{err}");
    assert!(err.contains("                ^"), "{err}");
    assert_eq!(query(&["--since", "yesterday"]).0, Some(2));
    assert_eq!(query(&["-n", "many"]).0, Some(2));
    assert_eq!(
        query(&["--all", "-n", "5"]).0,
        Some(2),
        "--all or -n, not both"
    );
    let unreachable = loghaul()
        .args(["query", "--server", "http://127.0.0.1:1", "x"])
        .output()
        .expect("runs");
    assert_eq!(unreachable.status.code(), Some(1));

    // --follow, against the server and against the data directory beside
    // the running writer: a new line in the file arrives on stdout.
    let mut appended = 0;
    for (source, word) in [
        (vec!["--server", server.as_str()], "shipped"),
        (vec![], "delivered"),
    ] {
        let mut command = loghaul();
        command
            .args(["query", "-f", "-n", "1"])
            .args(&source)
            .env("LOGHAUL_TOKEN", &token);
        if source.is_empty() {
            command.arg("--data-dir").arg(dir.path().join("data"));
        }
        let line = follow_until_printed(
            command.arg(word),
            &log,
            &format!("order {word}"),
            &mut appended,
        );
        assert!(line.ends_with(&format!("order {word}")), "{line}");
    }
    // The follow may print one appended line while the next is still on
    // its way; a stop only promises that the rest is read on the next
    // start, so wait for all of them before stopping.
    wait_for_count(address, "order", 50 + appended);
    terminate(&mut child);

    // The same data read straight from the data directory.
    let output = loghaul()
        .args(["query", "--count", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("order")
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        (50 + appended).to_string(),
        "every line, the followed ones included"
    );
    let help = loghaul().args(["query", "--help"]).output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Exit codes"), "{help}");
    assert!(help.contains("NO_COLOR"), "{help}");
}

/// PATHS may be relative to where `run` starts: they are indexed, not
/// silently matched against nothing.
#[test]
fn run_indexes_a_relative_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("rel.log"),
        "relative line one\nrelative line two\n",
    )
    .expect("log");
    let (mut child, address, _stderr) = loghaul_testkit::start_run_with(
        std::path::Path::new(env!("CARGO_BIN_EXE_loghaul")),
        dir.path(),
        &["rel.log".to_owned()],
    );
    wait_for_count(address, "relative", 2);
    terminate(&mut child);
}

fn explain(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = loghaul()
        .args(["parse", "--explain"])
        .args(args)
        .env_remove("LOGHAUL_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    child.wait_with_output().expect("ends")
}

#[test]
fn parse_explain_shows_how_each_line_is_read() {
    let lines =
        b"{\"time\":\"2026-11-22T10:00:00Z\",\"level\":\"warn\",\"msg\":\"disk low\",\"free\":3}\n\
        ts=2026-11-22T10:00:01Z level=error msg=\"boom\" code=7\n\
        no time and no level here\r\n";
    let output = explain(&["-"], lines);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("line 1: json"), "{text}");
    assert!(text.contains("  time     2026-11-22T10:00:00Z"), "{text}");
    assert!(text.contains("  free  3"), "{text}");
    assert!(text.contains("line 2: logfmt"), "{text}");
    assert!(text.contains("  code  7"), "{text}");
    assert!(text.contains("no time found"), "{text}");
    assert!(
        text.contains("3 records: json 1, logfmt 1, plain 1; 1 without a time, 1 without a level, 1 not parsed"),
        "{text}"
    );

    // Real files from this machine's PostgreSQL and Redis, as JSON.
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/this-machine");
    for (file, level) in [("postgresql-15.log", "LOG"), ("redis-7.0.15.log", "NOTICE")] {
        let output = loghaul()
            .args(["parse", "--json", "--explain"])
            .arg(data.join(file))
            .output()
            .expect("runs");
        assert!(output.status.success(), "{output:?}");
        let records: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
            .collect();
        assert!(records.len() > 5, "{file}");
        let timed = records
            .iter()
            .filter(|record| record["time"].is_string())
            .count();
        assert_eq!(timed, records.len(), "{file}: every record has its time");
        assert!(
            records.iter().any(|record| record["level"] == level),
            "{file}: {level} is read"
        );
    }

    // A forced format that does not fit is shown, not hidden.
    let output = explain(&["-", "--format", "json"], b"plain words\n");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("NOT PARSED"), "{text}");
    assert!(text.contains("1 not parsed"), "{text}");

    // Bad usage exits 2 and names the flag.
    for (args, named) in [
        (&["-", "--format", "yaml"][..], "--format"),
        (&["-", "--format", "regex:nope"][..], "--format"),
        (&["-", "--timezone", "Mars/Olympus"][..], "--timezone"),
        (&["/no/such/file"][..], "/no/such/file"),
    ] {
        let output = explain(args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(named),
            "{output:?}"
        );
    }
}

/// With no indexer.token, `run` makes one in its data directory (mode
/// 0600): its user's `loghaul query` finds it there; another local user
/// (`nobody`) cannot read the file and gets 401 from the API.
#[test]
fn the_api_needs_the_token_run_made_and_only_its_owner_reads_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // Open to all, so that only the token file's own mode guards it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let log = checkout_log(dir.path());
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // The default data directory, `loghaul-data` where `run` starts.
    let mut child = loghaul()
        .current_dir(dir.path())
        .args(["run", "--listen", "127.0.0.1:0"])
        .arg(&log)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
    let mut told = false;
    let address: std::net::SocketAddr = loop {
        let line = lines.next().expect("a ready line");
        told |= line.contains("api-token");
        if let Some(url) = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix("search=http://"))
        {
            break url.parse().expect("address");
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    assert!(told, "the log names the token file");
    let file = dir.path().join("loghaul-data/api-token");
    let mode = std::fs::metadata(&file)
        .expect("the token file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let token = std::fs::read_to_string(&file).expect("read");
    let stderr_text =
        |output: &std::process::Output| String::from_utf8_lossy(&output.stderr).into_owned();

    // Its owner: `loghaul query` finds the token in the default directory.
    let server = format!("http://{address}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let output = loghaul()
            .current_dir(dir.path())
            .args(["query", "--count", "--server", &server, "order"])
            .env_remove("LOGHAUL_TOKEN")
            .output()
            .expect("runs");
        assert!(output.status.success(), "{}", stderr_text(&output));
        if String::from_utf8_lossy(&output.stdout).trim() == "50" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never searchable");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Elsewhere, without the token: exit 2, and the message says where it is.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let output = loghaul()
        .current_dir(elsewhere.path())
        .args(["query", "--count", "--server", &server, "order"])
        .env_remove("LOGHAUL_TOKEN")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr_text(&output));
    assert!(
        stderr_text(&output).contains("api-token"),
        "{}",
        stderr_text(&output)
    );
    // A client in `cwd` with no token or server from the environment.
    let client = |cwd: &std::path::Path, args: &[&str]| {
        loghaul()
            .current_dir(cwd)
            .args(args)
            .env_remove("LOGHAUL_TOKEN")
            .env_remove("LOGHAUL_SERVER")
            .output()
            .expect("runs")
    };
    // `loghaul ui` gives its owner the page's address with the token.
    let output = client(dir.path(), &["ui", "--server", &server]);
    assert!(output.status.success(), "{}", stderr_text(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("{server}/#token={}", token.trim())
    );
    let output = client(elsewhere.path(), &["ui", "--server", &server]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_text(&output));

    // Without --server, `query` and `ui` started beside the data directory
    // find the address `run` noted there (it listens on a random port, not
    // the default 7700).
    let output = client(dir.path(), &["query", "--count", "order"]);
    assert!(output.status.success(), "{}", stderr_text(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "50");
    let output = client(dir.path(), &["ui"]);
    assert!(output.status.success(), "{}", stderr_text(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("{server}/#token={}", token.trim())
    );

    // Another local user: the file is closed to it, the API answers 401;
    // /healthz answers, so the 401 is no connection failure.
    let as_nobody = |script: &str| {
        Command::new("runuser")
            .args(["-u", "nobody", "--", "bash", "-c", script])
            .output()
            .expect("runuser")
    };
    let read = as_nobody(&format!("cat {}", file.display()));
    assert!(!read.status.success(), "nobody read the token");
    assert!(!String::from_utf8_lossy(&read.stdout).contains(token.trim()));
    let status_line = |path: &str| {
        let output = as_nobody(&format!(
            "exec 3<>/dev/tcp/{}/{}; printf 'GET {path} HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3; head -n 1 <&3",
            address.ip(),
            address.port()
        ));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(
        status_line("/healthz").contains(" 200 "),
        "{}",
        status_line("/healthz")
    );
    for path in ["/api/count?q=order", "/api/search?q=*", "/metrics"] {
        let line = status_line(path);
        assert!(line.contains(" 401 "), "{path}: {line}");
    }
    terminate(&mut child);
}

/// Issue 15's sweep: a distinct secret in every URL and secret field, then
/// every output a user or a log collector sees: `config check` (text and
/// JSON), errors quoting the lines that hold them, `run`'s logs at debug
/// level while it starts, searches (fanned out to a peer that is down) and
/// stops, and `/metrics`. No secret appears anywhere.
#[test]
fn no_output_ever_shows_a_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = checkout_log(dir.path());
    let secrets = [
        "S3CRET-QUEUE-PW",
        "S3CRET-API-TOKEN",
        "S3CRET-PEER-PW",
        "S3CRET-ENDPOINT-PW",
        "S3CRET-ACCESS-KEY",
        "S3CRET-SECRET-KEY",
        "S3CRET-SPOT-PW",
    ];
    let config_text = format!(
        "data_dir = \"{data}\"\n\
         [queue]\nkind = \"disk\"\nurl = \"amqp://app:S3CRET-QUEUE-PW@127.0.0.1:1/%2f\"\n\
         [indexer]\nlisten = \"127.0.0.1:0\"\ntoken = \"S3CRET-API-TOKEN\"\n\
         shard_urls = [\"http://127.0.0.1:9/\"]\n\
         [archive]\nurl = \"file://{archive}\"\nendpoint = \"http://key:S3CRET-ENDPOINT-PW@127.0.0.1:9\"\n\
         access_key_id = \"S3CRET-ACCESS-KEY\"\nsecret_access_key = \"S3CRET-SECRET-KEY\"\n\
         [shipper.spot]\nprovider = \"aws\"\nendpoint = \"http://u:S3CRET-SPOT-PW@127.0.0.1:9\"\n\
         [[shipper.sources]]\nname = \"app\"\npaths = [\"{log}\"]\n",
        data = dir.path().join("data").display(),
        archive = dir.path().join("archive").display(),
        log = log.display(),
    );
    let path = write_config(dir.path(), &config_text);
    let mut seen = String::new();
    let mut keep = |what: &str, output: &std::process::Output| {
        seen.push_str(&format!(
            "--- {what}\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    };

    // config check, as text and as JSON.
    for json in [false, true] {
        let mut command = loghaul();
        command.args(["config", "check", "-c"]).arg(&path);
        if json {
            command.arg("--json");
        }
        let output = command.output().expect("runs");
        assert!(output.status.success(), "{output:?}");
        keep("config check", &output);
    }
    // Errors whose snippet quotes a line holding a secret: a duplicate key,
    // an unknown key beside a secret, a bad value in a secret's line.
    for (what, broken) in [
        (
            "duplicate url",
            config_text.replace(
                "[queue]\n",
                "[queue]\nurl = \"amqp://x:S3CRET-QUEUE-PW@h/%2f\"\n",
            ),
        ),
        (
            "unknown key",
            config_text.replace(
                "access_key_id = \"S3CRET-ACCESS-KEY\"",
                "access_key_id = \"S3CRET-ACCESS-KEY\"\naccess_key = \"S3CRET-ACCESS-KEY\"",
            ),
        ),
        (
            "a token padded with spaces",
            config_text.replace("\"S3CRET-API-TOKEN\"", "\" S3CRET-API-TOKEN \""),
        ),
        (
            "a bad endpoint URL",
            config_text.replace(
                "http://key:S3CRET-ENDPOINT-PW@127.0.0.1:9",
                "ht tp://key:S3CRET-ENDPOINT-PW@[::1",
            ),
        ),
    ] {
        let broken_path = dir.path().join("broken.toml");
        std::fs::write(&broken_path, broken).expect("write");
        for command in [&["config", "check", "-c"][..], &["run", "-c"][..]] {
            let output = loghaul()
                .args(command)
                .arg(&broken_path)
                .output()
                .expect("runs");
            assert_eq!(output.status.code(), Some(2), "{what}: {output:?}");
            keep(what, &output);
        }
    }

    // A peer URL with credentials: refused (loghaul sends its token), and
    // the error shows the URL without its password.
    let with_peer_password = dir.path().join("peer.toml");
    std::fs::write(
        &with_peer_password,
        config_text.replace(
            "http://127.0.0.1:9/",
            "http://peer:S3CRET-PEER-PW@127.0.0.1:9/",
        ),
    )
    .expect("write");
    let output = loghaul()
        .args(["run", "-c"])
        .arg(&with_peer_password)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("peer:***@"),
        "{output:?}"
    );
    keep("a peer URL with a password", &output);
    let output = loghaul()
        .args(["config", "check", "-c"])
        .arg(&with_peer_password)
        .output()
        .expect("runs");
    keep("config check, peer password", &output);

    // run: its start-up logs at debug level, searches fanned out to the
    // peer that is down, /metrics, the stop.
    let mut child = loghaul()
        .args(["run", "-c"])
        .arg(&path)
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut logged = String::new();
    let address: std::net::SocketAddr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a ready line");
        logged.push_str(&line);
        logged.push('\n');
        if let Some(url) = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix("search=http://"))
        {
            break url.parse().expect("address");
        }
    };
    let bearer = "Authorization: Bearer S3CRET-API-TOKEN";
    for path in [
        "/api/search?q=order",
        "/api/count?q=order",
        "/api/facets?q=*",
        "/metrics",
        "/api/search?q=(broken",
    ] {
        let (_, body) = loghaul_testkit::http_get_with(address, path, &[bearer]);
        seen.push_str(&format!("--- GET {path}\n{body}\n"));
    }
    let wrong =
        loghaul_testkit::http_get_with(address, "/api/count?q=x", &["Authorization: Bearer nope"]);
    seen.push_str(&wrong.1);
    // Let the spot watcher and the fan-out fail and say so in the logs.
    std::thread::sleep(Duration::from_secs(3));
    terminate(&mut child);
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(2)) {
        logged.push_str(&line);
        logged.push('\n');
    }
    assert!(logged.lines().count() > 20, "debug logging ran: {logged}");
    seen.push_str("--- run's stderr\n");
    seen.push_str(&logged);

    for secret in secrets {
        assert!(
            !seen.contains(secret),
            "{secret} shown:\n{}",
            seen.lines()
                .filter(|line| line.contains(secret))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Inputs a glob matches but loghaul does not read each get one WARN with
/// the reason, however many scans see them, and a count in /metrics.
#[test]
fn skipped_inputs_warn_once_each_and_are_counted() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("app.log"),
        "2026-11-30T10:00:00Z INFO readable line\n",
    )
    .expect("log");
    let status = Command::new("mkfifo")
        .arg(dir.path().join("pipe.log"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    std::os::unix::fs::symlink("loop-b.log", dir.path().join("loop-a.log")).expect("link");
    std::os::unix::fs::symlink("loop-a.log", dir.path().join("loop-b.log")).expect("link");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(b"compressed line\n").expect("gzip");
    std::fs::write(dir.path().join("old.log"), gzip.finish().expect("gzip")).expect("write");

    let shipper_metrics = loghaul_testkit::free_local_addr();
    let config = write_config(
        dir.path(),
        &format!(
            "[shipper]\nmetrics_listen = \"{shipper_metrics}\"\n[[shipper.sources]]\nname = \"app\"\npaths = [\"{}/*.log\"]\n",
            dir.path().display()
        ),
    );
    let (mut child, address, stderr) = loghaul_testkit::start_run_with(
        std::path::Path::new(env!("CARGO_BIN_EXE_loghaul")),
        dir.path(),
        &["-c".into(), config.display().to_string()],
    );
    // Several scans (one a second) see the same skipped inputs.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(loghaul_testkit::api_count(address, "readable"), Some(1));
    let (status, metrics) = loghaul_testkit::http_get(shipper_metrics, "/metrics");
    assert_eq!(status, 200, "{metrics}");
    terminate(&mut child);
    let logged: Vec<String> = stderr.try_iter().collect();
    let warns = |name: &str, reason: &str| {
        logged
            .iter()
            .filter(|line| line.contains("WARN") && line.contains(name) && line.contains(reason))
            .count()
    };
    assert_eq!(warns("pipe.log", "not_regular"), 1, "{logged:#?}");
    assert_eq!(warns("loop-a.log", "symlink_loop"), 1, "{logged:#?}");
    assert_eq!(warns("loop-b.log", "symlink_loop"), 1, "{logged:#?}");
    assert_eq!(warns("old.log", "compressed"), 1, "{logged:#?}");
    for (reason, count) in [
        ("not_regular", 1),
        ("symlink_loop", 2),
        ("compressed", 1),
        ("unreadable", 0),
    ] {
        let line = format!("loghaul_shipper_skipped_files_total{{reason=\"{reason}\"}} {count}");
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
}
