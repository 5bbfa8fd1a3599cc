//! `loghaul bench parse`: parser throughput per format on one thread, beside
//! one pass of `regex` captures over the same lines, measured in the same run.

use std::time::Instant;

use loghaul_config::{ByteSize, ParserConfig, Pattern, PatternConfig};
use loghaul_model::{FileIdentity, RawBatch, RawRecord};
use loghaul_parser::Parser;
use serde_json::json;

use super::parse_size;

pub(crate) const PARSE_HELP: &str = "\
For each format, generates --size of realistic lines, then measures on this
thread (one core):
  regex     one pass of regex captures over the lines, pulling the same main
            fields (the baseline; its pattern is printed with --verbose-bench)
  parse     loghaul's parser: RawBatch records to complete events (time,
            severity, body, attributes, id)
  +encode   what the worker does: parse straight into the EventBatch message
            it publishes (Parser::parse_batch_encoded), events never built
The `auto` row reads log4j lines with format = auto; the `mixed` row reads
runs of 16 lines each from one of json, logfmt, log4j, combined, syslog and
klog with format = auto, and `mixed-set` reads the same lines in the same
16-line batches with each run's format set. Below the table, the goals:
parse + encode of combined and json against 250 MiB/s per core, and auto on
the mix against 0.8x the mix with each run's format set (both paths).
Each figure is the median of --rounds timed passes after one warm-up pass.
Figures are MiB/s of raw lines and records/s. Pin it for steadier numbers:
  taskset -c 0 loghaul bench parse

Examples:
  loghaul bench parse
  loghaul bench parse --format json --format combined --size 256MiB --json";

#[derive(clap::Args, Debug)]
pub(crate) struct BenchParseArgs {
    /// Bytes of lines per format.
    #[arg(long, default_value = "32MiB", value_parser = parse_size)]
    size: ByteSize,
    /// Only these formats (repeatable): json, logfmt, syslog, combined,
    /// apache_error, log4j, klog, cri, docker, regex, auto, mixed (measured
    /// with mixed-set, the same lines with each run's format set).
    #[arg(long = "format", value_name = "NAME")]
    formats: Vec<String>,
    /// Timed rounds per figure, after one warm-up; the median is printed.
    #[arg(long, default_value_t = 5, value_name = "N")]
    rounds: u32,
    /// Print the baseline regex of each format.
    #[arg(long)]
    verbose_bench: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Deterministic xorshift, so every run measures the same lines.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const PATHS: [&str; 8] = [
    "/api/v1/orders",
    "/api/v1/orders/8812/items",
    "/static/js/app.4f9c2.js",
    "/login",
    "/api/v2/search?q=red+shoes&page=2",
    "/healthz",
    "/images/banner-winter.webp",
    "/api/v1/customers/42/addresses",
];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "curl/8.11.0",
    "Prometheus/3.0.1",
];
const MESSAGES: [&str; 8] = [
    "order created for customer",
    "payment authorised by provider",
    "cache miss, loading from database",
    "retrying request after timeout",
    "user session refreshed",
    "inventory reserved for line items",
    "slow query detected on table orders",
    "connection returned to pool",
];
const LEVELS: [&str; 5] = ["INFO", "INFO", "INFO", "WARN", "ERROR"];

fn clock(rng: &mut Rng, index: u64) -> (u64, u64, u64, u64) {
    let second = index / 50;
    (
        second / 3600 % 24,
        second / 60 % 60,
        second % 60,
        rng.below(1_000_000),
    )
}

