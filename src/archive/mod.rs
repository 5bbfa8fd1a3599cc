//! `loghaul archive ls | verify | restore | reindex`: what auditors use to
//! prove what a host logged, from the raw files in the archive.

pub(crate) mod output;
mod reindex;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use futures_util::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};
use loghaul_archive::ObjectStore;
use loghaul_archive::catalog::{self, Entry, Listing, Selection};
use loghaul_archive::check::{self, Progress, Status, Verdict};
use loghaul_archive::restore::{self, Restored};
use loghaul_config::{Config, Secret};
use serde::Serialize;

use crate::exit::BadInput;

pub(crate) use reindex::ReindexArgs;

pub(crate) const HELP: &str = "\
Every subcommand reads the [archive] settings of a config file (-c), or takes
the archive as --archive URL (s3://bucket/prefix, file:///dir, or a directory)
with the S3 options as flags. --host, --source, --from and --to select what to
work on; --json prints JSON for scripts.

Objects are filed by host and by the day of their first record, so a host and
a range are listed day by day, never by scanning the whole bucket. Files that
began before --from are found when they began within --lookback (2d) of it.

Exit codes:
  0  everything selected is good
  1  something is not good: missing, corrupt, mismatched, refused, or failed
     (a store or disk error stopped its reading; run again)
  2  bad usage

Examples:
  loghaul archive ls -c /etc/loghaul/loghaul.toml --host web-1 --from 2026-11-01 --to 2026-12-01
  loghaul archive ls --archive s3://logs/prod --endpoint http://minio:9000 --path-style --estimate
  loghaul archive verify -c loghaul.toml --host web-1 --from 30d
  loghaul archive restore -c loghaul.toml --host web-1 --from 2026-11-22 --to 2026-11-23 --dest ./evidence
  (cd ./evidence && sha256sum -c SHA256SUMS)
  loghaul archive reindex -c loghaul.toml --host web-1 --from 2026-11-22 --to 2026-11-23 --ttl 7d";

/// What to work on and where it is, shared by every subcommand.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Common {
    /// Config file whose [archive] section names the store.
    #[arg(short, long, value_name = "FILE", env = "LOGHAUL_CONFIG")]
    config: Option<PathBuf>,
    /// The archive: s3://bucket/prefix, file:///dir, or a directory. Overrides the config's.
    #[arg(long, value_name = "URL")]
    archive: Option<String>,
    /// S3-compatible endpoint (MinIO, Ceph, R2, s3s-fs).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// S3 region.
    #[arg(long)]
    region: Option<String>,
    /// Address buckets as endpoint/bucket.
    #[arg(long)]
    path_style: bool,
    /// S3 access key id; else the config's keys, else the AWS chain
    /// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, IMDS).
    #[arg(long)]
    access_key_id: Option<String>,
    /// S3 secret access key (with --access-key-id).
    #[arg(long)]
    secret_access_key: Option<String>,
    /// Only this host, exactly as shipped.
    #[arg(long)]
    host: Option<String>,
    /// Only this source: a [[shipper.sources]] name from the config, or a path glob.
    #[arg(long, value_name = "NAME|GLOB")]
    source: Option<String>,
    /// Only files with records at or after this (RFC 3339, a date, or 7d for 7 days ago).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Only files with records before this.
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// How far before --from a file may have begun and still be found.
    #[arg(long, value_name = "DURATION", default_value = "2d")]
    lookback: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum ArchiveCommand {
    /// List archived files: host, source, times, sizes, lines, sha256, reason, retention.
    #[command(after_help = HELP)]
    Ls {
        #[command(flatten)]
        common: Common,
        /// Only count objects and bytes from the listing, reading no object.
        #[arg(long)]
        estimate: bool,
    },
    /// Read every selected object back and check its sha256, size and line count.
    #[command(after_help = HELP)]
    Verify {
        #[command(flatten)]
        common: Common,
        /// Objects checked at once.
        #[arg(long, default_value_t = default_jobs())]
        jobs: usize,
    },
    /// Restore selected files byte for byte into DIR/<host>/<source path>/<rotated name>.
    #[command(after_help = RESTORE_HELP)]
    Restore {
        #[command(flatten)]
        common: Common,
        /// Where to restore to; created if missing.
        #[arg(long, value_name = "DIR")]
        dest: PathBuf,
        /// Objects restored at once.
        #[arg(long, default_value_t = default_jobs())]
        jobs: usize,
    },
    /// Rehydrate selected files into their own searchable index for a while.
    #[command(after_help = reindex::HELP)]
    Reindex(ReindexArgs),
}

const RESTORE_HELP: &str = "\
Each file is streamed, gunzipped and hashed on the way, written beside its
final name, and renamed into place only once its sha256, size and line count
match the record. It never writes more than the recorded size (a gzip bomb is
stopped there). A file already restored with the right sha256 is skipped, so
a run that was stopped continues where it left off.

Names that would leave DIR ('..', absolute parts, control characters) and
symlinks inside DIR are refused. Each run writes an audit manifest,
DIR/loghaul-restore-<time>.json, and adds the files to DIR/SHA256SUMS:

  cd DIR && sha256sum -c SHA256SUMS

Exit codes: 0 all restored or already there; 1 anything not; 2 bad usage.";

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

pub(crate) fn archive(command: ArchiveCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match command {
            ArchiveCommand::Ls { common, estimate } => ls(&common, estimate).await,
            ArchiveCommand::Verify { common, jobs } => verify(&common, jobs).await,
            ArchiveCommand::Restore { common, dest, jobs } => {
                restore_into(&common, &dest, jobs).await
            }
            ArchiveCommand::Reindex(args) => reindex::reindex(args).await,
        }
    })
}

