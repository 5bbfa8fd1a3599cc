//! `loghaul bench index`: indexing throughput with one and two threads,
//! freshness, and query latency, beside `rg` over the same raw text, all
//! measured in the same run.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use loghaul_config::ParserConfig;
use loghaul_indexer::search::{SearchRequest, Searcher};
use loghaul_indexer::store::ShardStore;
use loghaul_model::{Event, EventBatch, EventId, FileIdentity, RawBatch, RawRecord};
use loghaul_parser::Parser;
use serde_json::json;

use super::disk_bytes;
use super::parse::{Rng, line};

pub(crate) const INDEX_HELP: &str = "\
Builds --events events from realistic lines (log4j, combined access and JSON
application logs, parsed by loghaul's parser), then measures:
  index, 1 thread / 2 threads   add + commit every --commit-docs (default 100,000,
                                as indexer.commit_docs) documents, as
                                `loghaul index` does: MiB/s of raw
                                line text, documents/s, and the index's
                                size on disk (MiB and bytes per event)
  plain tantivy                 the baseline: the same events into a bare
                                tantivy index (time, level, message; one
                                thread, same heap and commits), and our one
                                thread's time as a multiple of it
  gzip -6                       the raw text's size gzipped, beside the
                                index sizes
  largest parts                 where the 2-thread index's bytes go, by field
                                and part: terms, postings, positions, fast
                                columns, fieldnorms, the doc store
  freshness                     an event added while indexing runs at about
                                20,000 events/s with 1 s commits, until a
                                separate searcher finds it: p50 and p99
  query latency                 on the 2-thread index: a term, a phrase, a field
                                filter with a one-hour range, one event by its
                                id, and a histogram of the whole range; p50
                                and p99 of --queries runs
  rg                            `rg -c` for the same term and phrase over the raw
                                text file, same run
Nothing is asserted; figures only. The data directory is a temporary one
unless --dir is given.

Examples:
  loghaul bench index --events 10M
  loghaul bench index --events 200k --json";

#[derive(clap::Args, Debug)]
pub(crate) struct BenchIndexArgs {
    /// How many events (k and M suffixes allowed).
    #[arg(long, default_value = "10M", value_parser = parse_count)]
    events: u64,
    /// Runs of each query.
    #[arg(long, default_value_t = 50)]
    queries: usize,
    /// Probe events for freshness.
    #[arg(long, default_value_t = 60)]
    probes: usize,
    /// Commit every N documents while indexing (indexer.commit_docs).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    commit_docs: u64,
    /// Work in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_count(text: &str) -> Result<u64, String> {
    let (digits, scale) = match text.chars().last() {
        Some('k' | 'K') => (&text[..text.len() - 1], 1_000),
        Some('M' | 'm') => (&text[..text.len() - 1], 1_000_000),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .map(|count| count * scale)
        .ok()
        .filter(|count| *count > 0)
        .ok_or_else(|| format!("{text:?} is not a count like 200k or 10M"))
}

/// 2026-11-22T00:00:00Z.
const BASE: i64 = 1_795_305_600_000_000_000;

/// Events parsed once from generated lines, reused with new places and times.
struct Templates {
    events: Vec<Event>,
    lines: Vec<String>,
}

fn templates() -> anyhow::Result<Templates> {
    let mut parser = Parser::new(&ParserConfig::default()).map_err(anyhow::Error::msg)?;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut events = Vec::new();
    let mut lines = Vec::new();
    for (format, count) in [("log4j", 25_000u64), ("combined", 15_000), ("json", 10_000)] {
        let mut records = Vec::new();
        for index in 0..count {
            let text = line(format, &mut rng, index);
            records.push(RawRecord::new(index * 300, text.clone().into_bytes()));
            lines.push(text);
        }
        let batch = RawBatch {
            host: "bench".into(),
            source: format!("/var/log/{format}.log"),
            file: FileIdentity {
                device: 1,
                inode: 1,
                fingerprint: 1,
            },
            format_hint: Some(format.into()),
            records,
            read_time_unix_nano: BASE,
            timezone: Some("UTC".into()),
            service: Some("bench".into()),
            source_name: None,
        };
        events.extend(parser.parse_batch(&batch));
    }
    // Interleave the formats, as several services' logs would be.
    let mut order: Vec<usize> = (0..events.len()).collect();
    for index in (1..order.len()).rev() {
        order.swap(index, rng.below(index as u64 + 1) as usize);
    }
    Ok(Templates {
        events: order.iter().map(|&index| events[index].clone()).collect(),
        lines: order.iter().map(|&index| lines[index].clone()).collect(),
    })
}

/// Event `index` of the run: a template with its own file place and time
/// (spread evenly over 48 hours).
fn event_at(templates: &Templates, index: u64, total: u64, files: u64) -> Event {
    let template = &templates.events[(index % templates.events.len() as u64) as usize];
    let file = FileIdentity {
        device: 7,
        inode: index % files,
        fingerprint: 11,
    };
    let offset = index / files * 300;
    let mut event = template.clone();
    event.file = file;
    event.offset = offset;
    event.id = EventId::new("bench", &file, offset);
    event.timestamp_unix_nano = BASE + (index as i128 * 172_800_000_000_000 / total as i128) as i64;
    event
}

struct IndexFigure {
    threads: usize,
    seconds: f64,
    events: u64,
    bytes: u64,
    /// The index's files after closing.
    disk_bytes: u64,
}

/// Where `index_run` sends the events: loghaul's shard store, or the
/// plain-tantivy baseline.
trait IndexSink {
    fn add(&mut self, events: Vec<Event>) -> anyhow::Result<()>;
    fn commit(&mut self) -> anyhow::Result<()>;
    fn close(self: Box<Self>) -> anyhow::Result<()>;
}

impl IndexSink for ShardStore {
    fn add(&mut self, events: Vec<Event>) -> anyhow::Result<()> {
        self.add_batch(&EventBatch { events })?;
        Ok(())
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        ShardStore::commit(self)?;
        Ok(())
    }

