//! queue-stores: loghaul's disk queue (`DiskBroker`, through its public
//! Broker/Publisher/Consumer API) against redb and fjall on one durable-queue
//! workload. See README.md for what is measured and how to run it.
//!
//! The driver (no arguments, or options) runs a `dd oflag=dsync` baseline,
//! then for each run, store and message size re-executes itself as
//! `queue-stores child STORE SIZE DIR`, so that CPU time and peak RSS are
//! those of one store alone. A child prints `RESULT` and `DISK` lines of
//! `key=value` fields; the driver prints them as tables.

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use loghaul_queue::{
    AckTag, Broker, Bytes, Consumer, DiskBroker, Message, Publisher, QueueSettings, Route,
};

type BoxError = Box<dyn Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;

const MIB: f64 = (1u64 << 20) as f64;
/// Distinct payloads per size; message `n` carries payload `n % POOL`.
const POOL: usize = 32;
/// Deliveries read before one ack (segment log), delete transaction (redb)
/// or write batch of removes (fjall).
const ACK_BATCH: usize = 256;

/// One message size of the workload.
#[derive(Clone, Copy, Debug)]
struct Size {
    name: &'static str,
    message_bytes: usize,
    total_bytes: u64,
}

const SIZES: [Size; 2] = [
    Size {
        name: "256KiB",
        message_bytes: 256 << 10,
        total_bytes: 512 << 20,
    },
    Size {
        name: "4KiB",
        message_bytes: 4 << 10,
        total_bytes: 64 << 20,
    },
];

impl Size {
    fn count(&self) -> u64 {
        self.total_bytes / self.message_bytes as u64
    }

    fn by_name(name: &str) -> Result<Size> {
        SIZES
            .iter()
            .copied()
            .find(|size| size.name == name)
            .ok_or_else(|| format!("unknown size {name}").into())
    }
}

const STORES: [&str; 4] = ["segment", "redb", "fjall", "fjall-nolz4"];

// ---------------------------------------------------------------- payloads

/// A deterministic generator (splitmix64), so every run writes the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

const PATHS: [&str; 8] = [
    "/api/v1/items/",
    "/api/v1/users/",
    "/static/js/app.",
    "/search?q=term",
    "/checkout/cart/",
    "/images/thumb/",
    "/healthz?probe=",
    "/api/v2/orders/",
];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "curl/8.5.0",
    "Go-http-client/1.1",
];
const STATUSES: [u16; 6] = [200, 200, 200, 304, 404, 502];
const METHODS: [&str; 3] = ["GET", "GET", "POST"];

/// `bytes` of nginx combined-format lines with varying addresses, times,
/// paths, statuses and sizes; the last line is cut to fit.
fn log_payload(rng: &mut Rng, bytes: usize) -> Vec<u8> {
    let mut text = String::with_capacity(bytes + 512);
    let mut second = rng.below(86_400);
    while text.len() < bytes {
        second += rng.below(3);
        let _ = writeln!(
            text,
            "{}.{}.{}.{} - - [14/Mar/2025:{:02}:{:02}:{:02} +0000] \"{} {}{} HTTP/1.1\" {} {} \"https://shop.example.com/p/{}\" \"{}\"",
            rng.below(223) + 1,
            rng.below(256),
            rng.below(256),
            rng.below(254) + 1,
            (second / 3600) % 24,
            (second / 60) % 60,
            second % 60,
            METHODS[rng.below(METHODS.len() as u64) as usize],
            PATHS[rng.below(PATHS.len() as u64) as usize],
            rng.below(1_000_000),
            STATUSES[rng.below(STATUSES.len() as u64) as usize],
            rng.below(200_000),
            rng.below(10_000),
            AGENTS[rng.below(AGENTS.len() as u64) as usize],
        );
    }
    let mut out = text.into_bytes();
    out.truncate(bytes);
    out
}

fn payload_pool(size: Size) -> Vec<Bytes> {
    let mut rng = Rng(size.message_bytes as u64);
    (0..POOL)
        .map(|_| Bytes::from(log_payload(&mut rng, size.message_bytes)))
        .collect()
}

// ------------------------------------------------------------------ stores

