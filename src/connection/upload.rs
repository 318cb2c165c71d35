//! Sending the agent binary to a target without queueing it in the controller.
//!
//! russh lets a channel queue as much as the peer's window allows (sshd grants 2 MB), and
//! its session task packs everything queued into one output buffer, which keeps that size
//! for the rest of the run. So the upload stays a bounded distance ahead of what sshd has
//! confirmed: a ping (a global request, answered in order) after the data tells when
//! everything before it has left. The distance grows with the link's round trip (the
//! shortest a ping took), the way TCP sizes its window, so a distant target still gets
//! the link's speed.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How far the upload may run ahead of sshd's confirmation on a fast link.
const MIN_AHEAD: u64 = 256 * 1024;
/// The rate the distance is sized for: ahead = shortest round trip × this.
const RATE: f64 = 64.0 * 1024.0 * 1024.0;
/// Beyond sshd's window, a larger distance changes nothing.
const MAX_AHEAD: u64 = 4 * 1024 * 1024;
/// A peer that does not answer a ping in this time is no longer waited for (the channel's
/// own window still bounds the upload).
const PATIENCE: Duration = Duration::from_secs(5);

/// Where the bytes go.
pub(crate) trait Link {
    /// Queue the part of the body that starts at `offset`; its length (0 at the end).
    fn send(&self, offset: u64) -> impl Future<Output = Result<u64, ()>> + Send;
    /// Resolves once the peer has everything queued before the call.
    fn confirm(&self) -> impl Future<Output = Result<(), ()>> + Send;
}

/// Send `len` bytes over `link`, never more than the current distance ahead of what the
/// peer confirmed. Returns when everything was queued or sending failed.
pub(crate) async fn paced(link: &impl Link, len: u64) {
    let sent = AtomicU64::new(0);
    let confirmed = AtomicU64::new(0);
    let ahead = AtomicU64::new(MIN_AHEAD);
    let done = AtomicBool::new(false);
    let (more_sent, more_confirmed) = (Notify::new(), Notify::new());
    let sender = async {
        let mut at = 0;
        while at < len {
            let unconfirmed = at - confirmed.load(Ordering::Acquire);
            if unconfirmed >= ahead.load(Ordering::Acquire) {
                more_confirmed.notified().await;
                continue;
            }
            match link.send(at).await {
                Ok(n) if n > 0 => at += n,
                _ => break,
            }
            sent.store(at, Ordering::Release);
            more_sent.notify_one();
        }
        done.store(true, Ordering::Release);
        more_sent.notify_one();
    };
    let confirmer = async {
        let mut shortest = Duration::MAX;
        loop {
            if done.load(Ordering::Acquire) {
                break;
            }
            let upto = sent.load(Ordering::Acquire);
            if upto == confirmed.load(Ordering::Acquire) {
                more_sent.notified().await;
                continue;
            }
            let asked = Instant::now();
            match tokio::time::timeout(PATIENCE, link.confirm()).await {
                Ok(Ok(())) => {
                    // The shortest round trip is the link's; longer ones measure a busy
                    // peer, which more bytes ahead would not speed up.
                    let rtt = asked.elapsed();
                    shortest = shortest.min(rtt);
                    let fits = (shortest.as_secs_f64() * RATE) as u64;
                    ahead.store(fits.clamp(MIN_AHEAD, MAX_AHEAD), Ordering::Release);
                    confirmed.store(upto, Ordering::Release);
                    more_confirmed.notify_one();
                }
                _ => {
                    ahead.store(u64::MAX, Ordering::Release);
                    more_confirmed.notify_one();
                    break;
                }
            }
        }
    };
    tokio::join!(sender, confirmer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    const SLICE: u64 = 64 * 1024;

    /// A peer at `rtt` that confirms what was queued before each ping, and remembers the
    /// most the sender ever had unconfirmed.
    struct Peer {
        len: u64,
        rtt: Duration,
        answers: bool,
        fail_at: Option<u64>,
        state: Mutex<(u64, u64, u64)>, // queued, confirmed, most unconfirmed
    }

    impl Peer {
        fn new(len: u64, rtt_ms: u64) -> Peer {
            Peer {
                len,
                rtt: Duration::from_millis(rtt_ms),
                answers: true,
                fail_at: None,
                state: Mutex::new((0, 0, 0)),
            }
        }
        fn queued(&self) -> u64 {
            self.state.lock().unwrap().0
        }
        fn most_unconfirmed(&self) -> u64 {
            self.state.lock().unwrap().2
        }
    }

    impl Link for Peer {
        async fn send(&self, offset: u64) -> Result<u64, ()> {
            if self.fail_at.is_some_and(|f| offset >= f) {
                return Err(());
            }
            // (Paused time runs in whole milliseconds.)
            tokio::time::sleep(Duration::from_millis(1)).await;
            let n = (self.len - offset).min(SLICE);
            let mut s = self.state.lock().unwrap();
            assert_eq!(s.0, offset, "slices go out in order");
            s.0 += n;
            s.2 = s.2.max(s.0 - s.1);
            Ok(n)
        }
        async fn confirm(&self) -> Result<(), ()> {
            let upto = self.queued();
            if !self.answers {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(self.rtt).await;
            let mut s = self.state.lock().unwrap();
            s.1 = s.1.max(upto);
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_near_peer_never_has_more_than_the_minimum_unconfirmed() {
        let peer = Peer::new(3_300_000, 3);
        paced(&peer, peer.len).await;
        assert_eq!(peer.queued(), peer.len);
        assert!(
            peer.most_unconfirmed() <= MIN_AHEAD,
            "{}",
            peer.most_unconfirmed()
        );
        assert!(peer.most_unconfirmed() > MIN_AHEAD / 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_distant_peer_gets_a_longer_distance() {
        let peer = Peer::new(3_300_000, 50);
        let t = Instant::now();
        paced(&peer, peer.len).await;
        assert_eq!(peer.queued(), peer.len);
        assert!(peer.most_unconfirmed() > 2 * MIN_AHEAD);
        // 51 slices of a millisecond each; a fixed 256 KiB distance would add 13 round trips.
        assert!(
            t.elapsed() < Duration::from_millis(51 + 50 * 3),
            "{:?}",
            t.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_never_answers_pings_still_gets_everything() {
        let mut peer = Peer::new(1_000_000, 1);
        peer.answers = false;
        paced(&peer, peer.len).await;
        assert_eq!(peer.queued(), peer.len);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_send_ends_the_upload() {
        let mut peer = Peer::new(1_000_000, 1);
        peer.fail_at = Some(5 * SLICE);
        paced(&peer, peer.len).await;
        assert_eq!(peer.queued(), 5 * SLICE);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_body_sends_nothing() {
        let peer = Peer::new(0, 1);
        paced(&peer, 0).await;
        assert_eq!(peer.queued(), 0);
    }
}