    fn close(self: Box<Self>) -> anyhow::Result<()> {
        ShardStore::close(*self)?;
        Ok(())
    }
}

/// The baseline: tantivy as its examples use it, with the least a log
/// search needs: the time (indexed, fast), the level (one token) and the
/// message (tokenized with positions, stored). Nothing else of the event.
struct PlainTantivy {
    writer: tantivy::IndexWriter,
    timestamp: tantivy::schema::Field,
    level: tantivy::schema::Field,
    body: tantivy::schema::Field,
}

impl PlainTantivy {
    fn create(dir: &Path, threads: usize) -> anyhow::Result<Self> {
        use tantivy::schema::{FAST, INDEXED, STORED, STRING, Schema, TEXT};
        let mut schema = Schema::builder();
        let timestamp = schema.add_i64_field("timestamp", INDEXED | FAST);
        let level = schema.add_text_field("level", STRING);
        let body = schema.add_text_field("body", TEXT | STORED);
        std::fs::create_dir_all(dir)?;
        let index = tantivy::Index::create_in_dir(dir, schema.build())?;
        Ok(Self {
            writer: index.writer_with_num_threads(threads, 256 << 20)?,
            timestamp,
            level,
            body,
        })
    }
}

impl IndexSink for PlainTantivy {
    fn add(&mut self, events: Vec<Event>) -> anyhow::Result<()> {
        for event in events {
            let mut document = tantivy::TantivyDocument::default();
            document.add_i64(self.timestamp, event.timestamp_unix_nano);
            if let Some(level) = &event.severity.text {
                document.add_text(self.level, level);
            }
            document.add_text(self.body, &event.body);
            self.writer.add_document(document)?;
        }
        Ok(())
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        self.writer.commit()?;
        Ok(())
    }

    fn close(self: Box<Self>) -> anyhow::Result<()> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}

/// The parts of a tantivy index on disk, for the breakdown.
const PARTS: [&str; 6] = [
    "terms",
    "postings",
    "positions",
    "fast",
    "fieldnorms",
    "store",
];

/// Bytes by (field, part) over every tantivy index under `dir` (a shard
/// store holds one per day), largest first. The doc store is one entry,
/// `(stored fields, store)`; a JSON field's fast columns are named by
/// their paths (`attributes.url.original`).
pub(super) fn space_by_field(dir: &Path) -> anyhow::Result<Vec<(String, &'static str, u64)>> {
    let mut totals: std::collections::BTreeMap<(String, usize), u64> = Default::default();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        if dir.join("meta.json").exists() {
            let index = tantivy::Index::open_in_dir(&dir)?;
            let usage = index.reader()?.searcher().space_usage()?;
            for segment in usage.segments() {
                let parts = [
                    segment.termdict(),
                    segment.postings(),
                    segment.positions(),
                    segment.fast_fields(),
                    segment.fieldnorms(),
                ];
                for (part, per_field) in parts.into_iter().enumerate() {
                    for field in per_field.fields() {
                        let name = field.field_name().replace('\u{1}', ".");
                        *totals.entry((name, part)).or_default() += field.total().get_bytes();
                    }
                }
                *totals.entry(("stored fields".into(), 5)).or_default() +=
                    segment.store().total().get_bytes();
            }
            continue;
        }
        for entry in std::fs::read_dir(&dir)?.flatten() {
            if entry.file_type()?.is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    let mut rows: Vec<_> = totals
        .into_iter()
        .filter(|(_, bytes)| *bytes > 0)
        .map(|((field, part), bytes)| (field, PARTS[part], bytes))
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.2));
    Ok(rows)
}

