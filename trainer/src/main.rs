//! `trainer`: see `trainer --help`.

use clap::Parser;

fn main() {
    let cli = trainer::cli::Cli::parse();
    if let Err(error) = trainer::cli::run(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
