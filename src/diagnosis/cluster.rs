//! Clusters: finding one, reaching it, and what to do when it refuses,
//! conflicts, or does not become ready.

use super::Fault;
use crate::destination::cluster::ClusterError;
use crate::destination::removed_apis::removed;

pub(super) fn diagnose(cause: &(dyn std::error::Error + 'static)) -> Option<(Fault, Option<String>)> {
    // A run that stopped holds its cause boxed.
    let e = cause
        .downcast_ref::<ClusterError>()
        .or_else(|| cause.downcast_ref::<Box<ClusterError>>().map(|boxed| &**boxed))?;
    let choose_context = "choose one with --context NAME";
    let hint = match e {
        ClusterError::NoCluster { .. } => Some("give its kubeconfig with --kubeconfig FILE (or KUBECONFIG, or as ~/.kube/config), or run airlock in a pod of the cluster".to_string()),
        ClusterError::BadCurrentContext { .. } | ClusterError::NoCurrentContext { .. } => Some(choose_context.into()),
        ClusterError::ContextWithoutKubeconfig { .. } => {
            Some("give the kubeconfig that has it with --kubeconfig FILE or KUBECONFIG".into())
        }
        ClusterError::Unreachable(_) => Some(
            "check the kubeconfig's server address and certificate authority, and that the API server is running".into(),
        ),
        ClusterError::BadDocument { .. } => Some("fix the document and create the bundle again".into()),
        ClusterError::Duplicate { .. } => Some("keep one of them".into()),
        ClusterError::UnknownKind { kind, api_version, .. } => Some(match removed(api_version, kind) {
            Some(gone) => format!(
                "{}; have the bundle's author change it, or leave its component out with --skip",
                gone.describe(api_version, kind)
            ),
            None => {
                "install what defines it (its CRD, or the API it belongs to), or leave its component out with --skip"
                    .into()
            }
        }),
        // A StatefulSet's claim templates, a Job's pod template, a
        // Deployment's selector: fixed once made. Helm users meet it too.
        ClusterError::Refused { object, detail } if detail.contains("field is immutable") => Some(format!(
            "{object} has a field that cannot change once made; delete it and let the run make it anew (for a StatefulSet, `kubectl delete statefulset NAME -n NAMESPACE --cascade=orphan` keeps its pods and volumes), or keep the value the installed revision has"
        )),
        ClusterError::Conflict { .. } => Some(
            "leave those fields to their manager (a chart should not set what an autoscaler or operator manages), or take them over with --force-conflicts".into(),
        ),
        ClusterError::NotEstablished { .. } => {
            Some("see its status with `kubectl get crd NAME -o yaml`, then rerun".into())
        }
        ClusterError::NotReady { describe, .. } => {
            Some(format!("see why with `{describe}`"))
        }
        ClusterError::HookFailed { logs, .. } => Some(format!("see why with `{logs}`, then rerun")),
        ClusterError::Busy { name, .. } => Some(format!(
            "wait for that run to end; a run that was stopped, or lost the cluster, loses its lease 30 s after its last renewal, and the next run finishes what it left (when sure it is gone: `kubectl -n airlock-system delete lease airlock.{name}`)"
        )),
        ClusterError::AlreadyInstalled { .. } => Some("use `airlock upgrade` to replace it".into()),
        ClusterError::EnvironmentGone { .. } => Some("choose one of them with --env".into()),
        ClusterError::ImageNotCarried { .. } => Some(
            "leave that value out, or have the release engineer add the image to the bundle (a component's `images:`) and create it again".into(),
        ),
        ClusterError::NotInstalled { upgrading: true, .. } => Some("use `airlock install`".into()),
        _ => None,
    };
    let fault = match e {
        ClusterError::NoCluster { .. }
        | ClusterError::UnknownContext { .. }
        | ClusterError::BadCurrentContext { .. }
        | ClusterError::NoCurrentContext { .. }
        | ClusterError::ContextWithoutKubeconfig { .. }
        | ClusterError::Kubeconfig { .. }
        | ClusterError::EnvironmentGone { .. }
        | ClusterError::ImageNotCarried { .. } => Fault::Usage,
        _ => Fault::Work,
    };
    Some((fault, hint))
}
