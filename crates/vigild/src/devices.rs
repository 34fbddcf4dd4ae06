//! Which USB devices are the station's. The ids this build knows are in
//! `udev/70-vigil.rules` (recorders) and `vigil_dock::link::USB_IDS`
//! (docks); an administrator adds a model without rebuilding, in
//! `vigild.toml` (`recorder_usb_ids`, `dock_usb_ids`). Those are rendered
//! into a udev rules drop-in ([`RULES_PATH`]) by `vigild
//! --install-udev-rules`, which the unit runs as root before vigild
//! starts: the same rules as the shipped ones, so an added recorder is
//! mounted by `vigil-mount@` and an added serial dock gets its
//! `/dev/serial/by-id/usb-vigil-dock-*` name (R1, R2).
//!
//! A USB device on the bus that is none of these and looks like one (mass
//! storage, a serial adapter, a vendor interface) is an unknown device:
//! never mounted (no rule names it), listed on the status board and
//! audited once per appearance ([`unknown`]).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Serialize;

/// Where the rendered rules go (a runtime rules directory: rewritten at
/// every start, so the configuration is their only source).
pub const RULES_PATH: &str = "/run/udev/rules.d/71-vigil-local.rules";

/// Recorder ids this build knows (mass storage), as `udev/70-vigil.rules`.
pub const RECORDER_USB_IDS: &[(u16, u16)] = &[(0x1209, 0x7d02)];

/// A USB model, and optionally one unit of it: `VVVV:PPPP` or
/// `VVVV:PPPP:SERIAL` (hexadecimal ids; a serial of letters, digits and
/// `. _ -`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbId {
    /// Vendor id.
    pub vendor: u16,
    /// Product id.
    pub product: u16,
    /// The one unit meant, when the model alone is too broad.
    pub serial: Option<String>,
}

impl UsbId {
    /// Whether a device with these ids and serial is this one.
    pub fn matches(&self, vendor: u16, product: u16, serial: Option<&str>) -> bool {
        self.vendor == vendor
            && self.product == product
            && self.serial.as_deref().is_none_or(|s| Some(s) == serial)
    }

    /// The udev match keys for this id (on the USB device above the node).
    fn udev_match(&self) -> String {
        let mut m = format!(
            "ATTRS{{idVendor}}==\"{:04x}\", ATTRS{{idProduct}}==\"{:04x}\"",
            self.vendor, self.product
        );
        if let Some(s) = &self.serial {
            m.push_str(&format!(", ATTRS{{serial}}==\"{s}\""));
        }
        m
    }
}

impl fmt::Display for UsbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.product)?;
        if let Some(s) = &self.serial {
            write!(f, ":{s}")?;
        }
        Ok(())
    }
}

/// A USB id that does not read as `VVVV:PPPP[:SERIAL]`, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadUsbId(String);

impl FromStr for UsbId {
    type Err = BadUsbId;

    fn from_str(s: &str) -> Result<Self, BadUsbId> {
        let mut parts = s.splitn(3, ':');
        let hex = |p: Option<&str>, what: &str| -> Result<u16, BadUsbId> {
            let p = p.unwrap_or("");
            if p.len() != 4 {
                return Err(BadUsbId(format!(
                    "{s:?}: the {what} id must be 4 hexadecimal digits (VVVV:PPPP[:SERIAL])"
                )));
            }
            u16::from_str_radix(p, 16)
                .map_err(|_| BadUsbId(format!("{s:?}: the {what} id {p:?} is not hexadecimal")))
        };
        let vendor = hex(parts.next(), "vendor")?;
        let product = hex(parts.next(), "product")?;
        let serial = match parts.next() {
            None => None,
            Some(serial) => {
                let plain = !serial.is_empty()
                    && serial.len() <= 64
                    && serial
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
                if !plain {
                    return Err(BadUsbId(format!(
                        "{s:?}: the serial must be 1 to 64 letters, digits, '.', '_' or '-'"
                    )));
                }
                Some(serial.to_owned())
            }
        };
        Ok(Self {
            vendor,
            product,
            serial,
        })
    }
}

/// Parses a configuration list, naming the key and entry that are wrong.
pub fn parse_ids(key: &str, list: &[String]) -> anyhow::Result<Vec<UsbId>> {
    list.iter()
        .map(|s| s.parse().map_err(|e| anyhow::anyhow!("{key}: {e}")))
        .collect()
}

