//! The events the approval center publishes, built from domain values.

use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;

use crate::api::item_message;
use crate::domain::ServiceItem;

/// `approval.service_item.created`
pub fn item_created(item: &ServiceItem) -> Event {
    Event::new(
        "approval.service_item.created",
        item.tenant.key(),
        item.id.to_string(),
        &events::ServiceItemCreated {
            item: Some(item_message(item)),
        },
    )
}