/// The work one store does for the workload.
trait Store {
    /// Stores message `sequence`; durable on disk when this returns.
    fn publish(&mut self, sequence: u64, payload: &Bytes) -> Result<()>;
    /// Waits for background work (flushes, compactions) to finish.
    fn settle(&mut self) -> Result<()> {
        Ok(())
    }
    /// Reads the next `count` messages in order, passing each to `check`,
    /// then acknowledges (deletes) them all at once.
    fn consume(
        &mut self,
        count: usize,
        check: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()>;
}

/// loghaul's `DiskBroker`, driven as the pipeline drives it.
struct SegmentLog {
    runtime: tokio::runtime::Runtime,
    // Dropped before the broker (fields drop in declaration order).
    publisher: Box<dyn Publisher>,
    consumer: Option<Box<dyn Consumer>>,
    broker: DiskBroker,
    consumed: u64,
}

impl SegmentLog {
    fn open(dir: &Path) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let mut settings = QueueSettings::with_prefix("bench");
        settings.shards = 1;
        settings.prefetch = ACK_BATCH as u16;
        // Three queues (raw, dead, events.0) share the bound: far above
        // the workload, so no publish is refused as full.
        let broker = DiskBroker::open(dir, settings, 64 << 30)?;
        let publisher = runtime.block_on(broker.publisher())?;
        Ok(SegmentLog {
            runtime,
            publisher,
            consumer: None,
            broker,
            consumed: 0,
        })
    }
}

impl Store for SegmentLog {
    fn publish(&mut self, _sequence: u64, payload: &Bytes) -> Result<()> {
        let batch = [Message::new(payload.clone())];
        self.runtime
            .block_on(self.publisher.publish(Route::Raw, &batch))?;
        Ok(())
    }

    fn consume(
        &mut self,
        count: usize,
        check: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        if self.consumer.is_none() {
            let consumer = self.runtime.block_on(self.broker.consumer(Route::Raw))?;
            self.consumer = Some(consumer);
        }
        let consumer = self.consumer.as_mut().ok_or("no consumer")?;
        let consumed = &mut self.consumed;
        self.runtime.block_on(async {
            let mut tags: Vec<AckTag> = Vec::with_capacity(count);
            for _ in 0..count {
                let delivery = consumer.next().await?;
                // The queue keeps no sequence in the delivery: its order is
                // checked against the order of publishing.
                check(*consumed, &delivery.payload)?;
                *consumed += 1;
                tags.push(delivery.tag);
            }
            consumer.ack(&tags).await?;
            Ok(())
        })
    }
}

const REDB_TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("queue");

/// redb with its defaults; one write transaction per publish.
struct Redb {
    db: redb::Database,
    next: u64,
}

impl Redb {
    fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let db = redb::Database::create(dir.join("queue.redb"))?;
        Ok(Redb { db, next: 0 })
    }
}

impl Store for Redb {
    fn publish(&mut self, sequence: u64, payload: &Bytes) -> Result<()> {
        let mut transaction = self.db.begin_write()?;
        transaction.set_durability(redb::Durability::Immediate)?;
        {
            let mut table = transaction.open_table(REDB_TABLE)?;
            table.insert(sequence.to_be_bytes().as_slice(), payload.as_ref())?;
        }
        transaction.commit()?;
        Ok(())
    }

    fn consume(
        &mut self,
        count: usize,
        check: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        use redb::ReadableDatabase;
        let mut sequences = Vec::with_capacity(count);
        {
            let transaction = self.db.begin_read()?;
            let table = transaction.open_table(REDB_TABLE)?;
            let start = self.next.to_be_bytes();
            for entry in table.range::<&[u8]>(start.as_slice()..)?.take(count) {
                let (key, value) = entry?;
                let sequence = u64::from_be_bytes(key.value().try_into()?);
                // A delivery owns its payload, as the segment log's does.
                let payload = value.value().to_vec();
                check(sequence, &payload)?;
                sequences.push(sequence);
            }
        }
        if sequences.len() != count {
            return Err(format!("redb: {} of {count} messages", sequences.len()).into());
        }
        let mut transaction = self.db.begin_write()?;
        transaction.set_durability(redb::Durability::Immediate)?;
        {
            let mut table = transaction.open_table(REDB_TABLE)?;
            for sequence in &sequences {
                table.remove(sequence.to_be_bytes().as_slice())?;
            }
        }
        transaction.commit()?;
        self.next = sequences.last().map_or(self.next, |last| last + 1);
        Ok(())
    }
}

