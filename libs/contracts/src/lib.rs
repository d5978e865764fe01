//! Zhongtai's protobuf contracts (`proto/zhongtai/<area>/v1`) compiled to Rust:
//! prost messages, tonic clients and servers, and the encoded descriptor set
//! that server reflection and the gateway's HTTP/JSON transcoding read.

#![forbid(unsafe_code)]

pub mod codec;
pub mod json;
pub mod methods;

#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/zhongtai.rs"));
    include!(concat!(env!("OUT_DIR"), "/decode_failure.rs"));
}

pub use generated::zhongtai::*;

/// Encoded `FileDescriptorSet` of every Zhongtai contract (with imports and
/// source info), for tonic-reflection and descriptor-driven transcoding.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/zhongtai_descriptor.bin"));
