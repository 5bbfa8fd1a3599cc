//! Each format on lines as real programs write them, through the public
//! `Parser`, plus what happens to lines no format reads.

use std::path::Path;

use loghaul_config::{ParserConfig, PatternConfig};
use loghaul_model::{Event, FileIdentity, RawBatch, RawRecord};
use loghaul_parser::Parser;
use serde_json::json;

mod support;
use support::parse_checked;

/// 2026-11-22T08:00:00Z.
const READ_TIME: i64 = 1_795_334_400_000_000_000;

fn iso(text: &str) -> i64 {
    let stamp: jiff::Timestamp = text.parse().expect("test stamp");
    stamp.as_nanosecond() as i64
}

fn batch(lines: &[&[u8]], format: Option<&str>, timezone: &str) -> RawBatch {
    let mut offset = 0;
    let records = lines
        .iter()
        .map(|line| {
            let record = RawRecord::new(offset, line.to_vec());
            offset += line.len() as u64 + 1;
            record
        })
        .collect();
    RawBatch {
        host: "web-1".into(),
        source: "/var/log/test.log".into(),
        file: FileIdentity {
            device: 1,
            inode: 2,
            fingerprint: 3,
        },
        format_hint: format.map(str::to_owned),
        records,
        read_time_unix_nano: READ_TIME,
        timezone: Some(timezone.into()),
        service: Some("shop".into()),
        source_name: None,
    }
}

fn parse_with(parser: &mut Parser, lines: &[&str], format: Option<&str>) -> Vec<Event> {
    let lines: Vec<&[u8]> = lines.iter().map(|line| line.as_bytes()).collect();
    parse_checked(parser, &batch(&lines, format, "UTC"))
}

fn parse(lines: &[&str], format: Option<&str>) -> Vec<Event> {
    let mut parser = Parser::new(&ParserConfig::default()).expect("parser");
    parse_with(&mut parser, lines, format)
}

fn one(line: &str, format: Option<&str>) -> Event {
    parse(&[line], format).remove(0)
}

