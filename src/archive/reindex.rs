//! `loghaul archive reindex`: archived files back into a searchable index of
//! their own, for a while.
//!
//! Each selected object is streamed and verified like a restore (nothing
//! unverified is indexed), split into records with its source's settings
//! (line limit, multiline), parsed, and indexed under
//! `<data_dir>/rehydrated/<id>.partial`, renamed to `<id>` when complete.
//! Event ids are computed as at ingestion (host, file identity, offset), and
//! events the live index still holds are not indexed again, so a search
//! over both never shows one twice.

use std::io::Read;
use std::path::Path;

use indicatif::ProgressBar;
use loghaul_archive::catalog::{self, Entry};
use loghaul_archive::check::{self, Status};
use loghaul_indexer::rehydrated::{self, Rehydration};
use loghaul_indexer::search::{SearchRequest, Searcher};
use loghaul_indexer::store::ShardStore;
use loghaul_model::{EventBatch, RawBatch, RawRecord};
use loghaul_shipper::multiline::MultilineMerger;
use loghaul_shipper::records::{Line, RecordSplitter};
use loghaul_shipper::tailer::SourceSpec;

use super::{Common, open, output, print_json, progress_bar};
use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
Reads each selected archived file, verifies it (sha256, size, lines) like a
restore, and indexes its records into an index of its own under
data_dir/rehydrated/, where the API, the CLI (loghaul query --rehydrated) and
the web UI (the Rehydrated switch) search it beside the live index. It is
deleted when --ttl, counted from now, has passed.

Whole files are rehydrated, with the source's settings from the config (format,
time zone, line limit, multiline). Event ids are those of the original
ingestion: events the live index still holds are skipped, never doubled.

Before any work it prints how many files, bytes and lines the selection holds,
and refuses a selection over --max-events lines. Ctrl-C cancels and keeps
nothing.

Example:
  loghaul archive reindex -c loghaul.toml --host web-1 --from 2026-06-01 --to 2026-06-02 --ttl 7d
  loghaul query -c loghaul.toml --rehydrated 'level:ERROR' --from 2026-06-01 --to 2026-06-02";

/// Records per parsed batch.
const BATCH_RECORDS: usize = 2_000;
/// Documents between commits.
const COMMIT_EVERY: u64 = 200_000;

#[derive(clap::Args, Debug)]
pub(crate) struct ReindexArgs {
    #[command(flatten)]
    common: Common,
    /// How long the rehydration stays searchable, from now (90m, 7d).
    #[arg(long, value_name = "DURATION")]
    ttl: String,
    /// Refuse a selection holding more lines than this (each line is at most one event).
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    max_events: u64,
    /// Print the estimate and stop.
    #[arg(long)]
    dry_run: bool,
}

#[derive(serde::Serialize)]
struct ScanEstimate {
    files: usize,
    raw_bytes: u64,
    compressed_bytes: u64,
    lines: u64,
    max_events: u64,
}

