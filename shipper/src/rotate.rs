//! The shipper's own rotation of the files it manages.
//!
//! A file is due by size once it reaches `max_bytes`, and by age once it is
//! non-empty and `max_age` old. Age counts from the file's birth time where
//! the filesystem records one, else from when this rotator first saw it with
//! content.
//!
//! - `rename`: the file becomes `<path>.<YYYYMMDDTHHMMSSZ>` (with `-N`
//!   added on a name clash), then `signal_command` runs through `sh -c` so
//!   the application reopens its file. The rotated path is in
//!   `$LOGHAUL_ROTATED_PATH`. The tailer goes on reading the renamed file
//!   to its end, so lines written before the application reopened are not
//!   lost.
//! - `copytruncate`: the file is copied to the timestamped name, then
//!   truncated in place. Lines written between the copy and the truncation
//!   are in neither, as with logrotate's copytruncate. The tailer sees the
//!   truncation and reads again from 0. Prefer `rename` where the
//!   application can reopen its file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use loghaul_config::{RotateConfig, RotateMode};
use loghaul_model::RotationReason;
use loghaul_model::time::UtcDateTime;
use tracing::{info, warn};

use crate::ShipperError;

/// When and how managed files rotate.
#[derive(Clone, Debug)]
pub struct RotationPolicy {
    /// Rotate at this size.
    pub max_bytes: Option<u64>,
    /// Rotate non-empty files this old.
    pub max_age: Option<Duration>,
    /// Rename or copy-and-truncate.
    pub mode: RotateMode,
    /// Run after a rename.
    pub signal_command: Option<String>,
}

impl RotationPolicy {
    /// The policy `[shipper.rotate]` describes.
    pub fn from_config(config: &RotateConfig) -> Self {
        RotationPolicy {
            max_bytes: config.max_bytes.map(|size| size.bytes()),
            max_age: config.max_age.map(|age| age.0),
            mode: config.mode,
            signal_command: config.signal_command.clone(),
        }
    }

    /// Whether the policy rotates anything at all.
    pub fn is_active(&self) -> bool {
        self.max_bytes.is_some() || self.max_age.is_some()
    }
}

/// Decides and performs rotations.
#[derive(Debug)]
pub struct Rotator {
    policy: RotationPolicy,
    first_seen: HashMap<PathBuf, SystemTime>,
}

impl Rotator {
    /// A rotator applying `policy`.
    pub fn new(policy: RotationPolicy) -> Self {
        Rotator {
            policy,
            first_seen: HashMap::new(),
        }
    }

    /// Why `path` should rotate now, if it should.
    pub fn due(&mut self, path: &Path, now: SystemTime) -> Option<RotationReason> {
        let stat = std::fs::metadata(path).ok()?;
        if stat.len() == 0 {
            self.first_seen.remove(path);
            return None;
        }
        if self.policy.max_bytes.is_some_and(|max| stat.len() >= max) {
            return Some(RotationReason::Size);
        }
        let max_age = self.policy.max_age?;
        let born = stat
            .created()
            .ok()
            .unwrap_or_else(|| *self.first_seen.entry(path.to_owned()).or_insert(now));
        (now.duration_since(born).unwrap_or_default() >= max_age).then_some(RotationReason::Age)
    }

    /// Rotates `path` now, whatever the policy says (spot notices and
    /// shutdown use this too). Returns the rotated file's path.
    pub fn rotate(&mut self, path: &Path, reason: RotationReason) -> Result<PathBuf, ShipperError> {
        let rotated = rotated_name(path, SystemTime::now());
        match self.policy.mode {
            RotateMode::Rename => {
                std::fs::rename(path, &rotated)
                    .map_err(|error| ShipperError::io("rotate (rename)", path, error))?;
                if let Some(command) = &self.policy.signal_command {
                    run_signal_command(command, path, &rotated);
                }
            }
            RotateMode::Copytruncate => {
                std::fs::copy(path, &rotated)
                    .map_err(|error| ShipperError::io("rotate (copy)", path, error))?;
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|file| file.set_len(0))
                    .map_err(|error| ShipperError::io("rotate (truncate)", path, error))?;
            }
        }
        self.first_seen.remove(path);
        info!(path = %path.display(), rotated = %rotated.display(), %reason, mode = ?self.policy.mode, "rotated");
        Ok(rotated)
    }
}

