//! Restoring archived files byte for byte into a directory:
//! `DIR/<host>/<source path>/<rotated name>`.
//!
//! - A file is written as `.<name>.loghaul-partial` beside its final name and
//!   renamed only after its sha256, size and line count match the record.
//! - A file already in place with the recorded sha256 is skipped, so a run
//!   killed midway continues where it stopped.
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
    let refused = |reason: String| {
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
    let target = dir.join(&expected.raw_name);
    match std::fs::symlink_metadata(&target) {
        Ok(stat) if stat.is_file() => {
            let digest = digest_file(&target).await?;
            if digest.sha256 == expected.manifest.sha256
                && digest.size == expected.manifest.raw_size
            {
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
            return refused(format!(
                "{} exists with other content (sha256 {}); not overwritten",
                target.display(),
                digest.sha256
            ));
        }
        Ok(_) => {
            return refused(format!(
                "{} exists and is not a regular file",
                target.display()
            ));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(ArchiveError::io("stat", &target, error)),
    }
    let partial = dir.join(format!(".{}.loghaul-partial", expected.raw_name));
    let file = std::fs::File::create(&partial)
        .map_err(|error| ArchiveError::io("create", &partial, error))?;
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