pub(crate) async fn reindex(args: ReindexArgs) -> anyhow::Result<()> {
    // From the start: Ctrl-C at any point cancels cleanly.
    let cancel = crate::signals::shutdown_on_signal();
    let ttl = loghaul_indexer::api::parse_duration(&args.ttl)
        .map_err(|message| BadInput(format!("--ttl: {message}")))?;
    if ttl.is_zero() {
        return Err(BadInput("--ttl must be more than 0".into()).into());
    }
    let opened = open(&args.common).await?;
    let listing = catalog::list(opened.store.clone(), &opened.selection).await?;
    // Anything unreadable stops the rehydration before it starts: a
    // partial history would look complete.
    let unreadable: Vec<String> = listing
        .entries
        .iter()
        .filter_map(check::unreadable)
        .map(|verdict| {
            format!(
                "{}: {} ({})",
                verdict.key,
                verdict.status.as_str(),
                verdict.reason.unwrap_or_default()
            )
        })
        .collect();
    if !unreadable.is_empty() {
        anyhow::bail!(
            "{} selected objects cannot be read; nothing was rehydrated (run loghaul archive verify):\n  {}",
            unreadable.len(),
            unreadable.join("\n  ")
        );
    }
    let estimate = ScanEstimate {
        files: listing.entries.len(),
        raw_bytes: listing
            .entries
            .iter()
            .filter_map(|entry| Some(entry.expected.as_ref()?.manifest.raw_size))
            .sum(),
        compressed_bytes: listing
            .entries
            .iter()
            .filter_map(|entry| Some(entry.object.as_ref()?.size))
            .sum(),
        lines: listing
            .entries
            .iter()
            .filter_map(|entry| Some(entry.expected.as_ref()?.manifest.line_count))
            .sum(),
        max_events: args.max_events,
    };
    eprintln!(
        "reindex: {} files, {} raw ({} to download), {} lines: at most that many events",
        estimate.files,
        output::bytes(estimate.raw_bytes),
        output::bytes(estimate.compressed_bytes),
        output::thousands(estimate.lines)
    );
    if estimate.lines > args.max_events {
        return Err(BadInput(format!(
            "the selection holds {} lines, over --max-events {}: narrow --host, --source, --from/--to, or raise --max-events",
            output::thousands(estimate.lines),
            output::thousands(args.max_events)
        ))
        .into());
    }
    if args.dry_run {
        return if args.common.json {
            print_json(&estimate)
        } else {
            Ok(())
        };
    }
    if listing.entries.is_empty() {
        return Err(BadInput("nothing in the archive matches the selection".into()).into());
    }
    let data_dir = opened.config.data_dir.clone();
    let now = loghaul_model::time::now_unix_nano();
    let id = format!(
        "{}-{:08x}",
        loghaul_model::time::UtcDateTime::from_unix_nano(now).compact_string(),
        (now as u64 ^ u64::from(std::process::id())) & 0xffff_ffff
    );
    // Held until the rename: a sweep deletes a partial build whose lock is free.
    let (partial, building) = rehydrated::start_building(&data_dir, &id)?;
    std::fs::create_dir_all(partial.join("work"))?;
    let bar = progress_bar(estimate.raw_bytes, args.common.json);
    let job = Job {
        specs: loghaul_shipper::sources_from_config(&opened.config)?,
        parser: loghaul_parser::Parser::new(&opened.config.parser)
            .map_err(|message| BadInput(format!("[parser]: {message}")))?,
        live: Searcher::new(&data_dir, 0),
        store: ShardStore::open(&partial, 0, 128 << 20)?,
        bar: bar.clone(),
        events: 0,
        skipped_live: 0,
    };
    let outcome = run_job(job, &listing.entries, &opened, &partial, &cancel).await;
    bar.finish_and_clear();
    let (events, skipped_live) = match outcome {
        Ok(counts) => counts,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(error.context("reindex stopped; nothing was kept"));
        }
    };
    let _ = std::fs::remove_dir_all(partial.join("work"));
    let rehydration = Rehydration {
        id: id.clone(),
        created_unix_nano: now,
        expires_unix_nano: now.saturating_add(i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX)),
        archive: opened.store.describe(),
        selection: serde_json::json!({
            "host": args.common.host,
            "source": args.common.source,
            "from": opened.selection.from.map(output::rfc3339),
            "to": opened.selection.to.map(output::rfc3339),
        }),
        files: listing.entries.len() as u64,
        events,
        skipped_live,
    };
    loghaul_archive::restore::write_file(
        &partial.join(rehydrated::FILE),
        &serde_json::to_vec_pretty(&rehydration)?,
    )?;
    let final_dir = rehydrated::root(&data_dir).join(&id);
    std::fs::rename(&partial, &final_dir)?;
    loghaul_durable::sync_dir(&rehydrated::root(&data_dir))?;
    drop(building);
    let _ = std::fs::remove_file(final_dir.join(rehydrated::LOCK));
    if args.common.json {
        return print_json(&rehydration);
    }
    output::write_stdout(&format!(
        "rehydrated {} events from {} files into {} ({} already in the live index, not doubled)\n\
         searchable until {}: loghaul query --rehydrated …, or the web UI's Rehydrated switch\n",
        output::thousands(events),
        listing.entries.len(),
        final_dir.display(),
        output::thousands(skipped_live),
        output::rfc3339(rehydration.expires_unix_nano),
    ))
}

struct Job {
    specs: Vec<SourceSpec>,
    parser: loghaul_parser::Parser,
    live: Searcher,
    store: ShardStore,
    bar: ProgressBar,
    events: u64,
    skipped_live: u64,
}

