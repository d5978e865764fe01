//! QR payloads for tokens and their rendering as images.
//!
//! A token is zlib-compressed and base45-encoded behind the prefix `ZT1:`:
//! every character is in the QR alphanumeric set, so the QR code holds it
//! in 5.5 bits a character instead of 8.

use qrcode::{Color, EcLevel, QrCode};

use crate::deflate::{zlib_compress, zlib_inflate};
use crate::{FormatError, base45};

/// Marks a QR payload of this platform, format version 1.
pub const QR_PREFIX: &str = "ZT1:";

/// Image side lengths accepted by [`render_qr`], in pixels.
pub const QR_IMAGE_SIZES: std::ops::RangeInclusive<u32> = 64..=2048;

/// Modules of blank margin around the code, as ISO/IEC 18004 asks.
const QUIET_ZONE_MODULES: usize = 4;

/// The text to put in a QR code for `token`: `ZT1:` + base45(zlib(token)).
pub fn qr_payload(token: &str) -> String {
    let encoded = base45::encode(&zlib_compress(token.as_bytes()));
    let mut payload = String::with_capacity(QR_PREFIX.len() + encoded.len());
    payload.push_str(QR_PREFIX);
    payload.push_str(&encoded);
    payload
}

/// The token in a presentation: the raw token, or a `ZT1:` QR payload
/// (surrounding whitespace ignored). The inflated token may be at most
/// `max_bytes`, so a small payload cannot expand without limit.
pub fn token_from_presentation(text: &str, max_bytes: usize) -> Result<String, FormatError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FormatError::Empty);
    }
    let Some(encoded) = text.strip_prefix(QR_PREFIX) else {
        if text.len() > max_bytes {
            return Err(FormatError::TooLarge {
                actual: text.len(),
                limit: max_bytes,
            });
        }
        return Ok(text.to_owned());
    };
    // A token of `max_bytes` compresses to about that size at worst (zlib
    // stored blocks add a few bytes per 16 KiB), and base45 adds half again.
    let compressed_limit = max_bytes.saturating_add(max_bytes / 1024 + 64);
    let encoded_limit = compressed_limit.saturating_mul(3).div_ceil(2);
    if encoded.len() > encoded_limit {
        return Err(FormatError::TooLarge {
            actual: encoded.len(),
            limit: encoded_limit,
        });
    }
    let compressed = base45::decode(encoded).map_err(|error| match error {
        FormatError::Base45 { position, reason } => FormatError::Base45 {
            position: position + QR_PREFIX.len(),
            reason,
        },
        other => other,
    })?;
    let token = zlib_inflate(&compressed, max_bytes)?;
    String::from_utf8(token).map_err(|_| FormatError::NotText)
}

/// Image formats [`render_qr`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QrImageFormat {
    Png,
    Svg,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("the image size must be between 64 and 2048 pixels, got {size}")]
    SizeOutOfRange { size: u32 },
    #[error(
        "a {size}-pixel image cannot show this code's {modules} modules and margin; ask for at least {needed} pixels"
    )]
    TooSmall {
        size: u32,
        modules: usize,
        needed: usize,
    },
    #[error("the text is too long for a QR code at error correction level M")]
    TooLong,
    #[error("the PNG could not be written: {reason}")]
    Png { reason: String },
}

/// Renders `text` as a QR code at error correction level M: a square image
/// of `size` pixels (64 to 2048) with the code centred in its quiet zone,
/// each module a whole number of pixels.
pub fn render_qr(text: &str, format: QrImageFormat, size: u32) -> Result<Vec<u8>, QrError> {
    if !QR_IMAGE_SIZES.contains(&size) {
        return Err(QrError::SizeOutOfRange { size });
    }
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|_| QrError::TooLong)?;
    let layout = Layout::new(&code, size)?;
    match format {
        QrImageFormat::Png => render_png(&layout),
        QrImageFormat::Svg => Ok(render_svg(&layout).into_bytes()),
    }
}

/// Where the modules land in the image.
struct Layout {
    dark: Vec<bool>,
    modules: usize,
    size: usize,
    module_pixels: usize,
    offset: usize,
}

impl Layout {
    fn new(code: &QrCode, size: u32) -> Result<Self, QrError> {
        let modules = code.width();
        let size_px = usize::try_from(size).unwrap_or(usize::MAX);
        let with_margin = modules + 2 * QUIET_ZONE_MODULES;
        let module_pixels = size_px / with_margin;
        if module_pixels == 0 {
            return Err(QrError::TooSmall {
                size,
                modules,
                needed: with_margin,
            });
        }
        let dark = code
            .to_colors()
            .into_iter()
            .map(|color| color == Color::Dark)
            .collect();
        let offset = (size_px - modules * module_pixels) / 2;
        Ok(Self {
            dark,
            modules,
            size: size_px,
            module_pixels,
            offset,
        })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark
            .get(y * self.modules + x)
            .copied()
            .unwrap_or(false)
    }
}

