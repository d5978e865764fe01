//! QR payloads for tokens and their rendering as images.
//!
//! # The `ZT1:` payload
//!
//! `ZT1:` + base45 ([RFC 9285]) of a zlib stream ([RFC 1950], deflate
//! inside) of the token's three parts decoded from base64url, each of the
//! first two behind its length:
//!
//! | bytes | content                                             |
//! |-------|-----------------------------------------------------|
//! | 2     | `h`, the header's length, unsigned big-endian       |
//! | `h`   | the JWS protected header (JSON)                     |
//! | 2     | `p`, the payload's length, unsigned big-endian      |
//! | `p`   | the JWS payload (JSON)                              |
//! | rest  | the signature (64 bytes for Ed25519)                |
//!
//! Every character is in the QR alphanumeric set, which a QR code holds in
//! 5.5 bits a character instead of 8; and deflate sees the JSON itself,
//! which compresses far better than its base64url.
//!
//! To read a payload: take the text after `ZT1:`, base45-decode it, inflate
//! it (checking the zlib checksum, and stopping past a limit: the parts of a
//! token of `n` bytes take at most `3n/4 + 4`), split it as
//! above (a length running past the end is an error), and join the three
//! parts, each base64url without padding ([RFC 7515] §2), with `.`. That is
//! the compact JWS exactly as signed: unpadded base64url has one text per
//! byte string, so the signing input comes back byte for byte and the
//! signature is verified over it as over any token. In Python:
//!
//! ```python
//! import base64, zlib
//! ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
//! def base45(text):
//!     out = bytearray()
//!     for i in range(0, len(text), 3):
//!         digits = [ALPHABET.index(c) for c in text[i:i + 3]]  # ValueError if not base45
//!         if len(digits) == 1:
//!             raise ValueError("truncated")
//!         n = sum(d * 45**k for k, d in enumerate(digits))
//!         out += n.to_bytes(len(digits) - 1, "big")  # OverflowError if too large
//!     return bytes(out)
//! def token(payload, limit=16384):
//!     inflater = zlib.decompressobj()
//!     framed = inflater.decompress(base45(payload.strip().removeprefix("ZT1:")), limit)
//!     assert inflater.eof and not inflater.unconsumed_tail and not inflater.unused_data
//!     parts = []
//!     for _ in range(2):
//!         n = int.from_bytes(framed[:2], "big")
//!         assert len(framed) >= 2 + n
//!         parts.append(framed[2:2 + n])
//!         framed = framed[2 + n:]
//!     parts.append(framed)
//!     return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts)
//! ```
//!
//! [RFC 9285]: https://www.rfc-editor.org/rfc/rfc9285
//! [RFC 1950]: https://www.rfc-editor.org/rfc/rfc1950
//! [RFC 7515]: https://www.rfc-editor.org/rfc/rfc7515

use base64::Engine as _;
use qrcode::{Color, EcLevel, QrCode};

use crate::deflate::{zlib_compress, zlib_inflate};
use crate::encoding::B64URL;
use crate::{FormatError, base45};

/// Marks a QR payload of this platform, format version 1.
pub const QR_PREFIX: &str = "ZT1:";

/// Image side lengths accepted by [`render_qr`], in pixels.
pub const QR_IMAGE_SIZES: std::ops::RangeInclusive<u32> = 64..=2048;

/// Modules of blank margin around the code, as ISO/IEC 18004 asks.
const QUIET_ZONE_MODULES: usize = 4;

/// The two length prefixes of the framing.
const FRAMING_BYTES: usize = 4;

/// The text to put in a QR code for `token`: a `ZT1:` payload (see the
/// [module documentation](self)).
///
/// Every token [`sign_compact`](crate::sign_compact) writes has such a
/// payload. Text that is not three parts in canonical base64url has none
/// (no byte string encodes to it) and is returned as it is: a raw token is
/// a presentation too, and is refused as it would be anyway.
pub fn qr_payload(token: &str) -> String {
    let Some(framed) = FramedToken::of(token) else {
        return token.to_owned();
    };
    let encoded = base45::encode(&zlib_compress(
        &framed.header_and_payload,
        &framed.signature,
    ));
    let mut payload = String::with_capacity(QR_PREFIX.len() + encoded.len());
    payload.push_str(QR_PREFIX);
    payload.push_str(&encoded);
    payload
}

