//! `loghaul query`: search from the terminal, against a server or a local
//! data directory.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use loghaul_indexer::api::{ErrorBody, parse_duration, parse_time, time_ago};
use loghaul_indexer::client::{Client, encode};
use loghaul_indexer::control::Control;
use loghaul_indexer::page::{CountAnswer, SearchPage};
use loghaul_indexer::search::{SearchRequest, Searcher};
use loghaul_model::Event;
use loghaul_model::time::UtcDateTime;

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
QUERY is Lucene-style:
  timeout                         a word in the message
  \"connection reset\"              a phrase
  level:ERROR host:web-1          exact values of host, source, service, level
                                  (source: the path or the source's name)
                                  (a level word finds every spelling of its
                                  level; quoted, only as written)
  http.response.status_code:500   an attribute, by its JSON path
  status:[500 TO 599]  severity:>=17   ranges
  time*  us?r                     wildcards
  a AND b  a OR b  NOT a  -a  (a OR b) c   (adjacent terms are ANDed)

Times: --since takes a duration (90s, 15m, 2h, 7d); --from and --to take RFC
3339 (2026-11-22T08:00:00Z), a date (2026-11-22, its midnight UTC), Unix
seconds, or a duration meaning that long ago.

Output: up to 1,000 events (one page) print oldest first, so the newest is
last. More (-n 5000, or -n 0 / --all for every match) are fetched page by page
through the server's cursor and printed newest first as each page arrives, so
memory stays bounded however many match. Equal timestamps keep file order.
--json prints one JSON event per line. Colour only on a terminal and never with NO_COLOR set. Control
characters and escape sequences in log text are shown escaped (\\x1b), never
sent to the terminal.

Exit codes:
  0  the query ran (whether or not anything matched; see --count)
  1  the server or the data directory could not be read
  2  bad usage or a bad query (the message points at the position)

Examples:
  loghaul query 'level:ERROR' --since 1h
  loghaul query 'payment AND NOT status:200' --host web-1 --json | jq .body
  loghaul query --count 'timeout' --since 1d
  loghaul query --all --json 'level:ERROR' --since 7d > errors.ndjson
  loghaul query -f 'level:ERROR'
  loghaul query --data-dir ./loghaul-data 'panic'";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args, Debug)]
pub(crate) struct QueryArgs {
    /// The query; empty matches everything.
    #[arg(default_value = "")]
    query: String,
    /// Only events of the last DURATION (15m, 2h, 7d).
    #[arg(long, value_name = "DURATION", conflicts_with = "from")]
    since: Option<String>,
    /// From this time (RFC 3339, Unix seconds, or a duration ago).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Up to this time, exclusive.
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// Only this host (repeatable: any of them).
    #[arg(long, value_name = "HOST")]
    host: Vec<String>,
    /// Only this level as written, e.g. ERROR (repeatable).
    #[arg(long, value_name = "LEVEL")]
    level: Vec<String>,
    /// Only this source: its configured name or its path (repeatable; *
    /// wildcards allowed, e.g. nginx or '/var/log/*.log').
    #[arg(long, value_name = "NAME|PATH")]
    source: Vec<String>,
    /// At most this many events; 0 for every match (paged through).
    #[arg(short = 'n', long, default_value_t = 100, value_name = "N")]
    limit: usize,
    /// Every matching event, however many (the same as -n 0).
    #[arg(long, conflicts_with = "limit")]
    all: bool,
    /// One JSON event per line.
    #[arg(long)]
    json: bool,
    /// Print only how many events match.
    #[arg(long, conflicts_with_all = ["json", "follow"])]
    count: bool,
    /// Keep printing new matching events as they are indexed.
    #[arg(short = 'f', long)]
    follow: bool,
    /// The search API [default: the address a local run or index noted in
    /// loghaul-data/api-address, else http://127.0.0.1:7700].
    #[arg(
        long,
        env = "LOGHAUL_SERVER",
        value_name = "URL",
        conflicts_with = "data_dir"
    )]
    server: Option<String>,
    /// Bearer token for the server [default: the token file
    /// loghaul-data/api-token of a local run or index, when readable].
    #[arg(
        long,
        env = "LOGHAUL_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// Read a local data directory instead of a server.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Also search what `loghaul archive reindex` rehydrated from the archive.
    #[arg(long, conflicts_with = "follow")]
    rehydrated: bool,
    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// RFC 3339, a date (its midnight UTC), Unix time, or a duration ago.