#[test]
fn json_lines_with_nested_attributes() {
    let event = one(
        r#"{"ts":"2026-11-22T07:59:58.5Z","level":"warn","msg":"disk almost full","disk":{"mount":"/var","used_pct":97},"tags":["a","b"]}"#,
        Some("json"),
    );
    assert_eq!(event.timestamp_unix_nano, iso("2026-11-22T07:59:58.5Z"));
    assert_eq!(event.severity.text.as_deref(), Some("warn"));
    assert_eq!(event.severity.number, 13);
    assert_eq!(event.body, "disk almost full");
    assert_eq!(
        event.attributes["disk"],
        json!({"mount": "/var", "used_pct": 97})
    );
    assert_eq!(event.attributes["tags"], json!(["a", "b"]));
    assert!(!event.attributes.contains_key("msg"));
    assert_eq!(event.parse_error, None);
    assert_eq!(event.resource.service.as_deref(), Some("shop"));

    // Epoch milliseconds, pino's numeric levels, ECS's nested log.level.
    let pino = one(r#"{"time":1795334399123,"level":50,"msg":"boom"}"#, None);
    assert_eq!(pino.timestamp_unix_nano, iso("2026-11-22T07:59:59.123Z"));
    assert_eq!(pino.severity.number, 17);
    let ecs = one(
        r#"{"@timestamp":"2026-11-22T07:00:00Z","log":{"level":"error","logger":"x"},"message":"m"}"#,
        None,
    );
    assert_eq!(ecs.severity.text.as_deref(), Some("error"));
    assert_eq!(ecs.attributes["log"], json!({"logger": "x"}));
}

#[test]
fn logfmt() {
    let event = one(
        r#"ts=2026-11-22T07:00:00Z level=error msg="payment \"declined\"" user=ada amount=12.5 retry"#,
        None,
    );
    assert_eq!(event.attributes["log.format"], json!("logfmt"));
    assert_eq!(event.timestamp_unix_nano, iso("2026-11-22T07:00:00Z"));
    assert_eq!(event.severity.number, 17);
    assert_eq!(event.body, r#"payment "declined""#);
    assert_eq!(event.attributes["user"], json!("ada"));
    assert_eq!(event.attributes["amount"], json!("12.5"));
    assert_eq!(event.attributes["retry"], json!(true));
}

#[test]
fn syslog_5424_and_3164() {
    let event = one(
        r#"<165>1 2026-11-22T07:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event"#,
        None,
    );
    assert_eq!(event.attributes["log.format"], json!("syslog"));
    assert_eq!(event.timestamp_unix_nano, iso("2026-11-22T07:14:15.003Z"));
    assert_eq!(event.severity.text.as_deref(), Some("notice"));
    assert_eq!(event.severity.number, 10);
    assert_eq!(event.body, "An application event");
    assert_eq!(
        event.attributes["syslog.hostname"],
        json!("mymachine.example.com")
    );
    assert_eq!(event.attributes["syslog.appname"], json!("evntslog"));
    assert_eq!(event.attributes["syslog.facility"], json!("local4"));
    assert_eq!(
        event.attributes["syslog.sd"],
        json!({"exampleSDID@32473": {"iut": "3", "eventSource": "Application"}})
    );

    let old = one(
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        Some("syslog"),
    );
    assert_eq!(old.timestamp_unix_nano, iso("2026-10-11T22:14:15Z"));
    assert_eq!(old.severity.number, 18);
    assert_eq!(old.attributes["syslog.appname"], json!("su"));
    assert_eq!(old.body, "'su root' failed for lonvick on /dev/pts/8");
}

#[test]
fn ubuntu_auth_log_reads_as_syslog_with_the_year_inferred() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/elastic-examples/auth.log");
    let text = std::fs::read_to_string(path).expect("auth.log");
    let lines: Vec<&str> = text.lines().collect();
    let events = parse(&lines, None);
    assert_eq!(events.len(), 7121);
    let clean = events
        .iter()
        .filter(|event| event.parse_error.is_none())
        .count();
    let syslog = events
        .iter()
        .filter(|event| event.attributes.get("log.format") == Some(&json!("syslog")))
        .count();
    eprintln!("auth.log: {syslog}/7121 syslog, {clean}/7121 without parse_error");
    assert_eq!(syslog, 7121);
    assert_eq!(clean, 7121);
    assert_eq!(events[0].attributes["syslog.procid"], json!("1291"));
    assert!(
        events
            .iter()
            .all(|event| event.timestamp_unix_nano <= READ_TIME)
    );
    // `Mar 27` read on 2026-11-22 is 2026-03-27.
    assert_eq!(events[0].timestamp_unix_nano, iso("2026-03-27T13:06:56Z"));
}

#[test]
fn access_logs() {
    let common = one(
        r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 404 -"#,
        None,
    );
    assert_eq!(common.attributes["log.format"], json!("common"));
    assert_eq!(common.timestamp_unix_nano, iso("2000-10-10T20:55:36Z"));
    assert_eq!(common.severity.number, 13);
    assert_eq!(common.attributes["user.name"], json!("frank"));
    assert_eq!(common.attributes["http.response.status_code"], json!(404));
    assert!(!common.attributes.contains_key("http.response.body.size"));

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/elastic-examples/apache_logs.head.log");
    let text = std::fs::read_to_string(path).expect("apache log");
    let lines: Vec<&str> = text.lines().collect();
    let events = parse(&lines, None);
    let combined = events
        .iter()
        .filter(|event| {
            event.attributes.get("log.format") == Some(&json!("combined"))
                && event.parse_error.is_none()
        })
        .count();
    eprintln!("apache_logs.head.log: {combined}/{} combined", events.len());
    assert_eq!(combined, lines.len());
    let first = &events[0];
    assert_eq!(first.timestamp_unix_nano, iso("2015-05-17T10:05:03Z"));
    assert_eq!(first.attributes["client.address"], json!("83.149.9.216"));
    assert_eq!(first.attributes["http.request.method"], json!("GET"));
    assert_eq!(first.attributes["http.response.body.size"], json!(203023));
    assert!(
        first.attributes["user_agent.original"]
            .as_str()
            .is_some_and(|agent| agent.starts_with("Mozilla/5.0"))
    );
    // The body keeps the whole line, so full-text search sees every field.
    assert_eq!(first.body, lines[0]);
}

#[test]
fn apache_error_log_2_4() {
    let event = one(
        "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187:5543] AH00124: Request exceeded the limit",
        None,
    );
    assert_eq!(event.attributes["log.format"], json!("apache_error"));
    assert_eq!(
        event.timestamp_unix_nano,
        iso("2000-10-11T14:32:52.123456Z")
    );
    assert_eq!(event.severity.number, 17);
    assert_eq!(event.attributes["apache.module"], json!("core"));
    assert_eq!(event.attributes["process.pid"], json!("35708"));
    assert_eq!(
        event.attributes["client.address"],
        json!("72.15.99.187:5543")
    );
    assert_eq!(event.body, "AH00124: Request exceeded the limit");
}

#[test]
fn log4j_and_python_layouts() {
    let kafka = one(
        "[2016-12-19 18:00:07,342] INFO [Controller 0]: Broker 0 starting become controller state transition (kafka.controller.KafkaController)",
        None,
    );
    assert_eq!(kafka.attributes["log.format"], json!("log4j"));
    assert_eq!(kafka.timestamp_unix_nano, iso("2016-12-19T18:00:07.342Z"));
    assert_eq!(kafka.severity.text.as_deref(), Some("INFO"));
    assert_eq!(kafka.attributes["thread.name"], json!("Controller 0"));

    let hadoop = one(
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster",
        Some("log4j"),
    );
    assert_eq!(
        hadoop.attributes["logger"],
        json!("org.apache.hadoop.mapreduce.v2.app.MRAppMaster")
    );
    assert_eq!(hadoop.body, "Created MRAppMaster");

    let python = one("2026-11-22 07:00:00,250 - WARNING - retrying in 5s", None);
    assert_eq!(python.severity.number, 13);
    assert_eq!(python.timestamp_unix_nano, iso("2026-11-22T07:00:00.25Z"));
}

#[test]
fn klog() {
    let event = one(
        "E1122 07:30:00.123456    4242 reflector.go:138] failed to list *v1.Pod: connection refused",
        None,
    );
    assert_eq!(event.attributes["log.format"], json!("klog"));
    assert_eq!(
        event.timestamp_unix_nano,
        iso("2026-11-22T07:30:00.123456Z")
    );
    assert_eq!(event.severity.number, 17);
    assert_eq!(event.attributes["code.location"], json!("reflector.go:138"));
    assert_eq!(event.attributes["thread.id"], json!("4242"));
    assert_eq!(event.body, "failed to list *v1.Pod: connection refused");
}

#[test]
fn container_wrappers_are_unwrapped_and_the_inner_line_parsed() {
    let docker = one(
        r#"{"log":"{\"level\":\"error\",\"msg\":\"db down\"}\n","stream":"stderr","time":"2026-11-22T07:00:00.5Z"}"#,
        None,
    );
    assert_eq!(docker.attributes["log.format"], json!("json"));
    assert_eq!(docker.body, "db down");
    assert_eq!(docker.severity.number, 17);
    assert_eq!(docker.attributes["container.stream"], json!("stderr"));
    // The inner line has no time: the runtime's stands in, without a flag.
    assert_eq!(docker.timestamp_unix_nano, iso("2026-11-22T07:00:00.5Z"));
    assert_eq!(docker.parse_error, None);

    let cri = parse(
        &[
            "2026-11-22T07:00:01.000000001Z stdout F 2026-11-22 07:00:00,999 WARN [main] app.Main: slow start",
            "2026-11-22T07:00:02Z stderr P first half of a long li",
        ],
        Some("cri"),
    );
    assert_eq!(cri[0].attributes["log.format"], json!("log4j"));
    assert_eq!(cri[0].timestamp_unix_nano, iso("2026-11-22T07:00:00.999Z"));
    assert_eq!(cri[0].severity.number, 13);
    assert_eq!(cri[0].body, "slow start");
    assert_eq!(cri[1].attributes["container.partial"], json!(true));
    assert_eq!(cri[1].body, "first half of a long li");
}

#[test]
fn user_patterns_with_strftime_and_zone() {
    let config = ParserConfig {
        patterns: vec![PatternConfig {
            name: "legacy".into(),
            regex: loghaul_config::Pattern::new(
                r"^(?P<timestamp>\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d) <(?P<level>\w+)> (?P<module>\w+): (?P<message>.*)$",
            )
            .expect("regex"),
            timezone: loghaul_config::TimeZoneSpec::Named("Europe/Berlin".into()),
            timestamp_format: Some("%d.%m.%Y %H:%M:%S".into()),
        }],
        ..ParserConfig::default()
    };
    let mut parser = Parser::new(&config).expect("parser");
    let events = parse_with(
        &mut parser,
        &[
            "22.11.2026 08:00:00 <Warnung> billing: invoice late",
            "not in the pattern at all",
        ],
        Some("regex:legacy"),
    );
    // Berlin is UTC+1 in November.
    assert_eq!(events[0].timestamp_unix_nano, iso("2026-11-22T07:00:00Z"));
    assert_eq!(events[0].severity.text.as_deref(), Some("Warnung"));
    assert_eq!(events[0].attributes["module"], json!("billing"));
    assert_eq!(events[0].body, "invoice late");
    assert_eq!(events[0].parse_error, None);
    let missed = &events[1];
    assert_eq!(missed.body, "not in the pattern at all");
    let error = missed.parse_error.as_deref().expect("flagged");
    assert!(error.contains("regex:legacy does not match"), "{error}");
    assert!(error.contains("no timestamp found"), "{error}");
}

#[test]
fn naive_stamps_take_the_source_zone() {
    let lines: Vec<&[u8]> = vec![
        b"2026-07-01 12:00:00 INFO summer",
        b"2026-01-01 12:00:00 INFO winter",
    ];
    let mut parser = Parser::new(&ParserConfig::default()).expect("parser");
    let events = parse_checked(&mut parser, &batch(&lines, None, "America/New_York"));
    assert_eq!(events[0].timestamp_unix_nano, iso("2026-07-01T16:00:00Z"));
    assert_eq!(events[1].timestamp_unix_nano, iso("2026-01-01T17:00:00Z"));
    let fixed = parse_checked(
        &mut Parser::new(&ParserConfig::default()).expect("parser"),
        &batch(&lines[..1], None, "+05:30"),
    );
    assert_eq!(fixed[0].timestamp_unix_nano, iso("2026-07-01T06:30:00Z"));
}

#[test]
fn nothing_is_dropped() {
    let lines: Vec<&[u8]> = vec![
        b"just some words",
        b"",
        b"\xff\xfe binary \x00 junk",
        b"{\"broken\": json",
        b"ERROR without any time",
    ];
    let mut parser = Parser::new(&ParserConfig::default()).expect("parser");
    let events = parse_checked(&mut parser, &batch(&lines, None, "UTC"));
    assert_eq!(events.len(), lines.len());
    for (event, line) in events.iter().zip(&lines) {
        assert_eq!(event.body, String::from_utf8_lossy(line));
        assert_eq!(event.timestamp_unix_nano, READ_TIME);
        assert!(
            event
                .parse_error
                .as_deref()
                .is_some_and(|error| error.contains("no timestamp found")),
            "{event:?}"
        );
    }
    assert_eq!(events[2].attributes["log.invalid_utf8"], json!(true));
    assert_eq!(events[4].severity.number, 17);

    // An explicit format that the line is not in says why.
    let json = parse_checked(&mut parser, &batch(&[b"{\"a\": 1"], Some("json"), "UTC"));
    let error = json[0].parse_error.as_deref().expect("flagged");
    assert!(
        error.starts_with("invalid JSON: EOF while parsing an object"),
        "{error}"
    );
}

#[test]
fn ids_and_provenance_follow_the_record() {
    let events = parse(&["a", "bb"], None);
    assert_eq!(events[0].offset, 0);
    assert_eq!(events[1].offset, 2);
    assert_ne!(events[0].id, events[1].id);
    assert_eq!(
        events[1].id,
        loghaul_model::EventId::new(
            "web-1",
            &FileIdentity {
                device: 1,
                inode: 2,
                fingerprint: 3
            },
            2
        )
    );
    assert_eq!(events[0].observed_timestamp_unix_nano, READ_TIME);
    assert_eq!(&*events[0].resource.source, "/var/log/test.log");
}

#[test]
fn auto_switches_when_the_source_changes_format() {
    let mut parser = Parser::new(&ParserConfig::default()).expect("parser");
    let json_line = r#"{"time":"2026-11-22T07:00:00Z","level":"info","msg":"j"}"#;
    let first = parse_with(&mut parser, &[json_line; 3], None);
    assert!(
        first
            .iter()
            .all(|event| event.attributes["log.format"] == json!("json"))
    );
    let logfmt_line = "time=2026-11-22T07:00:00Z level=info msg=l";
    let after = parse_with(&mut parser, &[logfmt_line; 12], None);
    // Every record is read by the format that fits it, switched or not.
    assert!(
        after
            .iter()
            .all(|event| event.attributes["log.format"] == json!("logfmt"))
    );
    assert!(after.iter().all(|event| event.parse_error.is_none()));
}

/// This machine's MariaDB 10.11 error log (a space-padded hour, a thread
/// id, `[Note]` and `[Warning]`) and Mosquitto 2.0.11 log (epoch seconds,
/// no levels: `Config loaded` is a message, not the level CONFIG).
#[test]
fn mariadb_and_mosquitto_logs_from_this_machine_keep_time_and_level() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/this-machine");
    let text = std::fs::read_to_string(dir.join("mariadb-10.11.log")).expect("mariadb");
    let lines: Vec<&str> = text.lines().collect();
    let events = parse(&lines, None);
    assert_eq!(events.len(), lines.len());
    let mut levels = std::collections::BTreeMap::new();
    for (line, event) in lines.iter().zip(&events) {
        if line.starts_with("Version: ") {
            // The second line of "ready for connections": no stamp of its
            // own, so kept and flagged.
            assert!(event.parse_error.is_some(), "{line}");
            continue;
        }
        assert!(
            event.parse_error.is_none(),
            "{line}: {:?}",
            event.parse_error
        );
        assert!(
            (iso("2026-11-30T07:59:33Z")..=iso("2026-11-30T07:59:34Z"))
                .contains(&event.timestamp_unix_nano),
            "time of {line}"
        );
        *levels
            .entry((
                event.severity.text.clone().unwrap_or_default(),
                event.severity.number,
            ))
            .or_insert(0) += 1;
        assert!(!event.body.starts_with("2026"), "{line}");
    }
    assert_eq!(
        levels.into_iter().collect::<Vec<_>>(),
        [
            (("Note".to_owned(), 9), 18),
            (("Warning".to_owned(), 13), 1)
        ]
    );

    let text = std::fs::read_to_string(dir.join("mosquitto-2.0.11.log")).expect("mosquitto");
    let lines: Vec<&str> = text.lines().collect();
    let events = parse(&lines, None);
    for (line, event) in lines.iter().zip(&events) {
        assert!(event.parse_error.is_none(), "{line}");
        assert_eq!(event.severity.text, None, "no level in {line}");
        let seconds: i64 = line
            .split(':')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("epoch");
        assert_eq!(event.timestamp_unix_nano, seconds * 1_000_000_000, "{line}");
    }
}

