//! A minimal PostgreSQL frontend: startup (optionally as a logical
//! replication connection), authentication, the simple query protocol in
//! text format, and CopyBoth streaming.
//!
//! Reading is cancel-safe: bytes are taken into the connection's buffer and
//! a message leaves it only whole. A query or write interrupted half-way
//! leaves the protocol state unknown, so the connection refuses further
//! use rather than misread what follows.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::auth::{SCRAM_SHA_256, ScramClient, ScramError};
use super::reader::{Malformed, Reader};
use super::url::{SourceUrl, UrlError};

/// Larger frames are refused: PostgreSQL never sends more than 1 GiB in one
/// message.
const MAX_FRAME: usize = 1 << 30;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const PROTOCOL_3_0: i32 = 196_608;
const READ_CHUNK: usize = 64 * 1024;

/// Why talking to the source failed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("cannot reach {target}: {cause}")]
    Unreachable { target: String, cause: String },
    #[error("connection to the source lost: {0}")]
    Io(#[from] std::io::Error),
    #[error("{message} (SQLSTATE {code})")]
    Server { code: String, message: String },
    #[error("the source broke the protocol: {0}")]
    Protocol(String),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Scram(#[from] ScramError),
    #[error("the connection was interrupted mid-message and cannot be used")]
    Interrupted,
}

impl From<Malformed> for WireError {
    fn from(error: Malformed) -> Self {
        Self::Protocol(error.0)
    }
}

impl WireError {
    /// The SQLSTATE of a server error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether retrying cannot help: bad configuration, refused
    /// credentials, a missing database or object, unsupported features.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Url(_) | Self::Unsupported(_) | Self::Scram(_) => true,
            Self::Server { code, .. } => {
                // 28: authorization; 3D: no such database; 42: syntax or
                // missing objects / privileges.
                code.starts_with("28") || code.starts_with("3D") || code.starts_with("42")
            }
            _ => false,
        }
    }
}

/// The answer to one statement of a simple query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryResult {
    /// Name and type OID of each column.
    pub columns: Vec<(String, u32)>,
    /// Text values; `None` is NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// The command tag, e.g. `SELECT 3`.
    pub command: String,
}

/// One message of a CopyBoth stream.
#[derive(Debug, Clone, PartialEq)]
pub enum CopyMessage {
    Data(Vec<u8>),
    /// The server ended the stream.
    Done,
}

/// One backend message: its type byte and body.
struct Message {
    kind: u8,
    body: Vec<u8>,
}

/// An open connection to a PostgreSQL server.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    consumed: usize,
    interrupted: bool,
    backend_pid: i32,
    parameters: HashMap<String, String>,
}

impl Connection {
    /// Connects to `url`; `replication` opens a logical replication
    /// connection (`replication=database`), which also takes SQL.
    pub async fn connect(url: &str, replication: bool) -> Result<Self, WireError> {
        Self::connect_to(&SourceUrl::parse(url)?, replication).await
    }

