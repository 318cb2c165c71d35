//! Deployment stages: stage-split roles (`<svc>_build.yml`, `<svc>_install.yml`, ...), the
//! checkpoint local facts a finished stage leaves on a host, and the plan of what a run
//! will do.

pub mod checkpoint;
pub mod manifest;
pub mod names;

pub use checkpoint::{Checkpoints, Decision, Want};
pub use names::{Stage, StageFile};