/// The config and the store the flags name.
pub(crate) struct Opened {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) selection: Selection,
}

pub(crate) async fn open(common: &Common) -> anyhow::Result<Opened> {
    let mut config = match &common.config {
        Some(path) => loghaul_config::load_file(path)?,
        None if common.archive.is_some() => Config::default(),
        None => {
            return Err(BadInput(
                "say which archive: -c FILE (its [archive] section) or --archive URL".into(),
            )
            .into());
        }
    };
    if let Some(url) = &common.archive {
        config.archive.url = Some(archive_url(url)?);
    }
    if let Some(endpoint) = &common.endpoint {
        config.archive.endpoint = Some(endpoint.clone());
    }
    if let Some(region) = &common.region {
        config.archive.region = region.clone();
    }
    if common.path_style {
        config.archive.force_path_style = true;
    }
    match (&common.access_key_id, &common.secret_access_key) {
        (Some(id), Some(secret)) => {
            config.archive.access_key_id = Some(Secret::new(id.clone()));
            config.archive.secret_access_key = Some(Secret::new(secret.clone()));
        }
        (None, None) => {}
        _ => {
            return Err(BadInput(
                "give both --access-key-id and --secret-access-key, or neither".into(),
            )
            .into());
        }
    }
    loghaul_config::ArchiveTarget::parse(config.archive.url.as_deref(), &config.data_dir)
        .map_err(|message| BadInput(format!("--archive: {message}")))?;
    let selection = selection(common, &config)?;
    let store = loghaul_archive::store_from_config(&config).await?;
    Ok(Opened {
        config,
        store,
        selection,
    })
}

/// A bare directory becomes a file:// URL.
fn archive_url(text: &str) -> Result<String, BadInput> {
    if text.starts_with("s3://") || text.starts_with("file://") {
        return Ok(text.to_owned());
    }
    if text.contains("://") {
        return Err(BadInput(format!(
            "--archive {text:?}: use s3://bucket/prefix, file:///dir or a directory"
        )));
    }
    let path = std::path::absolute(text)
        .map_err(|error| BadInput(format!("--archive {text:?}: {error}")))?;
    Ok(format!("file://{}", path.display()))
}

fn selection(common: &Common, config: &Config) -> Result<Selection, BadInput> {
    let from = common
        .from
        .as_deref()
        .map(|text| crate::query::time_arg("from", text))
        .transpose()?;
    let to = common
        .to
        .as_deref()
        .map(|text| crate::query::time_arg("to", text))
        .transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(BadInput("--from must be before --to".into()));
    }
    let lookback = loghaul_indexer::api::parse_duration(&common.lookback)
        .map_err(|message| BadInput(format!("--lookback: {message}")))?;
    let source = common
        .source
        .as_deref()
        .map(|text| source_globs(text, config))
        .transpose()?;
    Ok(Selection {
        host: common.host.clone(),
        source,
        from,
        to,
        lookback: i64::try_from(lookback.as_nanos()).unwrap_or(i64::MAX),
    })
}

