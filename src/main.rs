use clap::Parser;

/// Exit codes (see `airlock::cli::exit_code`): 0 success; 1 airlock could not do its
/// work; 2 a usage error (from clap, or found after parsing); 3 the bundle
/// or its signature is bad. A closed stdout pipe is not a failure.
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
        std::process::exit(airlock::cli::exit_code(&err));
    }
}
