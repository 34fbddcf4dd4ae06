//! Adds a large file to an exFAT card image from the host, without writing
//! its bytes: a file of zeros as long as a recording no FAT32 card can
//! hold, in seconds instead of the minutes it takes to write gigabytes
//! through the guest. The image must be sparse where the file goes (as
//! `truncate` and `mkfs.exfat` leave it): the clusters given to the file
//! are marked in the allocation bitmap and never written, so they read as
//! zeros. Directory entries follow the exFAT specification (Microsoft,
//! 2019): a File entry, a Stream Extension (contiguous, no FAT chain) and
//! File Name entries, with their set checksum and name hash.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::GuestError;

/// What the boot sector says about where things are.
struct Geometry {
    cluster_bytes: u64,
    heap: u64,
    fat: u64,
    cluster_count: u32,
    root: u32,
}

/// One directory entry set found while walking a directory.
struct Found {
    first_cluster: u32,
    bytes: u64,
    no_fat_chain: bool,
}

struct Image {
    file: File,
    geo: Geometry,
    name: String,
}

impl Image {
    fn err(&self, what: impl std::fmt::Display) -> GuestError {
        GuestError::Protocol(format!("exFAT image {}: {what}", self.name))
    }

    fn read(&self, at: u64, len: usize) -> Result<Vec<u8>, GuestError> {
        let mut buf = vec![0u8; len];
        self.file
            .read_exact_at(&mut buf, at)
            .map_err(|e| GuestError::io(self.name.clone(), e))?;
        Ok(buf)
    }

    fn write(&self, at: u64, bytes: &[u8]) -> Result<(), GuestError> {
        self.file
            .write_all_at(bytes, at)
            .map_err(|e| GuestError::io(self.name.clone(), e))
    }

    fn cluster_at(&self, cluster: u32) -> u64 {
        self.geo.heap + u64::from(cluster - 2) * self.geo.cluster_bytes
    }

    /// The clusters of a chain starting at `first`: contiguous for `bytes`
    /// when `no_fat_chain`, else as the FAT links them.
    fn chain(&self, first: u32, bytes: u64, no_fat_chain: bool) -> Result<Vec<u32>, GuestError> {
        if no_fat_chain {
            let n = bytes.div_ceil(self.geo.cluster_bytes).max(1) as u32;
            return Ok((first..first + n).collect());
        }
        let mut out = vec![first];
        loop {
            let at = self.geo.fat + 4 * u64::from(*out.last().unwrap_or(&first));
            let next = u32::from_le_bytes(self.read(at, 4)?.try_into().unwrap_or_default());
            if !(2..0xFFFF_FFF7).contains(&next) {
                return Ok(out);
            }
            if out.len() as u32 > self.geo.cluster_count {
                return Err(self.err("a FAT chain that loops"));
            }
            out.push(next);
        }
    }

    /// The byte offsets of every 32-byte entry slot of a directory.
    fn slots(&self, clusters: &[u32]) -> Vec<u64> {
        clusters
            .iter()
            .flat_map(|&c| {
                let base = self.cluster_at(c);
                (0..self.geo.cluster_bytes / 32).map(move |i| base + 32 * i)
            })
            .collect()
    }

    /// The entry named `name` (ASCII, any case) in the directory made of
    /// `clusters`; also the allocation bitmap's entry when asked for type
    /// 0x81.
    fn find(&self, clusters: &[u32], name: &str) -> Result<Option<Found>, GuestError> {
        let slots = self.slots(clusters);
        let mut i = 0;
        while i < slots.len() {
            let e = self.read(slots[i], 32)?;
            match e[0] {
                0x00 => return Ok(None),
                0x81 if name == "\u{81}" => {
                    return Ok(Some(Found {
                        first_cluster: u32::from_le_bytes(e[20..24].try_into().unwrap_or_default()),
                        bytes: u64::from_le_bytes(e[24..32].try_into().unwrap_or_default()),
                        no_fat_chain: false,
                    }))
                }
                0x85 => {
                    let secondary = usize::from(e[1]);
                    let stream = self.read(slots[i + 1], 32)?;
                    let len = usize::from(stream[3]);
                    let mut units = Vec::new();
                    for k in 2..=secondary {
                        let n = self.read(slots[i + k], 32)?;
                        units.extend(n[2..].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])));
                    }
                    units.truncate(len);
                    if String::from_utf16_lossy(&units).eq_ignore_ascii_case(name) {
                        return Ok(Some(Found {
                            first_cluster: u32::from_le_bytes(
                                stream[20..24].try_into().unwrap_or_default(),
                            ),
                            bytes: u64::from_le_bytes(
                                stream[24..32].try_into().unwrap_or_default(),
                            ),
                            no_fat_chain: stream[1] & 2 != 0,
                        }));
                    }
                    i += secondary + 1;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        Ok(None)
    }
}