    pub async fn connect_to(target: &SourceUrl, replication: bool) -> Result<Self, WireError> {
        let address = (target.host.as_str(), target.port);
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                return Err(WireError::Unreachable {
                    target: format!("{}:{}", target.host, target.port),
                    cause: error.to_string(),
                });
            }
            Err(_) => {
                return Err(WireError::Unreachable {
                    target: format!("{}:{}", target.host, target.port),
                    cause: "timed out".into(),
                });
            }
        };
        stream.set_nodelay(true)?;
        let mut connection = Self {
            stream,
            buffer: Vec::with_capacity(READ_CHUNK),
            consumed: 0,
            interrupted: false,
            backend_pid: 0,
            parameters: HashMap::new(),
        };
        connection.startup(target, replication).await?;
        Ok(connection)
    }

    /// The server process serving this connection.
    pub fn backend_pid(&self) -> i32 {
        self.backend_pid
    }

    /// A run-time parameter the server reported (`server_version`, …).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    async fn startup(&mut self, target: &SourceUrl, replication: bool) -> Result<(), WireError> {
        let mut body = Vec::new();
        body.extend_from_slice(&PROTOCOL_3_0.to_be_bytes());
        let mut parameters = vec![
            ("user", target.user.as_str()),
            ("database", target.database.as_str()),
            ("application_name", "zhongtai-exchange"),
            ("client_encoding", "UTF8"),
            // Values arrive as text; these fix the forms they take.
            ("DateStyle", "ISO, YMD"),
            ("TimeZone", "UTC"),
            ("extra_float_digits", "3"),
        ];
        if replication {
            parameters.push(("replication", "database"));
        }
        for (name, value) in parameters {
            put_cstr(&mut body, name);
            put_cstr(&mut body, value);
        }
        body.push(0);
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&frame_length(body.len())?.to_be_bytes());
        frame.extend_from_slice(&body);
        self.write(&frame).await?;
        self.authenticate(target).await?;
        loop {
            let message = self.read_message().await?;
            match message.kind {
                b'S' => {
                    let mut reader = Reader::new(&message.body);
                    let name = reader.cstr()?.to_owned();
                    let value = reader.cstr()?.to_owned();
                    self.parameters.insert(name, value);
                }
                b'K' => {
                    self.backend_pid = Reader::new(&message.body).i32()?;
                }
                b'Z' => return Ok(()),
                b'E' => return Err(server_error(&message.body)),
                b'N' => {}
                other => return Err(unexpected(other, "startup")),
            }
        }
    }

    async fn authenticate(&mut self, target: &SourceUrl) -> Result<(), WireError> {
        let mut scram: Option<ScramClient> = None;
        loop {
            let message = self.read_message().await?;
            if message.kind == b'E' {
                return Err(server_error(&message.body));
            }
            if message.kind != b'R' {
                return Err(unexpected(message.kind, "authentication"));
            }
            let mut reader = Reader::new(&message.body);
            match reader.i32()? {
                0 => return Ok(()),
                3 => {
                    let password = password(target)?;
                    let mut body = Vec::new();
                    put_cstr(&mut body, password);
                    self.send(b'p', &body).await?;
                }
                5 => {
                    return Err(WireError::Unsupported(
                        "md5 password authentication is not supported; use scram-sha-256".into(),
                    ));
                }
                10 => {
                    let mut offered = Vec::new();
                    while let Ok(mechanism) = reader.cstr() {
                        if mechanism.is_empty() {
                            break;
                        }
                        offered.push(mechanism.to_owned());
                    }
                    if !offered.iter().any(|m| m == SCRAM_SHA_256) {
                        return Err(WireError::Unsupported(format!(
                            "the source offers only {offered:?}; SCRAM-SHA-256 is needed"
                        )));
                    }
                    let client =
                        ScramClient::new("", password(target)?, ScramClient::random_nonce()?);
                    let first = client.client_first();
                    let mut body = Vec::new();
                    put_cstr(&mut body, SCRAM_SHA_256);
                    let length = i32::try_from(first.len())
                        .map_err(|_| WireError::Protocol("SCRAM message too large".into()))?;
                    body.extend_from_slice(&length.to_be_bytes());
                    body.extend_from_slice(first.as_bytes());
                    self.send(b'p', &body).await?;
                    scram = Some(client);
                }
                11 => {
                    let client = scram
                        .as_mut()
                        .ok_or_else(|| WireError::Protocol("SASL continue before start".into()))?;
                    let server_first = std::str::from_utf8(reader.rest())
                        .map_err(|_| WireError::Protocol("SASL message is not UTF-8".into()))?;
                    let client_final = client.client_final(server_first)?;
                    self.send(b'p', client_final.as_bytes()).await?;
                }
                12 => {
                    let client = scram
                        .as_ref()
                        .ok_or_else(|| WireError::Protocol("SASL final before start".into()))?;
                    let server_final = std::str::from_utf8(reader.rest())
                        .map_err(|_| WireError::Protocol("SASL message is not UTF-8".into()))?;
                    client.verify_server_final(server_final)?;
                }
                other => {
                    return Err(WireError::Unsupported(format!(
                        "authentication method {other} is not supported; use scram-sha-256"
                    )));
                }
            }
        }
    }

    /// Runs `sql` (one or more statements) and returns each statement's
    /// result; the first server error fails the whole call once the server
    /// is ready again.
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<QueryResult>, WireError> {
        self.send_query(sql).await?;
        self.interrupted = true;
        let mut results = Vec::new();
        let mut current = QueryResult::default();
        let mut failure = None;
        loop {
            let message = self.read_message().await?;
            match message.kind {
                b'T' => current.columns = row_description(&message.body)?,
                b'D' => current.rows.push(data_row(&message.body)?),
                b'C' => {
                    current.command = Reader::new(&message.body).cstr()?.to_owned();
                    results.push(std::mem::take(&mut current));
                }
                b'I' => results.push(std::mem::take(&mut current)),
                b'E' => failure = Some(server_error(&message.body)),
                b'Z' => break,
                b'N' | b'S' => {}
                // COPY is not used; answer CopyIn by failing it.
                b'G' => self.send(b'f', b"COPY is not supported\0").await?,
                b'H' | b'd' | b'c' => {}
                other => return Err(unexpected(other, "a query")),
            }
        }
        self.interrupted = false;
        match failure {
            Some(error) => Err(error),
            None => Ok(results),
        }
    }

    /// Sends a command that answers with CopyBoth (`START_REPLICATION`) and
    /// waits until the stream is open.
    pub async fn start_copy_both(&mut self, sql: &str) -> Result<(), WireError> {
        self.send_query(sql).await?;
        self.interrupted = true;
        loop {
            let message = self.read_message().await?;
            match message.kind {
                b'W' => {
                    self.interrupted = false;
                    return Ok(());
                }
                b'E' => {
                    let error = server_error(&message.body);
                    // The server follows an error with ReadyForQuery.
                    loop {
                        if self.read_message().await?.kind == b'Z' {
                            break;
                        }
                    }
                    self.interrupted = false;
                    return Err(error);
                }
                b'N' | b'S' => {}
                other => return Err(unexpected(other, "starting a stream")),
            }
        }
    }

    /// The next message of a CopyBoth stream. Cancel-safe.
    pub async fn read_copy(&mut self) -> Result<CopyMessage, WireError> {
        loop {
            let message = self.read_message().await?;
            match message.kind {
                b'd' => return Ok(CopyMessage::Data(message.body)),
                b'c' => return Ok(CopyMessage::Done),
                b'E' => return Err(server_error(&message.body)),
                b'N' | b'S' => {}
                other => return Err(unexpected(other, "a stream")),
            }
        }
    }

    /// Sends one CopyData message.
    pub async fn send_copy(&mut self, data: &[u8]) -> Result<(), WireError> {
        self.send(b'd', data).await
    }

    /// Says goodbye; errors do not matter any more.
    pub async fn terminate(mut self) {
        let _ = self.send(b'X', &[]).await;
        let _ = self.stream.shutdown().await;
    }

    async fn send_query(&mut self, sql: &str) -> Result<(), WireError> {
        if sql.contains('\0') {
            return Err(WireError::Unsupported("a query may not contain NUL".into()));
        }
        let mut body = Vec::with_capacity(sql.len() + 1);
        put_cstr(&mut body, sql);
        self.send(b'Q', &body).await
    }

    async fn send(&mut self, kind: u8, body: &[u8]) -> Result<(), WireError> {
        let mut frame = Vec::with_capacity(body.len() + 5);
        frame.push(kind);
        frame.extend_from_slice(&frame_length(body.len())?.to_be_bytes());
        frame.extend_from_slice(body);
        self.write(&frame).await
    }

    async fn write(&mut self, frame: &[u8]) -> Result<(), WireError> {
        if self.interrupted {
            return Err(WireError::Interrupted);
        }
        self.interrupted = true;
        self.stream.write_all(frame).await?;
        self.interrupted = false;
        Ok(())
    }

    async fn read_message(&mut self) -> Result<Message, WireError> {
        loop {
            if let Some(message) = self.take_buffered()? {
                return Ok(message);
            }
            if self.consumed > 0 {
                self.buffer.drain(..self.consumed);
                self.consumed = 0;
            }
            // A full Vec would grow by a few bytes per read.
            if self.buffer.capacity() - self.buffer.len() < READ_CHUNK / 2 {
                self.buffer.reserve(READ_CHUNK);
            }
            // read_buf is cancel-safe: bytes read are in the buffer.
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(WireError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }

    fn take_buffered(&mut self) -> Result<Option<Message>, WireError> {
        let available = &self.buffer[self.consumed..];
        let Some(header) = available.get(..5) else {
            return Ok(None);
        };
        let kind = header[0];
        let length = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let length = usize::try_from(length)
            .ok()
            .filter(|length| (4..=MAX_FRAME).contains(length))
            .ok_or_else(|| WireError::Protocol(format!("frame length {length} out of bounds")))?;
        let Some(body) = available.get(5..1 + length) else {
            if self.buffer.capacity() < length + 1 {
                self.buffer.reserve(length + 1 - available.len());
            }
            return Ok(None);
        };
        let message = Message {
            kind,
            body: body.to_vec(),
        };
        self.consumed += 1 + length;
        Ok(Some(message))
    }
}

fn password(target: &SourceUrl) -> Result<&str, WireError> {
    target.password.as_deref().ok_or_else(|| {
        WireError::Unsupported("the source asks for a password and the URL has none".into())
    })
}

fn frame_length(body: usize) -> Result<i32, WireError> {
    body.checked_add(4)
        .filter(|length| *length <= MAX_FRAME)
        .and_then(|length| i32::try_from(length).ok())
        .ok_or_else(|| WireError::Unsupported("message too large".into()))
}

fn put_cstr(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.push(0);
}

fn unexpected(kind: u8, during: &str) -> WireError {
    WireError::Protocol(format!(
        "unexpected message {:?} during {during}",
        char::from(kind)
    ))
}

fn row_description(body: &[u8]) -> Result<Vec<(String, u32)>, WireError> {
    let mut reader = Reader::new(body);
    let count = reader.i16()?;
    let mut columns = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        let name = reader.cstr()?.to_owned();
        let _table_oid = reader.u32()?;
        let _attribute = reader.i16()?;
        let type_oid = reader.u32()?;
        let _size = reader.i16()?;
        let _modifier = reader.i32()?;
        let _format = reader.i16()?;
        columns.push((name, type_oid));
    }
    Ok(columns)
}

