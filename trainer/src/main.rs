//! `trainer`: see `trainer --help`.

use clap::Parser;

fn main() {
    let cli = trainer::cli::Cli::parse();
    if let Err(error) = trainer::cli::run(cli) {
        // A closed output pipe (`trainer segment ... | head`) is not an error worth reporting.
        let broken_pipe = error
            .chain()
            .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe));
        if !broken_pipe {
            eprintln!("error: {error:#}");
            std::process::exit(1);
        }
    }
}
