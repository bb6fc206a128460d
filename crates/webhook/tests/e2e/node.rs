//! k8s-local's node, for the tests whose pods must really run (`../shared/k8s-local/node.sh`).

use anyhow::Result;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::Client;

/// The name of a Ready node, if the cluster has one.
pub async fn ready_node(client: &Client) -> Result<Option<String>> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    Ok(nodes.items.into_iter().find_map(|n| {
        let ready = n
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        ready.then(|| n.metadata.name.unwrap_or_default())
    }))
}
