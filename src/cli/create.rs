//! `airlock create [SPEC]`: calls `ops::create::create` and prints the
//! bundle's summary (or JSON).

use super::shared::registry::RegistryArgs;
use super::shared::size::parse_size;
use crate::oci::manifest::Platform;
use crate::oci::mirror::Mirror;
use crate::ops::create::{create, CreateOptions};
use crate::output::{human_bytes, Printer};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The bundle spec.
    #[arg(default_value = "airlock.yaml")]
    spec: PathBuf,
    /// Output file (default: NAME-VERSION.airlock).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Platforms to carry from multi-platform images (repeatable); overrides the spec.
    #[arg(long = "platform", value_parser = super::parse_platform)]
    platforms: Vec<Platform>,
    /// Blobs downloaded at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Pull SOURCE's images through MIRROR (a pull-through cache), e.g.
    /// docker.io=127.0.0.1:5000/docker.io (repeatable, tried in order).
    /// The bundle keeps the original names; SOURCE itself is not contacted
    /// unless listed as its own last mirror (docker.io=docker.io).
    /// Replaces the registries config's `mirrors:` for that SOURCE.
    #[arg(long = "registry-mirror", value_name = "SOURCE=MIRROR[/PREFIX]", value_parser = parse_mirror)]
    registry_mirrors: Vec<(String, Mirror)>,
    /// Blob cache directory.
    #[arg(long, env = "AIRLOCK_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Keep no blob cache: image layers are written once, into the bundle
    /// only (half the disk writes and space of a cold create; the next
    /// create downloads everything again). Overrides --cache-dir.
    #[arg(long)]
    no_cache: bool,
    /// Sign the bundle with this encrypted private key (password from
    /// AIRLOCK_PASSWORD or a prompt).
    #[arg(long)]
    sign_key: Option<PathBuf>,
    /// Write the bundle as parts of at most this size (e.g. 4GiB for FAT32):
    /// OUTPUT.part-001-of-N..., straight away, with no whole-size file.
    #[arg(long, value_parser = parse_size)]
    max_part_size: Option<u64>,
    /// Make a differential bundle: leave out every blob that this earlier
    /// bundle (or its parts, or its `inspect --json` output, FILE.json) has.
    #[arg(long, conflicts_with = "since_inspect")]
    since: Option<PathBuf>,
    /// The same as --since with the `airlock inspect --json` output of the
    /// earlier bundle, whatever the file is named.
    #[arg(long, value_name = "FILE")]
    since_inspect: Option<PathBuf>,
    /// Make a differential bundle: leave out every image blob that this
    /// registry (HOST[:PORT][/PREFIX], names as `push` gives them) holds.
    #[arg(long)]
    since_registry: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    // Open the key first: a wrong password should fail before any download.
    let sign_key = match args.sign_key {
        Some(path) => {
            if !path.is_file() {
                usage!("signing key {} does not exist; create one with `airlock key generate`", path.display());
            }
            let password = crate::sign::password::read(&format!("Password for {}: ", path.display()))?;
            Some((path, password))
        }
        None => None,
    };
    if sign_key.is_none() {
        printer.warn("creating an unsigned bundle: installs will need --allow-unsigned (pass --sign-key KEY)");
    }
    let options = CreateOptions {
        sign_key,
        spec: args.spec,
        output: args.output,
        platforms: args.platforms,
        concurrency: args.concurrency,
        registry: args.registry.options()?,
        cache_dir: match args.no_cache {
            true => None,
            false => Some(args.cache_dir.unwrap_or_else(crate::cache::Cache::default_root)),
        },
        max_part_size: args.max_part_size,
        since: args.since.map(|p| (p, false)).or(args.since_inspect.map(|p| (p, true))),
        since_registry: args.since_registry,
        mirrors: args.registry_mirrors,
    };
    let progress = printer.progress();
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(create(options, &progress))?;
    for warning in &report.warnings {
        printer.warn(warning);
    }
    if args.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    } else {
        printer.data(&format!(
            "{}: {} images, {} charts, {} blobs, {} of content in {} (manifest {})",
            report.output.display(),
            report.images,
            report.charts,
            report.blobs,
            human_bytes(report.content_bytes),
            human_bytes(report.bundle_bytes),
            report.manifest_digest
        ));
    }
    Ok(())
}

fn parse_mirror(text: &str) -> Result<(String, Mirror), String> {
    crate::oci::mirror::parse_pair(text).map_err(|e| e.to_string())
}
