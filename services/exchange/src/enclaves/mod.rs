//! Enclaves (数据飞地) and backflow (数据回流): each tenant's isolated tables,
//! the sink that applies changes into them, and enclave tables as sources.

pub mod api;
