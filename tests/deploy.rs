//! The files in `deploy/` are checked the way an operator's tools read
//! them: every systemd unit passes `systemd-analyze verify` (with the real
//! binary in its ExecStart), the sysusers and tmpfiles files are applied by
//! `systemd-sysusers` and `systemd-tmpfiles` to a scratch root, every
//! Kubernetes manifest parses as YAML with the fields a safe rollout needs,
//! each config they ship loads with `loghaul config check`, each command
//! line they run is one the CLI takes, and the README names every file.
//! Then the drain they rely on: `/readyz` turns 503 the moment a shipper, a
//! parser or an indexer starts draining, while `/healthz` stays 200 until
//! it exits.
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
        // The shipper's capability is granted, not only allowed: it runs as
        // `loghaul`, and without it could not read root's 0600 logs.
        assert_eq!(key("Service.AmbientCapabilities"), capabilities, "{name}");
        assert_eq!(key("Service.User"), "loghaul", "{name}: the sysusers user");
        assert_eq!(key("Service.StateDirectory"), "loghaul", "{name}");
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

/// Fields of a sysusers or tmpfiles line: split at white space, a
/// double-quoted field kept whole.
fn fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let (field, after) = match rest.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').expect("a closed quote"),
            None => rest.split_once(char::is_whitespace).unwrap_or((rest, "")),
        };
        fields.push(field.to_owned());
        rest = after.trim_start();
    }
    fields
}

/// The lines of a systemd configuration file that are not comments.
fn config_lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(fields)
        .collect()
}

/// What the units need before they start: the `loghaul` user
/// (`loghaul.sysusers`) and their directories (`loghaul.tmpfiles`), read as
/// written and then applied by systemd's own tools to a scratch root; and
/// `deploy/README.md`, which the units point to, naming every file here.
#[test]
fn the_user_directories_and_readme_the_units_need() {
    let dir = deploy().join("systemd");
    let config = config_check(
        &dir.join("loghaul.toml"),
        &[("LOGHAUL_AMQP_PASSWORD", "secret")],
    );
    let data_dir = config["data_dir"].as_str().expect("data_dir").to_owned();

    // The user, as written: one system user whose home is data_dir.
    let sysusers = std::fs::read_to_string(dir.join("loghaul.sysusers")).expect("sysusers");
    let users = config_lines(&sysusers);
    assert_eq!(users.len(), 1, "{users:?}");
    let user = &users[0];
    assert_eq!(user[0], "u", "a system user with its own group");
    assert_eq!(user[1], "loghaul");
    assert_eq!(user[2], "-", "an id the system picks");
    assert_eq!(user.get(4), Some(&data_dir), "its home is data_dir");

    // The directories, as written: the config's, readable by the group
    // only, and data_dir, the user's.
    let tmpfiles = std::fs::read_to_string(dir.join("loghaul.tmpfiles")).expect("tmpfiles");
    let mut entries = BTreeMap::new();
    for line in config_lines(&tmpfiles) {
        assert_eq!(line.len(), 6, "type path mode user group age: {line:?}");
        assert_eq!(line[0], "d", "{line:?}");
        assert!(line[1].starts_with('/'), "{line:?}");
        let mode =
            u32::from_str_radix(&line[2], 8).unwrap_or_else(|_| panic!("an octal mode: {line:?}"));
        assert_eq!(mode & 0o007, 0, "nothing for others: {line:?}");
        for name in [&line[3], &line[4]] {
            assert!(name == "root" || name == "loghaul", "{line:?}");
        }
        entries.insert(line[1].clone(), line);
    }
    let config_dir = entries.get("/etc/loghaul").expect("/etc/loghaul");
    assert_eq!(
        (config_dir[3].as_str(), config_dir[4].as_str()),
        ("root", "loghaul")
    );
    let state = entries.get(&data_dir).expect("data_dir");
    assert_eq!(
        (state[3].as_str(), state[4].as_str()),
        ("loghaul", "loghaul")
    );

    // Applied by systemd's tools, to a scratch root.
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("etc")).expect("etc");
    let root_arg = format!("--root={}", root.path().display());
    match Command::new("systemd-sysusers").arg("--version").output() {
        Ok(_) => {
            let output = Command::new("systemd-sysusers")
                .arg(&root_arg)
                .arg(dir.join("loghaul.sysusers"))
                .output()
                .expect("systemd-sysusers");
            assert!(
                output.status.success(),
                "systemd-sysusers: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).expect("passwd");
            let entry: Vec<&str> = passwd
                .lines()
                .find(|line| line.starts_with("loghaul:"))
                .unwrap_or_else(|| panic!("loghaul in {passwd}"))
                .split(':')
                .collect();
            assert_eq!(entry[5], data_dir, "home");
            assert!(entry[6].ends_with("nologin"), "no login shell: {entry:?}");
            let uid: u32 = entry[2].parse().expect("uid");
            let gid: u32 = entry[3].parse().expect("gid");
            assert!(uid > 0 && uid < 1000, "a system user: {uid}");

            let output = Command::new("systemd-tmpfiles")
                .arg(&root_arg)
                .arg("--create")
                .arg(dir.join("loghaul.tmpfiles"))
                .output()
                .expect("systemd-tmpfiles");
            assert!(
                output.status.success(),
                "systemd-tmpfiles: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            use std::os::unix::fs::MetadataExt;
            for (path, owner, group) in [("/etc/loghaul", 0, gid), (data_dir.as_str(), uid, gid)] {
                let made = std::fs::metadata(root.path().join(path.trim_start_matches('/')))
                    .unwrap_or_else(|error| panic!("{path} made: {error}"));
                assert!(made.is_dir(), "{path}");
                assert_eq!(
                    (made.uid(), made.gid(), made.mode() & 0o7777),
                    (owner, group, 0o750),
                    "{path}"
                );
            }
        }
        Err(error) => println!(
            "systemd-sysusers is not available here ({error}): the sysusers and tmpfiles files checked as written only"
        ),
    }

    // The README the units point to, naming every file it explains.
    let readme = std::fs::read_to_string(deploy().join("README.md")).expect("deploy/README.md");
    for sub in ["systemd", "kubernetes"] {
        for entry in std::fs::read_dir(deploy().join(sub))
            .expect("dir")
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                readme.contains(&format!("{sub}/{name}")),
                "deploy/README.md names {sub}/{name}"
            );
        }
    }
    for step in [
        "systemd-sysusers",
        "systemd-tmpfiles",
        "useradd --system",
        "systemctl enable --now",
        "kubectl apply -f deploy/kubernetes/",
        "create secret generic loghaul",
    ] {
        assert!(readme.contains(step), "deploy/README.md says {step}");
    }
    let ship = std::fs::read_to_string(dir.join("loghaul-ship.service")).expect("unit");
    assert!(ship.contains("deploy/README.md"));
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

