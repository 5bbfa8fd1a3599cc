//! `loghaul bench archive`: compress-and-upload throughput of the archiver
//! at gzip levels 1 and 6, on one thread and on one per core, beside
//! `gzip -1` and `gzip -6` of the same file measured in the same run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use loghaul_archive::catalog;
use loghaul_archive::check::{self, Status};
use loghaul_archive::restore;
use loghaul_archive::{
    ArchiveRequest, Archiver, LocalStore, ObjectStore, S3Connection, S3Store, Spool, StoreOptions,
};
use loghaul_config::ByteSize;
use loghaul_model::{FileIdentity, RotationReason};

use super::{Figure, baseline, bench_input, cpu_seconds, parse_size, report};

pub(crate) const ARCHIVE_HELP: &str = "\
Generates a log file of --size (or uses --file), then measures:
  gzip -1, gzip -6              compressing the file to /dev/null
  gzip -6 x2 at once            two of those at once (per file): how much two
                                cores of this machine give two independent
                                compressions, the ceiling for parallel members
  archive -1, -6 -> directory   loghaul's archiver: one pass for sha256, line
                                count and gzip (1 MiB pieces compressed as
                                gzip members on one thread per core), then a
                                create-only write and its verification, into
                                a local directory
  archive -1, -6 x1 -> dir      the same on one compression thread
  archive -1, -6 -> s3          the same into S3 (with --s3-endpoint)
  gunzip, gunzip | sha256sum    reading the level-6 object back with the
                                standard tools
  verify, restore <- directory  `loghaul archive verify` and `restore` of that
  verify, restore <- s3         object: gunzip, sha256 and line count as it
                                streams (restore also writes and fsyncs)
