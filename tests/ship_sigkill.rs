//! `loghaul ship` killed with SIGKILL again and again while 200,000 numbered
//! lines are written into 4 files with rotations: after a final clean run,
//! every number is on the real RabbitMQ. Duplicates are allowed (the
//! indexer removes them by event id); they are counted and printed.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use loghaul_model::codec;
use loghaul_queue::{AmqpBroker, Broker, QueueSettings, Route};

const TOTAL: u32 = 200_000;
const FILES: u32 = 4;
const ROTATE_EVERY: u32 = 10_000;
const KILLS: u32 = 12;

struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn start_shipper(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["ship", "-c"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("loghaul ship starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_no_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let prefix = loghaul_queue::contract::unique_prefix("sigkill");
    let config_path = dir.path().join("loghaul.toml");
    std::fs::write(
        &config_path,
        format!(
            "data_dir = \"{data}\"\nhost = \"kill-test\"\n[queue]\nkind = \"amqp\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\n\
             [[shipper.sources]]\nname = \"app\"\npaths = [\"{logs}/*.log\"]\n[shipper.batch]\nmax_wait = \"50ms\"\n",
            data = dir.path().join("data").display(),
            url = loghaul_testkit::amqp_url(),
            logs = logs.display(),
        ),
    )
    .expect("config");
    let config = loghaul_config::load_file(&config_path).expect("valid config");
    let broker = AmqpBroker::new(
        config.queue.url.expose(),
        QueueSettings::from_config(&config.queue),
    );
    let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");

    // The writer: numbered lines round-robin into a.log..d.log, each renamed
    // to NAME.log.N (outside the glob) every ROTATE_EVERY of its lines.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (logs, writing) = (logs.clone(), writing.clone());
        std::thread::spawn(move || {
            let names = ["a", "b", "c", "d"];
            let mut written = [0u32; FILES as usize];
            let mut rotations = [0u32; FILES as usize];
            for chunk_start in (0..TOTAL).step_by(400) {
                for n in chunk_start..chunk_start + 400 {
                    let index = (n % FILES) as usize;
                    let path = logs.join(format!("{}.log", names[index]));
                    let mut file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .expect("open");
                    writeln!(file, "{n} the quick brown fox jumps over the lazy dog")
                        .expect("write");
                    written[index] += 1;
                    if written[index] % ROTATE_EVERY == 0 {
                        rotations[index] += 1;
                        let rotated =
                            logs.join(format!("{}.log.{}", names[index], rotations[index]));
                        std::fs::rename(&path, rotated).expect("rotate");
                    }
                }
                std::thread::sleep(Duration::from_millis(8));
            }
            writing.store(false, Ordering::SeqCst);
        })
    };

    // The consumer counts every number it sees.
    let counting = tokio::spawn(async move {
        let mut seen: HashMap<u32, u32> = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(240);
        while seen.len() < TOTAL as usize && Instant::now() < deadline {
            let Ok(delivery) = tokio::time::timeout(Duration::from_secs(5), consumer.next()).await
            else {
                continue;
            };
            let delivery = delivery.expect("delivery");
            let batch = codec::decode_raw_batch(&delivery.payload).expect("a RawBatch");
            for record in &batch.records {
                let text = String::from_utf8_lossy(&record.bytes);
                let number: u32 = text
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("numbered line");
                *seen.entry(number).or_default() += 1;
            }
            consumer.ack(&[delivery.tag]).await.expect("ack");
        }
        drop(consumer);
        seen
    });

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut kills = 0;
    while kills < KILLS || writing.load(Ordering::SeqCst) {
        let mut child = start_shipper(&config_path);
        tokio::time::sleep(Duration::from_millis(200 + rng.next(900))).await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        kills += 1;
    }
    writer.join().expect("writer");

    // A final clean run ships the rest, then drains on SIGTERM.
    let mut last = start_shipper(&config_path);
    let seen = counting.await.expect("consumer task");
    // Let the final run start and catch up before asking it to stop.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Command::new("kill")
        .args(["-TERM", &last.id().to_string()])
        .status()
        .expect("kill -TERM");
    let status = last.wait().expect("final run exits");

    let missing: Vec<u32> = (0..TOTAL).filter(|n| !seen.contains_key(n)).collect();
    let duplicates: u32 = seen.values().map(|count| count - 1).sum();
    println!(
        "sigkill test (seed {seed}): {kills} kills, {TOTAL} lines in {FILES} files rotated every {ROTATE_EVERY}: \
         {} missing, {duplicates} duplicates",
        missing.len()
    );
    broker.delete_topology().await.expect("cleanup");
    assert!(
        missing.is_empty(),
        "missing {} lines, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        status.success(),
        "the final clean run exits 0 on SIGTERM: {status:?}"
    );
}