/// A TCP proxy in front of RabbitMQ that holds back the broker's answers on
/// every connection that has published to one exchange, until released: a
/// publisher then waits for its confirm for as long as a test needs, as it
/// would behind a slow or partitioned broker. Everything else passes as is.
struct ConfirmHold {
    address: std::net::SocketAddr,
    state: std::sync::Arc<(std::sync::Mutex<HoldState>, std::sync::Condvar)>,
}

#[derive(Default)]
struct HoldState {
    /// Publishes to the exchange seen so far.
    published: u32,
    released: bool,
}

/// Finds `basic.publish` frames to one exchange in a client's AMQP stream.
#[derive(Default)]
struct PublishScanner {
    buffer: Vec<u8>,
    past_protocol_header: bool,
}

impl PublishScanner {
    /// Takes the client's next bytes: whether they hold a publish to
    /// `exchange`.
    fn feed(&mut self, bytes: &[u8], exchange: &[u8]) -> bool {
        self.buffer.extend_from_slice(bytes);
        if !self.past_protocol_header {
            // "AMQP\0\0\x09\x01"
            if self.buffer.len() < 8 {
                return false;
            }
            self.buffer.drain(..8);
            self.past_protocol_header = true;
        }
        let mut found = false;
        // Frames: type, channel (2), size (4), payload, end byte 0xCE.
        while self.buffer.len() >= 7 {
            let size = u32::from_be_bytes([
                self.buffer[3],
                self.buffer[4],
                self.buffer[5],
                self.buffer[6],
            ]) as usize;
            if self.buffer.len() < 7 + size + 1 {
                break;
            }
            let payload = &self.buffer[7..7 + size];
            // A method frame of class 60 (basic), method 40 (publish): a
            // reserved short, then the exchange as a short string.
            if self.buffer[0] == 1 && payload.starts_with(&[0, 60, 0, 40]) && payload.len() > 6 {
                let length = usize::from(payload[6]);
                found |= payload.get(7..7 + length) == Some(exchange);
            }
            self.buffer.drain(..7 + size + 1);
        }
        found
    }
}

