//! The files in `deploy/` are checked the way an operator's tools read
//! them: every systemd unit passes `systemd-analyze verify` (with the real
//! binary in its ExecStart), every Kubernetes manifest parses as YAML with
//! the fields a safe rollout needs, each config they ship loads with
//! `loghaul config check`, and each command line they run is one the CLI
//! takes. Then the drain they rely on: `/readyz` turns 503 the moment a
//! shipper starts draining, while `/healthz` stays 200 until it exits.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Deserialize;

const BIN: &str = env!("CARGO_BIN_EXE_loghaul");

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// `key=value` lines of a unit, by section (`Service.User`); a key given
/// twice keeps every value, space-separated.
fn unit_keys(text: &str) -> BTreeMap<String, String> {
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            section = name.to_owned();
            continue;
        }
        let (key, value) = line.split_once('=').expect("key=value");
        let entry = keys.entry(format!("{section}.{key}")).or_default();
        if !entry.is_empty() {
            entry.push(' ');
        }
        entry.push_str(value);
    }
    keys
}

/// Seconds of a systemd or loghaul duration such as `90`, `90s` or `2min`.
fn seconds(text: &str) -> u64 {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let number: u64 = digits.parse().expect("a number of seconds");
    match &text[digits.len()..] {
        "" | "s" => number,
        "min" | "m" => number * 60,
        other => panic!("unit {other:?} in {text:?}"),
    }
}

