//! One end-to-end run through every fault at once, on the real RabbitMQ and
//! s3s-fs: three shipper hosts (their own data dirs and host names), two
//! parsers and one indexer, while numbered lines are written and the
//! shippers rotate them. Every component is SIGKILLed once at a random time
//! and restarted, the broker is restarted (`rabbitmqctl stop_app` /
//! `start_app`), and S3 goes away and comes back on the same port and
//! directory.
//!
//! The oracle is a ledger of every line written. Pass: every line in the
//! index exactly once, and every rotated file in the archive byte for byte.
//! Bounded: the writing lasts about 28 s, the whole run under 5 minutes.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loghaul_archive::ObjectStore;

const HOSTS: u32 = 3;
const LINES_PER_HOST: u32 = 20_000;
const BIN: &str = env!("CARGO_BIN_EXE_loghaul");

/// A line's number: host `h` writes `h * 1,000,000 + n`.
fn number(host: u32, n: u32) -> u32 {
    host * 1_000_000 + n
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, limit: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % limit
    }
}

/// Puts the broker back whatever happens to the test.
struct BrokerGuard;

impl Drop for BrokerGuard {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl").arg("start_app").output();
    }
}

/// One component: how to start it, and its process.
struct Component {
    name: String,
    args: Vec<String>,
    child: Option<Child>,
    /// Its stderr, across restarts, for a failure's report.
    log: PathBuf,
}

impl Component {
    fn new(name: &str, role: &str, config: &Path) -> Self {
        Component {
            name: name.to_owned(),
            args: vec![role.into(), "-c".into(), config.display().to_string()],
            child: None,
            log: config.with_extension("stderr"),
        }
    }

    fn start(&mut self) {
        self.child = Some(
            Command::new(BIN)
                .args(&self.args)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&self.log)
                        .expect("log"),
                )
                .spawn()
                .unwrap_or_else(|error| panic!("{} starts: {error}", self.name)),
        );
    }

    /// Panics with its log when it exited by itself.
    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait().expect("try_wait")
        {
            panic!(
                "{} exited by itself ({status}):\n{}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }

    /// SIGTERM and wait: a clean stop drains.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("kill -TERM");
            let status = child.wait().expect("exit");
            assert!(
                status.success(),
                "{} stopped cleanly: {status:?}",
                self.name
            );
        }
    }
}

