//! Client subcommands: talk to a running platform over gRPC, found through
//! etcd (`--etcd`) or the endpoints file `zhongtai up` writes.

pub mod access;
pub mod application_view;
pub mod applications;
pub mod certificates;
pub mod codes;
pub mod consents;
pub mod decisions;
pub mod enclaves;
pub mod endpoints;
pub mod exchange;
pub mod flags;
pub mod gateway;
pub mod grants;
pub mod health;
pub mod items;
pub mod labels;
pub mod lines;
pub mod message_file;
pub mod output;
pub mod processes;
pub mod resource_view;
pub mod resources;
pub mod rpc;
pub mod search;
pub mod status;
pub mod subscriptions;
pub mod tasks;
pub mod token;
