//! The approval center's rules, free of transport and storage types.

pub mod action_request;
pub mod actions;
pub mod application;
pub mod applications;
pub mod assignee;
pub mod error;
pub mod item_update;
pub mod ports;
pub mod process;
pub mod process_draft;
pub mod processes;
pub mod service_item;
pub mod service_items;
pub mod sla;

pub use action_request::{ActionRequest, ReturnDraft};
pub use applications::Applications;
pub use error::ApprovalError;
pub use item_update::ItemUpdate;
pub use ports::{
    ApplicationFilter, ApplicationRepository, CreateOutcome, ItemChange, ItemFilter, ItemLookup,
    ProcessRepository, Saved, ServiceItemRepository, TaskHolder, Viewer,
};
pub use processes::{Processes, Revision};
pub use service_item::{
    FieldType, FormField, ItemCode, ItemKind, ItemState, Material, ProcessRef, ServiceItem,
    ServiceItemDraft,
};
pub use service_items::ServiceItems;
pub use sla::SlaTimer;