impl ConfirmHold {
    fn start(upstream: std::net::SocketAddr, exchange: &str) -> Self {
        use std::io::Read;
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("addr");
        let state: std::sync::Arc<(std::sync::Mutex<HoldState>, std::sync::Condvar)> =
            Default::default();
        let shared = state.clone();
        let exchange = exchange.as_bytes().to_vec();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(broker) = std::net::TcpStream::connect(upstream) else {
                    continue;
                };
                let holding = std::sync::Arc::new(AtomicBool::new(false));
                let (mut from_client, mut to_broker) = (
                    client.try_clone().expect("clone"),
                    broker.try_clone().expect("clone"),
                );
                let (state, marked, exchange) = (shared.clone(), holding.clone(), exchange.clone());
                std::thread::spawn(move || {
                    let mut scanner = PublishScanner::default();
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(count) = from_client.read(&mut buffer) {
                        if count == 0 {
                            break;
                        }
                        // Marked before the publish goes on: the broker
                        // cannot answer it before the mark is set.
                        if scanner.feed(&buffer[..count], &exchange) {
                            marked.store(true, Ordering::SeqCst);
                            let (lock, changed) = &*state;
                            lock.lock().expect("lock").published += 1;
                            changed.notify_all();
                        }
                        if to_broker.write_all(&buffer[..count]).is_err() {
                            break;
                        }
                    }
                    let _ = to_broker.shutdown(std::net::Shutdown::Write);
                });
                let (mut from_broker, mut to_client) = (broker, client);
                let state = shared.clone();
                std::thread::spawn(move || {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(count) = from_broker.read(&mut buffer) {
                        if count == 0 {
                            break;
                        }
                        if holding.load(Ordering::SeqCst) {
                            let (lock, changed) = &*state;
                            let mut held = lock.lock().expect("lock");
                            while !held.released {
                                held = changed.wait(held).expect("wait");
                            }
                        }
                        if to_client.write_all(&buffer[..count]).is_err() {
                            break;
                        }
                    }
                    let _ = to_client.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        ConfirmHold { address, state }
    }

    /// Waits until a client published to the exchange.
    fn wait_for_publish(&self, limit: Duration) -> bool {
        let (lock, changed) = &*self.state;
        let (state, _) = changed
            .wait_timeout_while(lock.lock().expect("lock"), limit, |state| {
                state.published == 0
            })
            .expect("wait");
        state.published > 0
    }

    /// Lets the held answers through, and every later one.
    fn release(&self) {
        let (lock, changed) = &*self.state;
        lock.lock().expect("lock").released = true;
        changed.notify_all();
    }
}

/// Waits until RabbitMQ counts `(messages, unacknowledged)` in `queue`
/// (its counts follow acknowledgements with a short delay); the last counts.
fn queue_settles(queue: &str, wanted: (u64, u64)) -> Option<(u64, u64)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let counts = queue_counts(queue);
        if counts == Some(wanted) || Instant::now() > deadline {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `(messages, unacknowledged)` of a queue, as RabbitMQ counts them.
fn queue_counts(queue: &str) -> Option<(u64, u64)> {
    let output = Command::new("rabbitmqctl")
        .args([
            "list_queues",
            "-q",
            "--no-table-headers",
            "name",
            "messages",
            "messages_unacknowledged",
        ])
        .output()
        .expect("rabbitmqctl is installed");
    assert!(
        output.status.success(),
        "rabbitmqctl list_queues: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [name, messages, unacked] if *name == queue => {
                    Some((messages.parse().ok()?, unacked.parse().ok()?))
                }
                _ => None,
            }
        })
}

