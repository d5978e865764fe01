//! The approval center's rules, free of transport and storage types.

pub mod error;
pub mod ports;
pub mod service_item;
pub mod service_items;

pub use error::ApprovalError;
pub use ports::{CreateOutcome, ItemFilter, ServiceItemRepository};
pub use service_item::{
    FieldType, FormField, ItemCode, ItemKind, ItemState, Material, ProcessRef, ServiceItem,
    ServiceItemDraft,
};
pub use service_items::ServiceItems;
