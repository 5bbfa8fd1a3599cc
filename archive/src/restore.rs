//! Restoring archived files byte for byte into a directory:
//! `DIR/<host>/<source path>/<rotated name>`.
//!
//! - A file is written as `.<name>.loghaul-partial` beside its final name and
//!   renamed only after its sha256, size and line count match the record.
//! - A file already in place with the recorded sha256 is skipped, so a run
//!   killed midway continues where it stopped.
//! - Two objects can carry one rotated name (logrotate's `app.log.1` comes
//!   back every day). The name is never overwritten: the second goes beside
//!   it as `<name>.<first 12 hex digits of its sha256>`, a name that is the
//!   same at every run. Callers restore objects of one target one at a time
//!   ([`relative_target`] groups them).
//! - The partial file is created new (`O_EXCL`), so a link planted in its
//!   place is never followed.
//! - Names come from records an attacker may have written: a host, source
//!   path or name with `..`, `.`, a control character or a backslash is
//!   refused, and so is any symlink met on the way down from DIR.
//! - `SHA256SUMS` in DIR lists every file restored there, for `sha256sum -c`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::catalog::{Entry, Expected};
use crate::check::{Progress, Status, Verdict, check, unreadable};
use crate::{ArchiveError, digest_file};

/// The checksum list `sha256sum -c` reads, in the destination.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// What restoring one entry did.
#[derive(Clone, Debug, Serialize)]
pub struct Restored {
    /// How the object compared; `good` for a file restored or already there.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Where it went, relative to the destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `restored`, `already-restored` or `not-written`.
    pub action: &'static str,
}

impl Restored {
    fn not_written(verdict: Verdict, path: Option<String>) -> Self {
        Restored {
            verdict,
            path,
            action: "not-written",
        }
    }

    /// An entry whose restore stopped on an error (of the store, or of the
    /// destination): kept in the report and the manifest, never dropped.
    pub fn failed(key: &str, reason: String) -> Self {
        Restored::not_written(Verdict::without_reading(key, Status::Failed, reason), None)
    }
}

fn plain_component(part: &str, what: &str) -> Result<(), String> {
    if part.is_empty() || part == "." || part == ".." {
        return Err(format!("its {what} has an empty, '.' or '..' part"));
    }
    if part
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == '/')
    {
        return Err(format!(
            "its {what} has a slash, backslash or control character"
        ));
    }
    Ok(())
}

/// `<host>/<source path>/<rotated name>`, or why it would leave the
/// destination.
pub fn relative_target(expected: &Expected) -> Result<PathBuf, String> {
    let manifest = &expected.manifest;
    plain_component(&manifest.host, "host")?;
    plain_component(&expected.raw_name, "file name")?;
    let mut path = PathBuf::from(&manifest.host);
    let mut any = false;
    for part in manifest
        .source_path
        .split('/')
        .filter(|part| !part.is_empty())
    {
        plain_component(part, "source path")?;
        path.push(part);
        any = true;
    }
    if !any {
        return Err("its source path is empty".into());
    }
    path.push(&expected.raw_name);
    // Belt and braces: nothing but normal components.
    if !path
        .components()
        .all(|component| matches!(component, Component::Normal(_)))
    {
        return Err("its path would leave the destination".into());
    }
    Ok(path)
}

/// Creates `relative` below `dest` one directory at a time, refusing to
/// follow a symlink or pass through anything but a directory.
fn descend(dest: &Path, relative: &Path) -> Result<PathBuf, String> {
    let mut current = dest.to_owned();
    for component in relative.components() {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(stat) if stat.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symlink; restore does not follow links",
                    current.display()
                ));
            }
            Ok(stat) if stat.is_dir() => {}
            Ok(_) => return Err(format!("{} is not a directory", current.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&current)
                    .map_err(|error| format!("create {}: {error}", current.display()))?;
            }
            Err(error) => return Err(format!("{}: {error}", current.display())),
        }
    }
    Ok(current)
}

