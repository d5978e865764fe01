//! Decentralised service discovery (etcd or in-process), balanced gRPC channels and the tower layers every client and server uses.

#![forbid(unsafe_code)]
