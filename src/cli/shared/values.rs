//! The values flags, in Helm's forms (`-f`, `--set`, `--set-string`,
//! `--set-file`, `--set-json`, `--set-literal`), shared by `template` (a
//! chart's values) and `install`/`upgrade` (a bundle's, keyed by chart).

use crate::chart::given::GivenValues;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Default)]
pub struct ValuesArgs {
    /// A values file; later files win. For a bundle, its top-level keys
    /// are the charts' names (`web: {replicas: 3}`).
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    values: Vec<PathBuf>,
    /// Set a value: `a.b=1,c[0]=x` (Helm's syntax); for a bundle, the first
    /// key is the chart's name (`web.replicas=3`).
    #[arg(long, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Set a value, always as a string.
    #[arg(long, value_name = "KEY=VALUE")]
    set_string: Vec<String>,
    /// Set a value to a file's text.
    #[arg(long, value_name = "KEY=PATH")]
    set_file: Vec<String>,
    /// Set a value as JSON (`web.tls={"on":true}`).
    #[arg(long, value_name = "KEY=JSON")]
    set_json: Vec<String>,
    /// Set a value to a text as it is (no `,` splitting, no escapes).
    #[arg(long, value_name = "KEY=TEXT")]
    set_literal: Vec<String>,
}

impl ValuesArgs {
    pub fn given(self) -> GivenValues {
        GivenValues {
            files: self.values,
            set: self.set,
            set_string: self.set_string,
            set_file: self.set_file,
            set_json: self.set_json,
            set_literal: self.set_literal,
        }
    }
}
