//! `loghaul parse --explain`: how each line of a file is read, before the
//! file is shipped. The parser is the one the workers run, fed batches the
//! way the shipper cuts them (lines, `\r\n` trimmed, 1 MiB cap).

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use loghaul_model::{Event, FileIdentity, RawBatch, RawRecord};
use loghaul_shipper::records::{Line, RecordSplitter};

use crate::exit::BadInput;

const BATCH: usize = 1_000;
const MAX_LINE: usize = 1 << 20;
/// The read time given to the batches: a record whose time equals it had
/// none of its own.
const READ_TIME: i64 = 0;

pub(crate) fn explain(
    config: &loghaul_config::Config,
    input: &Path,
    format: Option<&str>,
    timezone: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(format) = format {
        loghaul_config::SourceFormat::parse(format)
            .map_err(|message| BadInput(format!("--format: {message}")))?;
        if let Some(name) = format.strip_prefix("regex:")
            && !config
                .parser
                .patterns
                .iter()
                .any(|pattern| pattern.name == name)
        {
            return Err(BadInput(format!(
                "--format: no [[parser.patterns]] entry is named {name:?} (give -c FILE)"
            ))
            .into());
        }
    }
    if let Some(zone) = timezone {
        loghaul_config::TimeZoneSpec::parse(zone)
            .map_err(|message| BadInput(format!("--timezone: {message}")))?;
    }
    let mut parser = loghaul_parser::Parser::new(&config.parser).map_err(BadInput)?;
    let mut reader: Box<dyn Read> = if input == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(input)
                .map_err(|error| BadInput(format!("{}: {error}", input.display())))?,
        )
    };
    let source = if input == Path::new("-") {
        "stdin".to_owned()
    } else {
        input.display().to_string()
    };
    let batch_of = |records: Vec<RawRecord>| RawBatch {
        host: "explain".into(),
        source: source.clone(),
        file: FileIdentity {
            device: 0,
            inode: 0,
            fingerprint: 0,
        },
        format_hint: format.map(str::to_owned),
        records,
        read_time_unix_nano: READ_TIME,
        timezone: timezone.map(str::to_owned),
        service: None,
        source_name: None,
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut summary = Summary::default();
    let mut splitter = RecordSplitter::new(0, MAX_LINE);
    let mut lines: Vec<Line> = Vec::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut line_number = 0u64;
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            splitter.finish(&mut lines);
        } else {
            splitter.push(&buffer[..read], &mut lines);
        }
        while lines.len() >= BATCH || (read == 0 && !lines.is_empty()) {
            let take = lines.len().min(BATCH);
            let records: Vec<RawRecord> = lines.drain(..take).map(|line| line.record).collect();
            for event in parser.parse_batch(&batch_of(records)) {
                line_number += 1;
                summary.add(&event);
                let written = if json {
                    write_json(&mut out, line_number, &event)
                } else {
                    write_text(&mut out, line_number, &event)
                };
                match written {
                    Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                    other => other?,
                }
            }
        }
        if read == 0 {
            break;
        }
    }
    if !json {
        let _ = summary.write(&mut out);
    }
    match out.flush() {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn format_of(event: &Event) -> &str {
    event
        .attributes
        .get("log.format")
        .and_then(|value| value.as_str())
        .unwrap_or("plain")
}

fn time_of(event: &Event) -> Option<String> {
    (event.timestamp_unix_nano != READ_TIME)
        .then(|| crate::archive::output::rfc3339(event.timestamp_unix_nano))
}

fn write_json(out: &mut impl Write, line: u64, event: &Event) -> std::io::Result<()> {
    let value = serde_json::json!({
        "line": line,
        "offset": event.offset,
        "format": format_of(event),
        "time": time_of(event),
        "level": event.severity.text,
        "severity_number": event.severity.number,
        "body": event.body,
        "attributes": event.attributes,
        "parse_error": event.parse_error,
    });
    serde_json::to_writer(&mut *out, &value).map_err(std::io::Error::other)?;
    writeln!(out)
}

fn write_text(out: &mut impl Write, line: u64, event: &Event) -> std::io::Result<()> {
    let time = time_of(event).unwrap_or_else(|| "no time found (the read time is used)".into());
    let level = match &event.severity.text {
        Some(text) => format!(
            "{} ({})",
            crate::query::sanitize(text),
            event.severity.number
        ),
        None => "none found".into(),
    };
    writeln!(out, "line {line}: {}", format_of(event))?;
    writeln!(out, "  time     {time}")?;
    writeln!(out, "  level    {level}")?;
    writeln!(out, "  message  {}", crate::query::sanitize(&event.body))?;
    for (key, value) in &event.attributes {
        if key == "log.format" {
            continue;
        }
        let shown = match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        writeln!(
            out,
            "  {}  {}",
            crate::query::sanitize(key),
            crate::query::sanitize(&shown)
        )?;
    }
    if let Some(error) = &event.parse_error {
        writeln!(out, "  NOT PARSED: {}", crate::query::sanitize(error))?;
    }
    Ok(())
}

#[derive(Default)]
struct Summary {
    records: u64,
    formats: BTreeMap<String, u64>,
    without_time: u64,
    without_level: u64,
    not_parsed: u64,
}

impl Summary {
    fn add(&mut self, event: &Event) {
        self.records += 1;
        *self.formats.entry(format_of(event).to_owned()).or_default() += 1;
        self.without_time += u64::from(event.timestamp_unix_nano == READ_TIME);
        self.without_level += u64::from(event.severity.text.is_none());
        self.not_parsed += u64::from(event.parse_error.is_some());
    }

    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let formats: Vec<String> = self
            .formats
            .iter()
            .map(|(name, count)| format!("{name} {count}"))
            .collect();
        writeln!(
            out,
            "\n{} records: {}; {} without a time, {} without a level, {} not parsed",
            self.records,
            if formats.is_empty() {
                "nothing read".into()
            } else {
                formats.join(", ")
            },
            self.without_time,
            self.without_level,
            self.not_parsed
        )
    }
}
