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
    use tokio::io::AsyncWriteExt;

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

    /// A stand-in server speaking just enough of the protocol to check
    /// what the client sends during authentication and a query.
    mod fake_server {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        use ring::{hmac, pbkdf2};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpListener, TcpStream};

        pub const PASSWORD: &str = "s3cret";
        const SALT: &[u8] = b"0123456789abcdef";

        pub async fn listen() -> (TcpListener, String) {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let url = format!("postgres://dept:{PASSWORD}@127.0.0.1:{port}/registry");
            (listener, url)
        }

        pub async fn send(stream: &mut TcpStream, kind: u8, body: &[u8]) {
            let mut frame = vec![kind];
            frame.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
            frame.extend_from_slice(body);
            stream.write_all(&frame).await.unwrap();
        }

        pub async fn auth(stream: &mut TcpStream, code: i32, data: &[u8]) {
            let mut body = code.to_be_bytes().to_vec();
            body.extend_from_slice(data);
            send(stream, b'R', &body).await;
        }

        /// The startup packet's parameters.
        pub async fn startup(stream: &mut TcpStream) -> Vec<String> {
            let length = stream.read_i32().await.unwrap() as usize;
            let mut body = vec![0; length - 4];
            stream.read_exact(&mut body).await.unwrap();
            assert_eq!(&body[..4], &196_608i32.to_be_bytes());
            body[4..]
                .split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8(part.to_vec()).unwrap())
                .collect()
        }

        pub async fn receive(stream: &mut TcpStream) -> (u8, Vec<u8>) {
            let kind = stream.read_u8().await.unwrap();
            let length = stream.read_i32().await.unwrap() as usize;
            let mut body = vec![0; length - 4];
            stream.read_exact(&mut body).await.unwrap();
            (kind, body)
        }

        pub async fn ready(stream: &mut TcpStream) {
            auth(stream, 0, &[]).await;
            send(stream, b'S', b"server_version\x0015.4\x00").await;
            send(stream, b'K', &[0, 0, 0, 42, 0, 0, 0, 1]).await;
            send(stream, b'Z', b"I").await;
        }

        /// Runs SCRAM-SHA-256 as a server knowing `password`; returns
        /// whether the client proved it.
        pub async fn scram(stream: &mut TcpStream, password: &str) -> bool {
            auth(stream, 10, b"SCRAM-SHA-256\x00\x00").await;
            let (kind, body) = receive(stream).await;
            assert_eq!(kind, b'p');
            let mechanism_end = body.iter().position(|b| *b == 0).unwrap();
            assert_eq!(&body[..mechanism_end], b"SCRAM-SHA-256");
            let first = String::from_utf8(body[mechanism_end + 5..].to_vec()).unwrap();
            let bare = first.strip_prefix("n,,").unwrap().to_owned();
            let client_nonce = bare.split_once("r=").unwrap().1.to_owned();
            let nonce = format!("{client_nonce}server");
            let server_first = format!("r={nonce},s={},i=4096", STANDARD.encode(SALT));
            auth(stream, 11, server_first.as_bytes()).await;
            let (kind, body) = receive(stream).await;
            assert_eq!(kind, b'p');
            let client_final = String::from_utf8(body).unwrap();
            let (without_proof, proof) = client_final.split_once(",p=").unwrap();
            assert_eq!(without_proof, format!("c=biws,r={nonce}"));
            let auth_message = format!("{bare},{server_first},{without_proof}");

            let mut salted = [0u8; 32];
            pbkdf2::derive(
                pbkdf2::PBKDF2_HMAC_SHA256,
                std::num::NonZeroU32::new(4096).unwrap(),
                SALT,
                password.as_bytes(),
                &mut salted,
            );
            let salted = hmac::Key::new(hmac::HMAC_SHA256, &salted);
            let client_key = hmac::sign(&salted, b"Client Key");
            let stored_key = ring::digest::digest(&ring::digest::SHA256, client_key.as_ref());
            let signature = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, stored_key.as_ref()),
                auth_message.as_bytes(),
            );
            let proof = STANDARD.decode(proof).unwrap();
            let recovered: Vec<u8> = proof
                .iter()
                .zip(signature.as_ref())
                .map(|(p, s)| p ^ s)
                .collect();
            let proven = ring::digest::digest(&ring::digest::SHA256, &recovered).as_ref()
                == stored_key.as_ref();
            if !proven {
                return false;
            }
            let server_key = hmac::sign(&salted, b"Server Key");
            let server_signature = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, server_key.as_ref()),
                auth_message.as_bytes(),
            );
            let server_final = format!("v={}", STANDARD.encode(server_signature));
            auth(stream, 12, server_final.as_bytes()).await;
            true
        }
    }

    #[tokio::test]
    async fn authenticates_with_scram_and_runs_a_query() {
        let (listener, url) = fake_server::listen().await;
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let parameters = fake_server::startup(&mut stream).await;
            assert!(
                parameters
                    .windows(2)
                    .any(|p| p == ["replication", "database"])
            );
            assert!(parameters.windows(2).any(|p| p == ["user", "dept"]));
            assert!(parameters.windows(2).any(|p| p == ["TimeZone", "UTC"]));
            assert!(fake_server::scram(&mut stream, fake_server::PASSWORD).await);
            fake_server::ready(&mut stream).await;
            let (kind, body) = fake_server::receive(&mut stream).await;
            assert_eq!((kind, body.as_slice()), (b'Q', &b"SELECT 1\x00"[..]));
            let mut description = vec![0, 1];
            description.extend_from_slice(b"n\x00");
            description.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4]);
            description.extend_from_slice(&[255, 255, 255, 255, 0, 0]);
            fake_server::send(&mut stream, b'T', &description).await;
            fake_server::send(&mut stream, b'D', &[0, 1, 0, 0, 0, 1, b'1']).await;
            fake_server::send(&mut stream, b'C', b"SELECT 1\x00").await;
            fake_server::send(&mut stream, b'Z', b"I").await;
        });
        let mut connection = Connection::connect(&url, true).await.unwrap();
        assert_eq!(connection.backend_pid(), 42);
        assert_eq!(connection.parameter("server_version"), Some("15.4"));
        let results = connection.simple_query("SELECT 1").await.unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].columns, [("n".to_owned(), 23)]);
        assert_eq!(results[0].rows, [[Some("1".to_owned())]]);
        assert_eq!(results[0].command, "SELECT 1");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_refused_password_is_permanent() {
        let (listener, url) = fake_server::listen().await;
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            fake_server::startup(&mut stream).await;
            assert!(!fake_server::scram(&mut stream, "another password").await);
            fake_server::send(
                &mut stream,
                b'E',
                b"SFATAL\x00C28P01\x00Mpassword authentication failed for user \"dept\"\x00\x00",
            )
            .await;
        });
        let error = Connection::connect(&url, false).await.err().unwrap();
        assert!(error.is_permanent(), "{error}");
        assert_eq!(error.code(), Some("28P01"));
        server.await.unwrap();
    }

    #[tokio::test]
    async fn md5_is_refused_and_cleartext_sends_the_password() {
        let (listener, url) = fake_server::listen().await;
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            fake_server::startup(&mut stream).await;
            fake_server::auth(&mut stream, 5, b"salt").await;
            let (mut stream, _) = listener.accept().await.unwrap();
            fake_server::startup(&mut stream).await;
            fake_server::auth(&mut stream, 3, &[]).await;
            let (kind, body) = fake_server::receive(&mut stream).await;
            assert_eq!((kind, body.as_slice()), (b'p', &b"s3cret\x00"[..]));
            fake_server::ready(&mut stream).await;
        });
        let error = Connection::connect(&url, false).await.err().unwrap();
        assert!(error.is_permanent());
        assert_eq!(
            error.to_string(),
            "md5 password authentication is not supported; use scram-sha-256"
        );
        Connection::connect(&url, false).await.unwrap();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn garbage_and_oversized_frames_are_errors() {
        let (listener, url) = fake_server::listen().await;
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            fake_server::startup(&mut stream).await;
            // A 2 GiB frame announced by a hostile or broken peer.
            stream
                .write_all(&[b'R', 0x7f, 0xff, 0xff, 0xff])
                .await
                .unwrap();
            let (mut stream, _) = listener.accept().await.unwrap();
            fake_server::startup(&mut stream).await;
            stream.write_all(b"\x01\x02").await.unwrap();
        });
        let error = Connection::connect(&url, false).await.err().unwrap();
        assert!(matches!(error, WireError::Protocol(_)), "{error}");
        let error = Connection::connect(&url, false).await.err().unwrap();
        assert!(!error.is_permanent(), "{error}");
        server.await.unwrap();
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote_identifier("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_literal("o'neil"), "'o''neil'");
    }
}
