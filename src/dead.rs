//! `loghaul dead ls | show | replay | purge`: what is in `<prefix>.dead`.
//!
//! A message lands there when a parser or an indexer cannot use it: a batch
//! that does not decode, one from a newer build. Each keeps its bytes and
//! headers, plus why (`x-loghaul-reason`) and where it came from
//! (`x-loghaul-origin`). These commands list them without taking them, show
//! one decoded, send chosen ones back to the queue they came from (after a
//! fix or an upgrade), or delete them for good.

#![allow(clippy::print_stdout)] // a listing's output is the command's result

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use loghaul_model::codec::{self, MessageKind};
use loghaul_queue::{AmqpBroker, DeadLetter, QueueSettings};

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
Each dead letter is named by an id: the first 12 hex digits of its bytes'
SHA-256, the same in every listing.

Examples:
  loghaul dead ls -c loghaul.toml                  # id, origin, reason, size
  loghaul dead show -c loghaul.toml 3f2a9c0d11e4   # one, decoded
  loghaul dead replay -c loghaul.toml 3f2a9c0d11e4 # back to its queue
  loghaul dead replay -c loghaul.toml --all        # every one, after a fix
  loghaul dead purge -c loghaul.toml --all --yes   # delete for good

Listing takes nothing: each message is fetched unacknowledged and goes back
in its place. On RabbitMQ 4 a quorum queue counts that against its delivery
limit.

Exit codes: 0 done, 1 an id not found or the broker unreachable, 2 bad usage
(no --yes for a purge without a terminal, a queue that is not amqp).";

/// `loghaul dead …`
#[derive(Subcommand, Debug)]
pub(crate) enum DeadCommand {
    /// List dead letters: id, origin queue, reason and size.
    #[command(after_help = HELP)]
    Ls(ListArgs),
    /// Show one dead letter, decoded.
    #[command(after_help = HELP)]
    Show(ShowArgs),
    /// Send dead letters back to the queue they came from.
    #[command(after_help = HELP)]
    Replay(TakeArgs),
    /// Delete dead letters for good (asks first, or --yes).
    #[command(after_help = HELP)]
    Purge(PurgeArgs),
}

#[derive(Args, Debug)]
pub(crate) struct Common {
    /// The config file with the [queue] section (kind = "amqp").
    #[arg(short, long, value_name = "FILE", env = "LOGHAUL_CONFIG")]
    config: PathBuf,
    /// Look at no more than this many dead letters.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    common: Common,
    /// The dead letter's id, from `ls`.
    id: String,
}

#[derive(Args, Debug)]
pub(crate) struct TakeArgs {
    #[command(flatten)]
    common: Common,
    /// Ids from `ls`.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    ids: Vec<String>,
    /// Every dead letter (up to --limit).
    #[arg(long)]
    all: bool,
}

#[derive(Args, Debug)]
pub(crate) struct PurgeArgs {
    #[command(flatten)]
    take: TakeArgs,
    /// Do not ask: needed when stdin is not a terminal.
    #[arg(long)]
    yes: bool,
}

pub(crate) fn dead(command: DeadCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match command {
            DeadCommand::Ls(args) => list(&args.common).await,
            DeadCommand::Show(args) => show(&args).await,
            DeadCommand::Replay(args) => take(&args, true, false).await,
            DeadCommand::Purge(args) => take(&args.take, false, args.yes).await,
        }
    })
}

fn broker(common: &Common) -> anyhow::Result<(AmqpBroker, QueueSettings)> {
    let config = loghaul_config::load_file(&common.config)?;
    if config.queue.kind != loghaul_config::QueueKind::Amqp {
        return Err(BadInput(format!(
            "{}: queue.kind is {:?}; loghaul dead works on RabbitMQ's dead-letter queue (kind = \"amqp\")",
            common.config.display(),
            config.queue.kind
        ))
        .into());
    }
    let settings = QueueSettings::from_config(&config.queue);
    Ok((
        AmqpBroker::new(config.queue.url.expose(), settings.clone()),
        settings,
    ))
}

/// What one dead letter holds, for `ls` and `show`.
fn describe(letter: &DeadLetter, settings: &QueueSettings, full: bool) -> serde_json::Value {
    let origin = letter.origin(settings).map(|route| route.key());
    let mut value = serde_json::json!({
        "id": letter.id,
        "origin": origin,
        "reason": letter.reason(),
        "bytes": letter.payload.len(),
        "kind": kind(&letter.payload),
    });
    if full {
        value["headers"] = serde_json::json!(letter.headers);
        value["decoded"] = decoded(&letter.payload);
    }
    value
}

fn kind(payload: &[u8]) -> &'static str {
    match codec::peek(payload) {
        Ok((MessageKind::RawBatch, _)) => "raw batch",
        Ok((MessageKind::EventBatch, _)) => "event batch",
        Err(_) => "not a loghaul envelope",
    }
}

