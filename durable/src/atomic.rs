//! Atomic file replacement.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

fn step(name: &str, path: &Path, error: std::io::Error) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("{name} {}: {error}", path.display()))
}

/// The temporary file [`replace`] writes before renaming it over `path`:
/// `path` with `.tmp` added to its name, in the same directory (so the
/// rename stays on one file system). Sweepers remove `*.tmp` left by a
/// crash.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The directory `path` is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Fsyncs directory `dir`, so that a rename or a new file in it survives a
/// crash of the machine.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| step("fsync directory", dir, error))
}

/// Replaces `path` with what `write` writes, so that a crash leaves the old
/// content or the new, never a mix: a temporary file beside it
/// ([`temporary_path`]), fsync, rename into place, fsync of the directory.
/// The parent directory is created if needed. On any failure the temporary
/// file is removed and `path` is untouched. The error names the step that
/// failed and keeps the original kind (so [`crate::is_full_io`] still sees
/// a full disk).
pub fn replace(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = parent(path);
    std::fs::create_dir_all(dir).map_err(|error| step("create directory", dir, error))?;
    replace_via(path, &temporary_path(path), write)
}

/// [`replace`] through the temporary file `temporary`, which must be on the
/// same file system as `path` (a store whose directories are listed keeps
/// its temporary files apart). The parent of `path` must exist.
pub fn replace_via(
    path: &Path,
    temporary: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = parent(path);
    let result = write_then_rename(path, temporary, write);
    if result.is_err() {
        let _ = std::fs::remove_file(temporary);
        return result;
    }
    sync_dir(dir)
}

fn write_then_rename(
    path: &Path,
    temporary: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let file = File::create(temporary).map_err(|error| step("create", temporary, error))?;
    let mut out = BufWriter::new(file);
    write(&mut out).map_err(|error| step("write", temporary, error))?;
    let file = out
        .into_inner()
        .map_err(|error| step("write", temporary, error.into_error()))?;
    file.sync_all()
        .map_err(|error| step("fsync", temporary, error))?;
    drop(file);
    std::fs::rename(temporary, path).map_err(|error| step("rename", temporary, error))
}

/// [`replace`] with `bytes`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace(path, |out| out.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deep/state.json");
        write_atomically(&path, b"one").expect("first write creates the directory");
        write_atomically(&path, b"two").expect("second write replaces");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        assert!(!temporary_path(&path).exists());
        assert_eq!(
            temporary_path(&path).file_name().and_then(|n| n.to_str()),
            Some("state.json.tmp")
        );
    }

    #[test]
    fn a_failed_write_keeps_the_old_content_and_removes_its_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        write_atomically(&path, b"old").expect("write");
        let error = replace(&path, |out| {
            out.write_all(b"half")?;
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull))
        })
        .expect_err("the writer failed");
        assert_eq!(error.kind(), std::io::ErrorKind::StorageFull);
        assert!(error.to_string().contains("state.json.tmp"), "{error}");
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
        assert!(!temporary_path(&path).exists());
    }
}
