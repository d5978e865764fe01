//! The exchange center's rules, free of transport and storage types.

pub mod change;
pub mod error;
pub mod flow;
pub mod line;
pub mod policy;
pub mod ports;
pub mod reconciliation;
pub mod subscription;

pub use change::{Change, Column, HopTimes, Operation, SetChecksum, Value};
pub use error::ExchangeError;
pub use flow::{
    Accepted, ChangeSource, DeliveryRecord, DeliverySink, FlowError, Journal, SourceBatch,
    SourceEvent,
};
pub use line::{
    EnclaveSourceSpec, Line, LineState, LogSourceSpec, PushSourceSpec, SnapshotProgress,
    SnapshotState, SourceSpec, SourceTable, TableSnapshotProgress,
};
pub use policy::{DeliveryPolicy, Projected};
pub use ports::{LineFilter, LineRepository};
pub use subscription::{EnclaveTarget, Grant, GrantState, Subscription, SubscriptionState};