/// A source name from the config stands for its paths; anything else is a glob.
fn source_globs(text: &str, config: &Config) -> Result<globset::GlobSet, BadInput> {
    let patterns: Vec<String> = match config
        .shipper
        .sources
        .iter()
        .find(|source| source.name == text)
    {
        Some(source) => source.paths.clone(),
        None => vec![text.to_owned()],
    };
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in &patterns {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|error| BadInput(format!("--source {text:?}: {error}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|error| BadInput(format!("--source {text:?}: {error}")))
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    output::write_stdout(&text)
}

async fn ls(common: &Common, estimate: bool) -> anyhow::Result<()> {
    let opened = open(common).await?;
    if estimate {
        let estimate = catalog::estimate(opened.store.as_ref(), &opened.selection).await?;
        if common.json {
            return print_json(&estimate);
        }
        return output::write_stdout(&format!(
            "{} objects, {} to read ({} prefixes listed{})\n",
            output::thousands(estimate.objects),
            output::bytes(estimate.bytes),
            estimate.prefixes.len(),
            if estimate.missing > 0 {
                format!("; {} records without their object", estimate.missing)
            } else {
                String::new()
            }
        ));
    }
    let listing = catalog::list(opened.store.clone(), &opened.selection).await?;
    if common.json {
        return print_json(&output::ListJson::new(&listing));
    }
    output::write_stdout(&output::list_table(&listing))
}

/// A progress bar over compressed bytes on a terminal; hidden when piped or
/// printing JSON.
fn progress_bar(total: u64, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Drawn at once, so even a short run shows what it is doing.
    bar.tick();
    bar
}

fn progress_of(bar: &ProgressBar) -> Progress {
    let bar = bar.clone();
    Arc::new(move |bytes| bar.inc(bytes))
}

fn compressed_total(listing: &Listing) -> u64 {
    listing
        .entries
        .iter()
        .filter_map(|entry| entry.object.as_ref().map(|object| object.size))
        .sum()
}

#[derive(Serialize)]
struct Summary {
    good: usize,
    missing: usize,
    corrupt: usize,
    mismatched: usize,
    refused: usize,
    failed: usize,
    foreign: usize,
}

impl Summary {
    fn of<'a>(verdicts: impl Iterator<Item = &'a Verdict>, foreign: usize) -> Self {
        let mut summary = Summary {
            good: 0,
            missing: 0,
            corrupt: 0,
            mismatched: 0,
            refused: 0,
            failed: 0,
            foreign,
        };
        for verdict in verdicts {
            *match verdict.status {
                Status::Good => &mut summary.good,
                Status::Missing => &mut summary.missing,
                Status::Corrupt => &mut summary.corrupt,
                Status::Mismatched => &mut summary.mismatched,
                Status::Refused => &mut summary.refused,
                Status::Failed => &mut summary.failed,
            } += 1;
        }
        summary
    }

    fn bad(&self) -> usize {
        self.missing + self.corrupt + self.mismatched + self.refused + self.failed
    }

    fn line(&self) -> String {
        let mut line = format!(
            "{} good, {} missing, {} corrupt, {} mismatched",
            self.good, self.missing, self.corrupt, self.mismatched
        );
        if self.refused > 0 {
            line.push_str(&format!(", {} refused", self.refused));
        }
        if self.failed > 0 {
            line.push_str(&format!(", {} failed (run again)", self.failed));
        }
        if self.foreign > 0 {
            line.push_str(&format!(
                "; {} objects outside the key layout not checked",
                self.foreign
            ));
        }
        line
    }
}

/// Exit 1 with a one-line reason when anything is not good.
fn outcome(summary: &Summary, what: &str) -> anyhow::Result<()> {
    if summary.bad() == 0 {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "{} of {} {what} not good",
        summary.bad(),
        summary.bad() + summary.good
    ))
}

async fn verify(common: &Common, jobs: usize) -> anyhow::Result<()> {
    let opened = open(common).await?;
    let listing = catalog::list(opened.store.clone(), &opened.selection).await?;
    let bar = progress_bar(compressed_total(&listing), common.json);
    let store = opened.store.clone();
    let mut verdicts: Vec<Verdict> = stream::iter(listing.entries.iter())
        .map(|entry| {
            let (store, progress) = (store.clone(), progress_of(&bar));
            async move {
                match check::check(store.as_ref(), entry, None, progress).await {
                    Ok((verdict, _)) => verdict,
                    Err(error) => {
                        Verdict::without_reading(&entry.key, Status::Failed, error.to_string())
                    }
                }
            }
        })
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    verdicts.sort_by(|a, b| a.key.cmp(&b.key));
    let summary = Summary::of(verdicts.iter(), listing.foreign.len());
    if common.json {
        print_json(&serde_json::json!({
            "results": verdicts,
            "foreign": listing.foreign,
            "summary": summary,
        }))?;
    } else {
        output::write_stdout(&output::verdict_table(&verdicts, &summary.line()))?;
    }
    outcome(&summary, "objects are")
}

/// The audit manifest a restore run leaves in DIR.
#[derive(Serialize)]
struct AuditManifest<'a> {
    tool: String,
    started: String,
    finished: String,
    archive: String,
    selection: serde_json::Value,
    destination: String,
    files: &'a [Restored],
    summary: &'a Summary,
}

