//! A loopback proxy in front of s3s-fs that plays a bucket's Object Lock,
//! which s3s-fs accepts but does not keep.
//!
//! - `Bucket::Locking`: the lock headers of each upload are remembered by
//!   path and returned on HEAD and GET of that path, as S3 does for a bucket
//!   created with Object Lock.
//! - `Bucket::Unlocked`: a request carrying lock headers is refused with
//!   S3's `InvalidRequest`, as for a bucket created without it.
//!
//! Every request that carried lock headers is recorded, refused or not.
//! Requests are forwarded unchanged (the Host header too, so signatures
//! still verify at s3s-fs).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

const MODE: &str = "x-amz-object-lock-mode";
const UNTIL: &str = "x-amz-object-lock-retain-until-date";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket {
    Locking,
    Unlocked,
}

/// One request that carried lock headers.
#[derive(Clone, Debug)]
pub(crate) struct LockRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) mode: String,
    pub(crate) until: String,
    pub(crate) refused: bool,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    bucket: Bucket,
    client: Client<HttpConnector, Body>,
    locks: Arc<Mutex<HashMap<String, (String, String)>>>,
    seen: Arc<Mutex<Vec<LockRequest>>>,
}

pub(crate) struct LockProxy {
    pub(crate) address: SocketAddr,
    seen: Arc<Mutex<Vec<LockRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LockProxy {
    pub(crate) async fn start(upstream: &str, bucket: Bucket) -> LockProxy {
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            bucket,
            client: Client::builder(TokioExecutor::new()).build_http(),
            locks: Arc::default(),
            seen: Arc::default(),
        };
        let seen = shared.seen.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address");
        let app = axum::Router::new().fallback(forward).with_state(shared);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("proxy serves");
        });
        LockProxy {
            address,
            seen,
            task,
        }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub(crate) fn seen(&self) -> Vec<LockRequest> {
        self.seen.lock().expect("seen").clone()
    }
}

impl Drop for LockProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let lock = {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        header(MODE).map(|mode| (mode, header(UNTIL).unwrap_or_default()))
    };
    if let Some((mode, until)) = &lock {
        let refused = shared.bucket == Bucket::Unlocked;
        shared.seen.lock().expect("seen").push(LockRequest {
            method: method.to_string(),
            path: path.clone(),
            mode: mode.clone(),
            until: until.clone(),
            refused,
        });
        if refused {
            return Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .header("content-type", "application/xml")
                .body(Body::from(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                     <Error><Code>InvalidRequest</Code>\
                     <Message>Bucket is missing Object Lock Configuration</Message>\
                     <RequestId>proxy</RequestId></Error>",
                ))
                .expect("refusal");
        }
    }
    let (mut parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |value| value.as_str())
        .to_owned();
    parts.uri = format!("{}{path_and_query}", shared.upstream)
        .parse()
        .expect("upstream uri");
    let answer = match shared
        .client
        .request(Request::from_parts(parts, body))
        .await
    {
        Ok(answer) => answer,
        Err(error) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(error.to_string()))
                .expect("bad gateway");
        }
    };
    let (mut parts, body) = answer.into_parts();
    if parts.status.is_success() {
        let mut locks = shared.locks.lock().expect("locks");
        if let Some(lock) = lock {
            locks.insert(path.clone(), lock);
        } else if (method == Method::HEAD || method == Method::GET)
            && let Some((mode, until)) = locks.get(&path)
        {
            parts
                .headers
                .insert(MODE, HeaderValue::from_str(mode).expect("mode"));
            parts
                .headers
                .insert(UNTIL, HeaderValue::from_str(until).expect("until"));
        }
    }
    Response::from_parts(parts, Body::new(body))
}
