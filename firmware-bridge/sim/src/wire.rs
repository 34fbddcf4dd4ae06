//! The simulator's host link, one of two wires:
//!
//! - a pseudo-terminal whose slave the host opens through a symlink at
//!   `--link`. Cutting the link closes the pty and makes a new one at the
//!   same symlink, as unplugging and replugging a USB dock makes a new
//!   /dev/ttyACM device;
//! - a Unix socket at `--listen`, where a virtual machine's USB serial
//!   adapter connects (QEMU `usb-serial` with a socket chardev): the guest
//!   sees a real /dev/ttyUSB device. One connection at a time; cutting the
//!   link closes it and the next connection is the next host session;
//! - the same socket speaking usbredir (`--usbredir`): a virtual machine's
//!   `usb-redir` device connects and its guest sees the dock as a USB
//!   device with bulk endpoints ([`crate::usbredir`]).

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use vigil_dock_core::{HostLink, LinkDown};

use crate::usbredir::Redir;

/// Where the host's bytes come from.
enum End {
    /// A pty: `link` points at its slave, held open here so the master
    /// never sees a hang-up between host sessions.
    Pty { link: PathBuf, _slave: OwnedFd },
    /// A listening Unix socket; `fd` is the connection, when there is one.
    Listen { listener: UnixListener },
    /// The same, each connection speaking usbredir as the dock's USB
    /// device with serial number `serial`.
    Redir {
        listener: UnixListener,
        serial: String,
    },
}

/// The dock's end of the host link.
pub struct Wire {
    end: End,
    /// What is read and written: the pty master, or the socket connection
    /// (`None` while no host is connected).
    fd: Option<OwnedFd>,
    /// The usbredir state of the connection, on a usbredir wire.
    redir: Option<Redir>,
    /// The device path or socket the host reaches.
    pub name: String,
    /// Bytes sent to the host so far.
    pub sent: u64,
    /// Cut the link once `sent` passes this.
    pub cut_after: Option<u64>,
    /// Lose the first frame sent once `sent` passes this (line noise: the
    /// host sees nothing of it and times out).
    pub drop_after: Option<u64>,
}

impl Wire {
    /// Opens a pty and points `link` at its slave.
    pub fn pty(link: &Path) -> Result<Self> {
        let master =
            rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).context("openpt")?;
        rustix::pty::grantpt(&master).context("grantpt")?;
        rustix::pty::unlockpt(&master).context("unlockpt")?;
        let name = rustix::pty::ptsname(&master, Vec::new()).context("ptsname")?;
        let name = name.to_string_lossy().into_owned();
        let slave = rustix::fs::open(&name, OFlags::RDWR | OFlags::NOCTTY, Mode::empty())
            .with_context(|| format!("opening {name}"))?;
        // Raw mode: every byte passes untouched, nothing is echoed.
        let mut t = rustix::termios::tcgetattr(&slave).context("tcgetattr")?;
        t.make_raw();
        rustix::termios::tcsetattr(&slave, rustix::termios::OptionalActions::Now, &t)
            .context("tcsetattr")?;
        let flags = rustix::fs::fcntl_getfl(&master)?;
        rustix::fs::fcntl_setfl(&master, flags | OFlags::NONBLOCK)?;
        // Atomically replace the symlink.
        let tmp = link.with_extension("new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&name, &tmp)
            .with_context(|| format!("symlink {}", tmp.display()))?;
        std::fs::rename(&tmp, link).with_context(|| format!("renaming onto {}", link.display()))?;
        Ok(Self {
            end: End::Pty {
                link: link.to_owned(),
                _slave: slave,
            },
            fd: Some(master),
            redir: None,
            name,
            sent: 0,
            cut_after: None,
            drop_after: None,
        })
    }