/// SIGTERM, then `/readyz` and `/healthz` every 50 ms until the process
/// exits: how often the pair was (503, 200), and how the process ended.
/// `hold` is called while it drains, with the count so far, and returns
/// whether to keep holding; a drain that ends on its own while held fails.
fn watch_drain(
    child: &mut std::process::Child,
    listen: &str,
    mut hold: impl FnMut(u32) -> bool,
) -> (u32, std::process::ExitStatus, Duration) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    let stopped = Instant::now();
    let mut seen_draining = 0;
    let mut holding = true;
    let status = loop {
        if holding {
            holding = hold(seen_draining);
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            assert!(!holding, "it exited while its drain was held: {status:?}");
            break status;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(120),
            "never stopped"
        );
        let (ready, alive) = (get(listen, "/readyz"), get(listen, "/healthz"));
        if ready == Some(503) && alive == Some(200) {
            seen_draining += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (seen_draining, status, stopped.elapsed())
}

/// The broker's address in an `amqp://user:password@host:port/vhost` URL,
/// and the same URL through `proxy`.
fn through(url: &str, proxy: std::net::SocketAddr) -> (std::net::SocketAddr, String) {
    use std::net::ToSocketAddrs;
    let (credentials, rest) = url.split_once('@').expect("user@host in the AMQP URL");
    let (host, vhost) = rest.split_once('/').unwrap_or((rest, ""));
    let upstream = host
        .to_socket_addrs()
        .expect("the broker's address")
        .next()
        .expect("an address");
    (upstream, format!("{credentials}@{proxy}/{vhost}"))
}

/// A parser that gets SIGTERM while it waits for the broker to confirm the
/// events of the batch in hand: `/readyz` answers 503 and `/healthz` 200
/// for as long as the confirm is held (by a proxy between the parser and
/// RabbitMQ), the parser does not exit meanwhile, and once the confirm
/// comes it acknowledges the batch and exits 0: the batch in hand is
/// finished, not dropped.
#[test]
fn a_draining_parser_is_alive_but_not_ready_until_the_batch_in_hand_is_done() {
    use loghaul_queue::Broker;
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = loghaul_queue::contract::unique_prefix("parserdrain");
    let (upstream, _) = through(
        &loghaul_testkit::amqp_url(),
        loghaul_testkit::free_local_addr(),
    );
    let hold = ConfirmHold::start(upstream, &format!("{prefix}.events"));
    let (_, url) = through(&loghaul_testkit::amqp_url(), hold.address);
    let listen = loghaul_testkit::free_local_addr().to_string();
    let config = dir.path().join("loghaul.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[queue]\nkind = \"amqp\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\n\
             [parser]\nmetrics_listen = \"{listen}\"\n",
            dir.path().join("data").display()
        ),
    )
    .expect("config");
    let mut child = loghaul_testkit::spawn_role(Path::new(BIN), "parse", &config);
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&listen, "/readyz") != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get(&listen, "/healthz"), Some(200));

    // One raw batch, published straight to RabbitMQ.
    let records = 50u64;
    let batch = loghaul_model::RawBatch {
        host: "drain-host".into(),
        source: "/var/log/app.log".into(),
        file: loghaul_model::FileIdentity {
            device: 1,
            inode: 2,
            fingerprint: 3,
        },
        format_hint: None,
        records: (0..records)
            .map(|n| {
                loghaul_model::RawRecord::new(
                    n * 100,
                    format!("2026-11-30T10:00:00Z INFO record {n}").into_bytes(),
                )
            })
            .collect(),
        read_time_unix_nano: 1_796_032_800_000_000_000,
        timezone: None,
        service: None,
        source_name: None,
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let broker = loghaul_queue::AmqpBroker::new(
        &loghaul_testkit::amqp_url(),
        loghaul_queue::QueueSettings::with_prefix(prefix.clone()),
    );
    runtime.block_on(async {
        let mut publisher = broker.publisher().await.expect("publisher");
        publisher
            .publish(
                loghaul_queue::Route::Raw,
                &[loghaul_queue::Message::new(
                    loghaul_model::codec::encode_raw_batch(&batch),
                )],
            )
            .await
            .expect("published");
    });
    assert!(
        hold.wait_for_publish(Duration::from_secs(30)),
        "the parser published the batch's events"
    );

    // SIGTERM while the confirm is held: draining, alive, not exiting.
    let (seen_draining, status, drain) = watch_drain(&mut child, &listen, |seen| {
        if seen < 10 {
            return true;
        }
        hold.release();
        false
    });
    println!(
        "parser drain took {:.1} s; seen draining (readyz 503, healthz 200) {seen_draining} times",
        drain.as_secs_f64()
    );
    assert!(status.success(), "{status:?}");
    assert!(
        seen_draining >= 10,
        "readyz 503 with healthz 200 during the drain"
    );

    // The batch in hand was finished: its events are on the events queue,
    // and the raw batch was acknowledged.
    assert_eq!(
        queue_settles(&format!("{prefix}.raw"), (0, 0)),
        Some((0, 0)),
        "the raw batch acknowledged"
    );
    runtime.block_on(async {
        let mut events = broker
            .consumer(loghaul_queue::Route::Events(0))
            .await
            .expect("consumer");
        let delivery = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("the batch's events")
            .expect("delivery");
        let parsed =
            loghaul_model::codec::decode_event_batch(&delivery.payload).expect("an event batch");
        assert_eq!(parsed.events.len() as u64, records);
        events.ack(&[delivery.tag]).await.expect("ack");
        drop(events);
        broker.delete_topology().await.expect("cleanup");
    });
}

