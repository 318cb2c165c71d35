fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = play::connection::agent::subcommand(&args) {
        std::process::exit(code);
    }
    std::process::exit(play::cli::main());
}