/// One line of `format`.
pub(super) fn line(format: &str, rng: &mut Rng, index: u64) -> String {
    let (h, m, s, micros) = clock(rng, index);
    let level = rng.pick(&LEVELS);
    let message = rng.pick(&MESSAGES);
    let id = rng.below(100_000);
    let ip = format!(
        "10.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        rng.below(256)
    );
    let json_line = |rng: &mut Rng| {
        format!(
            r#"{{"time":"2026-11-22T{h:02}:{m:02}:{s:02}.{:03}Z","level":"{}","msg":"{message} {id}","service":"orders","user_id":{id},"duration_ms":{}.{},"http":{{"method":"GET","path":"{}","status":200}}}}"#,
            micros / 1000,
            level.to_ascii_lowercase(),
            rng.below(900),
            rng.below(10),
            rng.pick(&PATHS)
        )
    };
    let log4j_line = |rng: &mut Rng| {
        format!(
            "2026-11-22 {h:02}:{m:02}:{s:02},{:03} {level} [http-nio-8080-exec-{}] com.example.orders.OrderService: {message} {id}",
            micros / 1000,
            rng.below(20)
        )
    };
    match format {
        "json" => json_line(rng),
        "logfmt" => format!(
            r#"time=2026-11-22T{h:02}:{m:02}:{s:02}.{:03}Z level={} msg="{message} {id}" service=orders user_id={id} duration_ms={}.{} path={}"#,
            micros / 1000,
            level.to_ascii_lowercase(),
            rng.below(900),
            rng.below(10),
            rng.pick(&PATHS)
        ),
        "syslog" => format!(
            "Nov 22 {h:02}:{m:02}:{s:02} web-{} sshd[{}]: Accepted publickey for deploy from {ip} port {} ssh2: ED25519 SHA256:{id}",
            rng.below(9),
            rng.below(60_000),
            rng.below(65_000)
        ),
        "combined" => format!(
            r#"{ip} - - [22/Nov/2026:{h:02}:{m:02}:{s:02} +0000] "GET {} HTTP/1.1" {} {} "https://shop.example.com/" "{}""#,
            rng.pick(&PATHS),
            rng.pick(&["200", "200", "200", "304", "404", "500"]),
            rng.below(100_000),
            rng.pick(&AGENTS)
        ),
        "apache_error" => format!(
            "[Sun Nov 22 {h:02}:{m:02}:{s:02}.{micros:06} 2026] [proxy:error] [pid {}:tid {}] [client {ip}:{}] AH01114: HTTP: failed to make connection to backend: orders-{}",
            rng.below(60_000),
            rng.below(1 << 40),
            rng.below(65_000),
            rng.below(9)
        ),
        "log4j" | "regex_source" => log4j_line(rng),
        "klog" => format!(
            "{}1122 {h:02}:{m:02}:{s:02}.{micros:06}    {} controller.go:{}] {message} {id} in namespace default",
            rng.pick(&["I", "I", "W", "E"]),
            rng.below(60_000),
            rng.below(900)
        ),
        "cri" => format!(
            "2026-11-22T{h:02}:{m:02}:{s:02}.{micros:06}123Z stdout F {}",
            log4j_line(rng)
        ),
        "docker" => {
            let inner = json_line(rng).replace('"', "\\\"");
            format!(
                r#"{{"log":"{inner}\n","stream":"stdout","time":"2026-11-22T{h:02}:{m:02}:{s:02}.{micros:06}123Z"}}"#
            )
        }
        "regex" => format!(
            "2026-11-22 {h:02}:{m:02}:{s:02}.{:03} {level} {message} {id} from {ip}",
            micros / 1000
        ),
        // A source whose runs of 16 lines each come from one of six
        // formats (a container that logs JSON, then a framework's text…).
        "mixed" | "mixed-set" => line(mixed_format(index), rng, index),
        _ => log4j_line(rng),
    }
}

/// The formats of the `mixed` case.
const MIXED: [&str; 6] = ["json", "logfmt", "log4j", "combined", "syslog", "klog"];

/// Lines in a run of one format in the `mixed` case, and in its batches.
const MIXED_RUN: u64 = 16;

/// The format of line `index` of the `mixed` case.
fn mixed_format(index: u64) -> &'static str {
    let run = (index / MIXED_RUN).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58;
    MIXED[run as usize % MIXED.len()]
}