/// The rules drop-in for the configured ids (the shipped ids are in the
/// shipped rules).
pub fn render_rules(recorders: &[UsbId], docks: &[UsbId]) -> String {
    let mut out = String::from(
        "# Written by `vigild --install-udev-rules` from /etc/vigil/vigild.toml\n\
         # (recorder_usb_ids, dock_usb_ids) each time vigild starts: edit that\n\
         # file, then `systemctl restart vigild`. The same rules as\n\
         # /lib/udev/rules.d/70-vigil.rules, for the ids configured there.\n",
    );
    for r in recorders {
        out.push_str(&format!(
            "# recorder {r}\nSUBSYSTEM==\"block\", ENV{{DEVTYPE}}==\"disk|partition\", ENV{{ID_FS_USAGE}}==\"filesystem\", {}, \\\n  TAG+=\"systemd\", ENV{{SYSTEMD_WANTS}}+=\"vigil-mount@%k.service\"\n",
            r.udev_match()
        ));
    }
    for d in docks {
        out.push_str(&format!(
            "# dock {d}\nSUBSYSTEM==\"tty\", {m}, \\\n  SYMLINK+=\"serial/by-id/usb-vigil-dock-$env{{ID_SERIAL_SHORT}}\", GROUP=\"vigil\", MODE=\"0660\", TAG+=\"vigil-dock\"\n\
             SUBSYSTEM==\"usb\", ENV{{DEVTYPE}}==\"usb_device\", {m}, GROUP=\"vigil\", MODE=\"0660\", TAG+=\"vigil-dock\"\n",
            m = d.udev_match()
        ));
    }
    out
}

/// Writes [`RULES_PATH`] for the configured recorder and dock ids and,
/// when it changed, has udev reload its rules and replay the events of devices already plugged in
/// (so a card plugged before the change is mounted now). Run as root.
pub fn install_rules(recorders: &[UsbId], docks: &[UsbId]) -> anyhow::Result<bool> {
    use anyhow::Context;
    let rules = render_rules(recorders, docks);
    let path = Path::new(RULES_PATH);
    if std::fs::read_to_string(path).is_ok_and(|old| old == rules) {
        return Ok(false);
    }
    let dir = path.parent().context("rules path has a parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(".71-vigil-local.rules.tmp");
    std::fs::write(&tmp, &rules).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    let udevadm = |args: &[&str]| -> anyhow::Result<()> {
        let status = std::process::Command::new("udevadm")
            .args(args)
            .status()
            .with_context(|| format!("running udevadm {}", args.join(" ")))?;
        anyhow::ensure!(
            status.success(),
            "udevadm {} failed: {status}",
            args.join(" ")
        );
        Ok(())
    };
    udevadm(&["control", "--reload"])?;
    udevadm(&[
        "trigger",
        "--action=add",
        "--subsystem-match=block",
        "--subsystem-match=tty",
        "--subsystem-match=usb",
    ])?;
    Ok(true)
}

/// A USB device on the bus that is not one of the station's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct UnknownDevice {
    /// Where it is plugged (`1-2`, the sysfs name: bus and port path).
    pub port: String,
    /// `VVVV:PPPP`.
    pub id: String,
    /// What it says it is (its manufacturer and product strings).
    pub name: String,
    /// Its serial, when it reports one.
    pub serial: Option<String>,
    /// What kind of interface made it look like a station device:
    /// `mass storage`, `serial` or `vendor`.
    pub kind: String,
}