/// fjall; `compress` false turns off its default LZ4 of journal values
/// (>= 4 KiB) and of data blocks.
struct Fjall {
    db: fjall::Database,
    keyspace: fjall::Keyspace,
    next: u64,
}

impl Fjall {
    fn open(dir: &Path, compress: bool) -> Result<Self> {
        let mut builder = fjall::Database::builder(dir);
        if !compress {
            builder = builder.journal_compression(fjall::CompressionType::None);
        }
        let db = builder.open()?;
        let keyspace = db.keyspace("queue", || {
            let options = fjall::KeyspaceCreateOptions::default();
            if compress {
                options
            } else {
                options.data_block_compression_policy(fjall::config::CompressionPolicy::all(
                    fjall::CompressionType::None,
                ))
            }
        })?;
        Ok(Fjall {
            db,
            keyspace,
            next: 0,
        })
    }
}

impl Store for Fjall {
    fn publish(&mut self, sequence: u64, payload: &Bytes) -> Result<()> {
        self.keyspace
            .insert(sequence.to_be_bytes(), payload.as_ref())?;
        self.db.persist(fjall::PersistMode::SyncData)?;
        Ok(())
    }

    fn settle(&mut self) -> Result<()> {
        // Flushes and compactions run on fjall's own threads; wait until
        // none is queued or running for a few polls in a row.
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut quiet = 0;
        while quiet < 5 {
            if Instant::now() > deadline {
                return Err("fjall: background work did not finish in 300 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
            if self.db.outstanding_flushes() == 0 && self.db.active_compactions() == 0 {
                quiet += 1;
            } else {
                quiet = 0;
            }
        }
        Ok(())
    }

    fn consume(
        &mut self,
        count: usize,
        check: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut batch = self.db.batch();
        let mut last = None;
        let mut taken = 0;
        for guard in self.keyspace.range(self.next.to_be_bytes()..).take(count) {
            let (key, value) = guard.into_inner()?;
            let sequence = u64::from_be_bytes(key.as_ref().try_into()?);
            check(sequence, &value)?;
            batch.remove(&self.keyspace, key);
            last = Some(sequence);
            taken += 1;
        }
        if taken != count {
            return Err(format!("fjall: {taken} of {count} messages").into());
        }
        // Written to the OS (PersistMode::Buffer, the default of
        // `Database::batch`), not fsynced: like the segment log's acks.
        batch.commit()?;
        self.next = last.map_or(self.next, |last| last + 1);
        Ok(())
    }
}

fn open_store(name: &str, dir: &Path) -> Result<Box<dyn Store>> {
    Ok(match name {
        "segment" => Box::new(SegmentLog::open(dir)?),
        "redb" => Box::new(Redb::open(dir)?),
        "fjall" => Box::new(Fjall::open(dir, true)?),
        "fjall-nolz4" => Box::new(Fjall::open(dir, false)?),
        other => return Err(format!("unknown store {other}").into()),
    })
}

// ---------------------------------------------------------------- measures

#[derive(Clone, Copy)]
struct Cpu {
    user: f64,
    system: f64,
}

/// CPU time of this process, every thread included (getrusage RUSAGE_SELF).
fn cpu() -> Cpu {
    // SAFETY: an all-zero `rusage` is a valid value of that plain C struct,
    // and getrusage only writes one into the pointer it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    Cpu {
        user: seconds(usage.ru_utime),
        system: seconds(usage.ru_stime),
    }
}

/// A field of /proc/self/status in KiB (VmRSS, VmHWM).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)?
                    .strip_prefix(':')?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// A field of /proc/self/io in bytes (read_bytes, write_bytes: what this
/// process, all its threads, had read from or sent to the block layer).
fn io_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines().find_map(|line| {
                line.strip_prefix(field)?
                    .strip_prefix(':')?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux: `5` into clear_refs).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// (allocated bytes, apparent bytes) of every file under `dir`.
fn disk_usage(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut allocated = 0;
    let mut apparent = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.path().symlink_metadata() else {
                continue;
            };
            if metadata.is_dir() {
                pending.push(entry.path());
            } else {
                allocated += metadata.blocks() * 512;
                apparent += metadata.len();
            }
        }
    }
    (allocated, apparent)
}

struct Phase {
    started: Instant,
    cpu: Cpu,
    rss_kib: u64,
    peak_reset: bool,
    read_bytes: u64,
    write_bytes: u64,
}

