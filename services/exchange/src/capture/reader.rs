//! Bounds-checked reading of big-endian protocol fields: every read of a
//! short or malformed message is an error, never a panic.

/// A message that ended early or holds something it may not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed message: {0}")]
pub struct Malformed(pub String);

/// A cursor over one message body.
pub struct Reader<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, position: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.position
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn bytes(&mut self, count: usize) -> Result<&'a [u8], Malformed> {
        if count > self.remaining() {
            return Err(Malformed(format!(
                "needs {count} more bytes at offset {}, has {}",
                self.position,
                self.remaining()
            )));
        }
        let slice = &self.data[self.position..self.position + count];
        self.position += count;
        Ok(slice)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let slice = &self.data[self.position..];
        self.position = self.data.len();
        slice
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }

    pub fn i16(&mut self) -> Result<i16, Malformed> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Result<i32, Malformed> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, Malformed> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A NUL-terminated UTF-8 string.
    pub fn cstr(&mut self) -> Result<&'a str, Malformed> {
        let rest = &self.data[self.position..];
        let end = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| Malformed("string without terminator".into()))?;
        let text = std::str::from_utf8(&rest[..end])
            .map_err(|_| Malformed("string is not UTF-8".into()))?;
        self.position += end + 1;
        Ok(text)
    }

    /// A length-prefixed (i32) byte string; `None` for length -1 (NULL).
    pub fn counted(&mut self) -> Result<Option<&'a [u8]>, Malformed> {
        let length = self.i32()?;
        if length < 0 {
            return Ok(None);
        }
        let length = usize::try_from(length).map_err(|_| Malformed("bad length".into()))?;
        self.bytes(length).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_in_order() {
        let data = [0, 1, 0, 0, 0, 2, b'h', b'i', 0, 0, 0, 0, 1, b'x'];
        let mut reader = Reader::new(&data);
        assert_eq!(reader.i16().unwrap(), 1);
        assert_eq!(reader.i32().unwrap(), 2);
        assert_eq!(reader.cstr().unwrap(), "hi");
        assert_eq!(reader.counted().unwrap(), Some(&b"x"[..]));
        assert!(reader.is_empty());
    }

    #[test]
    fn short_input_is_an_error() {
        assert!(Reader::new(&[0, 1, 2]).i32().is_err());
        assert!(Reader::new(b"abc").cstr().is_err());
        assert!(Reader::new(&[0, 0, 0, 9, 1]).counted().is_err());
        assert!(Reader::new(&[0xff, 0xfe, 0]).cstr().is_err());
        assert_eq!(Reader::new(&[0xff, 0xff, 0xff, 0xff]).counted(), Ok(None));
    }
}
