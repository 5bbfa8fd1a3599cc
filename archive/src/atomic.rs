use std::io::Write;
use std::path::Path;

fn step(name: &str, path: &Path, error: std::io::Error) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("{name} {}: {error}", path.display()))
}

/// Replaces `path` with `bytes` so that a crash leaves the old content or the
/// new, never a mix: write a temporary file beside it, fsync it, rename it
/// into place, fsync the directory. The parent directory is created if
/// needed. The error names the step that failed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|error| step("create directory", dir, error))?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|error| step("create", &tmp, error))?;
    file.write_all(bytes)
        .map_err(|error| step("write", &tmp, error))?;
    file.sync_all()
        .map_err(|error| step("fsync", &tmp, error))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|error| step("rename", &tmp, error))?;
    std::fs::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| step("fsync directory", dir, error))
}
