//! Client subcommands: talk to a running platform over gRPC, found through
//! etcd (`--etcd`) or the endpoints file `zhongtai up` writes.

pub mod endpoints;
pub mod health;
pub mod items;
pub mod output;
pub mod token;
