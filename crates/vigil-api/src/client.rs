//! The API client the CLI uses: HTTP/1.1 over the Unix socket (hyper), one
//! request per connection, JSON in and out. Errors come back typed, with
//! the server's code and message.

use std::path::{Path, PathBuf};

use vigil_service::op::{Endpoint, Method};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use crate::AS_HEADER;

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answers at the socket.
    #[error("no vigild answers at {}: {source}; start it with `systemctl start vigild` (or name a store you own with --store DIR; a desk logs in with `vigil login`)", path.display())]
    Unreachable {
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Nothing answers at a server's address (a station's desk listener,
    /// the agency centre).
    #[error("nothing answers at {server}: {source}")]
    ServerUnreachable {
        /// `host:port`.
        server: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The daemon answered with an error.
    #[error("{}{message}", if code == "refused" { "refused: " } else { "" })]
    Api {
        /// The stable code.
        code: String,
        /// What and why.
        message: String,
        /// The HTTP status.
        status: u16,
    },
    /// The exchange itself failed.
    #[error("talking to vigild at {}: {what}", path.display())]
    Protocol {
        /// The socket.
        path: PathBuf,
        /// What went wrong.
        what: String,
    },
}

/// A client of the API on one socket.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
    as_user: Option<String>,
    desk: Option<Desk>,
    headers: Vec<(String, String)>,
}

/// A desk's connection to a station over TLS: the server, the certificate
/// fingerprint it must present (pinned), and the session token.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Desk {
    /// `host:port`.
    pub server: String,
    /// The SHA-256 fingerprint of the station's certificate (hex pairs,
    /// colons optional).
    pub fingerprint: String,
    /// The bearer token, once logged in.
    #[serde(default)]
    pub token: Option<String>,
}

/// Accepts exactly the certificate with the pinned SHA-256 (the station's
/// own, self-signed one), checking the handshake signatures with it.
#[derive(Debug)]
struct Pinned {
    sha256: Vec<u8>,
    provider: std::sync::Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use sha2::Digest;
        if sha2::Sha256::digest(end_entity.as_ref()).as_slice() == self.sha256.as_slice() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the station's certificate is not the one pinned at login (its fingerprint differs)".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The bytes of a fingerprint written as hex pairs (colons optional).
pub fn parse_fingerprint(text: &str) -> Option<Vec<u8>> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect()
}

impl Client {
    /// A client of a station's desk listener.
    pub fn desk(desk: Desk) -> Self {
        Self {
            socket: PathBuf::from(&desk.server),
            as_user: None,
            desk: Some(desk),
            headers: Vec::new(),
        }
    }
    /// A client for the socket at `socket`, acting as root's `as_user` when
    /// given (the daemon honours it for root only).
    pub fn new(socket: &Path, as_user: Option<String>) -> Self {
        Self {
            socket: socket.to_owned(),
            as_user,
            desk: None,
            headers: Vec::new(),
        }
    }

