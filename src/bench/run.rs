//! `loghaul bench run`: one file to searchable through `loghaul run`, on its
//! defaults (the durable disk queue) and, with `--amqp-url`, through
//! RabbitMQ, in one run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use loghaul_config::ByteSize;
use loghaul_indexer::client::Client;

use super::{Figure, baseline, bench_input, parse_size, peak_rss_of, report};

pub(crate) const RUN_HELP: &str = "\
Generates --size of application log lines (or takes --file) and measures, for
each queue, one `loghaul run` process from start until /api/count equals the
file's line count: MiB/s and lines/s of the whole pipeline (tail, parse,
index), CPU seconds per GiB of the process, and its peak RSS. RabbitMQ's own
CPU and memory are not counted. `cat` over the same file is the baseline.

Examples:
  loghaul bench run --size 256MiB
  loghaul bench run --size 1GiB --amqp-url amqp://guest:guest@127.0.0.1:5672/%2f";

#[derive(clap::Args, Debug)]
pub(crate) struct BenchRunArgs {
    /// Size of the generated file.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    size: ByteSize,
    /// Use this file instead of generating one.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Also measure through RabbitMQ at this URL.
    #[arg(long, value_name = "URL")]
    amqp_url: Option<String>,
    /// Give up on one measurement after this long.
    #[arg(long, default_value = "30m", value_parser = loghaul_config::HumanDuration::parse)]
    timeout: loghaul_config::HumanDuration,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `field` (in pages or ticks) of /proc/PID/stat after the command name.
pub(super) fn stat_field(pid: u32, index: usize) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(index)?.parse().ok()
}

/// Events searchable now, by `/api/count`.
fn count(client: &Client) -> Option<u64> {
    let answer = client.get("/api/count").ok()?;
    if answer.status != 200 {
        return None;
    }
    serde_json::from_str::<loghaul_indexer::page::CountAnswer>(&answer.body)
        .ok()
        .map(|answer| answer.count)
}

/// One `loghaul run` over `file` with `config` until everything is
/// searchable.
fn measure(
    name: &str,
    file: &Path,
    lines: u64,
    config: &str,
    timeout: Duration,
) -> anyhow::Result<Figure> {
    let scratch = tempfile::tempdir()?;
    measure_in(
        scratch.path(),
        &Measured {
            name,
            file,
            lines,
            config,
            timeout,
        },
        &mut |_| Ok(()),
    )
}

/// What [`measure_in`] runs.
pub(super) struct Measured<'a> {
    pub(super) name: &'a str,
    pub(super) file: &'a Path,
    pub(super) lines: u64,
    pub(super) config: &'a str,
    pub(super) timeout: Duration,
}

/// [`measure`] with its data directory at `scratch/data`, calling `after`
/// with a client of the search API once everything is searchable, while
/// the process still runs (its CPU and RSS are read before).
pub(super) fn measure_in(
    scratch: &Path,
    run: &Measured,
    after: &mut dyn FnMut(&Client) -> anyhow::Result<()>,
) -> anyhow::Result<Figure> {
    let Measured {
        name,
        file,
        lines,
        config,
        timeout,
    } = *run;
    let config_path = scratch.join("loghaul.toml");
    std::fs::write(&config_path, config)?;
    let data_dir = scratch.join("data");
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe()?)
        .args(["run", "--listen", "127.0.0.1:0", "-c"])
        .arg(&config_path)
        .arg("--data-dir")
        .arg(&data_dir)
        .arg(file)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting loghaul run")?;
    let pid = child.id();
    let stderr = child.stderr.take().context("stderr")?;
    let mut lines_of_stderr = BufReader::new(stderr).lines();
    let address = loop {
        let line = lines_of_stderr
            .next()
            .context("loghaul run ended before it was ready")??;
        if line.contains("loghaul is running") {
            break line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("search="))
                .context("the ready line names no search URL")?
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines_of_stderr.map_while(Result::ok) {});
    // The API wants the token `run` made in its data directory.
    let token = crate::api_token::discover(&data_dir);
    let client = match Client::new(&address, token) {
        Ok(client) => client,
        Err(error) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(error.into());
        }
    };
    let mut peak = 0;
    let outcome = loop {
        peak = peak.max(peak_rss_of(&pid.to_string()));
        if count(&client) == Some(lines) {
            break Ok(());
        }
        if started.elapsed() > timeout {
            break Err(anyhow::anyhow!(
                "{name}: {:?} of {lines} searchable after {timeout:?}",
                count(&client)
            ));
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(anyhow::anyhow!(
                "{name}: loghaul run exited early: {status}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let seconds = started.elapsed().as_secs_f64();
    let ticks = stat_field(pid, 11).unwrap_or(0) + stat_field(pid, 12).unwrap_or(0);
    let after = if outcome.is_ok() {
        after(&client)
    } else {
        Ok(())
    };
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    outcome?;
    after?;
    Ok(Figure {
        name: name.into(),
        seconds,
        cpu_seconds: ticks as f64 / 100.0,
        peak_rss: Some(peak),
    })
}

pub(crate) fn bench_run(args: BenchRunArgs) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let (file, lines) = bench_input(args.file.as_deref(), args.size, scratch.path())?;
    let file = std::path::absolute(&file)?;
    let bytes = std::fs::metadata(&file)?.len();
    baseline("warm-up", "cat \"$1\" > /dev/null", &file)?;
    let mut figures = vec![baseline(
        "cat > /dev/null",
        "cat \"$1\" > /dev/null",
        &file,
    )?];
    eprintln!("loghaul run on its defaults (disk queue)");
    figures.push(measure(
        "run, disk queue",
        &file,
        lines,
        "host = \"bench\"\n",
        args.timeout.0,
    )?);
    if let Some(url) = &args.amqp_url {
        eprintln!("loghaul run through RabbitMQ");
        let prefix = format!("lhbenchrun.{}", std::process::id());
        figures.push(measure(
            "run, rabbitmq",
            &file,
            lines,
            &format!(
                "host = \"bench\"\n[queue]\nkind = \"amqp\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\n"
            ),
            args.timeout.0,
        )?);
    }
    report(
        &figures,
        bytes,
        lines,
        "loghaul run defaults; CPU and RSS of the run process",
        args.json,
    );
    Ok(())
}
