//! The oracle's HTTP server and the bounds every route lives within (SPEC 4.5): no number of
//! slow or curious clients may delay ingest's commits.
//!
//! - [`serve`]: HTTP/1.1 on a listener, each connection's request headers within
//!   `header_read_timeout` (a client trickling its headers is cut off), at most
//!   `max_connections` at once (beyond, a new connection is closed at once), and a graceful
//!   stop that lets in-flight requests finish (within `drain_timeout`).
//! - [`RouteClass`]: a class of routes (ingest, the peers' stream, reads) with its own
//!   concurrency limit (beyond it, `503 busy` at once, never a queue), an optional cap on one
//!   source's requests at once (`503 busy`: one address holding slow requests open takes at
//!   most that share of the class), an optional per-source rate (`429 rate_limited`) and a
//!   request timeout (`503 request_timeout`): one class saturated never takes another's
//!   capacity. A reply's body holds its permit only in a
//!   class that asks for it (the peers' stream, whose producer holds a store reader); a slow
//!   reader of another class's body holds a connection, never the class's capacity.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::api::refusal;
use crate::clock::Clock;
use crate::ratelimit::Limiter;
use crate::tasks::StopSignal;

/// What the server allows each connection.
#[derive(Clone, Copy, Debug)]
pub struct ServerBounds {
    /// Longest a request's headers may take to arrive.
    pub header_read_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Longest a stop waits for in-flight requests.
    pub drain_timeout: Duration,
}

impl Default for ServerBounds {
    fn default() -> Self {
        ServerBounds {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4_096,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `app` on `listener` within `bounds` until `stop`; then lets in-flight requests
/// finish (at most `drain_timeout`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    bounds: ServerBounds,
    mut stop: StopSignal,
) -> anyhow::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(bounds.max_connections.max(1)));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_read_timeout);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.stopped() => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            // Over the connection bound: closed at once, nothing read.
            continue;
        };
        let router = app.clone();
        let service =
            hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request)
            });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business.
            let _ = connection.await;
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(bounds.drain_timeout) => {
            tracing::warn!("connections still open after the drain timeout are closed");
        }
    }
    Ok(())
}

/// The address a request counts against: the peer, or — when the peer is one of
/// `trusted_proxies` — the last address in `X-Forwarded-For` that is not itself a trusted
/// proxy.
pub fn source_address(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    trusted_proxies: &[IpAddr],
) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    forwarded_for
        .into_iter()
        .flat_map(|header| header.split(','))
        .rev()
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .find(|hop| !trusted_proxies.contains(hop))
        .unwrap_or(peer)
}

/// A class of routes and its bounds (see the module docs).
pub struct RouteClass {
    name: &'static str,
    /// Whether a reply's body keeps its permit until it is sent (streams whose producer holds
    /// a scarce resource), or the permit ends with the handler (bodies that cost nothing while
    /// a client is slow to read them).
    body_holds_permit: bool,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    /// Proxies whose `X-Forwarded-For` names the source (as ingest finds it).
    trusted_proxies: Vec<IpAddr>,
    per_source: Option<PerSource>,
    per_source_in_flight: Option<SourcesInFlight>,
    timeout: Duration,
}

/// A route class's per-source rate: the buckets and the clock they refill by.
struct PerSource {
    limiter: Limiter<IpAddr>,
    clock: Arc<dyn Clock>,
}

/// Each source's requests of a class in flight (an entry only while it has some).
struct SourcesInFlight {
    max: usize,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl SourcesInFlight {
    /// A slot for one more request of `source`, or `None` when it has `max` in flight.
    fn take(&self, source: IpAddr) -> Option<SourceSlot> {
        let mut counts = self.counts.lock().expect("in-flight lock");
        let count = counts.entry(source).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            counts: self.counts.clone(),
            source,
        })
    }
}

/// One request of a source in flight; released when dropped.
struct SourceSlot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    source: IpAddr,
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().expect("in-flight lock");
        if let Some(count) = counts.get_mut(&self.source) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.source);
            }
        }
    }
}

