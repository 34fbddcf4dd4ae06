//! Byte transports to a dock. A dock appears either as a CDC-ACM serial
//! device (`/dev/ttyACM*`, or the simulator's pty) or as a vendor USB
//! interface with bulk endpoints.

use std::io::{self, Read, Write};
use std::time::Duration;

use rusb::UsbContext;

use crate::DockError;

/// A bidirectional byte pipe with a read timeout (a read that times out
/// returns `ErrorKind::TimedOut` or `WouldBlock`).
pub trait Link: Read + Write + Send {}
impl<T: Read + Write + Send> Link for T {}

/// How long one read may block before the client checks its deadline.
pub const POLL: Duration = Duration::from_millis(50);

/// How long an open waits for a port or USB interface held elsewhere:
/// vigild's dock worker tries a dock it cannot yet authenticate with every
/// few seconds, and `vigil dock enroll` (served by the same vigild, or a
/// process of its own) must get the link between two tries.
pub const BUSY_WAIT: Duration = Duration::from_secs(6);

/// Runs `open` until it succeeds, fails otherwise than `busy`, or
/// [`BUSY_WAIT`] has passed.
fn until_free<T, E>(
    mut open: impl FnMut() -> Result<T, E>,
    busy: impl Fn(&E) -> bool,
) -> Result<T, E> {
    let start = std::time::Instant::now();
    loop {
        match open() {
            Err(e) if busy(&e) && start.elapsed() < BUSY_WAIT => std::thread::sleep(POLL),
            done => return done,
        }
    }
}

/// Opens a serial device (CDC-ACM or pty) in raw mode, flushing anything
/// left in its input buffer. A port held by another process (an exclusive
/// `flock`) is tried again for up to [`BUSY_WAIT`].
pub fn open_serial(path: &str) -> Result<Box<dyn Link>, DockError> {
    let port = until_free(
        || serialport::new(path, 921_600).timeout(POLL).open_native(),
        |e| e.description.contains("exclusive lock"),
    )
    .map_err(|e| DockError::Link {
        path: path.to_owned(),
        what: format!("cannot open: {e}"),
    })?;
    let _ = serialport::SerialPort::clear(&port, serialport::ClearBuffer::All);
    Ok(Box::new(port))
}

/// USB vendor and product ids of docks this build recognises (extend in
/// `udev/` and here together).
pub const USB_IDS: &[(u16, u16)] = &[(0x1209, 0x7d01)];

/// A dock's vendor-specific USB interface: bulk OUT and bulk IN endpoints.
/// Thin glue over `rusb`; everything above it is tested over serial.
pub struct UsbLink {
    handle: rusb::DeviceHandle<rusb::Context>,
    ep_in: u8,
    ep_out: u8,
    pending: Vec<u8>,
}

impl std::fmt::Debug for UsbLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsbLink")
            .field("ep_in", &self.ep_in)
            .field("ep_out", &self.ep_out)
            .finish()
    }
}

impl UsbLink {
    /// Opens the first dock found by vendor/product id: claims the first
    /// interface that has a bulk IN and a bulk OUT endpoint. An interface
    /// claimed elsewhere is tried again for up to [`BUSY_WAIT`].
    pub fn open_first() -> Result<Self, DockError> {
        until_free(Self::try_open_first, |e| e.1 == Some(rusb::Error::Busy)).map_err(|e| e.0)
    }

    /// One try; the error carries libusb's own when the claim failed.
    fn try_open_first() -> Result<Self, (DockError, Option<rusb::Error>)> {
        let link = |what: String| DockError::Link {
            path: "usb".into(),
            what,
        };
        let err = |what: String| (link(what), None);
        let devices = usb()
            .map_err(|e| (e, None))?
            .devices()
            .map_err(|e| err(format!("cannot list USB devices: {e}")))?;
        for dev in devices.iter() {
            let Ok(desc) = dev.device_descriptor() else {
                continue;
            };
            if !USB_IDS.contains(&(desc.vendor_id(), desc.product_id())) {
                continue;
            }
            let config = dev
                .active_config_descriptor()
                .map_err(|e| err(e.to_string()))?;
            for iface in config.interfaces() {
                for alt in iface.descriptors() {
                    let bulk = |dir| {
                        alt.endpoint_descriptors()
                            .find(|e| {
                                e.transfer_type() == rusb::TransferType::Bulk
                                    && e.direction() == dir
                            })
                            .map(|e| e.address())
                    };
                    if let (Some(ep_in), Some(ep_out)) =
                        (bulk(rusb::Direction::In), bulk(rusb::Direction::Out))
                    {
                        let handle = dev.open().map_err(|e| err(format!("cannot open: {e}")))?;
                        let _ = handle.set_auto_detach_kernel_driver(true);
                        handle
                            .claim_interface(alt.interface_number())
                            .map_err(|e| (link(format!("cannot claim interface: {e}")), Some(e)))?;
                        return Ok(Self {
                            handle,
                            ep_in,
                            ep_out,
                            pending: Vec::new(),
                        });
                    }
                }
            }
        }
        Err(err("no dock with a known USB id is connected".into()))
    }
}