/// Restores one entry into `dest`.
pub async fn restore(
    store: &dyn crate::ObjectStore,
    entry: &Entry,
    dest: &Path,
    progress: Progress,
) -> Result<Restored, ArchiveError> {
    if let Some(verdict) = unreadable(entry) {
        return Ok(Restored::not_written(verdict, None));
    }
    let Some(expected) = &entry.expected else {
        return Ok(Restored::not_written(
            Verdict::without_reading(&entry.key, Status::Mismatched, "no record"),
            None,
        ));
    };
    let relative = match relative_target(expected) {
        Ok(relative) => relative,
        Err(reason) => {
            return Ok(Restored::not_written(
                Verdict::without_reading(&entry.key, Status::Refused, reason),
                None,
            ));
        }
    };
    let shown = relative.display().to_string();
    let refused = move |reason: String| {
        Ok(Restored::not_written(
            Verdict::without_reading(&entry.key, Status::Refused, reason),
            Some(shown.clone()),
        ))
    };
    let parent = relative.parent().unwrap_or(Path::new(""));
    let dir = match descend(dest, parent) {
        Ok(dir) => dir,
        Err(reason) => return refused(reason),
    };
    let recorded = &expected.manifest.sha256;
    let names = [
        expected.raw_name.clone(),
        format!(
            "{}.{}",
            expected.raw_name,
            recorded
                .chars()
                .filter(char::is_ascii_hexdigit)
                .take(12)
                .collect::<String>()
        ),
    ];
    let mut free = None;
    let mut taken = Vec::new();
    for name in &names {
        let target = dir.join(name);
        let shown = parent.join(name).display().to_string();
        match std::fs::symlink_metadata(&target) {
            Ok(stat) if stat.is_file() => {
                let digest = digest_file(&target).await?;
                if digest.sha256 == *recorded && digest.size == expected.manifest.raw_size {
                    return Ok(Restored {
                        verdict: Verdict {
                            key: entry.key.clone(),
                            status: Status::Good,
                            reason: None,
                            sha256: Some(digest.sha256),
                            raw_bytes: digest.size,
                            lines: expected.manifest.line_count,
                        },
                        path: Some(shown),
                        action: "already-restored",
                    });
                }
                taken.push(format!(
                    "{shown} holds other content (sha256 {})",
                    digest.sha256
                ));
            }
            Ok(_) => taken.push(format!("{shown} is not a regular file")),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                free.get_or_insert((target, shown));
            }
            Err(error) => return Err(ArchiveError::io("stat", &target, error)),
        }
    }
    let Some((target, shown)) = free else {
        return refused(format!("{}; nothing is overwritten", taken.join(" and ")));
    };
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let partial = dir.join(format!(".{name}.loghaul-partial"));
    // A partial file is ours to replace; removing it never follows a link,
    // and creating it new refuses one planted since.
    match std::fs::remove_file(&partial) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return refused(format!("{}: {error}", partial.display())),
    }
    let file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
    {
        Ok(file) => file,
        Err(error) => return refused(format!("create {}: {error}", partial.display())),
    };
    let (verdict, file) = check(store, entry, Some(file), progress).await?;
    if verdict.status != Status::Good {
        drop(file);
        let _ = std::fs::remove_file(&partial);
        return Ok(Restored::not_written(verdict, Some(shown)));
    }
    if let Some(file) = file {
        file.sync_all()
            .map_err(|error| ArchiveError::io("fsync", &partial, error))?;
    }
    std::fs::rename(&partial, &target)
        .map_err(|error| ArchiveError::io("rename", &target, error))?;
    loghaul_durable::sync_dir(&dir).map_err(|error| ArchiveError::io("fsync", &dir, error))?;
    Ok(Restored {
        verdict,
        path: Some(shown),
        action: "restored",
    })
}

