fn main() {
    if std::env::args().nth(1).as_deref() == Some("__agent") {
        std::process::exit(play::connection::agent::serve());
    }
    std::process::exit(play::cli::main());
}
