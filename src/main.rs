fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("__agent") => std::process::exit(play::connection::agent::serve()),
        // An async task's job, started by the async_wrapper module (on a target, or here).
        Some("__async") if args.len() == 4 => std::process::exit(play_modules::async_job::run_job(
            std::path::Path::new(&args[2]),
            &args[3].to_string_lossy(),
        )),
        _ => {}
    }
    std::process::exit(play::cli::main());
}