async fn run_job(
    mut job: Job,
    entries: &[Entry],
    opened: &super::Opened,
    partial: &Path,
    cancel: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<(u64, u64)> {
    for (index, entry) in entries.iter().enumerate() {
        if cancel.is_cancelled() {
            anyhow::bail!("cancelled");
        }
        let raw = partial.join("work").join(format!("{index}.raw"));
        let file = std::fs::File::create(&raw)?;
        let (verdict, file) = tokio::select! {
            checked = check::check(opened.store.as_ref(), entry, Some(file), check::no_progress()) => checked?,
            () = cancel.cancelled() => anyhow::bail!("cancelled"),
        };
        drop(file);
        if verdict.status != Status::Good {
            anyhow::bail!(
                "{}: {} ({})",
                entry.key,
                verdict.status.as_str(),
                verdict.reason.unwrap_or_default()
            );
        }
        let Some(expected) = entry.expected.clone() else {
            anyhow::bail!("{}: no record", entry.key);
        };
        let cancel = cancel.clone();
        job = tokio::task::spawn_blocking(move || -> anyhow::Result<Job> {
            job.index_file(&raw, &expected.manifest, &cancel)?;
            std::fs::remove_file(&raw)?;
            Ok(job)
        })
        .await??;
    }
    job.store.commit()?;
    let Job {
        store,
        events,
        skipped_live,
        ..
    } = job;
    store.close()?;
    Ok((events, skipped_live))
}

impl Job {
    /// Ids of `manifest`'s file that the live index holds.
    fn live_ids(
        &self,
        manifest: &loghaul_model::ArchiveManifest,
    ) -> anyhow::Result<std::collections::HashSet<String>> {
        let query = format!("file:\"{}\"", manifest.file.to_key());
        let mut ids = std::collections::HashSet::new();
        let mut cursor = None;
        loop {
            let page = self.live.search(&SearchRequest {
                query: query.clone(),
                from: None,
                to: None,
                limit: 1_000,
                cursor,
            })?;
            ids.extend(
                page.events
                    .iter()
                    .filter(|event| *event.resource.host == *manifest.host)
                    .map(|event| event.id.to_string()),
            );
            match page.next_cursor {
                Some(next) if !page.events.is_empty() => cursor = Some(next),
                _ => return Ok(ids),
            }
        }
    }

    fn index_file(
        &mut self,
        raw: &Path,
        manifest: &loghaul_model::ArchiveManifest,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<()> {
        let live = self.live_ids(manifest)?;
        let spec = self
            .specs
            .iter()
            .find(|spec| spec.matcher.matches(Path::new(&manifest.source_path)));
        let max_line_bytes = spec.map_or(1 << 20, |spec| spec.max_line_bytes);
        let mut merger = spec.and_then(|spec| {
            spec.multiline
                .as_ref()
                .map(|(rule, timeout)| MultilineMerger::new(rule.clone(), *timeout, max_line_bytes))
        });
        let labels = spec.map(|spec| spec.labels.clone()).unwrap_or_default();
        let mut splitter = RecordSplitter::new(0, max_line_bytes);
        let mut file = std::fs::File::open(raw)?;
        let mut buffer = vec![0u8; 1 << 20];
        let mut lines: Vec<Line> = Vec::new();
        let mut records: Vec<RawRecord> = Vec::new();
        let batch_for = |records: Vec<RawRecord>| RawBatch {
            host: manifest.host.clone(),
            source: manifest.source_path.clone(),
            file: manifest.file,
            format_hint: labels.format_hint.clone(),
            records,
            // Lines without a time of their own get the file's last one.
            read_time_unix_nano: manifest.last_timestamp_unix_nano,
            timezone: labels.timezone.clone(),
            service: labels.service.clone(),
            source_name: None,
        };
        let now = std::time::Instant::now();
        loop {
            if cancel.is_cancelled() {
                anyhow::bail!("cancelled");
            }
            let read = file.read(&mut buffer)?;
            if read == 0 {
                splitter.finish(&mut lines);
            } else {
                splitter.push(&buffer[..read], &mut lines);
                self.bar.inc(read as u64);
            }
            let mut merged = Vec::new();
            match merger.as_mut() {
                Some(merger) => {
                    for line in lines.drain(..) {
                        merger.push(line, now, &mut merged);
                    }
                    if read == 0 {
                        merger.flush(&mut merged);
                    }
                }
                None => merged.append(&mut lines),
            }
            records.extend(merged.into_iter().map(|line| line.record));
            while records.len() >= BATCH_RECORDS || (read == 0 && !records.is_empty()) {
                let take = records.len().min(BATCH_RECORDS);
                let rest = records.split_off(take);
                let batch = batch_for(std::mem::replace(&mut records, rest));
                self.add(&batch, &live)?;
            }
            if read == 0 {
                return Ok(());
            }
        }
    }

    fn add(
        &mut self,
        batch: &RawBatch,
        live: &std::collections::HashSet<String>,
    ) -> anyhow::Result<()> {
        let parsed = self.parser.parse_batch(batch);
        let before = parsed.len();
        let events: Vec<_> = parsed
            .into_iter()
            .filter(|event| !live.contains(&event.id.to_string()))
            .collect();
        self.skipped_live += (before - events.len()) as u64;
        self.events += events.len() as u64;
        self.store.add_batch(&EventBatch { events })?;
        if self.store.pending_documents() >= COMMIT_EVERY {
            self.store.commit()?;
        }
        Ok(())
    }
}
