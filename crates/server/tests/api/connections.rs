//! Connection discipline (issue #11, item 1): a client that sends its headers too slowly, a kept-alive
//! connection left idle, and a TLS handshake that never comes are closed after their timeouts, so no
//! client holds a connection (and a file descriptor) for ever.

use std::net::SocketAddr;
use std::time::Duration;

use gatehouse_server::settings::TlsMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

fn addr(app: &TestApp) -> SocketAddr {
    app.server.as_ref().unwrap().addr
}

/// Whether the server closed the connection: the next read ends (EOF or reset) within `wait`.
async fn closed(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A response the server wrote before closing (such as a 408) is read past.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn slow_headers_and_idle_keep_alive_connections_are_closed() {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.header_read_timeout = Duration::from_secs(1)
    })
    .await;
    // Headers that never finish.
    let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
    slow.write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    assert!(
        closed(&mut slow, Duration::from_secs(3)).await,
        "a slow client kept its connection"
    );

    // A kept-alive connection after one answered request, then idle.
    let mut idle = TcpStream::connect(addr(&app)).await.unwrap();
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "the request is answered"
    );
    assert!(
        closed(&mut idle, Duration::from_secs(3)).await,
        "an idle connection stayed open"
    );

    // A client within the timeout is served as before.
    assert_eq!(app.status("/health/live").await, 200);
}

#[tokio::test]
async fn a_connection_whose_peer_stalls_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.idle_timeout = Duration::from_secs(1)
    })
    .await;
    // An HTTP/2 connection (prior knowledge) that opens and then says nothing: no header timeout
    // applies to it, only the idle timeout.
    let mut h2 = TcpStream::connect(addr(&app)).await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(2), h2.read(&mut buf))
        .await
        .expect("the server answers the preface")
        .unwrap();
    assert!(n > 0 && buf[3] == 4, "the server's SETTINGS frame");
    assert!(
        closed(&mut h2, Duration::from_secs(4)).await,
        "a silent HTTP/2 connection stayed open"
    );
}

#[tokio::test]
async fn a_tls_handshake_that_never_comes_is_closed() {
    let app = TestApp::spawn_configured(None, TlsMode::LocalCa, |s| {
        s.handshake_timeout = Duration::from_secs(1)
    })
    .await;
    let mut silent = TcpStream::connect(addr(&app)).await.unwrap();
    assert!(
        closed(&mut silent, Duration::from_secs(3)).await,
        "a silent TLS client kept its connection"
    );
    assert_eq!(app.status("/health/live").await, 200);
}

/// Oversized requests get the status that says so: a token request body beyond its limit 413 (in
/// Entra's error shape), a Graph body beyond Graph's 413 (in Graph's), headers beyond
/// `--max-header-bytes` 431, a URL beyond 32 KiB 414; and a megabyte of `notes` is refused (Graph allows 1024 characters).
#[tokio::test]
async fn oversized_bodies_and_headers_are_refused_with_their_status() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(10 * 1024 * 1024);
    let token = app
        .http
        .post(app.url(&format!("/{}/oauth2/v2.0/token", app.tenant())))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&pad={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 413);
    let body: serde_json::Value = token.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");

    let admin = app.admin_token().await;
    let graph = app
        .http
        .post(app.url("/v1.0/applications"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(format!("{{\"displayName\":\"x\",\"notes\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(graph.status(), 413);
    let body: serde_json::Value = graph.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Request_EntityTooLarge", "{body}");
    let notes = serde_json::json!({"displayName": "x", "notes": "n".repeat(1025)});
    let (status, body) = app
        .graph(reqwest::Method::POST, "applications", &admin, Some(notes))
        .await;
    assert_eq!(status, 400, "{body}");

    let header = app
        .http
        .get(app.url("/health/live"))
        .header("x-padding", "y".repeat(200 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 431);
    let long_url = format!(
        "/{}/oauth2/v2.0/authorize?state={}",
        app.tenant(),
        "s".repeat(40 * 1024)
    );
    assert_eq!(app.status(&long_url).await, 414);
    assert_eq!(app.status("/health/live").await, 200);
}

/// `--max-connections`: beyond the cap a new connection is closed at once; when one closes, the next
/// is served.
#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| s.max_connections = 2).await;
    let first = TcpStream::connect(addr(&app)).await.unwrap();
    let _second = TcpStream::connect(addr(&app)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(addr(&app)).await.unwrap();
    assert!(
        closed(&mut third, Duration::from_secs(2)).await,
        "a third connection was kept"
    );
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = TcpStream::connect(addr(&app)).await.unwrap();
    fourth
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    fourth.read_to_end(&mut answer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "a freed slot serves"
    );
}

/// Starts a POST whose body stops after a few bytes: what the server answers (within 5 s).
async fn stalled_post(app: &TestApp, path: &str, extra_headers: &str, ctype: &str) -> String {
    let mut s = TcpStream::connect(addr(app)).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\n{extra_headers}Content-Type: {ctype}\r\n\
         Content-Length: 1000\r\n\r\n{{\"grant"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut answer))
        .await
        .expect("an answer within the timeout")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).to_string()
}

/// `--body-timeout`: a body that stops arriving is refused with 408, in each surface's error shape.
#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408() {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.body_timeout = Duration::from_secs(1)
    })
    .await;
    let form = "application/x-www-form-urlencoded";
    let token = stalled_post(&app, &format!("/{}/oauth2/v2.0/token", app.tenant()), "", form).await;
    assert!(token.starts_with("HTTP/1.1 408"), "{token}");
    assert!(token.contains("invalid_request"), "{token}");
    let bearer = format!("Authorization: Bearer {}\r\n", app.admin_token().await);
    let graph = stalled_post(&app, "/v1.0/applications", &bearer, "application/json").await;
    assert!(graph.starts_with("HTTP/1.1 408"), "{graph}");
    assert!(graph.contains("Request_Timeout"), "{graph}");
}
