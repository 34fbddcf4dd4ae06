//! The desk listener: the same API over TCP with TLS (rustls, ring). The
//! certificate and key come from the config; on first start without them a
//! self-signed pair is made (rcgen) and its SHA-256 fingerprint logged, so
//! a desk can pin it. Callers there are who their session token says
//! (`POST /api/v1/login`), never a uid.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info;
use axum::serve::IncomingStream;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::context::{ApiState, TlsPeer};
use crate::server::router;

/// What can go wrong setting the listener up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What.
        what: &'static str,
        /// Which file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The certificate or key is not usable.
    #[error("{0}")]
    Bad(String),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> TlsError + 'a {
    move |source| TlsError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Makes a self-signed certificate for `names` at `cert` (0644) and its
/// key at `key` (0600) unless both exist. Returns whether it made them.
pub fn ensure_self_signed(cert: &Path, key: &Path, names: &[String]) -> Result<bool, TlsError> {
    if cert.exists() && key.exists() {
        return Ok(false);
    }
    let made = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| TlsError::Bad(format!("making a self-signed certificate: {e}")))?;
    for (path, text, mode) in [
        (cert, made.cert.pem(), 0o644),
        (key, made.key_pair.serialize_pem(), 0o600),
    ] {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("creating the directory of", path))?;
        }
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .map_err(io("writing", path))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io("writing", path))?;
    }
    Ok(true)
}

fn certs(cert: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(cert).map_err(io("reading", cert))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(io("parsing", cert))?;
    if certs.is_empty() {
        return Err(TlsError::Bad(format!(
            "{}: no certificate in it",
            cert.display()
        )));
    }
    Ok(certs)
}

/// The SHA-256 fingerprint of the (first) certificate in `cert`, as hex
/// pairs separated by colons (what `openssl x509 -fingerprint -sha256` shows).
pub fn fingerprint(cert: &Path) -> Result<String, TlsError> {
    let der = certs(cert)?.remove(0);
    let digest = Sha256::digest(der.as_ref());
    Ok(digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// A rustls server configuration from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, TlsError> {
    let chain = certs(cert)?;
    let pem = std::fs::read(key).map_err(io("reading", key))?;
    let key_der = rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(io("parsing", key))?
        .ok_or_else(|| TlsError::Bad(format!("{}: no private key in it", key.display())))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Bad(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| TlsError::Bad(format!("{} and {}: {e}", cert.display(), key.display())))
}

/// TCP connections that have completed a TLS handshake. Every connection
/// is accepted at once and handshakes run side by side, each within
/// [`HANDSHAKE_TIMEOUT`], so clients that connect and say nothing never
/// keep a new desk out. Past [`HANDSHAKES_PER_SOURCE`] pending from one
/// address, a new connection takes the place of that address's oldest
/// handshake stalled for [`STALLED`]; past [`MAX_HANDSHAKES`] in all, of
/// the oldest.
pub struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// How long a client may take over its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Handshakes pending at once from one source address.
pub const HANDSHAKES_PER_SOURCE: usize = 32;
/// Handshakes pending at once in all.
pub const MAX_HANDSHAKES: usize = 512;

/// A pending handshake gives way to a newer one of its source only when it
/// has taken at least this long: a burst of real clients finishes well
/// inside it, a silent connection never does.
pub const STALLED: Duration = Duration::from_secs(1);

/// The handshakes pending now, oldest first: (number, source, since, its
/// task).
type Pending = std::collections::VecDeque<(
    u64,
    std::net::IpAddr,
    tokio::time::Instant,
    tokio::task::AbortHandle,
)>;

/// The pending handshakes, locked (never across an await).
fn lock(p: &std::sync::Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    p.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Accepts TCP connections and hands each to its own handshake task.
async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: tokio::sync::mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let pending = Arc::new(std::sync::Mutex::new(Pending::new()));
    let mut next: u64 = 0;
    loop {
        let (conn, addr) = tokio::select! {
            r = tcp.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a desk connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = ready.closed() => return,
        };
        // Pages are written in a few TLS records: without this, Nagle's
        // algorithm holds the last one for the client's delayed ACK (40 ms).
        let _ = conn.set_nodelay(true);
        next += 1;
        let number = next;
        let (acceptor, ready_tx, done) = (acceptor.clone(), ready.clone(), pending.clone());
        // Held while the task is spawned and listed, so that a task that
        // ends at once finds itself listed.
        let mut p = lock(&pending);
        let task = tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(conn)).await {
                Ok(Ok(tls)) => {
                    lock(&done).retain(|(n, ..)| *n != number);
                    let _ = ready_tx.send((tls, addr)).await;
                    return;
                }
                Ok(Err(e)) => tracing::info!(%addr, error = %e, "TLS handshake refused"),
                Err(_) => tracing::info!(%addr, "TLS handshake timed out"),
            }
            lock(&done).retain(|(n, ..)| *n != number);
        });
        let now = tokio::time::Instant::now();
        p.push_back((number, addr.ip(), now, task.abort_handle()));
        // Past a source's limit, its oldest stalled handshake gives way.
        if p.iter().filter(|(_, ip, ..)| *ip == addr.ip()).count() > HANDSHAKES_PER_SOURCE {
            let stalled = p
                .iter()
                .position(|(_, ip, since, _)| *ip == addr.ip() && now - *since >= STALLED);
            if let Some((_, ip, _, oldest)) = stalled.and_then(|i| p.remove(i)) {
                oldest.abort();
                tracing::info!(%ip, "a stalled TLS handshake was dropped for a newer one");
            }
        }
        if p.len() > MAX_HANDSHAKES {
            if let Some((_, ip, _, oldest)) = p.pop_front() {
                oldest.abort();
                tracing::info!(%ip, "a pending TLS handshake was dropped for a newer one");
            }
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

impl connect_info::Connected<IncomingStream<'_, TlsListener>> for TlsPeer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Self {
            addr: *stream.remote_addr(),
        }
    }
}

/// Binds `addr`; returns the listener and the address it got (port 0 picks
/// a free one).
pub async fn bind(
    addr: &str,
    config: rustls::ServerConfig,
) -> std::io::Result<(TlsListener, SocketAddr)> {
    let tcp = TcpListener::bind(addr).await?;
    let local = tcp.local_addr()?;
    let (tx, ready) = tokio::sync::mpsc::channel(64);
    tokio::spawn(accept_loop(tcp, TlsAcceptor::from(Arc::new(config)), tx));
    Ok((TlsListener { ready, local }, local))
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TlsListener,
    state: ApiState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<TlsPeer>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
