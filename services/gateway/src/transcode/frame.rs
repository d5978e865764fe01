//! gRPC message framing: a compressed-flag byte, a big-endian u32 length,
//! then the message.

use bytes::{BufMut, Bytes, BytesMut};

const HEADER_LEN: usize = 5;

/// Why a gRPC body is not exactly one uncompressed message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer than the five header bytes.
    #[error("the gRPC message is truncated: {0} bytes, a frame header needs 5")]
    Truncated(usize),
    /// The compressed flag is set; the gateway does not accept compression.
    #[error("compressed gRPC messages are not accepted; send them uncompressed")]
    Compressed,
    /// The flag byte is neither 0 nor 1.
    #[error("invalid gRPC frame flag {0}")]
    InvalidFlag(u8),
    /// The declared length and the bytes present differ.
    #[error("the gRPC frame declares {declared} bytes but {actual} follow")]
    LengthMismatch { declared: usize, actual: usize },
}

/// The message as one gRPC frame (0 flag + u32 BE length + bytes).
pub fn frame(message: &[u8]) -> Bytes {
    let mut framed = BytesMut::with_capacity(HEADER_LEN + message.len());
    framed.put_u8(0);
    // Bodies are limited far below 4 GiB before they get here.
    framed.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    framed.put_slice(message);
    framed.freeze()
}

/// The message of a body that holds exactly one uncompressed frame.
pub fn unframe(body: &[u8]) -> Result<Bytes, FrameError> {
    let Some((header, message)) = body.split_at_checked(HEADER_LEN) else {
        return Err(FrameError::Truncated(body.len()));
    };
    match header[0] {
        0 => {}
        1 => return Err(FrameError::Compressed),
        flag => return Err(FrameError::InvalidFlag(flag)),
    }
    let declared = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if declared != message.len() {
        return Err(FrameError::LengthMismatch {
            declared,
            actual: message.len(),
        });
    }
    Ok(Bytes::copy_from_slice(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let framed = frame(b"hello");
        assert_eq!(&framed[..], b"\0\0\0\0\x05hello");
        assert_eq!(unframe(&framed).unwrap(), Bytes::from_static(b"hello"));
        assert_eq!(unframe(&frame(b"")).unwrap(), Bytes::new());
    }

    #[test]
    fn refuses_anything_but_one_plain_frame() {
        assert_eq!(unframe(b"\0\0\0"), Err(FrameError::Truncated(3)));
        assert_eq!(unframe(b"\x01\0\0\0\x01x"), Err(FrameError::Compressed));
        assert_eq!(unframe(b"\x07\0\0\0\x01x"), Err(FrameError::InvalidFlag(7)));
        let two = [frame(b"a"), frame(b"b")].concat();
        assert_eq!(
            unframe(&two),
            Err(FrameError::LengthMismatch {
                declared: 1,
                actual: 7
            })
        );
        assert_eq!(
            unframe(b"\0\0\0\0\x09short"),
            Err(FrameError::LengthMismatch {
                declared: 9,
                actual: 5
            })
        );
    }
}