/// Start-up logs of this machine's own PostgreSQL 15 and Redis 7 (copied
/// unchanged into tests/data/this-machine): every line keeps its own time
/// and a level, none is read as syslog.
#[test]
fn postgresql_and_redis_logs_from_this_machine_keep_time_and_level() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/this-machine");
    for (file, levels) in [
        ("postgresql-15.log", vec!["LOG"]),
        ("redis-7.0.15.log", vec!["WARNING", "NOTICE"]),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).expect(file);
        let lines: Vec<&str> = text.lines().collect();
        let events = parse(&lines, None);
        assert_eq!(events.len(), lines.len());
        for (line, event) in lines.iter().zip(&events) {
            assert!(event.parse_error.is_none(), "{file}: {line}");
            let level = event.severity.text.as_deref().unwrap_or_default();
            assert!(
                levels.contains(&level),
                "{file}: level {level:?} for {line}"
            );
            assert!(event.severity.number > 0, "{file}: {line}");
            // 2026-11-30 01:13–01:22 UTC, from the line, not the read time.
            assert!(
                (iso("2026-11-30T01:13:00Z")..iso("2026-11-30T01:23:00Z"))
                    .contains(&event.timestamp_unix_nano),
                "{file}: time of {line}"
            );
            assert!(!event.attributes.contains_key("syslog.hostname"), "{line}");
        }
    }
}

