//! How long a fuzz test runs and from which seed.
//!
//! Locally a fuzzer explores: a fresh random seed and a time budget (`PLAY_FUZZ_SECS`,
//! 15 s by default). Under CI (`CI` set) it replays: a fixed seed and a fixed number of
//! inputs, so that a CI verdict does not depend on the dice or on the machine's speed.
//! `PLAY_FUZZ_SEED` and `PLAY_FUZZ_RUNS` override either mode; a failure prints the seed
//! that replays it.

use std::time::{Duration, Instant};

pub struct Budget {
    pub seed: u64,
    deadline: Option<Instant>,
    runs_left: u64,
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

impl Budget {
    /// `ci_seed` and `ci_runs`: the replay a CI run makes.
    pub fn from_env(name: &str, ci_seed: u64, ci_runs: u64) -> Budget {
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        let seed =
            env_u64("PLAY_FUZZ_SEED").unwrap_or_else(
                || {
                    if in_ci {
                        ci_seed
                    } else {
                        rand::random()
                    }
                },
            );
        let runs = env_u64("PLAY_FUZZ_RUNS");
        if in_ci || runs.is_some() {
            let runs_left = runs.unwrap_or(ci_runs);
            println!("{name}: seed {seed}, {runs_left} inputs (PLAY_FUZZ_SEED={seed} PLAY_FUZZ_RUNS={runs_left} replays)");
            Budget {
                seed,
                deadline: None,
                runs_left,
            }
        } else {
            let secs = env_u64("PLAY_FUZZ_SECS").unwrap_or(15);
            println!("{name}: seed {seed} for {secs} s (PLAY_FUZZ_SEED={seed} replays)");
            Budget {
                seed,
                deadline: Some(Instant::now() + Duration::from_secs(secs)),
                runs_left: u64::MAX,
            }
        }
    }

    /// True while another input may be tried.
    pub fn more(&mut self) -> bool {
        if self.runs_left == 0 || self.deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        self.runs_left -= 1;
        true
    }
}
