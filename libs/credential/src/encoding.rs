//! The base64 flavours this crate reads and writes.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// JOSE base64url: no padding written, none accepted, canonical trailing
/// bits only (so one signature has exactly one text form).
pub(crate) const B64URL: GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);

/// Configuration values are pasted by people: either alphabet, padded or not.
pub(crate) const LENIENT_STANDARD: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
pub(crate) const LENIENT_URL_SAFE: GeneralPurpose =
    GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