/// The token in a presentation: the raw token, or a `ZT1:` QR payload
/// (surrounding whitespace ignored). The token may be at most `max_bytes`,
/// and a payload is refused as soon as it inflates past what such a token
/// needs, so a small payload cannot expand without limit.
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
    // Base64url writes 4 characters for 3 bytes, so the parts of a token of
    // `max_bytes` take at most three quarters of that.
    let framed_limit = max_bytes
        .saturating_sub(max_bytes / 4)
        .saturating_add(FRAMING_BYTES);
    // Incompressible data grows a little in zlib (stored blocks add a few
    // bytes per 16 KiB), and base45 adds half again. This only refuses, before
    // decoding, text no payload could be, so it bounds by the token rather
    // than by its shorter framing; inflating stops at the exact bound.
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
    let too_large = FormatError::InflatedTooLarge { limit: max_bytes };
    let framed = zlib_inflate(&compressed, framed_limit).map_err(|error| match error {
        FormatError::InflatedTooLarge { .. } => too_large.clone(),
        other => other,
    })?;
    let token = FramedToken::rebuild(&framed).ok_or(FormatError::Compression)?;
    if token.len() > max_bytes {
        return Err(too_large);
    }
    Ok(token)
}

/// A compact JWS as the `ZT1:` framing holds it: the header and payload
/// behind their lengths, and the signature, which is kept apart because
/// it does not compress.
struct FramedToken {
    header_and_payload: Vec<u8>,
    signature: Vec<u8>,
}

impl FramedToken {
    /// `None` unless `token` is three parts of canonical base64url (which
    /// [`B64URL`] alone decodes), the first two short enough for their
    /// length prefix.
    fn of(token: &str) -> Option<Self> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let mut header_and_payload = Vec::with_capacity(header.len() + payload.len());
        for part in [header, payload] {
            let bytes = B64URL.decode(part).ok()?;
            let length = u16::try_from(bytes.len()).ok()?;
            header_and_payload.extend_from_slice(&length.to_be_bytes());
            header_and_payload.extend_from_slice(&bytes);
        }
        let signature = B64URL.decode(signature).ok()?;
        Some(Self {
            header_and_payload,
            signature,
        })
    }

    /// The compact JWS framed in `framed`; `None` if a length runs past
    /// the end.
    fn rebuild(framed: &[u8]) -> Option<String> {
        let (header, rest) = length_prefixed(framed)?;
        let (payload, signature) = length_prefixed(rest)?;
        let mut token =
            String::with_capacity(framed.len().saturating_sub(FRAMING_BYTES) * 4 / 3 + 4);
        B64URL.encode_string(header, &mut token);
        token.push('.');
        B64URL.encode_string(payload, &mut token);
        token.push('.');
        B64URL.encode_string(signature, &mut token);
        Some(token)
    }
}

/// The part behind a 2-byte big-endian length, and what follows it.
fn length_prefixed(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (length, rest) = bytes.split_first_chunk::<2>()?;
    let length = usize::from(u16::from_be_bytes(*length));
    (length <= rest.len()).then(|| rest.split_at(length))
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
        let framed = |bytes: &[u8]| format!("ZT1:{}", base45::encode(&zlib_compress(bytes, &[])));
        for length_past_the_end in [&[0xFF, 0xFE][..], &[0, 5, b'a'], &[0, 0, 0], &[0]] {
            assert_eq!(
                token_from_presentation(&framed(length_past_the_end), MAX),
                Err(FormatError::Compression),
                "{length_past_the_end:?}"
            );
        }
        assert_eq!(
            token_from_presentation(&framed(&[0, 0, 0, 0]), MAX),
            Ok("..".to_owned())
        );
    }

    #[test]
    fn the_framing_holds_the_decoded_parts() {
        let framed = FramedToken::of("e30.eyJzdWIiOiJ4In0.AAEC").unwrap();
        assert_eq!(framed.header_and_payload, b"\0\x02{}\0\x0b{\"sub\":\"x\"}");
        assert_eq!(framed.signature, [0, 1, 2]);
        assert_eq!(
            FramedToken::rebuild(b"\0\x02{}\0\x0b{\"sub\":\"x\"}\0\x01\x02").as_deref(),
            Some("e30.eyJzdWIiOiJ4In0.AAEC")
        );
    }

    #[test]
    fn text_without_a_canonical_framing_is_its_own_payload() {
        // Trailing bits set, padding, the standard alphabet, too few or many
        // parts: no byte string encodes to these, so none can be framed.
        for token in [
            "e31.e30.AAEC",
            "e30.e30=.AAEC",
            "e30.e30.AA+/",
            "e30.e30",
            "e30.e30.AAEC.AAEC",
            "ZT1:",
            "not a token",
        ] {
            assert!(FramedToken::of(token).is_none(), "{token}");
            assert_eq!(qr_payload(token), token);
        }
        let long_header = format!("{}.e30.AAEC", B64URL.encode(vec![b' '; 65_536]));
        assert!(FramedToken::of(&long_header).is_none());
        assert!(
            FramedToken::of("e30.e30.").is_some(),
            "an empty part is canonical"
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
