//! `airlock test`: run the chart tests (`helm.sh/hook: test`) of a bundle
//! installed in a cluster, as `helm test` does.

use super::destination::{locate_cluster, runtime, Progress};
use crate::destination::cluster::kubeconfig::Selection;
use crate::destination::cluster::lifecycle::{self, Tested};
use anyhow::Result;
use std::time::Duration;

pub struct TestOptions {
    /// The bundle's name (metadata.name).
    pub name: String,
    pub cluster: Selection,
    /// How long the tests may take.
    pub timeout: Duration,
}

pub fn test(options: &TestOptions, progress: Progress<'_>) -> Result<Tested> {
    let cluster = locate_cluster(&options.cluster, false)?;
    Ok(runtime()?.block_on(async {
        let client = cluster.client().await?;
        lifecycle::test(&client, &options.name, options.timeout, progress).await
    })?)
}
