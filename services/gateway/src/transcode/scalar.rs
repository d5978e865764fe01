//! One text value (a path segment or a query parameter) as the value of a
//! scalar, enum or text-like well-known field.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use prost_reflect::{DynamicMessage, EnumDescriptor, Kind, MessageDescriptor, Value};

use super::descriptors::WellKnown;

/// Longest text quoted back in an error message.
const QUOTE_LIMIT: usize = 40;

/// `text` as a value of `kind`; the error describes the mismatch, e.g.
/// `expected a boolean, got "yes"`.
pub(crate) fn parse(kind: &Kind, text: &str) -> Result<Value, String> {
    let number = |expected: &str| format!("expected {expected}, got {}", quote(text));
    match kind {
        Kind::String => Ok(Value::String(text.to_string())),
        Kind::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("expected a boolean, got {}", quote(text))),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => text
            .parse()
            .map(Value::I32)
            .map_err(|_| number("a 32-bit integer")),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => text
            .parse()
            .map(Value::I64)
            .map_err(|_| number("a 64-bit integer")),
        Kind::Uint32 | Kind::Fixed32 => text
            .parse()
            .map(Value::U32)
            .map_err(|_| number("a non-negative 32-bit integer")),
        Kind::Uint64 | Kind::Fixed64 => text
            .parse()
            .map(Value::U64)
            .map_err(|_| number("a non-negative 64-bit integer")),
        Kind::Float => parse_float(text)
            .map(|v| Value::F32(v as f32))
            .ok_or_else(|| number("a number")),
        Kind::Double => parse_float(text)
            .map(Value::F64)
            .ok_or_else(|| number("a number")),
        Kind::Bytes => STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .map(|bytes| Value::Bytes(bytes.into()))
            .map_err(|_| format!("expected base64 bytes, got {}", quote(text))),
        Kind::Enum(descriptor) => parse_enum(descriptor, text).map(Value::EnumNumber),
        Kind::Message(message) => parse_well_known(message, text).map(Value::Message),
    }
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok().filter(|v: &f64| v.is_finite()),
    }
}

fn parse_enum(descriptor: &EnumDescriptor, text: &str) -> Result<i32, String> {
    let by_name = descriptor.get_value_by_name(text);
    let by_number = || {
        text.parse::<i32>()
            .ok()
            .and_then(|number| descriptor.get_value(number))
    };
    match by_name.or_else(by_number) {
        Some(value) => Ok(value.number()),
        None => {
            let names: Vec<String> = descriptor.values().map(|v| v.name().to_string()).collect();
            Err(format!(
                "unknown {} value {}; expected one of {}",
                descriptor.name(),
                quote(text),
                names.join(", ")
            ))
        }
    }
}

fn parse_well_known(message: &MessageDescriptor, text: &str) -> Result<DynamicMessage, String> {
    match WellKnown::of(message) {
        Some(WellKnown::Wrapper) => {
            let field = message
                .get_field_by_name("value")
                .ok_or_else(|| format!("{} has no value field", message.full_name()))?;
            let value = parse(&field.kind(), text)?;
            let mut wrapper = DynamicMessage::new(message.clone());
            wrapper
                .try_set_field(&field, value)
                .map_err(|e| e.to_string())?;
            Ok(wrapper)
        }
        Some(known) if known.is_text() => DynamicMessage::deserialize(
            message.clone(),
            serde_json::Value::String(text.to_string()),
        )
        .map_err(|e| format!("expected a {}: {e}", message.name())),
        _ => Err(format!(
            "is a message ({}); set its fields with dotted names",
            message.full_name()
        )),
    }
}

/// `text` in quotes for an error message, shortened if long.
pub(crate) fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::descriptors::method;

    fn kind_of(grpc_method: &str, field: &str) -> Kind {
        method(grpc_method)
            .unwrap()
            .input()
            .get_field_by_name(field)
            .unwrap()
            .kind()
    }

    const GET: &str = "/zhongtai.certificate.v1.CertificateService/GetCertificate";
    const VERIFY: &str = "/zhongtai.certificate.v1.CertificateService/VerifyCertificate";

    #[test]
    fn parses_scalars_and_enums_by_name_or_number() {
        assert_eq!(
            parse(&kind_of(VERIFY, "include_claims"), "true"),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            parse(&kind_of(GET, "qr_image_size"), "512"),
            Ok(Value::I32(512))
        );
        let format = kind_of(GET, "qr_image_format");
        let Value::EnumNumber(by_name) = parse(&format, "QR_IMAGE_FORMAT_PNG").unwrap() else {
            panic!("not an enum");
        };
        assert_eq!(
            parse(&format, &by_name.to_string()),
            Ok(Value::EnumNumber(by_name))
        );
    }

    #[test]
    fn explains_what_was_expected() {
        assert_eq!(
            parse(&kind_of(VERIFY, "include_claims"), "yes").unwrap_err(),
            r#"expected a boolean, got "yes""#
        );
        let size = parse(&kind_of(GET, "qr_image_size"), "big").unwrap_err();
        assert_eq!(size, r#"expected a 32-bit integer, got "big""#);
        let format = parse(&kind_of(GET, "qr_image_format"), "GIF").unwrap_err();
        assert!(
            format.starts_with(r#"unknown QrImageFormat value "GIF"; expected one of"#),
            "{format}"
        );
        assert!(format.contains("QR_IMAGE_FORMAT_PNG"), "{format}");
        assert!(parse(&kind_of(GET, "qr_image_format"), "99").is_err());
        let long = "x".repeat(100);
        assert!(parse(&Kind::Bool, &long).unwrap_err().ends_with("…"));
    }
}