/// `loghaul config check -c FILE` with `env`: the effective config as JSON.
fn config_check(file: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let output = Command::new(BIN)
        .args(["config", "check", "--json", "-c"])
        .arg(file)
        .envs(env.iter().copied())
        .output()
        .expect("config check runs");
    assert!(
        output.status.success(),
        "{} does not load: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// The CLI takes `args` (up to its options' values): `--help` after them
/// succeeds only if every subcommand and flag before it exists.
fn cli_takes(args: &[String]) {
    let output = Command::new(BIN)
        .args(args)
        .arg("--help")
        .output()
        .expect("loghaul runs");
    assert!(
        output.status.success(),
        "`loghaul {}` is not a command line the CLI takes: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn systemd_units_verify_and_keep_their_promises() {
    let dir = deploy().join("systemd");
    let config = config_check(
        &dir.join("loghaul.toml"),
        &[("LOGHAUL_AMQP_PASSWORD", "secret")],
    );
    let data_dir = config["data_dir"].as_str().expect("data_dir").to_owned();
    let drain = seconds(config["shipper"]["drain_timeout"].as_str().expect("drain"));
    let verify = Command::new("systemd-analyze").arg("--version").output();
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut units = 0;
    for role in ["ship", "parse", "index"] {
        let name = format!("loghaul-{role}.service");
        let text = std::fs::read_to_string(dir.join(&name)).expect("unit");
        let keys = unit_keys(&text);
        let key = |name: &str| keys.get(name).map(String::as_str).unwrap_or_default();
        assert!(
            !key("Service.User").is_empty() && key("Service.User") != "root",
            "{name}: a dedicated user"
        );
        assert_eq!(key("Service.NoNewPrivileges"), "yes", "{name}");
        assert_eq!(key("Service.ProtectSystem"), "strict", "{name}");
        assert!(
            key("Service.ReadWritePaths")
                .split(' ')
                .any(|path| path == data_dir),
            "{name}: data_dir {data_dir} writable"
        );
        assert_eq!(key("Service.Restart"), "on-failure", "{name}");
        assert!(
            seconds(key("Service.TimeoutStopSec")) > drain,
            "{name}: TimeoutStopSec above drain_timeout ({drain} s)"
        );
        let capabilities = if role == "ship" {
            "CAP_DAC_READ_SEARCH"
        } else {
            ""
        };
        assert_eq!(key("Service.CapabilityBoundingSet"), capabilities, "{name}");
        // The command line is one the CLI takes, with this role.
        let exec: Vec<String> = key("Service.ExecStart")
            .split_whitespace()
            .skip(1)
            .map(str::to_owned)
            .collect();
        assert_eq!(exec.first().map(String::as_str), Some(role), "{name}");
        cli_takes(&exec);

        // systemd's own check, with this build as the binary.
        let local = scratch.path().join(&name);
        std::fs::write(&local, text.replace("/usr/local/bin/loghaul", BIN)).expect("copy");
        match &verify {
            Ok(_) => {
                let output = Command::new("systemd-analyze")
                    .arg("verify")
                    .arg(&local)
                    .output()
                    .expect("systemd-analyze");
                let complaints = String::from_utf8_lossy(&output.stderr);
                let about_ours: Vec<&str> = complaints
                    .lines()
                    .filter(|line| line.contains(&name))
                    .collect();
                assert!(
                    output.status.success() && about_ours.is_empty(),
                    "systemd-analyze verify {name}: {complaints}"
                );
            }
            Err(error) => println!(
                "systemd-analyze is not available here ({error}): {name} checked by its keys only"
            ),
        }
        units += 1;
    }
    assert_eq!(units, 3);
}

/// Every document of every manifest, by kind.
fn manifests() -> Vec<serde_yaml::Value> {
    let mut documents = Vec::new();
    let dir = deploy().join("kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("kubernetes dir")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
            if !value.is_null() {
                documents.push(value);
            }
        }
    }
    documents
}

fn of_kind<'a>(documents: &'a [serde_yaml::Value], kind: &str) -> &'a serde_yaml::Value {
    let found: Vec<&serde_yaml::Value> = documents
        .iter()
        .filter(|document| document["kind"].as_str() == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

/// The container's probe path and port number (named ports resolved).
fn probe(container: &serde_yaml::Value, probe: &str) -> (String, u64) {
    let http = &container[probe]["httpGet"];
    let path = http["path"].as_str().expect("an httpGet probe").to_owned();
    let port = match &http["port"] {
        serde_yaml::Value::Number(number) => number.as_u64().expect("port"),
        serde_yaml::Value::String(name) => container["ports"]
            .as_sequence()
            .expect("ports")
            .iter()
            .find(|port| port["name"].as_str() == Some(name))
            .and_then(|port| port["containerPort"].as_u64())
            .expect("a named port"),
        other => panic!("port {other:?}"),
    };
    (path, port)
}

fn port_of(listen: &serde_json::Value) -> u64 {
    listen
        .as_str()
        .and_then(|listen| listen.rsplit(':').next())
        .and_then(|port| port.parse().ok())
        .expect("a listen address")
}

#[test]
fn kubernetes_manifests_parse_and_keep_their_promises() {
    let documents = manifests();
    let config_map = of_kind(&documents, "ConfigMap");
    let toml = config_map["data"]["loghaul.toml"]
        .as_str()
        .expect("loghaul.toml");
    let scratch = tempfile::tempdir().expect("tempdir");
    let file = scratch.path().join("loghaul.toml");
    std::fs::write(&file, toml).expect("write");
    let config = config_check(
        &file,
        &[
            ("NODE_NAME", "node-a"),
            ("LOGHAUL_SHARD", "1"),
            ("LOGHAUL_AMQP_PASSWORD", "secret"),
            ("LOGHAUL_API_TOKEN", "0123456789abcdef0123456789abcdef"),
        ],
    );
    assert_eq!(config["host"], "node-a");
    assert_eq!(config["indexer"]["shard"], 1);
    let data_dir = config["data_dir"].as_str().expect("data_dir");
    let drain = seconds(config["shipper"]["drain_timeout"].as_str().expect("drain"));
    let container = |workload: &serde_yaml::Value| -> serde_yaml::Value {
        workload["spec"]["template"]["spec"]["containers"][0].clone()
    };
    let mounted_at = |workload: &serde_yaml::Value, path: &str| -> serde_yaml::Value {
        let spec = &workload["spec"]["template"]["spec"];
        let mount = container(workload)["volumeMounts"]
            .as_sequence()
            .expect("mounts")
            .iter()
            .find(|mount| mount["mountPath"].as_str() == Some(path))
            .unwrap_or_else(|| panic!("a volume at {path}"))
            .clone();
        let name = mount["name"].as_str().expect("name");
        spec["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .chain(
                workload["spec"]["volumeClaimTemplates"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|claim| &claim["metadata"]),
            )
            .find(|volume| volume["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("volume {name}"))
            .clone()
    };
    let args = |workload: &serde_yaml::Value| -> Vec<String> {
        container(workload)["args"]
            .as_sequence()
            .expect("args")
            .iter()
            .map(|arg| arg.as_str().expect("text").to_owned())
            .collect()
    };

    let shipper = of_kind(&documents, "DaemonSet");
    let grace = shipper["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    assert!(
        grace > drain,
        "grace {grace} s above drain_timeout {drain} s"
    );
    assert_eq!(
        mounted_at(shipper, "/var/log")["hostPath"]["path"].as_str(),
        Some("/var/log")
    );
    assert!(
        !mounted_at(shipper, data_dir)["hostPath"]["path"].is_null(),
        "the shipper's state outlives its pod"
    );
    let metrics = port_of(&config["shipper"]["metrics_listen"]);
    assert_eq!(
        probe(&container(shipper), "livenessProbe"),
        ("/healthz".into(), metrics)
    );
    assert_eq!(
        probe(&container(shipper), "readinessProbe"),
        ("/readyz".into(), metrics)
    );
    assert_eq!(args(shipper)[0], "ship");
    cli_takes(&args(shipper));

    let parser = of_kind(&documents, "Deployment");
    let metrics = port_of(&config["parser"]["metrics_listen"]);
    assert_eq!(
        probe(&container(parser), "livenessProbe"),
        ("/healthz".into(), metrics)
    );
    assert_eq!(
        probe(&container(parser), "readinessProbe"),
        ("/readyz".into(), metrics)
    );
    assert_eq!(args(parser)[0], "parse");
    cli_takes(&args(parser));

    let indexer = of_kind(&documents, "StatefulSet");
    assert_eq!(
        indexer["spec"]["replicas"].as_u64(),
        config["queue"]["shards"].as_u64(),
        "one index pod per shard"
    );
    assert!(
        !mounted_at(indexer, data_dir)["name"].is_null(),
        "the index on its own volume"
    );
    let grace = indexer["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    assert!(grace >= 30, "time to commit what is pending");
    let api = port_of(&config["indexer"]["listen"]);
    assert_eq!(
        probe(&container(indexer), "livenessProbe"),
        ("/healthz".into(), api)
    );
    assert_eq!(
        probe(&container(indexer), "readinessProbe"),
        ("/readyz".into(), api)
    );
    assert_eq!(args(indexer)[0], "index");
    cli_takes(&args(indexer));
}

/// The status of `GET path`, or `None` while nothing answers.
fn get(address: &str, path: &str) -> Option<u16> {
    use std::io::Read;
    let address: std::net::SocketAddr = address.parse().expect("address");
    let mut stream =
        std::net::TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// SIGTERM starts the drain: `/readyz` answers 503 at once and `/healthz`
/// 200 until the process exits. The drain is held open by an archive that
/// cannot be reached (a closed port) with `archive_on_shutdown`.
#[test]
fn a_draining_shipper_is_alive_but_not_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let mut log = std::fs::File::create(logs.join("app.log")).expect("log");
    writeln!(log, "2026-11-30T10:00:00Z INFO a line to archive").expect("write");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_s3 = closed.local_addr().expect("addr");
    drop(closed);
    let metrics = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen = metrics.local_addr().expect("addr").to_string();
    drop(metrics);
    let prefix = loghaul_queue::contract::unique_prefix("readyz");
    let config = loghaul_testkit::amqp_config(
        dir.path(),
        &prefix,
        &format!(
            "[[shipper.sources]]\nname = \"app\"\npaths = [\"{logs}/*.log\"]\n\
             [shipper]\nmetrics_listen = \"{listen}\"\narchive_on_shutdown = true\ndrain_timeout = \"4s\"\n\
             [archive]\nurl = \"s3://nowhere\"\nendpoint = \"http://{dead_s3}\"\nforce_path_style = true\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\n",
            logs = logs.display(),
        ),
    );
    let mut child = loghaul_testkit::spawn_role(Path::new(BIN), "ship", &config);
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&listen, "/readyz") != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get(&listen, "/healthz"), Some(200));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    let mut seen_draining = 0;
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(stopped.elapsed() < Duration::from_secs(60), "never stopped");
        let (ready, alive) = (get(&listen, "/readyz"), get(&listen, "/healthz"));
        if ready == Some(503) && alive == Some(200) {
            seen_draining += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    println!(
        "drain took {:.1} s; seen draining (readyz 503, healthz 200) {seen_draining} times",
        stopped.elapsed().as_secs_f64()
    );
    assert!(status.success(), "{status:?}");
    assert!(
        seen_draining >= 3,
        "readyz 503 with healthz 200 during the drain"
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = loghaul_config::load_file(&config).expect("config");
        let broker = loghaul_queue::AmqpBroker::new(
            config.queue.url.expose(),
            loghaul_queue::QueueSettings::from_config(&config.queue),
        );
        use loghaul_queue::Broker;
        broker.delete_topology().await.expect("cleanup");
    });
}

/// The parser's probes and metrics on `parser.metrics_listen`, which the
/// Deployment's probes use.
#[test]
fn a_parser_serves_its_probes_and_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = loghaul_testkit::free_local_addr().to_string();
    let prefix = loghaul_queue::contract::unique_prefix("parserprobe");
    let config = loghaul_testkit::amqp_config(
        dir.path(),
        &prefix,
        &format!("[parser]\nmetrics_listen = \"{listen}\"\n"),
    );
    let mut child = loghaul_testkit::spawn_role(Path::new(BIN), "parse", &config);
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&listen, "/readyz") != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get(&listen, "/healthz"), Some(200));
    let address: std::net::SocketAddr = listen.parse().expect("address");
    let (status, metrics) = loghaul_testkit::http_get(address, "/metrics");
    assert_eq!(status, 200);
    for name in [
        "loghaul_parser_events_total 0",
        "loghaul_parser_batches_total 0",
        "loghaul_parser_dead_lettered_total 0",
    ] {
        assert!(metrics.contains(name), "{name} in {metrics}");
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(child.wait().expect("exit").success());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use loghaul_queue::Broker;
        let broker = loghaul_queue::AmqpBroker::new(
            &loghaul_testkit::amqp_url(),
            loghaul_queue::QueueSettings::with_prefix(prefix),
        );
        broker.delete_topology().await.expect("cleanup");
    });
}
