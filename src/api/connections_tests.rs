//! Each limit of [`serve`], pinned on a small router with small limits (issue 14).

use std::time::Duration;

use axum::Extension;
use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

fn limits() -> Limits {
    Limits {
        connections: 2,
        header_read: Duration::from_millis(300),
        request: Duration::from_millis(300),
        body_bytes: 1024,
        buffer_bytes: 8192,
    }
}

fn app() -> Router {
    Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route("/peer", get(|Extension(Peer(p)): Extension<Peer>| async move { p.ip().to_string() }))
        .route("/echo", post(|body: Bytes| async move { body.len().to_string() }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                "slow"
            }),
        )
}

/// An API with these limits on a free loopback port, and a way to stop it.
async fn start(
    limits: Limits,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app(), limits, async {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

/// Sends `raw` and reads until the server closes or `wait` passes: what came back, and whether
/// the server closed the connection.
async fn exchange(s: &mut TcpStream, raw: &[u8], wait: Duration) -> (String, bool) {
    let _ = s.write_all(raw).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(wait, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

fn status(answer: &str) -> Option<u16> {
    answer.split_whitespace().nth(1)?.parse().ok()
}

const GET_OK: &[u8] = b"GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";

#[tokio::test]
async fn a_connection_past_the_limit_closes_the_one_idle_longest() {
    let (addr, _stop, _server) = start(Limits { header_read: Duration::from_secs(10), ..limits() }).await;
    let mut oldest = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut younger = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut fresh = TcpStream::connect(addr).await.unwrap();
    let (answer, _) = exchange(&mut fresh, GET_OK, Duration::from_secs(2)).await;
    assert_eq!(status(&answer), Some(200), "{answer}");
    assert!(exchange(&mut oldest, b"", Duration::from_secs(1)).await.1, "the longest idle was closed");
    assert!(!exchange(&mut younger, b"", Duration::from_millis(200)).await.1, "the other stays");
}

#[tokio::test]
async fn headers_must_arrive_in_time_on_a_new_connection_and_between_requests() {
    let (addr, _stop, _server) = start(limits()).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let (answer, closed) =
        exchange(&mut slow, b"GET /ok HTTP/1.1\r\nhost: x\r\n", Duration::from_secs(2)).await;
    assert!(closed, "half a request is closed: {answer}");
    assert!(exchange(&mut silent, b"", Duration::from_secs(2)).await.1, "nothing sent: closed");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    // A kept-alive connection has as long for its next request's headers.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    let (answer, closed) =
        exchange(&mut kept, b"GET /ok HTTP/1.1\r\nhost: x\r\n\r\n", Duration::from_secs(2)).await;
    assert!(closed && status(&answer) == Some(200), "{answer}");
}

#[tokio::test]
async fn bodies_past_the_limit_or_the_time_and_headers_past_the_buffer_are_refused() {
    let (addr, _stop, _server) = start(limits()).await;
    let big = format!("POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n{}", "x".repeat(5000));
    let (answer, _) =
        exchange(&mut TcpStream::connect(addr).await.unwrap(), big.as_bytes(), Duration::from_secs(2)).await;
    assert_eq!(status(&answer), Some(413), "{answer}");
    assert!(answer.contains(r#""code":"body_too_large""#), "{answer}");
    let chunked = format!(
        "POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n\
         800\r\n{}\r\n800\r\n{}\r\n0\r\n\r\n",
        "x".repeat(0x800),
        "x".repeat(0x800)
    );
    let mut s = TcpStream::connect(addr).await.unwrap();
    let (answer, _) = exchange(&mut s, chunked.as_bytes(), Duration::from_secs(2)).await;
    assert_eq!(status(&answer), Some(413), "no length to check up front: {answer}");
    let slow = b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly ten b";
    let (answer, _) =
        exchange(&mut TcpStream::connect(addr).await.unwrap(), slow, Duration::from_secs(2)).await;
    assert_eq!(status(&answer), Some(408), "{answer}");
    let header = format!("GET /ok HTTP/1.1\r\nhost: x\r\nx-junk: {}\r\n\r\n", "a".repeat(20_000));
    let (answer, _) =
        exchange(&mut TcpStream::connect(addr).await.unwrap(), header.as_bytes(), Duration::from_secs(2))
            .await;
    assert_eq!(status(&answer), Some(431), "{answer}");
    let fits = b"POST /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 5\r\n\r\nhello";
    let (answer, _) =
        exchange(&mut TcpStream::connect(addr).await.unwrap(), fits, Duration::from_secs(2)).await;
    assert!(status(&answer) == Some(200) && answer.ends_with("\r\n\r\n5"), "{answer}");
}

#[tokio::test]
async fn a_connection_in_a_handler_is_not_closed_accepting_waits_for_it() {
    let (addr, _stop, _server) = start(Limits { connections: 1, ..limits() }).await;
    let mut busy = TcpStream::connect(addr).await.unwrap();
    let slow = tokio::spawn(async move {
        let raw = b"GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
        exchange(&mut busy, raw, Duration::from_secs(2)).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let (answer, _) =
        exchange(&mut TcpStream::connect(addr).await.unwrap(), GET_OK, Duration::from_secs(2)).await;
    assert_eq!(status(&answer), Some(200), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(50), "waited for the slow one");
    let (answer, _) = slow.await.unwrap();
    assert!(answer.ends_with("slow"), "{answer}");
}

#[tokio::test]
async fn requests_carry_their_peer_and_shutdown_ends_the_server() {
    let (addr, stop, server) = start(limits()).await;
    let raw = b"GET /peer HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let (answer, _) =
        exchange(&mut TcpStream::connect(addr).await.unwrap(), raw, Duration::from_secs(2)).await;
    assert!(answer.ends_with("127.0.0.1"), "{answer}");
    let mut open = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(2), server).await.unwrap().unwrap();
    assert!(exchange(&mut open, b"", Duration::from_secs(1)).await.1, "open connections are closed");
}
