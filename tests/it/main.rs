//! Integration tests: the airlock binary against real components (Debian's
//! docker-registry, skopeo). One module per command.

#![allow(clippy::print_stderr, clippy::print_stdout)]

mod charts;
mod cluster_server;
mod completions;
mod control_plane;
mod corner;
mod cosign;
mod create;
mod credentials;
mod diff;
mod differential;
mod durability;
mod errors;
mod failures;
mod helm_native;
mod helm_real_charts;
mod image_signatures;
mod images_tar;
mod inspect_html;
mod install;
mod install_cluster;
mod interrupted;
mod k3s_cluster;
mod k3s_node;
mod kubeconfig;
mod lax_registry;
mod lint;
mod long_comments;
mod parts;
mod push;
mod referrers;
mod registry_mirror;
mod second_apiserver;
mod serve;
mod sign;
mod support;
mod systems;
mod template;
mod upgrade;
mod values;
mod verify;