Each line gives MiB/s of raw bytes and CPU seconds per GiB (this process;
the S3 server's own CPU is not counted).

Example:
  loghaul bench archive --size 1GiB --s3-endpoint http://127.0.0.1:9000";

#[derive(clap::Args, Debug)]
pub(crate) struct BenchArchiveArgs {
    /// Size of the generated file.
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    size: ByteSize,
    /// Use this file instead of generating one.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Also archive into this S3-compatible endpoint (path-style addressing).
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// Bucket for --s3-endpoint; created if missing.
    #[arg(long, default_value = "loghaul-bench")]
    s3_bucket: String,
    /// Access key for --s3-endpoint.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    s3_access_key: Option<String>,
    /// Secret key for --s3-endpoint.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    s3_secret_key: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

async fn archive_once(
    store: Arc<dyn ObjectStore>,
    file: &Path,
    level: u32,
    threads: usize,
    spool_dir: &Path,
    name: String,
) -> anyhow::Result<(Figure, String)> {
    // A fresh prefix per run: an object already there would skip the upload.
    let prefix = format!(
        "bench-{}-{level}-{}",
        std::process::id(),
        name.replace(' ', "-")
    );
    let archiver = Archiver::new(
        store,
        Spool::open(spool_dir)?,
        &prefix,
        level,
        StoreOptions::default().multipart_threshold,
    )
    .with_gzip_threads(threads);
    let request = ArchiveRequest {
        raw_path: file.to_owned(),
        source_path: file.display().to_string(),
        host: "bench".into(),
        file: FileIdentity::of_path(file, 0)?,
        reason: RotationReason::Manual,
    };
    let (cpu_before, _) = cpu_seconds();
    let started = Instant::now();
    let archived = archiver.archive(&request).await?;
    let seconds = started.elapsed().as_secs_f64();
    let (cpu_after, _) = cpu_seconds();
    Ok((
        Figure {
            name,
            seconds,
            cpu_seconds: cpu_after - cpu_before,
            peak_rss: None,
        },
        archived.key,
    ))
}

/// `archive verify` and `archive restore` of one object, timed.
async fn read_back(
    store: &dyn ObjectStore,
    key: &str,
    restore_dir: &Path,
    place: &str,
) -> anyhow::Result<[Figure; 2]> {
    let entry = catalog::entry(store, key).await?;
    let timed = |name: String, cpu_before: f64, started: Instant| Figure {
        name,
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds().0 - cpu_before,
        peak_rss: None,
    };
    let (cpu_before, started) = (cpu_seconds().0, Instant::now());
    let (verdict, _) = check::check(store, &entry, None, check::no_progress()).await?;
    anyhow::ensure!(verdict.status == Status::Good, "verify: {verdict:?}");
    let verify = timed(format!("verify <- {place}"), cpu_before, started);
    let (cpu_before, started) = (cpu_seconds().0, Instant::now());
    let restored = restore::restore(store, &entry, restore_dir, check::no_progress()).await?;
    anyhow::ensure!(restored.action == "restored", "restore: {restored:?}");
    let restore = timed(format!("restore <- {place}"), cpu_before, started);
    Ok([verify, restore])
}

#[allow(clippy::print_stdout)]
pub(crate) fn bench_archive(args: BenchArchiveArgs) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let (file, lines) = bench_input(args.file.as_deref(), args.size, scratch.path())?;
    let bytes = std::fs::metadata(&file)?.len();
    baseline("warm-up", "cat \"$1\" > /dev/null", &file)?;
    let mut figures = vec![
        baseline("gzip -1", "gzip -1 -c \"$1\" > /dev/null", &file)?,
        baseline("gzip -6", "gzip -6 -c \"$1\" > /dev/null", &file)?,
    ];
    // Two independent compressions at once: what this machine's cores give
    // two threads that share nothing, the ceiling for parallel members.
    let mut pair = baseline(
        "gzip -6 x2 at once",
        "gzip -6 -c \"$1\" > /dev/null & gzip -6 -c \"$1\" > /dev/null; wait",
        &file,
    )?;
    // Twice the file was compressed: per file, as the other rows count.
    pair.seconds /= 2.0;
    pair.cpu_seconds /= 2.0;
    figures.push(pair);
    let threads = loghaul_archive::default_gzip_threads();
    eprintln!("compressing on {threads} threads (one per core), and on one for comparison");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let local: Arc<dyn ObjectStore> =
            Arc::new(LocalStore::new(&scratch.path().join("archive")));
        let s3: Option<Arc<dyn ObjectStore>> = match &args.s3_endpoint {
            Some(endpoint) => {
                let connection = S3Connection::path_style(
                    endpoint,
                    args.s3_access_key.clone().zip(args.s3_secret_key.clone()),
                );
                let store =
                    S3Store::connect(&connection, &args.s3_bucket, "", StoreOptions::default())
                        .await;
                store.create_bucket_if_missing().await?;
                Some(Arc::new(store))
            }
            None => None,
        };
        let mut read_backs = Vec::new();
        for level in [1, 6] {
            eprintln!("archiving at gzip level {level}");
            let spool = scratch.path().join(format!("spool-{level}"));
            if threads > 1 {
                // One thread, as before members were compressed in parallel.
                let (figure, _) = archive_once(
                    local.clone(),
                    &file,
                    level,
                    1,
                    &spool,
                    format!("archive -{level} x1 -> dir"),
                )
                .await?;
                figures.push(figure);
            }
            let (figure, key) = archive_once(
                local.clone(),
                &file,
                level,
                threads,
                &spool,
                format!("archive -{level} -> directory"),
            )
            .await?;
            figures.push(figure);
            read_backs.push((local.clone(), key, "directory"));
            if let Some(s3) = &s3 {
                let (figure, key) = archive_once(
                    s3.clone(),
                    &file,
                    level,
                    threads,
                    &spool,
                    format!("archive -{level} -> s3"),
                )
                .await?;
                figures.push(figure);
                read_backs.push((s3.clone(), key, "s3"));
            }
        }
        // Reading back the level-6 objects: the standard tools, then ours.
        let (_, local_key, _) = &read_backs[read_backs.len() - 1 - usize::from(s3.is_some())];
        let object = scratch.path().join("archive").join(local_key);
        eprintln!("reading back");
        figures.push(baseline("gunzip", "gunzip -c \"$1\" > /dev/null", &object)?);
        figures.push(baseline(
            "gunzip | sha256sum",
            "gunzip -c \"$1\" | sha256sum > /dev/null",
            &object,
        )?);
        let level_6 = read_backs.split_off(read_backs.len() - 1 - usize::from(s3.is_some()));
        for (store, key, place) in level_6 {
            let restore_dir = scratch.path().join(format!("restored-{place}"));
            std::fs::create_dir_all(&restore_dir)?;
            figures.extend(read_back(store.as_ref(), &key, &restore_dir, place).await?);
            std::fs::remove_dir_all(&restore_dir)?;
        }
        anyhow::Ok(())
    })?;
    report(
        &figures,
        bytes,
        lines,
        "archive: MiB/s of raw bytes",
        args.json,
    );
    let seconds_of = |name: &str| {
        figures
            .iter()
            .find(|figure| figure.name == name)
            .map(|figure| figure.seconds)
    };
    if !args.json
        && let (Some(one), Some(all)) = (
            seconds_of("archive -6 x1 -> dir"),
            seconds_of("archive -6 -> directory"),
        )
    {
        println!(
            "\nparallel gzip members at level 6: {threads} threads run {:.2}x one thread \
             (issue 16's goal: >= 1.8x on 2 cores; printed, never asserted)",
            one / all
        );
        if let (Some(alone), Some(two)) = (seconds_of("gzip -6"), seconds_of("gzip -6 x2 at once"))
        {
            println!(
                "this machine's ceiling: two gzip -6 run at once compress {:.2}x what one does \
                 (2.00x if the cores share nothing)",
                alone / two
            );
        }
    }
    Ok(())
}
