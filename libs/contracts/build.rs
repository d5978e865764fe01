//! Compiles every `.proto` under the repository's `proto/` folder in-process
//! with `protox` (no system `protoc`), generates prost messages and tonic
//! clients/servers, writes the encoded descriptor set for reflection and
//! transcoding, and records which messages are RPC inputs so the codec can
//! report malformed requests as INVALID_ARGUMENT.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use heck::ToUpperCamelCase;
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto").canonicalize()?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut files = Vec::new();
    collect_protos(&proto_root, &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed={}", proto_root.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let fds = protox::compile(&files, [&proto_root])?;
    std::fs::write(out_dir.join("zhongtai_descriptor.bin"), fds.encode_to_vec())?;
    std::fs::write(
        out_dir.join("decode_failure.rs"),
        decode_failure_impls(&fds)?,
    )?;

    // Type names let callers find a message's descriptor (JSON output,
    // `Any` packing) without repeating its full name by hand.
    let mut prost_config = prost_build::Config::new();
    prost_config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Services grow RPC by RPC; unimplemented ones answer UNIMPLEMENTED.
        .generate_default_stubs(true)
        .codec_path("crate::codec::StrictCodec")
        .include_file("zhongtai.rs")
        .compile_fds_with_config(fds, prost_config)?;
    Ok(())
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

/// Every message an RPC decodes gets a `DecodeFailure` code: requests
/// (decoded by servers) fail as INVALID_ARGUMENT — the caller sent bad bytes —
/// while responses (decoded by clients) fail as INTERNAL. A message used as
/// both would be ambiguous, so the build refuses it.
fn decode_failure_impls(
    fds: &prost_types::FileDescriptorSet,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut roles: BTreeMap<String, &'static str> = BTreeMap::new();
    for file in &fds.file {
        for service in &file.service {
            for method in &service.method {
                for (type_name, role) in [
                    (method.input_type(), "InvalidArgument"),
                    (method.output_type(), "Internal"),
                ] {
                    if let Some(previous) = roles.insert(type_name.to_string(), role)
                        && previous != role
                    {
                        return Err(format!(
                            "{type_name} is used both as an RPC request and a response; \
                             give each RPC its own request and response messages"
                        )
                        .into());
                    }
                }
            }
        }
    }
    let mut out = String::new();
    for (type_name, code) in roles {
        let rust_path = rust_path_of(&type_name)
            .ok_or_else(|| format!("RPC message {type_name} is outside the zhongtai packages"))?;
        writeln!(
            out,
            "impl crate::codec::DecodeFailure for {rust_path} {{ const CODE: tonic::Code = tonic::Code::{code}; }}"
        )?;
    }
    Ok(out)
}

/// `.zhongtai.approval.v1.GetItemRequest` → `crate::generated::zhongtai::approval::v1::GetItemRequest`
/// (prost nests modules by package and camel-cases message names).
fn rust_path_of(proto_type: &str) -> Option<String> {
    let name = proto_type.strip_prefix(".zhongtai.")?;
    let mut parts: Vec<&str> = name.split('.').collect();
    let message = parts.pop()?;
    let mut path = String::from("crate::generated::zhongtai");
    for part in parts {
        path.push_str("::");
        path.push_str(part);
    }
    path.push_str("::");
    path.push_str(&message.to_upper_camel_case());
    Some(path)
}
