//! Webhooks (docs/webhooks.md): endpoints an API key's owner registers, the events they
//! receive, and the delivery log.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WebhookEventType {
    /// An upload completed: its asset's source is stored (transcoding starts).
    #[serde(rename = "upload.completed")]
    UploadCompleted,
    /// The asset's quick preview package is published: it can play.
    #[serde(rename = "asset.preview_ready")]
    AssetPreviewReady,
    /// The asset's full rendition ladder is published.
    #[serde(rename = "asset.ready")]
    AssetReady,
    /// The asset's transcode failed for good.
    #[serde(rename = "asset.errored")]
    AssetErrored,
    /// The asset was deleted.
    #[serde(rename = "asset.deleted")]
    AssetDeleted,
}

impl WebhookEventType {
    /// Every type.
    pub const ALL: [WebhookEventType; 5] = [
        Self::UploadCompleted,
        Self::AssetPreviewReady,
        Self::AssetReady,
        Self::AssetErrored,
        Self::AssetDeleted,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UploadCompleted => "upload.completed",
            Self::AssetPreviewReady => "asset.preview_ready",
            Self::AssetReady => "asset.ready",
            Self::AssetErrored => "asset.errored",
            Self::AssetDeleted => "asset.deleted",
        }
    }

    /// The type of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// `POST /v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `https://` (or `http://`) URL that receives the events.
    pub url: String,
    /// The events it receives (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub events: Option<Vec<WebhookEventType>>,
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<WebhookEventType>,
    /// Unix ms.
    #[ts(type = "number")]
    pub created_at: i64,
}

/// The answer to `POST /v1/webhooks`: the endpoint and its signing secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    #[serde(flatten)]
    #[ts(flatten)]
    pub webhook: WebhookView,
    /// `whsec_…`: verifies the `webhook-signature` header (Standard Webhooks).
    pub secret: String,
}

/// `GET /v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or its next one.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Out of attempts, or refused (an endpoint on a private address).
    Failed,
}

/// One delivery of one event to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    /// The message id (`webhook-id`), the same on every attempt.
    pub message_id: String,
    pub event_type: WebhookEventType,
    pub asset_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// Unix ms.
    #[ts(type = "number")]
    pub created_at: i64,
    /// Unix ms.
    #[ts(type = "number | null")]
    pub delivered_at: Option<i64>,
}

/// `GET /v1/webhooks/{id}/deliveries`: the newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
}

/// The body of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookPayload {
    #[serde(rename = "type")]
    pub event_type: WebhookEventType,
    /// Unix ms of the event.
    #[ts(type = "number")]
    pub timestamp: i64,
    pub data: WebhookData,
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookData {
    pub asset_id: String,
    /// For `upload.completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub upload_id: Option<String>,
    /// For `asset.errored`: the failure's code and message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<crate::assets::JobError>,
}
