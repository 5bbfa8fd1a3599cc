//! Search over a real shard store on disk: the query language, time ranges,
//! pages with cursors (through runs of equal timestamps), histograms,
//! facets, file context and the events of new generations.

use std::collections::HashSet;

use loghaul_indexer::page::Position;
use loghaul_indexer::search::{SearchError, SearchRequest, Searcher};
use loghaul_indexer::store::ShardStore;
use loghaul_model::{Event, EventBatch, EventId, FileIdentity, Resource, Severity};
use serde_json::json;

/// 2026-11-20T00:00:00Z.
const DAY0: i64 = 1_795_132_800_000_000_000;
const SECOND: i64 = 1_000_000_000;

fn file(n: u64) -> FileIdentity {
    FileIdentity {
        device: 1,
        inode: n,
        fingerprint: n,
    }
}

/// 300 events of file 1 over three days (one every 864 s), and 50 events of
/// file 2 that all share one timestamp (a batch stamped with its read time).
fn fixture() -> (tempfile::TempDir, Vec<Event>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = ShardStore::open(dir.path(), 0, 20 << 20).expect("store");
    let levels = ["INFO", "INFO", "WARN", "ERROR"];
    let mut all = Vec::new();
    let mut events = Vec::new();
    for index in 0..300u64 {
        let level = levels[(index % 4) as usize];
        let status = if level == "ERROR" {
            500 + (index / 4) % 4
        } else {
            200
        };
        let mut attributes = serde_json::Map::new();
        if index % 2 == 0 {
            // Flat dotted keys, as the parser writes them (`combined`,
            // OpenTelemetry names): searched by the same dotted path.
            attributes.insert("http.response.status_code".into(), json!(status));
            attributes.insert("http.method".into(), json!("GET"));
        } else {
            attributes.insert(
                "http".into(),
                json!({"response": {"status_code": status}, "method": "GET"}),
            );
        }
        attributes.insert("user".into(), json!(format!("user{}", index % 7)));
        events.push(Event {
            id: EventId::new("web-1", &file(1), index * 100),
            timestamp_unix_nano: DAY0 + index as i64 * 864 * SECOND,
            observed_timestamp_unix_nano: 0,
            severity: Severity {
                text: Some(level.into()),
                number: loghaul_parser_free_number(level),
            },
            body: if index % 10 == 0 {
                format!("connection reset by peer after {index} ms")
            } else {
                format!("request {index} served in time")
            },
            attributes,
            resource: Resource {
                host: "web-1".into(),
                source: "/var/log/app.log".into(),
                service: Some("shop".into()),
                source_name: None,
            },
            file: file(1),
            offset: index * 100,
            parse_error: None,
        });
    }
    for chunk in events.chunks(60) {
        store
            .add_batch(&EventBatch {
                events: chunk.to_vec(),
            })
            .expect("add");
    }
    all.extend(events);
    let same_time: Vec<Event> = (0..50u64)
        .map(|index| Event {
            id: EventId::new("web-2", &file(2), index * 10),
            timestamp_unix_nano: DAY0 + 86_400 * SECOND + 3_600 * SECOND,
            observed_timestamp_unix_nano: 0,
            severity: Severity::default(),
            body: format!("stack frame {index}"),
            attributes: serde_json::Map::new(),
            resource: Resource {
                host: "web-2".into(),
                source: "/var/log/other.log".into(),
                service: None,
                source_name: None,
            },
            file: file(2),
            offset: index * 10,
            parse_error: Some("no timestamp found; the read time stands in".into()),
        })
        .collect();
    store
        .add_batch(&EventBatch {
            events: same_time.clone(),
        })
        .expect("add");
    all.extend(same_time);
    store.commit().expect("commit");
    store.close().expect("close");
    (dir, all)
}

fn loghaul_parser_free_number(level: &str) -> u8 {
    loghaul_model::level::from_word(level).unwrap_or(0)
}

