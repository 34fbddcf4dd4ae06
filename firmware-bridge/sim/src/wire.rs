//! The simulator's host link: a pseudo-terminal whose slave the host opens
//! through a symlink at `--link`. Cutting the link closes the pty and makes
//! a new one at the same symlink, as unplugging and replugging a USB dock
//! makes a new /dev/ttyACM device.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use vigil_dock_core::{HostLink, LinkDown};

/// An open pseudo-terminal pair.
pub struct Pty {
    master: OwnedFd,
    /// Held open so the master never sees a hang-up between host sessions.
    _slave: OwnedFd,
    /// The slave's device path.
    pub name: String,
    /// Bytes sent to the host so far.
    pub sent: u64,
    /// Cut the link once `sent` passes this.
    pub cut_after: Option<u64>,
    /// Lose the first frame sent once `sent` passes this (line noise: the
    /// host sees nothing of it and times out).
    pub drop_after: Option<u64>,
}

impl Pty {
    /// Opens a pty and points `link` at its slave.
    pub fn open(link: &Path) -> Result<Self> {
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
            master,
            _slave: slave,
            name,
            sent: 0,
            cut_after: None,
            drop_after: None,
        })
    }

    /// Cuts the link: a new pty replaces this one at `link`.
    pub fn reopen(&mut self, link: &Path) -> Result<()> {
        let mut fresh = Self::open(link)?;
        fresh.sent = self.sent;
        fresh.cut_after = None;
        *self = fresh;
        tracing::info!(device = %self.name, "link re-established on a new pty");
        Ok(())
    }

    /// Whether a scheduled cut is due.
    pub fn cut_due(&self) -> bool {
        self.cut_after.is_some_and(|n| self.sent >= n)
    }

    /// Waits until the host sent something (or the timeout passes).
    pub fn wait_readable(&self, timeout: Duration) -> Result<bool> {
        let mut fds = [PollFd::new(&self.master, PollFlags::IN)];
        let ts = Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        match poll(&mut fds, Some(&ts)) {
            Ok(n) => Ok(n > 0),
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

impl HostLink for Pty {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        match rustix::io::read(&self.master, buf) {
            Ok(n) => Ok(n),
            Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => Ok(0),
            // EIO: the slave side hung up; with our own slave fd held open
            // this does not happen, but treat it as a lost link.
            Err(_) => Err(LinkDown),
        }
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), LinkDown> {
        if self.cut_due() {
            return Ok(()); // the wire is cut: bytes go nowhere
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
            match rustix::io::write(&self.master, bytes) {
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
                    let mut fds = [PollFd::new(&self.master, PollFlags::OUT)];
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
