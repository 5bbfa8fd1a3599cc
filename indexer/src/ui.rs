//! The search web UI: a few static files embedded in the binary and served
//! at `/` by `loghaul index` and `loghaul run`. Nothing is loaded from
//! outside (the Content-Security-Policy allows this origin only); the page
//! talks to the API with the same token as any client.
//!
//! Files are gzipped once, at first use, and sent compressed to browsers
//! that accept it.

use std::io::Write;
use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../ui/index.html"),
    },
    Asset {
        path: "/ui/app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../ui/app.js"),
    },
    Asset {
        path: "/ui/style.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../ui/style.css"),
    },
    Asset {
        path: "/ui/vendor/uPlot.iife.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../ui/vendor/uPlot.iife.min.js"),
    },
    Asset {
        path: "/ui/vendor/uPlot.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../ui/vendor/uPlot.min.css"),
    },
];

/// What the page may load and run: this origin only, no inline script, no
/// plugins, no framing. Log text never becomes markup (app.js inserts it as
/// text), and this is the second wall if that ever failed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn gzipped() -> &'static [Vec<u8>] {
    static GZIPPED: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    GZIPPED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                // Writing into a Vec cannot fail.
                let _ = encoder.write_all(asset.bytes);
                encoder.finish().unwrap_or_default()
            })
            .collect()
    })
}

/// Bytes of every embedded file, raw and gzipped: what a first visit costs.
pub fn weight() -> (usize, usize) {
    let raw = ASSETS.iter().map(|asset| asset.bytes.len()).sum();
    let compressed = gzipped().iter().map(Vec::len).sum();
    (raw, compressed)
}

/// The paths served.
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|asset| asset.path)
}

/// Serves `path` if it is one of the embedded files.
pub fn serve(path: &str, request_headers: &HeaderMap) -> Option<Response> {
    let index = ASSETS.iter().position(|asset| asset.path == path)?;
    let asset = &ASSETS[index];
    let gzip = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|part| part.trim().starts_with("gzip")));
    let mut response = if gzip {
        let mut response = gzipped()[index].clone().into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        asset.bytes.into_response()
    };
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_weighs_under_100_kb_compressed() {
        let (raw, compressed) = weight();
        // The figures ARCHITECTURE.md quotes (run with --nocapture).
        eprintln!("a first visit: {raw} bytes raw, {compressed} bytes gzipped");
        assert!(
            compressed < 100 * 1024,
            "{compressed} bytes gzipped ({raw} raw)"
        );
    }

    #[test]
    fn assets_are_served_gzipped_with_their_policy() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip"),
        );
        for path in paths() {
            let response = serve(path, &headers).expect("served");
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                response.headers().get(header::CONTENT_ENCODING),
                Some(&HeaderValue::from_static("gzip")),
                "{path}"
            );
            assert!(
                response
                    .headers()
                    .contains_key(header::CONTENT_SECURITY_POLICY)
            );
        }
        assert!(serve("/ui/missing.js", &headers).is_none());
        let plain = serve("/", &HeaderMap::new()).expect("served");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    }
}
