//! The API's TCP listener, which answers an over-long request head with a
//! JSON error instead of hyper's bare one.
//!
//! hyper refuses a URI over 64 KiB with `414` and an empty body, before any
//! handler runs, so a client would get no `{"error": …}` to show. Each
//! connection's bytes pass through [`HeadGuard`], which measures the lines of
//! a request's head (request line and headers). A line longer than
//! [`MAX_HEAD_LINE`] gets a `414` with a JSON body written straight to the
//! socket, and hyper sees the connection end. After the head of a `GET` or
//! `HEAD` (no body) the next request's head is measured again; after any
//! other method the guard stands aside for the rest of the connection, so a
//! request body is never mistaken for a head.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Longest line of a request head, in bytes (hyper's own limit is 65,534).
pub const MAX_HEAD_LINE: usize = 60_000;

/// The answer to an over-long head: 414 for the request line, 431 for a
/// header.
fn too_long(request_line: bool) -> Vec<u8> {
    let (status, body) = if request_line {
        (
            "414 URI Too Long",
            format!(
                "{{\"error\":\"the request line is longer than {MAX_HEAD_LINE} bytes; queries are limited to {} bytes\"}}",
                crate::query::MAX_QUERY_BYTES
            ),
        )
    } else {
        (
            "431 Request Header Fields Too Large",
            format!("{{\"error\":\"a request header is longer than {MAX_HEAD_LINE} bytes\"}}"),
        )
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A TCP listener whose connections pass through [`HeadGuard`].
#[derive(Debug)]
pub struct GuardedListener(pub TcpListener);

impl axum::serve::Listener for GuardedListener {
    type Io = HeadGuard;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (HeadGuard, std::net::SocketAddr) {
        let (stream, address) = axum::serve::Listener::accept(&mut self.0).await;
        (HeadGuard::new(stream), address)
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.local_addr()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In a request's head: measuring lines.
    Head,
    /// Past a head whose request may have a body: no more checks.
    Aside,
    /// The 414 is being written.
    Refusing,
    /// The 414 is written; the rest of the head is read and dropped (so
    /// closing does not reset the connection before the client reads the
    /// answer), then the connection ends.
    Draining,
}

/// Most bytes read and dropped after a refusal.
const MAX_DRAIN: usize = 1 << 20;

/// A connection that refuses over-long request heads itself.
#[derive(Debug)]
pub struct HeadGuard {
    inner: TcpStream,
    state: State,
    /// Bytes of the current line so far.
    line: usize,
    /// Whether the current line is the request line.
    request_line: bool,
    /// The request line's method, once read.
    method: Vec<u8>,
    method_done: bool,
    refusal: Vec<u8>,
    written: usize,
    drained: usize,
}

impl HeadGuard {
    fn new(inner: TcpStream) -> Self {
        HeadGuard {
            inner,
            state: State::Head,
            line: 0,
            request_line: true,
            method: Vec::new(),
            method_done: false,
            refusal: Vec::new(),
            written: 0,
            drained: 0,
        }
    }

    /// Follows the head through `bytes`; false when a line is too long.
    fn scan(&mut self, bytes: &[u8]) -> bool {
        for &byte in bytes {
            if self.state != State::Head {
                return true;
            }
            match byte {
                b'\n' => {
                    if self.line == 0 && !self.request_line {
                        // A blank line ends the head.
                        let bodiless = matches!(self.method.as_slice(), b"GET" | b"HEAD");
                        self.state = if bodiless { State::Head } else { State::Aside };
                        self.request_line = true;
                        self.method.clear();
                        self.method_done = false;
                    } else if self.line > 0 {
                        self.request_line = false;
                    }
                    self.line = 0;
                }
                b'\r' => {}
                _ => {
                    self.line += 1;
                    if self.request_line && !self.method_done {
                        if byte == b' ' || self.method.len() >= 8 {
                            self.method_done = true;
                        } else {
                            self.method.push(byte);
                        }
                    }
                    if self.line > MAX_HEAD_LINE {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Writes what is left of the refusal.
    fn poll_refuse(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.refusal.len() {
            let written = std::task::ready!(
                Pin::new(&mut self.inner).poll_write(context, &self.refusal[self.written..])
            )?;
            if written == 0 {
                break;
            }
            self.written += written;
        }
        self.state = State::Draining;
        Poll::Ready(Ok(()))
    }

    /// Reads and drops what the client still sends of its head.
    fn poll_drain(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; 8192];
        while self.drained < MAX_DRAIN {
            let mut buf = ReadBuf::new(&mut scratch);
            std::task::ready!(Pin::new(&mut self.inner).poll_read(context, &mut buf))?;
            let read = buf.filled();
            if read.is_empty() || read.windows(4).any(|window| window == b"\r\n\r\n") {
                break;
            }
            self.drained += read.len();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for HeadGuard {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match this.state {
                State::Refusing => std::task::ready!(this.poll_refuse(context))?,
                // hyper sees the end of the connection, and answers nothing.
                State::Draining => return this.poll_drain(context),
                State::Head | State::Aside => {
                    let before = buf.filled().len();
                    std::task::ready!(Pin::new(&mut this.inner).poll_read(context, buf))?;
                    let fresh = buf.filled()[before..].to_vec();
                    if this.scan(&fresh) {
                        return Poll::Ready(Ok(()));
                    }
                    buf.set_filled(before);
                    this.state = State::Refusing;
                    this.refusal = too_long(this.request_line);
                }
            }
        }
    }
}

impl AsyncWrite for HeadGuard {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.state == State::Refusing {
            // Whatever hyper writes after the refusal is dropped.
            return Poll::Ready(Ok(bytes.len()));
        }
        Pin::new(&mut this.inner).poll_write(context, bytes)
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(context)
    }
}
