//! Run one native module by hand: `cargo run -p play-modules --example run_module -- NAME
//! '{"arg": "value"}' [--check] [--diff]`. Prints the result as JSON.

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let name = argv.first().cloned().unwrap_or_default();
    let args: play_modules::Args = argv
        .get(1)
        .map(|s| serde_json::from_str(s).expect("args must be a JSON object"))
        .unwrap_or_default();
    let ctx = play_modules::ModuleContext {
        check_mode: argv.iter().any(|a| a == "--check"),
        diff: argv.iter().any(|a| a == "--diff"),
        ..Default::default()
    };
    let r = play_modules::run(&name, &args, &ctx);
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
}