#[test]
fn a_source_that_alternates_formats_line_by_line_reads_each_right() {
    // auto keeps the first format for 8 refusals, and tries the format that
    // read the last refused line next: neither may misread a line.
    let shapes = [
        (
            r#"{"time":"2026-11-29T10:00:00Z","level":"warn","msg":"j"}"#,
            "json",
            13,
        ),
        (
            "2026-11-29 10:00:00,123 ERROR [main] com.a.B: l",
            "log4j",
            17,
        ),
        ("ts=2026-11-29T10:00:00Z level=debug msg=f", "logfmt", 5),
        (
            r#"10.0.0.1 - - [29/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 404 1 "-" "c""#,
            "combined",
            13,
        ),
    ];
    let lines: Vec<&str> = (0..40)
        .map(|at| shapes[(at % 4) ^ (at / 7 % 2)].0)
        .collect();
    let events = parse(&lines, None);
    for (line, event) in lines.iter().zip(&events) {
        let (_, format, severity) = shapes.iter().find(|shape| shape.0 == *line).expect("shape");
        assert_eq!(event.attributes["log.format"], json!(format), "{line}");
        assert_eq!(event.severity.number, *severity, "{line}");
        assert_eq!(
            event.timestamp_unix_nano,
            iso("2026-11-29T10:00:00Z") + if *format == "log4j" { 123_000_000 } else { 0 },
            "{line}"
        );
    }
}