    /// Listens on the Unix socket `path` for the host's connection.
    pub fn listen(path: &Path) -> Result<Self> {
        let _ = std::fs::remove_file(path);
        let listener =
            UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            end: End::Listen { listener },
            fd: None,
            redir: None,
            name: path.display().to_string(),
            sent: 0,
            cut_after: None,
            drop_after: None,
        })
    }

    /// Listens on the Unix socket `path` for a virtual machine's usbredir
    /// connection, presenting the dock as USB device `serial`.
    pub fn usbredir(path: &Path, serial: &str) -> Result<Self> {
        let mut w = Self::listen(path)?;
        let End::Listen { listener } = w.end else {
            unreachable!("listen makes a listening end")
        };
        w.end = End::Redir {
            listener,
            serial: serial.to_owned(),
        };
        Ok(w)
    }

    /// Cuts the link: a new pty replaces this one at its symlink, or the
    /// socket connection is closed and the next one awaited.
    pub fn reopen(&mut self) -> Result<()> {
        match &self.end {
            End::Pty { link, .. } => {
                let link = link.clone();
                let fresh = Self::pty(&link)?;
                self.end = fresh.end;
                self.fd = fresh.fd;
                self.name = fresh.name;
                tracing::info!(device = %self.name, "link re-established on a new pty");
            }
            End::Listen { .. } | End::Redir { .. } => {
                self.fd = None;
                self.redir = None;
                tracing::info!(socket = %self.name, "link closed; waiting for the next connection");
            }
        }
        self.cut_after = None;
        Ok(())
    }

    /// Whether a scheduled cut is due.
    pub fn cut_due(&self) -> bool {
        self.cut_after.is_some_and(|n| self.sent >= n)
    }

    /// Waits until the host sent something (or the timeout passes). On a
    /// socket with no host connected, takes the next connection instead.
    pub fn wait_readable(&mut self, timeout: Duration) -> Result<bool> {
        let ts = Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let Some(fd) = &self.fd else {
            let (End::Listen { listener } | End::Redir { listener, .. }) = &self.end else {
                unreachable!("a pty always has its master")
            };
            let mut fds = [PollFd::new(listener, PollFlags::IN)];
            match poll(&mut fds, Some(&ts)) {
                Ok(n) if n > 0 => {}
                Ok(_) | Err(rustix::io::Errno::INTR) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
            match listener.accept() {
                Ok((conn, _)) => {
                    conn.set_nonblocking(true)?;
                    tracing::info!(socket = %self.name, "host connected");
                    self.fd = Some(conn.into());
                    if let End::Redir { serial, .. } = &self.end {
                        self.redir = Some(Redir::new(serial));
                        if let Err(e) = self.flush_redir() {
                            // A peer gone before our hello: the next one.
                            tracing::warn!(error = %e, "dropping the usbredir connection");
                            self.fd = None;
                            self.redir = None;
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e).context("accepting the host's connection"),
            }
            return Ok(false);
        };
        if self.redir.as_ref().is_some_and(|r| !r.rx.is_empty()) {
            return Ok(true);
        }
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        let ready = match poll(&mut fds, Some(&ts)) {
            Ok(n) => n > 0,
            Err(rustix::io::Errno::INTR) => false,
            Err(e) => return Err(e.into()),
        };
        if ready && self.redir.is_some() {
            // The peer's packets: take them in now; the dock has something
            // to read only when bulk OUT data came.
            if self.pump_redir().is_err() {
                return Ok(true); // the next read reports the link down
            }
            return Ok(self.redir.as_ref().is_some_and(|r| !r.rx.is_empty()));
        }
        Ok(ready)
    }

    /// Reads what the usbredir peer sent, answers it, sends what is due.
    fn pump_redir(&mut self) -> Result<(), LinkDown> {
        let Some(fd) = &self.fd else {
            return Ok(()); // nobody connected: nothing to pump
        };
        let Some(redir) = &mut self.redir else {
            return Err(LinkDown);
        };
        let mut buf = [0u8; 64 * 1024];
        loop {
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => {
                    self.redir = None;
                    return Err(LinkDown);
                }
                Ok(n) => {
                    if let Err(e) = redir.feed(&buf[..n]) {
                        tracing::warn!(error = %e, "dropping the usbredir connection");
                        self.redir = None;
                        return Err(LinkDown);
                    }
                }
                Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => break,
                Err(_) => {
                    self.redir = None;
                    return Err(LinkDown);
                }
            }
        }
        self.flush_redir().map_err(|_| LinkDown)
    }

    /// Sends what the usbredir state has queued for the peer.
    fn flush_redir(&mut self) -> Result<()> {
        let (Some(fd), Some(redir)) = (&self.fd, &mut self.redir) else {
            return Ok(());
        };
        let out = std::mem::take(&mut redir.out);
        let mut rest = &out[..];
        let mut stalled = 0;
        while !rest.is_empty() {
            match rustix::io::write(fd, rest) {
                Ok(n) => rest = &rest[n..],
                Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {
                    stalled += 1;
                    anyhow::ensure!(stalled <= 50, "the usbredir peer reads nothing");
                    let mut fds = [PollFd::new(fd, PollFlags::OUT)];
                    let ts = Timespec {
                        tv_sec: 0,
                        tv_nsec: 100_000_000,
                    };
                    let _ = poll(&mut fds, Some(&ts));
                }
                Err(e) => return Err(e).context("writing to the usbredir peer"),
            }
        }
        Ok(())
    }

    fn is_socket(&self) -> bool {
        matches!(self.end, End::Listen { .. } | End::Redir { .. })
    }
}

impl HostLink for Wire {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        let Some(fd) = &self.fd else {
            return Ok(0); // no host connected
        };
        if let End::Redir { .. } = self.end {
            // A connection whose usbredir state is gone was lost (end of
            // file, an error, a peer speaking nonsense).
            if self.redir.as_ref().is_none_or(|r| r.rx.is_empty()) {
                self.pump_redir()?;
            }
            let Some(redir) = &mut self.redir else {
                return Err(LinkDown);
            };
            let n = buf.len().min(redir.rx.len());
            for (b, byte) in buf.iter_mut().zip(redir.rx.drain(..n)) {
                *b = byte;
            }
            return Ok(n);
        }
        let want = buf.len();
        match rustix::io::read(fd, buf) {
            // End of file: the host closed its end of the socket.
            Ok(0) if self.is_socket() && want > 0 => Err(LinkDown),
            Ok(n) => Ok(n),
            Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => Ok(0),
            // EIO: the slave side hung up; with our own slave fd held open
            // this does not happen, but treat it as a lost link.
            Err(_) => Err(LinkDown),
        }
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), LinkDown> {
        if self.cut_due() || self.fd.is_none() {
            return Ok(()); // the wire is cut, or nobody is connected: bytes go nowhere
        }
        if let End::Redir { .. } = self.end {
            let Some(redir) = &mut self.redir else {
                return Err(LinkDown); // the connection was lost
            };
            // Answers to the host's bulk IN requests, as they come.
            redir.write(bytes);
            self.sent += bytes.len() as u64;
            return self.flush_redir().map_err(|_| LinkDown);
        }
        if self.drop_after.is_some_and(|n| self.sent >= n) {
            // The core writes one whole frame per call.
            self.drop_after = None;
            tracing::warn!(
                bytes = bytes.len(),
                "lost a frame on the wire (simulated noise)"
            );
            return Ok(());
        }
        let mut stalled = 0;
        while !bytes.is_empty() {
            let fd = self.fd.as_ref().expect("checked above").as_fd();
            match rustix::io::write(fd, bytes) {
                Ok(n) => {
                    bytes = &bytes[n..];
                    self.sent += n as u64;
                    if self.cut_due() {
                        return Ok(());
                    }
                }
                Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {
                    // Nobody reads: after 5 s the host is gone.
                    stalled += 1;
                    if stalled > 50 {
                        return Err(LinkDown);
                    }
                    let mut fds = [PollFd::new(&fd, PollFlags::OUT)];
                    let ts = Timespec {
                        tv_sec: 0,
                        tv_nsec: 100_000_000,
                    };
                    let _ = poll(&mut fds, Some(&ts));
                }
                Err(_) => return Err(LinkDown),
            }
        }
        Ok(())
    }
}