/// Levels as programs spell them: `level:<word>` finds every spelling of
/// the word's level (by the severity number the parser gave each), and
/// still the word as written when it is no level at all.
#[test]
fn a_level_word_finds_every_spelling_of_its_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = ShardStore::open(dir.path(), 0, 20 << 20).expect("store");
    let spellings = [
        "ERROR", "error", "err", "E", "severe", "critical", "WARNING", "warn", "W", "Config",
        "LOG", "[Note]", "Audit",
    ];
    let events: Vec<Event> = spellings
        .iter()
        .enumerate()
        .map(|(index, level)| Event {
            id: EventId::new("levels", &file(9), index as u64),
            timestamp_unix_nano: DAY0 + index as i64 * SECOND,
            observed_timestamp_unix_nano: 0,
            severity: Severity {
                text: Some((*level).into()),
                number: loghaul_parser_free_number(level),
            },
            body: format!("line {index}"),
            attributes: serde_json::Map::new(),
            resource: Resource {
                host: "levels".into(),
                source: "/var/log/levels.log".into(),
                service: None,
                source_name: None,
            },
            file: file(9),
            offset: index as u64,
            parse_error: None,
        })
        .collect();
    store.add_batch(&EventBatch { events }).expect("add");
    store.commit().expect("commit");
    store.close().expect("close");
    let searcher = Searcher::new(dir.path(), 0);
    for (query, wanted) in [
        // ERROR, error, err, E, severe: one level (critical is the next).
        ("level:ERROR", 5),
        ("level:error", 5),
        ("level:E", 5),
        ("level:critical", 1),
        ("level:warn", 3),
        ("level:Warning", 3),
        // Config is a Java level word (DEBUG); LOG is PostgreSQL's INFO and
        // [Note] MariaDB's.
        ("level:debug", 1),
        ("level:info", 2),
        ("level:note", 2),
        // Quoted: exactly as written.
        ("level:\"[Note]\"", 1),
        ("level:\"ERROR\"", 1),
        // Not a level word: only as written.
        ("level:Audit", 1),
        ("level:audit", 0),
        ("level:ERROR OR level:warn", 8),
        ("-level:error", 8),
    ] {
        assert_eq!(count(&searcher, query), wanted, "{query}");
    }
}

fn count(searcher: &Searcher, query: &str) -> u64 {
    searcher
        .count(query, None, None)
        .unwrap_or_else(|error| panic!("{query}: {error}"))
}

#[test]
fn the_query_language_finds_what_it_says() {
    let (dir, _) = fixture();
    let searcher = Searcher::new(dir.path(), 0);
    assert_eq!(count(&searcher, ""), 350);
    assert_eq!(count(&searcher, "*"), 350);
    assert_eq!(count(&searcher, "reset"), 30);
    assert_eq!(count(&searcher, "\"reset by peer\""), 30);
    assert_eq!(count(&searcher, "\"peer by reset\""), 0);
    assert_eq!(count(&searcher, "level:ERROR"), 75);
    assert_eq!(
        count(&searcher, "level:error"),
        75,
        "a level word finds its level however it is spelled"
    );
    assert_eq!(count(&searcher, "level:ERROR OR level:WARN"), 150);
    assert_eq!(count(&searcher, "level:ERROR AND reset"), 0);
    assert_eq!(count(&searcher, "level:INFO AND reset"), 15);
    assert_eq!(count(&searcher, "reset -level:INFO"), 15);
    assert_eq!(count(&searcher, "NOT level:INFO"), 200);
    assert_eq!(
        count(&searcher, "(level:WARN OR level:ERROR) host:web-1"),
        150
    );
    assert_eq!(count(&searcher, "http.response.status_code:500"), 19);
    assert_eq!(
        count(&searcher, "attributes.http.response.status_code:500"),
        19
    );
    assert_eq!(
        count(&searcher, "http.response.status_code:[501 TO 503]"),
        56
    );
    assert_eq!(count(&searcher, "http.response.status_code:>=500"), 75);
    assert_eq!(count(&searcher, "http.method:GET"), 300);
    assert_eq!(count(&searcher, "user:user3"), 43);
    assert_eq!(count(&searcher, "serv*"), 270, "wildcards in the body");
    assert_eq!(count(&searcher, "s?rved"), 270);
    assert_eq!(count(&searcher, "host:web-*"), 350);
    assert_eq!(
        count(&searcher, "user:user*"),
        300,
        "wildcards on attributes"
    );
    assert_eq!(count(&searcher, "user:us?r3"), 43);
    assert_eq!(count(&searcher, "http.method:G*"), 300);
    assert_eq!(count(&searcher, "http.method:P*"), 0);
    assert_eq!(count(&searcher, "severity:>=13"), 150);
    assert_eq!(count(&searcher, "severity:17"), 75);
    assert_eq!(count(&searcher, "parse_error:timestamp"), 50);
    assert_eq!(count(&searcher, "service:shop"), 300);

    let error = searcher
        .count("level:ERROR AND (reset", None, None)
        .expect_err("bad");
    match error {
        SearchError::Query(error) => assert_eq!(error.position, 16),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        searcher.count("severity:high", None, None),
        Err(SearchError::Query(_))
    ));
    // An empty shard still checks the query.
    let empty = tempfile::tempdir().expect("tempdir");
    let nothing = Searcher::new(empty.path(), 0);
    assert_eq!(nothing.count("level:ERROR", None, None).expect("count"), 0);
    assert!(nothing.count("(", None, None).is_err());
}

