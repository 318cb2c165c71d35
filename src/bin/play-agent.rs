//! The agent alone: what runs on a target. The controller uploads this binary, which holds
//! the native modules and the request loop and none of the controller (SSH client,
//! templating, playbook engine), so a cold run sends a fraction of `play`'s bytes.
fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match play::connection::agent::subcommand(&args) {
        Some(code) => std::process::exit(code),
        None => {
            eprintln!(
                "play-agent is the part of play that runs on targets; play starts it there \
                 (usage: play-agent __agent)"
            );
            std::process::exit(2);
        }
    }
}