impl Phase {
    fn start() -> Phase {
        let rss_kib = status_kib("VmRSS");
        let peak_reset = reset_peak_rss();
        Phase {
            read_bytes: io_bytes("read_bytes"),
            write_bytes: io_bytes("write_bytes"),
            started: Instant::now(),
            cpu: cpu(),
            rss_kib,
            peak_reset,
        }
    }

    /// One `RESULT` line.
    fn finish(self, phase: &str, messages: u64, bytes: u64) -> String {
        let wall = self.started.elapsed().as_secs_f64();
        let now = cpu();
        let peak = if self.peak_reset {
            status_kib("VmHWM").to_string()
        } else {
            "-".to_owned()
        };
        format!(
            "RESULT\tphase={phase}\tmessages={messages}\tbytes={bytes}\twall={wall:.4}\tuser={:.4}\tsystem={:.4}\trss_before_kib={}\tpeak_kib={peak}\tdisk_read={}\tdisk_written={}",
            now.user - self.cpu.user,
            now.system - self.cpu.system,
            self.rss_kib,
            io_bytes("read_bytes").saturating_sub(self.read_bytes),
            io_bytes("write_bytes").saturating_sub(self.write_bytes),
        )
    }
}

#[allow(clippy::print_stdout)]
fn child(store_name: &str, size_name: &str, dir: &Path) -> Result<()> {
    let size = Size::by_name(size_name)?;
    let pool = payload_pool(size);
    let count = size.count();
    let mut lines = Vec::new();

    let phase = Phase::start();
    let mut store = open_store(store_name, dir)?;
    lines.push(phase.finish("open", 0, 0));

    let phase = Phase::start();
    for sequence in 0..count {
        store.publish(sequence, &pool[sequence as usize % POOL])?;
    }
    lines.push(phase.finish("publish", count, size.total_bytes));

    let phase = Phase::start();
    store.settle()?;
    lines.push(phase.finish("settle-publish", 0, 0));
    let (allocated, apparent) = disk_usage(dir);
    lines.push(format!(
        "DISK\twhen=after-publish\tallocated={allocated}\tapparent={apparent}\tpayload={}",
        size.total_bytes
    ));

    let mut check = |sequence: u64, payload: &[u8]| -> Result<()> {
        if payload != &pool[sequence as usize % POOL][..] {
            return Err(format!("message {sequence}: wrong payload").into());
        }
        Ok(())
    };
    let phase = Phase::start();
    let mut left = count;
    while left > 0 {
        let take = left.min(ACK_BATCH as u64);
        store.consume(take as usize, &mut check)?;
        left -= take;
    }
    lines.push(phase.finish("consume", count, size.total_bytes));

    let phase = Phase::start();
    store.settle()?;
    lines.push(phase.finish("settle-consume", 0, 0));
    let (allocated, apparent) = disk_usage(dir);
    lines.push(format!(
        "DISK\twhen=after-consume\tallocated={allocated}\tapparent={apparent}\tpayload={}",
        size.total_bytes
    ));
    drop(store);
    // Some stores give space back only when closed (redb trims its file).
    let (allocated, apparent) = disk_usage(dir);
    lines.push(format!(
        "DISK\twhen=after-close\tallocated={allocated}\tapparent={apparent}\tpayload={}",
        size.total_bytes
    ));
    // VmHWM was reset at each phase: the process peak is the largest seen.
    let peak = lines
        .iter()
        .filter_map(|line| {
            line.split_once("peak_kib=")?
                .1
                .split('\t')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .chain([status_kib("VmHWM")])
        .max()
        .unwrap_or(0);
    lines.push(format!("PEAK\tprocess_hwm_kib={peak}"));
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

// ------------------------------------------------------------------ driver

struct Options {
    dir: PathBuf,
    runs: usize,
    stores: Vec<String>,
    dd: bool,
}

fn parse_options(mut args: impl Iterator<Item = String>) -> Result<Options> {
    let mut options = Options {
        dir: std::env::temp_dir(),
        runs: 2,
        stores: STORES.iter().map(|name| name.to_string()).collect(),
        dd: true,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--dir" => options.dir = PathBuf::from(value()?),
            "--runs" => options.runs = value()?.parse()?,
            "--stores" => {
                options.stores = value()?.split(',').map(str::to_owned).collect();
                if let Some(bad) = options
                    .stores
                    .iter()
                    .find(|store| !STORES.contains(&store.as_str()))
                {
                    return Err(format!("unknown store {bad} (known: {STORES:?})").into());
                }
            }
            "--no-dd" => options.dd = false,
            "-h" | "--help" => {
                return Err(format!(
                    "usage: queue-stores [--dir DIR] [--runs N] [--stores {}] [--no-dd]",
                    STORES.join(",")
                )
                .into());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(options)
}

/// The file system type of the mount that holds `dir`.
fn file_system(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut best: Option<(usize, String)> = None;
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let (Some(mount), Some(dash)) = (fields.get(4), fields.iter().position(|f| *f == "-"))
        else {
            continue;
        };
        let kind = fields.get(dash + 1).copied().unwrap_or("?");
        let source = fields.get(dash + 2).copied().unwrap_or("?");
        if dir.starts_with(mount) && best.as_ref().is_none_or(|(len, _)| mount.len() >= *len) {
            best = Some((mount.len(), format!("{kind} ({source} on {mount})")));
        }
    }
    best.map_or_else(|| "unknown".to_owned(), |(_, text)| text)
}

/// `dd if=/dev/zero bs=BS count=N oflag=dsync` into `dir`: dd's summary line.
fn dd(dir: &Path, block: &str, count: u64) -> String {
    let file = dir.join("dd.bin");
    let output = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", file.display()))
        .arg(format!("bs={block}"))
        .arg(format!("count={count}"))
        .arg("oflag=dsync")
        .output();
    let _ = std::fs::remove_file(&file);
    match output {
        Ok(output) => String::from_utf8_lossy(&output.stderr)
            .lines()
            .rfind(|line| !line.trim().is_empty())
            .unwrap_or("(no output)")
            .to_owned(),
        Err(error) => format!("dd failed to start: {error}"),
    }
}

type Fields = HashMap<String, String>;

struct ChildReport {
    results: HashMap<String, Fields>,
    disk: HashMap<String, Fields>,
    process_hwm_kib: u64,
}

fn parse_child(stdout: &str) -> ChildReport {
    let mut report = ChildReport {
        results: HashMap::new(),
        disk: HashMap::new(),
        process_hwm_kib: 0,
    };
    for line in stdout.lines() {
        let mut parts = line.split('\t');
        let kind = parts.next().unwrap_or("");
        let fields: Fields = parts
            .filter_map(|part| part.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        match kind {
            "RESULT" => {
                let phase = fields.get("phase").cloned().unwrap_or_default();
                report.results.insert(phase, fields);
            }
            "DISK" => {
                let when = fields.get("when").cloned().unwrap_or_default();
                report.disk.insert(when, fields);
            }
            "PEAK" => {
                report.process_hwm_kib = fields
                    .get("process_hwm_kib")
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(0);
            }
            _ => {}
        }
    }
    report
}

fn number(fields: &Fields, key: &str) -> f64 {
    fields
        .get(key)
        .and_then(|value| value.parse().ok())
        .unwrap_or(f64::NAN)
}

fn run_child(store: &str, size: Size, dir: &Path) -> Result<ChildReport> {
    let output = Command::new(std::env::current_exe()?)
        .arg("child")
        .arg(store)
        .arg(size.name)
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("{store} {}: child failed ({})", size.name, output.status).into());
    }
    Ok(parse_child(&String::from_utf8_lossy(&output.stdout)))
}

#[allow(clippy::print_stdout)]
fn print_run(run: usize, order: &[String], reports: &[(String, Size, ChildReport)]) {
    println!();
    println!("== run {run} (store order: {}) ==", order.join(", "));
    println!(
        "{:<12} {:>7} {:<15} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}",
        "store",
        "msg",
        "phase",
        "wall s",
        "MiB/s",
        "msgs/s",
        "user s",
        "sys s",
        "CPU s",
        "peak+ MiB",
        "wrote MiB",
        "read MiB"
    );
    for (store, size, report) in reports {
        for phase in [
            "open",
            "publish",
            "settle-publish",
            "consume",
            "settle-consume",
        ] {
            let Some(fields) = report.results.get(phase) else {
                continue;
            };
            let wall = number(fields, "wall");
            let bytes = number(fields, "bytes");
            let messages = number(fields, "messages");
            let user = number(fields, "user");
            let system = number(fields, "system");
            let rate = |amount: f64| {
                if amount > 0.0 {
                    format!("{:.1}", amount / wall)
                } else {
                    "-".to_owned()
                }
            };
            let peak = match fields.get("peak_kib").map(String::as_str) {
                Some("-") | None => "-".to_owned(),
                Some(_) => format!(
                    "{:.1}",
                    ((number(fields, "peak_kib") - number(fields, "rss_before_kib")) / 1024.0)
                        .max(0.0)
                ),
            };
            println!(
                "{:<12} {:>7} {:<15} {:>8.3} {:>9} {:>9} {:>8.3} {:>8.3} {:>8.3} {:>10} {:>10.1} {:>10.1}",
                store,
                size.name,
                phase,
                wall,
                rate(bytes / MIB),
                rate(messages),
                user,
                system,
                user + system,
                peak,
                number(fields, "disk_written") / MIB,
                number(fields, "disk_read") / MIB
            );
        }
    }
    println!();
    println!(
        "{:<12} {:>7} {:>11} {:>13} {:>9} {:>13} {:>14} {:>15} {:>13}",
        "store",
        "msg",
        "payload MiB",
        "disk pub MiB",
        "disk/pay",
        "apparent MiB",
        "disk cons MiB",
        "disk close MiB",
        "proc HWM MiB"
    );
    for (store, size, report) in reports {
        let publish = report.disk.get("after-publish");
        let consume = report.disk.get("after-consume");
        let close = report.disk.get("after-close");
        let get = |fields: Option<&Fields>, key: &str| fields.map_or(f64::NAN, |f| number(f, key));
        let payload = size.total_bytes as f64;
        println!(
            "{:<12} {:>7} {:>11.1} {:>13.1} {:>9.3} {:>13.1} {:>14.1} {:>15.1} {:>13.1}",
            store,
            size.name,
            payload / MIB,
            get(publish, "allocated") / MIB,
            get(publish, "allocated") / payload,
            get(publish, "apparent") / MIB,
            get(consume, "allocated") / MIB,
            get(close, "allocated") / MIB,
            report.process_hwm_kib as f64 / 1024.0
        );
    }
}

#[allow(clippy::print_stdout)]
fn driver(options: Options) -> Result<()> {
    std::fs::create_dir_all(&options.dir)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let base = options
        .dir
        .join(format!("queue-stores-{}-{stamp}", std::process::id()));
    std::fs::create_dir(&base)?;
    println!("directory: {}", base.display());
    println!("file system: {}", file_system(&base));
    println!(
        "workload: {}; durable per publish, batch of 1; consume in order, ack/delete every {ACK_BATCH}",
        SIZES
            .iter()
            .map(|size| format!(
                "{} MiB of {} messages ({})",
                size.total_bytes >> 20,
                size.name,
                size.count()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut failures = 0;
    for run in 1..=options.runs {
        if options.dd {
            // The disk's raw fsync'd write rate, just before the run.
            println!();
            println!(
                "run {run}: dd bs=256K count=2048 oflag=dsync: {}",
                dd(&base, "256K", 2048)
            );
            println!(
                "run {run}: dd bs=4K count=16384 oflag=dsync: {}",
                dd(&base, "4K", 16384)
            );
        }
        // Each run starts with another store, so no store is always first.
        let mut order = options.stores.clone();
        let shift = (run - 1) % order.len().max(1);
        order.rotate_left(shift);
        let mut reports = Vec::new();
        for store in &order {
            for size in SIZES {
                let dir = base.join(format!("run{run}-{store}-{}", size.name));
                match run_child(store, size, &dir) {
                    Ok(report) => reports.push((store.clone(), size, report)),
                    Err(error) => {
                        eprintln!("{error}");
                        failures += 1;
                    }
                }
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        print_run(run, &order, &reports);
    }
    let _ = std::fs::remove_dir_all(&base);
    if failures > 0 {
        return Err(format!("{failures} store runs failed").into());
    }
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("child") {
        args.next();
        let store = args.next().ok_or("child: store?")?;
        let size = args.next().ok_or("child: size?")?;
        let dir = PathBuf::from(args.next().ok_or("child: dir?")?);
        return child(&store, &size, &dir);
    }
    driver(parse_options(args)?)
}