/// (name, the source's format setting, the baseline regex).
const CASES: [(&str, &str, &str); 13] = [
    (
        "json",
        "json",
        r#""time":"([^"]*)".*?"level":"([^"]*)".*?"msg":"([^"]*)""#,
    ),
    (
        "logfmt",
        "logfmt",
        r#"time=(\S+) level=(\S+) msg="([^"]*)""#,
    ),
    (
        "syslog",
        "syslog",
        r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\[:]+)(?:\[(\d+)\])?: (.*)$",
    ),
    (
        "combined",
        "combined",
        r#"^(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$"#,
    ),
    (
        "apache_error",
        "apache_error",
        r"^\[([^\]]+)\] \[(?:(\w+):)?(\w+)\] \[pid (\d+):tid (\d+)\] \[client ([^\]]+)\] (.*)$",
    ),
    (
        "log4j",
        "log4j",
        r"^(\S+ \S+) (\w+) \[([^\]]+)\] (\S+): (.*)$",
    ),
    (
        "klog",
        "klog",
        r"^([IWEF])(\d{4} \S+)\s+(\d+) ([^\]]+)\] (.*)$",
    ),
    ("cri", "cri", r"^(\S+) (stdout|stderr) ([FP]) (.*)$"),
    (
        "docker",
        "docker",
        r#"^\{"log":"((?:[^"\\]|\\.)*)","stream":"(\w+)","time":"([^"]+)"\}$"#,
    ),
    ("regex", "regex:bench", USER_PATTERN),
    (
        "auto",
        "auto",
        r"^(\S+ \S+) (\w+) \[([^\]]+)\] (\S+): (.*)$",
    ),
    ("mixed", "auto", r"^(\S+) (\S+) (.*)$"),
    // Each batch is one run, with that run's format set (see `batches`).
    ("mixed-set", "per run", r"^(\S+) (\S+) (.*)$"),
];

const USER_PATTERN: &str = r"^(?P<timestamp>\S+ \S+) (?P<level>\w+) (?P<message>.*)$";

struct Row {
    name: &'static str,
    bytes: u64,
    records: u64,
    regex_seconds: f64,
    parse_seconds: f64,
    encode_seconds: f64,
    parse_errors: u64,
}

fn batches(format: &str, hint: &str, size: u64) -> (Vec<RawBatch>, u64, u64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut batches = Vec::new();
    let mut records = Vec::new();
    let (mut bytes, mut count, mut offset) = (0u64, 0u64, 0u64);
    // The mix comes in batches of one run each, so that `mixed-set` can
    // give each its format and `mixed` is measured on the same batches.
    let per_batch = if format.starts_with("mixed") {
        MIXED_RUN as usize
    } else {
        4096
    };
    let hint_of = |count: u64| match format {
        "mixed-set" => mixed_format(count - 1),
        _ => hint,
    };
    while bytes < size {
        let text = line(format, &mut rng, count);
        bytes += text.len() as u64;
        let length = text.len() as u64 + 1;
        records.push(RawRecord::new(offset, text.into_bytes()));
        offset += length;
        count += 1;
        if records.len() == per_batch {
            batches.push(raw_batch(hint_of(count), std::mem::take(&mut records)));
        }
    }
    if !records.is_empty() {
        batches.push(raw_batch(hint_of(count), records));
    }
    (batches, bytes, count)
}

fn raw_batch(hint: &str, records: Vec<RawRecord>) -> RawBatch {
    RawBatch {
        host: "bench-host".into(),
        source: "/var/log/bench.log".into(),
        file: FileIdentity {
            device: 1,
            inode: 2,
            fingerprint: 3,
        },
        format_hint: (hint != "auto").then(|| hint.to_owned()),
        records,
        read_time_unix_nano: 1_795_334_400_000_000_000,
        timezone: Some("UTC".into()),
        service: Some("bench".into()),
        source_name: None,
    }
}

/// The median of `rounds` timings of `pass`, after one untimed warm-up run
/// (a long-running worker's allocator is warm; a cold first pass would
/// measure page faults).
fn median_seconds(
    rounds: u32,
    mut pass: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    pass()?;
    let mut timings = Vec::new();
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        pass()?;
        timings.push(started.elapsed().as_secs_f64());
    }
    timings.sort_by(f64::total_cmp);
    Ok(timings[timings.len() / 2])
}

