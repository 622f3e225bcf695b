//! The explorer's page: static files embedded in the binary (nothing is fetched from the
//! internet at run time — the map's country outlines are Natural Earth's, from the
//! `world-atlas` npm package, copied into `web/vendor/` by `web/build.mjs`, which CI runs
//! again to check the committed copy is what the lockfile gives).
//!
//! Served with a weak ETag (answered `304 Not Modified` when the browser has it; weak because
//! the explorer's router gzips the files for browsers that accept it, and one version of a
//! file then travels in two codings), a
//! Content-Security-Policy that lets the page load nothing but this oracle's own files and
//! routes, and `nosniff`.

use std::sync::OnceLock;

use axum::extract::Path as RoutePath;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// Every file the page loads; `index.html` is served at `/explorer/`.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../web/index.html"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../web/app.js"),
    },
    Asset {
        name: "map.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../web/map.js"),
    },
    Asset {
        name: "charts.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../web/charts.js"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../web/style.css"),
    },
    Asset {
        name: "countries-110m.json",
        content_type: "application/json",
        bytes: include_bytes!("../web/vendor/countries-110m.json"),
    },
];

/// What the page may load: its own files and routes, nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn etags() -> &'static Vec<String> {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| format!("W/\"{}\"", &hex::encode(Sha256::digest(asset.bytes))[..32]))
            .collect()
    })
}

/// `/explorer` (redirected to `/explorer/`), `/explorer/` and `/explorer/{file}`.
pub fn router() -> Router {
    Router::new()
        .route(
            "/explorer",
            get(|| async { Redirect::permanent("/explorer/") }),
        )
        .route(
            "/explorer/",
            get(|headers: HeaderMap| async move { serve("index.html", &headers) }),
        )
        .route(
            "/explorer/{file}",
            get(
                |RoutePath(file): RoutePath<String>, headers: HeaderMap| async move {
                    serve(&file, &headers)
                },
            ),
        )
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(position) = ASSETS.iter().position(|asset| asset.name == name) else {
        return groundwork_oracle_core::api::refusal(
            StatusCode::NOT_FOUND,
            "no_such_file",
            format!("the explorer has no file {name:?}"),
        );
    };
    let asset = &ASSETS[position];
    let etag = &etags()[position];
    let common = [
        (
            header::ETAG,
            HeaderValue::from_str(etag).expect("a hex ETag"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        // The router gzips for clients that ask: a 304 names the same variants its 200 would.
        (header::VARY, HeaderValue::from_static("accept-encoding")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || weakly_equal(tag, etag))
        });
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.bytes,
    )
        .into_response()
}

/// RFC 9110's weak comparison: two entity tags match when their opaque tags do, whether or
/// not either is marked weak.
fn weakly_equal(one: &str, other: &str) -> bool {
    let opaque = |tag: &str| tag.strip_prefix("W/").unwrap_or(tag).to_string();
    opaque(one) == opaque(other)
}