/// Adds `files` (path relative to `dest`, sha256) to `dest/SHA256SUMS`,
/// keeping what earlier runs listed, sorted by path.
pub fn update_sums(dest: &Path, files: &[(String, String)]) -> Result<(), ArchiveError> {
    let path = dest.join(SUMS_FILE);
    let mut sums: BTreeMap<String, String> = BTreeMap::new();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            for line in text.lines() {
                if let Some((sum, name)) = line.split_once("  ") {
                    sums.insert(name.to_owned(), sum.to_owned());
                }
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(ArchiveError::io("read", &path, error)),
    }
    for (name, sum) in files {
        sums.insert(name.clone(), sum.clone());
    }
    let mut text = String::new();
    for (name, sum) in &sums {
        text.push_str(&format!("{sum}  {name}\n"));
    }
    write_file(&path, text.as_bytes())
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ArchiveError> {
    loghaul_durable::write_atomically(path, bytes)
        .map_err(|error| ArchiveError::io("write", path, error))
}

#[cfg(test)]
mod tests {
    use loghaul_model::{ArchiveManifest, FileIdentity, RotationReason};

    use super::*;

    fn expected(host: &str, source: &str, name: &str) -> Expected {
        Expected {
            manifest: ArchiveManifest {
                host: host.into(),
                source_path: source.into(),
                file: FileIdentity {
                    device: 1,
                    inode: 2,
                    fingerprint: 3,
                },
                sha256: String::new(),
                raw_size: 0,
                line_count: 0,
                first_timestamp_unix_nano: 0,
                last_timestamp_unix_nano: 0,
                reason: RotationReason::Size,
            },
            raw_name: name.into(),
            gzip_sha256: None,
        }
    }

    #[test]
    fn targets_stay_inside_the_destination() {
        assert_eq!(
            relative_target(&expected("web-1", "/var/log/app.log", "app.log.1")),
            Ok(PathBuf::from("web-1/var/log/app.log/app.log.1"))
        );
        for (host, source, name) in [
            ("..", "/var/log/a", "a.1"),
            ("web-1", "/var/../../etc/a", "a.1"),
            ("web-1", "/var/log/a", "../../x"),
            ("web-1", "/var/log/a", ".."),
            ("a/b", "/var/log/a", "a.1"),
            ("web-1", "/", "a.1"),
            ("web-1", "/var/log/a", "a\nb"),
            ("web-1", "C:\\x", "a.1"),
            ("", "/var/log/a", "a.1"),
        ] {
            assert!(
                relative_target(&expected(host, source, name)).is_err(),
                "{host:?} {source:?} {name:?}"
            );
        }
    }

    #[test]
    fn a_symlink_on_the_way_down_is_refused() {
        let dest = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), dest.path().join("web-1")).expect("symlink");
        let refused = descend(dest.path(), Path::new("web-1/var/log"));
        assert!(refused.is_err_and(|reason| reason.contains("symlink")));
        assert_eq!(
            std::fs::read_dir(outside.path()).expect("list").count(),
            0,
            "nothing was created through the link"
        );
        let made = descend(dest.path(), Path::new("web-2/var/log")).expect("plain dirs");
        assert!(made.is_dir());
    }

    /// An entry for `raw` stored gzipped at `key` in a local store.
    fn stored(root: &Path, key: &str, name: &str, raw: &[u8]) -> Entry {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        encoder.write_all(raw).expect("gzip");
        let gzip = encoder.finish().expect("gzip");
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &gzip).expect("write");
        let mut digest = crate::digest::DigestBuilder::default();
        digest.update(raw);
        let mut expected = expected("web-1", "/var/log/app.log", name);
        expected.manifest.sha256 = digest.finish().sha256;
        expected.manifest.raw_size = raw.len() as u64;
        expected.manifest.line_count = memchr::memchr_iter(b'\n', raw).count() as u64;
        Entry {
            key: key.into(),
            object: Some(crate::catalog::ObjectSummary {
                size: gzip.len() as u64,
                retention: None,
            }),
            expected: Some(expected),
            problem: None,
        }
    }

    /// logrotate's numbered scheme hands `app.log.1` out every day: two
    /// objects with one rotated name both come back, the second beside the
    /// first under a name taken from its sha256, and a second run finds both.
    #[tokio::test]
    async fn one_rotated_name_from_two_objects_goes_beside_never_over() {
        let archive = tempfile::tempdir().expect("tempdir");
        let store = crate::LocalStore::new(archive.path());
        let monday = stored(archive.path(), "k/monday.log.gz", "app.log.1", b"monday\n");
        let tuesday = stored(
            archive.path(),
            "k/tuesday.log.gz",
            "app.log.1",
            b"tuesday\n",
        );
        let tag: String = tuesday.expected.as_ref().expect("expected").manifest.sha256[..12].into();
        let dest = tempfile::tempdir().expect("tempdir");
        for (run, action) in [(1, "restored"), (2, "already-restored")] {
            let mut paths = Vec::new();
            for entry in [&monday, &tuesday] {
                let restored = restore(&store, entry, dest.path(), crate::check::no_progress())
                    .await
                    .expect("restore");
                assert_eq!(
                    restored.verdict.status,
                    Status::Good,
                    "run {run}: {restored:?}"
                );
                assert_eq!(restored.action, action, "run {run}");
                paths.push(restored.path.expect("path"));
            }
            assert_eq!(
                paths,
                [
                    "web-1/var/log/app.log/app.log.1".to_owned(),
                    format!("web-1/var/log/app.log/app.log.1.{tag}")
                ],
                "run {run}"
            );
            assert_eq!(
                std::fs::read(dest.path().join(&paths[0])).expect("read"),
                b"monday\n"
            );
            assert_eq!(
                std::fs::read(dest.path().join(&paths[1])).expect("read"),
                b"tuesday\n"
            );
        }
    }

    /// A link planted where the partial file goes is replaced, never
    /// written through.
    #[tokio::test]
    async fn a_link_planted_at_the_partial_name_is_never_followed() {
        let archive = tempfile::tempdir().expect("tempdir");
        let store = crate::LocalStore::new(archive.path());
        let entry = stored(archive.path(), "k/a.log.gz", "app.log.1", b"restored\n");
        let dest = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let precious = outside.path().join("precious");
        std::fs::write(&precious, b"keep me\n").expect("write");
        let dir = dest.path().join("web-1/var/log/app.log");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::os::unix::fs::symlink(&precious, dir.join(".app.log.1.loghaul-partial"))
            .expect("symlink");
        let restored = restore(&store, &entry, dest.path(), crate::check::no_progress())
            .await
            .expect("restore");
        assert_eq!(restored.verdict.status, Status::Good, "{restored:?}");
        assert_eq!(std::fs::read(&precious).expect("read"), b"keep me\n");
        assert_eq!(
            std::fs::read(dir.join("app.log.1")).expect("read"),
            b"restored\n"
        );
    }

    #[test]
    fn sums_accumulate_across_runs() {
        let dest = tempfile::tempdir().expect("tempdir");
        update_sums(dest.path(), &[("b/x".into(), "22".into())]).expect("first");
        update_sums(
            dest.path(),
            &[("a/y".into(), "11".into()), ("b/x".into(), "33".into())],
        )
        .expect("second");
        assert_eq!(
            std::fs::read_to_string(dest.path().join(SUMS_FILE)).expect("read"),
            "11  a/y\n33  b/x\n"
        );
    }
}