/// Lines of every shape the formats read, with text from the generator
/// spliced into them: quotes, backslashes, braces and `=` included.
fn any_line() -> impl proptest::strategy::Strategy<Value = (Vec<u8>, bool)> {
    use proptest::prelude::*;
    let text = "[a-zA-Z0-9 =\"\\\\{}\\[\\]:.,é-]{0,16}";
    let shapes = prop_oneof![
        text.prop_map(|t| format!(
            r#"{{"time":"2026-11-29T10:00:00.5Z","level":"warn","msg":"{t}","a":1,"a":"two","log":{{"level":"x"}},"n":[1,{{"b":null}}]}}"#
        )),
        text.prop_map(|t| format!(
            r#"{{"t":{{"$date":"2026-11-29T10:00:00Z"}},"s":"W","c":"NET","msg":"{t}","s":"I"}}"#
        )),
        text.prop_map(|t| format!(
            r#"ts=2026-11-29T10:00:00Z level=info msg="{}" k=v k={t:?} bare"#,
            t.replace('"', "\\\"")
        )),
        text.prop_map(|t| format!(
            r#"10.0.0.{} - ada [29/Nov/2026:10:00:00 +0100] "GET /{t} HTTP/1.1" 503 12 "-" "curl/8""#,
            t.len()
        )),
        text.prop_map(|t| format!(
            r#"<34>1 2026-11-29T10:00:00Z host app 12 ID47 [ex@1 a="{}" b="c"] {t}"#,
            t.replace(['"', '\\', ']'], "")
        )),
        text.prop_map(|t| format!("Nov 29 10:00:00 host sshd[1]: {t}")),
        text.prop_map(|t| format!("I1129 10:00:00.123456    1234 server.go:42] {t}")),
        text.prop_map(|t| format!("2026-11-29 10:00:00,123 [main] ERROR com.a.B - {t}")),
        text.prop_map(|t| format!(
            r#"{{"log":"2026-11-29T10:00:00Z ERROR {}\n","stream":"stderr","time":"2026-11-29T10:00:00.1Z"}}"#,
            t.replace(['"', '\\'], "")
        )),
        text.prop_map(|t| format!("2026-11-29T10:00:00.1Z stdout F level=warn msg={t}")),
        text.prop_map(|t| format!("2026-11-29 10:00:00.026 UTC [2223] LOG:  {t}")),
        text.prop_map(|t| t),
    ];
    (
        prop_oneof![
            4 => shapes.prop_map(String::into_bytes),
            1 => proptest::collection::vec(any::<u8>(), 0..40),
        ],
        any::<bool>(),
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// The worker's path (`parse_batch_encoded`, straight to bytes) and
    /// `parse_batch` then encoding give the same message, whatever the
    /// lines, the format and the flags.
    #[test]
    fn the_encoded_path_writes_what_encoding_the_events_does(
        lines in proptest::collection::vec(any_line(), 1..24),
        hint in proptest::sample::select(vec![
            None, Some("json"), Some("logfmt"), Some("syslog"), Some("combined"),
            Some("klog"), Some("log4j"), Some("plain"), Some("docker"), Some("cri"),
            Some("regex:legacy"), Some("nonsense"),
        ]),
        zone in proptest::sample::select(vec!["UTC", "Europe/Berlin", "Mars/Olympus"]),
    ) {
        let texts: Vec<&[u8]> = lines.iter().map(|(line, _)| line.as_slice()).collect();
        let mut raw = batch(&texts, hint, zone);
        for (record, (_, truncated)) in raw.records.iter_mut().zip(&lines) {
            record.flags.truncated = *truncated;
        }
        let config = ParserConfig {
            patterns: vec![PatternConfig {
                name: "legacy".into(),
                regex: loghaul_config::Pattern::new(r"^(?P<timestamp>\S+ \S+) (?P<level>\w+) (?P<k>\w+)? ?(?P<message>.*)$")
                    .expect("regex"),
                timezone: loghaul_config::TimeZoneSpec::Utc,
                timestamp_format: None,
            }],
            ..ParserConfig::default()
        };
        let mut parser = Parser::new(&config).expect("parser");
        // Twice: the second batch starts from what auto learnt.
        parse_checked(&mut parser, &raw);
        parse_checked(&mut parser, &raw);
    }
}
