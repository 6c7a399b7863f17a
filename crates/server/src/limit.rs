//! The cap on concurrent connections (`--max-connections`): each accepted connection holds a permit
//! until it closes; one accepted beyond the cap is closed at once, before any TLS or HTTP work, so a
//! flood of connections cannot exhaust file descriptors or memory. Clients retry a closed connection
//! as they would a busy server's.
//!
//! And the idle timeout (`--idle-timeout`): a connection whose peer makes no progress for so long in
//! either direction (it sends nothing while the server waits to read, or reads nothing while the
//! server waits to write, as a client that never reads its response does) is closed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// An acceptor that admits at most `max` open connections, then hands them to `inner`.
#[derive(Clone)]
pub struct ConnectionLimit<A> {
    inner: A,
    permits: Arc<Semaphore>,
    idle: Duration,
}

impl<A> ConnectionLimit<A> {
    pub fn new(inner: A, max: usize, idle: Duration) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max)),
            idle,
        }
    }
}

type Accepted<S, Svc> = Pin<Box<dyn Future<Output = io::Result<(Limited<S>, Svc)>> + Send>>;

impl<A, I, S> Accept<I, S> for ConnectionLimit<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = Limited<A::Stream>;
    type Service = A::Service;
    type Future = Accepted<A::Stream, A::Service>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            tracing::debug!("a connection beyond --max-connections was closed");
            drop(stream);
            return Box::pin(std::future::ready(Err(io::Error::other("too many connections"))));
        };
        let accepted = self.inner.accept(stream, service);
        let idle = self.idle;
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((
                Limited {
                    inner: stream,
                    _permit: permit,
                    idle,
                    reading: None,
                    writing: None,
                },
                service,
            ))
        })
    }
}

/// A connection that gives its permit back when it closes, and fails once its peer has stalled a
/// read or a write for `idle`.
pub struct Limited<S> {
    inner: S,
    _permit: OwnedSemaphorePermit,
    idle: Duration,
    /// Set while a read is pending: when it times out.
    reading: Option<Pin<Box<Sleep>>>,
    writing: Option<Pin<Box<Sleep>>>,
}

/// Runs one poll of the stream under a stall timer: a result clears the timer; a pending poll arms
/// it (once) and fails the connection when it has run out.
fn stalled<T>(
    timer: &mut Option<Pin<Box<Sleep>>>,
    idle: Duration,
    cx: &mut Context<'_>,
    poll: Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    if poll.is_ready() {
        *timer = None;
        return poll;
    }
    let sleep = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
    match sleep.as_mut().poll(cx) {
        Poll::Ready(()) => {
            tracing::debug!("a connection idle beyond --idle-timeout was closed");
            Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "idle connection")))
        }
        Poll::Pending => Poll::Pending,
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Limited<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        stalled(&mut this.reading, this.idle, cx, poll)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Limited<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        stalled(&mut this.writing, this.idle, cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        stalled(&mut this.writing, this.idle, cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        stalled(&mut this.writing, this.idle, cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
