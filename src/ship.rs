//! `loghaul ship`: the per-host sidecar.

use std::path::PathBuf;

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
Tails the files of every [[shipper.sources]] entry and publishes what it reads
to the queue. A file's checkpoint (under data_dir/shipper/) moves only after
the queue confirms, so a crash repeats lines but never loses one. Files renamed
or deleted away are read to their end; truncated files start again at 0.

SIGTERM or Ctrl-C drains: reading stops, what was read is published, and
confirmations are awaited for up to shipper.drain_timeout before exiting 0.

Example:
  loghaul ship -c /etc/loghaul/loghaul.toml";

#[derive(clap::Args, Debug)]
pub(crate) struct ShipArgs {
    /// Config file with [[shipper.sources]] and [queue].
    #[arg(short, long, value_name = "FILE", env = "LOGHAUL_CONFIG")]
    config: PathBuf,
}

pub(crate) fn ship(args: ShipArgs) -> anyhow::Result<()> {
    let config = loghaul_config::load_file_as(&args.config, loghaul_config::Role::Shipper)?;
    if config.shipper.sources.is_empty() {
        return Err(BadInput(format!(
            "{}: no [[shipper.sources]]: nothing to ship",
            args.config.display()
        ))
        .into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let shutdown = crate::signals::shutdown_on_signal();
        let broker = loghaul_queue::broker_from_config(&config.queue, &config.data_dir)?;
        loghaul_shipper::ship(&config, broker, shutdown).await?;
        Ok(())
    })
}