/// A libusb context for one look at the bus, made fresh each time: libusb
/// keeps its device list current from hot-plug events, which a service in
/// its own network namespace (`PrivateNetwork=yes`) never receives, so a
/// context kept from start would never see a dock plugged in later. libusb
/// cannot start where the USB file system is out of reach (a sandbox, a
/// container): that is an error for USB docks, never a crash of the
/// service, and it is logged once.
fn usb() -> Result<rusb::Context, DockError> {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    rusb::Context::new().map_err(|e| {
        let what = format!("USB docks are unavailable: libusb cannot start ({e})");
        if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!("{what}");
        }
        DockError::Link {
            path: "usb".into(),
            what,
        }
    })
}

/// Whether a dock with a known USB id is connected, read off sysfs (what
/// libusb reads when it starts): cheap enough for every rescan, and
/// current without hot-plug events.
pub fn usb_dock_present() -> bool {
    usb_dock_in(std::path::Path::new("/sys/bus/usb/devices"))
}

fn usb_dock_in(devices: &std::path::Path) -> bool {
    let id = |dir: &std::path::Path, name: &str| -> Option<u16> {
        let text = std::fs::read_to_string(dir.join(name)).ok()?;
        u16::from_str_radix(text.trim(), 16).ok()
    };
    std::fs::read_dir(devices).is_ok_and(|list| {
        list.flatten().any(|e| {
            let dir = e.path();
            matches!((id(&dir, "idVendor"), id(&dir, "idProduct")), (Some(v), Some(p)) if USB_IDS.contains(&(v, p)))
        })
    })
}

impl Read for UsbLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            let mut packet = [0u8; 512];
            match self.handle.read_bulk(self.ep_in, &mut packet, POLL) {
                Ok(n) => self.pending.extend_from_slice(&packet[..n]),
                Err(rusb::Error::Timeout) => return Err(io::ErrorKind::TimedOut.into()),
                Err(e) => return Err(io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

impl Write for UsbLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.handle
            .write_bulk(self.ep_out, buf, Duration::from_secs(2))
            .map_err(io::Error::other)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_dock_is_found_by_its_ids_in_sysfs() {
        let sys = tempfile::tempdir().unwrap();
        assert!(!super::usb_dock_in(sys.path()));
        let dev = |name: &str, v: &str, p: &str| {
            let d = sys.path().join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("idVendor"), v).unwrap();
            std::fs::write(d.join("idProduct"), p).unwrap();
        };
        dev("1-1", "46f4\n", "0001\n");
        std::fs::create_dir_all(sys.path().join("1-1:1.0")).unwrap(); // an interface
        assert!(!super::usb_dock_in(sys.path()));
        dev("1-2", "1209\n", "7d01\n");
        assert!(super::usb_dock_in(sys.path()));
        assert!(!super::usb_dock_in(&sys.path().join("missing")));
    }
    #[test]
    fn a_busy_link_is_tried_again_and_any_other_error_is_not() {
        let mut tries = 0;
        let got: Result<u32, &str> = super::until_free(
            || {
                tries += 1;
                if tries < 3 {
                    Err("busy")
                } else {
                    Ok(tries)
                }
            },
            |e| *e == "busy",
        );
        assert_eq!(got, Ok(3));
        let mut tries = 0;
        let got: Result<u32, &str> = super::until_free(
            || {
                tries += 1;
                Err("gone")
            },
            |e| *e == "busy",
        );
        assert_eq!((got, tries), (Err("gone"), 1));
    }
}