async fn restore_into(common: &Common, dest: &Path, jobs: usize) -> anyhow::Result<()> {
    let started = rfc3339_now();
    let opened = open(common).await?;
    std::fs::create_dir_all(dest)
        .with_context(|| format!("create the destination {}", dest.display()))?;
    let dest = dest
        .canonicalize()
        .with_context(|| format!("resolve {}", dest.display()))?;
    let listing = catalog::list(opened.store.clone(), &opened.selection).await?;
    let bar = progress_bar(compressed_total(&listing), common.json);
    let store = opened.store.clone();
    // Objects bound for one path (one rotated name reused) go one after the
    // other, so the second sees the first in place and goes beside it.
    let mut groups: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for entry in &listing.entries {
        let target = entry
            .expected
            .as_ref()
            .and_then(|expected| restore::relative_target(expected).ok())
            .map_or_else(
                || format!("key:{}", entry.key),
                |path| path.display().to_string(),
            );
        groups.entry(target).or_default().push(entry);
    }
    let mut restored: Vec<Restored> = stream::iter(groups.into_values())
        .map(|group: Vec<&Entry>| {
            let (store, progress, dest) = (store.clone(), progress_of(&bar), dest.clone());
            async move {
                let mut done = Vec::with_capacity(group.len());
                for entry in group {
                    done.push(
                        match restore::restore(store.as_ref(), entry, &dest, progress.clone()).await
                        {
                            Ok(one) => one,
                            Err(error) => Restored::failed(&entry.key, error.to_string()),
                        },
                    );
                }
                done
            }
        })
        .buffer_unordered(jobs.max(1))
        .flat_map(stream::iter)
        .collect()
        .await;
    bar.finish_and_clear();
    restored.sort_by(|a, b| a.verdict.key.cmp(&b.verdict.key));
    // Whatever happened, what is in place is listed and accounted for.
    let sums: Vec<(String, String)> = restored
        .iter()
        .filter(|one| one.verdict.status == Status::Good)
        .filter_map(|one| Some((one.path.clone()?, one.verdict.sha256.clone()?)))
        .collect();
    restore::update_sums(&dest, &sums)?;
    let summary = Summary::of(
        restored.iter().map(|one| &one.verdict),
        listing.foreign.len(),
    );
    let manifest = AuditManifest {
        tool: format!("loghaul {}", env!("CARGO_PKG_VERSION")),
        started: started.clone(),
        finished: rfc3339_now(),
        archive: opened.store.describe(),
        selection: serde_json::json!({
            "host": common.host,
            "source": common.source,
            "from": opened.selection.from.map(output::rfc3339),
            "to": opened.selection.to.map(output::rfc3339),
            "lookback": common.lookback,
        }),
        destination: dest.display().to_string(),
        files: &restored,
        summary: &summary,
    };
    let manifest_path = dest.join(format!(
        "loghaul-restore-{}.json",
        started.replace([':', '-'], "").replace('.', "")
    ));
    restore::write_file(&manifest_path, &serde_json::to_vec_pretty(&manifest)?)?;
    if common.json {
        print_json(&serde_json::json!({
            "results": restored,
            "summary": summary,
            "manifest": manifest_path,
        }))?;
    } else {
        output::write_stdout(&output::restore_table(
            &restored,
            &summary.line(),
            &manifest_path,
        ))?;
    }
    outcome(&summary, "files are")
}

fn rfc3339_now() -> String {
    output::rfc3339(loghaul_model::time::now_unix_nano())
}