fn measure(
    name: &'static str,
    hint: &str,
    baseline: &str,
    size: u64,
    rounds: u32,
) -> anyhow::Result<Row> {
    let (batches, bytes, records) = batches(name, hint, size);
    let regex = regex::Regex::new(baseline)?;
    let mut locations = regex.capture_locations();
    let regex_seconds = median_seconds(rounds, || {
        let mut matched = 0u64;
        for batch in &batches {
            for record in &batch.records {
                let text = std::str::from_utf8(&record.bytes).unwrap_or_default();
                if regex.captures_read(&mut locations, text).is_some() {
                    matched += locations.len() as u64;
                }
            }
        }
        anyhow::ensure!(matched > 0, "the {name} baseline regex matched nothing");
        Ok(())
    })?;

    let config = ParserConfig {
        patterns: vec![PatternConfig {
            name: "bench".into(),
            regex: Pattern::new(USER_PATTERN).map_err(anyhow::Error::msg)?,
            timezone: loghaul_config::TimeZoneSpec::Utc,
            timestamp_format: None,
        }],
        ..ParserConfig::default()
    };
    let mut parser = Parser::new(&config).map_err(anyhow::Error::msg)?;
    let mut parse_errors = 0;
    let parse_seconds = median_seconds(rounds, || {
        parse_errors = 0;
        for batch in &batches {
            let events = parser.parse_batch(batch);
            parse_errors += events
                .iter()
                .filter(|event| event.parse_error.is_some())
                .count() as u64;
        }
        Ok(())
    })?;

    let mut parser = Parser::new(&config).map_err(anyhow::Error::msg)?;
    let encode_seconds = median_seconds(rounds, || {
        let mut encoded = 0usize;
        for batch in &batches {
            encoded += parser.parse_batch_encoded(batch).payload.len();
        }
        anyhow::ensure!(encoded > 0, "nothing encoded");
        Ok(())
    })?;
    Ok(Row {
        name,
        bytes,
        records,
        regex_seconds,
        parse_seconds,
        encode_seconds,
        parse_errors,
    })
}

