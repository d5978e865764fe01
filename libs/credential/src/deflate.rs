//! zlib and gzip with hard output limits, so a small input cannot expand
//! into gigabytes (a "zip bomb") in a verifier.

use std::cell::RefCell;
use std::io::{Read, Write};

use flate2::{Compression, Decompress, FlushDecompress, Status};

use crate::FormatError;

/// One zlib stream of `text` followed by `random`. Random bytes (a
/// signature) go in a block of their own: mixed into the text's block they
/// would give every byte value a Huffman code and lengthen the text's codes.
pub(crate) fn zlib_compress(text: &[u8], random: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(text.len() + random.len() + 64),
        Compression::best(),
    );
    // Writing into a Vec cannot fail; the encoder's only I/O is that Vec.
    encoder
        .write_all(text)
        .expect("compressing into memory cannot fail");
    if !random.is_empty() {
        // A sync flush ends the block at a byte boundary (5 bytes); the
        // random bytes then come out as a stored block, 5 bytes over their size.
        encoder
            .flush()
            .expect("compressing into memory cannot fail");
        encoder
            .write_all(random)
            .expect("compressing into memory cannot fail");
    }
    encoder
        .finish()
        .expect("compressing into memory cannot fail")
}

/// Inflates one complete zlib stream (checksum verified) of at most `limit`
/// bytes; truncated streams and trailing bytes are refused.
pub(crate) fn zlib_inflate(input: &[u8], limit: usize) -> Result<Vec<u8>, FormatError> {
    // An inflater holds tens of KiB of tables; scanners inflate one code
    // after another, so each thread keeps one instead of allocating it anew.
    thread_local! {
        static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(true));
    }
    INFLATER.with(|inflater| match inflater.try_borrow_mut() {
        Ok(mut inflater) => {
            inflater.reset(true);
            inflate_with(&mut inflater, input, limit)
        }
        Err(_) => inflate_with(&mut Decompress::new(true), input, limit),
    })
}

fn inflate_with(
    inflater: &mut Decompress,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, FormatError> {
    // Room for one byte past the limit tells "exactly at the limit" from
    // "beyond"; the buffer starts small and doubles up to that.
    let ceiling = limit.saturating_add(1);
    let mut output = Vec::with_capacity(ceiling.min(input.len().saturating_mul(8).max(4096)));
    loop {
        let consumed_before = inflater.total_in();
        let produced_before = output.len();
        let remaining = input.get(position(consumed_before)..).unwrap_or_default();
        let status = inflater
            .decompress_vec(remaining, &mut output, FlushDecompress::Finish)
            .map_err(|_| FormatError::Compression)?;
        if output.len() > limit {
            return Err(FormatError::InflatedTooLarge { limit });
        }
        let consumed = position(inflater.total_in());
        match status {
            Status::StreamEnd if consumed == input.len() => return Ok(output),
            Status::StreamEnd => return Err(FormatError::Compression),
            Status::Ok | Status::BufError => {
                let progressed =
                    inflater.total_in() != consumed_before || output.len() != produced_before;
                if output.len() == output.capacity() {
                    let grown = output.capacity().saturating_mul(2).min(ceiling);
                    output.reserve_exact(grown - output.len());
                    continue;
                }
                if consumed == input.len() || !progressed {
                    return Err(FormatError::Compression);
                }
            }
        }
    }
}

fn position(total: u64) -> usize {
    usize::try_from(total).unwrap_or(usize::MAX)
}

pub(crate) fn gzip_compress(data: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 8), Compression::best());
    encoder
        .write_all(data)
        .expect("compressing into memory cannot fail");
    encoder
        .finish()
        .expect("compressing into memory cannot fail")
}

/// Inflates the first gzip member (CRC and length trailer verified) of at
/// most `limit` bytes.
pub(crate) fn gzip_inflate(input: &[u8], limit: usize) -> Result<Vec<u8>, FormatError> {
    let decoder = flate2::read::GzDecoder::new(input);
    let mut output =
        Vec::with_capacity(limit.saturating_add(1).min(input.len().saturating_mul(64)));
    decoder
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut output)
        .map_err(|_| FormatError::Compression)?;
    if output.len() > limit {
        return Err(FormatError::InflatedTooLarge { limit });
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_round_trip_and_limits() {
        let data = b"eyJhbGciOiJFZERTQSJ9".repeat(50);
        let packed = zlib_compress(&data, &[]);
        assert_eq!(zlib_inflate(&packed, data.len()), Ok(data.clone()));
        assert_eq!(
            zlib_inflate(&packed, data.len() - 1),
            Err(FormatError::InflatedTooLarge {
                limit: data.len() - 1
            })
        );
        assert_eq!(
            zlib_inflate(&packed[..packed.len() - 1], 4096),
            Err(FormatError::Compression)
        );
        let mut trailing = packed.clone();
        trailing.push(0);
        assert_eq!(zlib_inflate(&trailing, 4096), Err(FormatError::Compression));
        assert_eq!(zlib_inflate(&[], 4096), Err(FormatError::Compression));
    }

    #[test]
    fn random_bytes_in_a_block_of_their_own_round_trip_and_cost_little() {
        let text = br#"{"iss":"zhongtai:issuer:0196a1c2","vct":"business-licence"}"#.repeat(8);
        let random: Vec<u8> = (0..64u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let whole = [&text[..], &random].concat();
        let packed = zlib_compress(&text, &random);
        assert_eq!(zlib_inflate(&packed, whole.len()), Ok(whole.clone()));
        let text_only = zlib_compress(&text, &[]).len();
        assert!(
            packed.len() <= text_only + random.len() + 10,
            "{} bytes for {text_only} of text and {} random",
            packed.len(),
            random.len()
        );
    }

    #[test]
    fn gzip_round_trip_and_limits() {
        let data = vec![0u8; 10_000];
        let packed = gzip_compress(&data);
        assert_eq!(gzip_inflate(&packed, 10_000), Ok(data));
        assert_eq!(
            gzip_inflate(&packed, 9_999),
            Err(FormatError::InflatedTooLarge { limit: 9_999 })
        );
        assert_eq!(
            gzip_inflate(&packed[..packed.len() - 4], 10_000),
            Err(FormatError::Compression)
        );
    }
}