fn data_row(body: &[u8]) -> Result<Vec<Option<String>>, WireError> {
    let mut reader = Reader::new(body);
    let count = reader.i16()?;
    let mut values = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        let value = match reader.counted()? {
            Some(bytes) => Some(
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| WireError::Protocol("a value is not UTF-8".into()))?,
            ),
            None => None,
        };
        values.push(value);
    }
    Ok(values)
}

/// An ErrorResponse's SQLSTATE and message.
fn server_error(body: &[u8]) -> WireError {
    let mut code = String::new();
    let mut message = String::new();
    let mut reader = Reader::new(body);
    while let Ok(field) = reader.u8() {
        if field == 0 {
            break;
        }
        let Ok(value) = reader.cstr() else { break };
        match field {
            b'C' => code = value.to_owned(),
            b'M' => message = value.to_owned(),
            _ => {}
        }
    }
    WireError::Server { code, message }
}

/// Quotes an SQL identifier.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes an SQL string literal (standard-conforming strings).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_carry_sqlstate_and_message() {
        let body = b"SERROR\0C42P01\0Mrelation \"t\" does not exist\0\0";
        let error = server_error(body);
        assert_eq!(error.code(), Some("42P01"));
        assert!(error.is_permanent());
        assert_eq!(
            error.to_string(),
            "relation \"t\" does not exist (SQLSTATE 42P01)"
        );
        // Garbage gives an empty error, not a panic.
        assert_eq!(server_error(b"C4").code(), Some(""));
    }

    #[test]
    fn rows_and_descriptions_decode_and_garbage_fails() {
        let mut row = vec![0, 2, 0, 0, 0, 1, b'7', 0xff, 0xff, 0xff, 0xff];
        assert_eq!(data_row(&row).unwrap(), vec![Some("7".to_owned()), None]);
        row.truncate(6);
        assert!(data_row(&row).is_err());
        let mut description = vec![0, 1];
        description.extend_from_slice(b"id\0");
        description.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 23, 0, 4, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            row_description(&description).unwrap(),
            vec![("id".to_owned(), 23)]
        );
        assert!(row_description(&description[..8]).is_err());
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote_identifier("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_literal("o'neil"), "'o''neil'");
    }
}
