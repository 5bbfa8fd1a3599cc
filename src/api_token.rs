//! The API token `run` and `index` make at their first start when the
//! config names none: 32 random bytes as hex in `<data_dir>/api-token`,
//! mode 0600. Whoever can read that file (the user loghaul runs as, root)
//! can use the API; any other local user gets 401, as with a configured
//! token. `loghaul query` finds the file in the default data directory.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The token file's name under the data directory.
pub(crate) const FILE_NAME: &str = "api-token";

/// The token file of `data_dir`.
pub(crate) fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// The token in `data_dir`, made now if there is none. Returns it and
/// whether it was made. A file others may read is refused, as ssh refuses
/// a private key others may read.
pub(crate) fn load_or_create(data_dir: &Path) -> anyhow::Result<(String, bool)> {
    let path = path(data_dir);
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let token = hex(&random_bytes()?);
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match created {
        Ok(mut file) => {
            file.write_all(token.as_bytes())
                .and_then(|()| file.write_all(b"\n"))
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok((token, true))
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok((read(&path)?, false))
        }
        Err(error) => Err(error).with_context(|| format!("creating {}", path.display())),
    }
}

/// The token of the file at `path`, checked: private to its owner, not blank.
fn read(path: &Path) -> anyhow::Result<String> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mode = metadata.permissions().mode() & 0o777;
    anyhow::ensure!(
        mode & 0o077 == 0,
        "{} is open to other users (mode {mode:o}): it holds the API token; chmod 600 it",
        path.display()
    );
    let token = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_owned();
    anyhow::ensure!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "{} holds no token: delete it and a new one is made at the next start",
        path.display()
    );
    Ok(token)
}

/// The token a client finds in `data_dir`, if the file is there and this
/// user may read it.
pub(crate) fn discover(data_dir: &Path) -> Option<String> {
    read(&path(data_dir)).ok()
}

/// The file where `run` and `index` note their search API's address.
pub(crate) const ADDRESS_FILE: &str = "api-address";

/// Notes `address` (where the search API listens) in `data_dir`, so that
/// clients started there find it without `--server`. A failure only loses
/// that convenience: it is logged, not fatal.
pub(crate) fn note_address(data_dir: &Path, address: std::net::SocketAddr) {
    let path = data_dir.join(ADDRESS_FILE);
    if let Err(error) = std::fs::write(&path, format!("http://{address}\n")) {
        tracing::warn!(file = %path.display(), %error, "could not note the search API's address; clients need --server");
    }
}

/// A client's server: the one it was given, else the address a local
/// `run` or `index` noted in `data_dir` (default: the default data
/// directory), else http://127.0.0.1:7700.
pub(crate) fn server_for_client(given: Option<&str>, data_dir: Option<&Path>) -> String {
    given
        .filter(|url| !url.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| {
            let dir = data_dir.map_or_else(default_data_dir, Path::to_owned);
            let noted = std::fs::read_to_string(dir.join(ADDRESS_FILE)).ok()?;
            let noted = noted.trim();
            noted.starts_with("http://").then(|| noted.to_owned())
        })
        .unwrap_or_else(|| "http://127.0.0.1:7700".to_owned())
}

/// The data directory a client looks in when told none: the one `run` and
/// `index` use on defaults (`loghaul-data` here).
pub(crate) fn default_data_dir() -> PathBuf {
    loghaul_config::defaults()
        .map(|config| config.data_dir)
        .unwrap_or_else(|_| PathBuf::from("loghaul-data"))
}

/// A client's token: the one it was given (`--token`, `LOGHAUL_TOKEN`)
/// unless blank, else the file in `data_dir` (default: the default data
/// directory).
pub(crate) fn for_client(given: Option<&str>, data_dir: Option<&Path>) -> Option<String> {
    given
        .filter(|token| !token.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| match data_dir {
            Some(dir) => discover(dir),
            None => discover(&default_data_dir()),
        })
}

fn random_bytes() -> anyhow::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("reading /dev/urandom for the API token")?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_private_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let (token, created) = load_or_create(&data).expect("made");
        assert!(created);
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|byte| byte.is_ascii_hexdigit()));
        let mode = std::fs::metadata(path(&data))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            load_or_create(&data).expect("again"),
            (token.clone(), false)
        );
        assert_eq!(discover(&data), Some(token));
        assert_eq!(discover(dir.path()), None, "no file, no token");
    }

    #[test]
    fn a_file_others_may_read_or_a_blank_one_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, _) = load_or_create(dir.path()).expect("made");
        let file = path(dir.path());
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = load_or_create(dir.path()).expect_err("open to others");
        assert!(error.to_string().contains("chmod 600"), "{error}");
        assert_eq!(discover(dir.path()), None);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(&file, " \n").expect("blank");
        let error = load_or_create(dir.path()).expect_err("blank");
        assert!(error.to_string().contains("holds no token"), "{error}");
    }
}