fn index_run(
    dir: &Path,
    templates: &Templates,
    total: u64,
    threads: usize,
    commit_docs: u64,
    plain: bool,
    mut raw: Option<&mut dyn Write>,
) -> anyhow::Result<IndexFigure> {
    let mut sink: Box<dyn IndexSink> = if plain {
        Box::new(PlainTantivy::create(dir, threads)?)
    } else {
        Box::new(ShardStore::open_with_threads(dir, 0, 256 << 20, threads)?)
    };
    let files = 64u64;
    let per_batch = 512u64;
    let mut timed = Duration::ZERO;
    let mut bytes = 0;
    let mut pending = 0;
    let mut start = 0;
    // Round after round, each file gets one batch of its next consecutive
    // records, as parsers would deliver them.
    while start < total {
        for file in 0..files {
            let indexes: Vec<u64> = (0..per_batch)
                .map(|step| start + file + step * files)
                .filter(|index| *index < total)
                .collect();
            if indexes.is_empty() {
                continue;
            }
            let mut events = Vec::with_capacity(indexes.len());
            for &index in &indexes {
                events.push(event_at(templates, index, total, files));
                let text = &templates.lines[(index % templates.lines.len() as u64) as usize];
                bytes += text.len() as u64 + 1;
                if let Some(raw) = raw.as_mut() {
                    writeln!(raw, "{text}")?;
                }
            }
            let added = events.len() as u64;
            let started = Instant::now();
            sink.add(events)?;
            pending += added;
            if pending >= commit_docs {
                sink.commit()?;
                pending = 0;
            }
            timed += started.elapsed();
        }
        start += files * per_batch;
    }
    let started = Instant::now();
    sink.commit()?;
    sink.close()?;
    timed += started.elapsed();
    Ok(IndexFigure {
        threads,
        seconds: timed.as_secs_f64(),
        events: total,
        bytes,
        disk_bytes: disk_bytes(dir),
    })
}

pub(super) fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction).round() as usize];
    (at(0.5), at(0.99))
}