#[allow(clippy::print_stdout)]
pub(crate) fn bench_parse(args: BenchParseArgs) -> anyhow::Result<()> {
    for wanted in &args.formats {
        if !CASES.iter().any(|(name, _, _)| name == wanted) {
            return Err(crate::exit::BadInput(format!(
                "unknown format {wanted:?}: choose from {}",
                CASES.map(|(name, _, _)| name).join(", ")
            ))
            .into());
        }
    }
    let mut rows = Vec::new();
    for (name, hint, baseline) in CASES {
        // `mixed` is measured against `mixed-set`: asking for one gives both.
        let family = |wanted: &String| name.starts_with("mixed") && wanted.starts_with("mixed");
        if !args.formats.is_empty()
            && !args
                .formats
                .iter()
                .any(|wanted| wanted == name || family(wanted))
        {
            continue;
        }
        if args.verbose_bench && !args.json {
            println!("{name} baseline: {baseline}");
        }
        rows.push(measure(
            name,
            hint,
            baseline,
            args.size.bytes(),
            args.rounds,
        )?);
    }
    let mib = |bytes: u64, seconds: f64| bytes as f64 / f64::from(1 << 20) / seconds;
    let targets = Targets::of(&rows);
    if args.json {
        let results: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                json!({
                    "format": row.name,
                    "bytes": row.bytes,
                    "records": row.records,
                    "parse_errors": row.parse_errors,
                    "regex_mib_per_second": mib(row.bytes, row.regex_seconds),
                    "parse_mib_per_second": mib(row.bytes, row.parse_seconds),
                    "parse_records_per_second": row.records as f64 / row.parse_seconds,
                    "parse_encode_mib_per_second": mib(row.bytes, row.encode_seconds),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "threads": 1,
                "rounds": args.rounds,
                "statistic": "median",
                "results": results,
                "targets": {
                    "parse_encode_mib_per_second_goal": PARSE_ENCODE_GOAL,
                    "parse_encode_mib_per_second": targets.encode,
                    "mixed_auto_ratio_goal": MIXED_GOAL,
                    "mixed_auto_ratio": targets.mixed,
                    "mixed_auto_ratio_encode": targets.mixed_encode,
                },
            })
        );
        return Ok(());
    }
    println!(
        "one thread; {} of lines per format; median of {} rounds after a warm-up",
        ByteSize(args.size.bytes()),
        args.rounds.max(1)
    );
    println!(
        "{:<13} {:>11} {:>11} {:>13} {:>13} {:>9} {:>8}",
        "format",
        "regex MiB/s",
        "parse MiB/s",
        "parse recs/s",
        "+encode MiB/s",
        "vs regex",
        "flagged"
    );
    for row in &rows {
        println!(
            "{:<13} {:>11.1} {:>11.1} {:>13.0} {:>13.1} {:>8.2}x {:>8}",
            row.name,
            mib(row.bytes, row.regex_seconds),
            mib(row.bytes, row.parse_seconds),
            row.records as f64 / row.parse_seconds,
            mib(row.bytes, row.encode_seconds),
            row.regex_seconds / row.parse_seconds,
            row.parse_errors
        );
    }
    if !targets.encode.is_empty() || targets.mixed.is_some() {
        println!("\ntargets (printed, never asserted):");
    }
    for (name, speed) in &targets.encode {
        println!(
            "  {name:<12} parse+encode {speed:>7.1} MiB/s  goal >= {PARSE_ENCODE_GOAL} MiB/s per core: {}",
            if *speed >= PARSE_ENCODE_GOAL {
                "met"
            } else {
                "not met"
            }
        );
    }
    for (path, (ratio, auto, set)) in [
        ("parse+encode", targets.mixed_encode),
        ("parse", targets.mixed),
    ]
    .into_iter()
    .filter_map(|(path, figures)| Some((path, figures?)))
    {
        println!(
            "  mixed        {path:<12} auto {auto:>6.1} MiB/s vs {set:>6.1} with each run's format set = {ratio:.2}x  goal >= {MIXED_GOAL}x: {}",
            if ratio >= MIXED_GOAL {
                "met"
            } else {
                "not met"
            }
        );
    }
    Ok(())
}

/// Issue 14's goal for parse + encode on combined and JSON, per core.
const PARSE_ENCODE_GOAL: f64 = 250.0;
/// Issue 14's goal for `auto` on a mixed source against its formats set.
const MIXED_GOAL: f64 = 0.8;

/// The figures the goals are about, from the rows measured.
struct Targets {
    /// (format, parse + encode MiB/s) of combined and json.
    encode: Vec<(&'static str, f64)>,
    /// Parse only: (ratio, auto on the mix MiB/s, the mix with each run's
    /// format set MiB/s).
    mixed: Option<(f64, f64, f64)>,
    /// The same on the worker's path, parse + encode.
    mixed_encode: Option<(f64, f64, f64)>,
}

impl Targets {
    fn of(rows: &[Row]) -> Targets {
        let mib = |row: &Row, seconds: f64| row.bytes as f64 / f64::from(1 << 20) / seconds;
        let find = |name: &str| rows.iter().find(|row| row.name == name);
        let encode = ["combined", "json"]
            .into_iter()
            .filter_map(|name| find(name).map(|row| (row.name, mib(row, row.encode_seconds))))
            .collect();
        // The same lines in the same batches, detected or told.
        let versus = |seconds: fn(&Row) -> f64| {
            let (auto, set) = (find("mixed")?, find("mixed-set")?);
            let (auto, set) = (mib(auto, seconds(auto)), mib(set, seconds(set)));
            Some((auto / set, auto, set))
        };
        Targets {
            encode,
            mixed: versus(|row| row.parse_seconds),
            mixed_encode: versus(|row| row.encode_seconds),
        }
    }
}
