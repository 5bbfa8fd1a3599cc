//! `loghaul`: one binary, a subcommand per role.
//!
//! This file parses arguments, sets up logging and turns errors into exit
//! codes; each subcommand lives in its own module.

mod api_token;
mod archive;
mod bench;
mod config_check;
mod dead;
mod exit;
mod explain;
mod index;
mod logging;
mod parse;
mod query;
mod run;
mod ship;
mod signals;
mod ui_link;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure at run time (a service unreachable, an I/O error)
  2  bad usage or bad input (unknown flag, invalid config, bad query)";

/// Log shipping and aggregation: tail, queue, parse, index, archive.
#[derive(Parser, Debug)]
#[command(name = "loghaul", version, about, after_help = EXIT_CODES)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Text)]
    log_format: logging::LogFormat,

    /// More logging (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run everything on one machine: durable disk queue, local archive, local index and search UI.
    #[command(after_help = run::HELP)]
    Run(run::RunArgs),

    /// Tail files and publish them to the queue: the per-host sidecar.
    #[command(after_help = ship::HELP)]
    Ship(ship::ShipArgs),

    /// Parse raw batches from the queue into events: a worker; run many.
    #[command(after_help = parse::HELP)]
    Parse(parse::ParseArgs),

    /// Index events from the queue: one shard per process.
    #[command(after_help = index::HELP)]
    Index(index::IndexArgs),

    /// Search the index from the terminal.
    #[command(after_help = query::HELP)]
    Query(query::QueryArgs),

    /// The web UI's address, with the API token in its fragment.
    #[command(after_help = ui_link::HELP)]
    Ui(ui_link::UiArgs),

    /// Audit the archive: list, verify, restore byte for byte, or reindex for a while.
    #[command(subcommand)]
    Archive(archive::ArchiveCommand),

    /// Dead letters: list, show, replay to their queue, or purge.
    #[command(subcommand)]
    Dead(dead::DeadCommand),

    /// Measure loghaul on this machine, beside standard tools.
    #[command(subcommand)]
    Bench(BenchCommand),

    /// Work with configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Shipper throughput, CPU and memory beside cat and wc -l.
    #[command(after_help = bench::HELP)]
    Ship(bench::BenchShipArgs),
    /// Archiver throughput and CPU at gzip levels 1 and 6 beside gzip.
    #[command(after_help = bench::ARCHIVE_HELP)]
    Archive(bench::BenchArchiveArgs),
    /// Parser throughput per format on one core beside regex captures.
    #[command(after_help = bench::PARSE_HELP)]
    Parse(bench::BenchParseArgs),
    /// Indexing throughput, freshness and query latency beside rg.
    #[command(after_help = bench::INDEX_HELP)]
    Index(bench::BenchIndexArgs),
    /// One file to searchable through `loghaul run`, disk queue and RabbitMQ.
    #[command(after_help = bench::RUN_HELP)]
    Run(bench::BenchRunArgs),
    /// `loghaul run` beside VictoriaLogs on one access log: time, CPU,
    /// memory, disk and queries.
    #[command(after_help = bench::COMPARE_HELP)]
    Compare(bench::BenchCompareArgs),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Check a config file and print the effective config, secrets redacted.
    #[command(after_help = config_check::HELP)]
    Check {
        /// The config file.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// Print JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    loghaul_alloc::return_freed_memory_promptly();
    let cli = Cli::parse();
    logging::init(cli.log_format, cli.verbose, cli.quiet);
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Ship(args) => ship::ship(args),
        Command::Parse(args) => parse::parse(args),
        Command::Index(args) => index::index(args),
        Command::Query(args) => query::query(args),
        Command::Ui(args) => ui_link::ui(args),
        Command::Archive(command) => archive::archive(command),
        Command::Dead(command) => dead::dead(command),
        Command::Bench(BenchCommand::Ship(args)) => bench::bench_ship(args),
        Command::Bench(BenchCommand::Archive(args)) => bench::bench_archive(args),
        Command::Bench(BenchCommand::Parse(args)) => bench::bench_parse(args),
        Command::Bench(BenchCommand::Index(args)) => bench::bench_index(args),
        Command::Bench(BenchCommand::Run(args)) => bench::bench_run(args),
        Command::Bench(BenchCommand::Compare(args)) => bench::bench_compare(args),
        Command::Config(ConfigCommand::Check { config, json }) => {
            config_check::check(&config, json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::code_for(&error))
        }
    }
}

#[global_allocator]
static ALLOCATOR: loghaul_alloc::MiMalloc = loghaul_alloc::MiMalloc;