fn freshness(dir: &Path, templates: &Templates, probes: usize) -> anyhow::Result<Vec<f64>> {
    let store = ShardStore::open(dir, 0, 128 << 20)?;
    let store = Arc::new(std::sync::Mutex::new(store));
    let searcher = Searcher::new(dir, 0);
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let store = store.clone();
        let done = done.clone();
        let events: Vec<Event> = (0..20_000u64)
            .map(|index| event_at(templates, index, 20_000, 4))
            .collect();
        std::thread::spawn(move || -> anyhow::Result<()> {
            // About 20,000 events/s: 1,000 every 50 ms, commits every second.
            let mut next = 0u64;
            let mut last_commit = Instant::now();
            while !done.load(Ordering::Relaxed) {
                let mut batch = Vec::new();
                for _ in 0..1000 {
                    let mut event = events[(next % 20_000) as usize].clone();
                    event.offset = next * 300;
                    event.file.fingerprint = 99;
                    event.id = EventId::new("fresh", &event.file, event.offset);
                    next += 1;
                    batch.push(event);
                }
                let mut guard = store
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                guard.add_batch(&EventBatch { events: batch })?;
                if last_commit.elapsed() >= Duration::from_secs(1) {
                    guard.commit()?;
                    last_commit = Instant::now();
                }
                drop(guard);
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        })
    };
    let mut latencies = Vec::new();
    for probe in 0..probes {
        let word = format!("freshprobe{probe}");
        let mut event = event_at(templates, probe as u64, probes as u64, 1);
        event.body = format!("{word} arrived");
        event.file.fingerprint = 12_345;
        event.id = EventId::new("probe", &event.file, event.offset);
        let added = Instant::now();
        store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add_batch(&EventBatch {
                events: vec![event],
            })?;
        loop {
            if searcher.count(&word, None, None).unwrap_or(0) > 0 {
                latencies.push(added.elapsed().as_secs_f64());
                break;
            }
            if added.elapsed() > Duration::from_secs(30) {
                anyhow::bail!("probe {probe} never became searchable");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(137));
    }
    done.store(true, Ordering::Relaxed);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
    Ok(latencies)
}

/// The raw text's size gzipped at level 6: what an archive of it costs.
pub(super) fn gzip_bytes(file: &Path) -> anyhow::Result<u64> {
    let mut compressed = flate2::read::GzEncoder::new(
        std::io::BufReader::new(std::fs::File::open(file)?),
        flate2::Compression::new(6),
    );
    Ok(std::io::copy(&mut compressed, &mut std::io::sink())?)
}

pub(super) fn time_rg(args: &[&str], file: &Path) -> Option<f64> {
    let started = Instant::now();
    let status = Command::new("rg").args(args).arg(file).output().ok()?;
    status.status.code().filter(|code| *code <= 1)?;
    Some(started.elapsed().as_secs_f64())
}

#[allow(clippy::print_stdout)]
pub(crate) fn bench_index(args: BenchIndexArgs) -> anyhow::Result<()> {
    let scratch = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            tempfile::tempdir_in(dir)?
        }
        None => tempfile::tempdir()?,
    };
    let templates = templates()?;
    let raw_path = scratch.path().join("raw.log");
    let mut figures = Vec::new();
    {
        let mut raw = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&raw_path)?);
        figures.push(index_run(
            &scratch.path().join("one"),
            &templates,
            args.events,
            1,
            args.commit_docs,
            false,
            Some(&mut raw),
        )?);
        raw.flush()?;
    }
    figures.push(index_run(
        &scratch.path().join("two"),
        &templates,
        args.events,
        2,
        args.commit_docs,
        false,
        None,
    )?);
    std::fs::remove_dir_all(scratch.path().join("one"))?;
    let plain = index_run(
        &scratch.path().join("plain"),
        &templates,
        args.events,
        1,
        args.commit_docs,
        true,
        None,
    )?;
    std::fs::remove_dir_all(scratch.path().join("plain"))?;
    let gzip = gzip_bytes(&raw_path)?;
    let by_field = space_by_field(&scratch.path().join("two"))?;

    let searcher = Searcher::new(&scratch.path().join("two"), 0);
    let term = "inventory";
    let phrase = "\"slow query detected\"";
    let mut rng = Rng(0x9e37_79b9);
    let mut queries: Vec<(&str, Vec<f64>)> = Vec::new();
    let run = |work: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<Vec<f64>> {
        work()?; // warm-up
        let mut samples = Vec::new();
        for _ in 0..args.queries.max(1) {
            let started = Instant::now();
            work()?;
            samples.push(started.elapsed().as_secs_f64());
        }
        Ok(samples)
    };
    let page = |query: &str, from: Option<i64>, to: Option<i64>| SearchRequest {
        query: query.to_owned(),
        from,
        to,
        limit: 100,
        cursor: None,
    };
    queries.push((
        "term (100 newest)",
        run(&mut || Ok(searcher.search(&page(term, None, None)).map(|_| ())?))?,
    ));
    queries.push((
        "phrase (100 newest)",
        run(&mut || Ok(searcher.search(&page(phrase, None, None)).map(|_| ())?))?,
    ));
    queries.push((
        "level:ERROR, 1 h range",
        run(&mut || {
            let start = BASE + rng.below(47) as i64 * 3_600_000_000_000;
            Ok(searcher
                .search(&page(
                    "level:ERROR",
                    Some(start),
                    Some(start + 3_600_000_000_000),
                ))
                .map(|_| ())?)
        })?,
    ));
    // An id from the middle of the run: `context` and `id:` look it up.
    let some_id = event_at(&templates, args.events / 2, args.events, 64).id;
    queries.push((
        "one event by id:",
        run(&mut || {
            let found = searcher.count(&format!("id:{some_id}"), None, None)?;
            anyhow::ensure!(found == 1, "id:{some_id} matched {found}");
            Ok(())
        })?,
    ));
    queries.push((
        "histogram, 48 h by 1 h",
        run(&mut || {
            Ok(searcher
                .histogram("", BASE, BASE + 172_800_000_000_000, 3_600_000_000_000)
                .map(|_| ())?)
        })?,
    ));
    let term_count = searcher.count(term, None, None)?;
    let rg_term = time_rg(&["-c", "-F", "-i", term], &raw_path);
    let rg_phrase = time_rg(&["-c", "-F", "-i", "slow query detected"], &raw_path);

    let fresh = percentiles(freshness(
        &scratch.path().join("fresh"),
        &templates,
        args.probes,
    )?);
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    if args.json {
        println!(
            "{}",
            json!({
                "events": args.events,
                "indexing": figures.iter().map(|figure| json!({
                    "threads": figure.threads,
                    "seconds": figure.seconds,
                    "mib_per_second": mib(figure.bytes) / figure.seconds,
                    "docs_per_second": figure.events as f64 / figure.seconds,
                    "disk_bytes": figure.disk_bytes,
                    "disk_bytes_per_event": figure.disk_bytes as f64 / figure.events as f64,
                })).collect::<Vec<_>>(),
                "plain_tantivy": {
                    "threads": plain.threads,
                    "seconds": plain.seconds,
                    "docs_per_second": plain.events as f64 / plain.seconds,
                    "disk_bytes": plain.disk_bytes,
                    "disk_bytes_per_event": plain.disk_bytes as f64 / plain.events as f64,
                    "time_ratio_one_thread": figures[0].seconds / plain.seconds,
                },
                "disk_by_field": by_field.iter().map(|(field, part, bytes)| json!({
                    "field": field, "part": part, "bytes": bytes,
                })).collect::<Vec<_>>(),
                "raw_bytes": figures[0].bytes,
                "gzip_bytes": gzip,
                "freshness_seconds": { "p50": fresh.0, "p99": fresh.1 },
                "queries": queries.iter().map(|(name, samples)| {
                    let (p50, p99) = percentiles(samples.clone());
                    json!({ "query": name, "p50_seconds": p50, "p99_seconds": p99 })
                }).collect::<Vec<_>>(),
                "term_matches": term_count,
                "rg_term_seconds": rg_term,
                "rg_phrase_seconds": rg_phrase,
            })
        );
        return Ok(());
    }
    println!(
        "{} events, {:.0} MiB of raw lines (log4j, combined, JSON), 256 MiB writer heap, commits every {} documents",
        args.events,
        mib(figures[0].bytes),
        args.commit_docs
    );
    println!(
        "{:<28} {:>10} {:>12} {:>12} {:>10}",
        "indexing", "MiB/s", "docs/s", "disk MiB", "B/event"
    );
    let rows = figures
        .iter()
        .map(|figure| {
            (
                format!(
                    "{} thread{}",
                    figure.threads,
                    if figure.threads == 1 { "" } else { "s" }
                ),
                figure,
            )
        })
        .chain(std::iter::once((
            "plain tantivy, 1 thread".to_owned(),
            &plain,
        )));
    for (name, figure) in rows {
        println!(
            "{:<28} {:>10.1} {:>12.0} {:>12.1} {:>10.1}",
            name,
            mib(figure.bytes) / figure.seconds,
            figure.events as f64 / figure.seconds,
            mib(figure.disk_bytes),
            figure.disk_bytes as f64 / figure.events as f64
        );
    }
    println!(
        "one thread takes {:.2}x plain tantivy's time (compass: <= 2x); raw text {:.1} MiB, gzip -6 {:.1} MiB",
        figures[0].seconds / plain.seconds,
        mib(figures[0].bytes),
        mib(gzip)
    );
    let shown: Vec<String> = by_field
        .iter()
        .take(12)
        .map(|(field, part, bytes)| format!("{field} {part} {:.1}", mib(*bytes)))
        .collect();
    println!(
        "largest parts of the 2-thread index, MiB: {}",
        shown.join(", ")
    );
    println!(
        "freshness (add to searchable) p50 {:.0} ms, p99 {:.0} ms over {} probes at ~20k events/s with 1 s commits",
        fresh.0 * 1e3,
        fresh.1 * 1e3,
        args.probes
    );
    println!("{:<28} {:>10} {:>10}", "query", "p50 ms", "p99 ms");
    for (name, samples) in &queries {
        let (p50, p99) = percentiles(samples.clone());
        println!("{:<28} {:>10.2} {:>10.2}", name, p50 * 1e3, p99 * 1e3);
    }
    let show = |seconds: Option<f64>| {
        seconds.map_or(
            "rg not installed (apt-get install ripgrep)".to_owned(),
            |seconds| format!("{:.2} ms", seconds * 1e3),
        )
    };
    println!(
        "rg -c -F -i {term:?} over the raw text: {} ({term_count} events match \"{term}\" in the index)",
        show(rg_term)
    );
    println!("rg -c -F -i \"slow query detected\": {}", show(rg_phrase));
    Ok(())
}