#[test]
fn time_ranges_and_pages_with_cursors() {
    let (dir, all) = fixture();
    let searcher = Searcher::new(dir.path(), 0);
    // Day 1 only: events 100..199 of file 1 plus the 50 same-time ones.
    let day1 = (
        Some(DAY0 + 86_400 * SECOND),
        Some(DAY0 + 2 * 86_400 * SECOND),
    );
    assert_eq!(searcher.days(day1.0, day1.1), ["2026-11-21"]);
    assert_eq!(searcher.count("", day1.0, day1.1).expect("count"), 150);

    // Pages of 7 through everything: each event exactly once, in order.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = searcher
            .search(&SearchRequest {
                query: String::new(),
                from: None,
                to: None,
                limit: 7,
                cursor: cursor.clone(),
            })
            .expect("page");
        seen.extend(page.events.iter().map(Position::of));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), all.len());
    let unique: HashSet<_> = seen.iter().map(|position| position.id).collect();
    assert_eq!(unique.len(), all.len(), "no event twice");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "newest first, equal times in file order");
    // The 50 same-time events of file 2 come in offset order.
    let same_time: Vec<u64> = seen
        .iter()
        .filter(|position| position.host == "web-2")
        .map(|position| position.offset)
        .collect();
    assert_eq!(
        same_time,
        (0..50).map(|index| index * 10).collect::<Vec<_>>()
    );

    let page = searcher
        .search(&SearchRequest {
            query: "level:ERROR".into(),
            limit: 5,
            ..SearchRequest::default()
        })
        .expect("page");
    assert_eq!(page.events.len(), 5);
    assert!(
        page.events
            .iter()
            .all(|event| event.severity.text.as_deref() == Some("ERROR"))
    );
    assert_eq!(page.events[0].offset, 299 * 100);
    assert!(
        searcher
            .search(&SearchRequest {
                limit: 0,
                ..SearchRequest::default()
            })
            .is_err()
    );
    assert!(
        searcher
            .search(&SearchRequest {
                limit: 5,
                cursor: Some("garbage".into()),
                ..SearchRequest::default()
            })
            .is_err()
    );
}

#[test]
fn histograms_facets_context_and_new_generations() {
    let (dir, _) = fixture();
    let searcher = Searcher::new(dir.path(), 0);
    let buckets = searcher
        .histogram(
            "host:web-1",
            DAY0,
            DAY0 + 3 * 86_400 * SECOND,
            86_400 * SECOND,
        )
        .expect("histogram");
    assert_eq!(
        buckets,
        vec![
            (DAY0, 100),
            (DAY0 + 86_400 * SECOND, 100),
            (DAY0 + 2 * 86_400 * SECOND, 100)
        ]
    );
    assert!(
        searcher
            .histogram("", DAY0, DAY0 + 86_400 * SECOND, 1)
            .is_err(),
        "too many buckets"
    );

    let levels = searcher
        .facets("", None, None, "level", 10)
        .expect("facets");
    assert_eq!(
        levels,
        vec![
            ("INFO".to_owned(), 150),
            ("ERROR".to_owned(), 75),
            ("WARN".to_owned(), 75)
        ]
    );
    let hosts = searcher
        .facets("reset", None, None, "host", 10)
        .expect("facets");
    assert_eq!(hosts, vec![("web-1".to_owned(), 30)]);
    assert!(searcher.facets("", None, None, "body", 10).is_err());
    // Attributes, flat or nested, text or numbers.
    let methods = searcher
        .facets("", None, None, "http.method", 10)
        .expect("facets");
    assert_eq!(methods, vec![("GET".to_owned(), 300)]);
    let statuses = searcher
        .facets(
            "level:ERROR",
            None,
            None,
            "attributes.http.response.status_code",
            10,
        )
        .expect("facets");
    assert_eq!(
        statuses.iter().map(|(_, n)| n).sum::<u64>(),
        75,
        "{statuses:?}"
    );
    assert_eq!(statuses.len(), 4, "{statuses:?}");
    assert!(statuses.iter().all(|(value, _)| value.starts_with("50")));

    let target = EventId::new("web-1", &file(1), 150 * 100).to_string();
    let (before, event, after) = searcher.context(&target, 3, 2).expect("context");
    assert_eq!(event.offset, 15_000);
    assert_eq!(
        before.iter().map(|e| e.offset).collect::<Vec<_>>(),
        [14_700, 14_800, 14_900]
    );
    assert_eq!(
        after.iter().map(|e| e.offset).collect::<Vec<_>>(),
        [15_100, 15_200]
    );
    assert!(matches!(
        searcher.context(&"0".repeat(32), 1, 1),
        Err(SearchError::NotFound(_))
    ));

    assert_eq!(
        searcher.since_generation("", 1, 100).expect("tail").len(),
        0
    );
    let recent = searcher
        .since_generation("level:ERROR", 0, 10)
        .expect("tail");
    assert_eq!(recent.len(), 10);
    assert!(
        recent
            .windows(2)
            .all(|pair| pair[0].timestamp_unix_nano <= pair[1].timestamp_unix_nano)
    );
}
