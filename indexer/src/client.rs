//! A small blocking client of the search API, for `loghaul query --server`
//! and for a search node that fans out to its shards.
//!
//! It speaks HTTP/1.0 over plain TCP (`http://` URLs), which is what the
//! indexer serves; put a TLS proxy in front for anything else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Why a request failed before an HTTP answer came back.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `http://host:port[/path]`.
    #[error("{0}")]
    Url(String),
    /// Connecting, sending or reading failed.
    #[error("{url}: {source}")]
    Io {
        /// The server.
        url: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The answer is not HTTP.
    #[error("{url}: not an HTTP answer")]
    Protocol {
        /// The server.
        url: String,
    },
}

/// An API server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    address: SocketAddr,
    host: String,
    prefix: String,
    token: Option<String>,
    timeout: Duration,
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: String,
}

/// Escapes a query-string value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Client {
    /// A client of `url` (`http://host:port`, optionally with a path prefix).
    pub fn new(url: &str, token: Option<String>) -> Result<Self, ClientError> {
        // Errors and logs name the URL with any password as `***`.
        let shown = loghaul_config::redact_url(url);
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            ClientError::Url(format!(
                "{shown}: only http:// URLs are supported; put a TLS proxy in front for https"
            ))
        })?;
        let (host, prefix) = match rest.find('/') {
            Some(slash) => (&rest[..slash], rest[slash..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if host.contains('@') {
            return Err(ClientError::Url(format!(
                "{shown}: credentials in the URL are not used; loghaul sends indexer.token as a bearer token: remove them"
            )));
        }
        let url = shown.as_str();
        let with_port = if host.contains(':') && !host.ends_with(']') {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        let address = with_port
            .to_socket_addrs()
            .map_err(|error| ClientError::Url(format!("{url}: {error}")))?
            .next()
            .ok_or_else(|| ClientError::Url(format!("{url}: the host has no address")))?;
        Ok(Client {
            base: url.trim_end_matches('/').to_owned(),
            address,
            host: host.to_owned(),
            prefix: prefix.to_owned(),
            token: token.filter(|token| !token.is_empty()),
            timeout: Duration::from_secs(30),
        })
    }

    /// The URL it talks to.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn io(&self, source: std::io::Error) -> ClientError {
        ClientError::Io {
            url: self.base.clone(),
            source,
        }
    }

    /// The status code of a response's first line.
    fn status(&self, head: &str) -> Result<u16, ClientError> {
        head.split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| ClientError::Protocol {
                url: self.base.clone(),
            })
    }

    fn send(&self, path_and_query: &str) -> Result<TcpStream, ClientError> {
        let mut stream = TcpStream::connect_timeout(&self.address, Duration::from_secs(5))
            .map_err(|error| self.io(error))?;
        stream
            .set_read_timeout(Some(self.timeout))
            .map_err(|error| self.io(error))?;
        let authorization = self
            .token
            .as_ref()
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "GET {}{path_and_query} HTTP/1.0\r\nHost: {}\r\nAccept: application/json\r\n{authorization}\r\n",
            self.prefix, self.host
        )
        .map_err(|error| self.io(error))?;
        Ok(stream)
    }

    /// `GET path?query`: the status and body.
    pub fn get(&self, path_and_query: &str) -> Result<Answer, ClientError> {
        let mut stream = self.send(path_and_query)?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .map_err(|error| self.io(error))?;
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| ClientError::Protocol {
                url: self.base.clone(),
            })?;
        let status = self.status(head)?;
        Ok(Answer {
            status,
            body: body.to_owned(),
        })
    }

    /// Follows a server-sent event stream, calling `each` with every `data:`
    /// payload until it returns false or the stream ends.
    pub fn stream(
        &self,
        path_and_query: &str,
        each: impl FnMut(&str) -> bool,
    ) -> Result<Answer, ClientError> {
        self.stream_while(path_and_query, || true, each)
    }

    /// [`Client::stream`], also ending within a second once `wanted` says
    /// false, even while the server sends nothing (a forwarded tail whose
    /// reader has gone, at shutdown).
    pub fn stream_while(
        &self,
        path_and_query: &str,
        wanted: impl Fn() -> bool,
        mut each: impl FnMut(&str) -> bool,
    ) -> Result<Answer, ClientError> {
        let stream = self.send(path_and_query)?;
        stream
            .set_read_timeout(None)
            .map_err(|error| self.io(error))?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader
            .read_line(&mut status_line)
            .map_err(|error| self.io(error))?;
        let status = self.status(&status_line)?;
        reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(1)))
            .map_err(|error| self.io(error))?;
        let mut headers_done = false;
        let mut body = String::new();
        let mut line = String::new();
        loop {
            // A timeout keeps what was read of the line, and checks `wanted`.
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if wanted() {
                        continue;
                    }
                    break;
                }
                Err(error) => return Err(self.io(error)),
            }
            if !line.ends_with('\n') {
                continue;
            }
            let text = std::mem::take(&mut line);
            let line = text.trim_end_matches(['\r', '\n']);
            if !headers_done {
                headers_done = line.is_empty();
                continue;
            }
            if status != 200 {
                body.push_str(line);
                continue;
            }
            if let Some(data) = line.strip_prefix("data: ")
                && !each(data)
            {
                break;
            }
        }
        Ok(Answer { status, body })
    }
}
