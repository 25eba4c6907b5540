use clap::Parser;

/// Exit codes: 0 success, 1 failure (one sentence on stderr), 2 usage error
/// (from clap). A closed stdout pipe is not a failure.
fn main() {
    let cli = airlock::cli::Cli::parse();
    let quiet = cli.quiet;
    if let Err(err) = airlock::cli::run(cli) {
        let broken_pipe = err
            .chain()
            .filter_map(|c| c.downcast_ref::<std::io::Error>())
            .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
        if broken_pipe {
            std::process::exit(0);
        }
        airlock::output::Printer::new(quiet).error(&err);
        std::process::exit(1);
    }
}