impl RouteClass {
    /// `max_in_flight` requests of the class at once, each answered within `timeout`.
    pub fn new(name: &'static str, max_in_flight: usize, timeout: Duration) -> Self {
        RouteClass {
            name,
            body_holds_permit: false,
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            max_in_flight: max_in_flight.max(1),
            trusted_proxies: Vec::new(),
            per_source: None,
            per_source_in_flight: None,
            timeout,
        }
    }

    /// Sources are found through `trusted_proxies` (their `X-Forwarded-For`), as ingest
    /// finds them; otherwise a request's source is its peer address.
    pub fn sources_behind(mut self, trusted_proxies: Vec<IpAddr>) -> Self {
        self.trusted_proxies = trusted_proxies;
        self
    }

    /// Also at most `rate_per_s` requests a second per source address (bursts of `burst`).
    pub fn per_source(mut self, rate_per_s: f64, burst: u32, clock: Arc<dyn Clock>) -> Self {
        self.per_source = Some(PerSource {
            limiter: Limiter::new(rate_per_s, burst),
            clock,
        });
        self
    }

    /// Also at most `max` requests of one source address in flight at once.
    pub fn per_source_in_flight(mut self, max: usize) -> Self {
        self.per_source_in_flight = Some(SourcesInFlight {
            max: max.max(1),
            counts: Arc::default(),
        });
        self
    }

    /// A streamed reply keeps its permit until its body is sent (the peers' stream holds a
    /// store reader while it runs).
    pub fn bodies_hold_permits(mut self) -> Self {
        self.body_holds_permit = true;
        self
    }

    /// `router` with every route inside this class's bounds.
    pub fn bound(self: &Arc<Self>, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(self.clone(), guard))
    }

    /// A task forgetting refilled per-source buckets every minute (memory follows the sources
    /// active now).
    pub async fn sweep_every_minute(self: Arc<Self>, stop: StopSignal) -> anyhow::Result<()> {
        let mut ticker = crate::tasks::Ticker::new(
            Duration::from_secs(60),
            crate::tasks::FirstRound::AfterOnePeriod,
            stop,
        );
        while ticker.next().await {
            if let Some(per_source) = &self.per_source {
                per_source.limiter.forget_full(per_source.clock.now_ms());
            }
        }
        Ok(())
    }
}

/// The source `request` counts against (see [`source_address`]); `None` without a peer
/// address (a request not served through [`serve`]).
fn source_of(request: &Request, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let ConnectInfo(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>()?;
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok());
    Some(source_address(peer.ip(), forwarded, trusted_proxies))
}

async fn guard(State(class): State<Arc<RouteClass>>, request: Request, next: Next) -> Response {
    let source = source_of(&request, &class.trusted_proxies);
    if let (Some(PerSource { limiter, clock }), Some(source)) = (&class.per_source, source) {
        if !limiter.allow(source, clock.now_ms()) {
            return refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "source {source} exceeds its rate limit for {} requests",
                    class.name
                ),
            );
        }
    }
    let source_slot = match (&class.per_source_in_flight, source) {
        (Some(sources), Some(source)) => match sources.take(source) {
            Some(slot) => Some(slot),
            None => {
                return refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    format!(
                        "source {source} has {} {} requests in flight: wait for their replies",
                        sources.max, class.name
                    ),
                )
            }
        },
        _ => None,
    };
    let Ok(permit) = class.in_flight.clone().try_acquire_owned() else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "{} {} requests are being served: try again shortly",
                class.max_in_flight, class.name
            ),
        );
    };
    match tokio::time::timeout(class.timeout, next.run(request)).await {
        // A streamed reply of a class whose bodies hold permits counts until it ends.
        Ok(response) if class.body_holds_permit => response.map(|body| {
            axum::body::Body::new(PermittedBody {
                body,
                _permit: permit,
                _source_slot: source_slot,
            })
        }),
        Ok(response) => response,
        Err(_) => refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            format!(
                "the reply took longer than {} s",
                class.timeout.as_secs_f64()
            ),
        ),
    }
}

/// A response body that holds its route class's permit (and its source's slot) until it is
/// dropped.
struct PermittedBody {
    body: axum::body::Body,
    _permit: OwnedSemaphorePermit,
    _source_slot: Option<SourceSlot>,
}

impl http_body::Body for PermittedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