/// The checksum of an entry set (its bytes 2 and 3 are the checksum).
fn set_checksum(entries: &[u8]) -> u16 {
    entries.iter().enumerate().fold(0u16, |sum, (i, &b)| {
        if i == 2 || i == 3 {
            sum
        } else {
            sum.rotate_right(1).wrapping_add(u16::from(b))
        }
    })
}

/// The hash of an up-cased name (ASCII names: upper case).
fn name_hash(units: &[u16]) -> u16 {
    units.iter().fold(0u16, |hash, &c| {
        let hash = hash.rotate_right(1).wrapping_add(c & 0xFF);
        hash.rotate_right(1).wrapping_add(c >> 8)
    })
}

/// Adds `path` (ASCII components under existing directories, the last
/// the new file's name) holding `bytes` zeros to the exFAT image `image`.
pub fn add_zeros(image: &Path, path: &str, bytes: u64) -> Result<(), GuestError> {
    let file = File::options()
        .read(true)
        .write(true)
        .open(image)
        .map_err(|e| GuestError::io(image.display().to_string(), e))?;
    let mut img = Image {
        file,
        geo: Geometry {
            cluster_bytes: 0,
            heap: 0,
            fat: 0,
            cluster_count: 0,
            root: 0,
        },
        name: image.display().to_string(),
    };
    let boot = img.read(0, 512)?;
    if &boot[3..11] != b"EXFAT   " {
        return Err(img.err("not exFAT"));
    }
    let u32_at = |o: usize| u32::from_le_bytes(boot[o..o + 4].try_into().unwrap_or_default());
    let sector = 1u64 << boot[108];
    img.geo = Geometry {
        cluster_bytes: sector << boot[109],
        fat: u64::from(u32_at(80)) * sector,
        heap: u64::from(u32_at(88)) * sector,
        cluster_count: u32_at(92),
        root: u32_at(96),
    };
    if !path.is_ascii() || path.is_empty() {
        return Err(img.err(format!("{path:?}: an ASCII path")));
    }
    let root = img.chain(img.geo.root, 0, false)?;
    let bitmap = img
        .find(&root, "\u{81}")?
        .ok_or_else(|| img.err("no allocation bitmap"))?;
    // The directory the file goes in.
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    let mut dir = root;
    for p in parts {
        let d = img
            .find(&dir, p)?
            .ok_or_else(|| img.err(format!("no directory {p:?} on the way to {path}")))?;
        dir = img.chain(d.first_cluster, d.bytes, d.no_fat_chain)?;
    }
    if img.find(&dir, name)?.is_some() {
        return Err(img.err(format!("{path} is there already")));
    }
    // A free run of clusters, from the allocation bitmap.
    let need = bytes.div_ceil(img.geo.cluster_bytes).max(1) as u32;
    let map_at = img.cluster_at(bitmap.first_cluster);
    let mut map = img.read(map_at, bitmap.bytes as usize)?;
    let used = |m: &[u8], c: u32| m[(c / 8) as usize] & (1 << (c % 8)) != 0;
    let (mut start, mut run) = (0u32, 0u32);
    for c in 0..img.geo.cluster_count {
        if used(&map, c) {
            run = 0;
            continue;
        }
        if run == 0 {
            start = c;
        }
        run += 1;
        if run == need {
            break;
        }
    }
    if run < need {
        return Err(img.err(format!("no {need} free clusters in a row for {path}")));
    }
    for c in start..start + need {
        map[(c / 8) as usize] |= 1 << (c % 8);
    }
    let first_cluster = start + 2;
    // The entry set: File, Stream Extension, File Name entries.
    let units: Vec<u16> = name.encode_utf16().collect();
    let upper: Vec<u16> = name.to_ascii_uppercase().encode_utf16().collect();
    let names = units.len().div_ceil(15);
    let mut set = vec![0u8; 32 * (2 + names)];
    // 2026-11-20 18:00:00 in the card's local time, no UTC offset field.
    let stamp: u32 = ((2026 - 1980) << 25) | (11 << 21) | (20 << 16) | (18 << 11);
    set[0] = 0x85;
    set[1] = (1 + names) as u8;
    set[4] = 0x20; // archive
    for at in [8, 12, 16] {
        set[at..at + 4].copy_from_slice(&stamp.to_le_bytes());
    }
    let s = &mut set[32..64];
    s[0] = 0xC0;
    s[1] = 0x03; // allocation possible, no FAT chain
    s[3] = units.len() as u8;
    s[4..6].copy_from_slice(&name_hash(&upper).to_le_bytes());
    s[8..16].copy_from_slice(&bytes.to_le_bytes());
    s[20..24].copy_from_slice(&first_cluster.to_le_bytes());
    s[24..32].copy_from_slice(&bytes.to_le_bytes());
    for (k, chunk) in units.chunks(15).enumerate() {
        let e = &mut set[64 + 32 * k..96 + 32 * k];
        e[0] = 0xC1;
        for (j, u) in chunk.iter().enumerate() {
            e[2 + 2 * j..4 + 2 * j].copy_from_slice(&u.to_le_bytes());
        }
    }
    let sum = set_checksum(&set);
    set[2..4].copy_from_slice(&sum.to_le_bytes());
    // Into the first run of free slots of the directory.
    let slots = img.slots(&dir);
    let n = 2 + names;
    let mut free = 0;
    let mut at = None;
    for (i, &slot) in slots.iter().enumerate() {
        let kind = img.read(slot, 1)?[0];
        free = if kind & 0x80 == 0 { free + 1 } else { 0 };
        if free == n {
            at = Some(i + 1 - n);
            break;
        }
    }
    let at = at.ok_or_else(|| img.err(format!("no room in the directory for {path}")))?;
    img.write(map_at, &map)?;
    for (k, e) in set.chunks(32).enumerate() {
        img.write(slots[at + k], e)?;
    }
    img.file
        .sync_all()
        .map_err(|e| GuestError::io(img.name.clone(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_and_hash_follow_the_specification() {
        // One step by hand: ((0 >> 1) | (0 << 15)) + 0x85 = 0x85, then
        // bytes 2 and 3 skipped.
        assert_eq!(set_checksum(&[0x85, 0, 0xFF, 0xFF]), 0x8042);
        // "A": 0x41 then 0x00.
        assert_eq!(name_hash(&[0x41]), 0x8020);
    }

    /// exfatprogs' own checker (`fsck.exfat -n`, read-only) finds nothing
    /// wrong with an image given a file over 4 GiB, and its dump names it.
    #[test]
    fn exfatprogs_accepts_the_file() {
        let dir = std::env::temp_dir().join(format!("vigil-exfat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = dir.join("card.img");
        File::create(&img).unwrap().set_len(4200 << 20).unwrap();
        let run = |cmd: &str, args: &[&str]| {
            let o = std::process::Command::new(cmd)
                .args(args)
                .arg(&img)
                .output()
                .unwrap_or_else(|e| {
                    panic!("{cmd} (exfatprogs, cargo xtask test installs it): {e}")
                });
            (
                o.status.success(),
                String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr),
            )
        };
        assert!(run("mkfs.exfat", &["-L", "T"]).0);
        add_zeros(
            &img,
            "A_RECORDING_WITH_A_LONG_NAME.MP4",
            (4100 << 20) + 12_345,
        )
        .unwrap();
        let (ok, out) = run("fsck.exfat", &["-n", "-v"]);
        assert!(ok && out.contains("clean. directories 1, files 1"), "{out}");
        // Nothing was written where the file lies: the image stays sparse.
        use std::os::unix::fs::MetadataExt;
        assert!(std::fs::metadata(&img).unwrap().blocks() * 512 < 64 << 20);
        assert!(add_zeros(&img, "A_RECORDING_WITH_A_LONG_NAME.MP4", 1).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