    /// One exchange with headers of its own (a station's signed request
    /// to its centre): the status and the body, whatever the status.
    /// The exchange, connecting included, is given up after `timeout`
    /// (a link cut mid-exchange never answers).
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        timeout: std::time::Duration,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let method = hyper::Method::from_bytes(method.as_bytes())
            .map_err(|e| self.protocol(e.to_string()))?;
        let this = Self {
            headers,
            ..self.clone()
        };
        let exchange = async {
            let resp = this.send(method, path, Some(body)).await?;
            let status = resp.status().as_u16();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| this.protocol(e.to_string()))?
                .to_bytes();
            Ok((status, bytes.to_vec()))
        };
        self.block_on(async {
            tokio::time::timeout(timeout, exchange)
                .await
                .unwrap_or_else(|_| {
                    Err(self.protocol(format!(
                        "no answer within {} s (the link is down or the server is stuck)",
                        timeout.as_secs()
                    )))
                })
        })
    }

    /// The socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Calls the declared endpoint `E` with its path argument and input
    /// (a query for a GET, a JSON body for a POST), returning the JSON
    /// document.
    pub fn call<E: Endpoint>(
        &self,
        args: &E::Args,
        input: &E::Input,
    ) -> Result<serde_json::Value, ClientError> {
        let path = E::path(args);
        match E::METHOD {
            Method::Get => self.get_with(&path, input),
            Method::Post => self.post(&path, input),
        }
    }

    /// Calls the streamed endpoint `E` ([`Self::post_stream`]).
    pub fn stream<E: Endpoint>(
        &self,
        args: &E::Args,
        input: &E::Input,
        progress: &mut dyn FnMut(u64, u64, Option<&str>),
    ) -> Result<serde_json::Value, ClientError> {
        self.post_stream(&E::path(args), input, progress)
    }

    /// `GET path?query`, the query from a serialisable value (absent
    /// fields left out), returning the JSON document.
    pub fn get_with(
        &self,
        path: &str,
        query: &impl serde::Serialize,
    ) -> Result<serde_json::Value, ClientError> {
        let q = serde_urlencoded::to_string(query)
            .map_err(|e| self.protocol(format!("cannot encode the query: {e}")))?;
        if q.is_empty() {
            self.get(path)
        } else {
            self.get(&format!("{path}?{q}"))
        }
    }

    /// `GET path?query` for a document that is not JSON (a report in text,
    /// CSV or HTML): its text.
    pub fn get_text_with(
        &self,
        path: &str,
        query: &impl serde::Serialize,
    ) -> Result<String, ClientError> {
        let q = serde_urlencoded::to_string(query)
            .map_err(|e| self.protocol(format!("cannot encode the query: {e}")))?;
        let bytes = self.block_on(async {
            self.open(hyper::Method::GET, &format!("{path}?{q}"), None)
                .await?
                .collect()
                .await
                .map(|b| b.to_bytes())
                .map_err(|e| self.protocol(e.to_string()))
        })?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| self.protocol("the document is not UTF-8".into()))
    }

    /// `GET path` (with its query), returning the JSON document.
    pub fn get(&self, path_and_query: &str) -> Result<serde_json::Value, ClientError> {
        self.request("GET", path_and_query, None)
    }

    /// `POST path` with a JSON body, returning the JSON document.
    pub fn post(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<serde_json::Value, ClientError> {
        let body = self.encode(body)?;
        self.request("POST", path, Some(body))
    }

    /// `POST path` for long work: the daemon streams JSON lines; each
    /// `{"progress": {"done", "total", "file"}}` goes to `progress`, and the
    /// final `{"result": ...}` is returned (`{"error": ...}` as an error).
    pub fn post_stream(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        progress: &mut dyn FnMut(u64, u64, Option<&str>),
    ) -> Result<serde_json::Value, ClientError> {
        let body = self.encode(body)?;
        self.block_on(async {
            let mut body = self.open(hyper::Method::POST, path, Some(body)).await?;
            let mut pending: Vec<u8> = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| self.protocol(e.to_string()))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                pending.extend_from_slice(&data);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let doc: serde_json::Value = serde_json::from_slice(&line)
                        .map_err(|e| self.protocol(format!("a progress line is not JSON ({e})")))?;
                    if let Some(p) = doc.get("progress") {
                        progress(
                            p["done"].as_u64().unwrap_or(0),
                            p["total"].as_u64().unwrap_or(0),
                            p["file"].as_str(),
                        );
                    } else if let Some(result) = doc.get("result") {
                        return Ok(result.clone());
                    } else if let Some(e) = doc.get("error") {
                        return Err(ClientError::Api {
                            code: e["code"].as_str().unwrap_or("store").to_owned(),
                            message: e["message"].as_str().unwrap_or("(no message)").to_owned(),
                            status: 200,
                        });
                    }
                }
            }
            Err(self.protocol("the daemon ended the stream without a result".into()))
        })
    }

    /// `POST path` for a download (an export's tar stream): the body is
    /// copied into `out` as it arrives; an error status is returned typed.
    pub fn post_download(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        out: &mut dyn std::io::Write,
    ) -> Result<(), ClientError> {
        let body = self.encode(body)?;
        self.block_on(async {
            let mut body = self.open(hyper::Method::POST, path, Some(body)).await?;
            while let Some(frame) = body.frame().await {
                let frame =
                    frame.map_err(|e| self.protocol(format!("the download broke off ({e}); vigild stopped it, and its log says why (`journalctl -u vigild`)")))?;
                if let Ok(data) = frame.into_data() {
                    out.write_all(&data)
                        .map_err(|e| self.protocol(format!("writing the download: {e}")))?;
                }
            }
            Ok(())
        })
    }

    fn request(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<serde_json::Value, ClientError> {
        self.block_on(self.call_async(method, path_and_query, body))
    }

    async fn call_async(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<serde_json::Value, ClientError> {
        let method = hyper::Method::from_bytes(method.as_bytes())
            .map_err(|e| self.protocol(e.to_string()))?;
        let body = self
            .open(method, path_and_query, body)
            .await?
            .collect()
            .await
            .map_err(|e| self.protocol(e.to_string()))?
            .to_bytes();
        serde_json::from_slice(&body)
            .map_err(|e| self.protocol(format!("the answer is not JSON ({e})")))
    }

    fn encode(&self, body: &impl serde::Serialize) -> Result<Vec<u8>, ClientError> {
        serde_json::to_vec(body)
            .map_err(|e| self.protocol(format!("cannot encode the request: {e}")))
    }

    /// Runs one exchange on a runtime of its own (the CLI is synchronous).
    fn block_on<T>(
        &self,
        exchange: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| self.protocol(format!("cannot start a runtime: {e}")))?
            .block_on(exchange)
    }

    /// Sends a request; an error status comes back as the API's typed
    /// error, anything else as the body to read.
    async fn open(
        &self,
        method: hyper::Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<hyper::body::Incoming, ClientError> {
        let resp = self.send(method, path_and_query, body).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body();
        if status >= 400 {
            let bytes = body
                .collect()
                .await
                .map_err(|e| self.protocol(e.to_string()))?
                .to_bytes();
            return Err(self.api_error(status, &bytes));
        }
        Ok(body)
    }

    async fn send(
        &self,
        method: hyper::Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, ClientError> {
        match &self.desk {
            None => {
                let stream = UnixStream::connect(&self.socket).await.map_err(|source| {
                    ClientError::Unreachable {
                        path: self.socket.clone(),
                        source,
                    }
                })?;
                self.exchange(stream, method, path_and_query, body).await
            }
            Some(desk) => {
                let stream = self.connect_tls(desk).await?;
                self.exchange(stream, method, path_and_query, body).await
            }
        }
    }

    async fn connect_tls(
        &self,
        desk: &Desk,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, ClientError> {
        let sha256 = parse_fingerprint(&desk.fingerprint).ok_or_else(|| {
            self.protocol(format!(
                "{:?} is not a SHA-256 fingerprint (64 hex digits, colons allowed)",
                desk.fingerprint
            ))
        })?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| self.protocol(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(Pinned { sha256, provider }))
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(&desk.server)
            .await
            .map_err(|source| ClientError::ServerUnreachable {
                server: desk.server.clone(),
                source,
            })?;
        let host = desk
            .server
            .rsplit_once(':')
            .map_or(desk.server.as_str(), |(h, _)| h)
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned();
        let name = rustls::pki_types::ServerName::try_from(host)
            .map_err(|e| self.protocol(format!("server name: {e}")))?;
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| self.protocol(format!("TLS: {e}")))
    }

    async fn exchange<S>(
        &self,
        stream: S,
        method: hyper::Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, ClientError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.protocol(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", "vigild")
            .header("accept", "application/json");
        if let Some(u) = &self.as_user {
            req = req.header(AS_HEADER, u);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        if let Some(token) = self.desk.as_ref().and_then(|d| d.token.as_ref()) {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| self.protocol(e.to_string()))?;
        sender
            .send_request(req)
            .await
            .map_err(|e| self.protocol(e.to_string()))
    }

    fn api_error(&self, status: u16, body: &[u8]) -> ClientError {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(doc) => ClientError::Api {
                code: doc["code"].as_str().unwrap_or("store").to_owned(),
                message: doc["message"].as_str().unwrap_or("(no message)").to_owned(),
                status,
            },
            Err(_) => self.protocol(format!("HTTP {status} without a JSON error")),
        }
    }

    fn protocol(&self, what: String) -> ClientError {
        ClientError::Protocol {
            path: self.socket.clone(),
            what,
        }
    }
}
