//! Sending the agent binary to a target without queueing it in the controller.
//!
//! russh lets a channel queue as much as the peer's window allows (sshd grants 2 MB), and
//! its session task packs everything queued into one output buffer before it writes to
//! the socket; that buffer keeps its size for the rest of the run. So the upload counts
//! the bytes the socket has taken ([`super::socket::SshSocket`] counts them; through jump
//! hosts, the first hop's socket) and stays a bounded distance ahead of them. The
//! kernel's socket buffer, sized for the link by TCP, keeps a distant target's link busy;
//! the controller's own queue stays small.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Notify;

/// How far the upload may run ahead of what the socket has taken (plus one slice).
const AHEAD: u64 = 256 * 1024;

/// The bytes a session's socket has taken so far, and a signal when that grows.
#[derive(Default)]
pub(crate) struct Written {
    bytes: AtomicU64,
    grew: Notify,
}

impl Written {
    /// Count `n` more bytes written.
    pub(crate) fn add(&self, n: usize) {
        if n > 0 {
            self.bytes.fetch_add(n as u64, Ordering::AcqRel);
            self.grew.notify_waiters();
        }
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Acquire)
    }

    /// Resolves once the count exceeds `seen`.
    pub(crate) async fn beyond(&self, seen: u64) {
        loop {
            let grew = self.grew.notified();
            tokio::pin!(grew);
            grew.as_mut().enable();
            if self.bytes() > seen {
                return;
            }
            grew.await;
        }
    }
}

/// Where the bytes go.
pub(crate) trait Link {
    /// Queue the part of the body that starts at `offset`; its length (0 at the end).
    fn send(&self, offset: u64) -> impl Future<Output = Result<u64, ()>> + Send;
    /// What the session's socket has taken.
    fn written(&self) -> &Written;
}

/// Send `len` bytes over `link`, a slice at a time while less than [`AHEAD`] is queued
/// beyond what the socket has taken since the upload began (the encryption's overhead and
/// other channels' traffic count as taken too: the bound is a little loose, never tight).
/// Returns when everything was queued or sending failed.
pub(crate) async fn paced(link: &impl Link, len: u64) {
    let start = link.written().bytes();
    let mut at = 0;
    while at < len {
        let taken = link.written().bytes() - start;
        if at >= taken + AHEAD {
            link.written().beyond(start + at - AHEAD).await;
            continue;
        }
        match link.send(at).await {
            Ok(n) if n > 0 => at += n,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    const SLICE: u64 = 64 * 1024;

    /// A session whose socket takes `rate` bytes a millisecond from a queue the upload
    /// fills, remembering the longest the queue ever got.
    struct Session {
        len: u64,
        fail_at: Option<u64>,
        written: Written,
        queue: Mutex<(u64, u64, u64)>, // queued, offset expected next, longest queue
    }

    impl Session {
        fn new(len: u64) -> Arc<Session> {
            Arc::new(Session {
                len,
                fail_at: None,
                written: Written::default(),
                queue: Mutex::new((0, 0, 0)),
            })
        }
        fn drain(self: &Arc<Session>, rate: u64) -> tokio::task::JoinHandle<()> {
            let s = self.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let n = {
                        let mut q = s.queue.lock().unwrap();
                        let n = q.0.min(rate);
                        q.0 -= n;
                        n
                    };
                    s.written.add(n as usize);
                }
            })
        }
        fn sent(&self) -> u64 {
            self.queue.lock().unwrap().1
        }
        fn longest_queue(&self) -> u64 {
            self.queue.lock().unwrap().2
        }
    }

    impl Link for Arc<Session> {
        async fn send(&self, offset: u64) -> Result<u64, ()> {
            if self.fail_at.is_some_and(|f| offset >= f) {
                return Err(());
            }
            let n = (self.len - offset).min(SLICE);
            let mut q = self.queue.lock().unwrap();
            assert_eq!(q.1, offset, "slices go out in order");
            q.0 += n;
            q.1 += n;
            q.2 = q.2.max(q.0);
            Ok(n)
        }
        fn written(&self) -> &Written {
            &self.written
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_queue_stays_within_the_distance_however_slow_the_socket() {
        for rate in [1_000, 30_000, 1_000_000] {
            let s = Session::new(3_300_000);
            let drain = s.drain(rate);
            paced(&s, s.len).await;
            drain.abort();
            assert_eq!(s.sent(), s.len);
            assert!(
                s.longest_queue() <= AHEAD + SLICE,
                "rate {rate}: {}",
                s.longest_queue()
            );
            assert!(
                s.longest_queue() > AHEAD / 2,
                "rate {rate}: {}",
                s.longest_queue()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn traffic_already_written_does_not_count() {
        let s = Session::new(1_000_000);
        s.written.add(50_000_000);
        let drain = s.drain(10_000);
        paced(&s, s.len).await;
        drain.abort();
        assert!(s.longest_queue() <= AHEAD + SLICE, "{}", s.longest_queue());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_send_ends_the_upload() {
        let mut s = Session::new(1_000_000);
        Arc::get_mut(&mut s).unwrap().fail_at = Some(5 * SLICE);
        let drain = s.drain(100_000);
        paced(&s, s.len).await;
        drain.abort();
        assert_eq!(s.sent(), 5 * SLICE);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_body_sends_nothing() {
        let s = Session::new(0);
        paced(&s, 0).await;
        assert_eq!(s.sent(), 0);
    }
}