/// An indexer that gets SIGTERM while a large batch is pending (held, not
/// yet committed: `commit_interval` is an hour): `/readyz` answers 503 from
/// the start of the drain and `/healthz` 200 while it commits, and every
/// pending event is in the index after it exits 0.
#[test]
fn a_draining_indexer_is_alive_but_not_ready_while_it_commits() {
    use loghaul_queue::Broker;
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = loghaul_queue::contract::unique_prefix("indexdrain");
    let listen = loghaul_testkit::free_local_addr().to_string();
    let config = loghaul_testkit::amqp_config(
        dir.path(),
        &prefix,
        &format!(
            "[indexer]\nlisten = \"{listen}\"\ncommit_interval = \"1h\"\ncommit_docs = 10000000\n"
        ),
    );
    // Enough that committing it takes a while, at a realistic event size.
    let count = 150_000u64;
    let file = loghaul_model::FileIdentity {
        device: 1,
        inode: 2,
        fingerprint: 3,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as i64;
    let resource = loghaul_model::Resource {
        host: "drain-host".into(),
        source: "/var/log/app.log".into(),
        service: Some("app".into()),
        source_name: None,
    };
    let words = [
        "payment", "accepted", "timeout", "retrying", "upstream", "session", "cache",
    ];
    let events = (0..count)
        .map(|n| loghaul_model::Event {
            id: loghaul_model::EventId::new("drain-host", &file, n * 120),
            timestamp_unix_nano: now - (count - n) as i64 * 1_000_000,
            observed_timestamp_unix_nano: now,
            severity: loghaul_model::Severity {
                text: Some("INFO".into()),
                number: 9,
            },
            body: format!(
                "request {n} {} {} in {} ms for user {}",
                words[n as usize % words.len()],
                words[(n as usize / 7) % words.len()],
                n % 997,
                n % 4099
            ),
            attributes: serde_json::Map::new(),
            resource: resource.clone(),
            file,
            offset: n * 120,
            parse_error: None,
        })
        .collect();
    let payload = loghaul_model::codec::encode_event_batch(&loghaul_model::EventBatch { events });
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let broker = loghaul_queue::AmqpBroker::new(
        &loghaul_testkit::amqp_url(),
        loghaul_queue::QueueSettings::with_prefix(prefix.clone()),
    );
    runtime.block_on(async {
        let mut publisher = broker.publisher().await.expect("publisher");
        publisher
            .publish(
                loghaul_queue::Route::Events(0),
                &[loghaul_queue::Message::new(payload)],
            )
            .await
            .expect("published");
    });

    let mut child = loghaul_testkit::spawn_role(Path::new(BIN), "index", &config);
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&listen, "/readyz") != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The indexer holds the batch, unacknowledged until it commits.
    let queue = format!("{prefix}.events.0");
    while queue_counts(&queue).map(|(_, unacked)| unacked) != Some(1) {
        assert!(Instant::now() < deadline, "the batch never taken");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (seen_draining, status, drain) = watch_drain(&mut child, &listen, |_| false);
    println!(
        "indexer drain took {:.1} s; seen draining (readyz 503, healthz 200) {seen_draining} times",
        drain.as_secs_f64()
    );
    assert!(status.success(), "{status:?}");
    assert!(
        seen_draining >= 3,
        "readyz 503 with healthz 200 while it commits"
    );
    let searcher = loghaul_indexer::search::Searcher::new(&dir.path().join("data"), 0);
    assert_eq!(
        searcher.count("*", None, None).expect("count"),
        count,
        "every pending event committed"
    );
    assert_eq!(
        queue_settles(&queue, (0, 0)),
        Some((0, 0)),
        "and acknowledged"
    );
    runtime.block_on(async {
        broker.delete_topology().await.expect("cleanup");
    });
}
