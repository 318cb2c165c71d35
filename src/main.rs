fn main() {
    std::process::exit(play::cli::main());
}
