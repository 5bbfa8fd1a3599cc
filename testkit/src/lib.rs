//! Helpers for loghaul's integration tests: the real RabbitMQ and a real
//! S3-compatible server (s3s-fs) on loopback, and unique names.
//!
//! Nothing here fakes a service. When a service is missing the helper panics
//! with what to run, so a test fails instead of silently passing.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod browser;
mod tmpfs;
pub use browser::Browser;
pub use tmpfs::Tmpfs;

/// The RabbitMQ the tests use: `$LOGHAUL_TEST_AMQP_URL`, else the local one.
pub fn amqp_url() -> String {
    std::env::var("LOGHAUL_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A name no other test of this run or a concurrent run uses.
pub fn unique_name(case: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{case}-{}-{nanos:x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Waits until something accepts TCP connections at `addr`.
pub fn wait_for_port(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `rabbitmqctl` with `args`, panicking with its output if it fails.
pub fn rabbitmqctl(args: &[&str]) {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl is installed");
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Access key of every [`S3Server`].
pub const S3_ACCESS_KEY: &str = "testkey";
/// Secret key of every [`S3Server`].
pub const S3_SECRET_KEY: &str = "testsecret";

/// An s3s-fs server on a free loopback port with its own data directory,
/// killed on drop. `stop` and `start` simulate an outage on the same port.
pub struct S3Server {
    binary: PathBuf,
    port: u16,
    data: tempfile::TempDir,
    child: Option<Child>,
}

impl S3Server {
    /// Starts a server; panics with install instructions if s3s-fs is missing.
    pub fn start() -> Self {
        let binary = s3s_fs_binary();
        let mut server = S3Server {
            binary,
            port: free_port(),
            data: tempfile::tempdir().unwrap(),
            child: None,
        };
        server.restart();
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The directory s3s-fs stores objects in (bucket/key).
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }

    /// Multipart uploads the server holds open: s3s-fs keeps each as an
    /// `.upload-<id>.json` file in its data directory.
    pub fn open_uploads(&self) -> usize {
        let mut count = 0;
        let mut pending = vec![self.data.path().to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().is_dir() {
                    pending.push(entry.path());
                } else if name.starts_with(".upload-") && name.ends_with(".json") {
                    count += 1;
                }
            }
        }
        count
    }

    /// Kills the server; requests fail until [`S3Server::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(&self.binary)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY])
            .arg(self.data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.binary.display()));
        self.child = Some(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        assert!(
            wait_for_port(addr, Duration::from_secs(15)),
            "s3s-fs did not start listening on {addr}"
        );
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn s3s_fs_binary() -> PathBuf {
    if let Ok(path) = std::env::var("LOGHAUL_S3S_FS") {
        return PathBuf::from(path);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cached = PathBuf::from(home).join(".cache/s3s-fs/bin/s3s-fs");
    if cached.exists() {
        return cached;
    }
    panic!(
        "s3s-fs is not installed: run scripts/test (it installs it), or \
         cargo install s3s-fs@0.14.1 --features binary --locked --root ~/.cache/s3s-fs"
    );
}

/// The bytes a gzip object holds; panics on an invalid stream.
pub fn gunzip(compressed: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .read_to_end(&mut raw)
        .expect("a valid gzip stream");
    raw
}

/// Appends lines `n` for each `n` of `numbers` to `log` (created if
/// missing), in one write: each line is `n` then `tail` (tests count what
/// arrives by the number a body starts with).
pub fn append_numbered(log: &std::path::Path, numbers: std::ops::Range<u32>, tail: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut text = String::new();
    for n in numbers {
        text.push_str(&format!("{n} {}\n", tail.replace("{n}", &n.to_string())));
    }
    file.write_all(text.as_bytes()).unwrap();
}

/// `/api/count?q=<query>` of a `run` or `index` API, or `None` while it
/// does not answer 200.
pub fn api_count(addr: SocketAddr, query: &str) -> Option<u64> {
    let (status, body) = http_get(addr, &format!("/api/count?q={query}"));
    if status != 200 {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(&body).ok()?["count"].as_u64()
}

/// Every event matching `query` on a `run` or `index` API, paged through
/// with the cursor, counted by the number each body starts with (tests
/// write numbered lines): number -> how many times it is indexed.
pub fn numbers_on_the_index(addr: SocketAddr, query: &str) -> std::collections::HashMap<u32, u32> {
    let mut seen = std::collections::HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/search?q={query}&limit=1000");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, body) = http_get(addr, &path);
        assert_eq!(status, 200, "{body}");
        let page: serde_json::Value = serde_json::from_str(&body).expect("a page");
        for event in page["events"].as_array().expect("events") {
            let number: u32 = event["body"]
                .as_str()
                .and_then(|body| body.split(' ').next())
                .and_then(|n| n.parse().ok())
                .expect("a numbered line");
            *seen.entry(number).or_default() += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

/// The API tokens of the `run` and `index` processes tests started, by
/// address: [`http_get`] and its kin send them, as a client finding the
/// token file would.
fn api_tokens() -> &'static std::sync::Mutex<std::collections::HashMap<SocketAddr, String>> {
    static TOKENS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<SocketAddr, String>>,
    > = std::sync::OnceLock::new();
    TOKENS.get_or_init(Default::default)
}

/// Reads the token a `run` or `index` without `indexer.token` made in
/// `data_dir` (`api-token`), and sends it to `addr` from now on. Returns
/// it; `None` when there is no such file (a configured token).
pub fn remember_api_token(addr: SocketAddr, data_dir: &std::path::Path) -> Option<String> {
    let token = std::fs::read_to_string(data_dir.join("api-token")).ok()?;
    let token = token.trim().to_owned();
    api_tokens()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(addr, token.clone());
    Some(token)
}

/// The token remembered for `addr`.
pub fn api_token(addr: SocketAddr) -> Option<String> {
    api_tokens()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&addr)
        .cloned()
}

/// A plain HTTP/1.0 GET on loopback: the status code and the body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_get_with(addr, path, &[])
}

/// [`http_get`] with extra header lines such as `Authorization: Bearer x`.
pub fn http_get_with(addr: SocketAddr, path: &str, headers: &[&str]) -> (u16, String) {
    let (head, body) = http_get_raw(addr, path, headers);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A plain HTTP/1.0 GET: the response's head (status line and headers) and
/// its body's bytes, for bodies that are not text.
pub fn http_get_raw(addr: SocketAddr, path: &str, headers: &[&str]) -> (String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut extra: String = headers.iter().map(|line| format!("{line}\r\n")).collect();
    let authorizes = headers
        .iter()
        .any(|line| line.to_ascii_lowercase().starts_with("authorization:"));
    if !authorizes && let Some(token) = api_token(addr) {
        extra.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{extra}\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    match response.windows(4).position(|window| window == b"\r\n\r\n") {
        Some(split) => (
            String::from_utf8_lossy(&response[..split]).into_owned(),
            response[split + 4..].to_vec(),
        ),
        None => (String::from_utf8_lossy(&response).into_owned(), Vec::new()),
    }
}

/// A loopback address with a port free right now.
pub fn free_local_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// Starts `bin run` on `log` with its data in `<dir>/data` and the API on a
/// free loopback port, and waits for its ready line. Returns the child, the
/// API's address, and the receiver of its further stderr lines (read on a
/// thread, so the child never blocks on a full pipe).
pub fn start_run(
    bin: &std::path::Path,
    dir: &std::path::Path,
    log: &std::path::Path,
) -> (Child, SocketAddr, std::sync::mpsc::Receiver<String>) {
    start_run_with(bin, dir, &[log.display().to_string()])
}

/// [`start_run`] with other arguments after `run` than one log file (a
/// config, several paths).
pub fn start_run_with(
    bin: &std::path::Path,
    dir: &std::path::Path,
    args: &[String],
) -> (Child, SocketAddr, std::sync::mpsc::Receiver<String>) {
    start_run_on(bin, dir, "127.0.0.1:0", args)
}

/// [`start_run_with`] with the API on `listen` (`127.0.0.1:0` picks a free
/// port): a test restarting `run` in place gives the address it had.
pub fn start_run_on(
    bin: &std::path::Path,
    dir: &std::path::Path,
    listen: &str,
    args: &[String],
) -> (Child, SocketAddr, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    // Run from `dir`, so relative paths in `args` are taken from there.
    let mut child = Command::new(bin)
        .current_dir(dir)
        .args(["run", "--listen", listen, "--data-dir"])
        .arg(dir.join("data"))
        .args(args)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let address = loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("a ready line");
        if line.contains("loghaul is running") {
            let url = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("search=http://"))
                .expect("the ready line names the search URL");
            break url.parse().expect("address");
        }
    };
    remember_api_token(address, &dir.join("data"));
    (child, address, receiver)
}

/// Writes `<dir>/loghaul.toml` for a role on the test RabbitMQ: `data_dir`
/// under `dir`, queues named by `prefix`, then `extra` (sections only: it
/// comes after `[queue]`).
pub fn amqp_config(dir: &std::path::Path, prefix: &str, extra: &str) -> PathBuf {
    let path = dir.join("loghaul.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\n[queue]\nkind = \"amqp\"\nurl = \"{}\"\nprefix = \"{prefix}\"\n{extra}",
            dir.join("data").display(),
            amqp_url()
        ),
    )
    .expect("config");
    path
}

/// Starts `bin <role> -c <config>`, warnings only, output discarded.
pub fn spawn_role(bin: &std::path::Path, role: &str, config: &std::path::Path) -> Child {
    Command::new(bin)
        .args([role, "-c"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("loghaul {role} starts: {error}"))
}