/// `<path>.<YYYYMMDDTHHMMSSZ>`, with `-N` added until the name is free.
pub fn rotated_name(path: &Path, now: SystemTime) -> PathBuf {
    let nanos = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as i64)
        .unwrap_or(0);
    let stamp = UtcDateTime::from_unix_nano(nanos).compact_string();
    let base = format!("{}.{stamp}", path.display());
    let mut candidate = PathBuf::from(&base);
    let mut suffix = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}-{suffix}"));
        suffix += 1;
    }
    candidate
}

fn run_signal_command(command: &str, path: &Path, rotated: &Path) {
    let result = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("LOGHAUL_ROTATED_PATH", rotated)
        .env("LOGHAUL_LOG_PATH", path)
        .status();
    match result {
        Ok(status) if status.success() => {}
        Ok(status) => {
            warn!(command, %status, "signal_command failed; the application may still write to the rotated file")
        }
        Err(error) => warn!(command, %error, "cannot run signal_command"),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn policy(mode: RotateMode) -> RotationPolicy {
        RotationPolicy {
            max_bytes: Some(100),
            max_age: None,
            mode,
            signal_command: None,
        }
    }

    #[test]
    fn size_triggers_at_max_bytes_and_empty_files_never_rotate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.log");
        std::fs::write(&path, vec![b'x'; 99]).expect("write");
        let mut rotator = Rotator::new(policy(RotateMode::Rename));
        assert_eq!(rotator.due(&path, SystemTime::now()), None);
        std::fs::write(&path, vec![b'x'; 100]).expect("write");
        assert_eq!(
            rotator.due(&path, SystemTime::now()),
            Some(RotationReason::Size)
        );
        std::fs::write(&path, b"").expect("truncate");
        assert_eq!(
            rotator.due(&path, SystemTime::now() + Duration::from_secs(86_400)),
            None
        );
    }

    #[test]
    fn age_triggers_once_a_non_empty_file_is_old_enough() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.log");
        std::fs::write(&path, b"line\n").expect("write");
        let mut rotator = Rotator::new(RotationPolicy {
            max_bytes: None,
            max_age: Some(Duration::from_secs(60)),
            mode: RotateMode::Rename,
            signal_command: None,
        });
        let now = SystemTime::now();
        assert_eq!(rotator.due(&path, now), None);
        assert_eq!(
            rotator.due(&path, now + Duration::from_secs(61)),
            Some(RotationReason::Age)
        );
    }

    #[test]
    fn rename_keeps_the_bytes_under_a_utc_name_and_runs_the_signal_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.log");
        std::fs::write(&path, b"one\ntwo\n").expect("write");
        let inode = std::fs::metadata(&path).expect("stat").ino();
        let marker = dir.path().join("signalled");
        let mut rotator = Rotator::new(RotationPolicy {
            signal_command: Some(format!(
                "echo \"$LOGHAUL_ROTATED_PATH\" > '{}'",
                marker.display()
            )),
            ..policy(RotateMode::Rename)
        });
        let rotated = rotator.rotate(&path, RotationReason::Size).expect("rotate");
        let name = rotated
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with("app.log.")
                && name.ends_with('Z')
                && name.len() == "app.log.20261122T100000Z".len(),
            "{name}"
        );
        assert_eq!(std::fs::read(&rotated).expect("rotated"), b"one\ntwo\n");
        assert_eq!(
            std::fs::metadata(&rotated).expect("stat").ino(),
            inode,
            "renamed, not copied"
        );
        assert!(
            !path.exists(),
            "the application recreates its file when signalled"
        );
        assert_eq!(
            std::fs::read_to_string(&marker).expect("marker").trim(),
            rotated.display().to_string()
        );
        // A second rotation in the same second gets a distinct name.
        std::fs::write(&path, b"three\n").expect("write");
        let again = rotator.rotate(&path, RotationReason::Size).expect("rotate");
        assert_ne!(again, rotated);
    }

    #[test]
    fn copytruncate_copies_then_empties_the_same_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.log");
        std::fs::write(&path, b"kept in the copy\n").expect("write");
        let inode = std::fs::metadata(&path).expect("stat").ino();
        let mut rotator = Rotator::new(policy(RotateMode::Copytruncate));
        let rotated = rotator.rotate(&path, RotationReason::Age).expect("rotate");
        assert_eq!(
            std::fs::read(&rotated).expect("copy"),
            b"kept in the copy\n"
        );
        let stat = std::fs::metadata(&path).expect("stat");
        assert_eq!((stat.len(), stat.ino()), (0, inode), "truncated in place");
    }
}
