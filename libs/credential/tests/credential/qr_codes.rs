//! Certificates fit a QR code a phone camera reads at arm's length.

use qrcode::{EcLevel, QrCode, Version};
use zhongtai_credential::{QrImageFormat, qr_payload, render_qr};

use crate::fixtures::{certificate, code, licence, personal_code, world};

fn version_of(payload: &str) -> i16 {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).unwrap();
    match code.version() {
        Version::Normal(version) | Version::Micro(version) => version,
    }
}

#[test]
fn a_business_licence_fits_qr_version_25_at_level_m() {
    let world = world();
    let token = certificate(&world.market_regulation, &licence());
    let payload = qr_payload(&token);
    let version = version_of(&payload);
    println!(
        "licence token {} bytes, QR payload {} characters, version {version}",
        token.len(),
        payload.len()
    );
    // QR alphanumeric mode stores 5.5 bits a character, byte mode 8.
    assert!(
        payload.len() * 11 < token.len() * 16,
        "the payload is smaller than the raw token in a QR code"
    );
    assert!(version <= 25, "version {version}");
}

#[test]
fn a_code_fits_a_small_qr_code() {
    let world = world();
    let payload = qr_payload(&code(&world.platform, &personal_code()));
    let version = version_of(&payload);
    println!(
        "code QR payload {} characters, version {version}",
        payload.len()
    );
    assert!(version <= 16, "version {version}");
}

#[test]
fn licences_render_as_png_and_svg() {
    let world = world();
    let payload = qr_payload(&certificate(&world.market_regulation, &licence()));
    let png = render_qr(&payload, QrImageFormat::Png, 512).unwrap();
    assert!(png.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]));
    // IHDR: width and height are the requested size.
    assert_eq!(&png[16..24], &[0, 0, 2, 0, 0, 0, 2, 0]);
    let svg = String::from_utf8(render_qr(&payload, QrImageFormat::Svg, 512).unwrap()).unwrap();
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"));
    assert!(svg.ends_with("</svg>"));
}
