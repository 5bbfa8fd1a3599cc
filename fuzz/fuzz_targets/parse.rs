//! Log lines are untrusted text: every format, wrapper and detection path
//! must take any bytes without panicking, and give one event per record with
//! nothing of the record lost.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use loghaul_config::{ParserConfig, Pattern, PatternConfig};
use loghaul_model::{FileIdentity, RawBatch, RawRecord};
use loghaul_parser::Parser;

const HINTS: [&str; 16] = [
    "auto", "json", "logfmt", "syslog", "common", "combined", "apache_error", "log4j", "klog",
    "plain", "docker", "cri", "regex:fuzz", "regex:missing", "xml", "auto",
];
const ZONES: [&str; 4] = ["UTC", "+05:30", "Europe/Paris", "Mars/Olympus"];

/// Two configs, built once: the pattern with and without a strftime layout.
fn configs() -> &'static [ParserConfig; 2] {
    static CONFIGS: OnceLock<[ParserConfig; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        [None, Some("%Y-%m-%d %H:%M:%S".to_owned())].map(|timestamp_format| ParserConfig {
            patterns: vec![PatternConfig {
                name: "fuzz".into(),
                regex: Pattern::new(r"^(?P<timestamp>\S+ \S+) (?P<level>\S+) (?P<message>.*)$")
                    .expect("pattern"),
                timezone: "UTC".into(),
                timestamp_format,
            }],
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let config = &configs()[usize::from(selector & 0x40 != 0)];
    let mut parser = Parser::new(config).expect("parser");
    let records: Vec<RawRecord> = text
        .split(|byte| *byte == b'\n')
        .enumerate()
        .map(|(index, line)| RawRecord::new(index as u64 * 100, line.to_vec()))
        .collect();
    let batch = RawBatch {
        host: "fuzz".into(),
        source: "/fuzz.log".into(),
        file: FileIdentity { device: 1, inode: 2, fingerprint: 3 },
        format_hint: Some(HINTS[usize::from(selector & 0x0f)].to_owned()),
        records,
        // Reference times at the edges of what the calendar code handles.
        read_time_unix_nano: match selector >> 4 & 0x3 {
            0 => 1_795_334_400_000_000_000,
            1 => 0,
            2 => i64::MAX,
            _ => i64::MIN,
        },
        timezone: Some(ZONES[usize::from(selector >> 6)].to_owned()),
        service: None,
        source_name: None,
    };
    // Twice: the second pass runs with what detection learnt.
    for _ in 0..2 {
        let events = parser.parse_batch(&batch);
        assert_eq!(events.len(), batch.records.len());
        for (event, record) in events.iter().zip(&batch.records) {
            assert_eq!(event.offset, record.offset);
            if event.parse_error.is_some() && event.attributes.get("container.stream").is_none() {
                // A flagged record keeps its whole text as the body.
                let text = String::from_utf8_lossy(&record.bytes);
                assert!(
                    event.body == text || text.contains(event.body.as_str()),
                    "flagged record lost text: {:?} -> {:?}",
                    text,
                    event.body
                );
            }
        }
    }
});
