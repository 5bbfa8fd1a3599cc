//! Real headless Chromium for UI tests, driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`; never a downloaded browser).
//!
//! A small WebDriver client over loopback HTTP: sessions, navigation,
//! script evaluation, clicks, typing and screenshots are all a UI test
//! needs.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The Chromium binary the tests drive.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Its WebDriver server.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The element key of the WebDriver protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session; closed (and its driver stopped) on drop.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless session
    /// with a 1400x900 window.
    pub fn start() -> Self {
        assert!(
            Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
            "UI tests need Debian's chromium and chromium-driver: apt-get install chromium chromium-driver (scripts/test does)"
        );
        let addr = crate::free_local_addr();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={}", addr.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        assert!(
            crate::wait_for_port(addr, Duration::from_secs(20)),
            "chromedriver did not listen on {addr}"
        );
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--window-size=1400,900",
                    ],
                },
            }}
        });
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
        };
        let answer = browser.call("POST", "/session", Some(capabilities));
        browser.session = answer["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|value| value.to_string());
        let (status, text) = request(self.addr, method, path, body.as_deref());
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("chromedriver answered {status}: {text}"));
        assert!(
            status == 200,
            "WebDriver {method} {path}: {status} {}",
            value["value"]
        );
        value["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `url` and waits for the document to load. A page of a server
    /// whose token the tests know ([`crate::remember_api_token`]) gets it
    /// in the fragment, as a link handing it over would.
    pub fn goto(&self, url: &str) {
        let token = url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|authority| authority.parse().ok())
            .and_then(crate::api_token);
        let url = match token {
            Some(token) if !url.contains('#') => format!("{url}#token={token}"),
            _ => url.to_owned(),
        };
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body: `return …`) in the page with `args`
    /// (`arguments[0]`…) and returns what it returns.
    pub fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Evaluates `script` until it returns something truthy (not null,
    /// false, 0 or ""), then returns it; panics with `what` after `limit`.
    pub fn wait_for(&self, what: &str, script: &str, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.eval(script, vec![]);
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::Number(number) => number.as_f64() != Some(0.0),
                Value::String(text) => !text.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what} ({script})"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn element(&self, css: &str) -> Value {
        let found = self.session_call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        json!({ ELEMENT: found[ELEMENT] })
    }

    fn element_id(&self, css: &str) -> String {
        self.element(css)[ELEMENT]
            .as_str()
            .expect("an element id")
            .to_owned()
    }

    /// Clicks the first element `css` finds, as a user would.
    pub fn click(&self, css: &str) {
        let id = self.element_id(css);
        self.session_call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Moves the mouse to (`x`, `y`) CSS pixels from the top left of the
    /// element `css` finds, and clicks there, as a user would.
    pub fn click_at(&self, css: &str, x: f64, y: f64) {
        let element = self.element(css);
        let size = self.session_call(
            "GET",
            &format!(
                "/element/{}/rect",
                element[ELEMENT].as_str().unwrap_or_default()
            ),
            None,
        );
        let (width, height) = (
            size["width"].as_f64().unwrap_or(0.0),
            size["height"].as_f64().unwrap_or(0.0),
        );
        let actions = json!([
            {"type": "pointerMove", "origin": element, "x": (x - width / 2.0).round() as i64, "y": (y - height / 2.0).round() as i64, "duration": 0},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]);
        self.session_call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}]})),
        );
    }

    /// Types `text` into the element `css` finds (`\u{E007}` is Enter,
    /// `\u{E00C}` Escape).
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element_id(css);
        self.session_call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Clears the input `css` finds.
    pub fn clear(&self, css: &str) {
        let id = self.element_id(css);
        self.session_call("POST", &format!("/element/{id}/clear"), Some(json!({})));
    }

    /// Presses `keys` on whatever has the focus (one key per char; `\u{E007}`
    /// is Enter).
    pub fn press(&self, keys: &str) {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": key.to_string()}));
            actions.push(json!({"type": "keyUp", "value": key.to_string()}));
        }
        self.session_call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
    }

    /// Sends the DevTools command `method` with `params` to the page
    /// (chromedriver's `goog/cdp/execute`) and returns its result: what
    /// WebDriver has no command for, such as emulated media features.
    pub fn cdp(&self, method: &str, params: Value) -> Value {
        self.session_call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": method, "params": params })),
        )
    }

    /// Lets the page download files, saved under their own names in `dir`.
    pub fn allow_downloads(&self, dir: &Path) {
        self.cdp(
            "Browser.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": dir.display().to_string() }),
        );
    }

    /// Emulates the system's colour scheme (`"light"` or `"dark"`), as
    /// `prefers-color-scheme` reports it to the page.
    pub fn emulate_color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        );
    }

    /// Saves a PNG of the viewport to `path` (directories created).
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let data = self.session_call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64"))
            .expect("a PNG");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write screenshot");
    }
}

/// One HTTP/1.1 request (chromedriver refuses 1.0), connection closed after
/// it; a chunked answer is decoded.
fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    // Read the head, then exactly the body it announces (chromedriver may
    // keep the connection open).
    let mut reader = std::io::BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut reader, &mut line).expect("read") == 0 {
            break;
        }
        if line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_owned());
    }
    let status = head
        .first()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let header = |name: &str| {
        head.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let mut body = Vec::new();
    if let Some(length) = header("content-length").and_then(|value| value.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body).expect("read body");
    } else if header("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            std::io::BufRead::read_line(&mut reader, &mut size).expect("chunk size");
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).expect("chunk");
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut body).expect("read body");
    }
    (status, String::from_utf8_lossy(&body).into_owned())
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = request(self.addr, "DELETE", &path, None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
