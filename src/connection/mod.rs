//! How modules reach a host. `local` runs them in this process; the SSH transport with a
//! per-host agent is built on the same request/response shape.

pub mod agent;
pub mod agent_install;
mod agent_orphan;
pub(crate) mod agentless;
pub mod cancel;
pub mod local;
pub mod local_become;
pub mod params;
mod socket;
pub mod ssh;
mod upload;