/// The payload decoded as far as it goes: a raw batch's records, an event
/// batch's events, or the bytes themselves with why they do not decode.
fn decoded(payload: &[u8]) -> serde_json::Value {
    let error = match codec::peek(payload) {
        Ok((MessageKind::RawBatch, _)) => match codec::decode_raw_batch(payload) {
            Ok(batch) => {
                let records: Vec<serde_json::Value> = batch
                    .records
                    .iter()
                    .map(|record| {
                        serde_json::json!({
                            "offset": record.offset,
                            "text": String::from_utf8_lossy(&record.bytes),
                        })
                    })
                    .collect();
                return serde_json::json!({
                    "host": batch.host,
                    "source": batch.source,
                    "file": batch.file.to_key(),
                    "records": records,
                });
            }
            Err(error) => error,
        },
        Ok((MessageKind::EventBatch, _)) => match codec::decode_event_batch(payload) {
            Ok(batch) => return serde_json::to_value(&batch).unwrap_or_default(),
            Err(error) => error,
        },
        Err(error) => error,
    };
    let shown = &payload[..payload.len().min(4096)];
    serde_json::json!({
        "undecodable": error.to_string(),
        "text": String::from_utf8_lossy(shown),
        "truncated": payload.len() > shown.len(),
    })
}

async fn list(common: &Common) -> anyhow::Result<()> {
    let (broker, settings) = broker(common)?;
    let (letters, held) = broker
        .dead_letters(common.limit)
        .await
        .context("listing the dead-letter queue")?;
    if common.json {
        let letters: Vec<serde_json::Value> = letters
            .iter()
            .map(|letter| describe(letter, &settings, false))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "queue": settings.queue_name(loghaul_queue::Route::Dead), "held": held, "letters": letters })
        );
        return Ok(());
    }
    println!(
        "{:<12}  {:<10}  {:>9}  {:<22}  REASON",
        "ID", "ORIGIN", "BYTES", "KIND"
    );
    for letter in &letters {
        let origin = letter
            .origin(&settings)
            .map_or_else(|| "?".to_owned(), |route| route.key());
        println!(
            "{:<12}  {:<10}  {:>9}  {:<22}  {}",
            letter.id,
            origin,
            letter.payload.len(),
            kind(&letter.payload),
            letter.reason()
        );
    }
    println!(
        "{} dead letter(s) in {}{}",
        held,
        settings.queue_name(loghaul_queue::Route::Dead),
        if (letters.len() as u64) < held {
            format!(", first {} shown (--limit)", letters.len())
        } else {
            String::new()
        }
    );
    Ok(())
}

async fn show(args: &ShowArgs) -> anyhow::Result<()> {
    let (broker, settings) = broker(&args.common)?;
    let (letters, _) = broker
        .dead_letters(args.common.limit)
        .await
        .context("listing the dead-letter queue")?;
    let Some(letter) = letters.iter().find(|letter| letter.id == args.id) else {
        anyhow::bail!(
            "no dead letter {} among the first {} (ids come from `loghaul dead ls`)",
            args.id,
            letters.len()
        );
    };
    let value = describe(letter, &settings, true);
    if args.common.json {
        println!("{value}");
    } else {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

async fn take(args: &TakeArgs, replay: bool, yes: bool) -> anyhow::Result<()> {
    let (broker, settings) = broker(&args.common)?;
    let wanted: std::collections::BTreeSet<&str> = args.ids.iter().map(String::as_str).collect();
    let chosen = |letter: &DeadLetter| args.all || wanted.contains(letter.id.as_str());
    if !replay && !yes {
        if !std::io::stdin().is_terminal() {
            return Err(BadInput(
                "purge deletes for good; stdin is not a terminal, so confirm with --yes".into(),
            )
            .into());
        }
        let (letters, _) = broker.dead_letters(args.common.limit).await?;
        let count = letters.iter().filter(|letter| chosen(letter)).count();
        eprint!(
            "Delete {count} dead letter(s) from {} for good? [y/N] ",
            settings.queue_name(loghaul_queue::Route::Dead)
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing deleted");
            return Ok(());
        }
    }
    let taken = broker
        .take_dead_letters(args.common.limit, &chosen, replay)
        .await
        .context(if replay {
            "replaying dead letters"
        } else {
            "purging dead letters"
        })?;
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|id| !taken.iter().any(|letter| letter.id == **id))
        .copied()
        .collect();
    let verb = if replay { "replayed" } else { "purged" };
    if args.common.json {
        let letters: Vec<serde_json::Value> = taken
            .iter()
            .map(|letter| describe(letter, &settings, false))
            .collect();
        println!(
            "{}",
            serde_json::json!({ verb: letters, "not_found": missing })
        );
    } else {
        for letter in &taken {
            let origin = letter
                .origin(&settings)
                .map_or_else(|| "?".to_owned(), |route| route.key());
            if replay {
                println!("{} -> {origin}", letter.id);
            } else {
                println!("{} deleted", letter.id);
            }
        }
        eprintln!("{} dead letter(s) {verb}", taken.len());
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "not found among the dead letters looked at: {}",
            missing.join(", ")
        );
    }
    Ok(())
}