fn render_png(layout: &Layout) -> Result<Vec<u8>, QrError> {
    // One bit a pixel, 1 = white, rows padded to whole bytes.
    let row_bytes = layout.size.div_ceil(8);
    let mut pixels = vec![0xFFu8; row_bytes * layout.size];
    let code_pixels = layout.modules * layout.module_pixels;
    for py in 0..code_pixels {
        let row = &mut pixels[(layout.offset + py) * row_bytes..][..row_bytes];
        for px in 0..code_pixels {
            if layout.is_dark(px / layout.module_pixels, py / layout.module_pixels) {
                let x = layout.offset + px;
                row[x / 8] &= !(0x80 >> (x % 8));
            }
        }
    }
    let side = u32::try_from(layout.size).map_err(|_| QrError::Png {
        reason: "size".to_owned(),
    })?;
    let mut image = Vec::new();
    let mut encoder = png::Encoder::new(&mut image, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let png_error = |error: png::EncodingError| QrError::Png {
        reason: error.to_string(),
    };
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(image)
}

fn render_svg(layout: &Layout) -> String {
    use std::fmt::Write as _;
    let mut svg = format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" "#,
            r#"viewBox="0 0 {size} {size}" shape-rendering="crispEdges">"#,
            r##"<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d=""##
        ),
        size = layout.size
    );
    let m = layout.module_pixels;
    for y in 0..layout.modules {
        let mut x = 0;
        while x < layout.modules {
            if !layout.is_dark(x, y) {
                x += 1;
                continue;
            }
            let run_start = x;
            while x < layout.modules && layout.is_dark(x, y) {
                x += 1;
            }
            let left = layout.offset + run_start * m;
            let top = layout.offset + y * m;
            // Writing into a String cannot fail.
            let _ = write!(
                svg,
                "M{left} {top}h{}v{m}h-{}z",
                (x - run_start) * m,
                (x - run_start) * m
            );
        }
    }
    svg.push_str(r#""/></svg>"#);
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

    #[test]
    fn payloads_round_trip_in_the_alphanumeric_set() {
        let payload = qr_payload(TOKEN);
        assert!(payload.starts_with("ZT1:"));
        assert!(
            payload
                .bytes()
                .all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b))
        );
        assert_eq!(token_from_presentation(&payload, MAX), Ok(TOKEN.to_owned()));
        assert_eq!(
            token_from_presentation(&format!("\n {payload}\r\n"), MAX),
            Ok(TOKEN.to_owned())
        );
        assert_eq!(
            token_from_presentation(&format!(" {TOKEN} "), MAX),
            Ok(TOKEN.to_owned())
        );
    }

    const MAX: usize = crate::MAX_TOKEN_BYTES;

    #[test]
    fn bad_presentations_are_format_errors() {
        assert_eq!(token_from_presentation(" \n", MAX), Err(FormatError::Empty));
        assert_eq!(
            token_from_presentation("ZT1:", MAX),
            Err(FormatError::Compression)
        );
        let payload = qr_payload(TOKEN);
        assert!(matches!(
            token_from_presentation(&payload[..payload.len() - 1], MAX),
            Err(FormatError::Base45 { .. } | FormatError::Compression)
        ));
        // Cut at a group boundary: valid base45, truncated zlib.
        let cut = QR_PREFIX.len() + ((payload.len() - QR_PREFIX.len()) / 3 - 1) * 3;
        assert_eq!(
            token_from_presentation(&payload[..cut], MAX),
            Err(FormatError::Compression)
        );
        assert_eq!(
            token_from_presentation("ZT1:abc", MAX),
            Err(FormatError::Base45 {
                position: 4,
                reason: "not a base45 character"
            })
        );
        assert_eq!(
            token_from_presentation(&payload, TOKEN.len() - 1),
            Err(FormatError::InflatedTooLarge {
                limit: TOKEN.len() - 1
            })
        );
        assert!(matches!(
            token_from_presentation(&"A".repeat(MAX + 1), MAX),
            Err(FormatError::TooLarge { .. })
        ));
        let not_text = format!("ZT1:{}", base45::encode(&zlib_compress(&[0xFF, 0xFE])));
        assert_eq!(
            token_from_presentation(&not_text, MAX),
            Err(FormatError::NotText)
        );
    }

    #[test]
    fn images_have_the_requested_size_and_format() {
        let payload = qr_payload(TOKEN);
        let png = render_qr(&payload, QrImageFormat::Png, 300).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let svg = String::from_utf8(render_qr(&payload, QrImageFormat::Svg, 300).unwrap()).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r#"width="300" height="300""#));
        assert_eq!(
            render_qr(&payload, QrImageFormat::Png, 63),
            Err(QrError::SizeOutOfRange { size: 63 })
        );
        assert_eq!(
            render_qr(&payload, QrImageFormat::Svg, 2049),
            Err(QrError::SizeOutOfRange { size: 2049 })
        );
        assert!(matches!(
            render_qr(&"9".repeat(3000), QrImageFormat::Png, 64),
            Err(QrError::TooSmall { .. })
        ));
        assert_eq!(
            render_qr(&"9".repeat(8000), QrImageFormat::Png, 2048),
            Err(QrError::TooLong)
        );
    }
}