impl Drop for Component {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Rotated files of a host's log directory (names beyond `app.log`).
fn rotated(logs: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(logs)
        .expect("logs")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.file_name().is_some_and(|name| name != "app.log"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_at_once_loses_and_doubles_nothing() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let mut rng = Rng(seed);
    println!("fault run seed {seed}");
    let started = Instant::now();

    let mut s3 = loghaul_testkit::S3Server::start();
    let connection = loghaul_archive::S3Connection::path_style(
        &s3.endpoint(),
        Some((
            loghaul_testkit::S3_ACCESS_KEY.into(),
            loghaul_testkit::S3_SECRET_KEY.into(),
        )),
    );
    let bucket = loghaul_archive::S3Store::connect(
        &connection,
        "faults",
        "",
        loghaul_archive::StoreOptions::default(),
    )
    .await;
    bucket.create_bucket_if_missing().await.expect("bucket");

    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = loghaul_queue::contract::unique_prefix("faults");
    let api = loghaul_testkit::free_local_addr();
    let queue = format!(
        "[queue]\nkind = \"amqp\"\nurl = \"{}\"\nprefix = \"{prefix}\"\n",
        loghaul_testkit::amqp_url()
    );
    let archive = format!(
        "[archive]\nurl = \"s3://faults\"\nendpoint = \"{}\"\nforce_path_style = true\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\ngzip_level = 1\n",
        s3.endpoint(),
        loghaul_testkit::S3_ACCESS_KEY,
        loghaul_testkit::S3_SECRET_KEY
    );
    let write_config = |name: &str, top: &str, body: String| -> PathBuf {
        let path = dir.path().join(format!("{name}.toml"));
        let data = dir.path().join(name);
        std::fs::write(
            &path,
            format!("data_dir = \"{}\"\n{top}{queue}{body}", data.display()),
        )
        .expect("config");
        path
    };

    let mut components = Vec::new();
    let mut logs = Vec::new();
    for host in 0..HOSTS {
        let log_dir = dir.path().join(format!("logs-{host}"));
        std::fs::create_dir_all(&log_dir).expect("mkdir");
        let config = write_config(
            &format!("ship-{host}"),
            &format!("host = \"fault-host-{host}\"\n"),
            format!(
                "[[shipper.sources]]\nname = \"app\"\npaths = [\"{}/app.log\"]\n\
                 [shipper.batch]\nmax_wait = \"50ms\"\n[shipper.rotate]\nmax_bytes = \"128KiB\"\n{archive}",
                log_dir.display()
            ),
        );
        components.push(Component::new(&format!("shipper {host}"), "ship", &config));
        logs.push(log_dir);
    }
    for parser in 0..2 {
        let config = write_config(&format!("parse-{parser}"), "", String::new());
        components.push(Component::new(
            &format!("parser {parser}"),
            "parse",
            &config,
        ));
    }
    let index_config = write_config(
        "index",
        "",
        format!("[indexer]\nlisten = \"{api}\"\ncommit_interval = \"250ms\"\n"),
    );
    components.push(Component::new("indexer", "index", &index_config));
    for component in &mut components {
        component.start();
    }

    // The writers: one thread per host, the ledger is what they wrote.
    let writers: Vec<_> = logs
        .iter()
        .enumerate()
        .map(|(host, log_dir)| {
            let log = log_dir.join("app.log");
            std::thread::spawn(move || {
                for start in (0..LINES_PER_HOST).step_by(250) {
                    let text: String = (start..start + 250)
                        .map(|n| {
                            format!(
                                "{} fault marker host {host} the quick brown fox jumps over the lazy dog\n",
                                number(host as u32, n)
                            )
                        })
                        .collect();
                    use std::io::Write;
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&log)
                        .and_then(|mut file| file.write_all(text.as_bytes()))
                        .expect("append");
                    // 80 slices over about 28 s: every fault falls inside.
                    std::thread::sleep(Duration::from_millis(350));
                }
            })
        })
        .collect();

    // The faults, at random moments of the first 20 s of the writing, then
    // the S3 outage.
    let _broker_guard = BrokerGuard;
    let mut order: Vec<usize> = (0..components.len()).collect();
    for index in (1..order.len()).rev() {
        order.swap(index, rng.below(index as u64 + 1) as usize);
    }
    let slot = Duration::from_millis(14_000 / order.len() as u64);
    for (step, component) in order.iter().enumerate() {
        std::thread::sleep(slot.mul_f64(0.5 + rng.below(100) as f64 / 100.0));
        let victim = &mut components[*component];
        println!(
            "{:>5.1} s: SIGKILL {}",
            started.elapsed().as_secs_f64(),
            victim.name
        );
        victim.kill();
        std::thread::sleep(Duration::from_millis(300 + rng.below(700)));
        victim.start();
        if step == order.len() / 2 {
            println!(
                "{:>5.1} s: broker stop_app",
                started.elapsed().as_secs_f64()
            );
            loghaul_testkit::rabbitmqctl(&["stop_app"]);
            std::thread::sleep(Duration::from_secs(3));
            loghaul_testkit::rabbitmqctl(&["start_app"]);
            loghaul_testkit::rabbitmqctl(&["await_startup"]);
            println!(
                "{:>5.1} s: broker start_app",
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!("{:>5.1} s: S3 down", started.elapsed().as_secs_f64());
    s3.stop();
    std::thread::sleep(Duration::from_secs(5));
    s3.restart();
    println!("{:>5.1} s: S3 back", started.elapsed().as_secs_f64());
    for writer in writers {
        writer.join().expect("writer");
    }
    let total = u64::from(HOSTS * LINES_PER_HOST);
    println!(
        "{:>5.1} s: {total} lines written",
        started.elapsed().as_secs_f64()
    );

    // Everything searchable, then every rotated file archived.
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        for component in &mut components {
            component.assert_running();
        }
        // The indexer made its API token in its data directory.
        loghaul_testkit::remember_api_token(api, &dir.path().join("index"));
        let count = loghaul_testkit::api_count(api, "marker");
        if count == Some(total) {
            break;
        }
        if Instant::now() >= deadline {
            let logs: Vec<String> = components
                .iter()
                .map(|component| {
                    let text = std::fs::read_to_string(&component.log).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(15).collect();
                    format!(
                        "--- {}:\n{}",
                        component.name,
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    )
                })
                .collect();
            panic!(
                "stuck at {count:?} of {total} searchable\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    println!("{:>5.1} s: all searchable", started.elapsed().as_secs_f64());
    let seen = loghaul_testkit::numbers_on_the_index(api, "marker");
    let mut missing = Vec::new();
    for host in 0..HOSTS {
        for n in 0..LINES_PER_HOST {
            if !seen.contains_key(&number(host, n)) {
                missing.push(number(host, n));
            }
        }
    }
    let duplicates: u32 = seen.values().map(|count| count - 1).sum();

    let rotated_files: Vec<PathBuf> = logs.iter().flat_map(|log_dir| rotated(log_dir)).collect();
    let mut digests: HashMap<String, PathBuf> = HashMap::new();
    for path in &rotated_files {
        let digest = loghaul_archive::digest_file(path).await.expect("digest");
        digests.insert(digest.sha256, path.clone());
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut archived: HashMap<String, String> = HashMap::new();
    let unarchived = loop {
        let objects = loghaul_archive::catalog::only_objects(bucket.list("").await.expect("list"));
        for object in &objects {
            if let Some(info) = bucket.head(&object.key).await.expect("head")
                && let Some(sha256) = info.metadata.get("sha256")
            {
                archived.insert(sha256.clone(), object.key.clone());
            }
        }
        let left = digests
            .keys()
            .filter(|sha256| !archived.contains_key(*sha256))
            .count();
        if left == 0 || Instant::now() >= deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    // Byte for byte: each rotated file against its object, gunzipped.
    let mut different = Vec::new();
    for (sha256, path) in &digests {
        let Some(key) = archived.get(sha256) else {
            continue;
        };
        let mut compressed = Vec::new();
        use tokio::io::AsyncReadExt;
        bucket
            .get(key)
            .await
            .expect("get")
            .read_to_end(&mut compressed)
            .await
            .expect("read");
        if loghaul_testkit::gunzip(&compressed) != std::fs::read(path).expect("rotated file") {
            different.push(path.clone());
        }
    }
    println!(
        "fault run (seed {seed}): {total} lines from {HOSTS} hosts, 6 SIGKILLs, a broker restart and an S3 outage: \
         {} missing, {duplicates} duplicates; {} rotated files, {unarchived} not archived; {:.1} s",
        missing.len(),
        rotated_files.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        missing.is_empty(),
        "missing {}: first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(duplicates, 0, "duplicates in the index");
    assert!(
        rotated_files.len() >= HOSTS as usize,
        "the shippers rotated"
    );
    assert_eq!(unarchived, 0, "every rotated file archived");
    assert!(
        different.is_empty(),
        "archived but not byte for byte: {different:?}"
    );

    for component in &mut components {
        component.stop();
    }
    let broker = loghaul_queue::AmqpBroker::new(
        &loghaul_testkit::amqp_url(),
        loghaul_queue::QueueSettings::with_prefix(prefix),
    );
    use loghaul_queue::Broker;
    broker.delete_topology().await.expect("cleanup");
}
