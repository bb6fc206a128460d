//! SDK only (`inject-sdk`): no agent, no volume, no init container; the container gets the
//! common env and the SDK configuration, which every unit shares, and nothing else. For apps
//! that bring their own SDK (the `otel-inject-sdk` crate reads exactly this).

use serde_json::Value;

use super::{LangCx, Unit};
use crate::annotations::Language;
use crate::decision::Reason;
use crate::names::env::OTEL_RESOURCE_ATTRIBUTES_POD_NAME;
use crate::pod::{container, ContainerList};

/// The SDK-only unit.
pub(crate) struct Sdk;

impl Unit for Sdk {
    fn language(&self) -> Language {
        Language::Sdk
    }

    /// A container that has the SDK configuration's pod-name variable was configured before.
    fn validate(&self, c: &Value, _list: ContainerList, _cx: &LangCx<'_>) -> Option<Reason> {
        container::env_index(c, OTEL_RESOURCE_ATTRIBUTES_POD_NAME)
            .map(|_| Reason::ContainerAlreadyInjected(OTEL_RESOURCE_ATTRIBUTES_POD_NAME.into()))
    }
}