pub(crate) fn time_arg(flag: &str, text: &str) -> Result<i64, BadInput> {
    if let Ok(duration) = parse_duration(text) {
        return time_ago(duration, loghaul_model::time::now_unix_nano())
            .map_err(|message| BadInput(format!("--{flag}: {message}")));
    }
    let is_date = text.len() == 10
        && text.bytes().enumerate().all(|(index, byte)| {
            matches!(
                (index, byte),
                (4 | 7, b'-') | (0..=3 | 5 | 6 | 8 | 9, b'0'..=b'9')
            )
        });
    let text = if is_date {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    parse_time(&text).map_err(|message| BadInput(format!("--{flag}: {message}")))
}

fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The user's query plus the filter flags, checked first on its own so that
/// an error points into what the user typed.
fn full_query(args: &QueryArgs) -> Result<String, BadInput> {
    loghaul_indexer::query::parse(&args.query)
        .map_err(|error| BadInput(format!("bad query: {}", error.render(&args.query))))?;
    let filtered = !(args.host.is_empty() && args.level.is_empty() && args.source.is_empty());
    if !filtered {
        // Sent as typed: its nesting is what the user wrote.
        return Ok(args.query.clone());
    }
    let mut parts = Vec::new();
    if !args.query.trim().is_empty() {
        parts.push(format!("({})", args.query));
    }
    for (field, values) in [
        ("host", &args.host),
        ("level", &args.level),
        ("source", &args.source),
    ] {
        if values.is_empty() {
            continue;
        }
        let any: Vec<String> = values
            .iter()
            .map(|value| {
                if field == "source" && value.contains(['*', '?']) {
                    format!("source:{}", value.replace(' ', "\\ "))
                } else {
                    format!("{field}:{}", quote(value))
                }
            })
            .collect();
        parts.push(format!("({})", any.join(" OR ")));
    }
    Ok(parts.join(" AND "))
}

/// Log text made safe for a terminal: C0 and C1 controls and DEL become
/// visible escapes; a newline continues on an indented line.
pub(crate) fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\n    "),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

struct Printer {
    json: bool,
    color: bool,
}

impl Printer {
    fn print(&self, out: &mut impl Write, event: &Event) -> std::io::Result<()> {
        if self.json {
            serde_json::to_writer(&mut *out, event).map_err(std::io::Error::other)?;
            return writeln!(out);
        }
        let time = UtcDateTime::from_unix_nano(event.timestamp_unix_nano);
        let millis = event.timestamp_unix_nano.rem_euclid(1_000_000_000) / 1_000_000;
        let stamp = format!(
            "{}T{:02}:{:02}:{:02}.{millis:03}Z",
            time.date_string(),
            time.hour,
            time.minute,
            time.second
        );
        let level = sanitize(event.severity.text.as_deref().unwrap_or("-"));
        let (on, off) = match (self.color, event.severity.number) {
            (false, _) => ("", ""),
            (true, 17..) => ("\x1b[31m", "\x1b[0m"),
            (true, 13..=16) => ("\x1b[33m", "\x1b[0m"),
            (true, 9..=12) => ("\x1b[32m", "\x1b[0m"),
            (true, 1..=8) => ("\x1b[34m", "\x1b[0m"),
            (true, _) => ("", ""),
        };
        let (dim, undim) = if self.color {
            ("\x1b[2m", "\x1b[0m")
        } else {
            ("", "")
        };
        writeln!(
            out,
            "{dim}{stamp}{undim} {on}{level:<5}{off} {dim}{}{undim} {}",
            sanitize(&event.resource.host),
            sanitize(&event.body)
        )
    }
}

enum Backend {
    Server(Client),
    /// The shards' searchers, and whether rehydrations are included.
    Local(Vec<Searcher>, bool),
}

impl Backend {
    fn open(args: &QueryArgs) -> anyhow::Result<Self> {
        if let Some(dir) = &args.data_dir {
            let index = dir.join("index");
            let mut shards: Vec<u32> = std::fs::read_dir(&index)
                .map_err(|error| anyhow::anyhow!("{}: {error}", index.display()))?
                .flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .collect();
            shards.sort_unstable();
            return Ok(Backend::Local(
                shards
                    .into_iter()
                    .map(|shard| Searcher::new(dir, shard))
                    .collect(),
                args.rehydrated,
            ));
        }
        // A local `run` or `index` on defaults notes where it listens.
        let url = crate::api_token::server_for_client(args.server.as_deref(), None);
        // A local `run` or `index` on defaults keeps its token in the
        // default data directory, readable by the user it runs as.
        let token = crate::api_token::for_client(args.token.as_deref(), None);
        Ok(Backend::Server(
            Client::new(&url, token).map_err(|error| BadInput(error.to_string()))?,
        ))
    }
}

/// A server's error answer, as exit code 2 (bad input) or 1.
fn server_error(status: u16, body: &str, query: &str) -> anyhow::Error {
    let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .map_or_else(|| body.to_owned(), |parsed| parsed.error.clone());
    match status {
        400 => {
            let text = match parsed.and_then(|parsed| parsed.position) {
                Some(position) => {
                    loghaul_indexer::query::QueryError { message, position }.render(query)
                }
                None => message,
            };
            BadInput(format!("bad request: {text}")).into()
        }
        401 => BadInput(format!(
            "the server wants a token (--token or LOGHAUL_TOKEN; a server without indexer.token keeps it in <data_dir>/api-token): {message}"
        ))
        .into(),
        _ => anyhow::anyhow!("the server answered {status}: {message}"),
    }
}

impl Backend {
    /// One page of at most `limit` events after `cursor`.
    fn page(
        &self,
        text: &str,
        range: &str,
        (from, to): (Option<i64>, Option<i64>),
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<SearchPage> {
        match self {
            Backend::Server(client) => {
                let mut path = format!("/api/search?q={}&limit={limit}{range}", encode(text));
                if let Some(cursor) = cursor {
                    path.push_str(&format!("&cursor={}", encode(cursor)));
                }
                let answer = client.get(&path)?;
                if answer.status != 200 {
                    return Err(server_error(answer.status, &answer.body, text));
                }
                Ok(serde_json::from_str(&answer.body)?)
            }
            Backend::Local(searchers, rehydrated) => {
                let mut pages = Vec::new();
                for searcher in searchers {
                    pages.push(
                        searcher
                            .under(Control::unlimited())
                            .with_rehydrated(*rehydrated)
                            .search(&SearchRequest {
                                query: text.to_owned(),
                                from,
                                to,
                                limit,
                                cursor: cursor.map(str::to_owned),
                            })
                            .map_err(local_error)?,
                    );
                }
                Ok(SearchPage::merge(pages, limit, text))
            }
        }
    }
}

/// Prints up to `limit` matches (0: all), following the cursor page by
/// page. One page prints oldest first; more print newest first as pages
/// arrive, holding one page at a time.
fn print_matches(
    backend: &Backend,
    printer: &Printer,
    out: &mut impl Write,
    text: &str,
    range: &str,
    bounds: (Option<i64>, Option<i64>),
    limit: usize,
) -> anyhow::Result<()> {
    const PAGE: usize = loghaul_indexer::search::MAX_LIMIT;
    let single_page = limit != 0 && limit <= PAGE;
    let mut cursor: Option<String> = None;
    let mut printed = 0usize;
    loop {
        let want = if limit == 0 {
            PAGE
        } else {
            (limit - printed).min(PAGE)
        };
        let mut page = backend.page(text, range, bounds, want, cursor.as_deref())?;
        if single_page {
            page.events.reverse();
        }
        for event in &page.events {
            printer.print(out, event)?;
        }
        out.flush()?;
        printed += page.events.len();
        match page.next_cursor {
            Some(next) if limit == 0 || printed < limit => cursor = Some(next),
            _ => return Ok(()),
        }
    }
}

pub(crate) fn query(args: QueryArgs) -> anyhow::Result<()> {
    let limit = if args.all { 0 } else { args.limit };
    let text = full_query(&args)?;
    let from = match (&args.since, &args.from) {
        (Some(since), _) => Some(
            time_ago(
                parse_duration(since).map_err(|message| BadInput(format!("--since: {message}")))?,
                loghaul_model::time::now_unix_nano(),
            )
            .map_err(|message| BadInput(format!("--since: {message}")))?,
        ),
        (None, Some(from)) => Some(time_arg("from", from)?),
        (None, None) => None,
    };
    let to = args
        .to
        .as_deref()
        .map(|to| time_arg("to", to))
        .transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(BadInput("--from must be before --to".into()).into());
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        }
    };
    let printer = Printer {
        json: args.json,
        color: color && !args.json,
    };
    let backend = Backend::open(&args)?;
    let mut range = String::new();
    if let Some(from) = from {
        range.push_str(&format!("&from={from}"));
    }
    if let Some(to) = to {
        range.push_str(&format!("&to={to}"));
    }
    if args.rehydrated {
        range.push_str("&rehydrated=1");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());

    if args.count {
        let count = match &backend {
            Backend::Server(client) => {
                let answer = client.get(&format!("/api/count?q={}{range}", encode(&text)))?;
                if answer.status != 200 {
                    return Err(server_error(answer.status, &answer.body, &text));
                }
                serde_json::from_str::<CountAnswer>(&answer.body)?.count
            }
            Backend::Local(searchers, rehydrated) => {
                let mut total = 0;
                for searcher in searchers {
                    total += searcher
                        .under(Control::unlimited())
                        .with_rehydrated(*rehydrated)
                        .count(&text, from, to)
                        .map_err(local_error)?;
                }
                total
            }
        };
        writeln!(out, "{count}")?;
        out.flush()?;
        return Ok(());
    }

    if let Err(error) = print_matches(
        &backend,
        &printer,
        &mut out,
        &text,
        &range,
        (from, to),
        limit,
    ) {
        // A closed pipe (| head) ends the listing quietly.
        if error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|error| error.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return Ok(());
        }
        return Err(error);
    }
    if !args.follow {
        return Ok(());
    }
    match &backend {
        Backend::Server(client) => {
            let mut failure = None;
            let answer = client.stream(&format!("/api/tail?q={}", encode(&text)), |data| {
                match serde_json::from_str::<Event>(data) {
                    Ok(event) => {
                        if let Err(error) =
                            printer.print(&mut out, &event).and_then(|()| out.flush())
                        {
                            failure = Some(error);
                            return false;
                        }
                    }
                    Err(error) => {
                        failure = Some(std::io::Error::other(error));
                        return false;
                    }
                }
                true
            })?;
            if answer.status != 200 {
                return Err(server_error(answer.status, &answer.body, &text));
            }
            if let Some(error) = failure {
                // A closed pipe (| head) ends a follow quietly.
                if error.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(error.into());
                }
            }
            Ok(())
        }
        Backend::Local(searchers, _) => {
            let mut seen: Vec<u64> = searchers.iter().map(Searcher::latest_generation).collect();
            loop {
                std::thread::sleep(Duration::from_millis(500));
                for (searcher, seen) in searchers.iter().zip(seen.iter_mut()) {
                    let latest = searcher.latest_generation();
                    if latest <= *seen {
                        continue;
                    }
                    let events = searcher
                        .since_generation(&text, *seen, loghaul_indexer::search::MAX_LIMIT)
                        .map_err(local_error)?;
                    *seen = latest;
                    for event in &events {
                        printer.print(&mut out, event)?;
                    }
                    out.flush()?;
                }
            }
        }
    }
}

fn local_error(error: loghaul_indexer::search::SearchError) -> anyhow::Error {
    match error {
        loghaul_indexer::search::SearchError::Query(error) => {
            BadInput(format!("bad query: {}", error.message)).into()
        }
        loghaul_indexer::search::SearchError::Invalid(message) => BadInput(message).into(),
        other => anyhow::anyhow!(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(sanitize("a\rb\x07c\x7f"), "a\\x0db\\x07c\\x7f");
        assert_eq!(sanitize("line one\nline two"), "line one\n    line two");
        assert_eq!(sanitize("\u{9b}2J"), "\\x9b2J");
        assert_eq!(sanitize("evil\u{202e}txt"), "evil\\u{202e}txt");
    }
}