/// The unknown devices under `sysfs_usb` (`/sys/bus/usb/devices`): every
/// device with a mass-storage, communications or vendor-specific
/// interface that `allowed` does not accept. Strings from the device are
/// its own claims: kept as given, shown escaped.
pub fn unknown(
    sysfs_usb: &Path,
    allowed: impl Fn(u16, u16, Option<&str>) -> bool,
) -> Vec<UnknownDevice> {
    let Ok(entries) = std::fs::read_dir(sysfs_usb) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let read = |dir: &Path, attr: &str| {
        std::fs::read_to_string(dir.join(attr))
            .ok()
            .map(|s| s.trim_end_matches('\n').to_owned())
            .filter(|s| !s.is_empty())
    };
    let mut out = Vec::new();
    for name in &names {
        // Devices are `B-P[.P...]`; interfaces have a colon, root hubs are `usbN`.
        if name.contains(':') || name.starts_with("usb") {
            continue;
        }
        let dir = sysfs_usb.join(name);
        let id = |attr| read(&dir, attr).and_then(|v| u16::from_str_radix(&v, 16).ok());
        let (Some(vendor), Some(product)) = (id("idVendor"), id("idProduct")) else {
            continue;
        };
        let serial = read(&dir, "serial");
        let kind = names
            .iter()
            .filter(|i| i.starts_with(&format!("{name}:")))
            .filter_map(|i| read(&sysfs_usb.join(i), "bInterfaceClass"))
            .find_map(|class| match class.as_str() {
                "08" => Some("mass storage"),
                "02" | "0a" => Some("serial"),
                "ff" => Some("vendor"),
                _ => None,
            });
        let Some(kind) = kind else { continue };
        if allowed(vendor, product, serial.as_deref()) {
            continue;
        }
        let name_of = [read(&dir, "manufacturer"), read(&dir, "product")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        out.push(UnknownDevice {
            port: name.clone(),
            id: format!("{vendor:04x}:{product:04x}"),
            name: name_of,
            serial,
            kind: kind.to_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_name_what_is_wrong() {
        let id: UsbId = "46f4:0001".parse().unwrap();
        assert_eq!(
            (id.vendor, id.product, id.serial.as_deref()),
            (0x46f4, 1, None)
        );
        assert!(id.matches(0x46f4, 1, Some("X")));
        let one: UsbId = "0403:6001:A9XK-1".parse().unwrap();
        assert!(one.matches(0x0403, 0x6001, Some("A9XK-1")));
        assert!(!one.matches(0x0403, 0x6001, Some("B")));
        assert_eq!(one.to_string(), "0403:6001:A9XK-1");
        for bad in [
            "46f4",
            "46f4:1",
            "zzzz:0001",
            "46f4:0001:",
            "46f4:0001:a b",
            "46f4:0001:\"x",
        ] {
            let e = bad.parse::<UsbId>().unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
        let e = parse_ids("recorder_usb_ids", &["46f4:00x1".into()]).unwrap_err();
        assert!(e.to_string().starts_with("recorder_usb_ids: "), "{e}");
    }

    #[test]
    fn rules_name_each_configured_id() {
        let r = render_rules(
            &["46f4:0001".parse().unwrap()],
            &["0403:6001:D1".parse().unwrap()],
        );
        assert!(
            r.contains("ATTRS{idVendor}==\"46f4\", ATTRS{idProduct}==\"0001\""),
            "{r}"
        );
        assert!(r.contains("vigil-mount@%k.service"), "{r}");
        assert!(r.contains("ATTRS{serial}==\"D1\""), "{r}");
        assert!(r.contains("usb-vigil-dock-$env{ID_SERIAL_SHORT}"), "{r}");
    }

    #[test]
    fn unknown_devices_are_read_from_sysfs() {
        let dir = std::env::temp_dir().join(format!("vigild-usb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let dev = |name: &str, attrs: &[(&str, &str)]| {
            let d = dir.join(name);
            std::fs::create_dir_all(&d).unwrap();
            for (k, v) in attrs {
                std::fs::write(d.join(k), format!("{v}\n")).unwrap();
            }
        };
        dev("usb1", &[("idVendor", "1d6b"), ("idProduct", "0002")]);
        dev(
            "1-1",
            &[
                ("idVendor", "abcd"),
                ("idProduct", "1234"),
                ("product", "Stick\u{1b}[2J"),
                ("serial", "S1"),
            ],
        );
        dev("1-1:1.0", &[("bInterfaceClass", "08")]);
        dev("1-2", &[("idVendor", "046d"), ("idProduct", "c077")]);
        dev("1-2:1.0", &[("bInterfaceClass", "03")]);
        dev("1-3", &[("idVendor", "1209"), ("idProduct", "7d02")]);
        dev("1-3:1.0", &[("bInterfaceClass", "08")]);
        let found = unknown(&dir, |v, p, _| (v, p) == (0x1209, 0x7d02));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (
                found[0].port.as_str(),
                found[0].id.as_str(),
                found[0].kind.as_str()
            ),
            ("1-1", "abcd:1234", "mass storage")
        );
        assert_eq!(found[0].serial.as_deref(), Some("S1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
